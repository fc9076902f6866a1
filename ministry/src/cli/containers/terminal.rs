//! This process's terminal: its size, followed into a container's terminal, and raw mode.

/// Follows this process's terminal size into the container's terminal: now, and at each
/// SIGWINCH, from a thread of its own (SIGWINCH is blocked first, so only that thread
/// takes it). Nothing when this process has no terminal.
pub(super) fn follow_window_size(rc: ministry::ContainerTerminal) {
    if terminal_size().is_none() {
        return;
    }
    // SAFETY: building a signal set and blocking it for this thread and those it starts.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || loop {
        if let Some((rows, cols)) = terminal_size() {
            let _ = rc.resize(rows, cols);
        }
        let mut sig = 0;
        // SAFETY: sigwait on our set.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
    });
}

/// The size `(rows, columns)` of the terminal on stdout or stdin, if any.
pub(crate) fn terminal_size() -> Option<(u16, u16)> {
    for fd in [1, 0, 2] {
        // SAFETY: TIOCGWINSZ fills our zeroed struct.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// Our stdin terminal in raw mode, restored on drop.
pub(super) struct RawMode(libc::termios);

impl RawMode {
    pub(super) fn enter() -> Option<Self> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with structs we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(RawMode(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring the saved attributes on fd 0.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.0) };
    }
}
