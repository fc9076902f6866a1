//! The container's init: forked by the monitor into the new PID namespace, it enters the
//! other namespaces, builds the root, reports ready, waits for `start`, and executes the
//! user's program. It never returns.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use crate::error::{Error, Result};
use crate::rootfs::setup_rootfs;
use crate::syscall::RealSyscall;

fn unshare_namespaces(spec: &Spec) -> Result<()> {
    let mut flags = 0;
    let mut join = Vec::new();
    for ns in spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let flag = match ns.typ() {
            LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
            LinuxNamespaceType::Network => libc::CLONE_NEWNET,
            LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
            LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
            // The monitor unshared the PID namespace before forking us.
            LinuxNamespaceType::Pid => continue,
            LinuxNamespaceType::User => {
                return Err(Error::InvalidArgument(
                    "user namespaces are not supported yet".into(),
                ))
            }
            LinuxNamespaceType::Time => {
                return Err(Error::InvalidArgument(
                    "time namespaces are not supported".into(),
                ))
            }
        };
        match ns.path() {
            Some(p) => join.push((p.clone(), flag)),
            None => flags |= flag,
        }
    }
    for (path, flag) in join {
        let f = std::fs::File::open(&path).map_err(|e| Error::io("open namespace", &path, e))?;
        // SAFETY: setns on a valid fd.
        if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), flag) } < 0 {
            return Err(Error::io("setns", &path, std::io::Error::last_os_error()));
        }
    }
    // SAFETY: unshare with valid flags; this process is single-threaded.
    if flags != 0 && unsafe { libc::unshare(flags) } < 0 {
        return Err(Error::io("unshare", "", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Runs the init. `report` is the pipe to the monitor ("ready", or an error line), `start`
/// the pipe on which the monitor sends the start byte.
pub(crate) fn run(
    spec: &Spec,
    root_mounts: &[Mount],
    seccomp: Option<&[u8]>,
    report: OwnedFd,
    start: OwnedFd,
) -> ! {
    let mut report = std::fs::File::from(report);
    let setup = (|| -> Result<()> {
        // SAFETY: prctl with valid arguments: die with the monitor.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        unshare_namespaces(spec)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("spec has no root".into()))?;
        setup_rootfs(&RealSyscall, spec, root.path(), root_mounts)
    })();
    if let Err(e) = setup {
        let _ = writeln!(report, "error {}", chain(&e));
        std::process::exit(1);
    }
    let _ = report.write_all(b"ready\n");
    let mut start = std::fs::File::from(start);
    let mut b = [0u8; 1];
    if !matches!(start.read(&mut b), Ok(1)) {
        // The monitor went away or the container was deleted before start.
        std::process::exit(1);
    }
    drop(start);
    let process = spec.process().clone().unwrap_or_default();
    match crate::process::finish_and_exec(&process, seccomp) {
        Ok(never) => match never {},
        Err(f) => {
            let _ = writeln!(report, "exec {} {}", f.code, f.message);
            std::process::exit(f.code);
        }
    }
}

/// An error with its causes, for reporting across the process boundary.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Wraps a raw fd we own.
pub(crate) fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: callers pass fds they own exclusively.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
