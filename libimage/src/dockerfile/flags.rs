//! An instruction's `--flags` checked against the ones it takes (BuildKit's `BFlags`).

use super::error::ParseError;

/// What values a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    /// `--x`, `--x=true`, `--x=false`.
    Bool,
    /// `--x=value`, once.
    String,
    /// `--x=value`, any number of times.
    Strings,
}

/// The flags given, checked.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    /// `(name, value)` in the order given; a boolean's value is `true` or `false`.
    pub used: Vec<(String, String)>,
}

impl Flags {
    /// A single-valued flag's value.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.used
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// A boolean flag's value (false when not given).
    pub(crate) fn is_true(&self, name: &str) -> bool {
        self.get(name).as_deref() == Some("true")
    }
}

/// Checks `args` (`--name[=value]` words) against the flags an instruction takes.
pub(crate) fn parse_flags(
    args: &[String],
    known: &[(&str, FlagKind)],
    line: usize,
) -> Result<Flags, ParseError> {
    let mut flags = Flags::default();
    for arg in args {
        let Some(body) = arg.strip_prefix("--") else {
            return Err(ParseError::FlagSyntax {
                line,
                arg: arg.clone(),
            });
        };
        if body.is_empty() {
            break;
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(&(_, kind)) = known.iter().find(|(n, _)| *n == name) else {
            return Err(ParseError::UnknownFlag {
                line,
                flag: name.to_string(),
            });
        };
        if kind != FlagKind::Strings && flags.used.iter().any(|(n, _)| n == name) {
            return Err(ParseError::DuplicateFlag {
                line,
                flag: name.to_string(),
            });
        }
        let missing = || ParseError::MissingFlagValue {
            line,
            flag: name.to_string(),
        };
        let value = match (kind, value) {
            (FlagKind::Bool, Some("")) => return Err(missing()),
            (FlagKind::Bool, None) => "true".to_string(),
            (FlagKind::Bool, Some(v)) => match super::golang::to_lower(v).as_str() {
                l @ ("true" | "false") => l.to_string(),
                _ => {
                    return Err(ParseError::FlagNotBoolean {
                        line,
                        flag: name.to_string(),
                        value: v.to_string(),
                    })
                }
            },
            (_, None) => return Err(missing()),
            (_, Some(v)) => v.to_string(),
        };
        flags.used.push((name.to_string(), value));
    }
    Ok(flags)
}
