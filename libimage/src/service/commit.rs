//! `commit`: a container's changes (its snapshot against its parent) as one new layer on
//! its image, with the container's config, as `docker commit` makes it.

use std::io::{Seek, SeekFrom};

use serde_json::{json, Value};

use crate::content::{ContentStore, Expected};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{ContainerConfig, ImageRecord, OCI_CONFIG, OCI_MANIFEST};
use crate::reference::Reference;

use super::ImageService;

/// Media type of an uncompressed OCI layer.
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// What [`ImageService::commit`] records.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The name to give the image. By default, none (a dangling image).
    pub reference: Option<Reference>,
    /// `--author`.
    pub author: String,
    /// `--message`.
    pub comment: String,
    /// The container's config (Cmd, Env, ...), the new image's `config`.
    pub config: ContainerConfig,
    /// `--change` instructions applied to it.
    pub changes: Vec<String>,
    /// The container's ID (the config's `container` field, as Docker records it).
    pub container: String,
    /// What history says made the layer (Docker: the container's command).
    pub created_by: String,
}

impl ImageService {
    /// Commits snapshot `key` (a container's writable layer) on `base` (its image): the
    /// changes become an uncompressed layer blob, the config is `base`'s with the layer's
    /// diff_id, a history entry and `opts.config` (with `opts.changes` applied).
    pub fn commit(
        &self,
        key: &str,
        base: &ImageRecord,
        opts: &CommitOptions,
    ) -> Result<ImageRecord> {
        let mut cfg = opts.config.clone();
        for c in &opts.changes {
            cfg.apply_change(c)?;
        }
        // The changes, as a tar, through a private temp file (a layer may be large).
        // An unnamed file (O_TMPFILE): nothing to clean up whatever happens.
        let mut tmp = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_TMPFILE)
                .mode(0o600)
                .open(self.root())
                .map_err(|e| Error::io("create a temporary file in", self.root(), e))?
        };
        self.changes_tar(key, &mut tmp)?;
        tmp.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("seek", self.root(), e))?;
        let blob = self.content.ingest(&mut tmp, &Expected::default())?;
        let diff_id = blob.digest.clone();

        let base_cfg = self.config(base)?;
        let mut config: Value = base_cfg.raw().clone();
        let created = crate::time::now();
        let obj = config
            .as_object_mut()
            .ok_or_else(|| Error::document("image config", "not an object"))?;
        obj.insert("created".into(), json!(created));
        obj.insert(
            "config".into(),
            serde_json::to_value(&cfg).map_err(|e| Error::json("config", e))?,
        );
        obj.insert("container".into(), json!(opts.container));
        if opts.author.is_empty() {
            obj.remove("author");
        } else {
            obj.insert("author".into(), json!(opts.author));
        }
        let mut diff_ids: Vec<Value> = base_cfg
            .diff_ids()
            .iter()
            .map(|d| json!(d.to_string()))
            .collect();
        diff_ids.push(json!(diff_id.to_string()));
        obj.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": diff_ids}),
        );
        let mut history = obj
            .get("history")
            .and_then(|h| h.as_array().cloned())
            .unwrap_or_default();
        let mut h = json!({"created": created, "created_by": opts.created_by});
        if !opts.author.is_empty() {
            h["author"] = json!(opts.author);
        }
        if !opts.comment.is_empty() {
            h["comment"] = json!(opts.comment);
        }
        history.push(h);
        obj.insert("history".into(), Value::Array(history));
        let config_bytes =
            serde_json::to_vec(&config).map_err(|e| Error::json("image config", e))?;
        let config_info = self.content.ingest(
            &mut &config_bytes[..],
            &Expected::exact(Digest::sha256_of(&config_bytes), config_bytes.len() as u64),
        )?;
        let mut layers: Vec<Value> = base
            .layers
            .iter()
            .map(|l| json!({"mediaType": l.media_type, "digest": l.blob.to_string(), "size": l.blob_size}))
            .collect();
        layers.push(json!({"mediaType": OCI_LAYER_TAR, "digest": blob.digest.to_string(), "size": blob.size}));
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_info.digest.to_string(), "size": config_info.size},
            "layers": layers,
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
