//! Variable substitution in an instruction at build time: which instructions and which of
//! their fields Docker substitutes (its `SupportsSingleWordExpansion` commands).

use super::error::ParseError;
use super::instruction::{CopySpec, Instruction, InstructionKind};
use super::shell::ShellLex;

impl Instruction {
    /// This instruction with the build's variables substituted, as Docker's builder does
    /// before running it, `env` giving a variable's value (`None`: unset):
    ///
    /// - `FROM`: the image and `--platform` (Docker gives it the `ARG`s declared before
    ///   the first `FROM`); not the stage name.
    /// - `ENV`, `LABEL`: names and values; `ARG`: names and defaults.
    /// - `COPY`, `ADD`: sources, destination, `--chown`, `--chmod`, and the body of
    ///   heredocs with an unquoted delimiter (quotes in a body are left alone); not
    ///   `--from`.
    /// - `WORKDIR`, `USER`, `STOPSIGNAL`, each `VOLUME`.
    /// - `EXPOSE`: each port, split into words after substitution (`EXPOSE $PORTS`).
    /// - `RUN`: the `--mount` values (the command itself is the shell's business).
    /// - Nothing in `CMD`, `ENTRYPOINT`, `SHELL`, `HEALTHCHECK`, `MAINTAINER`,
    ///   `ONBUILD` (its trigger is substituted when it runs).
    ///
    /// All pairs of an `ENV` are substituted with the variables as they were before it
    /// (`ENV A=1 B=$A` gives `B` the previous `A`).
    ///
    /// ```
    /// use libimage::dockerfile::{parse, InstructionKind, ShellLex};
    ///
    /// let file = parse("FROM scratch\nWORKDIR /src/${APP:-app}\n").unwrap();
    /// let lex = ShellLex::new(file.escape);
    /// let step = file.instructions[1].expand(&lex, &|_| None).unwrap();
    /// assert_eq!(step.kind, InstructionKind::Workdir("/src/app".into()));
    /// ```
    pub fn expand(
        &self,
        lex: &ShellLex,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Instruction, ParseError> {
        let word = |w: &str| lex.process_word(w, env);
        let opt = |w: &Option<String>| w.as_deref().map(word).transpose();
        let pairs = |p: &[(String, String)]| -> Result<Vec<(String, String)>, ParseError> {
            p.iter().map(|(k, v)| Ok((word(k)?, word(v)?))).collect()
        };
        use InstructionKind as K;
        let kind = match &self.kind {
            K::From {
                image,
                alias,
                platform,
            } => K::From {
                image: word(image)?,
                alias: alias.clone(),
                platform: opt(platform)?,
            },
            K::Env(p) => K::Env(pairs(p)?),
            K::Label(p) => K::Label(pairs(p)?),
            K::Arg(args) => K::Arg(
                args.iter()
                    .map(|(k, v)| Ok((word(k)?, opt(v)?)))
                    .collect::<Result<_, ParseError>>()?,
            ),
            K::Copy(spec) => K::Copy(expand_copy(spec, lex, env)?),
            K::Add(spec) => K::Add(expand_copy(spec, lex, env)?),
            K::Workdir(p) => K::Workdir(word(p)?),
            K::User(u) => K::User(word(u)?),
            K::Stopsignal(s) => K::Stopsignal(word(s)?),
            K::Volume(v) => K::Volume(v.iter().map(|p| word(p)).collect::<Result<_, _>>()?),
            K::Expose(ports) => {
                let mut out = Vec::new();
                for p in ports {
                    out.extend(lex.process_words(p, env)?);
                }
                K::Expose(out)
            }
            K::Run {
                command,
                heredocs,
                flags,
            } => K::Run {
                command: command.clone(),
                heredocs: heredocs.clone(),
                flags: flags
                    .iter()
                    .map(|(n, v)| Ok((n.clone(), if n == "mount" { word(v)? } else { v.clone() })))
                    .collect::<Result<_, ParseError>>()?,
            },
            other => other.clone(),
        };
        Ok(Instruction {
            line: self.line,
            original: self.original.clone(),
            kind,
        })
    }
}

/// `COPY`/`ADD`: paths and ownership with the Dockerfile's lexer, heredoc bodies with
/// BuildKit's (escape `\`, quotes literal).
fn expand_copy(
    spec: &CopySpec,
    lex: &ShellLex,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<CopySpec, ParseError> {
    let word = |w: &str| lex.process_word(w, env);
    let opt = |w: &Option<String>| w.as_deref().map(word).transpose();
    // Docker's order: --chown, --chmod, the paths, then heredoc bodies
    let chown = opt(&spec.chown)?;
    let chmod = opt(&spec.chmod)?;
    let sources = spec
        .sources
        .iter()
        .map(|s| word(s))
        .collect::<Result<_, _>>()?;
    let dest = word(&spec.dest)?;
    let body = ShellLex::heredoc_body();
    let mut heredocs = spec.heredocs.clone();
    for h in heredocs.iter_mut().filter(|h| h.expand) {
        h.content = body.process_word(&h.content, env)?;
    }
    Ok(CopySpec {
        sources,
        dest,
        from: spec.from.clone(),
        chown,
        chmod,
        link: spec.link,
        heredocs,
        json_form: spec.json_form,
    })
}
