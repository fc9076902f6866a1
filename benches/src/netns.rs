//! A private network namespace for benchmarks that need networking, so bridges, veths and
//! firewall rules never touch the machine's own network.

use std::os::fd::AsRawFd;
use std::process::Command;

/// A new network namespace with `lo` up, kept alive by the returned file.
pub fn create() -> anyhow::Result<std::fs::File> {
    std::thread::spawn(|| -> anyhow::Result<std::fs::File> {
        // SAFETY: unshare affects only this thread, which ends right after.
        anyhow::ensure!(
            unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0,
            "unshare(CLONE_NEWNET) needs root"
        );
        let f = std::fs::File::open("/proc/thread-self/ns/net")?;
        libnet::link::loopback_up(std::path::Path::new("/proc/thread-self/ns/net"))?;
        Ok(f)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("netns thread panicked"))?
}

/// Makes `cmd` start inside the namespace `fd` refers to.
pub fn enter(cmd: &mut Command, fd: i32) {
    // SAFETY: only setns (async-signal-safe) between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The raw fd of a namespace file.
pub fn fd(f: &std::fs::File) -> i32 {
    f.as_raw_fd()
}
