//! One instruction's line into a [`Node`]: its keyword, flags and arguments split the way
//! BuildKit's line parsers split each instruction's (JSON or not, words, `name=value`
//! pairs...). Errors here are the parser's (`failed to parse Dockerfile: ...`).

use std::borrow::Cow;

use super::error::ParseError;
use super::golang::{is_space_byte, to_lower};
use super::instruction::Heredoc;
use super::json::{parse_array, JsonArray};
use super::split::{split_command, split_token_space};

/// An instruction as the line parser leaves it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// The keyword as written.
    pub cmd: String,
    /// The keyword lower-cased.
    pub key: String,
    /// The whole line (continuations joined).
    pub original: String,
    /// `--flag[=value]` words.
    pub flags: Vec<String>,
    /// The arguments (for `HEALTHCHECK`, the type then the command).
    pub args: Vec<String>,
    /// `ENV`/`LABEL` pairs.
    pub pairs: Vec<(String, String)>,
    /// The arguments were a JSON array.
    pub json: bool,
    /// `ONBUILD`'s trigger.
    pub child: Option<Box<Node>>,
    /// Heredocs read after the line.
    pub heredocs: Vec<Heredoc>,
    /// The first line.
    pub line: usize,
}

impl Node {
    /// Whether heredocs are looked for after this line: `RUN`, `COPY` and `ADD` (also as
    /// an `ONBUILD` trigger) not in JSON form.
    pub(crate) fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.child, self.key.as_str()) {
            (Some(child), "onbuild") => child,
            _ => self,
        };
        matches!(node.key.as_str(), "run" | "copy" | "add") && !node.json
    }
}

/// Parses one instruction's line (`line_no` is its first line).
pub(crate) fn node_from_line(line: &str, escape: char, line_no: usize) -> Result<Node, ParseError> {
    parse_line(line, escape, line_no, false)
}

fn parse_line(line: &str, escape: char, line_no: usize, nested: bool) -> Result<Node, ParseError> {
    let (cmd, flags, rest) = split_command(line);
    let key = to_lower(cmd);
    let mut node = Node {
        cmd: cmd.to_string(),
        key,
        original: line.to_string(),
        flags,
        line: line_no,
        ..Node::default()
    };
    match node.key.as_str() {
        "add" | "copy" | "volume" => (node.args, node.json) = maybe_json_to_list(&rest, line_no)?,
        "cmd" | "entrypoint" | "run" | "shell" => {
            (node.args, node.json) = maybe_json(&rest, line_no)?
        }
        "arg" => node.args = parse_words(&rest, escape),
        "env" => node.pairs = name_val(&rest, "ENV", escape, line_no)?,
        "label" => node.pairs = name_val(&rest, "LABEL", escape, line_no)?,
        "expose" | "from" => node.args = whitespace_delimited(&rest),
        "healthcheck" => (node.args, node.json) = health_config(&rest, line_no)?,
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest.is_empty() => {
            node.args = vec![rest.into_owned()];
        }
        "onbuild" if !rest.is_empty() => {
            if nested {
                // ONBUILD ONBUILD ...: refused later; only the parser's errors of the
                // innermost trigger matter, found without recursing.
                check_onbuild_chain(&rest, escape, line_no)?;
                node.args = vec![rest.into_owned()];
            } else {
                let child = parse_line(&rest, escape, line_no, true)?;
                node.args = vec![child.cmd.clone()];
                node.child = Some(Box::new(child));
            }
        }
        _ => {}
    }
    Ok(node)
}

/// Parses the innermost trigger of `ONBUILD ONBUILD ... X` for its errors.
fn check_onbuild_chain(rest: &str, escape: char, line_no: usize) -> Result<(), ParseError> {
    let mut cur = rest;
    let mut owned;
    loop {
        let (cmd, _, args) = split_command(cur);
        if to_lower(cmd) != "onbuild" {
            return parse_line(cur, escape, line_no, true).map(|_| ());
        }
        match args {
            Cow::Borrowed("") => return Ok(()),
            Cow::Borrowed(args) => cur = args,
            Cow::Owned(args) => {
                owned = args;
                break;
            }
        }
    }
    // rare: Docker's byte-wise flag scanner stopped inside a character
    loop {
        let (cmd, _, args) = split_command(&owned);
        if to_lower(cmd) != "onbuild" {
            return parse_line(&owned, escape, line_no, true).map(|_| ());
        }
        if args.is_empty() {
            return Ok(());
        }
        owned = args.into_owned();
    }
}

/// A JSON array of strings (`Some`), not JSON (`None`), or an error for valid JSON with
/// other elements.
fn parse_json(rest: &str, line_no: usize) -> Result<Option<Vec<String>>, ParseError> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(None);
    }
    match parse_array(rest) {
        JsonArray::Strings(v) => Ok(Some(v)),
        JsonArray::NotStrings => Err(ParseError::JsonNotStrings { line: line_no }),
        JsonArray::Invalid => Ok(None),
    }
}

/// `RUN`, `CMD`...: the JSON array, else the whole text as one argument.
fn maybe_json(rest: &str, line_no: usize) -> Result<(Vec<String>, bool), ParseError> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    Ok(match parse_json(rest, line_no)? {
        Some(v) => (v, true),
        None => (vec![rest.to_string()], false),
    })
}

/// `COPY`, `ADD`, `VOLUME`: the JSON array, else the white-space separated words.
fn maybe_json_to_list(rest: &str, line_no: usize) -> Result<(Vec<String>, bool), ParseError> {
    Ok(match parse_json(rest, line_no)? {
        Some(v) => (v, true),
        None => (whitespace_delimited(rest), false),
    })
}

/// `FROM`, `EXPOSE`: words separated by `[\t\v\f\r ]+`, quotes not special.
fn whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    split_token_space(rest, 0)
}

/// `HEALTHCHECK`: the type (up to the first white space byte) then the command.
fn health_config(rest: &str, line_no: usize) -> Result<(Vec<String>, bool), ParseError> {
    let b = rest.as_bytes();
    let sep = b.iter().position(|&c| is_space_byte(c)).unwrap_or(b.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let next = sep
        + b.get(sep..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| is_space_byte(c))
            .count();
    let lossy = |r: &[u8]| String::from_utf8_lossy(r).into_owned();
    let kind = lossy(b.get(..sep).unwrap_or_default());
    let (cmd, json) = maybe_json(&lossy(b.get(next..).unwrap_or_default()), line_no)?;
    let mut args = vec![kind];
    args.extend(cmd);
    Ok((args, json))
}

/// `ENV`/`LABEL`: `name=value ...`, or the legacy `name value` (everything after the
/// first blank is the value).
fn name_val(
    rest: &str,
    instruction: &'static str,
    escape: char,
    line_no: usize,
) -> Result<Vec<(String, String)>, ParseError> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let mut parts = split_token_space(rest, 2).into_iter();
        return match (parts.next(), parts.next()) {
            (Some(k), Some(v)) => Ok(vec![(k, v)]),
            _ => Err(ParseError::MissingValue {
                line: line_no,
                instruction,
            }),
        };
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(ParseError::MissingEquals {
                line: line_no,
                word: w,
            }),
        })
        .collect()
}

/// Where the word splitter stands.
#[derive(PartialEq)]
enum Phase {
    Spaces,
    Word,
    Quote,
}

/// Words separated by white space, quotes and escapes kept (they are removed when the
/// word is substituted), a quoted blank kept in its word (BuildKit's `parseWords`).
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let ch = chars.get(pos).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            let mut ch = ch;
            if ch == escape {
                // an escape at the end is skipped; otherwise it stays, with what it escapes
                let Some(&next) = chars.get(pos + 1) else {
                    pos += 1;
                    continue;
                };
                word.push(ch);
                pos += 1;
                ch = next;
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // in a quote
        if ch == quote {
            phase = Phase::Word;
        }
        let mut ch = ch;
        if ch == escape && quote != '\'' {
            let Some(&next) = chars.get(pos + 1) else {
                phase = Phase::Word;
                pos += 1;
                continue;
            };
            word.push(ch);
            pos += 1;
            ch = next;
        }
        word.push(ch);
        pos += 1;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            parse_words(r#"A="x y" B=z\ w C='q'"#, '\\'),
            [r#"A="x y""#, r"B=z\ w", "C='q'"]
        );
        assert_eq!(parse_words(r#"a "" b"#, '\\'), ["a", "\"\"", "b"]);
        assert_eq!(parse_words("a\\", '\\'), ["a"]);
        assert_eq!(parse_words("  ", '\\'), Vec::<String>::new());
    }

    #[test]
    fn onbuild_chains_do_not_recurse() {
        let line = "ONBUILD ".repeat(20_000) + "RUN x";
        let node = node_from_line(&line, '\\', 1).unwrap();
        assert_eq!(node.child.unwrap().key, "onbuild");
        let bad = "ONBUILD ".repeat(20_000) + "ENV A";
        assert_eq!(
            node_from_line(&bad, '\\', 1).unwrap_err(),
            ParseError::MissingValue {
                line: 1,
                instruction: "ENV"
            }
        );
    }
}
