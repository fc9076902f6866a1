//! Parser directives (`# escape=`, `# syntax=`, `# check=`): comments of the form
//! `# name=value` at the very top of the file, before any other line, blank or not.

use super::error::ParseError;

/// The directives seen so far, and whether more may come.
#[derive(Debug)]
pub(crate) struct Directives {
    /// The escape character (`\` by default).
    pub escape: char,
    /// `# syntax=`.
    pub syntax: Option<String>,
    seen: Vec<String>,
    done: bool,
}

/// Go's `\s` in regular expressions.
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

impl Directives {
    /// The defaults: escape `\`, no syntax.
    pub(crate) fn new() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            seen: Vec::new(),
            done: false,
        }
    }

    /// Looks at a line (newline removed, leading white space trimmed) while directives
    /// may still come: a directive is recorded, anything else ends the directives.
    pub(crate) fn parse_line(&mut self, line: &str, line_no: usize) -> Result<(), ParseError> {
        if self.done {
            return Ok(());
        }
        let Some((name, value)) = directive(line) else {
            self.done = true;
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "escape" | "syntax" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&name) {
            return Err(ParseError::DuplicateDirective {
                line: line_no,
                name,
            });
        }
        match name.as_str() {
            "escape" => {
                self.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseError::InvalidEscapeToken {
                            line: line_no,
                            token: value.to_string(),
                        })
                    }
                }
            }
            "syntax" => self.syntax = Some(value.to_string()),
            _ => {}
        }
        self.seen.push(name);
        Ok(())
    }
}

/// `#\s*name\s*=\s*value\s*` as BuildKit matches it
/// (`^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` after the `#` and white space).
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let name_len = rest
        .char_indices()
        .take_while(|&(i, c)| {
            if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric()
            }
        })
        .count();
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    if rest.is_empty() {
        return None;
    }
    let value = rest
        .trim_start_matches(is_re_space)
        .trim_end_matches(is_re_space);
    if !value.is_empty() {
        return Some((name, value));
    }
    // all blanks: the lazy `(.+?)` takes the last one
    let last = rest.char_indices().last().map_or(0, |(i, _)| i);
    Some((name, &rest[last..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_syntax() {
        assert_eq!(directive("# escape=`"), Some(("escape", "`")));
        assert_eq!(directive("#   ESCAPE   =   `   "), Some(("ESCAPE", "`")));
        assert_eq!(
            directive("#syntax=docker/dockerfile:1.4 x"),
            Some(("syntax", "docker/dockerfile:1.4 x"))
        );
        assert_eq!(directive("# escape= "), Some(("escape", " ")));
        assert_eq!(directive("# escape="), None);
        assert_eq!(directive("# hello"), None);
        assert_eq!(directive("# 1a=b"), None);
        assert_eq!(directive("escape=`"), None);
    }
}
