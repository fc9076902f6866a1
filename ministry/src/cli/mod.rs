//! The `ministry` command line: argument structs (`args`), Docker-style output (`output`),
//! and the handlers that call the engine.

pub mod args;
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
