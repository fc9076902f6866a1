//! Recording an image whose manifest, config and layer blobs are in the content store:
//! verify, unpack the layers into snapshots (shared by chain ID), then name it.

use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{
    parse_document, Document, ImageConfig, ImageRecord, LayerRecord, MAX_CONFIG_SIZE,
    MAX_MANIFEST_SIZE,
};
use crate::layer::{apply_layer, ApplyOptions};
use crate::reference::Reference;

use super::{ImageService, LayerMeta};

fn is_layer_type(m: &str) -> bool {
    m.starts_with("application/vnd.oci.image.layer.")
        || m.starts_with("application/vnd.docker.image.rootfs.")
}

impl ImageService {
    /// Records the image whose manifest blob is `manifest` (already in the content store),
    /// unpacking its layers, and points `tags` at it (moving them from other images). When
    /// `repo_digest` is given (a pull by a registry), `repo@manifest-digest` is recorded too.
    pub fn add_image(
        &self,
        manifest: &Digest,
        media_type: Option<&str>,
        tags: &[Reference],
        repo_digest: Option<&Reference>,
    ) -> Result<ImageRecord> {
        let bytes = self.content.read_all(manifest, MAX_MANIFEST_SIZE)?;
        let (m, media_type) = match parse_document(&bytes, media_type)? {
            Document::Manifest(m, t) => (m, t),
            Document::Index(..) => {
                return Err(Error::InvalidArgument(format!(
                    "{manifest} is an index, not an image manifest"
                )))
            }
        };
        let cfg_desc = m.config();
        let config_digest = Digest::parse(cfg_desc.digest().as_ref())?;
        let cfg_bytes = self.content.read_all(&config_digest, MAX_CONFIG_SIZE)?;
        if cfg_bytes.len() as u64 != cfg_desc.size() {
            return Err(Error::SizeMismatch {
                digest: config_digest.to_string(),
                expected: cfg_desc.size(),
                actual: cfg_bytes.len() as u64,
            });
        }
        let config = ImageConfig::parse(&cfg_bytes)?;
        if config.diff_ids().len() != m.layers().len() {
            return Err(Error::document(
                "image",
                format!(
                    "manifest has {} layers but the config has {} diff_ids",
                    m.layers().len(),
                    config.diff_ids().len()
                ),
            ));
        }
        let chain_ids = config.chain_ids();
        let mut layers = Vec::with_capacity(m.layers().len());
        for (i, desc) in m.layers().iter().enumerate() {
            let media = desc.media_type().to_string();
            if !is_layer_type(&media) {
                return Err(Error::document(
                    "manifest",
                    format!("layer {i} has media type {media}"),
                ));
            }
            let blob = Digest::parse(desc.digest().as_ref())?;
            let info = self.content.stat(&blob)?.ok_or_else(|| Error::NotFound {
                what: "layer blob not found",
                name: blob.to_string(),
            })?;
            if info.size != desc.size() {
                return Err(Error::SizeMismatch {
                    digest: blob.to_string(),
                    expected: desc.size(),
                    actual: info.size,
                });
            }
            let parent = if i == 0 {
                None
            } else {
                Some(&chain_ids[i - 1])
            };
            let size = self.unpack_layer(&blob, &config.diff_ids()[i], &chain_ids[i], parent)?;
            layers.push(LayerRecord {
                blob,
                media_type: media,
                blob_size: desc.size(),
                diff_id: config.diff_ids()[i].clone(),
                chain_id: chain_ids[i].clone(),
                size,
            });
        }
        let now = crate::time::now();
        let full_tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        let digest_ref = repo_digest.map(|r| r.with_digest(manifest.clone()).to_string());
        let record = ImageRecord {
            id: config_digest.clone(),
            manifest: manifest.clone(),
            manifest_media_type: media_type,
            manifest_size: bytes.len() as u64,
            config_size: cfg_bytes.len() as u64,
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            layers,
            last_tag_time: None,
            parent: None,
        };
        self.records.update(|images| {
            for other in images.values_mut() {
                if other.id != config_digest {
                    other.repo_tags.retain(|t| !full_tags.contains(t));
                }
            }
            let rec = images
                .entry(config_digest.to_string())
                .or_insert_with(|| record.clone());
            // A re-import of identical content keeps the existing record's layers.
            for t in &full_tags {
                if !rec.repo_tags.contains(t) {
                    rec.repo_tags.push(t.clone());
                }
            }
            if let Some(d) = &digest_ref {
                if !rec.repo_digests.contains(d) {
                    rec.repo_digests.push(d.clone());
                }
            }
            if !full_tags.is_empty() {
                rec.last_tag_time = Some(now.clone());
            }
            Ok(rec.clone())
        })
    }

    /// Makes sure the committed snapshot `chain_id` exists, applying the layer blob on
    /// `parent` if needed; returns the layer's content size.
    pub fn unpack_layer(
        &self,
        blob: &Digest,
        diff_id: &Digest,
        chain_id: &Digest,
        parent: Option<&Digest>,
    ) -> Result<u64> {
        if self.snapshotter.stat(&chain_id.to_string()).is_ok() {
            return self.unpack_layer_from(std::io::empty(), diff_id, chain_id, parent);
        }
        self.unpack_layer_from(self.content.open(blob)?, diff_id, chain_id, parent)
    }

    /// [`ImageService::unpack_layer`] reading the layer (compressed or not) from `reader`
    /// rather than the content store: a pull streams a layer into the extractor while the
    /// same bytes are still being downloaded and verified into the store. The unpacked
    /// tree is trusted only if it hashes to `diff_id` (which the digest-verified config
    /// names), so it does not depend on the blob's own verification.
    pub fn unpack_layer_from<R: std::io::Read + Send>(
        &self,
        reader: R,
        diff_id: &Digest,
        chain_id: &Digest,
        parent: Option<&Digest>,
    ) -> Result<u64> {
        let name = chain_id.to_string();
        if self.snapshotter.stat(&name).is_ok() {
            if let Some(meta) = self.read_layer_meta(chain_id)? {
                return Ok(meta.size);
            }
            return Ok(self.snapshotter.usage(&name)?.size);
        }
        let key = crate::fsutil::unique_name("extract-");
        let parent_name = parent.map(|p| p.to_string());
        self.snapshotter.prepare(&key, parent_name.as_deref())?;
        let result = (|| {
            let (dir, whiteouts) = self.snapshotter.apply_dir(&key)?;
            let opts = ApplyOptions {
                whiteouts,
                expected_diff_id: Some(diff_id.clone()),
                ..Default::default()
            };
            let applied = apply_layer(reader, &dir, &opts)?;
            self.write_layer_meta(
                chain_id,
                &LayerMeta {
                    diff_id: diff_id.clone(),
                    size: applied.content_size,
                },
            )?;
            Ok(applied.content_size)
        })();
        let size = match result {
            Ok(s) => s,
            Err(e) => {
                let _ = self.snapshotter.remove(&key);
                return Err(e);
            }
        };
        match self.snapshotter.commit(&name, &key) {
            Ok(()) => Ok(size),
            // Another process committed the same layer stack meanwhile: use theirs.
            Err(e) if e.kind() == crate::ErrorKind::AlreadyExists => {
                self.snapshotter.remove(&key)?;
                Ok(size)
            }
            Err(e) => {
                let _ = self.snapshotter.remove(&key);
                Err(e)
            }
        }
    }
}
