//! Docker's shell lexer (variable substitution, quotes, escapes, words) and which fields
//! of which instructions it is applied to.

use libimage::dockerfile::{parse, CopySpec, Heredoc, InstructionKind, ParseError, ShellLex};

fn env(name: &str) -> Option<String> {
    match name {
        "PWD" => Some("/home".into()),
        "SHELL" => Some("bash".into()),
        "KOREAN" => Some("한국어".into()),
        "NULL" => Some(String::new()),
        "WORDS" => Some("a  b\tc".into()),
        "FILE" => Some("hello.tar.gz".into()),
        "PATHS" => Some("/tmp/tmp/bar.txt".into()),
        _ => None,
    }
}

fn word(w: &str) -> String {
    ShellLex::new('\\')
        .process_word(w, &env)
        .unwrap_or_else(|e| panic!("{w:?}: {e}"))
}

fn words(w: &str) -> Vec<String> {
    ShellLex::new('\\').process_words(w, &env).unwrap()
}

fn error(w: &str) -> String {
    ShellLex::new('\\')
        .process_word(w, &env)
        .unwrap_err()
        .to_string()
}

#[test]
fn variables() {
    assert_eq!(word("$PWD"), "/home");
    assert_eq!(word("${PWD}x"), "/homex");
    assert_eq!(word("$PWDx"), "");
    assert_eq!(word("${KOREAN}"), "한국어");
    assert_eq!(word("$"), "$");
    assert_eq!(word("a$ b"), "a$ b");
    assert_eq!(word("$1x"), "x");
    assert_eq!(word("$@x"), "x");
    assert_eq!(word("\\$PWD"), "$PWD");
}

#[test]
fn modifiers() {
    assert_eq!(word("${PWD:-x}"), "/home");
    assert_eq!(word("${NULL:-x}"), "x");
    assert_eq!(word("${NULL-x}"), "");
    assert_eq!(word("${NOPE-x}"), "x");
    assert_eq!(word("${NOPE:-$PWD}"), "/home");
    assert_eq!(word("${PWD:+x}"), "x");
    assert_eq!(word("${NULL:+x}"), "");
    assert_eq!(word("${NULL+x}"), "x");
    assert_eq!(word("${NOPE+x}"), "");
    assert_eq!(word("${NULL?x}"), "");
    assert_eq!(word("${PWD:?x}"), "/home");
    assert_eq!(word("${FILE%.*}"), "hello.tar");
    assert_eq!(word("${FILE%%.*}"), "hello");
    assert_eq!(word("${FILE#*.}"), "tar.gz");
    assert_eq!(word("${FILE##*.}"), "gz");
    assert_eq!(word("${PATHS/\\/tmp/}"), "/tmp/bar.txt");
    assert_eq!(word("${PATHS//\\/tmp/}"), "/bar.txt");
    assert_eq!(word("${PATHS//tmp/x}"), "/x/x/bar.txt");
}

#[test]
fn quotes_and_escapes() {
    assert_eq!(word(r#""a  $PWD" 'b  $PWD'"#), "a  /home b  $PWD");
    assert_eq!(word(r#""a\"b\$c\\d\e""#), "a\"b$c\\d\\e");
    assert_eq!(word(r"a\ b\\c\"), "a b\\c");
    assert_eq!(word("${NOPE:-\"x y\"}"), "x y");
    assert_eq!(
        ShellLex::new('`').process_word("a`$b\\c", &env).unwrap(),
        "a$b\\c"
    );
}

#[test]
fn word_splitting() {
    assert_eq!(words("a  b"), ["a", "b"]);
    assert_eq!(words("$WORDS d"), ["a", "b", "c", "d"]);
    assert_eq!(words("\"$WORDS\" d"), ["a  b\tc", "d"]);
    assert_eq!(words("'a b'c \\ d"), ["a bc", " d"]);
    assert_eq!(words("\"\" x"), ["x"]);
    assert_eq!(words(""), Vec::<String>::new());
}

#[test]
fn errors() {
    // BuildKit reads the end of input as the modifier U+FFFD (Docker 20.10 said
    // "missing ':' in substitution")
    assert_eq!(
        error("${PWD"),
        "failed to process \"${PWD\": unsupported modifier (\u{fffd}) in substitution"
    );
    assert_eq!(
        error("${"),
        "failed to process \"${\": syntax error: missing '}'"
    );
    assert_eq!(
        error("${}"),
        "failed to process \"${}\": syntax error: bad substitution"
    );
    assert_eq!(
        error("${:-x}"),
        "failed to process \"${:-x}\": syntax error: bad substitution"
    );
    assert_eq!(
        error("${PWD:=x}"),
        "failed to process \"${PWD:=x}\": unsupported modifier (:=) in substitution"
    );
    assert_eq!(
        error("${PWD=x}"),
        "failed to process \"${PWD=x}\": unsupported modifier (=) in substitution"
    );
    // verified on Docker 20.10 (ENV A=${B?x}, built): failed to process "${B?x}": B: x
    assert_eq!(error("${B?x}"), "failed to process \"${B?x}\": B: x");
    assert_eq!(
        error("${B?}"),
        "failed to process \"${B?}\": B: is not allowed to be unset"
    );
    assert_eq!(
        error("${NULL:?}"),
        "failed to process \"${NULL:?}\": NULL: is not allowed to be empty"
    );
    assert_eq!(
        error("${NULL:?must $PWD}"),
        "failed to process \"${NULL:?must $PWD}\": NULL: must /home"
    );
    assert_eq!(
        error("'a"),
        "failed to process \"'a\": unexpected end of statement while looking for matching single-quote"
    );
    assert_eq!(
        error("\"a"),
        "failed to process \"\\\"a\": unexpected end of statement while looking for matching double-quote"
    );
    assert_eq!(
        error("${PWD/x"),
        "failed to process \"${PWD/x\": syntax error: missing '/' in ${}"
    );
    assert_eq!(
        error("${PWD#\\x}"),
        "failed to process \"${PWD#\\\\x}\": invalid pattern (\\x) in substitution: invalid escape '\\x'"
    );
    let deep = "${A:-".repeat(1000) + &"}".repeat(1000);
    assert!(matches!(
        ShellLex::new('\\').process_word(&deep, &env),
        Err(ParseError::TooDeep { .. })
    ));
}

fn expanded(dockerfile: &str, vars: &[(&str, &str)]) -> Vec<InstructionKind> {
    let f = parse(dockerfile).unwrap();
    let lex = ShellLex::new(f.escape);
    let lookup = |n: &str| {
        vars.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    };
    f.instructions
        .iter()
        .map(|i| i.expand(&lex, &lookup).unwrap().kind)
        .collect()
}

#[test]
fn which_instructions_are_substituted() {
    let v = [("A", "x y"), ("P", "80 443"), ("U", "1000")];
    let text = "FROM img:$A AS Base\nENV $A=$A B=\"$A\"\nLABEL l=${A}\nARG $A=${A:-d}\nWORKDIR /w/$A\nUSER $U:$U\nSTOPSIGNAL $A\n\
         VOLUME $A /v\nEXPOSE $P 22\nRUN echo $A\nCMD echo $A\nENTRYPOINT [\"$A\"]\nMAINTAINER $A\n\
         HEALTHCHECK CMD $A\nSHELL [\"$A\"]\nONBUILD RUN $A\n";
    let k = expanded(text, &v);
    let s = |x: &str| x.to_string();
    assert_eq!(
        k[0],
        InstructionKind::From {
            image: s("img:x y"),
            alias: Some(s("base")),
            platform: None
        }
    );
    assert_eq!(
        k[1],
        InstructionKind::Env(vec![(s("x y"), s("x y")), (s("B"), s("x y"))])
    );
    assert_eq!(k[2], InstructionKind::Label(vec![(s("l"), s("x y"))]));
    assert_eq!(k[3], InstructionKind::Arg(vec![(s("x y"), Some(s("x y")))]));
    assert_eq!(k[4], InstructionKind::Workdir(s("/w/x y")));
    assert_eq!(k[5], InstructionKind::User(s("1000:1000")));
    assert_eq!(k[6], InstructionKind::Stopsignal(s("x y")));
    assert_eq!(k[7], InstructionKind::Volume(vec![s("x y"), s("/v")]));
    // sorted when parsed (`$P` before `22`), then split
    assert_eq!(
        k[8],
        InstructionKind::Expose(vec![s("80"), s("443"), s("22")])
    );
    // RUN, CMD, ENTRYPOINT, MAINTAINER, HEALTHCHECK, SHELL, ONBUILD: not substituted
    let raw: Vec<InstructionKind> = parse(text)
        .unwrap()
        .instructions
        .into_iter()
        .map(|i| i.kind)
        .collect();
    assert_eq!(raw[9..], k[9..]);
    assert_eq!(k.len(), 16);
}

#[test]
fn copy_substitution() {
    let k = expanded(
        "FROM a\nCOPY --from=$S --chown=$U:$U --chmod=$M $A '$A' /d/$A/\n\
         COPY <<f1 <<'f2' /dst/\n$A \"$A\" \\$A\nf1\n$A\nf2\n",
        &[("S", "stage"), ("U", "1"), ("M", "644"), ("A", "x")],
    );
    assert_eq!(
        k[1],
        InstructionKind::Copy(CopySpec {
            sources: vec!["x".into(), "$A".into()],
            dest: "/d/x/".into(),
            from: Some("$S".into()),
            chown: Some("1:1".into()),
            chmod: Some("644".into()),
            link: false,
            heredocs: vec![],
            json_form: false,
        })
    );
    let InstructionKind::Copy(spec) = &k[2] else {
        panic!("{:?}", k[2])
    };
    assert_eq!(
        spec.heredocs,
        [
            Heredoc {
                name: "f1".into(),
                content: "x \"x\" $A\n".into(),
                expand: true,
                chomp: false
            },
            Heredoc {
                name: "f2".into(),
                content: "$A\n".into(),
                expand: false,
                chomp: false
            },
        ]
    );
}

#[test]
fn run_mounts_are_substituted() {
    let k = expanded(
        "FROM a\nRUN --mount=target=$T --network=$N echo $T\n",
        &[("T", "/c"), ("N", "none")],
    );
    assert_eq!(
        k[1],
        InstructionKind::Run {
            command: libimage::dockerfile::Command::Shell("echo $T".into()),
            heredocs: vec![],
            flags: vec![
                ("mount".into(), "target=/c".into()),
                ("network".into(), "$N".into())
            ],
        }
    );
}

#[test]
fn expansion_errors_name_the_word() {
    let f = parse("FROM a\nWORKDIR ${X:?no workdir}\n").unwrap();
    let e = f.instructions[1]
        .expand(&ShellLex::new('\\'), &|_| None)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to process \"${X:?no workdir}\": X: no workdir"
    );
    assert_eq!(e.line(), None);
}
