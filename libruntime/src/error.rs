//! The crate's error type and its kinds.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The container does not exist.
    NotFound,
    /// A container with that ID exists already.
    AlreadyExists,
    /// The configuration is not valid.
    InvalidArgument,
    /// The operation does not fit the container's state (start of a running one, ...).
    Conflict,
    /// The operating system refused or failed an operation.
    Io,
}

/// Errors of libruntime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No container with this ID.
    #[error("No such container: {0}")]
    NotFound(String),
    /// The ID is taken.
    #[error("container {0} already exists")]
    AlreadyExists(String),
    /// The configuration is not valid.
    #[error("{0}")]
    InvalidArgument(String),
    /// The container is not in a state that allows the operation.
    #[error("container {id} is {state}: cannot {op}")]
    Conflict {
        /// The container.
        id: String,
        /// Its state.
        state: String,
        /// What was asked.
        op: &'static str,
    },
    /// The container is paused (frozen): a process joining its cgroup would freeze too,
    /// so the operation is refused until it is thawed (Docker's words).
    #[error("Container {id} is paused, unpause the container before {op}")]
    Paused {
        /// The container.
        id: String,
        /// What was asked.
        op: &'static str,
    },
    /// The container's init failed before running the program (reported by the init).
    #[error("container init failed: {0}")]
    Init(String),
    /// The program could not be executed (not found: exit code 127; not executable: 126),
    /// in Docker's words (`exec: "x": executable file not found in $PATH`).
    #[error("{message}")]
    Exec {
        /// Docker's exit code for it: 127 not found, 126 otherwise.
        code: i32,
        /// What happened, in runc's and Docker's words.
        message: String,
    },
    /// An operating-system error.
    #[error("{op} {path}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path or object it was applied to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file operation of the shared file utilities (atomic writes) failed.
    #[error(transparent)]
    Files(#[from] libimage::Error),
    /// A state file could not be read or written.
    #[error("invalid state file {0}")]
    State(PathBuf, #[source] serde_json::Error),
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Conflict { .. } | Error::Paused { .. } => ErrorKind::Conflict,
            Error::Init(_)
            | Error::Exec { .. }
            | Error::Io { .. }
            | Error::Files(_)
            | Error::State(..) => ErrorKind::Io,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
