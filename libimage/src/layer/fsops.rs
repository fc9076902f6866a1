//! File-system operations relative to a root directory fd that never follow a link out of
//! the root: parents are resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`,
//! final components are never followed (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `linkat`
//! without `AT_SYMLINK_FOLLOW`).

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

fn cstr(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn retry<F: FnMut() -> libc::c_int>(mut f: F) -> io::Result<libc::c_int> {
    loop {
        match check(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Lexically cleans an archive path: strips leading `/` and `./`, removes `.` components,
/// resolves `..` against earlier components. Returns `None` when the path climbs above the
/// root (Docker's "breakout" check). The empty path means the root itself.
pub fn clean_path(raw: &[u8]) -> Option<PathBuf> {
    let mut out: Vec<&OsStr> = Vec::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Normal(n) => out.push(n),
            Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

/// A directory that confines every operation.
pub struct Root {
    fd: OwnedFd,
}

/// openat2's `struct open_how`.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

impl Root {
    /// Opens `path` as the root.
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = cstr(path.as_os_str().as_bytes())?;
        // SAFETY: valid C string; the fd returned is owned.
        let fd = retry(|| unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: fd was just returned by open.
        Ok(Root {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The root's fd.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Opens `rel` (a cleaned, relative path; empty for the root) inside the root, following
    /// symlinks only as if the root were `/`. `flags` may add `O_NOFOLLOW` for the last
    /// component.
    pub fn open_in_root(&self, rel: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
        let p = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let c = cstr(p.as_os_str().as_bytes())?;
        let how = OpenHow {
            flags: (flags | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: openat2 with a valid struct and size; fd returned is owned.
        let fd = retry(|| unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            ) as libc::c_int
        })?;
        // SAFETY: fd was just returned by openat2.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Opens the directory `rel`, creating missing directories (mode 0755, as Docker does for
    /// parents an archive does not list).
    pub fn open_dir_creating(&self, rel: &Path) -> io::Result<OwnedFd> {
        match self.open_in_root(rel, libc::O_RDONLY | libc::O_DIRECTORY) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            r => return r,
        }
        let mut cur = self.open_in_root(Path::new(""), libc::O_RDONLY | libc::O_DIRECTORY)?;
        let mut sofar = PathBuf::new();
        for c in rel.components() {
            sofar.push(c);
            match self.open_in_root(&sofar, libc::O_RDONLY | libc::O_DIRECTORY) {
                Ok(fd) => cur = fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let name = c.as_os_str();
                    match mkdirat(cur.as_raw_fd(), name, 0o755) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                        Err(e) => return Err(e),
                    }
                    cur = open_at(
                        cur.as_raw_fd(),
                        name,
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    )?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cur)
    }
}

/// `openat(dir, name, flags | O_CLOEXEC, mode)`.
pub fn open_at_mode(
    dir: RawFd,
    name: &OsStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid C string; the fd returned is owned.
    let fd = retry(|| unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: fd was just returned by openat.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat(dir, name, flags | O_CLOEXEC)`.
pub fn open_at(dir: RawFd, name: &OsStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    open_at_mode(dir, name, flags, 0)
}

/// `mkdirat`.
pub fn mkdirat(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid C string.
    retry(|| unsafe { libc::mkdirat(dir, c.as_ptr(), mode) }).map(drop)
}

/// `mknodat` (device nodes, FIFOs, overlay whiteouts).
pub fn mknodat(dir: RawFd, name: &OsStr, mode: u32, dev: libc::dev_t) -> io::Result<()> {
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid C string.
    retry(|| unsafe { libc::mknodat(dir, c.as_ptr(), mode, dev) }).map(drop)
}

/// `symlinkat(target, dir, name)`.
pub fn symlinkat(target: &[u8], dir: RawFd, name: &OsStr) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid C strings.
    retry(|| unsafe { libc::symlinkat(t.as_ptr(), dir, c.as_ptr()) }).map(drop)
}

/// `linkat` without `AT_SYMLINK_FOLLOW`: a symlink source is linked as the link itself.
pub fn linkat(src_dir: RawFd, src: &OsStr, dst_dir: RawFd, dst: &OsStr) -> io::Result<()> {
    let s = cstr(src.as_bytes())?;
    let d = cstr(dst.as_bytes())?;
    // SAFETY: valid C strings.
    retry(|| unsafe { libc::linkat(src_dir, s.as_ptr(), dst_dir, d.as_ptr(), 0) }).map(drop)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; `Ok(None)` when it does not exist.
pub fn lstat_at(dir: RawFd, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cstr(name.as_bytes())?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid C string and out pointer.
    match retry(|| unsafe {
        libc::fstatat(dir, c.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW)
    }) {
        // SAFETY: fstatat succeeded, so st is initialised.
        Ok(_) => Ok(Some(unsafe { st.assume_init() })),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `fstat`.
pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid out pointer.
    retry(|| unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded.
    Ok(unsafe { st.assume_init() })
}

/// Whether a `stat` describes a directory.
pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Removes `name` in `dir` and, if it is a directory, everything below it, never following
/// a link.
pub fn remove_all_at(dir: RawFd, name: &OsStr) -> io::Result<()> {
    let Some(st) = lstat_at(dir, name)? else {
        return Ok(());
    };
    let c = cstr(name.as_bytes())?;
    if is_dir(&st) {
        let sub = open_at(
            dir,
            name,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )?;
        for child in list_dir(sub.as_raw_fd())? {
            remove_all_at(sub.as_raw_fd(), &child)?;
        }
        // SAFETY: valid C string.
        retry(|| unsafe { libc::unlinkat(dir, c.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    } else {
        // SAFETY: valid C string.
        retry(|| unsafe { libc::unlinkat(dir, c.as_ptr(), 0) }).map(drop)
    }
}

/// The names in a directory fd (without `.` and `..`), sorted.
pub fn list_dir(dir: RawFd) -> io::Result<Vec<std::ffi::OsString>> {
    // Duplicate the fd: fdopendir takes ownership of it.
    // SAFETY: F_DUPFD_CLOEXEC on a valid fd.
    let dup = retry(|| unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: dup is a fresh fd owned by the DIR stream from here on.
    let dp = unsafe { libc::fdopendir(dup) };
    if dp.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so we still own dup.
        unsafe { libc::close(dup) };
        return Err(e);
    }
    // SAFETY: rewind so a reused fd lists from the start.
    unsafe { libc::rewinddir(dp) };
    let mut out = Vec::new();
    loop {
        // SAFETY: dp is a valid DIR stream.
        let ent = unsafe { libc::readdir(dp) };
        if ent.is_null() {
            break;
        }
        // SAFETY: readdir returned a valid dirent with a NUL-terminated name.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            out.push(OsStr::from_bytes(name).to_os_string());
        }
    }
    // SAFETY: closes dp and dup.
    unsafe { libc::closedir(dp) };
    out.sort();
    Ok(out)
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub fn lchown_at(dir: RawFd, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid C string.
    retry(|| unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

/// `fchown`.
pub fn fchown(fd: RawFd, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall.
    retry(|| unsafe { libc::fchown(fd, uid, gid) }).map(drop)
}

/// `fchmod`.
pub fn fchmod(fd: RawFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall.
    retry(|| unsafe { libc::fchmod(fd, mode) }).map(drop)
}

fn timespec(t: (i64, i64)) -> libc::timespec {
    libc::timespec {
        tv_sec: t.0 as libc::time_t,
        tv_nsec: t.1 as _,
    }
}

/// `futimens(fd, [atime, mtime])`, times as (seconds, nanoseconds).
pub fn futimens(fd: RawFd, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    let ts = [timespec(atime), timespec(mtime)];
    // SAFETY: valid array of two timespecs.
    retry(|| unsafe { libc::futimens(fd, ts.as_ptr()) }).map(drop)
}

/// `utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW)`.
pub fn lutimens_at(
    dir: RawFd,
    name: &OsStr,
    atime: (i64, i64),
    mtime: (i64, i64),
) -> io::Result<()> {
    let c = cstr(name.as_bytes())?;
    let ts = [timespec(atime), timespec(mtime)];
    // SAFETY: valid C string and timespec array.
    retry(|| unsafe { libc::utimensat(dir, c.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

/// `fsetxattr`.
pub fn fsetxattr(fd: RawFd, name: &[u8], value: &[u8]) -> io::Result<()> {
    let n = cstr(name)?;
    // SAFETY: valid C string and buffer.
    retry(|| unsafe { libc::fsetxattr(fd, n.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
        .map(drop)
}

/// `flistxattr` + `fgetxattr`: every extended attribute of an fd.
pub fn fxattrs(fd: RawFd) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut names = vec![0u8; 4096];
    // SAFETY: valid buffer.
    let n = match retry(|| unsafe {
        libc::flistxattr(fd, names.as_mut_ptr().cast(), names.len()) as libc::c_int
    }) {
        Ok(n) => n as usize,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let c = cstr(name)?;
        let mut val = vec![0u8; 65536];
        // SAFETY: valid C string and buffer.
        let len = retry(|| unsafe {
            libc::fgetxattr(fd, c.as_ptr(), val.as_mut_ptr().cast(), val.len()) as libc::c_int
        })?;
        val.truncate(len as usize);
        out.push((name.to_vec(), val));
    }
    Ok(out)
}

/// `readlinkat(dir, name)`.
pub fn readlink_at(dir: RawFd, name: &OsStr) -> io::Result<Vec<u8>> {
    let c = cstr(name.as_bytes())?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: valid C string and buffer.
    let n = retry(|| unsafe {
        libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) as libc::c_int
    })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// `fchmodat(dir, name, mode, 0)`. Only for entries this process just created (a device node
/// or FIFO must not be opened to chmod it).
pub fn chmod_at(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid C string.
    retry(|| unsafe { libc::fchmodat(dir, c.as_ptr(), mode, 0) }).map(drop)
}

/// `fgetxattr`; `Ok(None)` when the attribute is absent or unsupported.
pub fn fgetxattr(fd: RawFd, name: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let n = cstr(name)?;
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C string and buffer.
    match retry(|| unsafe {
        libc::fgetxattr(fd, n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) as libc::c_int
    }) {
        Ok(len) => {
            buf.truncate(len as usize);
            Ok(Some(buf))
        }
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENODATA) | Some(libc::ENOTSUP) | Some(libc::ERANGE)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether a `stat` describes an overlayfs whiteout (a 0:0 character device).
pub fn is_whiteout(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_like_docker() {
        let c = |s: &str| clean_path(s.as_bytes()).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(c("./a/b"), Some("a/b".into()));
        assert_eq!(c("/etc/passwd"), Some("etc/passwd".into()));
        assert_eq!(c("a/../b"), Some("b".into()));
        assert_eq!(c("a/./b/"), Some("a/b".into()));
        assert_eq!(c("./"), Some("".into()));
        assert_eq!(c("../etc"), None);
        assert_eq!(c("a/../../etc"), None);
    }
}
