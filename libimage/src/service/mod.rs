//! [`ImageService`]: the content store, image records and snapshots of one data root,
//! composed into the operations a user knows (`import`, `images`, `tag`, `rmi`, `inspect`,
//! `history`, `save`, `load`, `export`, `diff`).

mod add;
mod archive;
mod check;
mod commit;
mod derive;
mod export;
mod import;
mod inspect;
mod remove;

pub use archive::{LoadedImage, SaveFormat};
pub use check::CheckReport;
pub use commit::CommitOptions;
pub use derive::DeriveOptions;
pub use import::{go_arch, ImportOptions};
pub use inspect::{HistoryEntry, ImageInspect};
pub use remove::{ImageUser, RemoveEvent};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::content::{ContentStore, LocalContentStore};
use crate::digest::Digest;
use crate::error::Result;
use crate::fsutil::{create_dir_all, read_json, write_json_atomic};
use crate::image::{ImageConfig, ImageRecord, ImageRecords, MAX_CONFIG_SIZE};
use crate::snapshot::{CopySnapshotter, OverlaySnapshotter, Snapshotter};

/// Which snapshotter a service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotterKind {
    /// overlayfs (the default where the kernel and file system support it).
    Overlay,
    /// Full copies (any file system).
    Copy,
    /// overlayfs if a probe mount works, else copies.
    Auto,
}

/// The images of one data root.
pub struct ImageService {
    root: PathBuf,
    content: LocalContentStore,
    records: ImageRecords,
    snapshotter: Box<dyn Snapshotter>,
    snapshotter_name: &'static str,
}

/// What the store remembers about an applied layer stack, by chain ID.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LayerMeta {
    pub diff_id: Digest,
    /// Bytes of file content in the layer.
    pub size: u64,
}

impl ImageService {
    /// Opens (creating) the image store under `root` (`<root>/image`, `<root>/snapshots`).
    pub fn open(root: impl AsRef<Path>, kind: SnapshotterKind) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        create_dir_all(&root, 0o700)?;
        let image_dir = root.join("image");
        create_dir_all(&image_dir.join("layers"), 0o700)?;
        let content = LocalContentStore::open(image_dir.join("content"))?;
        let records = ImageRecords::new(&image_dir);
        let kind = match kind {
            SnapshotterKind::Auto => auto_snapshotter(&root),
            k => k,
        };
        let (snapshotter, snapshotter_name): (Box<dyn Snapshotter>, _) = match kind {
            SnapshotterKind::Copy => (
                Box::new(CopySnapshotter::open(root.join("snapshots-copy"))?),
                "vfs",
            ),
            _ => (
                Box::new(OverlaySnapshotter::open(root.join("snapshots"))?),
                "overlay2",
            ),
        };
        Ok(ImageService {
            root,
            content,
            records,
            snapshotter,
            snapshotter_name,
        })
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The content store.
    pub fn content(&self) -> &LocalContentStore {
        &self.content
    }

    /// The snapshotter.
    pub fn snapshotter(&self) -> &dyn Snapshotter {
        self.snapshotter.as_ref()
    }

    /// The snapshotter's name as Docker's `info` names its storage drivers (`overlay2`,
    /// `vfs`).
    pub fn snapshotter_name(&self) -> &'static str {
        self.snapshotter_name
    }

    /// Every image.
    pub fn list(&self) -> Result<Vec<ImageRecord>> {
        self.records.list()
    }

    /// Finds an image by name, ID or ID prefix.
    pub fn resolve(&self, name: &str) -> Result<ImageRecord> {
        self.records.resolve(name)
    }

    /// An image's config.
    pub fn config(&self, image: &ImageRecord) -> Result<ImageConfig> {
        ImageConfig::parse(&self.content.read_all(&image.id, MAX_CONFIG_SIZE)?)
    }

    /// The name of the committed snapshot holding an image's merged layers (its top chain
    /// ID), to prepare a container's snapshot on. `None` for an image without layers.
    pub fn top_snapshot(&self, image: &ImageRecord) -> Option<String> {
        image.layers.last().map(|l| l.chain_id.to_string())
    }

    fn layer_meta_path(&self, chain_id: &Digest) -> PathBuf {
        self.root
            .join("image/layers")
            .join(format!("{}.json", chain_id.hex()))
    }

    pub(crate) fn read_layer_meta(&self, chain_id: &Digest) -> Result<Option<LayerMeta>> {
        read_json(&self.layer_meta_path(chain_id))
    }

    pub(crate) fn write_layer_meta(&self, chain_id: &Digest, meta: &LayerMeta) -> Result<()> {
        write_json_atomic(&self.layer_meta_path(chain_id), meta)
    }

    pub(crate) fn remove_layer_meta(&self, chain_id: &Digest) {
        let _ = std::fs::remove_file(self.layer_meta_path(chain_id));
    }

    pub(crate) fn records(&self) -> &ImageRecords {
        &self.records
    }
}

/// The file under the data root that remembers what [`SnapshotterKind::Auto`] chose.
const AUTO_CHOICE: &str = "snapshotter-auto";

/// What [`SnapshotterKind::Auto`] means for the data root `root`: probed once (a mount,
/// so not on every open: every CLI call opens the store) and remembered in a file, which
/// also keeps a store on the snapshotter its snapshots were made with.
fn auto_snapshotter(root: &Path) -> SnapshotterKind {
    let file = root.join(AUTO_CHOICE);
    match std::fs::read(&file).as_deref() {
        Ok(b"overlay") => return SnapshotterKind::Overlay,
        Ok(b"copy") => return SnapshotterKind::Copy,
        _ => {}
    }
    let (kind, name) = if overlay_works(root) {
        (SnapshotterKind::Overlay, "overlay")
    } else {
        (SnapshotterKind::Copy, "copy")
    };
    // Best effort: a store that cannot remember probes again next time.
    let _ = crate::fsutil::write_atomic(&file, name.as_bytes());
    kind
}

/// Whether an overlay mount works under `root` (probed in a throw-away directory).
fn overlay_works(root: &Path) -> bool {
    let probe = root.join(crate::fsutil::unique_name(".overlay-probe-"));
    let ok = (|| -> Result<bool> {
        for d in ["lower1", "lower2", "upper", "work", "merged"] {
            create_dir_all(&probe.join(d), 0o700)?;
        }
        let mut m = oci_spec::runtime::Mount::default();
        m.set_typ(Some("overlay".into()));
        m.set_source(Some("overlay".into()));
        m.set_options(Some(vec![
            format!(
                "lowerdir={}:{}",
                probe.join("lower1").display(),
                probe.join("lower2").display()
            ),
            format!("upperdir={}", probe.join("upper").display()),
            format!("workdir={}", probe.join("work").display()),
        ]));
        let merged = probe.join("merged");
        if crate::snapshot::mount::mount_all(&[m], &merged).is_err() {
            return Ok(false);
        }
        crate::snapshot::mount::unmount(&merged)?;
        Ok(true)
    })()
    .unwrap_or(false);
    let _ = crate::snapshot::remove_tree(&probe);
    ok
}
