//! `exec`: run another process in a running container, with all its namespaces, its
//! cgroup and its security settings (user, capabilities, seccomp).
//!
//! A fresh helper (the sealed memfd copy, as for monitors) opens the init's namespace
//! files, joins the cgroup, enters the namespaces (the mount namespace last) and forks:
//! the child, now in the container's PID namespace, is made non-dumpable (no ptrace
//! from the container until execve), finishes like the init and executes the program; the
//! helper waits and exits with the program's code.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Process};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::monitor::MonitorConfig;

/// What the exec helper is handed (`exec-<n>.json` in the state directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecConfig {
    /// The container's init, whose namespaces are joined.
    pub pid: i32,
    /// Its start time (see [`crate::State::pid_start`]): the namespaces opened are the
    /// container's only if `pid` still names the process that started then.
    #[serde(default)]
    pub pid_start: u64,
    /// The process to run.
    pub process: Process,
}

fn ns_name(t: LinuxNamespaceType) -> Option<(&'static str, libc::c_int)> {
    Some(match t {
        LinuxNamespaceType::Ipc => ("ipc", libc::CLONE_NEWIPC),
        LinuxNamespaceType::Uts => ("uts", libc::CLONE_NEWUTS),
        LinuxNamespaceType::Network => ("net", libc::CLONE_NEWNET),
        LinuxNamespaceType::Cgroup => ("cgroup", libc::CLONE_NEWCGROUP),
        LinuxNamespaceType::Pid => ("pid", libc::CLONE_NEWPID),
        LinuxNamespaceType::Mount => ("mnt", libc::CLONE_NEWNS),
        LinuxNamespaceType::User => ("user", libc::CLONE_NEWUSER),
        _ => return None,
    })
}

/// The exec helper's main: never returns; exits with the program's code (126/127 and a
/// message on stderr when it cannot run, as Docker).
pub(crate) fn run(dir: &Path, exec_file: &Path) -> ! {
    match exec(dir, exec_file) {
        Ok(code) => std::process::exit(code),
        Err((code, msg)) => {
            eprintln!("{msg}");
            std::process::exit(code)
        }
    }
}

fn exec(dir: &Path, exec_file: &Path) -> std::result::Result<i32, (i32, String)> {
    let fail = |e: Error| (126, e.to_string());
    let read = |p: &Path| std::fs::read(p).map_err(|e| fail(Error::io("read", p, e)));
    let mcfg: MonitorConfig = serde_json::from_slice(&read(&dir.join("config.json"))?)
        .map_err(|e| fail(Error::State(dir.join("config.json"), e)))?;
    let ecfg: ExecConfig = serde_json::from_slice(&read(exec_file)?)
        .map_err(|e| fail(Error::State(exec_file.to_path_buf(), e)))?;
    let _ = std::fs::remove_file(exec_file);
    let seccomp = match &mcfg.seccomp_bpf {
        Some(p) => Some(read(p)?),
        None => None,
    };
    // All namespace files first: once in the container's mount namespace, the host's /proc
    // is out of reach.
    let mut ns = Vec::new();
    for n in mcfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some((name, flag)) = ns_name(n.typ()) {
            let p = format!("/proc/{}/ns/{name}", ecfg.pid);
            let f = std::fs::File::open(&p).map_err(|e| fail(Error::io("open", &p, e)))?;
            ns.push((flag, f));
        }
    }
    // Opened from the init that started at the recorded time, not from a process that
    // reused its PID after it exited.
    if ecfg.pid_start != 0 && !crate::state::is_alive(ecfg.pid, ecfg.pid_start) {
        return Err((126, "container is not running".into()));
    }
    // The user namespace first (the others belong to it), the mount namespace last.
    ns.sort_by_key(|(flag, _)| match *flag {
        libc::CLONE_NEWUSER => 0u8,
        libc::CLONE_NEWNS => 2,
        _ => 1,
    });
    if let Some(path) = &mcfg.cgroup {
        crate::cgroup::ContainerCgroup::join(path).map_err(fail)?;
    }
    for (flag, f) in &ns {
        // SAFETY: setns on a namespace fd; this process is single-threaded.
        if unsafe { libc::setns(f.as_raw_fd(), *flag) } < 0 {
            return Err(fail(Error::io(
                "setns",
                "",
                std::io::Error::last_os_error(),
            )));
        }
    }
    drop(ns);
    // `process.terminal`: a pseudo-terminal from the container's own /dev/ptmx (this
    // process is in its mount namespace now); the program gets the slave, this helper
    // relays between its own stdio and the master.
    let terminal = if ecfg.process.terminal() == Some(true) {
        Some(crate::console::open(&ecfg.process).map_err(fail)?)
    } else {
        None
    };
    // SAFETY: single-threaded; the child continues in the container's PID namespace.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(fail(Error::io("fork", "", std::io::Error::last_os_error())));
    }
    if pid == 0 {
        // SAFETY: prctl with valid arguments. Not dumpable (so not ptrace-able by the
        // container) until execve resets it for the program.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        }
        if let Some((_, slave)) = &terminal {
            // The pty fds close on exec.
            let _ = crate::console::take(slave);
        }
        // Unlike a container's, an exec's working directory is not created (runc's
        // words for both refusals; Docker shows them on the exec's stdout).
        let cwd = ecfg.process.cwd();
        if !cwd.is_absolute() {
            println!("OCI runtime exec failed: exec failed: Cwd must be an absolute path: unknown");
            std::process::exit(126);
        }
        if !cwd.is_dir() {
            println!("OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ({:?}) set in config.json failed: no such file or directory: unknown", cwd.display().to_string());
            std::process::exit(126);
        }
        match crate::process::finish_and_exec(&ecfg.process, seccomp.as_deref()) {
            Ok(never) => match never {},
            Err(f) => {
                println!("OCI runtime exec failed: exec failed: unable to start container process: {}: unknown", f.message);
                // Docker reports every failure to start an exec'd program as 126.
                std::process::exit(126);
            }
        }
    }
    if let Some((master, slave)) = terminal {
        drop(slave);
        relay(master);
    }
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid
            || (r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR))
        {
            break;
        }
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// Copies our stdin into the terminal and the terminal to our stdout until the program's
/// side is closed (reading the master fails with EIO once every slave fd is gone).
fn relay(master: OwnedFd) {
    use std::io::{Read, Write};
    let mut m = std::fs::File::from(master);
    let mut stdin_open = true;
    let mut buf = vec![0u8; 32 * 1024];
    // The caller's terminal resized (this helper is in its foreground process group): the
    // container's terminal follows.
    let winch = crate::console::winch_fd();
    loop {
        let mut fds = vec![libc::pollfd {
            fd: m.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(w) = &winch {
            fds.push(libc::pollfd {
                fd: w.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let stdin_slot = fds.len();
        if stdin_open {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: valid pollfd array.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            match m.read(&mut buf) {
                Ok(n) if n > 0 => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
                _ => return,
            }
        }
        if let (Some(w), true) = (&winch, fds.len() > 1 && fds[1].revents != 0) {
            crate::console::drain_winch(w);
            if let Some((rows, cols)) = (0..3).find_map(crate::console::size) {
                crate::console::set_size(m.as_raw_fd(), rows, cols);
            }
        }
        if stdin_open && fds.len() > stdin_slot && fds[stdin_slot].revents != 0 {
            match std::io::stdin().lock().read(&mut buf) {
                Ok(n) if n > 0 => {
                    let _ = m.write_all(&buf[..n]);
                }
                _ => stdin_open = false,
            }
        }
    }
}
