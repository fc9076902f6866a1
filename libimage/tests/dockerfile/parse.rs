//! The Dockerfile parser, behaviour by behaviour: directives, comments, continuations,
//! each instruction's forms and flags, heredocs. (What was checked against a real Docker
//! daemon is in `vs_docker.rs`.)

use std::time::Duration;

use libimage::dockerfile::{
    parse, parse_trigger, Command, CopySpec, Healthcheck, Heredoc, Instruction, InstructionKind,
    ParseError,
};

fn kinds(text: &str) -> Vec<InstructionKind> {
    parse(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .instructions
        .into_iter()
        .map(|i| i.kind)
        .collect()
}

/// The kind of the instruction after `FROM scratch`.
fn second(body: &str) -> InstructionKind {
    let mut k = kinds(&format!("FROM scratch\n{body}"));
    assert_eq!(k.len(), 2, "{body:?}: {k:?}");
    k.remove(1)
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(f) => panic!("{text:?} parsed: {f:?}"),
        Err(e) => e.to_string(),
    }
}

fn shell(s: &str) -> Command {
    Command::Shell(s.into())
}

fn exec(v: &[&str]) -> Command {
    Command::Exec(v.iter().map(|s| s.to_string()).collect())
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn copy(sources: &[&str], dest: &str) -> CopySpec {
    CopySpec {
        sources: sources.iter().map(|s| s.to_string()).collect(),
        dest: dest.into(),
        from: None,
        chown: None,
        chmod: None,
        link: false,
        heredocs: vec![],
        json_form: false,
    }
}

fn heredoc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        expand,
        chomp,
    }
}

#[test]
fn lines_and_originals() {
    let f = parse("# comment\n\nFROM busybox AS Base\n  run echo hi   \nENV A=b\n").unwrap();
    assert_eq!(f.escape, '\\');
    assert_eq!(f.syntax, None);
    assert!(f.warnings.is_empty());
    let lines: Vec<(usize, &str)> = f
        .instructions
        .iter()
        .map(|i| (i.line, i.original.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (3, "FROM busybox AS Base"),
            (4, "run echo hi"),
            (5, "ENV A=b")
        ]
    );
    assert_eq!(
        f.instructions[0].kind,
        InstructionKind::From {
            image: "busybox".into(),
            alias: Some("base".into()),
            platform: None
        }
    );
}

#[test]
fn byte_order_mark_and_crlf() {
    let f = parse("\u{feff}FROM a\r\nRUN x \\\r\n  y\r\n").unwrap();
    assert_eq!(f.instructions[1].original, "RUN x   y");
    assert_eq!(
        f.instructions[1].kind,
        InstructionKind::Run {
            command: shell("x   y"),
            heredocs: vec![],
            flags: vec![]
        }
    );
}

#[test]
fn directives() {
    let f = parse("# syntax=docker/dockerfile:1.4\n# escape=`\nFROM a\nRUN a `\n  b\n").unwrap();
    assert_eq!(f.syntax.as_deref(), Some("docker/dockerfile:1.4"));
    assert_eq!(f.escape, '`');
    assert_eq!(f.instructions[1].original, "RUN a   b");
    // a directive after any other line is a comment
    let f = parse("FROM a\n# escape=`\nRUN a \\\n  b\n").unwrap();
    assert_eq!(f.escape, '\\');
    let f = parse("# check=skip=all\n# ESCAPE = `\nFROM a\n").unwrap();
    assert_eq!(f.escape, '`');
    assert_eq!(
        parse("# escape=\\\n# escape=`\nFROM a\n").unwrap_err(),
        ParseError::DuplicateDirective {
            line: 2,
            name: "escape".into()
        }
    );
    // an unknown directive ends the directives
    assert_eq!(
        parse("# foo=bar\n# escape=`\nFROM a\n").unwrap().escape,
        '\\'
    );
}

#[test]
fn continuations_skip_comments_and_warn_on_blank_lines() {
    let f = parse("FROM a\nRUN a \\\n# c\n   # indented c\n\n  b \\\n c\nRUN d\n").unwrap();
    assert_eq!(f.instructions[1].original, "RUN a   b  c");
    assert_eq!(f.instructions[1].line, 2);
    assert_eq!(f.instructions[2].line, 8);
    assert_eq!(
        f.warnings,
        [
            "[WARNING]: Empty continuation line found in:\n    RUN a   b  c",
            "[WARNING]: Empty continuation lines will become errors in a future release."
        ]
    );
    // a continuation at the end of the file ends the instruction
    assert_eq!(
        parse("FROM a\nRUN x \\").unwrap().instructions[1].original,
        "RUN x"
    );
    // an escaped escape does not continue the line
    assert_eq!(
        parse("FROM a\nRUN x \\\\\nRUN y")
            .unwrap()
            .instructions
            .len(),
        3
    );
    // `#` inside a line is not a comment
    assert_eq!(
        second("RUN echo a # b"),
        InstructionKind::Run {
            command: shell("echo a # b"),
            heredocs: vec![],
            flags: vec![]
        }
    );
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(second("wOrKdIr /x"), InstructionKind::Workdir("/x".into()));
    assert_eq!(
        kinds("from a as B")[0],
        InstructionKind::From {
            image: "a".into(),
            alias: Some("b".into()),
            platform: None
        }
    );
}

#[test]
fn exec_and_shell_forms() {
    let run = |c| InstructionKind::Run {
        command: c,
        heredocs: vec![],
        flags: vec![],
    };
    assert_eq!(
        second(r#"RUN ["echo", "a b"]"#),
        run(exec(&["echo", "a b"]))
    );
    assert_eq!(
        second(r#"RUN [ "echo", 'b' ]"#),
        run(shell(r#"[ "echo", 'b' ]"#))
    );
    assert_eq!(second(r#"RUN ["echo"] x"#), run(shell(r#"["echo"] x"#)));
    assert_eq!(second("RUN"), run(shell("")));
    assert_eq!(second("CMD []"), InstructionKind::Cmd(exec(&[])));
    assert_eq!(
        second("ENTRYPOINT top -b"),
        InstructionKind::Entrypoint(shell("top -b"))
    );
    assert_eq!(
        second(r#"SHELL ["/bin/bash", "-c"]"#),
        InstructionKind::Shell(vec!["/bin/bash".into(), "-c".into()])
    );
    assert_eq!(
        err("FROM a\nCMD [\"a\", 1]"),
        "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only"
    );
}

#[test]
fn env_and_label_forms() {
    assert_eq!(
        second("ENV A b c  d"),
        InstructionKind::Env(pairs(&[("A", "b c  d")]))
    );
    assert_eq!(
        second(r#"ENV B="x y" C=z\ w D='q' E="#),
        InstructionKind::Env(pairs(&[
            ("B", "\"x y\""),
            ("C", "z\\ w"),
            ("D", "'q'"),
            ("E", "")
        ]))
    );
    assert_eq!(
        second("LABEL a=b=c"),
        InstructionKind::Label(pairs(&[("a", "b=c")]))
    );
    assert_eq!(
        second("LABEL \"k y\"=v"),
        InstructionKind::Label(pairs(&[("\"k y\"", "v")]))
    );
    assert_eq!(
        err("FROM a\nENV A"),
        "failed to parse Dockerfile: ENV must have two arguments"
    );
    assert_eq!(
        err("FROM a\nLABEL A"),
        "failed to parse Dockerfile: LABEL must have two arguments"
    );
    assert_eq!(
        err("FROM a\nENV A=b c"),
        "failed to parse Dockerfile: Syntax error - can't find = in \"c\". Must be of the form: name=value"
    );
    assert_eq!(
        err("FROM a\nENV"),
        "dockerfile parse error line 2: ENV requires at least one argument"
    );
    assert_eq!(
        err("FROM a\nLABEL =x"),
        "dockerfile parse error line 2: LABEL names can not be blank"
    );
}

#[test]
fn arg_forms() {
    assert_eq!(
        kinds("ARG A B=c D=\"e f\" G=\nFROM x")[0],
        InstructionKind::Arg(vec![
            ("A".into(), None),
            ("B".into(), Some("c".into())),
            ("D".into(), Some("\"e f\"".into())),
            ("G".into(), Some("".into())),
        ])
    );
    assert_eq!(
        err("FROM a\nARG"),
        "dockerfile parse error line 2: ARG requires at least one argument"
    );
}

#[test]
fn copy_and_add() {
    assert_eq!(
        second("COPY a b /dst/"),
        InstructionKind::Copy(copy(&["a", "b"], "/dst/"))
    );
    assert_eq!(
        second("COPY --from=build --chown=1:1 --chmod=755 --link a /b"),
        InstructionKind::Copy(CopySpec {
            from: Some("build".into()),
            chown: Some("1:1".into()),
            chmod: Some("755".into()),
            link: true,
            ..copy(&["a"], "/b")
        })
    );
    assert_eq!(
        second(r#"COPY ["a b", "/c d"]"#),
        InstructionKind::Copy(CopySpec {
            json_form: true,
            ..copy(&["a b"], "/c d")
        })
    );
    assert_eq!(
        second("ADD --checksum=sha256:abc --link=false http://x/y /y"),
        InstructionKind::Add(copy(&["http://x/y"], "/y"))
    );
    assert_eq!(
        second("COPY --link=TRUE a /b"),
        InstructionKind::Copy(CopySpec {
            link: true,
            ..copy(&["a"], "/b")
        })
    );
    assert_eq!(
        err("FROM a\nADD --from=x a b"),
        "dockerfile parse error line 2: Unknown flag: from"
    );
    assert_eq!(
        err("FROM a\nCOPY --link=maybe a b"),
        "dockerfile parse error line 2: Expecting boolean value for flag link, not: maybe"
    );
    assert_eq!(
        err("FROM a\nCOPY --link= a b"),
        "dockerfile parse error line 2: Missing a value on flag: link"
    );
}

#[test]
fn heredocs() {
    let f = parse("FROM a\nRUN <<EOF\necho $HOME\n\tmore\nEOF\nRUN x\n").unwrap();
    assert_eq!(
        f.instructions[1].kind,
        InstructionKind::Run {
            command: shell("<<EOF"),
            heredocs: vec![heredoc("EOF", "echo $HOME\n\tmore\n", true, false)],
            flags: vec![],
        }
    );
    assert_eq!(f.instructions[1].original, "RUN <<EOF");
    assert_eq!(f.instructions[2].line, 6);

    // <<- strips the tabs before the delimiter; the body is kept as written for RUN
    let k = second("RUN <<-'EOT' bash\n\tcat $X\n\tEOT\n");
    let InstructionKind::Run {
        command, heredocs, ..
    } = k
    else {
        panic!("{k:?}")
    };
    assert_eq!(command, shell("<<-'EOT' bash"));
    assert_eq!(heredocs, [heredoc("EOT", "\tcat $X\n", false, true)]);
    assert_eq!(heredocs[0].chomped(), "cat $X\n");

    // several heredocs, read in order; a delimiter of the other one is body
    assert_eq!(
        second("RUN --mount=type=cache,target=/c <<A cat - <<\"B\"\nB\nA\nA\nB\n"),
        InstructionKind::Run {
            command: shell("<<A cat - <<\"B\""),
            heredocs: vec![
                heredoc("A", "B\n", true, false),
                heredoc("B", "A\n", false, false)
            ],
            flags: vec![("mount".into(), "type=cache,target=/c".into())],
        }
    );

    // COPY writes files named after the delimiter, tabs stripped for <<-
    assert_eq!(
        second("COPY <<one <<-two /dst/\n1\none\n\t2\ntwo\n"),
        InstructionKind::Copy(CopySpec {
            heredocs: vec![
                heredoc("one", "1\n", true, false),
                heredoc("two", "2\n", true, true)
            ],
            ..copy(&[], "/dst/")
        })
    );
    // JSON form and other instructions have no heredocs
    assert_eq!(
        second(r#"RUN ["<<EOF"]"#),
        InstructionKind::Run {
            command: exec(&["<<EOF"]),
            heredocs: vec![],
            flags: vec![]
        }
    );
    // USER reads no heredoc: the delimiter line is the next instruction
    assert_eq!(
        err("FROM a\nUSER <<X\nX\n"),
        "dockerfile parse error line 3: unknown instruction: X"
    );
    assert_eq!(
        err("FROM a\nRUN <<EOF\nx\n"),
        "failed to parse Dockerfile: unterminated heredoc"
    );
    assert_eq!(
        err("FROM a\nCOPY a <<EOF\nx\nEOF\n"),
        "dockerfile parse error line 2: COPY cannot accept a heredoc as a destination"
    );
}

#[test]
fn onbuild() {
    let k = second("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    let InstructionKind::Onbuild(trigger) = k else {
        panic!("{k:?}")
    };
    assert_eq!(
        *trigger,
        Instruction {
            line: 2,
            original: "RUN <<EOF\necho hi\nEOF".into(),
            kind: InstructionKind::Run {
                command: shell("<<EOF"),
                heredocs: vec![heredoc("EOF", "echo hi\n", true, false)],
                flags: vec![]
            },
        }
    );
    let k = second("onbuild   COPY a /b  ");
    let InstructionKind::Onbuild(trigger) = k else {
        panic!("{k:?}")
    };
    assert_eq!(trigger.original, "COPY a /b  ");
    assert_eq!(trigger.kind, InstructionKind::Copy(copy(&["a"], "/b")));
    assert_eq!(
        err("FROM a\nONBUILD"),
        "dockerfile parse error line 2: ONBUILD requires at least one argument"
    );
    // stricter than Docker, which accepts these until the image is used
    assert_eq!(
        err("FROM a\nONBUILD FOO bar"),
        "dockerfile parse error line 2: unknown instruction: FOO"
    );
    assert_eq!(
        err("FROM a\nONBUILD COPY a"),
        "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    );

    let t = parse_trigger("RUN echo hi").unwrap();
    assert_eq!(
        t[0].kind,
        InstructionKind::Run {
            command: shell("echo hi"),
            heredocs: vec![],
            flags: vec![]
        }
    );
    assert_eq!(
        parse_trigger("FROM x").unwrap_err().to_string(),
        "dockerfile parse error line 1: FROM isn't allowed as an ONBUILD trigger"
    );
}

#[test]
fn healthcheck() {
    assert_eq!(
        second("HEALTHCHECK NONE"),
        InstructionKind::Healthcheck(Healthcheck::None)
    );
    assert_eq!(
        second("healthcheck none"),
        InstructionKind::Healthcheck(Healthcheck::None)
    );
    assert_eq!(
        second("HEALTHCHECK --interval=5s --timeout=3s --start-period=1m30s --retries=3 CMD [\"true\"]"),
        InstructionKind::Healthcheck(Healthcheck::Check {
            test: exec(&["true"]),
            interval: Some(Duration::from_secs(5)),
            timeout: Some(Duration::from_secs(3)),
            start_period: Some(Duration::from_secs(90)),
            retries: Some(3),
        })
    );
    assert_eq!(
        second("HEALTHCHECK cmd curl -f http://x/ || exit 1"),
        InstructionKind::Healthcheck(Healthcheck::Check {
            test: shell("curl -f http://x/ || exit 1"),
            interval: None,
            timeout: None,
            start_period: None,
            retries: None,
        })
    );
    assert_eq!(
        err("FROM a\nHEALTHCHECK"),
        "dockerfile parse error line 2: HEALTHCHECK requires at least one argument"
    );
    assert_eq!(
        err("FROM a\nHEALTHCHECK CMD []"),
        "dockerfile parse error line 2: Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        err("FROM a\nHEALTHCHECK --retries=99999999999 CMD x"),
        "dockerfile parse error line 2: strconv.ParseInt: parsing \"99999999999\": value out of range"
    );
    assert_eq!(
        err("FROM a\nHEALTHCHECK --timeout=-1s CMD x"),
        "dockerfile parse error line 2: Interval \"timeout\" cannot be less than 1ms"
    );
}

#[test]
fn single_argument_instructions() {
    assert_eq!(second("USER  a b "), InstructionKind::User("a b".into()));
    assert_eq!(
        second("STOPSIGNAL SIGTERM"),
        InstructionKind::Stopsignal("SIGTERM".into())
    );
    assert_eq!(
        second("MAINTAINER Jane <j@x>"),
        InstructionKind::Maintainer("Jane <j@x>".into())
    );
    assert_eq!(
        second("WORKDIR a b"),
        InstructionKind::Workdir("a b".into())
    );
    assert_eq!(
        err("FROM a\nUSER"),
        "dockerfile parse error line 2: USER requires exactly one argument"
    );
    assert_eq!(
        err("FROM a\nMAINTAINER"),
        "dockerfile parse error line 2: MAINTAINER requires exactly one argument"
    );
}

#[test]
fn expose_and_volume() {
    assert_eq!(
        second("EXPOSE 8080 443 80/udp"),
        InstructionKind::Expose(vec!["443".into(), "80/udp".into(), "8080".into()])
    );
    assert_eq!(
        second("VOLUME /a /b"),
        InstructionKind::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        second("VOLUME [\" /a \"]"),
        InstructionKind::Volume(vec!["/a".into()])
    );
    assert_eq!(
        err("FROM a\nVOLUME"),
        "dockerfile parse error line 2: VOLUME requires at least one argument"
    );
}

#[test]
fn from_forms() {
    assert_eq!(
        kinds("FROM --platform=$BUILDPLATFORM golang:1.22 AS build-env.1")[0],
        InstructionKind::From {
            image: "golang:1.22".into(),
            alias: Some("build-env.1".into()),
            platform: Some("$BUILDPLATFORM".into())
        }
    );
    assert_eq!(
        err("FROM"),
        "dockerfile parse error line 1: FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM a b c"),
        "dockerfile parse error line 1: FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM a AS b_$"),
        "dockerfile parse error line 1: invalid name for build stage: \"b_$\", name can't start with a number or contain symbols"
    );
}

#[test]
fn stage_rule() {
    assert_eq!(kinds("ARG V=1\nFROM a:$V").len(), 2);
    assert_eq!(
        parse("ARG A\nRUN x").unwrap_err(),
        ParseError::NoBuildStage { line: 2 }
    );
    assert_eq!(
        err(""),
        "failed to parse Dockerfile: file with no instructions"
    );
    assert_eq!(
        err("# only\n\n  \n"),
        "failed to parse Dockerfile: file with no instructions"
    );
}

#[test]
fn long_lines() {
    let ok = format!("FROM a\nRUN {}\n", "x".repeat(65535 - 4));
    assert!(parse(&ok).is_ok());
    let long = format!("FROM a\nRUN {}\n", "x".repeat(65536 - 4));
    assert_eq!(
        err(&long),
        "failed to parse Dockerfile: dockerfile line greater than max allowed size of 65535"
    );
}

#[test]
fn errors_know_their_line() {
    assert_eq!(parse("FROM a\n\nFOO").unwrap_err().line(), Some(3));
    assert_eq!(parse("").unwrap_err().line(), None);
}
