//! Image records: which names point at which image, kept in one JSON file that is rewritten
//! atomically under an inter-process lock, so several processes can share a store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fsutil::{read_json, write_json_atomic, LockGuard};
use crate::reference::Reference;

/// One layer of an image as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// The blob holding the (possibly compressed) layer.
    pub blob: Digest,
    /// Its media type.
    pub media_type: String,
    /// Size of the blob.
    pub blob_size: u64,
    /// The uncompressed digest.
    pub diff_id: Digest,
    /// The chain ID naming the applied stack up to this layer.
    pub chain_id: Digest,
    /// Bytes of file content in the layer (what Docker reports as a layer's size).
    pub size: u64,
}

/// An image in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image ID: the config's digest.
    pub id: Digest,
    /// The manifest's digest.
    pub manifest: Digest,
    /// The manifest's media type.
    pub manifest_media_type: String,
    /// Size of the manifest blob.
    pub manifest_size: u64,
    /// Size of the config blob.
    pub config_size: u64,
    /// Fully qualified tags (`docker.io/library/busybox:latest`).
    pub repo_tags: Vec<String>,
    /// Fully qualified digests (`docker.io/library/busybox@sha256:...`).
    pub repo_digests: Vec<String>,
    /// The layers, bottom first.
    pub layers: Vec<LayerRecord>,
    /// When a tag was last set (RFC 3339).
    pub last_tag_time: Option<String>,
    /// The image this one was built on, step by step (Docker's `Parent`: set by `build`
    /// for each step's image; `images` hides untagged parents unless `-a`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
}

impl ImageRecord {
    /// Total content size of the layers (Docker's `Size`).
    pub fn size(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum()
    }

    /// The tags in familiar form (`busybox:latest`).
    pub fn familiar_tags(&self) -> Vec<String> {
        self.repo_tags
            .iter()
            .filter_map(|t| Reference::parse(t).ok())
            .map(|r| r.familiar())
            .collect()
    }

    /// The repo digests in familiar form.
    pub fn familiar_digests(&self) -> Vec<String> {
        self.repo_digests
            .iter()
            .filter_map(|t| Reference::parse(t).ok())
            .map(|r| r.familiar())
            .collect()
    }

    /// Every blob this image needs.
    pub fn blobs(&self) -> Vec<Digest> {
        let mut v = vec![self.manifest.clone(), self.id.clone()];
        v.extend(self.layers.iter().map(|l| l.blob.clone()));
        v
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ImageDb {
    images: BTreeMap<String, ImageRecord>,
}

/// The records file and its lock.
#[derive(Debug, Clone)]
pub struct ImageRecords {
    file: PathBuf,
    lock: PathBuf,
}

/// What looking an image up found.
fn parse_id_prefix(s: &str) -> Option<&str> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (!hex.is_empty()
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

impl ImageRecords {
    /// Records kept in `dir/images.json`.
    pub fn new(dir: &Path) -> Self {
        ImageRecords {
            file: dir.join("images.json"),
            lock: dir.join("images.lock"),
        }
    }

    /// Runs `f` on the records under the lock, writing them back if it returns `Ok`.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, ImageRecord>) -> Result<T>,
    ) -> Result<T> {
        let _g = LockGuard::lock(&self.lock)?;
        let mut db: ImageDb = read_json(&self.file)?.unwrap_or_default();
        let out = f(&mut db.images)?;
        write_json_atomic(&self.file, &db)?;
        Ok(out)
    }

    /// Every image.
    pub fn list(&self) -> Result<Vec<ImageRecord>> {
        let db: ImageDb = read_json(&self.file)?.unwrap_or_default();
        Ok(db.images.into_values().collect())
    }

    /// Finds an image by reference (tag or digest), full ID, or unique ID prefix, as Docker
    /// does.
    pub fn resolve(&self, name: &str) -> Result<ImageRecord> {
        resolve_in(&self.list()?, name).cloned()
    }
}

/// Looks `name` up in `images` (see [`ImageRecords::resolve`]).
pub fn resolve_in<'a>(images: &'a [ImageRecord], name: &str) -> Result<&'a ImageRecord> {
    // Docker names a missing image in its normalised familiar form (`x:latest`).
    let shown = match Reference::parse(name) {
        Ok(r) if Digest::parse(name).is_err() => r.familiar(),
        _ => name.to_string(),
    };
    let not_found = || Error::NotFound {
        what: "No such image",
        name: shown.clone(),
    };
    if let Ok(d) = Digest::parse(name) {
        return images.iter().find(|i| i.id == d).ok_or_else(not_found);
    }
    if let Ok(r) = Reference::parse(name) {
        let full = r.to_string();
        if let Some(i) = images
            .iter()
            .find(|i| i.repo_tags.contains(&full) || i.repo_digests.contains(&full))
        {
            return Ok(i);
        }
        // name@digest also matches an image whose manifest has that digest.
        if let Some(d) = r.digest() {
            if let Some(i) = images.iter().find(|i| &i.manifest == d) {
                return Ok(i);
            }
        }
    }
    if let Some(hex) = parse_id_prefix(name) {
        let mut found = images.iter().filter(|i| i.id.hex().starts_with(hex));
        if let Some(first) = found.next() {
            if found.next().is_some() {
                return Err(Error::Conflict(format!(
                    "multiple IDs found with provided prefix: {hex}"
                )));
            }
            return Ok(first);
        }
    }
    Err(not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seed: &str, tags: &[&str]) -> ImageRecord {
        ImageRecord {
            id: Digest::sha256_of(seed.as_bytes()),
            manifest: Digest::sha256_of(format!("m{seed}").as_bytes()),
            manifest_media_type: crate::image::OCI_MANIFEST.into(),
            manifest_size: 1,
            config_size: 1,
            repo_tags: tags
                .iter()
                .map(|t| Reference::parse(t).unwrap().to_string())
                .collect(),
            repo_digests: vec![],
            layers: vec![],
            last_tag_time: None,
            parent: None,
        }
    }

    #[test]
    fn resolves_by_tag_id_and_prefix() {
        let a = rec("a", &["busybox"]);
        let b = rec("b", &["me/app:1"]);
        let imgs = vec![a.clone(), b.clone()];
        assert_eq!(resolve_in(&imgs, "busybox").unwrap().id, a.id);
        assert_eq!(resolve_in(&imgs, "busybox:latest").unwrap().id, a.id);
        assert_eq!(
            resolve_in(&imgs, "docker.io/library/busybox").unwrap().id,
            a.id
        );
        assert_eq!(resolve_in(&imgs, "me/app:1").unwrap().id, b.id);
        assert_eq!(resolve_in(&imgs, &a.id.to_string()).unwrap().id, a.id);
        assert_eq!(resolve_in(&imgs, &a.id.hex()[..12]).unwrap().id, a.id);
        assert_eq!(
            resolve_in(&imgs, &format!("busybox@{}", a.manifest))
                .unwrap()
                .id,
            a.id
        );
        let e = resolve_in(&imgs, "nothere").unwrap_err();
        assert_eq!(e.to_string(), "No such image: nothere:latest");
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
    }

    #[test]
    fn concurrent_updates_from_threads_lose_nothing() {
        let d = tempfile::tempdir().unwrap();
        let r = ImageRecords::new(d.path());
        std::thread::scope(|s| {
            for t in 0..8 {
                let r = r.clone();
                s.spawn(move || {
                    for i in 0..10 {
                        let img = rec(&format!("{t}-{i}"), &[]);
                        r.update(|m| {
                            m.insert(img.id.to_string(), img.clone());
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert_eq!(r.list().unwrap().len(), 80);
    }
}
