//! Progress events of pulls and pushes, for the CLI's progress lines.

use libimage::Digest;

/// Where one layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerState {
    /// Present already (pull) or in the registry already (push).
    AlreadyExists,
    /// Bytes moving (`done` of `total`).
    Downloading,
    /// Downloaded and verified.
    DownloadComplete,
    /// Being unpacked.
    Extracting,
    /// Unpacked.
    PullComplete,
    /// Bytes moving up.
    Pushing,
    /// Uploaded.
    Pushed,
    /// Mounted from another repository of the same registry.
    Mounted,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The reference resolved to this digest.
    Resolved {
        /// The manifest (or index) digest.
        digest: Digest,
    },
    /// A layer's state changed or bytes moved.
    Layer {
        /// The layer blob.
        digest: Digest,
        /// Its state.
        state: LayerState,
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
}
