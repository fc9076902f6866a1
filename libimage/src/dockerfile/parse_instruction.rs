//! Nodes into typed [`Instruction`]s (BuildKit's `instructions.ParseInstruction`), each
//! instruction checking its arguments and flags in Docker's order, so the first error is
//! Docker's.

use super::error::ParseError;
use super::flags::{parse_flags, FlagKind};
use super::golang::{to_lower, to_upper};
use super::heredoc::must_parse_heredoc;
use super::instruction::{chomp, Command, CopySpec, Heredoc, Instruction, InstructionKind};
use super::line_parsers::Node;

/// The instruction a node is.
pub(crate) fn parse_node(node: &Node) -> Result<Instruction, ParseError> {
    let kind = parse_kind(node)?;
    Ok(Instruction {
        line: node.line,
        original: node.original.trim().to_string(),
        kind,
    })
}

fn parse_kind(node: &Node) -> Result<InstructionKind, ParseError> {
    let line = node.line;
    let no_flags = || parse_flags(&node.flags, &[], line).map(|_| ());
    let one_arg = |instruction: &'static str| match node.args.as_slice() {
        [arg] => Ok(arg.clone()),
        _ => Err(ParseError::ExactlyOneArgument { line, instruction }),
    };
    Ok(match node.key.as_str() {
        "env" | "label" => {
            no_flags()?;
            let instruction = if node.key == "env" { "ENV" } else { "LABEL" };
            if node.pairs.is_empty() {
                return Err(ParseError::AtLeastOneArgument { line, instruction });
            }
            if node.pairs.iter().any(|(k, _)| k.is_empty()) {
                return Err(ParseError::BlankName { line, instruction });
            }
            match instruction {
                "ENV" => InstructionKind::Env(node.pairs.clone()),
                _ => InstructionKind::Label(node.pairs.clone()),
            }
        }
        "maintainer" => {
            let who = one_arg("MAINTAINER")?;
            no_flags()?;
            InstructionKind::Maintainer(who)
        }
        "add" => InstructionKind::Add(parse_copy(node, "ADD")?),
        "copy" => InstructionKind::Copy(parse_copy(node, "COPY")?),
        "from" => parse_from(node)?,
        "onbuild" => parse_onbuild(node)?,
        "workdir" => {
            let path = one_arg("WORKDIR")?;
            no_flags()?;
            InstructionKind::Workdir(path)
        }
        "run" => {
            let flags = parse_flags(
                &node.flags,
                &[("mount", FlagKind::Strings), ("network", FlagKind::String)],
                line,
            )?;
            InstructionKind::Run {
                command: command(node),
                heredocs: node.heredocs.clone(),
                flags: flags.used,
            }
        }
        "cmd" => {
            no_flags()?;
            InstructionKind::Cmd(command(node))
        }
        "entrypoint" => {
            no_flags()?;
            InstructionKind::Entrypoint(command(node))
        }
        "healthcheck" => InstructionKind::Healthcheck(super::parse_healthcheck::parse(node)?),
        "expose" => {
            if node.args.is_empty() {
                return Err(ParseError::AtLeastOneArgument {
                    line,
                    instruction: "EXPOSE",
                });
            }
            no_flags()?;
            let mut ports = node.args.clone();
            ports.sort();
            InstructionKind::Expose(ports)
        }
        "user" => {
            let user = one_arg("USER")?;
            no_flags()?;
            InstructionKind::User(user)
        }
        "volume" => {
            if node.args.is_empty() {
                return Err(ParseError::AtLeastOneArgument {
                    line,
                    instruction: "VOLUME",
                });
            }
            no_flags()?;
            let volumes: Vec<String> = node.args.iter().map(|v| v.trim().to_string()).collect();
            if volumes.iter().any(String::is_empty) {
                return Err(ParseError::EmptyVolume { line });
            }
            InstructionKind::Volume(volumes)
        }
        // STOPSIGNAL and ARG ignore their flags, as in Docker
        "stopsignal" => InstructionKind::Stopsignal(one_arg("STOPSIGNAL")?),
        "arg" => parse_arg(node)?,
        "shell" => {
            no_flags()?;
            if node.args.is_empty() {
                return Err(ParseError::AtLeastOneArgument {
                    line,
                    instruction: "SHELL",
                });
            }
            if !node.json {
                return Err(ParseError::NotJson {
                    line,
                    instruction: "SHELL",
                });
            }
            InstructionKind::Shell(node.args.clone())
        }
        _ => {
            return Err(ParseError::UnknownInstruction {
                line,
                instruction: to_upper(&node.cmd),
            })
        }
    })
}

/// The command of `RUN`, `CMD` and `ENTRYPOINT`: the JSON array, else the text.
pub(crate) fn command(node: &Node) -> Command {
    if node.json {
        Command::Exec(node.args.clone())
    } else {
        Command::Shell(node.args.join(" "))
    }
}

/// `FROM image [AS name]`: the arguments are checked before the flags.
fn parse_from(node: &Node) -> Result<InstructionKind, ParseError> {
    let line = node.line;
    let alias = match node.args.as_slice() {
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let lower = to_lower(name);
            let mut chars = lower.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                });
            if !valid {
                return Err(ParseError::StageName {
                    line,
                    name: name.clone(),
                });
            }
            Some(lower)
        }
        [_] => None,
        _ => return Err(ParseError::FromArguments { line }),
    };
    let flags = parse_flags(&node.flags, &[("platform", FlagKind::String)], line)?;
    Ok(InstructionKind::From {
        image: node.args.first().cloned().unwrap_or_default(),
        alias,
        platform: flags.get("platform").filter(|p| !p.is_empty()),
    })
}

/// `COPY`/`ADD`: sources (heredoc sources apart) and destination.
fn parse_copy(node: &Node, instruction: &'static str) -> Result<CopySpec, ParseError> {
    let line = node.line;
    let Some((dest, sources)) = node.args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(ParseError::NoDestination { line, instruction });
    };
    let known: &[(&str, FlagKind)] = if instruction == "COPY" {
        &[
            ("chown", FlagKind::String),
            ("from", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
        ]
    } else {
        &[
            ("chown", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
            ("checksum", FlagKind::String),
        ]
    };
    let flags = parse_flags(&node.flags, known, line)?;
    if must_parse_heredoc(dest).is_some() {
        return Err(ParseError::HeredocDestination { line, instruction });
    }
    let mut spec = CopySpec {
        sources: Vec::new(),
        dest: dest.clone(),
        from: flags.get("from").filter(|v| !v.is_empty()),
        chown: flags.get("chown").filter(|v| !v.is_empty()),
        chmod: flags.get("chmod").filter(|v| !v.is_empty()),
        link: flags.is_true("link"),
        heredocs: Vec::new(),
        json_form: node.json,
    };
    for src in sources {
        match must_parse_heredoc(src) {
            Some(h) => {
                // the body is the last heredoc of that name on the line
                let body = node
                    .heredocs
                    .iter()
                    .rev()
                    .find(|d| d.name == h.name)
                    .map(|d| d.content.clone())
                    .unwrap_or_default();
                spec.heredocs.push(Heredoc {
                    content: if h.chomp { chomp(&body) } else { body },
                    ..h
                });
            }
            None => spec.sources.push(src.clone()),
        }
    }
    Ok(spec)
}

/// `ONBUILD trigger`: chaining and `FROM`/`MAINTAINER` triggers refused, then (unlike
/// Docker, which waits for the image to be used) the trigger parsed.
fn parse_onbuild(node: &Node) -> Result<InstructionKind, ParseError> {
    let line = node.line;
    let Some(child) = node.child.as_deref() else {
        return Err(ParseError::AtLeastOneArgument {
            line,
            instruction: "ONBUILD",
        });
    };
    parse_flags(&node.flags, &[], line)?;
    let trigger = to_upper(child.cmd.trim());
    match trigger.as_str() {
        "ONBUILD" => return Err(ParseError::OnbuildChain { line }),
        "MAINTAINER" | "FROM" => return Err(ParseError::OnbuildTrigger { line, trigger }),
        _ => {}
    }
    let mut expression = strip_onbuild(&node.original).to_string();
    for h in &node.heredocs {
        expression.push('\n');
        expression.push_str(&h.content);
        expression.push_str(&h.name);
    }
    let mut child = child.clone();
    child.heredocs = node.heredocs.clone();
    let kind = parse_kind(&child)?;
    Ok(InstructionKind::Onbuild(Box::new(Instruction {
        line,
        original: expression,
        kind,
    })))
}

/// The line without its `ONBUILD` keyword: Go's `(?i)^\s*ONBUILD\s*` removed.
fn strip_onbuild(original: &str) -> &str {
    let is_s = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let rest = original.trim_start_matches(is_s);
    match rest.get(..7) {
        Some(k) if k.eq_ignore_ascii_case("onbuild") => rest[7..].trim_start_matches(is_s),
        _ => original,
    }
}

/// `ARG name[=default] ...` (its flags are ignored, as in Docker).
fn parse_arg(node: &Node) -> Result<InstructionKind, ParseError> {
    let line = node.line;
    if node.args.is_empty() {
        return Err(ParseError::AtLeastOneArgument {
            line,
            instruction: "ARG",
        });
    }
    node.args
        .iter()
        .map(|a| match a.split_once('=') {
            Some(("", _)) => Err(ParseError::BlankName {
                line,
                instruction: "ARG",
            }),
            Some((k, v)) => Ok((k.to_string(), Some(v.to_string()))),
            None => Ok((a.clone(), None)),
        })
        .collect::<Result<_, _>>()
        .map(InstructionKind::Arg)
}
