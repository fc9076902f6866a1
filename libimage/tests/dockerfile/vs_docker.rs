//! Dockerfiles whose parse was checked against a real Docker 20.10.24 daemon (classic
//! builder: `DOCKER_BUILDKIT=0 docker build`): the error text after `Error response from
//! daemon: `, the text after `Step N/M : `, and (through `docker inspect`) the values the
//! build produced. Each case below was run there; the expected strings are Docker's.
//!
//! Where ministry follows later BuildKit instead (heredocs, `COPY --link`, `ADD
//! --checksum`, `RUN --network`, `${VAR-x}` and friends), 20.10 fails differently; those
//! are not listed here.

use libimage::dockerfile::{parse, InstructionKind, ShellLex};

/// Dockerfiles Docker 20.10 refuses before running any step, and its message.
const REFUSED: &[(&str, &str)] = &[
    ("FROM busybox\nRUN echo hi\nFOO bar\n", "dockerfile parse error line 3: unknown instruction: FOO"),
    ("FROM busybox\nFoo bar\n", "dockerfile parse error line 2: unknown instruction: FOO"),
    ("FOO\nFROM busybox\n", "dockerfile parse error line 1: unknown instruction: FOO"),
    ("FROM busybox a b c\n", "dockerfile parse error line 1: FROM requires either one or three arguments"),
    ("FROM busybox AS a b\n", "dockerfile parse error line 1: FROM requires either one or three arguments"),
    ("FROM\n", "dockerfile parse error line 1: FROM requires either one or three arguments"),
    (
        "FROM busybox AS 1abc\n",
        "dockerfile parse error line 1: invalid name for build stage: \"1abc\", name can't start with a number or contain symbols",
    ),
    ("# escape=`\n# ESCAPE=\\\nFROM busybox\n", "failed to parse Dockerfile: only one escape parser directive can be used"),
    ("#escape = x\nFROM busybox\n", "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\"),
    (
        "FROM busybox\nENV A=b c\n",
        "failed to parse Dockerfile: Syntax error - can't find = in \"c\". Must be of the form: name=value",
    ),
    ("FROM busybox\nENV A\n", "failed to parse Dockerfile: ENV must have two arguments"),
    ("FROM busybox\nONBUILD ENV A\n", "failed to parse Dockerfile: ENV must have two arguments"),
    (
        "FROM busybox\nENV A=${B:?is required}\n",
        "failed to parse Dockerfile: Syntax error - can't find = in \"required}\". Must be of the form: name=value",
    ),
    ("FROM busybox\nLABEL\n", "dockerfile parse error line 2: LABEL requires at least one argument"),
    ("FROM busybox\nENV =x\n", "dockerfile parse error line 2: ENV names can not be blank"),
    ("FROM busybox\nCOPY --foo=bar a.txt /x\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM busybox\nENV --foo=bar A=b\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM busybox\nMAINTAINER --foo=bar me\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM busybox\nWORKDIR --foo=bar /x\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM busybox\nONBUILD --foo RUN x\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM busybox\nRUN --foo echo hi\n", "dockerfile parse error line 2: Unknown flag: foo"),
    ("FROM --foo=bar busybox\n", "dockerfile parse error line 1: Unknown flag: foo"),
    ("FROM busybox\nHEALTHCHECK --start-interval=1s CMD true\n", "dockerfile parse error line 2: Unknown flag: start-interval"),
    ("FROM busybox\nCOPY --chown a.txt /x\n", "dockerfile parse error line 2: Missing a value on flag: chown"),
    ("FROM busybox\nCOPY --chown=1 --from a.txt /x\n", "dockerfile parse error line 2: Missing a value on flag: from"),
    ("FROM busybox\nRUN --mount echo hi\n", "dockerfile parse error line 2: Missing a value on flag: mount"),
    ("FROM busybox\nCOPY --chown=1 --chown=2 a.txt /x\n", "dockerfile parse error line 2: Duplicate flag specified: chown"),
    (
        "FROM busybox\nCOPY a.txt\n",
        "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined",
    ),
    (
        "FROM busybox\nCOPY \\\n  a.txt\n",
        "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined",
    ),
    ("FROM busybox\nONBUILD ONBUILD RUN x\n", "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM busybox\nonbuild from x\n", "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM busybox\nONBUILD MAINTAINER x\n", "dockerfile parse error line 2: MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM busybox\nONBUILD\n", "dockerfile parse error line 2: ONBUILD requires at least one argument"),
    ("FROM busybox\nHEALTHCHECK FOO true\n", "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)"),
    ("FROM busybox\nHEALTHCHECK NONE x\n", "dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments"),
    ("FROM busybox\nHEALTHCHECK CMD\n", "dockerfile parse error line 2: Missing command after HEALTHCHECK CMD"),
    ("FROM busybox\nHEALTHCHECK --retries=-1 CMD true\n", "dockerfile parse error line 2: --retries must be at least 1 (not -1)"),
    ("FROM busybox\nHEALTHCHECK --retries=0 CMD true\n", "dockerfile parse error line 2: --retries must be at least 1 (not 0)"),
    (
        "FROM busybox\nHEALTHCHECK --retries=abc CMD true\n",
        "dockerfile parse error line 2: strconv.ParseInt: parsing \"abc\": invalid syntax",
    ),
    ("FROM busybox\nHEALTHCHECK --interval=abc CMD true\n", "dockerfile parse error line 2: time: invalid duration \"abc\""),
    ("FROM busybox\nHEALTHCHECK --interval=1 CMD true\n", "dockerfile parse error line 2: time: missing unit in duration \"1\""),
    (
        "FROM busybox\nHEALTHCHECK --timeout=5x CMD true\n",
        "dockerfile parse error line 2: time: unknown unit \"x\" in duration \"5x\"",
    ),
    (
        "FROM busybox\nRUN echo \\\n   hi\nHEALTHCHECK --interval=1x \\\n  CMD true\n",
        "dockerfile parse error line 4: time: unknown unit \"x\" in duration \"1x\"",
    ),
    (
        "FROM busybox\nHEALTHCHECK --interval=500us CMD true\n",
        "dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms",
    ),
    (
        "FROM busybox\nHEALTHCHECK --interval=0s CMD true\n",
        "dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms",
    ),
    ("# just a comment\n\n", "failed to parse Dockerfile: file with no instructions"),
    ("FROM busybox\nSHELL /bin/sh -c\n", "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form"),
    ("FROM busybox\nSHELL []\n", "dockerfile parse error line 2: SHELL requires at least one argument"),
    (
        "FROM busybox\nCMD [\"a\", 1]\n",
        "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only",
    ),
    ("FROM busybox\nUSER\n", "dockerfile parse error line 2: USER requires exactly one argument"),
    ("FROM busybox\nWORKDIR\n", "dockerfile parse error line 2: WORKDIR requires exactly one argument"),
    ("FROM busybox\nSTOPSIGNAL\n", "dockerfile parse error line 2: STOPSIGNAL requires exactly one argument"),
    ("FROM busybox\nEXPOSE\n", "dockerfile parse error line 2: EXPOSE requires at least one argument"),
    ("FROM busybox\nARG =x\n", "dockerfile parse error line 2: ARG names can not be blank"),
    ("FROM busybox\nVOLUME [\"\"]\n", "dockerfile parse error line 2: VOLUME specified can not be an empty string"),
    ("RUN echo hi\n", "no build stage in current context"),
    ("ARG A=1\nRUN echo hi\n", "no build stage in current context"),
    ("# escape= \nFROM busybox\n", "failed to parse Dockerfile: invalid escape token ' ' does not match ` or \\"),
    (
        "FROM busybox\nVOLUME [\"/a\", 1]\n",
        "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only",
    ),
    // not valid JSON (`\w`), and no hint about Windows paths on Linux
    (
        "FROM busybox\nSHELL [\"c:\\windows\\cmd.exe\", \"/S\"]\n",
        "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form",
    ),
];

#[test]
fn refused_as_docker_refuses() {
    for (text, message) in REFUSED {
        match parse(text) {
            Ok(f) => panic!("{text:?} parsed: {f:?}"),
            Err(e) => assert_eq!(e.to_string(), *message, "{text:?}"),
        }
    }
}

#[test]
fn lines_too_long_for_docker() {
    // a 65535-byte line builds, a 65536-byte one (with or without a newline) does not
    let line = |n: usize| format!("FROM busybox\nRUN echo {}", "a".repeat(n - 9));
    assert!(parse(&(line(65535) + "\n")).is_ok());
    for text in [line(65536) + "\n", line(65536)] {
        assert_eq!(
            parse(&text).unwrap_err().to_string(),
            "failed to parse Dockerfile: dockerfile line greater than max allowed size of 65535"
        );
    }
}

/// Dockerfiles Docker 20.10 builds, and the `Step N/M : ...` texts it prints.
const STEPS: &[(&str, &[&str])] = &[
    ("FROM busybox\nRUN echo a \\\n  b\\\\\nRUN echo c\n", &["FROM busybox", "RUN echo a   b\\\\", "RUN echo c"]),
    (
        "FROM busybox\nRUN echo a \\\n# comment inside\n   # indented comment\n\n  b\nRUN echo \"c  d\"   \n",
        &["FROM busybox", "RUN echo a   b", "RUN echo \"c  d\""],
    ),
    ("# escape=`\nFROM busybox\nRUN echo a `\n  b\\c\n", &["FROM busybox", "RUN echo a   b\\c"]),
    // a directive after a comment, or after a blank line, is a comment
    ("# hello\n# escape=`\nFROM busybox\nRUN echo a \\\n  b\n", &["FROM busybox", "RUN echo a   b"]),
    ("\n# escape=`\nFROM busybox\nRUN echo a \\\n  b\n", &["FROM busybox", "RUN echo a   b"]),
    ("#   ESCAPE   =   `   \nFROM busybox\nRUN echo a `\n  b\n", &["FROM busybox", "RUN echo a   b"]),
    ("FROM busybox\nRUN echo a \\  \t\n  b\r\nRUN echo c\r\n", &["FROM busybox", "RUN echo a   b", "RUN echo c"]),
    ("\\\nFROM busybox\nRUN echo ok\n", &["FROM busybox", "RUN echo ok"]),
    ("FROM busybox\nRUN echo a \\\n# trailing comment\n", &["FROM busybox", "RUN echo a"]),
    ("FROM busybox\nRUN echo a \\\n", &["FROM busybox", "RUN echo a"]),
    ("FROM busybox\nRUN echo a # not a comment\n  # comment\nRUN echo b\n", &["FROM busybox", "RUN echo a # not a comment", "RUN echo b"]),
    ("from busybox\nRun echo hi\neNv A=b\n", &["from busybox", "Run echo hi", "eNv A=b"]),
    ("FROM busybox as Foo\nRUN echo hi\nFROM foo\n", &["FROM busybox as Foo", "RUN echo hi", "FROM foo"]),
    ("ARG IMG=busybox\nFROM ${IMG}\nARG IMG\n", &["ARG IMG=busybox", "FROM ${IMG}", "ARG IMG"]),
    // accepted as Docker accepts them
    ("FROM busybox\nWORKDIR a b\n", &["FROM busybox", "WORKDIR a b"]),
    ("FROM busybox\nHEALTHCHECK --foo NONE\n", &["FROM busybox", "HEALTHCHECK --foo NONE"]),
    ("FROM busybox\nARG --foo=bar x\n", &["FROM busybox", "ARG --foo=bar x"]),
    ("FROM busybox\nSTOPSIGNAL --foo=x SIGTERM\n", &["FROM busybox", "STOPSIGNAL --foo=x SIGTERM"]),
    ("FROM busybox\nMAINTAINER a b c\nSTOPSIGNAL SIG TERM\n", &["FROM busybox", "MAINTAINER a b c", "STOPSIGNAL SIG TERM"]),
    ("FROM busybox\nCMD\n", &["FROM busybox", "CMD"]),
    ("FROM busybox\nCOPY -- a.txt /x\n", &["FROM busybox", "COPY -- a.txt /x"]),
    // three escapes: the last is escaped, the line ends (echo printed `a \\`)
    ("FROM busybox\nRUN echo a \\\\\\\nRUN echo b\n", &["FROM busybox", "RUN echo a \\\\\\", "RUN echo b"]),
    ("FROM busybox AS b.c-d_e\n", &["FROM busybox AS b.c-d_e"]),
    ("# syntax=docker/dockerfile:1.2\n# escape=`\nFROM busybox\nRUN echo a `\n b\n", &["FROM busybox", "RUN echo a  b"]),
    ("FROM busybox\nENV A=1 \\\n   # comment\n  B=2\n", &["FROM busybox", "ENV A=1   B=2"]),
    ("FROM busybox\nHEALTHCHECK --interval=1.5h --retries=+3 CMD [\"true\"]\n", &["FROM busybox", "HEALTHCHECK --interval=1.5h --retries=+3 CMD [\"true\"]"]),
];

#[test]
fn steps_print_as_docker_prints_them() {
    for (text, steps) in STEPS {
        let f = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let originals: Vec<&str> = f.instructions.iter().map(|i| i.original.as_str()).collect();
        assert_eq!(originals, *steps, "{text:?}");
    }
}

#[test]
fn empty_continuation_warning() {
    let f = parse("FROM busybox\nRUN echo a \\\n\n  b\nEXPOSE 80 \\\n\n  443\n").unwrap();
    assert_eq!(
        f.warnings.join("\n"),
        "[WARNING]: Empty continuation line found in:\n    RUN echo a   b\n\
         [WARNING]: Empty continuation line found in:\n    EXPOSE 80   443\n\
         [WARNING]: Empty continuation lines will become errors in a future release."
    );
}

#[test]
fn flags_are_read_byte_by_byte() {
    // COPY --chown=é failed with "can't find uid for user Ã©"
    let f = parse("FROM busybox\nCOPY --chown=\u{e9} a.txt /x\n").unwrap();
    let InstructionKind::Copy(spec) = &f.instructions[1].kind else {
        panic!()
    };
    assert_eq!(spec.chown.as_deref(), Some("\u{c3}\u{a9}"));
}

/// Builds `text` step by step with a toy environment (ENV and ARG values only), returning
/// each instruction after substitution.
fn build(text: &str) -> Vec<InstructionKind> {
    let f = parse(text).unwrap();
    let lex = ShellLex::new(f.escape);
    let mut env: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for i in &f.instructions {
        let lookup = |n: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        let step = i.expand(&lex, &lookup).unwrap();
        match &step.kind {
            InstructionKind::Env(p) => env.extend(p.iter().cloned()),
            InstructionKind::Arg(a) => {
                env.extend(a.iter().filter_map(|(k, v)| Some((k.clone(), v.clone()?))))
            }
            _ => {}
        }
        out.push(step.kind);
    }
    out
}

#[test]
fn values_as_docker_builds_them() {
    let s = |x: &str| x.to_string();
    // `echo "[$A][$B][$C][$D]"` printed [b c  d][x y][z w][q]
    let k = build("FROM busybox\nENV A b c  d\nENV B=\"x y\" C=z\\ w D='q'\n");
    assert_eq!(k[1], InstructionKind::Env(vec![(s("A"), s("b c  d"))]));
    assert_eq!(
        k[2],
        InstructionKind::Env(vec![
            (s("B"), s("x y")),
            (s("C"), s("z w")),
            (s("D"), s("q"))
        ])
    );
    // [a"b][c\d][e"f][x y]
    let k = build("FROM busybox\nENV A=\"a\\\"b\" B='c\\d' C=e\\\"f D=x\\ y\n");
    assert_eq!(
        k[1],
        InstructionKind::Env(vec![
            (s("A"), s("a\"b")),
            (s("B"), s("c\\d")),
            (s("C"), s("e\"f")),
            (s("D"), s("x y"))
        ])
    );
    // [b=c][=] and [b  c]
    assert_eq!(
        build("FROM busybox\nENV A=b=c D==\n")[1],
        InstructionKind::Env(vec![(s("A"), s("b=c")), (s("D"), s("="))])
    );
    assert_eq!(
        build("FROM busybox\nENV A \"b  c\" \n")[1],
        InstructionKind::Env(vec![(s("A"), s("b  c"))])
    );
    // ARG A=a\ b: [a b]; ENV A=1 \ # comment B=2: [1][2]; LABEL a b c: a="b c"
    assert_eq!(
        build("FROM busybox\nARG A=a\\ b\n")[1],
        InstructionKind::Arg(vec![(s("A"), Some(s("a b")))])
    );
    assert_eq!(
        build("FROM busybox\nENV A=1 \\\n   # comment\n  B=2\n")[1],
        InstructionKind::Env(vec![(s("A"), s("1")), (s("B"), s("2"))])
    );
    assert_eq!(
        build("FROM busybox\nLABEL a b c\n")[1],
        InstructionKind::Label(vec![(s("a"), s("b c"))])
    );
    // ARG A B=c D="e f" G=  then echo "[$A][$B][$D][$G]" printed [][c][e f][]
    assert_eq!(
        build("FROM busybox\nARG A B=c D=\"e f\" G=\n")[1],
        InstructionKind::Arg(vec![
            (s("A"), None),
            (s("B"), Some(s("c"))),
            (s("D"), Some(s("e f"))),
            (s("G"), Some(s("")))
        ])
    );
    // docker inspect: Labels {"a b":"c","d":"e f","g":"h $X"}, Env A=2 B=1,
    // ExposedPorts 22 443 80, OnBuild ["RUN echo hi  "], WorkingDir /w/1/2,
    // Healthcheck CMD-SHELL `echo  "x"` every 5s
    let k = build(
        "FROM busybox\nLABEL \"a b\"=c d=e\\ f g='h $X'\nENV A=1\nENV A=2 B=$A\nARG P=\"80 443\"\nEXPOSE $P 22\n\
         ONBUILD   RUN echo hi  \nHEALTHCHECK --interval=5s CMD echo  \"x\"\nWORKDIR /w/${B:-zz}/$A\n",
    );
    assert_eq!(
        k[1],
        InstructionKind::Label(vec![
            (s("a b"), s("c")),
            (s("d"), s("e f")),
            (s("g"), s("h $X"))
        ])
    );
    assert_eq!(
        k[3],
        InstructionKind::Env(vec![(s("A"), s("2")), (s("B"), s("1"))])
    );
    assert_eq!(
        k[5],
        InstructionKind::Expose(vec![s("80"), s("443"), s("22")])
    );
    let InstructionKind::Onbuild(trigger) = &k[6] else {
        panic!("{:?}", k[6])
    };
    assert_eq!(trigger.original, "RUN echo hi  ");
    let InstructionKind::Healthcheck(libimage::dockerfile::Healthcheck::Check {
        test,
        interval,
        ..
    }) = &k[7]
    else {
        panic!("{:?}", k[7])
    };
    assert_eq!(
        *test,
        libimage::dockerfile::Command::Shell(s("echo  \"x\""))
    );
    assert_eq!(*interval, Some(std::time::Duration::from_secs(5)));
    assert_eq!(k[8], InstructionKind::Workdir(s("/w/1/2")));
    // ONBUILD RUN echo a \ + b is stored as "RUN echo a   b"
    let k = build("FROM busybox\nONBUILD RUN echo a \\\n  b\n");
    let InstructionKind::Onbuild(trigger) = &k[1] else {
        panic!("{:?}", k[1])
    };
    assert_eq!(trigger.original, "RUN echo a   b");
}

#[test]
fn exec_form_as_docker_runs_it() {
    use libimage::dockerfile::Command;
    let run = |text: &str| match &parse(text).unwrap().instructions[1].kind {
        InstructionKind::Run { command, .. } => command.clone(),
        k => panic!("{k:?}"),
    };
    // printed `A😀 x/y`: JSON escapes decoded
    assert_eq!(
        run("FROM busybox\nRUN [\"echo\", \"\\u0041\\ud83d\\ude00\", \"x\\/y\"]\n"),
        Command::Exec(vec!["echo".into(), "A😀".into(), "x/y".into()])
    );
    // printed `a`: trailing text after the array makes it the shell form: sh -c '["echo", "a"] x'
    assert_eq!(
        run("FROM busybox\nRUN [\"echo\", \"a\"] x\n"),
        Command::Shell("[\"echo\", \"a\"] x".into())
    );
    // failed with `sh: b: unknown operand`: not JSON, so the shell ran `[`
    assert_eq!(
        run("FROM busybox\nRUN [ \"echo\", 'b' ]\n"),
        Command::Shell("[ \"echo\", 'b' ]".into())
    );
    // `/bin/sh -c` with no argument: "-c requires an argument"
    assert_eq!(run("FROM busybox\nRUN\n"), Command::Shell(String::new()));
}

#[test]
fn substitution_errors_as_docker_reports_them() {
    // ENV A=${B?x}: failed to process "${B?x}": B: x
    let f = parse("FROM busybox\nENV A=${B?x}\n").unwrap();
    let e = f.instructions[1]
        .expand(&ShellLex::new('\\'), &|_| None)
        .unwrap_err();
    assert_eq!(e.to_string(), "failed to process \"${B?x}\": B: x");
}
