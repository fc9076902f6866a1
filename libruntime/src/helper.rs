//! Starting the monitor: a fresh process executed from a sealed in-memory copy of the
//! helper binary (never forked from the caller, which may be multi-threaded, and never
//! the host binary itself, which a container could otherwise reach through
//! `/proc/PID/exe`: runc CVE-2019-5736).
//!
//! A program that embeds libruntime with [`Helper::CurrentExe`] calls [`maybe_run`] first
//! thing in `main`; with [`Helper::Binary`] a separate program (such as this crate's
//! `libruntime-helper`) does.

use std::io::BufRead;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

/// If this process was started as a libruntime monitor, runs it and never returns;
/// otherwise returns at once. Call it first in `main`, before any thread starts.
pub fn maybe_run() {
    let mut args = std::env::args_os();
    let _argv0 = args.next();
    let mode = args.next();
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
    // SAFETY: single-threaded at this point (called first in main).
    let pid = unsafe { libc::fork() };
    if pid != 0 {
        std::process::exit(if pid < 0 { 1 } else { 0 });
    }
    crate::monitor::run(Path::new(&dir), owned(3))
}

/// A sealed memfd holding the helper binary, made once per process.
fn sealed_copy(path: &Path) -> Result<&'static OwnedFd> {
    static COPY: OnceLock<std::result::Result<OwnedFd, String>> = OnceLock::new();
    COPY.get_or_init(|| make_sealed_copy(path).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::InvalidArgument(format!("copy helper binary: {e}")))
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
    let memfd = sealed_copy(&exe)?;
    let mut fds = [0; 2];
    // SAFETY: valid out array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::io("pipe", "", std::io::Error::last_os_error()));
    }
    let (r, w) = (owned(fds[0]), owned(fds[1]));
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(format!("/proc/self/fd/{}", memfd.as_raw_fd()));
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
    let memfd = sealed_copy(&exe)?;
    let mut cmd = Command::new(format!("/proc/self/fd/{}", memfd.as_raw_fd()));
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
    let status = cmd
        .status()
        .map_err(|e| Error::io("start exec helper", &exe, e))?;
    Ok(status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    }))
}
