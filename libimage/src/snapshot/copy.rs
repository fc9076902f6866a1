//! The copy-based snapshotter, for file systems without overlayfs: each snapshot's
//! directory holds the whole tree; preparing a snapshot copies its parent.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::meta::{Info, Kind, MetaStore};
use super::usage::Usage;
use super::{root_mount, Snapshotter};
use crate::error::{Error, Result};
use crate::fsutil::create_dir_all;
use crate::layer::fsops;
use crate::layer::WhiteoutMode;

/// Snapshots as full copies. Works on any file system; costs a copy per layer.
#[derive(Debug, Clone)]
pub struct CopySnapshotter {
    meta: MetaStore,
}

impl CopySnapshotter {
    /// Opens (creating) the snapshotter directory `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        create_dir_all(root.as_ref(), 0o700)?;
        Ok(CopySnapshotter {
            meta: MetaStore::open(root.as_ref())?,
        })
    }
}

impl Snapshotter for CopySnapshotter {
    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.meta.update(|r| {
            let info = r.create(key, parent, Kind::Active)?;
            let fs = self.meta.fs(info.id);
            create_dir_all(&fs, 0o755)?;
            if let Some(p) = parent {
                let pid = self.meta.get(p)?.id;
                copy_tree(&self.meta.fs(pid), &fs)?;
            }
            Ok(())
        })?;
        self.mounts(key)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.meta.update(|r| {
            let info = r.create(key, parent, Kind::View)?;
            create_dir_all(&self.meta.fs(info.id), 0o755)
        })?;
        self.mounts(key)
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let chain = self.meta.chain(key)?;
        let me = &chain[0];
        let m = match me.kind {
            Kind::Active => root_mount(
                "bind",
                &self.meta.fs(me.id),
                vec!["rbind".into(), "rw".into()],
            ),
            Kind::View => {
                let src = chain
                    .get(1)
                    .map(|p| self.meta.fs(p.id))
                    .unwrap_or_else(|| self.meta.fs(me.id));
                root_mount("bind", &src, vec!["rbind".into(), "ro".into()])
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
        self.meta.update(|r| r.commit(name, key)).map(drop)
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
        Ok((self.meta.active_fs(key)?, WhiteoutMode::Apply))
    }

    fn layered(&self) -> bool {
        false
    }

    fn layer_dirs(&self, key: &str) -> Result<Vec<PathBuf>> {
        let info = self.meta.get(key)?;
        let id = if info.kind == Kind::View {
            match &info.parent {
                Some(p) => self.meta.get(p)?.id,
                None => info.id,
            }
        } else {
            info.id
        };
        Ok(vec![self.meta.fs(id)])
    }
}

/// Copies the tree `src` into the existing directory `dst`, keeping types, modes, owners,
/// times, xattrs and hard links, never following a link.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let s = fsops::Root::open(src).map_err(|e| Error::io("open", src, e))?;
    let d = fsops::Root::open(dst).map_err(|e| Error::io("open", dst, e))?;
    let mut links = std::collections::HashMap::new();
    copy_dir(s.fd(), d.fd(), src, &mut links)?;
    let st = fsops::fstat(s.fd()).map_err(|e| Error::io("stat", src, e))?;
    copy_meta(s.fd(), d.fd(), &st).map_err(|e| Error::io("copy metadata", dst, e))
}

type LinkMap = std::collections::HashMap<(u64, u64), (OwnedFd, std::ffi::OsString)>;

fn copy_meta(src: RawFd, dst: RawFd, st: &libc::stat) -> std::io::Result<()> {
    fsops::fchown(dst, st.st_uid, st.st_gid)?;
    fsops::fchmod(dst, st.st_mode & 0o7777)?;
    for (k, v) in fsops::fxattrs(src)? {
        let _ = fsops::fsetxattr(dst, &k, &v);
    }
    fsops::futimens(
        dst,
        (st.st_atime, st.st_atime_nsec),
        (st.st_mtime, st.st_mtime_nsec),
    )
}

fn copy_dir(src: RawFd, dst: RawFd, path: &Path, links: &mut LinkMap) -> Result<()> {
    let ioe = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| Error::io(op, p, e)
    };
    for name in fsops::list_dir(src).map_err(ioe("list", path))? {
        let p = path.join(&name);
        let Some(st) = fsops::lstat_at(src, &name).map_err(ioe("stat", &p))? else {
            continue;
        };
        let fmt = st.st_mode & libc::S_IFMT;
        match fmt {
            libc::S_IFDIR => {
                fsops::mkdirat(dst, &name, 0o700).map_err(ioe("mkdir", &p))?;
                let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
                let s = fsops::open_at(src, &name, flags).map_err(ioe("open", &p))?;
                let d = fsops::open_at(dst, &name, flags).map_err(ioe("open", &p))?;
                copy_dir(s.as_raw_fd(), d.as_raw_fd(), &p, links)?;
                copy_meta(s.as_raw_fd(), d.as_raw_fd(), &st).map_err(ioe("copy metadata", &p))?;
            }
            libc::S_IFREG => {
                if st.st_nlink > 1 {
                    if let Some((ldir, lname)) = links.get(&(st.st_dev, st.st_ino)) {
                        fsops::linkat(ldir.as_raw_fd(), lname, dst, &name)
                            .map_err(ioe("link", &p))?;
                        continue;
                    }
                }
                let s = fsops::open_at(src, &name, libc::O_RDONLY | libc::O_NOFOLLOW)
                    .map_err(ioe("open", &p))?;
                let d = fsops::open_at_mode(
                    dst,
                    &name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                    0o600,
                )
                .map_err(ioe("create", &p))?;
                let mut sf = std::fs::File::from(s);
                let mut df = std::fs::File::from(d);
                std::io::copy(&mut sf, &mut df).map_err(ioe("copy", &p))?;
                copy_meta(sf.as_raw_fd(), df.as_raw_fd(), &st).map_err(ioe("copy metadata", &p))?;
                if st.st_nlink > 1 {
                    // SAFETY: F_DUPFD_CLOEXEC on a valid fd gives a new owned fd.
                    let dup = unsafe { libc::fcntl(dst, libc::F_DUPFD_CLOEXEC, 0) };
                    if dup >= 0 {
                        // SAFETY: dup is a fresh fd we own.
                        let owned = unsafe { std::os::fd::FromRawFd::from_raw_fd(dup) };
                        links.insert((st.st_dev, st.st_ino), (owned, name.clone()));
                    }
                }
            }
            libc::S_IFLNK => {
                let target = fsops::readlink_at(src, &name).map_err(ioe("readlink", &p))?;
                fsops::symlinkat(&target, dst, &name).map_err(ioe("symlink", &p))?;
                fsops::lchown_at(dst, &name, st.st_uid, st.st_gid).map_err(ioe("chown", &p))?;
                fsops::lutimens_at(
                    dst,
                    &name,
                    (st.st_atime, st.st_atime_nsec),
                    (st.st_mtime, st.st_mtime_nsec),
                )
                .map_err(ioe("set times of", &p))?;
            }
            _ => {
                fsops::mknodat(dst, &name, st.st_mode, st.st_rdev).map_err(ioe("mknod", &p))?;
                fsops::lchown_at(dst, &name, st.st_uid, st.st_gid).map_err(ioe("chown", &p))?;
                fsops::chmod_at(dst, &name, st.st_mode & 0o7777).map_err(ioe("chmod", &p))?;
                fsops::lutimens_at(
                    dst,
                    &name,
                    (st.st_atime, st.st_atime_nsec),
                    (st.st_mtime, st.st_mtime_nsec),
                )
                .map_err(ioe("set times of", &p))?;
            }
        }
    }
    Ok(())
}
