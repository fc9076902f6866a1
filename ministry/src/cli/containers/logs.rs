//! `logs` (and how a log line is printed) and `wait`.

use std::io::Write;

use anyhow::Result;
use ministry::Engine;

use crate::cli::args::{LogsArgs, WaitArgs};

/// How `logs` prints a line: `-t` puts its time first, `--details` its extra attributes
/// (none are recorded: Docker then prints an empty field, a leading space).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LineStyle {
    timestamps: bool,
    details: bool,
}

/// Prints one log line on the stream it came from.
pub(super) fn emit_log_line(l: &libruntime::logs::LogLine, style: LineStyle) {
    let mut text = String::new();
    if style.timestamps {
        text.push_str(&l.time);
        text.push(' ');
    }
    if style.details {
        text.push(' ');
    }
    text.push_str(&l.log);
    if l.stream == "stderr" {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
        let _ = std::io::stdout().flush();
    }
}

/// `logs`.
pub fn logs(engine: &Engine, a: &LogsArgs) -> Result<()> {
    let c = engine.container(&a.container)?;
    // Docker's daemon reads a --tail it cannot parse as "all".
    let tail = a.tail.parse::<usize>().ok();
    let now = std::time::SystemTime::now();
    let when = |flag: &str, v: Option<&str>| {
        v.map(|s| {
            crate::cli::events::parse_timestamp(s, now).map_err(|e| {
                crate::cli::ClientError::error(format!("invalid value for {flag:?}: {e}"), 1)
            })
        })
        .transpose()
    };
    let window = (
        when("since", a.since.as_deref())?,
        when("until", a.until.as_deref())?,
    );
    let style = LineStyle {
        timestamps: a.timestamps,
        details: a.details,
    };
    let lines = engine.logs(
        &c.id,
        ministry::LogOptions {
            follow: a.follow,
            since: window.0,
            until: window.1,
            tail,
        },
    )?;
    for l in lines {
        emit_log_line(&l?, style);
    }
    Ok(())
}

/// `wait`: prints each exit code.
pub fn wait(engine: &Engine, a: &WaitArgs) -> Result<bool> {
    // The codes as they come, the refusals after them (as Docker's CLI prints them).
    let mut errors = Vec::new();
    for n in &a.containers {
        match engine.wait_next_exit(n) {
            Ok(code) => println!("{code}"),
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        eprintln!("Error response from daemon: {e}");
    }
    Ok(errors.is_empty())
}
