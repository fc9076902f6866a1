//! Dockerfiles: parsing, and the build context's ignore rules.
//!
//! [`parse`] reads a Dockerfile the way Docker does (moby/buildkit's
//! `frontend/dockerfile/parser` and `instructions`, as Docker 20.10's classic builder
//! uses them, plus BuildKit's later heredocs and `--link`/`--chmod`/`--checksum`):
//!
//! - parser directives at the very top (`# escape=`, `# syntax=`), case-insensitive;
//! - comments (`#` first on a line) and blank lines dropped, also inside continuations;
//! - lines continued with the escape character (`\`, or `` ` ``);
//! - keywords case-insensitive; the JSON (exec) form where the arguments parse as a JSON
//!   array of strings, the shell form otherwise;
//! - heredocs (`RUN <<EOF`, `COPY <<EOF /file`), their bodies read after the line;
//! - each instruction's arguments and flags checked, with Docker's messages.
//!
//! Arguments stay as written: variables are substituted at build time, when their values
//! are known, by [`Instruction::expand`] with Docker's [`ShellLex`].
//!
//! Terms: an *instruction* is one `KEYWORD args` statement, however many lines it spans;
//! its *original* is the text Docker prints after `Step N/M :`.
//!
//! ```
//! use libimage::dockerfile::{parse, Command, InstructionKind, ShellLex};
//!
//! let file = parse("FROM alpine AS base\nENV DIR=/app\nWORKDIR $DIR\nRUN echo \\\n  hi\n").unwrap();
//! assert_eq!(file.instructions.len(), 4);
//! assert_eq!(file.instructions[3].original, "RUN echo   hi");
//! assert_eq!(
//!     file.instructions[3].kind,
//!     InstructionKind::Run { command: Command::Shell("echo   hi".into()), heredocs: vec![], flags: vec![] }
//! );
//! let env = |name: &str| (name == "DIR").then(|| "/app".to_string());
//! let workdir = file.instructions[2].expand(&ShellLex::new(file.escape), &env).unwrap();
//! assert_eq!(workdir.kind, InstructionKind::Workdir("/app".into()));
//! ```

mod directives;
mod error;
mod expand;
mod flags;
mod golang;
mod heredoc;
pub mod ignore;
mod instruction;
mod json;
mod line_parsers;
mod parse_healthcheck;
mod parse_instruction;
mod parser;
mod pattern;
mod scanner;
mod shell;
mod split;

pub use error::ParseError;
pub use instruction::{
    Command, CopySpec, Dockerfile, Healthcheck, Heredoc, Instruction, InstructionKind,
};
pub use shell::ShellLex;

/// Parses a Dockerfile as Docker does, failing with Docker's message for the first
/// error Docker would report: the line parser's over the whole file first, then each
/// instruction's in order, then an instruction other than `ARG` before the first `FROM`
/// (`no build stage in current context`).
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let ast = parser::parse(text)?;
    let mut instructions = Vec::with_capacity(ast.nodes.len());
    let mut seen_from = false;
    for node in &ast.nodes {
        let instruction = parse_instruction::parse_node(node)?;
        match instruction.kind {
            InstructionKind::From { .. } => seen_from = true,
            InstructionKind::Arg(_) => {}
            _ if !seen_from => return Err(ParseError::NoBuildStage { line: node.line }),
            _ => {}
        }
        instructions.push(instruction);
    }
    Ok(Dockerfile {
        escape: ast.escape,
        syntax: ast.syntax,
        instructions,
        warnings: ast.warnings,
    })
}

/// Parses an `ONBUILD` trigger stored in a base image (the expression of
/// [`InstructionKind::Onbuild`]'s `original`), as Docker does when a build starts `FROM`
/// that image: a Dockerfile fragment with the default escape, in which `ONBUILD`, `FROM`
/// and `MAINTAINER` are refused and no `FROM` is needed.
pub fn parse_trigger(expression: &str) -> Result<Vec<Instruction>, ParseError> {
    let ast = parser::parse(expression)?;
    ast.nodes
        .iter()
        .map(|node| {
            let line = node.line;
            match golang::to_upper(&node.cmd).as_str() {
                "ONBUILD" => Err(ParseError::OnbuildChain { line }),
                t @ ("MAINTAINER" | "FROM") => Err(ParseError::OnbuildTrigger {
                    line,
                    trigger: t.to_string(),
                }),
                _ => parse_instruction::parse_node(node),
            }
        })
        .collect()
}
