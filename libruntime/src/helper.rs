//! Starting the monitor: a fresh process executed from a read-only view of the helper
//! binary (a detached read-only bind mount, or a sealed in-memory copy where mounting is
//! not allowed), never forked from the caller, which may be multi-threaded, and never
//! from a writable host binary, which a container could otherwise reach through
//! `/proc/PID/exe` (runc CVE-2019-5736).
//!
//! A program that embeds libruntime with [`Helper::CurrentExe`] calls [`maybe_run`] first
//! thing in `main`; with [`Helper::Binary`] a separate program (such as this crate's
//! `libruntime-helper`) does.

use std::io::BufRead;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::init::owned;

const MONITOR_ARG: &str = "__libruntime_monitor";
const EXEC_ARG: &str = "__libruntime_exec";

/// Which executable runs monitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Helper {
    /// The running program itself; its `main` must call [`maybe_run`] first.
    CurrentExe,
    /// Another program whose `main` calls [`maybe_run`].
    Binary(PathBuf),
}

/// Set once this program can serve as its own helper: the pre-`main` entry ran (it is
/// linked into every program using libruntime on glibc), or [`maybe_run`] was called.
static HELPER_READY: AtomicBool = AtomicBool::new(false);

/// Whether the running program can serve as its own monitor helper
/// ([`Helper::CurrentExe`]). [`Runtime::new`](crate::Runtime::new) refuses
/// `CurrentExe` otherwise, rather than start helpers that would run the program's `main`
/// again.
pub fn helper_ready() -> bool {
    HELPER_READY.load(Ordering::Relaxed)
}

/// If this process was started as a libruntime monitor, runs it and never returns;
/// otherwise returns at once. Call it first in `main`, before any thread starts.
///
/// On glibc targets this also happens by itself before `main` runs (an `.init_array`
/// entry of this crate), so programs whose `main` is `#[tokio::main]`, or that forget
/// the call, still work: the helper never reaches their `main`. Calling it is harmless.
pub fn maybe_run() {
    HELPER_READY.store(true, Ordering::Relaxed);
    dispatch(std::env::args_os().collect());
}

/// The pre-`main` entry: glibc calls `.init_array` functions with `main`'s arguments
/// before any thread exists (so forking the monitor here is safe) and before the Rust
/// runtime set up `std::env::args`, hence the arguments are read from `argv`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" fn pre_main(
    argc: libc::c_int,
    argv: *const *const libc::c_char,
    _envp: *const *const libc::c_char,
) {
    if argv.is_null() || argc <= 0 {
        return;
    }
    HELPER_READY.store(true, Ordering::Relaxed);
    let args: Vec<std::ffi::OsString> = (0..argc as usize)
        .map(|i| {
            // SAFETY: glibc passes `argc` valid, NUL-terminated strings in `argv`.
            let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(arg.to_bytes()).to_os_string()
        })
        .collect();
    if args
        .get(1)
        .is_some_and(|m| m == MONITOR_ARG || m == EXEC_ARG)
    {
        dispatch(args);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static PRE_MAIN: extern "C" fn(
    libc::c_int,
    *const *const libc::c_char,
    *const *const libc::c_char,
) = pre_main;

/// Runs the helper role named by `args[1]` (never returns), or returns.
fn dispatch(args: Vec<std::ffi::OsString>) {
    let mut args = args.into_iter();
    let _argv0 = args.next();
    let mode = args.next();
    if matches!(
        mode.as_deref().and_then(|m| m.to_str()),
        Some(MONITOR_ARG) | Some(EXEC_ARG)
    ) {
        // A caller may have blocked signals (a CLI proxying them); the monitor, the
        // container and exec'd programs start with none blocked, as runc's do.
        // SAFETY: setting this (single-threaded) process's mask to an empty set.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        }
    }
    if mode.as_deref() == Some(std::ffi::OsStr::new(EXEC_ARG)) {
        let (Some(dir), Some(file)) = (args.next(), args.next()) else {
            std::process::exit(2)
        };
        crate::exec::run(Path::new(&dir), Path::new(&file));
    }
    if mode.as_deref() != Some(std::ffi::OsStr::new(MONITOR_ARG)) {
        return;
    }
    let Some(dir) = args.next() else {
        std::process::exit(2)
    };
    // fd 3 is the pipe to the creator. The first process forks the monitor and exits, so
    // the creator's child is reaped at once and the monitor is reparented away from it.
    // SAFETY: single-threaded at this point (before main, or first in main).
    let pid = unsafe { libc::fork() };
    if pid != 0 {
        std::process::exit(if pid < 0 { 1 } else { 0 });
    }
    crate::monitor::run(Path::new(&dir), owned(3))
}

/// The helper binary as a file no process can write through, to execute as
/// `/proc/self/fd/N`: a read-only bind mount of it on a scratch file (runc's "bindfd": no
/// copy, so starting costs the same whatever the binary's size), detached when this is
/// dropped, which must wait until the child has executed it (the kernel refuses to
/// execute from a detached mount). Where mounting is not allowed, a sealed memfd copy
/// made once per process.
enum HelperExe {
    Mounted { fd: OwnedFd, target: PathBuf },
    Sealed(&'static OwnedFd),
}

impl HelperExe {
    fn open(path: &Path, scratch: &Path) -> Result<Self> {
        match ro_bind(path, scratch) {
            Ok((fd, target)) => Ok(HelperExe::Mounted { fd, target }),
            Err(_) => Ok(HelperExe::Sealed(sealed_copy(path)?)),
        }
    }

    fn exec_path(&self) -> String {
        let fd = match self {
            HelperExe::Mounted { fd, .. } => fd.as_raw_fd(),
            HelperExe::Sealed(fd) => fd.as_raw_fd(),
        };
        format!("/proc/self/fd/{fd}")
    }
}

impl Drop for HelperExe {
    fn drop(&mut self) {
        if let HelperExe::Mounted { target, .. } = self {
            detach(target);
        }
    }
}

fn detach(target: &Path) {
    if let Ok(t) = std::ffi::CString::new(target.as_os_str().as_encoded_bytes()) {
        // SAFETY: valid C string; lazy unmount of our own mount.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
    }
    let _ = std::fs::remove_file(target);
}

/// A sealed memfd copy of the helper, made once per process.
fn sealed_copy(path: &Path) -> Result<&'static OwnedFd> {
    static COPY: OnceLock<std::result::Result<OwnedFd, String>> = OnceLock::new();
    COPY.get_or_init(|| make_sealed_copy(path).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::InvalidArgument(format!("copy helper binary: {e}")))
}

/// A read-only bind mount of `path` on a fresh scratch file in `dir`, and an `O_PATH` fd
/// on it. `/proc/PID/exe` of what runs from it resolves to that read-only mount, so every
/// open for writing fails (`EROFS`), also after the mount is detached and our processes
/// have exited.
fn ro_bind(path: &Path, dir: &Path) -> Result<(OwnedFd, PathBuf)> {
    use std::ffi::CString;
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let target = dir.join(format!(
        ".helper-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let cpath = |p: &Path| {
        CString::new(p.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::InvalidArgument(format!("NUL in {}", p.display())))
    };
    let (src, tgt) = (cpath(path)?, cpath(&target)?);
    std::fs::File::create(&target).map_err(|e| Error::io("create", &target, e))?;
    let res = (|| {
        // SAFETY: valid C strings; a bind mount.
        let bind = unsafe {
            libc::mount(
                src.as_ptr(),
                tgt.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if bind != 0 {
            return Err(Error::io(
                "bind helper",
                path,
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: as above; its read-only remount.
        let ro = unsafe {
            libc::mount(
                std::ptr::null(),
                tgt.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                std::ptr::null(),
            )
        };
        if ro != 0 {
            return Err(Error::io(
                "remount helper read-only",
                path,
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: valid C string; the fd returned is owned.
        let fd = unsafe { libc::open(tgt.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Error::io(
                "open helper",
                path,
                std::io::Error::last_os_error(),
            ));
        }
        // Above the fds the child's setup replaces (fd 3 becomes the report pipe).
        // SAFETY: F_DUPFD_CLOEXEC on our fd; then the original is closed.
        let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        // SAFETY: our fd.
        unsafe { libc::close(fd) };
        if high < 0 {
            return Err(Error::io(
                "dup helper fd",
                path,
                std::io::Error::last_os_error(),
            ));
        }
        let fd = owned(high);
        // What we hold must be read-only before we trust it.
        // SAFETY: fstatvfs on our fd into a zeroed struct.
        let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut sv) } != 0
            || sv.f_flag & libc::ST_RDONLY == 0
        {
            return Err(Error::InvalidArgument(
                "helper mount is not read-only".into(),
            ));
        }
        Ok(fd)
    })();
    match res {
        Ok(fd) => Ok((fd, target)),
        Err(e) => {
            detach(&target);
            Err(e)
        }
    }
}

fn make_sealed_copy(path: &Path) -> Result<OwnedFd> {
    let src = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = src
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    // SAFETY: valid C string; the fd returned is owned.
    let fd = unsafe {
        libc::memfd_create(
            c"libruntime-helper".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(Error::io(
            "memfd_create",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    let memfd = owned(fd);
    let mut left = len;
    while left > 0 {
        // SAFETY: valid fds; sendfile copies inside the kernel.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                src.as_raw_fd(),
                std::ptr::null_mut(),
                left as usize,
            )
        };
        if n <= 0 {
            return Err(Error::io(
                "copy helper",
                path,
                std::io::Error::last_os_error(),
            ));
        }
        left -= n as u64;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our memfd.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(Error::io(
            "seal helper",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(memfd)
}

/// The standard streams a container gets.
#[derive(Debug, Default)]
pub struct ContainerStdio {
    /// Standard input. By default, `/dev/null`.
    pub stdin: Option<Stdio>,
    /// Standard output. By default, `/dev/null`.
    pub stdout: Option<Stdio>,
    /// Standard error. By default, `/dev/null`.
    pub stderr: Option<Stdio>,
}

/// Starts a monitor for the state directory `dir` and waits until it reports the
/// container created (returns its init's PID) or failed.
pub(crate) fn spawn_monitor(helper: &Helper, dir: &Path, stdio: ContainerStdio) -> Result<i32> {
    let exe = match helper {
        Helper::CurrentExe => {
            std::env::current_exe().map_err(|e| Error::io("find current executable", "", e))?
        }
        Helper::Binary(p) => p.clone(),
    };
    let helper_exe = HelperExe::open(&exe, dir.parent().unwrap_or(dir))?;
    let mut fds = [0; 2];
    // SAFETY: valid out array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::io("pipe", "", std::io::Error::last_os_error()));
    }
    let (r, w) = (owned(fds[0]), owned(fds[1]));
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(helper_exe.exec_path());
    cmd.arg(MONITOR_ARG).arg(dir);
    cmd.stdin(stdio.stdin.unwrap_or_else(Stdio::null));
    cmd.stdout(stdio.stdout.unwrap_or_else(Stdio::null));
    cmd.stderr(stdio.stderr.unwrap_or_else(Stdio::null));
    // SAFETY: dup2 is async-signal-safe; it runs in the forked child before exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("start monitor", &exe, e))?;
    drop(w);
    let status = child
        .wait()
        .map_err(|e| Error::io("wait for monitor", &exe, e))?;
    // The monitor runs (it executed the helper before its parent exited).
    drop(helper_exe);
    if !status.success() {
        return Err(Error::Init(format!("monitor exited with {status}")));
    }
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::from(r))
        .read_line(&mut line)
        .map_err(|e| Error::io("read monitor report", dir, e))?;
    let line = line.trim();
    if let Some(pid) = line.strip_prefix("ok ") {
        return pid
            .parse()
            .map_err(|_| Error::Init(format!("bad monitor report: {line}")));
    }
    Err(Error::Init(
        line.strip_prefix("error ")
            .unwrap_or(if line.is_empty() {
                "monitor exited without a report"
            } else {
                line
            })
            .to_string(),
    ))
}

/// Runs an exec helper for the container in `dir` with the process in `exec_file`, with
/// `stdio`, and waits for it: returns the program's exit code.
pub(crate) fn spawn_exec(
    helper: &Helper,
    dir: &Path,
    exec_file: &Path,
    stdio: ContainerStdio,
    detach: bool,
) -> Result<i32> {
    let exe = match helper {
        Helper::CurrentExe => {
            std::env::current_exe().map_err(|e| Error::io("find current executable", "", e))?
        }
        Helper::Binary(p) => p.clone(),
    };
    let helper_exe = HelperExe::open(&exe, dir.parent().unwrap_or(dir))?;
    let mut cmd = Command::new(helper_exe.exec_path());
    cmd.arg(EXEC_ARG).arg(dir).arg(exec_file);
    cmd.stdin(stdio.stdin.unwrap_or_else(Stdio::null));
    cmd.stdout(stdio.stdout.unwrap_or_else(Stdio::null));
    cmd.stderr(stdio.stderr.unwrap_or_else(Stdio::null));
    if detach {
        // The helper reads its config before anything else; give it the time to, then let
        // it run on its own (it is reparented when this process exits).
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("start exec helper", &exe, e))?;
        while exec_file.exists() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(child);
        return Ok(0);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("start exec helper", &exe, e))?;
    // Spawn returns once the child executed the helper: the mount can go.
    drop(helper_exe);
    let status = child
        .wait()
        .map_err(|e| Error::io("wait for exec helper", &exe, e))?;
    Ok(status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    }))
}
