//! The Dockerfile parser (`libimage::dockerfile`): `cargo test -p libimage dockerfile`.

mod dockerfile {
    /// Each behaviour of the parser: directives, continuations, forms, flags, heredocs.
    #[path = "parse.rs"]
    mod parse;
    /// The shell lexer and which instruction fields are substituted.
    #[path = "shell.rs"]
    mod shell;
    /// Cases checked against a real Docker 20.10 daemon.
    #[path = "vs_docker.rs"]
    mod vs_docker;
}
