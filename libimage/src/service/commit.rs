//! `commit`: a container's changes (its snapshot against its parent) as one new layer on
//! its image, with the container's config, as `docker commit` makes it.

use crate::error::{Error, Result};
use crate::image::{ContainerConfig, ImageRecord};
use crate::reference::Reference;

use super::ImageService;

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
    /// Records the base as the image's parent (a `build` step).
    pub record_parent: bool,
    /// The creation time (RFC 3339). By default, now.
    pub created: Option<String>,
    /// `SOURCE_DATE_EPOCH`: the layer's times clamped to it (and no `container` field),
    /// so the same changes give the same image.
    pub epoch: Option<u64>,
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
        // No change, no layer (Docker records an empty layer in the history only).
        let changes = self.changes_tar_clamped(key, &mut tmp, opts.epoch)?;
        let layer = (!changes.is_empty()).then_some(tmp);
        self.derive(
            Some(base),
            super::DeriveOptions {
                config: cfg,
                layer,
                created_by: opts.created_by.clone(),
                comment: opts.comment.clone(),
                author: opts.author.clone(),
                container: if opts.epoch.is_some() {
                    String::new()
                } else {
                    opts.container.clone()
                },
                created: opts.created.clone(),
                record_parent: opts.record_parent,
                reference: opts.reference.clone(),
            },
        )
    }
}
