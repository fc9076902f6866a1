//! Snapshots: the writable and committed directory trees containers and layers live in.
//!
//! A [`Snapshotter`] manages snapshots by key. The workflow (as in containerd):
//!
//! 1. `prepare(key, parent)` makes an *active* snapshot on top of the committed snapshot
//!    `parent` (or empty) and returns the mounts that show it.
//! 2. A layer is written into it ([`Snapshotter::apply_dir`] gives the directory to write and
//!    how whiteouts must be written), or a container runs on it.
//! 3. `commit(name, key)` turns the active snapshot into the committed snapshot `name`, which
//!    can be the parent of further snapshots. Image layers are committed under their chain
//!    ID, so images sharing a layer stack share the snapshots.
//! 4. `remove(key)` deletes a snapshot that is no snapshot's parent.
//!
//! Mounts are `oci_spec::runtime::Mount` values with destination `/`: the shared language
//! with libruntime, which mounts them as a container's root.

mod copy;
mod meta;
pub mod mount;
mod overlay;
mod usage;

pub(crate) use meta::remove_tree;

pub use copy::CopySnapshotter;
pub use meta::{Info, Kind};
pub use overlay::OverlaySnapshotter;
pub use usage::Usage;

use std::path::PathBuf;

use oci_spec::runtime::Mount;

use crate::error::Result;
use crate::layer::WhiteoutMode;

/// A snapshot backend.
///
/// Contract for implementations (checked by the conformance suite in
/// `libimage/tests/snapshot_suite.rs`, which every implementation runs):
/// - keys are unique across active, view and committed snapshots; `prepare`/`view` of an
///   existing key and `commit` to an existing name fail with `AlreadyExists`;
/// - a parent must be a committed snapshot, else `NotFound` (or `InvalidArgument` if it is
///   active);
/// - the mounts of an active snapshot show the parent chain's merged content and accept
///   writes; those of a view are read-only;
/// - `commit` keeps the content exactly; only active snapshots can be committed;
/// - `remove` of a snapshot that is a parent fails with `Conflict`; after `remove`, nothing
///   of the snapshot remains on disk;
/// - several processes may use one snapshotter directory at once.
pub trait Snapshotter: Send + Sync {
    /// Creates an active (writable) snapshot `key` on `parent`.
    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>>;
    /// Creates a read-only view `key` of `parent`.
    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>>;
    /// The mounts of an existing active snapshot or view.
    fn mounts(&self, key: &str) -> Result<Vec<Mount>>;
    /// Commits the active snapshot `key` as `name`.
    fn commit(&self, name: &str, key: &str) -> Result<()>;
    /// Removes a snapshot.
    fn remove(&self, key: &str) -> Result<()>;
    /// Information about one snapshot.
    fn stat(&self, key: &str) -> Result<Info>;
    /// Every snapshot.
    fn list(&self) -> Result<Vec<Info>>;
    /// Disk usage of a snapshot's own directory (not its parents').
    fn usage(&self, key: &str) -> Result<Usage>;
    /// The directory holding an active snapshot's own files, and the whiteout form a layer
    /// written into it needs. Lets layers be applied without mounting.
    fn apply_dir(&self, key: &str) -> Result<(PathBuf, WhiteoutMode)>;
    /// The directories of a snapshot and its parents, own first, with each one's kind of
    /// content: for overlay each holds one layer's changes; for copy the first holds all.
    fn layer_dirs(&self, key: &str) -> Result<Vec<PathBuf>>;
    /// Whether [`Snapshotter::layer_dirs`] is a stack of overlay layers (own changes first,
    /// whiteouts as 0:0 devices) rather than one full tree.
    fn layered(&self) -> bool;
}

/// A mount of `typ` from `source` with `options`, destination `/`.
pub(crate) fn root_mount(typ: &str, source: &std::path::Path, options: Vec<String>) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from("/"));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.to_path_buf()));
    m.set_options(Some(options));
    m
}
