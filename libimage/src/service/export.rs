//! `export` and `diff` of snapshots, read without mounting (see `crate::tree`).

use std::io::Write;

use crate::error::Result;
use crate::image::ImageRecord;
use crate::tree::{changes, write_changes_tar, write_tree_tar, Change, Layers};

use super::ImageService;

impl ImageService {
    /// Writes the merged root file system of snapshot `key` (active, view or committed) as a
    /// tar stream, as `docker export` does for a container.
    pub fn export_snapshot(&self, key: &str, out: &mut dyn Write) -> Result<()> {
        let dirs = self.snapshotter.layer_dirs(key)?;
        write_tree_tar(&Layers::open(&dirs, self.snapshotter.layered())?, out)
    }

    /// Writes an image's merged root file system as a tar stream.
    pub fn export_image(&self, image: &ImageRecord, out: &mut dyn Write) -> Result<()> {
        match self.top_snapshot(image) {
            Some(top) => self.export_snapshot(&top, out),
            None => write_tree_tar(&Layers::open(&[], false)?, out),
        }
    }

    /// Reads a small file (at most 1 MiB) of snapshot `key`'s merged view without mounting
    /// it, never following a link (`/etc/passwd` for `--user NAME`).
    pub fn read_snapshot_file(&self, key: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let dirs = self.snapshotter.layer_dirs(key)?;
        let rel = std::path::Path::new(path.trim_start_matches('/'));
        Layers::open(&dirs, self.snapshotter.layered())?.read_file(rel, 1 << 20)
    }

    /// What changed in snapshot `key` against its parent (`docker diff`), sorted by path.
    pub fn changes(&self, key: &str) -> Result<Vec<Change>> {
        let dirs = self.snapshotter.layer_dirs(key)?;
        if self.snapshotter.layered() {
            changes(&dirs[0], &dirs[1..], true)
        } else {
            let lower = match self.snapshotter.stat(key)?.parent {
                Some(p) => self.snapshotter.layer_dirs(&p)?,
                None => Vec::new(),
            };
            changes(&dirs[0], &lower, false)
        }
    }

    /// Writes the changes of snapshot `key` as a layer tar (for `commit`); returns them.
    pub fn changes_tar(&self, key: &str, out: &mut dyn Write) -> Result<Vec<Change>> {
        let c = self.changes(key)?;
        let dirs = self.snapshotter.layer_dirs(key)?;
        write_changes_tar(&Layers::open(&dirs, self.snapshotter.layered())?, &c, out)?;
        Ok(c)
    }
}
