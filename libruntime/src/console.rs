//! Pseudo-terminals for `process.terminal`, made from the container's own `/dev/ptmx` by
//! a process already in its mount namespace (the init, or the exec helper), so the
//! terminal's name means something inside.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

/// A pseudo-terminal (master, slave) from `/dev/ptmx`, sized as the process asks.
pub(crate) fn open(p: &oci_spec::runtime::Process) -> Result<(OwnedFd, OwnedFd)> {
    let err = |op: &'static str| Error::io(op, "/dev/ptmx", std::io::Error::last_os_error());
    // SAFETY: plain calls on fds and buffers we own.
    unsafe {
        let m = libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if m < 0 {
            return Err(err("open"));
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::unlockpt(m) != 0 {
            return Err(err("unlockpt"));
        }
        if let Some(b) = p.console_size() {
            let ws = libc::winsize {
                ws_row: b.height() as u16,
                ws_col: b.width() as u16,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            libc::ioctl(m, libc::TIOCSWINSZ, &ws);
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            return Err(err("ptsname"));
        }
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if s < 0 {
            return Err(err("open pty slave"));
        }
        Ok((master, OwnedFd::from_raw_fd(s)))
    }
}

/// Makes `slave` this process's controlling terminal (in a new session) and its stdin,
/// stdout and stderr.
pub(crate) fn take(slave: &OwnedFd) -> Result<()> {
    // SAFETY: setsid, ioctl and dup2 on an fd we own, in a single-threaded process.
    unsafe {
        libc::setsid();
        if libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) != 0 {
            return Err(Error::io(
                "set controlling terminal",
                "/dev/pts",
                std::io::Error::last_os_error(),
            ));
        }
        for fd in 0..3 {
            libc::dup2(slave.as_raw_fd(), fd);
        }
    }
    Ok(())
}

/// Sets the window size of the terminal `fd` (any end); the kernel tells the terminal's
/// foreground process group with SIGWINCH.
pub(crate) fn set_size(fd: libc::c_int, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads our struct.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// The window size of the terminal `fd`, if it is one.
pub(crate) fn size(fd: libc::c_int) -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills our zeroed struct.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0)
        .then_some((ws.ws_row, ws.ws_col))
}

/// Blocks SIGWINCH in this (single-threaded) process and returns a signalfd that reads
/// it: a relay polls it to follow its own terminal's size changes.
pub(crate) fn winch_fd() -> Option<OwnedFd> {
    // SAFETY: building a signal set and blocking it; signalfd returns a new fd we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
    }
}

/// Drains a [`winch_fd`].
pub(crate) fn drain_winch(fd: &OwnedFd) {
    let mut info = [0u8; 128];
    // SAFETY: reading signalfd records into our buffer until none is left.
    while unsafe { libc::read(fd.as_raw_fd(), info.as_mut_ptr().cast(), info.len()) } > 0 {}
}
