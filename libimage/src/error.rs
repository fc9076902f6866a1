//! The crate's error type and its kinds.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is, so callers (the CLI, the daemon) can map it to an
/// exit code or an HTTP status without reading strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The named object does not exist.
    NotFound,
    /// The object exists already.
    AlreadyExists,
    /// The input is malformed or not allowed.
    InvalidArgument,
    /// The operation conflicts with the current state (an image in use, say).
    Conflict,
    /// Content did not match its digest or size, or an archive is hostile.
    DataLoss,
    /// A limit (size, count, length) was exceeded.
    ResourceExhausted,
    /// The operating system refused or failed an operation.
    Io,
}

/// Errors of libimage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference (image name) could not be parsed.
    #[error("{reason}")]
    InvalidReference {
        /// The text that was parsed.
        input: String,
        /// What is wrong with it, in Docker's words ("invalid reference format...").
        reason: String,
    },
    /// A digest could not be parsed.
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest {
        /// The text that was parsed.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Content did not hash to the digest that named it.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the content was supposed to have.
        expected: String,
        /// The digest of the bytes actually received.
        actual: String,
    },
    /// Content had another size than its descriptor said.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The content's digest.
        digest: String,
        /// The size the descriptor gave.
        expected: u64,
        /// The number of bytes received (may stop early once over the limit).
        actual: u64,
    },
    /// An object does not exist.
    #[error("{what}: {name}")]
    NotFound {
        /// What was looked for ("No such image", "blob not found", ...).
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// An object exists already.
    #[error("{what} already exists: {name}")]
    AlreadyExists {
        /// What kind of object.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The operation conflicts with current state.
    #[error("{0}")]
    Conflict(String),
    /// A document (manifest, index, config, archive metadata) is malformed or ambiguous.
    #[error("invalid {what}: {reason}")]
    InvalidDocument {
        /// Which document.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A layer archive is malformed or hostile.
    #[error("unsafe or malformed layer entry {entry:?}: {reason}")]
    UnsafeArchive {
        /// The entry's name as found in the archive.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
    /// A limit was exceeded.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// An invalid argument other than a reference or digest.
    #[error("{0}")]
    InvalidArgument(String),
    /// A JSON document could not be read or written.
    #[error("invalid JSON in {what}")]
    Json {
        /// Which document.
        what: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// An operating-system error on a path.
    #[error("{op} {path}")]
    Io {
        /// The operation ("open", "rename", ...).
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidReference { .. }
            | Error::InvalidDigest { .. }
            | Error::InvalidArgument(_)
            | Error::InvalidDocument { .. }
            | Error::Json { .. } => ErrorKind::InvalidArgument,
            Error::DigestMismatch { .. }
            | Error::SizeMismatch { .. }
            | Error::UnsafeArchive { .. } => ErrorKind::DataLoss,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::LimitExceeded(_) => ErrorKind::ResourceExhausted,
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
                _ => ErrorKind::Io,
            },
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn unsafe_entry(entry: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::UnsafeArchive {
            entry: entry.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn document(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidDocument {
            what,
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
