//! The crate's error type and its kinds.

/// What kind of failure an [`Error`] is (exit codes, HTTP statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The repository, tag, manifest or blob does not exist.
    NotFound,
    /// The registry refused the credentials (or asked for some).
    Unauthorized,
    /// The input (a reference, a platform, a server name) is not valid.
    InvalidArgument,
    /// The registry sent content that does not match what names it (digest, size,
    /// diff_id), or a document that is malformed, ambiguous or too large.
    DataLoss,
    /// The registry could not be reached or answered with a server error.
    Unavailable,
    /// A local store or file operation failed.
    Io,
}

/// Errors of libregistry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not found, with Docker's wording (`manifest for x not found: manifest unknown`).
    #[error("{0}")]
    NotFound(String),
    /// Credentials refused or missing.
    #[error("{0}")]
    Unauthorized(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Hostile or broken content from the registry.
    #[error("{0}")]
    BadContent(String),
    /// A transport or protocol failure.
    #[error("{0}")]
    Unavailable(String),
    /// From the local image store (which also verifies digests and sizes while streaming).
    #[error(transparent)]
    Store(#[from] libimage::Error),
    /// A local file operation failed.
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

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unauthorized(_) => ErrorKind::Unauthorized,
            Error::Invalid(_) => ErrorKind::InvalidArgument,
            Error::BadContent(_) => ErrorKind::DataLoss,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Io { .. } => ErrorKind::Io,
            Error::Store(e) => match e.kind() {
                libimage::ErrorKind::NotFound => ErrorKind::NotFound,
                libimage::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                libimage::ErrorKind::DataLoss | libimage::ErrorKind::ResourceExhausted => {
                    ErrorKind::DataLoss
                }
                _ => ErrorKind::Io,
            },
        }
    }

    /// Maps an oci-client error, with the reference it concerned.
    pub(crate) fn from_oci(e: oci_client::errors::OciDistributionError, what: &str) -> Self {
        use oci_client::errors::OciDistributionError as E;
        let text = e.to_string();
        match &e {
            E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => {
                Error::Unauthorized(format!("{what}: {text}"))
            }
            E::ImageManifestNotFoundError(_) => Error::NotFound(format!(
                "manifest for {what} not found: manifest unknown: manifest unknown"
            )),
            E::DigestError(_) | E::ManifestParsingError(_) | E::VersionedParsingError(_) => {
                Error::BadContent(format!("{what}: {text}"))
            }
            E::ServerError { code: 404, .. } => Error::NotFound(format!(
                "manifest for {what} not found: manifest unknown: manifest unknown"
            )),
            E::ServerError {
                code: 401 | 403, ..
            } => Error::Unauthorized(format!("{what}: {text}")),
            E::RequestError(r) => match r.status().map(|s| s.as_u16()) {
                Some(401) | Some(403) => {
                    Error::Unauthorized(format!("{what}: unauthorized: authentication required"))
                }
                Some(404) => Error::NotFound(format!("{what}: not found")),
                _ => Error::Unavailable(format!("{what}: {text}")),
            },
            E::RegistryError { envelope, .. } => {
                use oci_client::errors::OciErrorCode as C;
                let codes: Vec<&C> = envelope.errors.iter().map(|x| &x.code).collect();
                if codes.iter().any(|c| {
                    matches!(
                        c,
                        C::BlobUnknown
                            | C::BlobUploadUnknown
                            | C::ManifestBlobUnknown
                            | C::ManifestUnknown
                            | C::NameUnknown
                    )
                }) {
                    Error::NotFound(format!(
                        "manifest for {what} not found: manifest unknown: manifest unknown"
                    ))
                } else if codes
                    .iter()
                    .any(|c| matches!(c, C::Unauthorized | C::Denied))
                {
                    Error::Unauthorized(format!("{what}: {text}"))
                } else {
                    Error::Unavailable(format!("{what}: {text}"))
                }
            }
            _ => Error::Unavailable(format!("{what}: {text}")),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
