//! The crate's error type and its kinds.

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A value (subnet, port, address) is not valid.
    InvalidArgument,
    /// The pool has no free address, or a port is taken.
    Exhausted,
    /// A network of that name, or an overlapping pool, exists.
    AlreadyExists,
    /// A netlink, nftables or file operation failed.
    Io,
}

/// Errors of libnet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Nothing left to allocate.
    #[error("{0}")]
    Exhausted(String),
    /// Already there (a network's name, an overlapping pool).
    #[error("{0}")]
    Exists(String),
    /// A netlink request failed.
    #[error("{op}: {message}")]
    Netlink {
        /// What was being done.
        op: String,
        /// The kernel's answer.
        message: String,
    },
    /// `nft` failed.
    #[error("nftables: {0}")]
    Nft(String),
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// From the shared file utilities (atomic writes, locks).
    #[error(transparent)]
    Store(#[from] libimage::Error),
}

impl Error {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<std::path::PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn netlink(op: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Error::Netlink {
            op: op.into(),
            message: e.to_string(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid(_) => ErrorKind::InvalidArgument,
            Error::Exhausted(_) => ErrorKind::Exhausted,
            Error::Exists(_) => ErrorKind::AlreadyExists,
            _ => ErrorKind::Io,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
