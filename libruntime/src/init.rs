//! The container's init: forked by the monitor into the new PID namespace, it enters the
//! other namespaces, builds the root, reports ready, waits for `start`, and executes the
//! user's program. It never returns.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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
            // The monitor cloned us into new PID and user namespaces.
            LinuxNamespaceType::Pid => continue,
            LinuxNamespaceType::User if ns.path().is_none() => continue,
            LinuxNamespaceType::User => libc::CLONE_NEWUSER,
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
    // A user namespace first: the others are then joined or made as its members.
    join.sort_by_key(|(_, flag)| *flag != libc::CLONE_NEWUSER);
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

/// `process.terminal`: a pseudo-terminal from the container's own `/dev/ptmx` (so its
/// name, `/dev/pts/0`, means something inside), the slave made the controlling terminal
/// and stdin, stdout and stderr, the master sent to the monitor over `sock` (SCM_RIGHTS)
/// and closed here, as runc's console socket does.
fn make_console(spec: &Spec, sock: &OwnedFd) -> Result<()> {
    let err = |op: &'static str| Error::io(op, "/dev/ptmx", std::io::Error::last_os_error());
    let process = spec.process().clone().unwrap_or_default();
    let (master, slave) = crate::console::open(&process)?;
    crate::console::take(&slave)?;
    drop(slave);
    // SAFETY: sendmsg of one fd we own (SCM_RIGHTS) with buffers we own.
    unsafe {
        // Send the master.
        let mut data = [b'm'];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let space = libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize;
        let mut cbuf = vec![0u8; space];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), master.as_raw_fd());
        if libc::sendmsg(sock.as_raw_fd(), &msg, 0) != 1 {
            return Err(err("send the terminal"));
        }
        drop(master);
    }
    Ok(())
}

/// In a new user namespace: waits until the monitor wrote our ID maps (a byte on
/// `maps`), then becomes its root, as far as the maps have one.
fn enter_user_namespace(maps: OwnedFd) -> Result<()> {
    let mut b = [0u8; 1];
    if !matches!(std::fs::File::from(maps).read(&mut b), Ok(1)) {
        return Err(Error::Init(
            "the user namespace's ID maps were not written".into(),
        ));
    }
    // SAFETY: setresgid/setresuid to IDs of the namespace; single-threaded.
    unsafe {
        if libc::setresgid(0, 0, 0) < 0 || libc::setresuid(0, 0, 0) < 0 {
            return Err(Error::io(
                "become root of the user namespace",
                "",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Runs the init. `report` is the pipe to the monitor ("ready", or an error line), `start`
/// the pipe on which the monitor sends the start byte; `userns_maps` the pipe that says
/// the ID maps of a new user namespace are in place.
pub(crate) fn run(
    spec: &Spec,
    root_mounts: &[Mount],
    seccomp: Option<&[u8]>,
    report: OwnedFd,
    start: OwnedFd,
    console: Option<OwnedFd>,
    userns_maps: Option<OwnedFd>,
) -> ! {
    let mut report = std::fs::File::from(report);
    let setup = (|| -> Result<()> {
        // SAFETY: prctl with valid arguments: die with the monitor.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        if let Some(maps) = userns_maps {
            enter_user_namespace(maps)?;
        }
        unshare_namespaces(spec)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("spec has no root".into()))?;
        setup_rootfs(&RealSyscall, spec, root.path(), root_mounts)?;
        if let Some(sock) = &console {
            make_console(spec, sock)?;
        }
        Ok(())
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
