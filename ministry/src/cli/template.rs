//! Go's text/template as Docker's `--format`/`-f` use it: field paths
//! (`{{.State.ExitCode}}`), variables (`$`, `$v`), pipes (`{{.Config.Cmd | json}}`),
//! parenthesized calls (`{{(index .Networks "n1").IPAddress}}`), `if`/`else if`/`else`,
//! `range` (with `$k, $v :=`), `with`, `{{- -}}` trimming, comments, and the functions
//! json, upper, lower, title, join, index, len, split, println, print, printf, eq, ne,
//! lt, le, gt, ge, and, or, not; values print as Go prints them (`[a b]`, `map[k:v]`).

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Ident(String),
    /// `.A.B` (`.` alone is the dot); `adjacent` when glued to a preceding `)`.
    Field(Vec<String>, bool),
    /// `$name.A.B`.
    Var(String, Vec<String>),
    LParen,
    RParen,
    Pipe,
    Declare,
    Comma,
}

fn lex(s: &str) -> Result<Vec<Tok>> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let path = |c: &[char], i: &mut usize| -> Vec<String> {
        let mut parts = Vec::new();
        while *i < c.len() && c[*i] == '.' {
            *i += 1;
            let st = *i;
            while *i < c.len() && (c[*i].is_alphanumeric() || c[*i] == '_') {
                *i += 1;
            }
            if *i > st {
                parts.push(c[st..*i].iter().collect());
            }
        }
        parts
    };
    while i < c.len() {
        let ch = c[i];
        match ch {
            w if w.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
                if i < c.len() && c[i] == '.' {
                    out.push(Tok::Field(path(&c, &mut i), true));
                }
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' if c.get(i + 1) == Some(&'=') => {
                out.push(Tok::Declare);
                i += 2
            }
            '=' => {
                out.push(Tok::Declare);
                i += 1
            }
            '.' => out.push(Tok::Field(path(&c, &mut i), false)),
            '$' => {
                i += 1;
                let st = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                let name: String = c[st..i].iter().collect();
                out.push(Tok::Var(name, path(&c, &mut i)));
            }
            '"' => {
                i += 1;
                let mut v = String::new();
                loop {
                    match c.get(i) {
                        None => bail!("unterminated quoted string"),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            v.push(match c.get(i) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some(o) => *o,
                                None => bail!("unterminated quoted string"),
                            });
                        }
                        Some(o) => v.push(*o),
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Str(v));
            }
            '`' => {
                let end = c[i + 1..]
                    .iter()
                    .position(|x| *x == '`')
                    .ok_or_else(|| anyhow!("unterminated raw quoted string"))?;
                out.push(Tok::Str(c[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            d if d.is_ascii_digit()
                || (d == '-' && c.get(i + 1).is_some_and(|x| x.is_ascii_digit())) =>
            {
                let st = i;
                i += 1;
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                    i += 1;
                }
                let t: String = c[st..i].iter().collect();
                out.push(Tok::Num(
                    t.parse().map_err(|_| anyhow!("bad number syntax: {t:?}"))?,
                ));
            }
            a if a.is_alphabetic() || a == '_' => {
                let st = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(c[st..i].iter().collect()));
            }
            other => bail!("unexpected {other:?} in command"),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Operand {
    Lit(Value),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Sub(Box<Pipeline>, Vec<String>),
    Func(String),
}

#[derive(Debug, Clone)]
struct Pipeline {
    decl: Vec<String>,
    cmds: Vec<Vec<Operand>>,
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
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
                                let inner = self.pipeline()?;
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
    };
    let pl = p.pipeline()?;
    if p.pos != p.toks.len() {
        bail!("unexpected {:?} in operand", p.toks[p.pos]);
    }
    Ok(pl)
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

enum Item {
    Text(String),
    Act(String),
}

fn items(s: &str) -> Result<Vec<Item>> {
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
fn nodes(
    it: &mut std::iter::Peekable<std::vec::IntoIter<Item>>,
) -> Result<(Vec<Node>, Option<String>)> {
    let mut out = Vec::new();
    while let Some(item) = it.next() {
        match item {
            Item::Text(t) => out.push(Node::Text(t)),
            Item::Act(a) => {
                let (kw, rest) = a.split_once(char::is_whitespace).unwrap_or((&a, ""));
                match kw {
                    "end" | "else" => return Ok((out, Some(a.clone()))),
                    "if" | "range" | "with" => out.push(block(kw, rest, it)?),
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
) -> Result<Node> {
    let pl = parse_pipeline(cond)?;
    let (body, close) = nodes(it)?;
    let close = close.ok_or_else(|| anyhow!("template: unexpected EOF"))?;
    let mut otherwise = Vec::new();
    if close != "end" {
        let rest = close.trim_start_matches("else").trim();
        if let Some(c) = rest.strip_prefix("if ") {
            // `else if`: a nested if that shares our `end`.
            otherwise.push(block("if", c, it)?);
        } else {
            let (e, c2) = nodes(it)?;
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

impl Template {
    /// Parses `s`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut it = items(s)?.into_iter().peekable();
        let (nodes, close) = nodes(&mut it)?;
        if let Some(c) = close {
            bail!("template: unexpected {{{{{c}}}}}");
        }
        Ok(Template { nodes })
    }

    /// Renders the template over a typed object whose maps (such as an event's
    /// `Actor.Attributes`) give `<no value>` for a missing key, as Go's default
    /// `missingkey` option does, instead of the error `render` gives for a missing field.
    pub fn render_missing_as_no_value(&self, v: &Value) -> Result<String> {
        MISSING_KEY_IS_NULL.with(|m| m.set(true));
        let r = self.render(v);
        MISSING_KEY_IS_NULL.with(|m| m.set(false));
        r
    }

    /// Renders the template over `v`.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        let mut vars = vec![("".to_string(), v.clone())];
        exec(&self.nodes, v, &mut vars, &mut out)?;
        Ok(out)
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

type Vars = Vec<(String, Value)>;

fn exec(nodes: &[Node], dot: &Value, vars: &mut Vars, out: &mut String) -> Result<()> {
    let depth = vars.len();
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = pipeline(p, dot, vars)?;
                if p.decl.is_empty() {
                    out.push_str(&go_format(&v));
                }
            }
            Node::If(p, a, b) => {
                let v = pipeline(p, dot, vars)?;
                exec(if truthy(&v) { a } else { b }, dot, vars, out)?;
            }
            Node::With(p, a, b) => {
                let v = pipeline(p, dot, vars)?;
                if truthy(&v) {
                    exec(a, &v, vars, out)?;
                } else {
                    exec(b, dot, vars, out)?;
                }
            }
            Node::Range(p, a, b) => {
                let decl = p.decl.clone();
                let mut p = p.clone();
                p.decl.clear();
                let v = pipeline(&p, dot, vars)?;
                let entries: Vec<(Value, Value)> = match &v {
                    Value::Array(x) => x
                        .iter()
                        .enumerate()
                        .map(|(i, e)| (Value::from(i), e.clone()))
                        .collect(),
                    Value::Object(m) => {
                        let mut kv: Vec<_> = m.iter().collect();
                        kv.sort_by(|x, y| x.0.cmp(y.0));
                        kv.into_iter()
                            .map(|(k, e)| (Value::String(k.clone()), e.clone()))
                            .collect()
                    }
                    Value::Null => Vec::new(),
                    other => bail!("range can't iterate over {}", go_format(other)),
                };
                if entries.is_empty() {
                    exec(b, dot, vars, out)?;
                }
                for (k, e) in entries {
                    let d = vars.len();
                    match decl.as_slice() {
                        [v1] => vars.push((v1.clone(), e.clone())),
                        [k1, v1] => {
                            vars.push((k1.clone(), k));
                            vars.push((v1.clone(), e.clone()));
                        }
                        _ => {}
                    }
                    exec(a, &e, vars, out)?;
                    vars.truncate(d);
                }
            }
        }
    }
    vars.truncate(depth);
    Ok(())
}

thread_local! {
    /// Set while [`Template::render_missing_as_no_value`] runs.
    static MISSING_KEY_IS_NULL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn field(mut cur: Value, path: &[String], shown: &str) -> Result<Value> {
    for k in path {
        cur = match cur {
            Value::Object(mut m) => match m.remove(k) {
                Some(v) => v,
                None if MISSING_KEY_IS_NULL.with(|n| n.get()) => return Ok(Value::Null),
                None => {
                    bail!("template: executing \"\" at <{shown}>: map has no entry for key \"{k}\"")
                }
            },
            Value::Null => return Ok(Value::Null),
            _ => bail!("template: executing \"\" at <{shown}>: can't evaluate field {k}"),
        };
    }
    Ok(cur)
}

fn operand(o: &Operand, dot: &Value, vars: &mut Vars) -> Result<Value> {
    Ok(match o {
        Operand::Lit(v) => v.clone(),
        Operand::Field(p) => field(dot.clone(), p, &format!(".{}", p.join(".")))?,
        Operand::Var(n, p) => {
            let v = vars
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| anyhow!("undefined variable: ${n}"))?;
            field(v, p, &format!("${n}"))?
        }
        Operand::Sub(p, f) => {
            let v = pipeline(p, dot, vars)?;
            field(v, f, "(...)")?
        }
        Operand::Func(f) => call(f, Vec::new())?,
    })
}

fn pipeline(p: &Pipeline, dot: &Value, vars: &mut Vars) -> Result<Value> {
    let mut prev: Option<Value> = None;
    for cmd in &p.cmds {
        let v = match &cmd[0] {
            Operand::Func(f) => {
                let mut args = cmd[1..]
                    .iter()
                    .map(|a| operand(a, dot, vars))
                    .collect::<Result<Vec<_>>>()?;
                args.extend(prev.take());
                call(f, args)?
            }
            // Docker's formatter methods with an argument: `.Label "key"` of `ps`,
            // `images`, `volume ls` and `network ls` rows (their `Labels` is `k=v,...`).
            Operand::Field(p) if p.last().is_some_and(|l| l == "Label") && cmd.len() == 2 => {
                let key = as_str(&operand(&cmd[1], dot, vars)?);
                let mut path = p.clone();
                path.pop();
                path.push("Labels".into());
                let labels = field(dot.clone(), &path, ".Labels")?;
                let labels = as_str(&labels);
                labels
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| Value::String(v.to_string()))
                    .unwrap_or(Value::String(String::new()))
            }
            first => {
                if cmd.len() > 1 || prev.is_some() {
                    bail!("can't give argument to non-function {first:?}");
                }
                operand(first, dot, vars)?
            }
        };
        prev = Some(v);
    }
    let v = prev.unwrap_or(Value::Null);
    for n in &p.decl {
        vars.push((n.clone(), v.clone()));
    }
    Ok(v)
}

fn as_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => go_format(other),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn cmp(a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(std::cmp::Ordering::Equal)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => bail!("incompatible types for comparison"),
    }
}

fn printf(args: &[Value]) -> Result<String> {
    let fmt = as_str(args.first().unwrap_or(&Value::Null));
    let mut rest = args.iter().skip(1);
    let mut out = String::new();
    let mut c = fmt.chars();
    while let Some(ch) = c.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        match c.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!(
                "{:?}",
                as_str(rest.next().unwrap_or(&Value::Null))
            )),
            Some(_) => out.push_str(&as_str(rest.next().unwrap_or(&Value::Null))),
            None => out.push('%'),
        }
    }
    Ok(out)
}

fn call(f: &str, args: Vec<Value>) -> Result<Value> {
    let one = |args: &[Value]| args.first().cloned().unwrap_or(Value::Null);
    let two = |args: &[Value], name: &str| -> Result<(Value, Value)> {
        match args {
            [a, b] => Ok((a.clone(), b.clone())),
            _ => bail!("wrong number of args for {name}: want 2 got {}", args.len()),
        }
    };
    Ok(match f {
        // (Docker's template `json` does not escape HTML; its `--format json` rows do.)
        "json" => Value::String(serde_json::to_string(&one(&args))?),
        "upper" => Value::String(as_str(&one(&args)).to_uppercase()),
        "lower" => Value::String(as_str(&one(&args)).to_lowercase()),
        "title" => {
            let s = as_str(&one(&args));
            let mut c = s.chars();
            Value::String(
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default(),
            )
        }
        "len" => Value::from(match one(&args) {
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            Value::String(s) => s.len(),
            Value::Null => 0,
            other => bail!("len of {other}"),
        }),
        "join" => {
            let (list, sep) = two(&args, "join")?;
            let items: Vec<String> = list
                .as_array()
                .map(|a| a.iter().map(as_str).collect())
                .unwrap_or_default();
            Value::String(items.join(&as_str(&sep)))
        }
        "split" => {
            let (s, sep) = two(&args, "split")?;
            Value::Array(
                as_str(&s)
                    .split(&as_str(&sep))
                    .map(|x| Value::String(x.to_string()))
                    .collect(),
            )
        }
        "index" => {
            let mut it = args.into_iter();
            let mut cur = it.next().unwrap_or(Value::Null);
            for k in it {
                cur = match (&cur, &k) {
                    (Value::Array(a), Value::Number(n)) => a
                        .get(n.as_u64().unwrap_or(u64::MAX) as usize)
                        .cloned()
                        .ok_or_else(|| anyhow!("index out of range: {n}"))?,
                    (Value::Object(m), Value::String(s)) => {
                        m.get(s).cloned().unwrap_or(Value::Null)
                    }
                    (Value::Null, _) => Value::Null,
                    _ => bail!("can't index item of type {cur}"),
                };
            }
            cur
        }
        "println" => Value::String(args.iter().map(as_str).collect::<Vec<_>>().join(" ") + "\n"),
        "print" => Value::String(args.iter().map(as_str).collect::<Vec<_>>().join(" ")),
        "printf" => Value::String(printf(&args)?),
        "eq" => {
            if args.len() < 2 {
                bail!("missing argument for comparison");
            }
            Value::Bool(args[1..].iter().any(|x| same(x, &args[0])))
        }
        "ne" => {
            let (a, b) = two(&args, "ne")?;
            Value::Bool(!same(&a, &b))
        }
        "lt" | "le" | "gt" | "ge" => {
            let (a, b) = two(&args, f)?;
            let o = cmp(&a, &b)?;
            Value::Bool(match f {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "not" => Value::Bool(!truthy(&one(&args))),
        "and" => args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        other => bail!("template: function \"{other}\" not defined"),
    })
}

/// Formats a value as Go's fmt prints it in a template.
pub fn go_format(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| if x.is_null() {
                    "<nil>".to_string()
                } else {
                    go_format(x)
                })
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(m) => {
            let mut kv: Vec<(&String, &Value)> = m.iter().collect();
            kv.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "map[{}]",
                kv.iter()
                    .map(|(k, v)| format!("{k}:{}", go_format(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

/// JSON as Go's encoder writes it: `<`, `>` and `&` escaped (`\u003c`...). They only
/// occur inside strings, so the whole text can be rewritten.
fn go_json(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Renders `format` (Docker's `--format`: a template, `table TEMPLATE`, or `json`) for
/// each object; `headers` names the column of each field for `table`. Docker turns `\t`
/// in the format into a tab.
pub fn format_rows(format: &str, headers: &Value, objects: &[Value]) -> Result<String> {
    let format = format.replace("\\t", "\t");
    if format == "json" {
        // Docker marshals its rows as maps: keys in sorted order.
        return Ok(objects
            .iter()
            .map(|o| {
                let sorted: std::collections::BTreeMap<String, Value> = o
                    .as_object()
                    .map(|m| m.clone().into_iter().collect())
                    .unwrap_or_default();
                go_json(&serde_json::to_string(&sorted).unwrap_or_default()) + "\n"
            })
            .collect());
    }
    if let Some(t) = format.strip_prefix("table") {
        let t = Template::parse(t.trim_start())?;
        let mut rows = vec![t
            .render(headers)?
            .split('\t')
            .map(str::to_string)
            .collect::<Vec<_>>()];
        for o in objects {
            rows.push(t.render(o)?.split('\t').map(str::to_string).collect());
        }
        return Ok(super::output::table(&rows));
    }
    let t = Template::parse(&format)?;
    let mut out = String::new();
    for o in objects {
        out.push_str(&t.render(o)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_docker() {
        let v = json!({"Name": "/tpl", "Config": {"Cmd": ["true"], "Env": ["A=1"], "Labels": {}}, "State": {"ExitCode": 0, "Running": false}});
        let t = Template::parse("{{.Config.Cmd}}|{{.Config.Env}}|{{.State.ExitCode}}|{{.State.Running}}|{{.Config.Labels}}|{{json .Config.Cmd}}|{{index .Config.Env 0}}|{{join .Config.Cmd \",\"}}|{{upper .Name}}|{{len .Config.Env}}|{{json .State.Running}}|{{.Config.Cmd | json}}").unwrap();
        assert_eq!(
            t.render(&v).unwrap(),
            "[true]|[A=1]|0|false|map[]|[\"true\"]|A=1|true|/TPL|1|false|[\"true\"]"
        );
        let e = Template::parse("{{.Nope}}")
            .unwrap()
            .render(&v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("map has no entry for key \"Nope\""), "{e}");
        assert!(Template::parse("{{nofunc .Name}}")
            .unwrap()
            .render(&v)
            .is_err());
        let net = json!({"Name": "/c", "Args": ["a", "b"], "NetworkSettings": {"Networks": {"n1": {"IPAddress": "10.0.0.2", "Aliases": ["x", "y"]}, "bridge": {"IPAddress": "172.17.0.2", "Aliases": null}}}, "State": {"ExitCode": 3, "Running": false}});
        let r = |t: &str| Template::parse(t).unwrap().render(&net).unwrap();
        assert_eq!(
            r("{{(index .NetworkSettings.Networks \"n1\").IPAddress}}"),
            "10.0.0.2"
        );
        assert_eq!(
            r("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}"),
            "bridge=172.17.0.2;n1=10.0.0.2;"
        );
        assert_eq!(r("{{range .Args}}<{{.}}>{{else}}none{{end}}"), "<a><b>");
        assert_eq!(
            r("{{range .NetworkSettings.Networks.bridge.Aliases}}x{{else}}none{{end}}"),
            "none"
        );
        assert_eq!(
            r("{{with .NetworkSettings.Networks.n1}}{{.IPAddress}}{{end}}"),
            "10.0.0.2"
        );
        assert_eq!(
            r("{{if .State.Running}}up{{else if eq .State.ExitCode 3}}three{{else}}other{{end}}"),
            "three"
        );
        assert_eq!(
            r("{{if and (not .State.Running) (gt .State.ExitCode 1)}}yes{{end}}"),
            "yes"
        );
        assert_eq!(r("{{if ne .Name \"/c\"}}no{{else}}is c{{end}}"), "is c");
        assert_eq!(
            r("{{$n := .Name}}{{range .Args}}{{$n}}:{{.}} {{end}}"),
            "/c:a /c:b "
        );
        assert_eq!(r("a {{- /* comment */ -}} b"), "ab");
        assert_eq!(r("{{printf \"%s-%d\" .Name .State.ExitCode}}"), "/c-3");
        assert_eq!(r("{{len .Args | printf \"%v args\"}}"), "2 args");
        assert!(Template::parse("{{if .Name}}x").is_err(), "unclosed if");
        assert!(Template::parse("{{end}}").is_err());
        assert!(Template::parse("{{(index .A}}").is_err());
        assert_eq!(
            Template::parse("a\\tb {{.Name}}")
                .unwrap()
                .render(&v)
                .unwrap(),
            "a\\tb /tpl"
        );
    }
}
