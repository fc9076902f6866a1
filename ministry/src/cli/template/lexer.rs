//! The lexer of an action's text (what is between `{{` and `}}`): strings, numbers,
//! identifiers, field paths, variables, parentheses, pipes and declarations.

use anyhow::{anyhow, bail, Result};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) fn lex(s: &str) -> Result<Vec<Tok>> {
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
