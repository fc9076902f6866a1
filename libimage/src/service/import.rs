//! `import`: a root file system tarball (plain, gzip or zstd) as a one-layer image.

use std::io::Read;

use serde_json::json;

use crate::content::{ContentStore, Expected};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{ContainerConfig, ImageRecord, OCI_CONFIG, OCI_MANIFEST};
use crate::layer::{apply_layer, ApplyOptions};
use crate::reference::Reference;

use super::{ImageService, LayerMeta};

/// Options for [`ImageService::import`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The name to give the image. By default, none (a dangling image).
    pub reference: Option<Reference>,
    /// Dockerfile instructions applied to the config (`CMD ["sh"]`, `ENV A=b`, ...).
    pub changes: Vec<String>,
    /// The image's comment. By default, Docker's `Imported from -`.
    pub comment: String,
    /// Architecture. By default, that of this machine in Go's naming (`amd64`).
    pub architecture: String,
    /// Operating system. By default, `linux`.
    pub os: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            reference: None,
            changes: Vec::new(),
            comment: "Imported from -".into(),
            architecture: go_arch().into(),
            os: "linux".into(),
        }
    }
}

/// This machine's architecture as Go (and so OCI) names it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

impl ImageService {
    /// Imports a root file system tarball as a one-layer image.
    ///
    /// The stream is stored as the layer blob (verified and durable), then applied in one
    /// pass that decompresses, computes the diff_id and extracts.
    pub fn import(&self, reader: &mut dyn Read, opts: &ImportOptions) -> Result<ImageRecord> {
        let mut cfg = ContainerConfig::default();
        for c in &opts.changes {
            cfg.apply_change(c)?;
        }
        let blob = self.content.ingest(reader, &Expected::default())?;
        let key = crate::fsutil::unique_name("import-");
        self.snapshotter.prepare(&key, None)?;
        let applied = (|| {
            let (dir, whiteouts) = self.snapshotter.apply_dir(&key)?;
            apply_layer(
                self.content.open(&blob.digest)?,
                &dir,
                &ApplyOptions {
                    whiteouts,
                    ..Default::default()
                },
            )
        })();
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                let _ = self.snapshotter.remove(&key);
                let _ = self.content.delete(&blob.digest);
                return Err(e);
            }
        };
        let chain = applied.diff_id.clone();
        self.write_layer_meta(
            &chain,
            &LayerMeta {
                diff_id: applied.diff_id.clone(),
                size: applied.content_size,
            },
        )?;
        match self.snapshotter.commit(&chain.to_string(), &key) {
            Ok(()) => {}
            Err(e) if e.kind() == crate::ErrorKind::AlreadyExists => {
                self.snapshotter.remove(&key)?
            }
            Err(e) => {
                let _ = self.snapshotter.remove(&key);
                return Err(e);
            }
        }
        let created = crate::time::now();
        let config = json!({
            "architecture": opts.architecture,
            "os": opts.os,
            "created": created,
            "comment": opts.comment,
            "config": cfg,
            "rootfs": { "type": "layers", "diff_ids": [applied.diff_id.to_string()] },
            "history": [ { "created": created, "comment": opts.comment } ],
        });
        let config_bytes =
            serde_json::to_vec(&config).map_err(|e| Error::json("image config", e))?;
        let config_info = self.content.ingest(
            &mut &config_bytes[..],
            &Expected::exact(Digest::sha256_of(&config_bytes), config_bytes.len() as u64),
        )?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config_info.digest.to_string(), "size": config_info.size },
            "layers": [ { "mediaType": applied.compression.oci_media_type(), "digest": blob.digest.to_string(), "size": blob.size } ],
        });
        let manifest_bytes =
            serde_json::to_vec(&manifest).map_err(|e| Error::json("image manifest", e))?;
        let m = self
            .content
            .ingest(&mut &manifest_bytes[..], &Expected::default())?;
        let tags: Vec<Reference> = opts.reference.iter().cloned().collect();
        self.add_image(&m.digest, Some(OCI_MANIFEST), &tags, None)
    }
}
