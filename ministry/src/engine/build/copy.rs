//! `COPY` and `ADD`: the layer is written straight from the sources (the context, or
//! another stage's image read through its layers) as a tar, with Docker's destination
//! rules, owners and modes; no container and no mount. The same walk gives the content
//! hash the cache is keyed by (names, modes, owners, link targets and file contents;
//! not times, as Docker's).

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use libimage::layer::fsops;
use libimage::tree::Layers;
use sha2::{Digest as _, Sha256};

use crate::engine::Error;

/// Where the files of one `COPY`/`ADD` come from and go.
pub(super) struct CopyInput<'a> {
    /// The tree the sources are read from.
    pub fs: &'a Layers,
    /// The sources: where each is read, relative to `fs` (empty: its root), and the
    /// name it has at the destination.
    pub sources: Vec<(PathBuf, std::ffi::OsString)>,
    /// The context's files after `.dockerignore` (none for another image).
    pub include: Option<&'a libimage::dockerfile::ignore::BuildContext>,
    /// The destination, absolute, a trailing `/` kept.
    pub dest: String,
    /// `--chown`, resolved. `None`: root for the context, kept for another image.
    pub owner: Option<(u32, u32)>,
    /// `--chmod`.
    pub chmod: Option<u32>,
    /// `ADD`: a local tar archive (plain or compressed) is unpacked at the destination.
    pub unpack: bool,
    /// `SOURCE_DATE_EPOCH`: times clamped to it.
    pub epoch: Option<i64>,
    /// The image copied into, to keep its directories' metadata and see what is a
    /// directory there.
    pub base: Option<&'a Layers>,
    /// `COPY` or `ADD`, for errors.
    pub verb: &'static str,
}

/// One entry to write.
struct Item {
    /// Where it is read (relative to `fs`).
    src: PathBuf,
    /// Where it goes (relative to `/`).
    dest: PathBuf,
    st: libc::stat,
    /// An `ADD`ed archive to unpack into `dest`.
    archive: bool,
}

/// A planned copy: what to write, and its content hash.
pub(super) struct Plan {
    items: Vec<Item>,
    /// Docker's kind of source in the history (`file`, `dir`, `multi`).
    pub kind: &'static str,
    /// The content hash (hex).
    pub hash: String,
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}
fn is_reg(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFREG
}
fn is_lnk(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// Opens an entry of `fs` for reading (never following a link).
fn open(
    fs: &Layers,
    rel: &Path,
) -> Result<Option<(libc::stat, OwnedFd, std::ffi::OsString)>, Error> {
    Ok(fs.lookup(rel)?)
}

fn read_file(fs: &Layers, rel: &Path) -> Result<std::fs::File, Error> {
    let (_, dir, name) = open(fs, rel)?
        .ok_or_else(|| Error::io("open", rel, std::io::Error::from_raw_os_error(libc::ENOENT)))?;
    let fd = fsops::open_at(dir.as_raw_fd(), &name, libc::O_RDONLY | libc::O_NOFOLLOW)
        .map_err(|e| Error::io("open", rel, e))?;
    Ok(std::fs::File::from(fd))
}

fn read_link(fs: &Layers, rel: &Path) -> Result<Vec<u8>, Error> {
    let (_, dir, name) = open(fs, rel)?.ok_or_else(|| {
        Error::io(
            "readlink",
            rel,
            std::io::Error::from_raw_os_error(libc::ENOENT),
        )
    })?;
    fsops::readlink_at(dir.as_raw_fd(), &name).map_err(|e| Error::io("readlink", rel, e))
}

/// Whether a file starts like a tar archive (compressed or not) that `ADD` unpacks.
fn looks_like_archive(f: &mut std::fs::File) -> bool {
    let mut head = [0u8; 512];
    let n = f.read(&mut head).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(0));
    looks_like_archive_head(&head[..n])
}

/// [`looks_like_archive`] of a stream's first bytes.
pub(super) fn looks_like_archive_head(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

impl<'a> CopyInput<'a> {
    /// Resolves the sources and destination into entries, with Docker's rules: a
    /// directory's contents go into the destination; a file goes into it when it ends in
    /// `/` or is a directory in the image, else becomes it; several sources need a
    /// directory destination ending in `/`.
    pub(super) fn plan(&self) -> Result<Plan, Error> {
        let mut items = Vec::new();
        let dest_is_dir_syntax = self.dest.ends_with('/');
        let dest_rel = PathBuf::from(self.dest.trim_start_matches('/').trim_end_matches('/'));
        let dest_is_dir_in_base = match self.base {
            _ if dest_rel.as_os_str().is_empty() => true,
            Some(b) => b.stat(&dest_rel, 0)?.is_some_and(|st| is_dir(&st)),
            None => false,
        };
        if self.sources.len() > 1 && !dest_is_dir_syntax {
            return Err(Error::Build {
                message: format!(
                    "When using {} with more than one source file, the destination must be a directory and end with a /",
                    self.verb
                ),
                code: 1,
            });
        }
        let mut kind = if self.sources.len() > 1 {
            "multi"
        } else {
            "file"
        };
        for (src, name) in &self.sources {
            let st = if src.as_os_str().is_empty() {
                None
            } else {
                Some(
                    open(self.fs, src)?
                        .map(|(st, _, _)| st)
                        .ok_or_else(|| not_found(self.verb, src))?,
                )
            };
            if st.as_ref().is_none_or(is_dir) {
                if self.sources.len() == 1 {
                    kind = "dir";
                }
                if let Some(mut st) = st {
                    // The directory itself is not copied, only what it holds: its
                    // destination is made like any missing parent (0755), or kept.
                    let existing = match self.base {
                        Some(b) if !dest_rel.as_os_str().is_empty() => b.stat(&dest_rel, 0)?,
                        _ => None,
                    };
                    match existing {
                        Some(e) if is_dir(&e) => st = e,
                        _ => st.st_mode = libc::S_IFDIR | 0o755,
                    }
                    items.push(Item {
                        src: src.clone(),
                        dest: dest_rel.clone(),
                        st,
                        archive: false,
                    });
                }
                let include = self.include;
                let mut err = None;
                self.fs
                    .walk_under(src, &mut |e| {
                        let full = src.join(e.path);
                        if let Some(inc) = include {
                            if inc.kind(full.to_string_lossy().as_ref()).is_none() {
                                return Ok(());
                            }
                        }
                        items.push(Item {
                            src: full,
                            dest: dest_rel.join(e.path),
                            st: *e.stat,
                            archive: false,
                        });
                        Ok(())
                    })
                    .map_err(|e| err = Some(e))
                    .ok();
                if let Some(e) = err {
                    return Err(e.into());
                }
                continue;
            }
            let st = st.expect("not a directory");
            let name = PathBuf::from(name);
            let mut archive = false;
            if self.unpack && is_reg(&st) {
                let mut f = read_file(self.fs, src)?;
                archive = looks_like_archive(&mut f);
            }
            let dest = if archive {
                dest_rel.clone()
            } else if dest_is_dir_syntax || dest_is_dir_in_base {
                dest_rel.join(name)
            } else {
                dest_rel.clone()
            };
            items.push(Item {
                src: src.clone(),
                dest,
                st,
                archive,
            });
        }
        let hash = self.hash(&items)?;
        Ok(Plan { items, kind, hash })
    }

    fn owner_of(&self, st: &libc::stat) -> (u32, u32) {
        match (self.owner, self.include) {
            (Some(o), _) => o,
            (None, Some(_)) => (0, 0),
            (None, None) => (st.st_uid, st.st_gid),
        }
    }

    fn mode_of(&self, st: &libc::stat) -> u32 {
        match self.chmod {
            Some(m) if !is_lnk(st) => m,
            _ => st.st_mode & 0o7777,
        }
    }

    fn mtime_of(&self, st: &libc::stat) -> i64 {
        match self.epoch {
            Some(e) => st.st_mtime.min(e),
            None => st.st_mtime,
        }
    }

    fn hash(&self, items: &[Item]) -> Result<String, Error> {
        let mut h = Sha256::new();
        for it in items {
            let (uid, gid) = self.owner_of(&it.st);
            h.update(it.dest.as_os_str().as_encoded_bytes());
            h.update([0]);
            h.update(
                format!(
                    "{:o} {} {} {} {}",
                    it.st.st_mode & libc::S_IFMT | self.mode_of(&it.st),
                    uid,
                    gid,
                    it.st.st_size,
                    it.archive
                )
                .as_bytes(),
            );
            if is_reg(&it.st) {
                let mut f = read_file(self.fs, &it.src)?;
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = f
                        .read(&mut buf)
                        .map_err(|e| Error::io("read", &it.src, e))?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
            } else if is_lnk(&it.st) {
                h.update(read_link(self.fs, &it.src)?);
            }
            h.update([0]);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Writes the planned entries as an uncompressed layer tar to `out`: missing parent
    /// directories first (kept as the image has them, else `0755` root), then the entries.
    pub(super) fn write(&self, plan: &Plan, out: std::fs::File) -> Result<std::fs::File, Error> {
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Complete);
        let mut emitted: BTreeSet<PathBuf> = BTreeSet::new();
        let default_time = plan
            .items
            .iter()
            .map(|i| self.mtime_of(&i.st))
            .max()
            .unwrap_or(0);
        for it in &plan.items {
            let mut parents: Vec<&Path> = it.dest.ancestors().skip(1).collect();
            parents.reverse();
            for p in parents {
                if p.as_os_str().is_empty() || emitted.contains(p) {
                    continue;
                }
                emitted.insert(p.to_path_buf());
                let st = match self.base {
                    Some(b) => b.stat(p, 0)?,
                    None => None,
                };
                let mut hd = tar::Header::new_gnu();
                hd.set_entry_type(tar::EntryType::Directory);
                hd.set_size(0);
                match st {
                    Some(st) if is_dir(&st) => {
                        hd.set_mode(st.st_mode & 0o7777);
                        hd.set_uid(st.st_uid.into());
                        hd.set_gid(st.st_gid.into());
                        hd.set_mtime(st.st_mtime.max(0) as u64);
                    }
                    Some(_) => {
                        return Err(Error::Build {
                            message: format!(
                                "{} failed: /{} is not a directory in the image (a link to one is not followed yet)",
                                self.verb,
                                p.display()
                            ),
                            code: 1,
                        })
                    }
                    None => {
                        hd.set_mode(0o755);
                        hd.set_uid(0);
                        hd.set_gid(0);
                        hd.set_mtime(default_time.max(0) as u64);
                    }
                }
                let mut name = p.to_path_buf().into_os_string();
                name.push("/");
                tar.append_data(&mut hd, Path::new(&name), std::io::empty())
                    .map_err(|e| Error::io("write the layer of", p, e))?;
            }
            if it.archive {
                self.unpack_into(&mut tar, it, &mut emitted)?;
                continue;
            }
            if it.dest.as_os_str().is_empty() || !emitted.insert(it.dest.clone()) {
                continue;
            }
            self.append(&mut tar, it)?;
        }
        let mut out = tar
            .into_inner()
            .map_err(|e| Error::io("write", "layer", e))?;
        out.flush().map_err(|e| Error::io("write", "layer", e))?;
        Ok(out)
    }

    fn append<W: Write>(&self, tar: &mut tar::Builder<W>, it: &Item) -> Result<(), Error> {
        let (uid, gid) = self.owner_of(&it.st);
        let mut hd = tar::Header::new_gnu();
        hd.set_mode(self.mode_of(&it.st));
        hd.set_uid(uid.into());
        hd.set_gid(gid.into());
        hd.set_mtime(self.mtime_of(&it.st).max(0) as u64);
        let ioe = |e| Error::io("write the layer of", &it.dest, e);
        match it.st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                hd.set_entry_type(tar::EntryType::Directory);
                hd.set_size(0);
                let mut name = it.dest.clone().into_os_string();
                name.push("/");
                tar.append_data(&mut hd, Path::new(&name), std::io::empty())
                    .map_err(ioe)
            }
            libc::S_IFREG => {
                hd.set_entry_type(tar::EntryType::Regular);
                let f = read_file(self.fs, &it.src)?;
                let len = f
                    .metadata()
                    .map_err(|e| Error::io("stat", &it.src, e))?
                    .len();
                hd.set_size(len);
                tar.append_data(&mut hd, &it.dest, f.take(len)).map_err(ioe)
            }
            libc::S_IFLNK => {
                hd.set_entry_type(tar::EntryType::Symlink);
                hd.set_size(0);
                let target = read_link(self.fs, &it.src)?;
                let target = PathBuf::from(std::ffi::OsString::from(
                    String::from_utf8_lossy(&target).into_owned(),
                ));
                tar.append_link(&mut hd, &it.dest, &target).map_err(ioe)
            }
            // Devices, fifos and sockets are not copied (Docker copies devices; a build
            // context rarely holds one).
            _ => Ok(()),
        }
    }

    /// `ADD archive.tar /dir/`: the archive's entries under the destination (names cleaned
    /// of `..` and leading `/`; the layer is applied by the hardened extractor anyway).
    fn unpack_into<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        it: &Item,
        emitted: &mut BTreeSet<PathBuf>,
    ) -> Result<(), Error> {
        let f = read_file(self.fs, &it.src)?;
        let (_, r) = libimage::layer::decompress(f).map_err(|e| Error::io("read", &it.src, e))?;
        let mut ar = tar::Archive::new(r);
        let bad = |e: std::io::Error| Error::Build {
            message: format!("{} failed: {}: {e}", self.verb, it.src.display()),
            code: 1,
        };
        for entry in ar.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let raw = entry.path_bytes().into_owned();
            let Some(rel) = fsops::clean_path(&raw) else {
                continue;
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            let dest = it.dest.join(&rel);
            if !emitted.insert(dest.clone()) {
                continue;
            }
            let mut hd = entry.header().clone();
            // Fields other tools leave unset or malformed read as zero.
            hd.set_uid(hd.uid().unwrap_or(0));
            hd.set_gid(hd.gid().unwrap_or(0));
            hd.set_mtime(hd.mtime().unwrap_or(0));
            hd.set_mode(hd.mode().unwrap_or(0o644) & 0o7777);
            // (`--chown` does not apply to what an archive holds: Docker keeps its owners.)
            if let Some(e) = self.epoch {
                if let Ok(m) = hd.mtime() {
                    hd.set_mtime(m.min(e.max(0) as u64));
                }
            }
            match hd.entry_type() {
                tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .and_then(|l| fsops::clean_path(&l))
                        .map(|l| it.dest.join(l))
                        .unwrap_or_default();
                    tar.append_link(&mut hd, &dest, &target).map_err(bad)?;
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name()
                        .ok()
                        .flatten()
                        .map(|l| l.into_owned())
                        .unwrap_or_default();
                    tar.append_link(&mut hd, &dest, &target).map_err(bad)?;
                }
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::Directory
                | tar::EntryType::Fifo => {
                    let size = entry.size();
                    tar.append_data(&mut hd, &dest, (&mut entry).take(size))
                        .map_err(bad)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn not_found(verb: &str, src: &Path) -> Error {
    Error::Build {
        message: format!(
            "{verb} failed: file not found in build context or excluded by .dockerignore: stat {}: file does not exist",
            src.display()
        ),
        code: 1,
    }
}

/// An unnamed temporary file in `dir` (nothing to clean up whatever happens).
pub(super) fn temp_file(dir: &Path) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))
}
