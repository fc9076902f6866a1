//! The merged walk.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layer::fsops;

/// A stack of layer directories, top first. With `overlay` set, whiteout devices and the
/// opaque attribute apply; otherwise only the first directory is read (a full tree).
pub struct Layers {
    roots: Vec<OwnedFd>,
    overlay: bool,
}

/// One visible entry of the merged tree.
pub struct Entry<'a> {
    /// Path relative to the root (no leading `/`).
    pub path: &'a Path,
    /// Its metadata (not following links).
    pub stat: &'a libc::stat,
    /// The directory fd (in the layer that provides it) holding it.
    pub dir: RawFd,
    /// Its name in `dir`.
    pub name: &'a std::ffi::OsStr,
}

fn open_dir(dir: RawFd, name: &std::ffi::OsStr) -> std::io::Result<OwnedFd> {
    fsops::open_at(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )
}

impl Layers {
    /// Opens the stack.
    pub fn open(dirs: &[PathBuf], overlay: bool) -> Result<Self> {
        let n = if overlay {
            dirs.len()
        } else {
            dirs.len().min(1)
        };
        let roots = dirs[..n]
            .iter()
            .map(|d| {
                fsops::open_at(
                    libc::AT_FDCWD,
                    d.as_os_str(),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                )
                .map_err(|e| Error::io("open", d, e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Layers { roots, overlay })
    }

    fn opaque(&self, fd: RawFd) -> bool {
        self.overlay
            && matches!(fsops::fgetxattr(fd, b"trusted.overlay.opaque"), Ok(Some(v)) if v == b"y")
    }

    /// Calls `visit` for every visible entry, parents before children, names sorted.
    pub fn walk(&self, visit: &mut dyn FnMut(&Entry<'_>) -> Result<()>) -> Result<()> {
        let dirs: Vec<Option<OwnedFd>> = self
            .roots
            .iter()
            .map(|r| {
                fsops::open_at(
                    r.as_raw_fd(),
                    std::ffi::OsStr::new("."),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                )
                .ok()
            })
            .collect();
        self.walk_dir(&dirs, Path::new(""), visit)
    }

    /// Calls `visit` for every visible entry under the directory `rel` (paths relative to
    /// it); `Ok(false)` without visiting if `rel` is absent or not a directory in the merged
    /// view. No component of `rel` is followed if it is a link.
    pub fn walk_under(
        &self,
        rel: &Path,
        visit: &mut dyn FnMut(&Entry<'_>) -> Result<()>,
    ) -> Result<bool> {
        match self.dir_stack(rel)? {
            Some(dirs) => {
                self.walk_dir(&dirs, Path::new(""), visit)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The topmost visible entry `rel` (a final link not followed, no component of `rel`
    /// followed either): its metadata, the directory holding it and its name there, to
    /// open or read it with `*at` calls. `Ok(None)` if absent.
    pub fn lookup(&self, rel: &Path) -> Result<Option<(libc::stat, OwnedFd, OsString)>> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        let Some(name) = rel.file_name() else {
            return Ok(None);
        };
        let Some(dirs) = self.dir_stack(parent)? else {
            return Ok(None);
        };
        for fd in dirs.into_iter().flatten() {
            match fsops::lstat_at(fd.as_raw_fd(), name).map_err(|e| Error::io("stat", rel, e))? {
                None => continue,
                Some(st) if self.overlay && fsops::is_whiteout(&st) => return Ok(None),
                Some(st) => return Ok(Some((st, fd, name.to_os_string()))),
            }
        }
        Ok(None)
    }

    /// The directory fds, per layer, that make up the merged directory `rel` (`None` where a
    /// layer does not contribute); `None` if it is not a directory in the merged view.
    fn dir_stack(&self, rel: &Path) -> Result<Option<Vec<Option<OwnedFd>>>> {
        let mut active: Vec<Option<OwnedFd>> = self
            .roots
            .iter()
            .take(if self.overlay { usize::MAX } else { 1 })
            .map(|r| {
                fsops::open_at(
                    r.as_raw_fd(),
                    std::ffi::OsStr::new("."),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                )
                .map(Some)
                .map_err(|e| Error::io("open", rel, e))
            })
            .collect::<Result<_>>()?;
        for c in rel.components() {
            let c = c.as_os_str();
            let mut next: Vec<Option<OwnedFd>> = (0..active.len()).map(|_| None).collect();
            let mut any = false;
            for (i, fd) in active.iter().enumerate() {
                let Some(fd) = fd else { continue };
                let Some(st) =
                    fsops::lstat_at(fd.as_raw_fd(), c).map_err(|e| Error::io("stat", rel, e))?
                else {
                    continue;
                };
                if !fsops::is_dir(&st) || (self.overlay && fsops::is_whiteout(&st)) {
                    // The topmost entry decides: a file, link or whiteout hides the rest.
                    if !any {
                        return Ok(None);
                    }
                    break;
                }
                let d = open_dir(fd.as_raw_fd(), c).map_err(|e| Error::io("open", rel, e))?;
                let stop = self.opaque(d.as_raw_fd());
                next[i] = Some(d);
                any = true;
                if stop {
                    break;
                }
            }
            if !any {
                return Ok(None);
            }
            active = next;
        }
        Ok(Some(active))
    }

    fn walk_dir(
        &self,
        dirs: &[Option<OwnedFd>],
        rel: &Path,
        visit: &mut dyn FnMut(&Entry<'_>) -> Result<()>,
    ) -> Result<()> {
        let ioe = |op: &'static str| {
            let p = rel.to_path_buf();
            move |e: std::io::Error| Error::io(op, p, e)
        };
        let mut found: BTreeMap<OsString, (usize, libc::stat)> = BTreeMap::new();
        let mut hidden: HashSet<OsString> = HashSet::new();
        for (i, fd) in dirs.iter().enumerate() {
            let Some(fd) = fd else { continue };
            for name in fsops::list_dir(fd.as_raw_fd()).map_err(ioe("list"))? {
                if found.contains_key(&name) || hidden.contains(&name) {
                    continue;
                }
                let Some(st) = fsops::lstat_at(fd.as_raw_fd(), &name).map_err(ioe("stat"))? else {
                    continue;
                };
                if self.overlay && fsops::is_whiteout(&st) {
                    hidden.insert(name);
                } else {
                    found.insert(name, (i, st));
                }
            }
            if self.opaque(fd.as_raw_fd()) {
                break;
            }
        }
        for (name, (i, st)) in found {
            let path = rel.join(&name);
            let dir = dirs[i].as_ref().expect("found in this layer").as_raw_fd();
            visit(&Entry {
                path: &path,
                stat: &st,
                dir,
                name: &name,
            })?;
            if fsops::is_dir(&st) {
                let mut child: Vec<Option<OwnedFd>> = (0..dirs.len()).map(|_| None).collect();
                child[i] = Some(open_dir(dir, &name).map_err(ioe("open"))?);
                // Lower layers contribute while they hold a directory of that name and no
                // layer above hid it (a whiteout or a non-directory ends the merge).
                if !self.opaque(child[i].as_ref().expect("set").as_raw_fd()) {
                    for (j, lower) in dirs.iter().enumerate().skip(i + 1) {
                        let Some(lfd) = lower else { continue };
                        match fsops::lstat_at(lfd.as_raw_fd(), &name).map_err(ioe("stat"))? {
                            None => continue,
                            Some(ls) if fsops::is_dir(&ls) => {
                                let fd = open_dir(lfd.as_raw_fd(), &name).map_err(ioe("open"))?;
                                let stop = self.opaque(fd.as_raw_fd());
                                child[j] = Some(fd);
                                if stop {
                                    break;
                                }
                            }
                            Some(_) => break,
                        }
                    }
                }
                self.walk_dir(&child, &path, visit)?;
            }
        }
        Ok(())
    }

    /// Whether `rel` exists in the merged view of the layers from `from` down.
    pub fn exists(&self, rel: &Path, from: usize) -> Result<bool> {
        let mut active: Vec<OwnedFd> = Vec::new();
        for r in self.roots.iter().skip(from) {
            active.push(
                fsops::open_at(
                    r.as_raw_fd(),
                    std::ffi::OsStr::new("."),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                )
                .map_err(|e| Error::io("open", rel, e))?,
            );
            if !self.overlay {
                break;
            }
        }
        let comps: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_os_string())
            .collect();
        for (k, c) in comps.iter().enumerate() {
            let last = k + 1 == comps.len();
            let mut next = Vec::new();
            for fd in &active {
                let Some(st) =
                    fsops::lstat_at(fd.as_raw_fd(), c).map_err(|e| Error::io("stat", rel, e))?
                else {
                    continue;
                };
                if self.overlay && fsops::is_whiteout(&st) {
                    break;
                }
                if last {
                    return Ok(true);
                }
                if !fsops::is_dir(&st) {
                    break;
                }
                let d = open_dir(fd.as_raw_fd(), c).map_err(|e| Error::io("open", rel, e))?;
                let stop = self.opaque(d.as_raw_fd());
                next.push(d);
                if stop {
                    break;
                }
            }
            if next.is_empty() {
                return Ok(false);
            }
            active = next;
        }
        Ok(comps.is_empty())
    }

    /// The stat of `rel` in the merged view of the layers from `from` down.
    pub fn stat(&self, rel: &Path, from: usize) -> Result<Option<libc::stat>> {
        let mut result = None;
        let parent = rel.parent().unwrap_or(Path::new(""));
        let name = rel.file_name().unwrap_or_default().to_os_string();
        if !self.exists(rel, from)? {
            return Ok(None);
        }
        for r in self.roots.iter().skip(from) {
            if let Ok(d) = self.open_path(r.as_raw_fd(), parent) {
                if let Some(st) =
                    fsops::lstat_at(d.as_raw_fd(), &name).map_err(|e| Error::io("stat", rel, e))?
                {
                    result = Some(st);
                    break;
                }
            }
            if !self.overlay {
                break;
            }
        }
        Ok(result)
    }

    /// Reads a small regular file of the merged view (at most `limit` bytes), never
    /// following a link; `Ok(None)` if it is absent or not a regular file.
    pub fn read_file(&self, rel: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
        use std::io::Read;
        let Some(st) = self.stat(rel, 0)? else {
            return Ok(None);
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Ok(None);
        }
        let parent = rel.parent().unwrap_or(Path::new(""));
        let name = rel.file_name().unwrap_or_default();
        for r in &self.roots {
            let Ok(d) = self.open_path(r.as_raw_fd(), parent) else {
                continue;
            };
            if let Ok(fd) = fsops::open_at(
                d.as_raw_fd(),
                name,
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
            ) {
                let mut data = Vec::new();
                std::fs::File::from(fd)
                    .take(limit)
                    .read_to_end(&mut data)
                    .map_err(|e| Error::io("read", rel, e))?;
                return Ok(Some(data));
            }
            if !self.overlay {
                break;
            }
        }
        Ok(None)
    }

    fn open_path(&self, root: RawFd, rel: &Path) -> std::io::Result<OwnedFd> {
        let mut cur = fsops::open_at(
            root,
            std::ffi::OsStr::new("."),
            libc::O_RDONLY | libc::O_DIRECTORY,
        )?;
        for c in rel.components() {
            cur = open_dir(cur.as_raw_fd(), c.as_os_str())?;
        }
        Ok(cur)
    }
}
