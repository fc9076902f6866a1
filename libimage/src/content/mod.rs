//! The content store: blobs addressed by digest.
//!
//! Every byte enters through [`ContentStore::ingest`], which hashes and counts the stream
//! while writing it to a private ingest file, compares digest and size with what the caller
//! expected, fsyncs, and only then renames the file into the blob area. A wrong byte, a
//! short or long stream leaves nothing under the blob area.

mod local;

pub use local::LocalContentStore;

use std::io::Read;

use crate::digest::Digest;
use crate::error::Result;

/// What the caller knows about a blob before it arrives.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// The digest the bytes must have. When `None`, the store computes it (local imports).
    pub digest: Option<Digest>,
    /// The size the bytes must have. Reading stops with an error as soon as the stream is
    /// longer.
    pub size: Option<u64>,
}

impl Expected {
    /// Expect exactly this digest and size (what a descriptor says).
    pub fn exact(digest: Digest, size: u64) -> Self {
        Expected {
            digest: Some(digest),
            size: Some(size),
        }
    }
}

/// A blob's identity and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// What [`ContentStore::check`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Blobs verified.
    pub checked: usize,
    /// Blobs whose bytes no longer hash to their name.
    pub corrupt: Vec<Digest>,
}

/// A store of immutable blobs addressed by digest.
///
/// Contract for implementations:
/// - `ingest` makes a blob visible only after its bytes were verified against `expected`
///   and made durable; on any error nothing is visible and no partial file remains.
/// - Concurrent `ingest` calls of the same content (from threads or processes) all succeed
///   and leave one blob.
/// - `open` returns exactly the bytes that were ingested.
/// - `check` re-hashes every blob.
pub trait ContentStore: Send + Sync {
    /// Streams `reader` into the store, verified against `expected`.
    fn ingest(&self, reader: &mut dyn Read, expected: &Expected) -> Result<BlobInfo>;
    /// Whether the blob is present, and its size.
    fn stat(&self, digest: &Digest) -> Result<Option<BlobInfo>>;
    /// Opens a blob for reading.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>>;
    /// Reads a whole (small) blob, refusing ones above `limit` bytes.
    fn read_all(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>>;
    /// Deletes a blob (no error if absent).
    fn delete(&self, digest: &Digest) -> Result<()>;
    /// Every blob in the store.
    fn list(&self) -> Result<Vec<BlobInfo>>;
    /// Re-hashes every blob.
    fn check(&self) -> Result<CheckReport>;
}
