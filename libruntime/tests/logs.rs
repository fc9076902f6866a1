//! The monitor logs a container's output in Docker's json-file format.

mod common;

use common::*;
use libruntime::logs::{read_log, LogConfig};

#[test]
fn output_is_logged_as_json_lines_per_stream() {
    let f = Fixture::new();
    let path = f.tmp.path().join("c-json.log");
    let mut opts = f.opts(Default::default());
    opts.log = Some(LogConfig {
        path: path.clone(),
        max_size: None,
        max_files: 1,
        forward: false,
    });
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
