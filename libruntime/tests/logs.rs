//! The monitor logs a container's output in Docker's json-file format.

mod common;

use common::*;
use libruntime::logs::{read_log, LogConfig};

/// Create options that log to `name` in the test's directory (no rotation).
fn logged(f: &Fixture, name: &str) -> (libruntime::CreateOptions, std::path::PathBuf) {
    let path = f.tmp.path().join(name);
    let mut opts = f.opts(Default::default());
    opts.log = Some(LogConfig {
        path: path.clone(),
        max_size: None,
        max_files: 1,
        forward: false,
    });
    (opts, path)
}

#[test]
fn output_is_logged_as_json_lines_per_stream() {
    let f = Fixture::new();
    let (opts, path) = logged(&f, "c-json.log");
    let c =
        f.rt.create(
            "logged",
            &f.spec(
                "echo out1; echo err1 >&2; printf 'par'; sleep 0.1; printf 'tial\\nno-newline'",
            ),
            opts,
        )
        .unwrap();
    c.start().unwrap();
    assert_eq!(c.wait().unwrap(), 0);
    c.delete(false).unwrap();
    let lines = read_log(&path, 1);
    let got: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l.stream.as_str(), l.log.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("stdout", "out1\n"),
            ("stderr", "err1\n"),
            ("stdout", "partial\n"),
            ("stdout", "no-newline")
        ]
    );
    assert!(
        lines
            .iter()
            .all(|l| l.time.ends_with('Z') && l.time.len() == 30),
        "{:?}",
        lines[0].time
    );
}

/// A terminal's window size follows `resize` (the attach socket's `w` records); the
/// program gets SIGWINCH.
#[test]
fn resize_sets_the_terminal_size_and_signals_the_program() {
    let f = Fixture::new();
    let (opts, path) = logged(&f, "tty-json.log");
    let mut spec =
        f.spec("trap 'echo size $(stty size)' WINCH; echo ready; while true; do sleep 0.05; done");
    let mut p = spec.process().clone().unwrap();
    p.set_terminal(Some(true));
    spec.set_process(Some(p));
    let c = f.rt.create("tty-resize", &spec, opts).unwrap();
    c.start().unwrap();
    let text = || {
        read_log(&path, 1)
            .iter()
            .map(|l| l.log.clone())
            .collect::<String>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text().contains("ready") {
        assert!(std::time::Instant::now() < deadline, "{}", text());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    c.resize(42, 123).unwrap();
    while !text().contains("size 42 123") {
        assert!(std::time::Instant::now() < deadline, "{}", text());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    c.kill(libc::SIGKILL).unwrap();
    c.wait().unwrap();
    c.delete(false).unwrap();
}
