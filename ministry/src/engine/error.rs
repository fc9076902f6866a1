//! The engine's error, its kinds, and how errors print.
//!
//! Every library crate has a typed error with a kind; [`Error::kind`] defers to them, so a
//! caller (the CLI, the daemon, an embedder) decides by kind, never by message text. The
//! CLI's exit codes and the daemon's HTTP statuses are both functions of the kind.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is (Docker's `errdefs` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The named object (container, image, volume, network, exec, file) does not exist.
    NotFound,
    /// The operation conflicts with the object's state or another object (a name in use,
    /// a running container, an image in use, an object that exists already).
    Conflict,
    /// The input is malformed or not allowed.
    InvalidArgument,
    /// Nothing to do: the object is already in the asked state (start of a running
    /// container; HTTP 304).
    NotModified,
    /// A registry or another service could not be reached.
    Unavailable,
    /// Credentials were refused or missing.
    Unauthorized,
    /// The operating system refused the operation for lack of permission.
    PermissionDenied,
    /// Content did not match its digest or size, or an archive is hostile.
    DataLoss,
    /// A limit (addresses, ports, sizes) was exhausted.
    ResourceExhausted,
    /// The container's program could not be executed (see [`Error::exit_code`]).
    CannotExecute,
    /// The operating system failed an operation.
    Io,
}

impl ErrorKind {
    /// The HTTP status the Docker Engine API answers this kind with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::InvalidArgument | ErrorKind::CannotExecute => 400,
            ErrorKind::NotModified => 304,
            ErrorKind::Unauthorized => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::Unavailable => 503,
            ErrorKind::DataLoss | ErrorKind::ResourceExhausted | ErrorKind::Io => 500,
        }
    }

    /// The kind of any error of ministry's crates found in `e` or its causes (the first
    /// one that has a kind), for callers holding a boxed or `anyhow` error.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cur {
            if let Some(k) = Self::of_one(c) {
                return Some(k);
            }
            cur = c.source();
        }
        None
    }

    fn of_one(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
        if let Some(e) = e.downcast_ref::<Error>() {
            return Some(e.kind());
        }
        if let Some(e) = e.downcast_ref::<libimage::Error>() {
            return Some(image_kind(e));
        }
        if let Some(e) = e.downcast_ref::<libruntime::Error>() {
            return Some(runtime_kind(e));
        }
        if let Some(e) = e.downcast_ref::<libvolume::Error>() {
            return Some(volume_kind(e));
        }
        if let Some(e) = e.downcast_ref::<libregistry::Error>() {
            return Some(registry_kind(e));
        }
        if let Some(e) = e.downcast_ref::<libnet::Error>() {
            return Some(net_kind(e));
        }
        None
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the image store.
    #[error(transparent)]
    Image(#[from] libimage::Error),
    /// From the runtime.
    #[error(transparent)]
    Runtime(#[from] libruntime::Error),
    /// From the volume store.
    #[error(transparent)]
    Volume(#[from] libvolume::Error),
    /// From a registry.
    #[error(transparent)]
    Registry(#[from] libregistry::Error),
    /// From networking.
    #[error(transparent)]
    Network(#[from] libnet::Error),
    /// A configuration value is not valid.
    #[error("{0}")]
    InvalidConfig(String),
    /// No such container.
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    /// No such network.
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    /// No such exec instance.
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    /// The user a container or exec should run as is not in its passwd file (Docker
    /// reports it as a failure to start the program: 126).
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    /// The operation conflicts with the container's state or another container.
    #[error("{0}")]
    Conflict(String),
    /// Another process is removing the container (its name as given).
    #[error("removal of container {0} is already in progress")]
    RemovalInProgress(String),
    /// The object is already in the asked state.
    #[error("{0}")]
    NotModified(String),
    /// The helper that starts containers cannot work in this program.
    #[error("{0}")]
    HelperUnavailable(String),
    /// A build failed: a step's command returned `code`, or a Dockerfile or its context
    /// is not usable (Docker's texts: "The command '/bin/sh -c false' returned a
    /// non-zero code: 1").
    #[error("{message}")]
    Build {
        /// What failed.
        message: String,
        /// The failing command's exit code (1 for other failures, as Docker's stream).
        code: i32,
    },
    /// An operating-system error, with what the engine was doing.
    #[error("{context}")]
    Os {
        /// What failed, in Docker's words.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error on the engine's own files.
    #[error("{op} {path}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The kind of this error, whichever crate it came from.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Image(e) => image_kind(e),
            Error::Runtime(e) => runtime_kind(e),
            Error::Volume(e) => volume_kind(e),
            Error::Registry(e) => registry_kind(e),
            Error::Network(e) => net_kind(e),
            Error::InvalidConfig(_) => ErrorKind::InvalidArgument,
            Error::NoSuchContainer(_) | Error::NoSuchNetwork(_) | Error::NoSuchExec(_) => {
                ErrorKind::NotFound
            }
            Error::UnknownUser(_) => ErrorKind::CannotExecute,
            Error::Conflict(_) | Error::RemovalInProgress(_) => ErrorKind::Conflict,
            Error::NotModified(_) => ErrorKind::NotModified,
            Error::HelperUnavailable(_) => ErrorKind::Unavailable,
            Error::Build { .. } => ErrorKind::InvalidArgument,
            Error::Io { source, .. } | Error::Os { source, .. } => io_kind(source),
        }
    }

    /// For a program that could not be executed: Docker's exit code (127 not found, 126
    /// not executable or not startable).
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Error::Runtime(libruntime::Error::Exec { code, .. }) => Some(*code),
            Error::UnknownUser(_) => Some(126),
            _ => None,
        }
    }

    /// The message with its causes, each once, as Docker prints errors (`op path: no such
    /// file or directory`).
    pub fn text(&self) -> String {
        error_text(self)
    }
}

/// Any error's message with its causes, each printed once (a cause a message already
/// ends with is not repeated), OS errors in Go's words (`no such file or directory`).
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = match c.downcast_ref::<std::io::Error>() {
            Some(io) => super::os_error_text(io),
            None => c.to_string(),
        };
        if !t.is_empty() && !s.ends_with(&t) {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::AlreadyExists => ErrorKind::Conflict,
        std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Io,
    }
}

fn image_kind(e: &libimage::Error) -> ErrorKind {
    use libimage::ErrorKind as K;
    match e.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::AlreadyExists | K::Conflict => ErrorKind::Conflict,
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::DataLoss => ErrorKind::DataLoss,
        K::ResourceExhausted => ErrorKind::ResourceExhausted,
        K::Io => ErrorKind::Io,
    }
}

fn runtime_kind(e: &libruntime::Error) -> ErrorKind {
    use libruntime::ErrorKind as K;
    if let libruntime::Error::Exec { .. } = e {
        return ErrorKind::CannotExecute;
    }
    match e.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::AlreadyExists | K::Conflict => ErrorKind::Conflict,
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::Io => ErrorKind::Io,
    }
}

fn volume_kind(e: &libvolume::Error) -> ErrorKind {
    use libvolume::ErrorKind as K;
    match e.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::Conflict => ErrorKind::Conflict,
        K::Io => ErrorKind::Io,
    }
}

fn registry_kind(e: &libregistry::Error) -> ErrorKind {
    use libregistry::ErrorKind as K;
    match e.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::Unauthorized => ErrorKind::Unauthorized,
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::DataLoss => ErrorKind::DataLoss,
        K::Unavailable => ErrorKind::Unavailable,
        K::Io => ErrorKind::Io,
    }
}

fn net_kind(e: &libnet::Error) -> ErrorKind {
    use libnet::ErrorKind as K;
    match e.kind() {
        K::InvalidArgument => ErrorKind::InvalidArgument,
        K::Exhausted => ErrorKind::ResourceExhausted,
        K::AlreadyExists => ErrorKind::Conflict,
        K::Io => ErrorKind::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_text() {
        let e = Error::NoSuchContainer("x".into());
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.kind().http_status(), 404);
        let io = Error::io(
            "write blob",
            "/r/ingest/1",
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(io.text(), "write blob /r/ingest/1: no space left on device");
        // A cause the message already shows is not printed twice.
        let v = libvolume::Error::NotFound("v".into());
        assert_eq!(Error::from(v).text(), "get v: no such volume");
        let x = Error::Runtime(libruntime::Error::Exec {
            code: 127,
            message: "exec: \"nope\": executable file not found in $PATH".into(),
        });
        assert_eq!(x.exit_code(), Some(127));
        assert_eq!(x.kind(), ErrorKind::CannotExecute);
        let boxed: Box<dyn std::error::Error> = Box::new(x);
        assert_eq!(
            ErrorKind::of(boxed.as_ref()),
            Some(ErrorKind::CannotExecute)
        );
    }
}
