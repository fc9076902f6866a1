//! The `ministry` command line: argument structs (`args`), Docker-style output (`output`),
//! and the handlers that call the engine.

pub mod args;
pub mod build;
pub mod containers;
pub mod events;
pub mod images;
pub mod networks;
pub mod output;
pub mod progress;
pub mod registry;
pub mod system;
pub mod template;
pub mod volumes;

/// An error the Docker CLI itself reports (a flag combination it refuses before asking
/// the daemon): printed without "Error response from daemon", with its own exit code.
#[derive(Debug)]
pub struct ClientError {
    /// Docker's text.
    pub message: String,
    /// Docker's exit code for it.
    pub code: i32,
}

impl ClientError {
    /// An error with Docker's text and exit code.
    pub fn error(message: impl Into<String>, code: i32) -> anyhow::Error {
        anyhow::Error::new(ClientError {
            message: message.into(),
            code,
        })
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClientError {}

/// The daemon-side message of an error: the innermost context the CLI added (if any),
/// then the engine's error with its causes, each once.
pub fn daemon_text(e: &anyhow::Error) -> String {
    // A context the CLI added is the outer message; the engine's error prints its chain.
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        if ministry::ErrorKind::of(c).is_some() {
            let t = ministry::error_text(c);
            if !parts.last().is_some_and(|p| p.ends_with(&t)) {
                parts.push(t);
            }
            break;
        }
        let t = match c.downcast_ref::<std::io::Error>() {
            Some(io) => ministry::os_error_text(io),
            None => c.to_string(),
        };
        if !parts.last().is_some_and(|p| p.ends_with(&t)) {
            parts.push(t);
        }
    }
    parts.join(": ")
}

/// Whether `e` comes from the engine or one of its libraries (a daemon's refusal, in
/// Docker's terms), as opposed to the CLI's own failures.
pub fn is_daemon_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| ministry::ErrorKind::of(c).is_some())
}

/// Docker's CLI exit code for a failed `run`: the program's 127/126 when it could not be
/// executed, 127 when the cause is a missing file, 126 a refused one or a directory, else
/// 125 (Docker's client decides the same from the daemon's message).
pub fn run_exit_code(e: &anyhow::Error) -> i32 {
    for c in e.chain() {
        if let Some(code) = c
            .downcast_ref::<ministry::Error>()
            .and_then(|m| m.exit_code())
        {
            return code;
        }
        if let Some(libruntime::Error::Exec { code, .. }) = c.downcast_ref::<libruntime::Error>() {
            return *code;
        }
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(c);
        while let Some(x) = cur {
            if let Some(io) = x.downcast_ref::<std::io::Error>() {
                match io.raw_os_error() {
                    Some(libc::ENOENT) => return 127,
                    Some(libc::EACCES) | Some(libc::EISDIR) => return 126,
                    _ => {}
                }
            }
            cur = x.source();
        }
    }
    125
}
