//! The system calls that set up a container's root, behind a trait: a real implementation
//! and a recording fake, so mount order and flags are unit-tested without root.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// What a mount target must be when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A directory.
    Dir,
    /// A regular file (bind mounts of files).
    File,
}

/// The root-setup system calls.
pub trait Syscall {
    /// `mount(2)`.
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: libc::c_ulong,
        data: Option<&str>,
    ) -> io::Result<()>;
    /// `umount2(2)`.
    fn umount2(&self, target: &Path, flags: libc::c_int) -> io::Result<()>;
    /// `pivot_root(2)`.
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> io::Result<()>;
    /// `chdir(2)`.
    fn chdir(&self, path: &Path) -> io::Result<()>;
    /// `sethostname(2)`.
    fn sethostname(&self, name: &str) -> io::Result<()>;
    /// `mknod(2)` (then chmod, so the umask does not apply).
    fn mknod(&self, path: &Path, mode: u32, dev: libc::dev_t) -> io::Result<()>;
    /// `symlink(2)`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// Resolves `dest` inside `root` (symlinks resolve as if `root` were `/`, never
    /// outside it), creating what is missing, and returns a path that names exactly the
    /// resolved object (`/proc/self/fd/N`) with the fd keeping it alive. A final component
    /// that is a symlink is refused when `no_symlink` is set.
    fn resolve_in_root(
        &self,
        root: &Path,
        dest: &Path,
        kind: TargetKind,
        no_symlink: bool,
    ) -> io::Result<(PathBuf, Option<OwnedFd>)>;
}

fn cstr(p: &[u8]) -> io::Result<CString> {
    CString::new(p).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The real system calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealSyscall;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_IN_ROOT: u64 = 0x10;

fn openat2(dir: libc::c_int, path: &Path, flags: libc::c_int, resolve: u64) -> io::Result<OwnedFd> {
    let p = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let c = cstr(p.as_os_str().as_bytes())?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: valid arguments; the fd returned is owned.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    } as libc::c_int;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by openat2.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Syscall for RealSyscall {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: libc::c_ulong,
        data: Option<&str>,
    ) -> io::Result<()> {
        let s = source.map(|s| cstr(s.as_os_str().as_bytes())).transpose()?;
        let t = cstr(target.as_os_str().as_bytes())?;
        let f = fstype.map(|f| cstr(f.as_bytes())).transpose()?;
        let d = data.map(|d| cstr(d.as_bytes())).transpose()?;
        // SAFETY: valid C strings or null.
        check(unsafe {
            libc::mount(
                s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                t.as_ptr(),
                f.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                flags,
                d.as_ref().map_or(std::ptr::null(), |d| d.as_ptr().cast()),
            )
        })
    }

    fn umount2(&self, target: &Path, flags: libc::c_int) -> io::Result<()> {
        let t = cstr(target.as_os_str().as_bytes())?;
        // SAFETY: valid C string.
        check(unsafe { libc::umount2(t.as_ptr(), flags) })
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> io::Result<()> {
        let n = cstr(new_root.as_os_str().as_bytes())?;
        let o = cstr(put_old.as_os_str().as_bytes())?;
        // SAFETY: valid C strings.
        check(unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) } as libc::c_int)
    }

    fn chdir(&self, path: &Path) -> io::Result<()> {
        std::env::set_current_dir(path)
    }

    fn sethostname(&self, name: &str) -> io::Result<()> {
        // SAFETY: valid buffer and length.
        check(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })
    }

    fn mknod(&self, path: &Path, mode: u32, dev: libc::dev_t) -> io::Result<()> {
        let p = cstr(path.as_os_str().as_bytes())?;
        // SAFETY: valid C string.
        check(unsafe { libc::mknod(p.as_ptr(), mode, dev) })?;
        // SAFETY: valid C string; the node was just created by us.
        check(unsafe { libc::chmod(p.as_ptr(), mode & 0o7777) })
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn resolve_in_root(
        &self,
        root: &Path,
        dest: &Path,
        kind: TargetKind,
        no_symlink: bool,
    ) -> io::Result<(PathBuf, Option<OwnedFd>)> {
        let rootc = cstr(root.as_os_str().as_bytes())?;
        // SAFETY: valid C string; the fd returned is owned.
        let rfd = unsafe {
            libc::open(
                rootc.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if rfd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: rfd was just returned by open.
        let rootfd = unsafe { OwnedFd::from_raw_fd(rfd) };
        let resolved = secure_join(&rootfd, dest, no_symlink)?;
        // Create what is missing along the symlink-free path, each parent opened without
        // following any link (a link swapped in meanwhile makes this fail, never escape).
        let strict = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
        let comps: Vec<_> = resolved.components().collect();
        let mut sofar = PathBuf::new();
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let parent = openat2(
                rootfd.as_raw_fd(),
                &sofar,
                libc::O_PATH | libc::O_DIRECTORY,
                strict,
            )?;
            sofar.push(c);
            let name = cstr(c.as_os_str().as_bytes())?;
            // SAFETY: valid arguments.
            let r = if last && kind == TargetKind::File {
                unsafe {
                    libc::mknodat(parent.as_raw_fd(), name.as_ptr(), libc::S_IFREG | 0o644, 0)
                }
            } else {
                unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755) }
            };
            if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                return Err(io::Error::last_os_error());
            }
        }
        let mut flags = libc::O_PATH;
        if kind == TargetKind::Dir {
            flags |= libc::O_DIRECTORY;
        }
        let fd = openat2(rootfd.as_raw_fd(), &resolved, flags, strict)?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: valid fd and out pointer.
        check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
        // SAFETY: fstat succeeded.
        let st = unsafe { st.assume_init() };
        let fmt = st.st_mode & libc::S_IFMT;
        let ok = match kind {
            TargetKind::Dir => fmt == libc::S_IFDIR,
            TargetKind::File => {
                fmt != libc::S_IFDIR && fmt != libc::S_IFIFO && fmt != libc::S_IFSOCK
            }
        };
        if !ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("mount destination {} is not a {kind:?}", dest.display()),
            ));
        }
        Ok((
            PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
            Some(fd),
        ))
    }
}

fn components(p: &Path) -> Vec<std::ffi::OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// Resolves `dest` inside the root the way the container would see it: symlinks are
/// followed lexically, an absolute target restarts at the root, `..` never climbs above
/// it. Returns a path free of symlinks (components may not exist yet). With `no_symlink`,
/// a final component that is a symlink is an error.
fn secure_join(root: &OwnedFd, dest: &Path, no_symlink: bool) -> io::Result<PathBuf> {
    let strict = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = components(dest).into();
    let mut cur = PathBuf::new();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            cur.pop();
            continue;
        }
        let parent = match openat2(
            root.as_raw_fd(),
            &cur,
            libc::O_PATH | libc::O_DIRECTORY,
            strict,
        ) {
            Ok(p) => p,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                cur.push(&c);
                continue;
            }
            Err(e) => return Err(e),
        };
        let name = cstr(c.as_bytes())?;
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: valid arguments and buffer.
        let n = unsafe {
            libc::readlinkat(
                parent.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            // Not a symlink (EINVAL) or missing (ENOENT): a plain component.
            cur.push(&c);
            continue;
        }
        if no_symlink && todo.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("mount destination {} is a symlink", dest.display()),
            ));
        }
        links += 1;
        if links > 40 {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        buf.truncate(n as usize);
        let target = PathBuf::from(std::ffi::OsStr::from_bytes(&buf));
        if target.is_absolute() {
            cur = PathBuf::new();
        }
        for e in components(&target).into_iter().rev() {
            todo.push_front(e);
        }
    }
    Ok(cur)
}

/// The recording fake, for unit tests only (never in a release build).
#[cfg(test)]
pub use fake::{Call, RecordingSyscall};

#[cfg(test)]
mod fake {
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::*;

    /// One recorded call.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Call {
        /// `mount(source, target, fstype, flags, data)`.
        Mount(
            Option<PathBuf>,
            PathBuf,
            Option<String>,
            libc::c_ulong,
            Option<String>,
        ),
        /// `umount2(target, flags)`.
        Umount(PathBuf, libc::c_int),
        /// `pivot_root(new, old)`.
        PivotRoot(PathBuf, PathBuf),
        /// `chdir(path)`.
        Chdir(PathBuf),
        /// `sethostname(name)`.
        Hostname(String),
        /// `mknod(path, mode, dev)`.
        Mknod(PathBuf, u32, libc::dev_t),
        /// `symlink(target, link)`.
        Symlink(PathBuf, PathBuf),
    }

    /// A fake that records calls and succeeds; destinations resolve to `root/dest`.
    #[derive(Debug, Default)]
    pub struct RecordingSyscall {
        /// The calls, in order.
        pub calls: Mutex<Vec<Call>>,
    }

    impl RecordingSyscall {
        fn push(&self, c: Call) -> io::Result<()> {
            self.calls.lock().expect("not poisoned").push(c);
            Ok(())
        }

        /// The calls so far.
        pub fn take(&self) -> Vec<Call> {
            std::mem::take(&mut self.calls.lock().expect("not poisoned"))
        }
    }

    impl Syscall for RecordingSyscall {
        fn mount(
            &self,
            source: Option<&Path>,
            target: &Path,
            fstype: Option<&str>,
            flags: libc::c_ulong,
            data: Option<&str>,
        ) -> io::Result<()> {
            self.push(Call::Mount(
                source.map(Path::to_path_buf),
                target.to_path_buf(),
                fstype.map(str::to_string),
                flags,
                data.map(str::to_string),
            ))
        }
        fn umount2(&self, target: &Path, flags: libc::c_int) -> io::Result<()> {
            self.push(Call::Umount(target.to_path_buf(), flags))
        }
        fn pivot_root(&self, new_root: &Path, put_old: &Path) -> io::Result<()> {
            self.push(Call::PivotRoot(
                new_root.to_path_buf(),
                put_old.to_path_buf(),
            ))
        }
        fn chdir(&self, path: &Path) -> io::Result<()> {
            self.push(Call::Chdir(path.to_path_buf()))
        }
        fn sethostname(&self, name: &str) -> io::Result<()> {
            self.push(Call::Hostname(name.to_string()))
        }
        fn mknod(&self, path: &Path, mode: u32, dev: libc::dev_t) -> io::Result<()> {
            self.push(Call::Mknod(path.to_path_buf(), mode, dev))
        }
        fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
            self.push(Call::Symlink(target.to_path_buf(), link.to_path_buf()))
        }
        fn resolve_in_root(
            &self,
            root: &Path,
            dest: &Path,
            _kind: TargetKind,
            _no_symlink: bool,
        ) -> io::Result<(PathBuf, Option<OwnedFd>)> {
            let rel: PathBuf = dest
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            Ok((root.join(rel), None))
        }
    }
}
