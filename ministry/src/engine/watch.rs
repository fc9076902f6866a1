//! Waiting for a file to change (the event log, a container's log) with inotify, so
//! followers wake when a line is appended instead of polling on a timer.

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::Error;

/// A watch on a directory: wakes when a file in it is written, created, renamed into it
/// or closed after writing.
pub(crate) struct DirWatch {
    inotify: Inotify,
}

impl DirWatch {
    /// Watches `dir` (which must exist).
    pub(crate) fn new(dir: &Path) -> Result<Self, Error> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| Error::io("inotify_init", dir, e.into()))?;
        inotify
            .add_watch(
                dir,
                AddWatchFlags::IN_MODIFY
                    | AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_CLOSE_WRITE,
            )
            .map_err(|e| Error::io("inotify_add_watch", dir, e.into()))?;
        Ok(DirWatch { inotify })
    }

    /// Waits until something in the directory changed or `timeout` passed; returns
    /// whether something changed (the pending notifications are consumed).
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN)];
        let ready = matches!(
            poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)),
            Ok(n) if n > 0
        );
        if ready {
            // Drain: one wake-up per batch of writes is enough.
            while matches!(self.inotify.read_events(), Ok(ev) if !ev.is_empty()) {}
        }
        ready
    }
}
