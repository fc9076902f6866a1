//! `derive`: a new image from an image (or from nothing, `FROM scratch`), a config and at
//! most one new layer, with one more history entry. `commit` and each step of `build`
//! make their images through it.

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

/// What [`ImageService::derive`] records.
#[derive(Debug, Default)]
pub struct DeriveOptions {
    /// The new image's `config` (Cmd, Env, ...).
    pub config: ContainerConfig,
    /// An uncompressed layer tar to add on top, read from its start. `None`: no layer
    /// (the history entry then says `empty_layer`).
    pub layer: Option<std::fs::File>,
    /// The history entry's `created_by`.
    pub created_by: String,
    /// The history entry's `comment` (none when empty).
    pub comment: String,
    /// The image's and the history entry's `author` (none when empty).
    pub author: String,
    /// The config's `container` field (the container the layer came from), if any.
    pub container: String,
    /// The creation time (RFC 3339). By default, now.
    pub created: Option<String>,
    /// Records the base as the new image's parent (Docker's `Parent`, set by `build`).
    pub record_parent: bool,
    /// A name to give the new image.
    pub reference: Option<Reference>,
}

/// The config of an image without layers (`FROM scratch`).
fn scratch_config() -> Value {
    json!({
        "architecture": super::import::go_arch(),
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    })
}

impl ImageService {
    /// Makes a new image from `base` (`None`: an empty one) and `opts`: the layer (if any)
    /// becomes a content blob and a snapshot on `base`'s, the config is `base`'s with
    /// `opts.config`, the layer's diff_id and one more history entry. An identical result
    /// (same config bytes) is the same image, so a repeated derivation is stable.
    pub fn derive(
        &self,
        base: Option<&ImageRecord>,
        mut opts: DeriveOptions,
    ) -> Result<ImageRecord> {
        let layer = match opts.layer.as_mut() {
            Some(f) => {
                f.seek(SeekFrom::Start(0))
                    .map_err(|e| Error::io("seek", self.root(), e))?;
                Some(self.content.ingest(f, &Expected::default())?)
            }
            None => None,
        };
        let mut config: Value = match base {
            Some(b) => self.config(b)?.raw().clone(),
            None => scratch_config(),
        };
        let created = opts.created.clone().unwrap_or_else(crate::time::now);
        let obj = config
            .as_object_mut()
            .ok_or_else(|| Error::document("image config", "not an object"))?;
        obj.insert("created".into(), json!(created));
        obj.insert(
            "config".into(),
            serde_json::to_value(&opts.config).map_err(|e| Error::json("config", e))?,
        );
        if opts.container.is_empty() {
            obj.remove("container");
        } else {
            obj.insert("container".into(), json!(opts.container));
        }
        // The base's `comment` (`Imported from -`) is not the new image's.
        if opts.comment.is_empty() {
            obj.remove("comment");
        } else {
            obj.insert("comment".into(), json!(opts.comment));
        }
        if opts.author.is_empty() {
            obj.remove("author");
        } else {
            obj.insert("author".into(), json!(opts.author));
        }
        let mut diff_ids: Vec<Value> = obj
            .get("rootfs")
            .and_then(|r| r.get("diff_ids"))
            .and_then(|d| d.as_array().cloned())
            .unwrap_or_default();
        if let Some(l) = &layer {
            diff_ids.push(json!(l.digest.to_string()));
        }
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
        if layer.is_none() {
            h["empty_layer"] = json!(true);
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
            .map(|b| b.layers.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|l| json!({"mediaType": l.media_type, "digest": l.blob.to_string(), "size": l.blob_size}))
            .collect();
        if let Some(l) = &layer {
            layers.push(
                json!({"mediaType": OCI_LAYER_TAR, "digest": l.digest.to_string(), "size": l.size}),
            );
        }
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
        let rec = self.add_image(&m.digest, Some(OCI_MANIFEST), &tags, None)?;
        match base {
            Some(b) if opts.record_parent && rec.parent.is_none() && b.id != rec.id => {
                let parent = b.id.clone();
                self.records.update(|images| {
                    let r = images
                        .get_mut(&rec.id.to_string())
                        .ok_or_else(|| Error::NotFound {
                            what: "No such image",
                            name: rec.id.to_string(),
                        })?;
                    r.parent = Some(parent.clone());
                    Ok(r.clone())
                })
            }
            _ => Ok(rec),
        }
    }
}
