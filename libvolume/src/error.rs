//! The crate's error type and its kinds.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is (for exit codes and HTTP statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The volume does not exist.
    NotFound,
    /// The input (a name, a `-v` or `--mount` value, a driver option) is not valid.
    InvalidArgument,
    /// The volume is in use.
    Conflict,
    /// The operating system refused or failed an operation.
    Io,
}

/// Errors of libvolume. Messages are Docker's where Docker has one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No volume of that name.
    #[error("get {0}: no such volume")]
    NotFound(String),
    /// A malformed name, flag value or option.
    #[error("{0}")]
    Invalid(String),
    /// The volume is used by containers (their IDs).
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// The containers using it.
        users: Vec<String>,
    },
    /// An operating-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// From the shared file utilities (atomic writes, locks).
    #[error(transparent)]
    Store(#[from] libimage::Error),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Invalid(_) => ErrorKind::InvalidArgument,
            Error::InUse { .. } => ErrorKind::Conflict,
            Error::Io { .. } => ErrorKind::Io,
            Error::Store(e) => match e.kind() {
                libimage::ErrorKind::NotFound => ErrorKind::NotFound,
                libimage::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                libimage::ErrorKind::Conflict => ErrorKind::Conflict,
                _ => ErrorKind::Io,
            },
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
