//! The parser: a template's text cut into text and actions (with `{{- -}}` trimming and
//! comments), actions into pipelines of commands, and `if`/`range`/`with` blocks into nodes.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::lexer::{lex, Tok};

#[derive(Debug, Clone)]
pub(super) enum Operand {
    Lit(Value),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Sub(Box<Pipeline>, Vec<String>),
    Func(String),
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    pub(super) decl: Vec<String>,
    pub(super) cmds: Vec<Vec<Operand>>,
}

/// How deep parentheses in an action, and `if`/`range`/`with` blocks (an `else if` is one
/// more), may nest. Parsing and rendering recurse once per level, and a few thousand
/// levels overflowed the main thread's 8 MiB stack (a segfault, no error); no `--format`
/// comes near this.
const MAX_DEPTH: usize = 100;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Parentheses open around the current pipeline.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn pipeline(&mut self) -> Result<Pipeline> {
        let mut decl = Vec::new();
        // `$x :=` or `$k, $v :=`
        let save = self.pos;
        let mut names = Vec::new();
        while let Some(Tok::Var(n, p)) = self.peek().cloned() {
            if !p.is_empty() {
                break;
            }
            self.pos += 1;
            names.push(n);
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::Declare) => {
                    self.pos += 1;
                    decl = std::mem::take(&mut names);
                    break;
                }
                _ => break,
            }
        }
        if decl.is_empty() {
            self.pos = save;
        }
        let mut cmds = Vec::new();
        loop {
            let mut ops = Vec::new();
            while let Some(t) = self.peek().cloned() {
                match t {
                    Tok::Pipe | Tok::RParen => break,
                    _ => {
                        self.pos += 1;
                        ops.push(match t {
                            Tok::Str(s) => Operand::Lit(Value::String(s)),
                            Tok::Num(n) => Operand::Lit(if n.fract() == 0.0 {
                                Value::from(n as i64)
                            } else {
                                Value::from(n)
                            }),
                            Tok::Ident(i) => match i.as_str() {
                                "true" => Operand::Lit(Value::Bool(true)),
                                "false" => Operand::Lit(Value::Bool(false)),
                                "nil" => Operand::Lit(Value::Null),
                                _ => Operand::Func(i),
                            },
                            Tok::Field(p, _) => Operand::Field(p),
                            Tok::Var(n, p) => Operand::Var(n, p),
                            Tok::LParen => {
                                if self.depth == MAX_DEPTH {
                                    bail!("max expression depth exceeded");
                                }
                                self.depth += 1;
                                let inner = self.pipeline()?;
                                self.depth -= 1;
                                if self.peek() != Some(&Tok::RParen) {
                                    bail!("unclosed left paren");
                                }
                                self.pos += 1;
                                let mut field = Vec::new();
                                if let Some(Tok::Field(p, true)) = self.peek().cloned() {
                                    self.pos += 1;
                                    field = p;
                                }
                                Operand::Sub(Box::new(inner), field)
                            }
                            other => bail!("unexpected {other:?} in operand"),
                        });
                    }
                }
            }
            if ops.is_empty() {
                bail!("missing value for command");
            }
            cmds.push(ops);
            if self.peek() == Some(&Tok::Pipe) {
                self.pos += 1;
                continue;
            }
            break;
        }
        Ok(Pipeline { decl, cmds })
    }
}

fn parse_pipeline(s: &str) -> Result<Pipeline> {
    let mut p = Parser {
        toks: lex(s)?,
        pos: 0,
        depth: 0,
    };
    let pl = p.pipeline()?;
    if p.pos != p.toks.len() {
        bail!("unexpected {:?} in operand", p.toks[p.pos]);
    }
    Ok(pl)
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

pub(super) enum Item {
    Text(String),
    Act(String),
}

pub(super) fn items(s: &str) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut trim_next = false;
    while let Some(i) = rest.find("{{") {
        let mut text = &rest[..i];
        if trim_next {
            text = text.trim_start();
        }
        let end = rest[i..]
            .find("}}")
            .ok_or_else(|| anyhow!("template: unclosed action"))?
            + i;
        let mut body = &rest[i + 2..end];
        if let Some(b) = body.strip_prefix("- ") {
            text = text.trim_end();
            body = b;
        }
        trim_next = false;
        if let Some(b) = body.strip_suffix(" -") {
            trim_next = true;
            body = b;
        }
        if !text.is_empty() {
            out.push(Item::Text(text.to_string()));
        }
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            out.push(Item::Act(body.to_string()));
        }
        rest = &rest[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        out.push(Item::Text(text.to_string()));
    }
    Ok(out)
}

/// Parses nodes until `end`/`else`; returns them and the closing keyword's action.
/// `depth`: the blocks open around them.
pub(super) fn nodes(
    it: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
    depth: usize,
) -> Result<(Vec<Node>, Option<String>)> {
    let mut out = Vec::new();
    while let Some(item) = it.next() {
        match item {
            Item::Text(t) => out.push(Node::Text(t)),
            Item::Act(a) => {
                let (kw, rest) = a.split_once(char::is_whitespace).unwrap_or((&a, ""));
                match kw {
                    "end" | "else" => return Ok((out, Some(a.clone()))),
                    "if" | "range" | "with" => out.push(block(kw, rest, it, depth + 1)?),
                    _ => out.push(Node::Action(parse_pipeline(&a)?)),
                }
            }
        }
    }
    Ok((out, None))
}

fn block(
    kw: &str,
    cond: &str,
    it: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
    depth: usize,
) -> Result<Node> {
    if depth > MAX_DEPTH {
        bail!("template: max nesting depth exceeded");
    }
    let pl = parse_pipeline(cond)?;
    let (body, close) = nodes(it, depth)?;
    let close = close.ok_or_else(|| anyhow!("template: unexpected EOF"))?;
    let mut otherwise = Vec::new();
    if close != "end" {
        let rest = close.trim_start_matches("else").trim();
        if let Some(c) = rest.strip_prefix("if ") {
            // `else if`: a nested if that shares our `end`.
            otherwise.push(block("if", c, it, depth + 1)?);
        } else {
            let (e, c2) = nodes(it, depth)?;
            if c2.as_deref() != Some("end") {
                bail!("template: expected end; found {c2:?}");
            }
            otherwise = e;
        }
    }
    Ok(match kw {
        "if" => Node::If(pl, body, otherwise),
        "range" => Node::Range(pl, body, otherwise),
        _ => Node::With(pl, body, otherwise),
    })
}

#[cfg(test)]
mod tests {
    use super::super::Template;
    use serde_json::json;

    /// Found with the `template` fuzz target: ~1,500 nested parentheses (or a few thousand
    /// nested `with`s) overflowed the stack and killed the process with SIGSEGV; deep
    /// nesting is now a parse error, and nesting up to the limit still renders.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let parens = |n: usize| format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n));
        let v = json!({});
        let ok = Template::parse(&parens(super::MAX_DEPTH)).unwrap();
        assert_eq!(ok.render(&v).unwrap(), "1");
        let e = Template::parse(&parens(100_000)).unwrap_err().to_string();
        assert_eq!(e, "max expression depth exceeded");
        let with = |n: usize| format!("{}x{}", "{{with 1}}".repeat(n), "{{end}}".repeat(n));
        let ok = Template::parse(&with(super::MAX_DEPTH)).unwrap();
        assert_eq!(ok.render(&v).unwrap(), "x");
        let e = Template::parse(&with(100_000)).unwrap_err().to_string();
        assert_eq!(e, "template: max nesting depth exceeded");
        let chain = format!("{{{{if 0}}}}{}{{{{end}}}}", "{{else if 0}}".repeat(100_000));
        assert!(Template::parse(&chain).is_err());
    }
}
