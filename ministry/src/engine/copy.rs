//! `cp` between a running container and the host. Paths in the container are resolved
//! inside its root (`/proc/<pid>/root`, so its volumes and mounts are seen) with
//! `openat2(RESOLVE_IN_ROOT)`: a symlink in the container can never lead out of it.
//! Directories travel as a tar stream made by libimage's tree exporter and unpacked by its
//! hardened extractor, files and symlinks directly.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libimage::layer::fsops::{self, Root};
use libimage::layer::{apply_layer, ApplyOptions, WhiteoutMode};

use super::{Engine, Error};

fn io(op: &'static str, p: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let p = p.into();
    move |e| Error::io(op, p, e)
}

fn fstat(fd: &OwnedFd, p: &Path) -> Result<libc::stat, Error> {
    // SAFETY: fstat on our fd into a zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(Error::io("stat", p, std::io::Error::last_os_error()));
    }
    Ok(st)
}

fn kind(st: &libc::stat) -> u32 {
    st.st_mode & libc::S_IFMT
}

/// The path as a relative, cleaned path (no `..` escapes: `/a/../../b` is `b`).
fn rel(p: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Streams the tree of directory `dir` (an open fd) into the directory `dest` through a
/// pipe: exporter on a thread, extractor here. With `same_owner` the files keep their
/// owners, else they belong to this process's user.
fn copy_tree(
    dir: &OwnedFd,
    dest: &Path,
    whiteouts: WhiteoutMode,
    same_owner: bool,
) -> Result<(), Error> {
    let src = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    let layers = libimage::tree::Layers::open(&[src], false)?;
    stream_tree(&layers, Path::new(""), dest, whiteouts, same_owner)
}

/// Streams the merged subtree `rel` of `layers` into the directory `dest`.
fn stream_tree(
    layers: &libimage::tree::Layers,
    rel: &Path,
    dest: &Path,
    whiteouts: WhiteoutMode,
    same_owner: bool,
) -> Result<(), Error> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills our array with two new fds, which we own from here.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::io("pipe", "", std::io::Error::last_os_error()));
    }
    // SAFETY: both fds were just returned by pipe2.
    let (reader, mut writer) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    std::thread::scope(|s| {
        let t = s.spawn(move || {
            let r = libimage::tree::write_subtree_tar(layers, rel, &mut writer).map(drop);
            drop(writer);
            r
        });
        let applied = apply_layer(
            reader,
            dest,
            &ApplyOptions {
                whiteouts,
                same_owner,
                ..Default::default()
            },
        );
        let written = t
            .join()
            .unwrap_or_else(|_| Err(libimage::Error::InvalidArgument("exporter panicked".into())));
        written?;
        applied.map(drop).map_err(Error::from)
    })
}

/// Where `cp` out of a container puts `src` (relative path `r`) with Docker's rules: into
/// `dest` when it is a directory (under `src`'s name; its contents for `SRC/.`), else as
/// `dest`; a directory onto a file is refused.
fn copy_target(src: &str, r: &Path, dest: &Path, src_is_dir: bool) -> Result<PathBuf, Error> {
    let base = r.file_name().unwrap_or(OsStr::new("."));
    match std::fs::metadata(dest) {
        Ok(m) if m.is_dir() && !src.ends_with("/.") => Ok(dest.join(base)),
        Ok(m) if m.is_dir() => Ok(dest.to_path_buf()),
        Ok(_) if src_is_dir => Err(Error::InvalidConfig(format!(
            "cannot copy a directory to a file: {}",
            dest.display()
        ))),
        _ => Ok(dest.to_path_buf()),
    }
}

fn copy_bytes(from: &mut dyn Read, to: &mut dyn Write, what: &Path) -> Result<(), Error> {
    std::io::copy(from, to).map(drop).map_err(io("copy", what))
}

impl Engine {
    /// The container's file system: its live root when it runs, else its snapshot.
    fn view(&self, name: &str) -> Result<View, Error> {
        let c = self.container(name)?;
        if let Ok(rc) = self.runtime.get(&c.id) {
            if let Ok(st) = rc.state() {
                if st.status == libruntime::Status::Running {
                    let root = Root::open(Path::new(&format!("/proc/{}/root", st.pid)))
                        .map_err(io("open the root of", c.id.clone()))?;
                    return Ok(View::Running(root));
                }
            }
        }
        let sn = self.images.snapshotter();
        let dirs = sn.layer_dirs(&c.snapshot)?;
        let layered = sn.layered();
        let upper = Root::open(&dirs[0]).map_err(io("open", dirs[0].clone()))?;
        let layers = libimage::tree::Layers::open(&dirs, layered)?;
        Ok(View::Stopped {
            layers,
            upper,
            layered,
        })
    }

    /// Copies `src` out of a running container to `dest` on the host with Docker's rules:
    /// into `dest` when it is a directory (under `src`'s name), else as `dest`. With
    /// `follow`, a symlink `src` is copied as what it points to (`-L`).
    pub fn copy_from_container(
        &self,
        name: &str,
        src: &str,
        dest: &Path,
        follow: bool,
    ) -> Result<(), Error> {
        let r = rel(src);
        let root = match self.view(name)? {
            View::Running(root) => root,
            View::Stopped { layers, .. } => {
                return copy_out_of_snapshot(&layers, &r, src, name, dest)
            }
        };
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        let fd = root
            .open_in_root(&r, libc::O_PATH | nofollow)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) => Error::InvalidConfig(format!(
                    "Could not find the file {src} in container {name}"
                )),
                _ => Error::io("open", src, e),
            })?;
        let st = fstat(&fd, &r)?;
        let base = r.file_name().unwrap_or(OsStr::new("."));
        let target = copy_target(src, &r, dest, kind(&st) == libc::S_IFDIR)?;
        match kind(&st) {
            libc::S_IFDIR => {
                std::fs::create_dir_all(&target).map_err(io("create", &target))?;
                let d = root
                    .open_in_root(&r, libc::O_RDONLY | libc::O_DIRECTORY | nofollow)
                    .map_err(io("open", src))?;
                // Out of a container the files belong to the user copying, as Docker's.
                copy_tree(&d, &target, WhiteoutMode::Apply, false)
            }
            libc::S_IFLNK => {
                let parent = r.parent().unwrap_or(Path::new(""));
                let pfd = root
                    .open_in_root(parent, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(io("open", parent))?;
                let link = std::fs::read_link(format!(
                    "/proc/self/fd/{}/{}",
                    pfd.as_raw_fd(),
                    base.to_string_lossy()
                ))
                .map_err(io("readlink", src))?;
                let _ = std::fs::remove_file(&target);
                std::os::unix::fs::symlink(link, &target).map_err(io("symlink", &target))
            }
            libc::S_IFREG => {
                let f = root
                    .open_in_root(&r, libc::O_RDONLY | nofollow)
                    .map_err(io("open", src))?;
                let mut from = std::fs::File::from(f);
                let mut to = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&target)
                    .map_err(io("create", &target))?;
                copy_bytes(&mut from, &mut to, &target)?;
                std::fs::set_permissions(
                    &target,
                    std::os::unix::fs::PermissionsExt::from_mode(st.st_mode & 0o7777),
                )
                .map_err(io("chmod", &target))
            }
            _ => Err(Error::InvalidConfig(format!(
                "{src} is not a file, directory or symlink"
            ))),
        }
    }

    /// Copies `src` from the host into a running container at `dest` with Docker's rules:
    /// into `dest` when it is a directory there (under `src`'s name), else as `dest` (whose
    /// parent must exist). Files keep their owners there; copied out, they belong to the user copying (as Docker 20.10 does, with or without `-a`).
    pub fn copy_to_container(
        &self,
        name: &str,
        src: &Path,
        dest: &str,
        follow: bool,
    ) -> Result<(), Error> {
        let view = self.view(name)?;
        let meta = if follow {
            std::fs::metadata(src)
        } else {
            std::fs::symlink_metadata(src)
        }
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::InvalidConfig(format!(
                "could not find the file {} on the host",
                src.display()
            )),
            _ => Error::io("stat", src, e),
        })?;
        let r = rel(dest);
        // Into a stopped container: its own (upper) layer, where parents are made as
        // needed; the merged view says what exists.
        let (root, whiteouts, merged) = match view {
            View::Running(root) => (root, WhiteoutMode::Apply, None),
            View::Stopped {
                layers,
                upper,
                layered,
            } => (
                upper,
                if layered {
                    WhiteoutMode::Overlay
                } else {
                    WhiteoutMode::Apply
                },
                Some(layers),
            ),
        };
        let parent_rel = r.parent().unwrap_or(Path::new("")).to_path_buf();
        if let Some(layers) = &merged {
            let parent_is_dir = layers
                .stat(&parent_rel, 0)?
                .is_some_and(|st| kind(&st) == libc::S_IFDIR);
            if !parent_is_dir && !parent_rel.as_os_str().is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "Could not find the file {} in container {name}",
                    Path::new("/").join(&parent_rel).display()
                )));
            }
        }
        let existing = match &merged {
            None => root
                .open_in_root(&r, libc::O_PATH)
                .ok()
                .map(|fd| fstat(&fd, &r).map(|st| (fd, st)))
                .transpose()?,
            Some(layers) => match layers.stat(&r, 0)? {
                Some(st) if kind(&st) == libc::S_IFDIR => {
                    let fd = root.open_dir_creating(&r).map_err(io("create", dest))?;
                    Some((fd, st))
                }
                // An existing file: treated below as "no directory there".
                _ => None,
            },
        };
        let src_name = src
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| ".".into());
        let (parent, name_in) = match existing {
            Some((fd, st)) if kind(&st) == libc::S_IFDIR && !src.ends_with(".") => (fd, src_name),
            Some((fd, st)) if kind(&st) == libc::S_IFDIR => (fd, ".".into()),
            Some(_) if meta.is_dir() => {
                return Err(Error::InvalidConfig(format!(
                    "cannot copy a directory to a file: {dest}"
                )))
            }
            _ if merged.is_some() => {
                let fd = root
                    .open_dir_creating(&parent_rel)
                    .map_err(io("create", dest))?;
                let n = r
                    .file_name()
                    .map(|n| n.to_os_string())
                    .ok_or_else(|| Error::InvalidConfig(format!("invalid destination {dest}")))?;
                (fd, n)
            }
            _ => {
                let p = r.parent().unwrap_or(Path::new(""));
                let fd = root
                    .open_in_root(p, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(|e| match e.raw_os_error() {
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) => Error::InvalidConfig(format!(
                            "Could not find the file {} in container {name}",
                            Path::new("/").join(p).display()
                        )),
                        _ => Error::io("open", p, e),
                    })?;
                let n = r
                    .file_name()
                    .map(|n| n.to_os_string())
                    .ok_or_else(|| Error::InvalidConfig(format!("invalid destination {dest}")))?;
                (fd, n)
            }
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            if name_in != "." {
                match fsops::mkdirat(parent.as_raw_fd(), &name_in, 0o755) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(Error::io("mkdir", dest, e))
                    }
                    _ => {}
                }
            }
            let d = fsops::open_at(
                parent.as_raw_fd(),
                &name_in,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            )
            .map_err(io("open", dest))?;
            let same_owner = ApplyOptions::default().same_owner;
            if same_owner && name_in != "." {
                use std::os::unix::fs::MetadataExt;
                // SAFETY: fchown on the directory we just opened (never a symlink).
                unsafe { libc::fchown(d.as_raw_fd(), meta.uid(), meta.gid()) };
            }
            let dir = std::fs::File::open(src).map_err(io("open", src))?;
            // Into a container the files keep their owners (when we may set them).
            copy_tree(
                &OwnedFd::from(dir),
                Path::new(&format!("/proc/self/fd/{}", d.as_raw_fd())),
                whiteouts,
                same_owner,
            )
        } else if ft.is_symlink() {
            let link = std::fs::read_link(src).map_err(io("readlink", src))?;
            let _ = unlinkat(&parent, &name_in);
            fsops::symlinkat(link.as_os_str().as_bytes(), parent.as_raw_fd(), &name_in)
                .map_err(io("symlink", dest))
        } else if ft.is_file() {
            let mut from = std::fs::File::open(src).map_err(io("open", src))?;
            let c = std::ffi::CString::new(name_in.as_bytes())
                .map_err(|_| Error::InvalidConfig("NUL in name".into()))?;
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
            // SAFETY: openat on our directory fd with a valid C string; never follows a
            // symlink planted at the name.
            let fd = unsafe {
                libc::openat(
                    parent.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_TRUNC
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    mode,
                )
            };
            if fd < 0 {
                return Err(Error::io("create", dest, std::io::Error::last_os_error()));
            }
            // SAFETY: fd was just returned by openat.
            let mut to = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
            copy_bytes(&mut from, &mut to, src)?;
            // SAFETY: fchown/fchmod on our fd: the source's owner and mode, as Docker
            // keeps them.
            unsafe {
                libc::fchown(
                    to.as_raw_fd(),
                    std::os::unix::fs::MetadataExt::uid(&meta),
                    std::os::unix::fs::MetadataExt::gid(&meta),
                );
                libc::fchmod(to.as_raw_fd(), mode);
            }
            Ok(())
        } else {
            Err(Error::InvalidConfig(format!(
                "{} is not a file, directory or symlink",
                src.display()
            )))
        }
    }
}

impl Engine {
    /// `cp CONTAINER:SRC -`: writes `src` as a tar archive to `out`, named as Docker names
    /// it (`d/`, `d/a`, ... for a directory `/d`; `./`, `./a` for `/d/.`; `a` for a file).
    /// It is copied out first (safely, as [`Engine::copy_from_container`] does) into a
    /// private directory under the data root.
    pub fn copy_tar_from_container(
        &self,
        name: &str,
        src: &str,
        out: &mut dyn Write,
        follow: bool,
    ) -> Result<(), Error> {
        let tmp = tempfile::Builder::new()
            .prefix("cp-")
            .tempdir_in(&self.config.root)
            .map_err(io("create a directory in", self.config.root.clone()))?;
        self.copy_from_container(name, src, tmp.path(), follow)?;
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        let (path, name) = if src.ends_with("/.") {
            (tmp.path().to_path_buf(), ".".to_string())
        } else {
            let base = rel(src)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| ".".into());
            (tmp.path().join(&base), base)
        };
        append_tree(&mut tar, &path, &name, &HostNames::read())
            .and_then(|()| tar.finish())
            .map_err(io("write the archive of", src))
    }

    /// `cp - CONTAINER:DEST`: unpacks the tar archive `input` into the directory `dest` of
    /// the container (running: its live root; stopped: its own layer) with libimage's
    /// hardened extractor, so no entry lands outside it. `shown` is how the user named
    /// the destination, for Docker's error.
    pub fn copy_tar_to_container(
        &self,
        name: &str,
        input: &mut (dyn Read + Send),
        dest: &str,
        shown: &str,
    ) -> Result<(), Error> {
        let r = rel(dest);
        let not_dir =
            || Error::InvalidConfig(format!("destination \"{shown}\" must be a directory"));
        let (dir, whiteouts) = match self.view(name)? {
            View::Running(root) => {
                let d = root
                    .open_in_root(&r, libc::O_RDONLY | libc::O_DIRECTORY)
                    .map_err(|e| match e.raw_os_error() {
                        Some(libc::ENOENT) | Some(libc::ENOTDIR) => not_dir(),
                        _ => Error::io("open", dest, e),
                    })?;
                (d, WhiteoutMode::Apply)
            }
            View::Stopped {
                layers,
                upper,
                layered,
            } => {
                if layers
                    .stat(&r, 0)?
                    .is_none_or(|st| kind(&st) != libc::S_IFDIR)
                {
                    return Err(not_dir());
                }
                let d = upper.open_dir_creating(&r).map_err(io("create", dest))?;
                let mode = if layered {
                    WhiteoutMode::Overlay
                } else {
                    WhiteoutMode::Apply
                };
                (d, mode)
            }
        };
        apply_layer(
            input,
            Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())),
            &ApplyOptions {
                whiteouts,
                ..Default::default()
            },
        )
        .map(drop)
        .map_err(Error::from)
    }
}

/// Appends `path` (not following symlinks) as `name`, a directory as `name/` followed by
/// its entries in name order, as Docker's archives list them (`./a` kept as written, user
/// and group names of the IDs as this host names them).
fn append_tree<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &Path,
    name: &str,
    names: &HostNames,
) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    {
        use std::os::unix::fs::MetadataExt;
        if let Some(u) = names.users.get(&meta.uid()) {
            h.set_username(u)?;
        }
        if let Some(g) = names.groups.get(&meta.gid()) {
            h.set_groupname(g)?;
        }
    }
    let entry = if meta.is_dir() {
        format!("{name}/")
    } else {
        name.to_string()
    };
    let target = if meta.file_type().is_symlink() {
        Some(std::fs::read_link(path)?)
    } else {
        None
    };
    let short = |p: &Path| p.as_os_str().len() < 100;
    if let Some(t) = target.as_ref().filter(|t| !short(t) || entry.len() >= 100) {
        tar.append_link(&mut h, &entry, t)?;
    } else if entry.len() < 100 {
        // The tar crate's path setter drops a leading `./`; the name field as written.
        h.as_old_mut().name[..entry.len()].copy_from_slice(entry.as_bytes());
        if let Some(t) = &target {
            h.set_link_name(t)?;
        }
        h.set_cksum();
        if meta.is_file() {
            tar.append(&h, std::fs::File::open(path)?)?;
        } else {
            tar.append(&h, std::io::empty())?;
        }
    } else if meta.is_file() {
        tar.append_data(&mut h, &entry, std::fs::File::open(path)?)?;
    } else {
        tar.append_data(&mut h, &entry, std::io::empty())?;
    }
    if !meta.is_dir() {
        return Ok(());
    }
    let mut children: Vec<_> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()?;
    children.sort();
    for n in children {
        append_tree(
            tar,
            &path.join(&n),
            &format!("{name}/{}", n.to_string_lossy()),
            names,
        )?;
    }
    Ok(())
}

/// This host's user and group names by ID (`/etc/passwd`, `/etc/group`), for archives.
#[derive(Default)]
struct HostNames {
    users: std::collections::HashMap<u32, String>,
    groups: std::collections::HashMap<u32, String>,
}

impl HostNames {
    fn read() -> Self {
        let table = |file: &str| {
            std::fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let id = f.nth(1)?.parse().ok()?;
                    Some((id, name.to_string()))
                })
                .collect()
        };
        HostNames {
            users: table("/etc/passwd"),
            groups: table("/etc/group"),
        }
    }
}

fn unlinkat(dir: &OwnedFd, name: &OsStr) -> std::io::Result<()> {
    let c = std::ffi::CString::new(name.as_bytes())?;
    // SAFETY: unlinkat on our fd with a valid C string.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A container's file system for `cp`.
enum View {
    /// Its live root (`/proc/<pid>/root`).
    Running(Root),
    /// Its snapshot: the merged layers to read, its own layer to write.
    Stopped {
        layers: libimage::tree::Layers,
        upper: Root,
        layered: bool,
    },
}

/// `cp` out of a stopped container: from the merged view of its snapshot (its volumes are
/// not mounted then, so what lives in them is not seen).
fn copy_out_of_snapshot(
    layers: &libimage::tree::Layers,
    r: &Path,
    src: &str,
    name: &str,
    dest: &Path,
) -> Result<(), Error> {
    let st = layers.stat(r, 0)?.ok_or_else(|| {
        Error::InvalidConfig(format!("Could not find the file {src} in container {name}"))
    })?;
    let target = copy_target(src, r, dest, kind(&st) == libc::S_IFDIR)?;
    match kind(&st) {
        libc::S_IFDIR => {
            std::fs::create_dir_all(&target).map_err(io("create", &target))?;
            stream_tree(layers, r, &target, WhiteoutMode::Apply, false)
        }
        libc::S_IFREG => {
            let data = layers.read_file(r, u64::MAX)?.unwrap_or_default();
            std::fs::write(&target, data).map_err(io("write", &target))?;
            std::fs::set_permissions(
                &target,
                std::os::unix::fs::PermissionsExt::from_mode(st.st_mode & 0o7777),
            )
            .map_err(io("chmod", &target))
        }
        _ => Err(Error::InvalidConfig(format!(
            "{src}: only files and directories can be copied out of a stopped container"
        ))),
    }
}
