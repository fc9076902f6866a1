//! The Dockerfile's lines into instruction [`Node`]s (BuildKit's `parser.Parse`): parser
//! directives, comments, line continuations with the escape character (comment and blank
//! lines inside a continuation skipped), and heredoc bodies.

use super::directives::Directives;
use super::error::ParseError;
use super::heredoc::heredocs_from_line;
use super::line_parsers::{node_from_line, Node};

/// Go's `bufio.Scanner` refuses longer lines.
const MAX_LINE: usize = 65535;

/// What the line parser makes of a file.
#[derive(Debug)]
pub(crate) struct Ast {
    /// The instructions.
    pub nodes: Vec<Node>,
    /// The escape character.
    pub escape: char,
    /// `# syntax=`.
    pub syntax: Option<String>,
    /// Docker's warnings.
    pub warnings: Vec<String>,
}

/// The physical lines, line endings kept, as Go's scanner hands them out: it stops at
/// the first line of 64 KiB or more.
struct Lines<'a> {
    text: &'a str,
    too_long: bool,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a str> {
        if self.too_long || self.text.is_empty() {
            return None;
        }
        let end = self.text.find('\n').map_or(self.text.len(), |i| i + 1);
        let (line, rest) = self.text.split_at(end);
        if line.strip_suffix('\n').unwrap_or(line).len() > MAX_LINE {
            self.too_long = true;
            return None;
        }
        self.text = rest;
        Some(line)
    }
}

/// Removes the line ending (all trailing `\r` and `\n`).
fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

/// A line whose first non-blank character is `#`.
fn is_comment(s: &str) -> bool {
    s.trim_start().starts_with('#')
}

/// Removes a trailing escape character (and the blanks after it): `(line, ended)`, where
/// `ended` is false when the instruction continues on the next line. An escape preceded
/// by another escape does not continue the line (`RUN echo \\`).
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape) {
        if before.is_empty() || !before.ends_with(escape) {
            return (before, false);
        }
    }
    (line, true)
}

/// Parses `text` into nodes.
pub(crate) fn parse(text: &str) -> Result<Ast, ParseError> {
    let mut d = Directives::new();
    let mut lines = Lines {
        text,
        too_long: false,
    };
    let mut current = 0;
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    while let Some(raw) = lines.next() {
        let raw = match current {
            0 => raw.strip_prefix('\u{feff}').unwrap_or(raw),
            _ => raw,
        };
        let token = trim_newline(raw).trim_start();
        d.parse_line(token, current + 1)?;
        let token = if is_comment(token) { "" } else { token };
        current += 1;
        let start = current;
        let (first, mut ended) = trim_continuation(token, d.escape);
        if ended && first.is_empty() {
            continue;
        }
        let mut line = first.to_string();
        let mut empty_continuation = false;
        while !ended {
            let Some(raw) = lines.next() else {
                break;
            };
            current += 1;
            let token = trim_newline(raw);
            if is_comment(token) {
                continue;
            }
            if token.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, e) = trim_continuation(token, d.escape);
            line.push_str(part);
            ended = e;
        }
        if empty_continuation {
            warnings.push(format!(
                "[WARNING]: Empty continuation line found in:\n    {line}"
            ));
        }
        let mut node = node_from_line(&line, d.escape, start)?;
        if node.can_contain_heredoc() && line.contains("<<") {
            let docs =
                heredocs_from_line(&line).map_err(|message| ParseError::HeredocDelimiter {
                    line: start,
                    message,
                })?;
            for mut doc in docs {
                let mut terminated = false;
                while let Some(raw) = lines.next() {
                    current += 1;
                    let mut candidate = trim_newline(raw);
                    if doc.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == doc.name {
                        terminated = true;
                        break;
                    }
                    doc.content.push_str(raw);
                }
                if !terminated {
                    return Err(ParseError::UnterminatedHeredoc { line: start });
                }
                node.heredocs.push(doc);
            }
        }
        nodes.push(node);
    }
    if !warnings.is_empty() {
        warnings.push(
            "[WARNING]: Empty continuation lines will become errors in a future release.".into(),
        );
    }
    if nodes.is_empty() {
        return Err(ParseError::NoInstructions);
    }
    if lines.too_long {
        return Err(ParseError::LineTooLong { line: current + 1 });
    }
    Ok(Ast {
        nodes,
        escape: d.escape,
        syntax: d.syntax,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_rules() {
        assert_eq!(trim_continuation("a \\", '\\'), ("a ", false));
        assert_eq!(trim_continuation("a \\ \t", '\\'), ("a ", false));
        assert_eq!(trim_continuation("\\", '\\'), ("", false));
        assert_eq!(trim_continuation("a\\\\", '\\'), ("a\\\\", true));
        assert_eq!(trim_continuation("a `", '`'), ("a ", false));
        assert_eq!(trim_continuation("a \\", '`'), ("a \\", true));
        assert_eq!(trim_continuation("a \\\r", '\\'), ("a \\\r", true));
    }
}
