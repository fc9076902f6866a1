//! Writing a merged tree as a tar stream (`export`, and the entries of change layers).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::walk::{Entry, Layers};
use crate::error::{Error, Result};
use crate::layer::fsops;

/// Writes tar entries for tree entries, remembering hard links.
pub(crate) struct TarWriter<'w> {
    pub(crate) tar: tar::Builder<&'w mut dyn Write>,
    links: HashMap<(u64, u64), PathBuf>,
    /// `SOURCE_DATE_EPOCH`: no entry's time is later.
    clamp: Option<u64>,
}

fn ioe(p: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io("write tar entry", p, e)
}

impl<'w> TarWriter<'w> {
    pub(crate) fn new(out: &'w mut dyn Write) -> Self {
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Complete);
        TarWriter {
            tar,
            links: HashMap::new(),
            clamp: None,
        }
    }

    /// Entry times clamped to `epoch` (reproducible layers).
    pub(crate) fn clamped(mut self, epoch: Option<u64>) -> Self {
        self.clamp = epoch;
        self
    }

    fn header(&self, st: &libc::stat, typ: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(typ);
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(st.st_uid as u64);
        h.set_gid(st.st_gid as u64);
        let mtime = st.st_mtime.max(0) as u64;
        h.set_mtime(self.clamp.map_or(mtime, |c| mtime.min(c)));
        h.set_size(0);
        h
    }

    /// Appends the tree entry `e`.
    pub(crate) fn append(&mut self, e: &Entry<'_>) -> Result<()> {
        let st = e.stat;
        let p = e.path;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                let mut h = self.header(st, tar::EntryType::Directory);
                let name = format!("{}/", p.display());
                self.tar
                    .append_data(&mut h, name, std::io::empty())
                    .map_err(ioe(p))
            }
            libc::S_IFREG => {
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&(st.st_dev, st.st_ino)) {
                        let mut h = self.header(st, tar::EntryType::Link);
                        return self.tar.append_link(&mut h, p, first).map_err(ioe(p));
                    }
                    self.links.insert((st.st_dev, st.st_ino), p.to_path_buf());
                }
                let fd = fsops::open_at(
                    e.dir,
                    e.name,
                    libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                )
                .map_err(ioe(p))?;
                // Describe what was opened, not what was listed: it may have changed since.
                let st2 = fsops::fstat(fd.as_raw_fd()).map_err(ioe(p))?;
                if st2.st_mode & libc::S_IFMT != libc::S_IFREG {
                    return Ok(());
                }
                if let Ok(Some(cap)) = fsops::fgetxattr(fd.as_raw_fd(), b"security.capability") {
                    let ext = [("SCHILY.xattr.security.capability", cap.as_slice())];
                    self.tar.append_pax_extensions(ext).map_err(ioe(p))?;
                }
                let mut h = self.header(&st2, tar::EntryType::Regular);
                let size = st2.st_size as u64;
                h.set_size(size);
                let file = std::fs::File::from(fd);
                // Exactly `size` bytes even if the file shrinks or grows meanwhile.
                let reader = file.take(size).chain(std::io::repeat(0)).take(size);
                self.tar.append_data(&mut h, p, reader).map_err(ioe(p))
            }
            libc::S_IFLNK => {
                let target = fsops::readlink_at(e.dir, e.name).map_err(ioe(p))?;
                let mut h = self.header(st, tar::EntryType::Symlink);
                let t = std::ffi::OsStr::new(std::str::from_utf8(&target).unwrap_or_default());
                self.tar.append_link(&mut h, p, t).map_err(ioe(p))
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                let typ = match st.st_mode & libc::S_IFMT {
                    libc::S_IFCHR => tar::EntryType::Char,
                    libc::S_IFBLK => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                let mut h = self.header(st, typ);
                if typ != tar::EntryType::Fifo {
                    let _ = h.set_device_major(libc::major(st.st_rdev));
                    let _ = h.set_device_minor(libc::minor(st.st_rdev));
                }
                self.tar
                    .append_data(&mut h, p, std::io::empty())
                    .map_err(ioe(p))
            }
            // Sockets are not archived (as in Docker).
            _ => Ok(()),
        }
    }

    /// An empty regular file entry (whiteouts).
    pub(crate) fn append_empty(&mut self, path: &Path, mtime: u64) -> Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        h.set_mtime(mtime);
        self.tar
            .append_data(&mut h, path, std::io::empty())
            .map_err(ioe(path))
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        self.tar
            .finish()
            .map_err(|e| Error::io("write tar", "-", e))
    }
}

/// Writes the merged view under the directory `rel` of `layers` to `out` as a tar stream
/// with paths relative to it; `Ok(false)` (and no stream) if `rel` is absent or not a
/// directory.
pub fn write_subtree_tar(layers: &Layers, rel: &Path, out: &mut dyn Write) -> Result<bool> {
    let mut w = TarWriter::new(out);
    if !layers.walk_under(rel, &mut |e| w.append(e))? {
        return Ok(false);
    }
    w.finish()?;
    Ok(true)
}

/// Writes the merged view of `layers` to `out` as a tar stream.
pub fn write_tree_tar(layers: &Layers, out: &mut dyn Write) -> Result<()> {
    let mut w = TarWriter::new(out);
    layers.walk(&mut |e| w.append(e))?;
    w.finish()
}
