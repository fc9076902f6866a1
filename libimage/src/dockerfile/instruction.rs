//! The typed Dockerfile: what [`parse`](super::parse) returns. Every string is kept as
//! written (unsubstituted, quotes included where Docker keeps them until substitution);
//! [`Instruction::expand`] applies the build's variables.

use std::time::Duration;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character: `\`, or `` ` `` after a `# escape=` `` ` `` directive.
    pub escape: char,
    /// The `# syntax=` directive's value, if any (ministry has a single frontend and
    /// only reports it).
    pub syntax: Option<String>,
    /// The instructions, in order (comments and blank lines dropped).
    pub instructions: Vec<Instruction>,
    /// The warnings Docker prints before the first step, one string per line as Docker
    /// 20.10 prints them (`[WARNING]: Empty continuation line found in:` followed by the
    /// instruction, then `[WARNING]: Empty continuation lines will become errors in a
    /// future release.`).
    pub warnings: Vec<String>,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The (1-based) line the instruction starts on.
    pub line: usize,
    /// The instruction as Docker prints it after `Step N/M : `: its lines joined without
    /// their escape characters (`RUN a \` + `  b` is `RUN a   b`), comment lines inside
    /// dropped, trimmed; heredoc bodies are not included. For an `ONBUILD` trigger, the
    /// expression Docker stores in the image's `OnBuild` list instead: the line without
    /// `ONBUILD`, each heredoc's body and delimiter appended after a newline.
    pub original: String,
    /// What the instruction is.
    pub kind: InstructionKind,
}

/// An instruction and its arguments, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    /// `FROM [--platform=p] image [AS alias]`; `alias` is lower-cased, as Docker does.
    From {
        /// The image (substitution uses the `ARG`s before the first `FROM`).
        image: String,
        /// The stage's name.
        alias: Option<String>,
        /// `--platform`.
        platform: Option<String>,
    },
    /// `RUN [--mount=...] [--network=...] command`.
    Run {
        /// The command.
        command: Command,
        /// Its heredocs (`RUN <<EOF`), bodies as written (see [`Heredoc`]).
        heredocs: Vec<Heredoc>,
        /// The flags given, in order, as `(name, value)` (`("mount", "type=cache,...")`);
        /// the builder decides which it supports.
        flags: Vec<(String, String)>,
    },
    /// `CMD`.
    Cmd(Command),
    /// `ENTRYPOINT`.
    Entrypoint(Command),
    /// `ENV k=v ...` or `ENV k v`, as `(name, value)` pairs.
    Env(Vec<(String, String)>),
    /// `LABEL k=v ...` or `LABEL k v`, as `(name, value)` pairs.
    Label(Vec<(String, String)>),
    /// `ARG name[=default] ...`.
    Arg(Vec<(String, Option<String>)>),
    /// `COPY`.
    Copy(CopySpec),
    /// `ADD`.
    Add(CopySpec),
    /// `WORKDIR path`.
    Workdir(String),
    /// `USER user[:group]`.
    User(String),
    /// `EXPOSE port[/proto] ...`, sorted as Docker sorts them (by byte).
    Expose(Vec<String>),
    /// `VOLUME path ...` or `VOLUME ["path", ...]`, each trimmed.
    Volume(Vec<String>),
    /// `ONBUILD trigger`: the trigger parsed (its `original` is the expression stored in
    /// the image). `ONBUILD ONBUILD`, `ONBUILD FROM` and `ONBUILD MAINTAINER` are refused as
    /// Docker refuses them; unlike Docker, a trigger that would fail to parse when the
    /// image is used (`ONBUILD FOO`) is refused now.
    Onbuild(Box<Instruction>),
    /// `SHELL ["exe", "arg", ...]`.
    Shell(Vec<String>),
    /// `STOPSIGNAL signal`.
    Stopsignal(String),
    /// `MAINTAINER name`.
    Maintainer(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
}

/// A command of `RUN`, `CMD`, `ENTRYPOINT` or `HEALTHCHECK CMD`.
///
/// Docker's rule: arguments that parse as a JSON array of strings are the exec form;
/// anything else (including invalid JSON such as `['a']`) is the shell form, and a valid
/// JSON array holding a non-string is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The shell form: the text to pass to the shell (`/bin/sh -c`). Empty when the
    /// instruction has no argument, in which case Docker runs the shell with no command
    /// string (`RUN` alone is `/bin/sh -c`; `ENTRYPOINT` alone clears the entrypoint).
    Shell(String),
    /// The exec form: the argument vector.
    Exec(Vec<String>),
}

/// A heredoc: `<<NAME` (or `<<-NAME`, `<<"NAME"`) on an instruction's line, its body on
/// the following lines up to a line holding only `NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed (for `COPY`/`ADD`, the name of the file written).
    pub name: String,
    /// The body, line endings included. For `RUN` it is as written (the shell or the
    /// builder strips tabs for `<<-`; see [`Heredoc::chomped`]); for `COPY`/`ADD` it is
    /// the file's content as Docker writes it (tabs already stripped for `<<-`).
    pub content: String,
    /// Whether variables in the body are substituted (the delimiter was unquoted).
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body's lines (and the delimiter line).
    pub chomp: bool,
}

impl Heredoc {
    /// The body with each line's leading tabs removed when [`chomp`](Self::chomp) is set
    /// (BuildKit's `ChompHeredocContent`), else as is.
    pub fn chomped(&self) -> String {
        if self.chomp {
            chomp(&self.content)
        } else {
            self.content.clone()
        }
    }
}

/// Removes the leading tabs of every line.
pub(crate) fn chomp(s: &str) -> String {
    s.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// The arguments of `COPY` and `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// The source paths (heredoc sources are in `heredocs` instead).
    pub sources: Vec<String>,
    /// The destination.
    pub dest: String,
    /// `COPY --from` (not substituted, as in Docker).
    pub from: Option<String>,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// The heredoc sources (`COPY <<EOF /dest`), in order: files named after their
    /// delimiter.
    pub heredocs: Vec<Heredoc>,
    /// Whether the arguments were a JSON array.
    pub json_form: bool,
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disables the base image's check.
    None,
    /// `HEALTHCHECK [options] CMD command`.
    Check {
        /// The command (shell form: Docker's `CMD-SHELL`).
        test: Command,
        /// `--interval` (at least 1ms).
        interval: Option<Duration>,
        /// `--timeout` (at least 1ms).
        timeout: Option<Duration>,
        /// `--start-period` (at least 1ms).
        start_period: Option<Duration>,
        /// `--retries` (at least 1).
        retries: Option<u32>,
    },
}
