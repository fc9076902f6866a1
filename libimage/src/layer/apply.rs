//! Applying a layer tar to a directory in one streaming pass: decompress, hash (the
//! diff_id), and extract with every operation confined to the root (see `fsops`).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::compression::{decompress, Compression};
use super::fsops::{self, clean_path, Root};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{Error, Result};

/// How whiteout entries (`.wh.NAME`, `.wh..wh..opq`) are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// The directory is an overlayfs upper layer: whiteouts become 0:0 character devices and
    /// opaque markers the `trusted.overlay.opaque` xattr.
    Overlay,
    /// The directory holds the merged lower layers (copy-based snapshots, exports): whiteouts
    /// delete what they name.
    Apply,
}

/// Options for [`apply_layer`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How whiteouts are written. By default, [`WhiteoutMode::Apply`].
    pub whiteouts: WhiteoutMode,
    /// Restore owners from the archive. By default, only when running as root.
    pub same_owner: bool,
    /// The diff_id the uncompressed stream must hash to (from the image config). By default,
    /// none (the diff_id is computed and returned).
    pub expected_diff_id: Option<Digest>,
    /// Maximum uncompressed bytes. By default, 64 GiB.
    pub max_uncompressed: u64,
    /// Maximum number of entries. By default, 4 million.
    pub max_entries: u64,
    /// Maximum length of a path or link name. By default, 4096 bytes.
    pub max_path_len: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            whiteouts: WhiteoutMode::Apply,
            // SAFETY: geteuid has no preconditions.
            same_owner: unsafe { libc::geteuid() } == 0,
            expected_diff_id: None,
            max_uncompressed: 64 << 30,
            max_entries: 4_000_000,
            max_path_len: 4096,
        }
    }
}

/// What [`apply_layer`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The SHA-256 of the uncompressed tar: the layer's diff_id.
    pub diff_id: Digest,
    /// Uncompressed size in bytes.
    pub size: u64,
    /// The compression found.
    pub compression: Compression,
    /// Number of entries applied.
    pub entries: u64,
    /// Bytes of regular-file content written (hard links counted once) and of symlink
    /// targets: the layer size Docker reports.
    pub content_size: u64,
}

/// The error [`CapReader`] fails with (typed, so it is told apart from I/O errors).
#[derive(Debug)]
struct CapExceeded(u64);

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "layer exceeds the limit of {} uncompressed bytes",
            self.0
        )
    }
}

impl std::error::Error for CapExceeded {}

/// A reader that fails once more than `cap` bytes were read (decompression bombs).
struct CapReader<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R: Read> Read for CapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(CapExceeded(self.cap)));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Applies the layer tar read from `reader` (gzip, zstd or plain) to the directory `root`.
///
/// Nothing is ever written outside `root`: entries that climb out (`..`, absolute names are
/// taken relative to the root), links through symlinks, hard links to outside paths and
/// whiteouts through symlinked directories are confined or refused. An archive that two tar
/// readers could read differently (PAX and ustar sizes or names disagreeing) is refused.
///
/// On error the directory may hold part of the layer; the caller discards it.
pub fn apply_layer<R: Read + Send>(reader: R, root: &Path, opts: &ApplyOptions) -> Result<Applied> {
    let root_dir = Root::open(root).map_err(|e| Error::io("open layer root", root, e))?;
    // Decompression runs on a second thread, feeding the extractor through a small bounded
    // queue, so inflating overlaps with hashing and creating files (GNU tar gets the same
    // overlap from its separate gzip process).
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(QUEUE);
        let (ret_tx, ret_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUE + 2);
        let cap = opts.max_uncompressed;
        let producer = scope.spawn(move || produce(reader, cap, tx, ret_rx));
        let input = ChannelReader {
            rx,
            ret: ret_tx,
            cur: Vec::new(),
            pos: 0,
            hasher: Hasher::new(Algorithm::Sha256),
            size: 0,
        };
        let extracted = extract(input, &root_dir, root, opts);
        let produced = producer.join().map_err(|_| {
            Error::io(
                "read layer",
                root,
                io::Error::other("decompressor panicked"),
            )
        })?;
        let (entries, content_size, diff_id, size) = extracted?;
        let compression = produced.map_err(|e| classify_read_error(e, root))?;
        if let Some(exp) = &opts.expected_diff_id {
            if *exp != diff_id {
                return Err(Error::DigestMismatch {
                    expected: exp.to_string(),
                    actual: diff_id.to_string(),
                });
            }
        }
        Ok(Applied {
            diff_id,
            size,
            compression,
            entries,
            content_size,
        })
    })
}

const CHUNK: usize = 512 * 1024;
const QUEUE: usize = 4;

/// The decompressor thread: inflate, cap, and send chunks; buffers come back through `ret`
/// to be reused. (The diff_id is hashed on the extractor's side, which balances the two
/// threads: inflating is the larger share.)
fn produce<R: Read>(
    reader: R,
    cap: u64,
    tx: std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>,
    ret: std::sync::mpsc::Receiver<Vec<u8>>,
) -> io::Result<Compression> {
    let (compression, decompressed) = decompress(reader)?;
    let mut capped = CapReader {
        inner: decompressed,
        left: cap,
        cap,
    };
    loop {
        let mut buf = ret.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let mut n = 0;
        while n < buf.len() {
            match capped.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    let _ = tx.send(Err(e));
                    return Err(copy);
                }
            }
        }
        if n == 0 {
            break;
        }
        buf.truncate(n);
        if tx.send(Ok(buf)).is_err() {
            // The extractor stopped because it failed; its error is the one reported.
            return Err(io::Error::other("extraction stopped"));
        }
    }
    Ok(compression)
}

/// Reads the chunks the decompressor thread sends, hashing each as it arrives (so every
/// byte of the stream is hashed exactly once), and returns spent buffers.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    ret: std::sync::mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    hasher: Hasher,
    size: u64,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.hasher.update(&chunk);
                    self.size += chunk.len() as u64;
                    let spent = std::mem::replace(&mut self.cur, chunk);
                    let _ = self.ret.try_send(spent);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Extracts the tar read from `input`; returns (entries, content bytes, diff_id, tar size).
fn extract(
    input: ChannelReader,
    root_dir: &Root,
    root: &Path,
    opts: &ApplyOptions,
) -> Result<(u64, u64, Digest, u64)> {
    let io_err = |e: io::Error| classify_read_error(e, root);
    let mut archive = tar::Archive::new(input);
    let mut state = State {
        root: root_dir,
        opts,
        created: HashSet::new(),
        dir_times: Vec::new(),
        content_size: 0,
        parent_cache: None,
        buf: vec![0u8; 1 << 20],
    };
    let mut entries = 0u64;
    for entry in archive.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        entries += 1;
        if entries > opts.max_entries {
            return Err(Error::LimitExceeded(format!(
                "layer has more than {} entries",
                opts.max_entries
            )));
        }
        state.apply_entry(&mut entry)?;
    }
    state.finish_dir_times()?;
    // Read the rest of the stream too (end-of-archive blocks and padding): the diff_id
    // covers every byte of the tar.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(io_err)?;
    Ok((entries, state.content_size, rest.hasher.finish(), rest.size))
}

/// Copies `r` into `w` through `buf`, returning the bytes copied.
fn copy_with(buf: &mut [u8], r: &mut dyn Read, w: &mut dyn io::Write) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut n = 0;
        // Fill the buffer before writing: the tar reader hands out small pieces.
        while n < buf.len() {
            match r.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            return Ok(total);
        }
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn classify_read_error(e: io::Error, root: &Path) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<CapExceeded>()) {
        Error::LimitExceeded(e.to_string())
    } else {
        Error::io("read layer", root, e)
    }
}

/// (seconds, nanoseconds).
type Time = (i64, i64);

struct State<'a> {
    root: &'a Root,
    opts: &'a ApplyOptions,
    /// Paths this layer created, kept when an opaque marker clears a directory.
    created: HashSet<PathBuf>,
    /// Directory times, applied at the end (adding entries changes a directory's mtime).
    dir_times: Vec<(PathBuf, Time, Time)>,
    content_size: u64,
    /// The parent directory of the previous entry. Consecutive entries usually share it;
    /// anything that could replace that directory has another parent path (or is a
    /// whiteout), which drops the cache.
    parent_cache: Option<(PathBuf, OwnedFd)>,
    /// One large copy buffer for file contents (few, large writes).
    buf: Vec<u8>,
}

/// The metadata of one entry, read once.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: (i64, i64),
    mtime: (i64, i64),
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn parse_pax_time(v: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(v).ok()?;
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let sec: i64 = sec.parse().ok()?;
    let mut nanos = 0i64;
    for (i, c) in frac.bytes().take(9).enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        nanos += (c - b'0') as i64 * 10i64.pow(8 - i as u32);
    }
    Some((sec, nanos))
}

impl State<'_> {
    fn apply_entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let reject = |reason: &str| Error::unsafe_entry(shown.clone(), reason.to_string());
        let etype = entry.header().entry_type();
        if etype.is_pax_global_extensions() {
            return Ok(());
        }
        if raw_name.len() > self.opts.max_path_len {
            return Err(Error::LimitExceeded(format!(
                "entry name longer than {} bytes",
                self.opts.max_path_len
            )));
        }

        // Read PAX records once; refuse disagreements between readers.
        let mut pax_size = None;
        let mut pax_path = None;
        let mut pax_link = None;
        let mut xattrs = Vec::new();
        let mut atime = None;
        let mut mtime = None;
        if let Some(exts) = entry
            .pax_extensions()
            .map_err(|e| Error::io("read layer", "pax", e))?
        {
            for ext in exts {
                let ext = ext.map_err(|e| Error::io("read layer", "pax", e))?;
                let key = ext.key_bytes();
                let val = ext.value_bytes();
                match key {
                    b"size" => {
                        pax_size = std::str::from_utf8(val)
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                    }
                    b"path" => pax_path = Some(val.to_vec()),
                    b"linkpath" => pax_link = Some(val.to_vec()),
                    b"mtime" => mtime = parse_pax_time(val),
                    b"atime" => atime = parse_pax_time(val),
                    k if k.starts_with(b"SCHILY.xattr.") => {
                        let name = &k[b"SCHILY.xattr.".len()..];
                        // Overlay's own attributes (redirect, origin, opaque) are never taken
                        // from an archive: they would let a layer redirect lookups.
                        if !name.starts_with(b"trusted.overlay.") {
                            xattrs.push((name.to_vec(), val.to_vec()));
                        }
                    }
                    _ => {}
                }
            }
        }
        let header_size = entry
            .header()
            .entry_size()
            .map_err(|_| reject("bad size field"))?;
        if let Some(ps) = pax_size {
            if ps != header_size && header_size != 0 {
                return Err(reject("PAX size disagrees with the header size"));
            }
        }
        if let Some(pp) = &pax_path {
            if *pp != raw_name {
                return Err(reject("PAX path disagrees with the GNU long name"));
            }
        }
        let link_raw = entry.link_name_bytes().map(|c| c.into_owned());
        if let (Some(pl), Some(l)) = (&pax_link, &link_raw) {
            if pl != l {
                return Err(reject("PAX linkpath disagrees with the GNU long link name"));
            }
        }
        if link_raw
            .as_ref()
            .is_some_and(|l| l.len() > self.opts.max_path_len)
        {
            return Err(Error::LimitExceeded(format!(
                "link name longer than {} bytes",
                self.opts.max_path_len
            )));
        }

        let path = clean_path(&raw_name).ok_or_else(|| reject("path climbs out of the root"))?;
        if path.as_os_str().is_empty() {
            // The root directory itself: nothing to create.
            return Ok(());
        }
        let hdr = entry.header();
        let mtime = mtime.unwrap_or((hdr.mtime().unwrap_or(0) as i64, 0));
        let meta = Meta {
            mode: hdr.mode().map_err(|_| reject("bad mode"))? & 0o7777,
            uid: hdr.uid().map_err(|_| reject("bad uid"))? as u32,
            gid: hdr.gid().map_err(|_| reject("bad gid"))? as u32,
            atime: atime.unwrap_or(mtime),
            mtime,
            xattrs,
        };
        let name = path
            .file_name()
            .expect("cleaned non-empty path has a name")
            .to_os_string();
        let parent_path = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let name_bytes = name.as_bytes();

        // Whiteouts.
        if name_bytes == b".wh..wh..opq" {
            return self.opaque(&parent_path, &shown);
        }
        if name_bytes.starts_with(b".wh..wh.") {
            return Ok(()); // aufs metadata (.wh..wh.plnk and friends): not content.
        }
        if let Some(target) = name_bytes.strip_prefix(b".wh.") {
            if target.is_empty() || target == b"." || target == b".." || target.contains(&b'/') {
                return Err(reject("invalid whiteout name"));
            }
            return self.whiteout(&parent_path, OsStr::from_bytes(target), &shown);
        }

        let ioe = |op: &'static str| {
            let p = path.clone();
            move |e: io::Error| Error::io(op, p, e)
        };
        let mut pfd = self
            .parent_fd(&parent_path)
            .map_err(ioe("open parent of"))?;
        let is_dir_entry = etype.is_dir();
        let is_file = etype.is_file() || etype.is_contiguous() || etype.is_gnu_sparse();
        // Regular files (most entries) are created first and only on EEXIST is the old
        // entry examined and replaced; this saves a stat per file.
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let mut created_fd = None;
        if is_file {
            match fsops::open_at_mode(pfd, &name, flags, 0o600) {
                Ok(fd) => created_fd = Some(fd),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(ioe("create")(e)),
            }
        }
        let mut keep_dir = false;
        if created_fd.is_none() {
            let existing = fsops::lstat_at(pfd, &name).map_err(ioe("stat"))?;
            // A directory entry over an existing directory merges into it; anything else
            // replaces what is there (never writing through it).
            keep_dir = is_dir_entry && existing.as_ref().is_some_and(fsops::is_dir);
            if existing.is_some() && !keep_dir {
                // The removed entry may be (or contain) the cached parent directory.
                self.parent_cache = None;
                pfd = self
                    .parent_fd(&parent_path)
                    .map_err(ioe("open parent of"))?;
                fsops::remove_all_at(pfd, &name).map_err(ioe("replace"))?;
            }
        }
        self.created.insert(path.clone());

        if is_file {
            let fd = match created_fd {
                Some(fd) => fd,
                None => fsops::open_at_mode(pfd, &name, flags, 0o600).map_err(ioe("create"))?,
            };
            let mut file = std::fs::File::from(fd);
            self.content_size += copy_with(&mut self.buf, entry, &mut file)
                .map_err(|e| classify_read_error(e, &path))?;
            let fd = OwnedFd::from(file);
            self.set_meta_fd(&fd, &meta, true)
                .map_err(ioe("set metadata of"))?;
        } else if is_dir_entry {
            if !keep_dir {
                fsops::mkdirat(pfd, &name, 0o700).map_err(ioe("mkdir"))?;
            }
            let fd = fsops::open_at(
                pfd,
                &name,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            )
            .map_err(ioe("open"))?;
            // Times later: entries added below would change them.
            self.set_meta_fd(&fd, &meta, false)
                .map_err(ioe("set metadata of"))?;
            self.dir_times.push((path.clone(), meta.atime, meta.mtime));
        } else if etype.is_symlink() {
            let target = link_raw.ok_or_else(|| reject("symlink without a target"))?;
            if target.is_empty() {
                return Err(reject("symlink without a target"));
            }
            fsops::symlinkat(&target, pfd, &name).map_err(ioe("symlink"))?;
            // A link's own size (its target's length) counts, as Docker counts a layer.
            self.content_size += target.len() as u64;
            if self.opts.same_owner {
                fsops::lchown_at(pfd, &name, meta.uid, meta.gid).map_err(ioe("chown"))?;
            }
            fsops::lutimens_at(pfd, &name, meta.atime, meta.mtime).map_err(ioe("set times of"))?;
        } else if etype.is_hard_link() {
            let target = link_raw.ok_or_else(|| reject("hard link without a target"))?;
            let tpath = clean_path(&target)
                .ok_or_else(|| reject("hard link target climbs out of the root"))?;
            let tname = tpath
                .file_name()
                .ok_or_else(|| reject("hard link to the root"))?;
            let tparent = self
                .root
                .open_in_root(
                    tpath.parent().unwrap_or(Path::new("")),
                    libc::O_PATH | libc::O_DIRECTORY,
                )
                .map_err(ioe("open hard link target of"))?;
            let tst = fsops::lstat_at(tparent.as_raw_fd(), tname)
                .map_err(ioe("stat hard link target of"))?
                .ok_or_else(|| reject("hard link target does not exist in this layer"))?;
            if fsops::is_dir(&tst) {
                return Err(reject("hard link to a directory"));
            }
            fsops::linkat(tparent.as_raw_fd(), tname, pfd, &name).map_err(ioe("link"))?;
        } else if etype.is_character_special() || etype.is_block_special() || etype.is_fifo() {
            let kind = if etype.is_character_special() {
                libc::S_IFCHR
            } else if etype.is_block_special() {
                libc::S_IFBLK
            } else {
                libc::S_IFIFO
            };
            let major = entry.header().device_major().ok().flatten().unwrap_or(0);
            let minor = entry.header().device_minor().ok().flatten().unwrap_or(0);
            let dev = libc::makedev(major, minor);
            fsops::mknodat(pfd, &name, kind | (meta.mode & 0o777), dev).map_err(ioe("mknod"))?;
            if self.opts.same_owner {
                fsops::lchown_at(pfd, &name, meta.uid, meta.gid).map_err(ioe("chown"))?;
            }
            fsops::chmod_at(pfd, &name, meta.mode).map_err(ioe("chmod"))?;
            fsops::lutimens_at(pfd, &name, meta.atime, meta.mtime).map_err(ioe("set times of"))?;
        } else {
            return Err(reject("unsupported entry type"));
        }
        Ok(())
    }

    fn parent_fd(&mut self, parent: &Path) -> io::Result<std::os::fd::RawFd> {
        if let Some((p, fd)) = &self.parent_cache {
            if p == parent {
                return Ok(fd.as_raw_fd());
            }
        }
        let fd = self.root.open_dir_creating(parent)?;
        let raw = fd.as_raw_fd();
        self.parent_cache = Some((parent.to_path_buf(), fd));
        Ok(raw)
    }

    /// chown, chmod, xattrs, times, in that order (chown clears setuid bits and file
    /// capabilities, so they come after it).
    fn set_meta_fd(&self, fd: &OwnedFd, meta: &Meta, times: bool) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        if self.opts.same_owner {
            fsops::fchown(raw, meta.uid, meta.gid)?;
        }
        fsops::fchmod(raw, meta.mode)?;
        for (k, v) in &meta.xattrs {
            match fsops::fsetxattr(raw, k, v) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
                Err(e) if e.raw_os_error() == Some(libc::EPERM) && !self.opts.same_owner => {}
                Err(e) => return Err(e),
            }
        }
        if times {
            fsops::futimens(raw, meta.atime, meta.mtime)?;
        }
        Ok(())
    }

    fn whiteout(&mut self, parent_path: &Path, target: &OsStr, shown: &str) -> Result<()> {
        self.parent_cache = None;
        let ioe = |op: &'static str| move |e: io::Error| Error::io(op, shown.to_string(), e);
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                let parent = self
                    .root
                    .open_dir_creating(parent_path)
                    .map_err(ioe("open parent of"))?;
                fsops::remove_all_at(parent.as_raw_fd(), target).map_err(ioe("replace"))?;
                fsops::mknodat(parent.as_raw_fd(), target, libc::S_IFCHR, 0)
                    .map_err(ioe("create whiteout"))?;
                self.created.insert(parent_path.join(target));
            }
            WhiteoutMode::Apply => {
                let parent = match self
                    .root
                    .open_in_root(parent_path, libc::O_RDONLY | libc::O_DIRECTORY)
                {
                    Ok(p) => p,
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
                    Err(e) => return Err(ioe("open parent of")(e)),
                };
                fsops::remove_all_at(parent.as_raw_fd(), target).map_err(ioe("remove"))?;
            }
        }
        Ok(())
    }

    fn opaque(&mut self, dir_path: &Path, shown: &str) -> Result<()> {
        self.parent_cache = None;
        let ioe = |op: &'static str| move |e: io::Error| Error::io(op, shown.to_string(), e);
        let dir = self.root.open_dir_creating(dir_path).map_err(ioe("open"))?;
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                fsops::fsetxattr(dir.as_raw_fd(), b"trusted.overlay.opaque", b"y")
                    .map_err(ioe("mark opaque"))?;
            }
            WhiteoutMode::Apply => {
                for child in fsops::list_dir(dir.as_raw_fd()).map_err(ioe("list"))? {
                    if !self.created.contains(&dir_path.join(&child)) {
                        fsops::remove_all_at(dir.as_raw_fd(), &child).map_err(ioe("remove"))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish_dir_times(&mut self) -> Result<()> {
        for (path, atime, mtime) in self.dir_times.drain(..).rev() {
            let fd = match self
                .root
                .open_in_root(&path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW)
            {
                Ok(fd) => fd,
                // Replaced or removed by a later entry.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(Error::io("open", path, e)),
            };
            fsops::futimens(fd.as_raw_fd(), atime, mtime)
                .map_err(|e| Error::io("set times of", path, e))?;
        }
        Ok(())
    }
}
