//! `system check`: re-hash every blob and find references to missing content.

use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::Result;

use super::ImageService;

/// What [`ImageService::check`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Blobs re-hashed.
    pub blobs_checked: usize,
    /// Blobs whose content no longer matches their digest.
    pub corrupt_blobs: Vec<Digest>,
    /// (image ID, blob) pairs where an image needs a blob that is missing.
    pub missing_blobs: Vec<(Digest, Digest)>,
    /// (image ID, chain ID) pairs where an image's layer snapshot is missing.
    pub missing_layers: Vec<(Digest, Digest)>,
}

impl CheckReport {
    /// Whether the store is consistent.
    pub fn is_clean(&self) -> bool {
        self.corrupt_blobs.is_empty()
            && self.missing_blobs.is_empty()
            && self.missing_layers.is_empty()
    }
}

impl ImageService {
    /// Re-hashes every blob and checks every image's blobs and layer snapshots exist.
    pub fn check(&self) -> Result<CheckReport> {
        let c = self.content.check()?;
        let mut r = CheckReport {
            blobs_checked: c.checked,
            corrupt_blobs: c.corrupt,
            ..Default::default()
        };
        for img in self.list()? {
            for b in img.blobs() {
                if self.content.stat(&b)?.is_none() {
                    r.missing_blobs.push((img.id.clone(), b));
                }
            }
            for l in &img.layers {
                if self.snapshotter.stat(&l.chain_id.to_string()).is_err() {
                    r.missing_layers.push((img.id.clone(), l.chain_id.clone()));
                }
            }
        }
        Ok(r)
    }
}
