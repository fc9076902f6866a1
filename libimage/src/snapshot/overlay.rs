//! The overlayfs snapshotter: each snapshot's directory holds only its own changes; an
//! active snapshot is an overlay mount of its parents (lower) and its directory (upper).

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::meta::{remove_tree, Info, Kind, MetaStore};
use super::usage::Usage;
use super::{root_mount, Snapshotter};
use crate::error::{Error, Result};
use crate::fsutil::create_dir_all;
use crate::layer::WhiteoutMode;

/// Snapshots on overlayfs. Needs a kernel with overlayfs and root (or a user namespace).
#[derive(Debug, Clone)]
pub struct OverlaySnapshotter {
    meta: MetaStore,
}

impl OverlaySnapshotter {
    /// Opens (creating) the snapshotter directory `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        create_dir_all(root.as_ref(), 0o700)?;
        Ok(OverlaySnapshotter {
            meta: MetaStore::open(root.as_ref())?,
        })
    }

    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Vec<Mount>> {
        self.meta.update(|r| {
            let info = r.create(key, parent, kind)?;
            let dir = self.meta.dir(info.id);
            create_dir_all(&dir.join("fs"), 0o755)?;
            if kind == Kind::Active {
                create_dir_all(&dir.join("work"), 0o700)?;
            }
            Ok(())
        })?;
        self.mounts(key)
    }
}

impl Snapshotter for OverlaySnapshotter {
    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.create(key, parent, Kind::Active)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.create(key, parent, Kind::View)
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let chain = self.meta.chain(key)?;
        let me = &chain[0];
        let lowers: Vec<PathBuf> = chain[1..].iter().map(|i| self.meta.fs(i.id)).collect();
        let m = match me.kind {
            Kind::Active if lowers.is_empty() => root_mount(
                "bind",
                &self.meta.fs(me.id),
                vec!["rbind".into(), "rw".into()],
            ),
            Kind::Active => {
                let dir = self.meta.dir(me.id);
                let lower = lowers
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":");
                root_mount(
                    "overlay",
                    Path::new("overlay"),
                    vec![
                        format!("workdir={}", dir.join("work").display()),
                        format!("upperdir={}", dir.join("fs").display()),
                        format!("lowerdir={lower}"),
                    ],
                )
            }
            Kind::View if lowers.len() <= 1 => {
                let src = lowers
                    .first()
                    .cloned()
                    .unwrap_or_else(|| self.meta.fs(me.id));
                root_mount("bind", &src, vec!["rbind".into(), "ro".into()])
            }
            Kind::View => {
                let lower = lowers
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":");
                root_mount(
                    "overlay",
                    Path::new("overlay"),
                    vec![format!("lowerdir={lower}")],
                )
            }
            Kind::Committed => {
                return Err(Error::InvalidArgument(format!(
                    "snapshot {key} is committed; prepare or view it"
                )))
            }
        };
        Ok(vec![m])
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        let info = self.meta.update(|r| r.commit(name, key))?;
        // The work directory is only needed while the snapshot is an upper layer.
        let _ = remove_tree(&self.meta.dir(info.id).join("work"));
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.meta.remove_snapshot(key)
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.meta.get(key)
    }

    fn list(&self) -> Result<Vec<Info>> {
        self.meta.list()
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        self.meta.usage(key)
    }

    fn apply_dir(&self, key: &str) -> Result<(PathBuf, WhiteoutMode)> {
        Ok((self.meta.active_fs(key)?, WhiteoutMode::Overlay))
    }

    fn layered(&self) -> bool {
        true
    }

    fn layer_dirs(&self, key: &str) -> Result<Vec<PathBuf>> {
        Ok(self
            .meta
            .chain(key)?
            .iter()
            .map(|i| self.meta.fs(i.id))
            .collect())
    }
}
