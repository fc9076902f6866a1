//! The per-container monitor: a fresh, single-threaded process (started from a sealed copy
//! of the helper binary) that forks the container's init into a new PID namespace, reports
//! `created` to the caller, hands `start` on, waits for the exit and records it. It
//! outlives the program that created the container.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::init::owned;
use crate::restart::RestartPolicy;
use crate::state::{self, now_ns, State, Status};

/// What the creator hands the monitor (`config.json` in the state directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MonitorConfig {
    pub id: String,
    pub spec: Spec,
    pub root_mounts: Vec<Mount>,
    /// The cgroup path (relative to the hierarchy roots), if the container gets one.
    pub cgroup: Option<String>,
    /// The compiled seccomp program (a file in the state directory), if any.
    pub seccomp_bpf: Option<PathBuf>,
    /// Where the container's stdout and stderr are logged; without it they are the
    /// monitor's own (the creator's choice of stdio).
    pub log: Option<crate::logs::LogConfig>,
    /// Where to report the exit.
    #[serde(default)]
    pub exit_log: Option<crate::container::ExitLog>,
    /// When to run the program again after it exits.
    #[serde(default)]
    pub restart: RestartPolicy,
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: valid out array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::io("pipe", "", std::io::Error::last_os_error()));
    }
    Ok((owned(fds[0]), owned(fds[1])))
}

fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// The monitor's main. `sync` is the pipe to the creator: it gets `ok PID` or
/// `error MESSAGE` and is then closed.
pub(crate) fn run(dir: &Path, sync: OwnedFd) -> ! {
    let mut sync = std::fs::File::from(sync);
    let code = match monitor(dir, &mut sync) {
        Ok(()) => 0,
        Err(e) => {
            let msg = match e {
                Error::Init(m) => m,
                other => other.to_string(),
            };
            let _ = writeln!(sync, "error {msg}");
            1
        }
    };
    std::process::exit(code)
}

/// The file whose presence stops the restart policy (a stop on purpose).
pub(crate) const NO_RESTART: &str = "no-restart";
/// The file holding a restart policy set after creation (`docker update --restart`).
pub(crate) const RESTART_POLICY: &str = "restart.json";

/// The restart policy in force: the one set last, else the one created with.
fn restart_policy(dir: &Path, cfg: &MonitorConfig) -> RestartPolicy {
    std::fs::read(dir.join(RESTART_POLICY))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or(cfg.restart)
}

fn monitor(dir: &Path, sync: &mut std::fs::File) -> Result<()> {
    let cfg_path = dir.join("config.json");
    let data = std::fs::read(&cfg_path).map_err(|e| Error::io("read", &cfg_path, e))?;
    let cfg: MonitorConfig =
        serde_json::from_slice(&data).map_err(|e| Error::State(cfg_path.clone(), e))?;
    // SAFETY: setsid has no preconditions; the monitor leads its own session.
    unsafe { libc::setsid() };
    let namespaces = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let new_ns = |t: LinuxNamespaceType| {
        namespaces
            .iter()
            .any(|ns| ns.typ() == t && ns.path().is_none())
    };
    let new_pid_ns = new_ns(LinuxNamespaceType::Pid);
    let new_user_ns = new_ns(LinuxNamespaceType::User);
    let fifo = dir.join("start");
    let c =
        std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("no NUL in our path");
    // SAFETY: valid C string.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } < 0 {
        return Err(Error::io("mkfifo", &fifo, std::io::Error::last_os_error()));
    }
    // Read-write so the FIFO never reports end-of-file while no client has it open.
    let fifo_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .map_err(|e| Error::io("open", &fifo, e))?;
    let seccomp = match &cfg.seccomp_bpf {
        Some(p) => Some(std::fs::read(p).map_err(|e| Error::io("read", p, e))?),
        None => None,
    };
    let mut log = match &cfg.log {
        Some(lc) => Some(
            crate::logs::LogWriter::open(lc.clone())
                .map_err(|e| Error::io("open log", &lc.path, e))?,
        ),
        None => None,
    };
    // Attach clients connect here (the state directory is 0700): each gets the output
    // from then on, framed as [stream][length u32 BE][bytes]; with a terminal, what they
    // send is typed into it.
    let sock_path = dir.join("attach.sock");
    let _ = std::fs::remove_file(&sock_path);
    let listener = std::os::unix::net::UnixListener::bind(&sock_path).ok();
    if let Some(l) = &listener {
        let _ = l.set_nonblocking(true);
    }
    let state_path = dir.join("state.json");
    // SAFETY: getpid has no preconditions.
    let monitor_pid = unsafe { libc::getpid() };
    let mut st = State {
        id: cfg.id.clone(),
        status: Status::Created,
        pid: 0,
        monitor_pid,
        monitor_start: state::start_time(monitor_pid).unwrap_or(0),
        pid_start: 0,
        exit_code: None,
        created_ns: now_ns(),
        started_ns: None,
        finished_ns: None,
        error: None,
        oom_killed: false,
        restart_count: 0,
    };
    let mut cgroup: Option<crate::cgroup::ContainerCgroup> = None;
    // Later runs join the first run's network namespace (kept open here), so the
    // interfaces an engine put there survive a restart.
    let mut spec = cfg.spec.clone();
    let mut netns: Option<OwnedFd> = None;
    // Until the first start: the FIFO `start` comes through.
    let mut fifo_file = Some((fifo_file, fifo));
    let mut backoff = crate::restart::Backoff::default();
    let mut ooms_before = 0;
    let mut reported = false;
    loop {
        let first = fifo_file.is_some();
        let mut run = match Run::spawn(
            &cfg,
            &spec,
            (new_pid_ns, new_user_ns),
            seccomp.as_deref(),
            &mut cgroup,
        ) {
            Ok(r) => r,
            Err(e) if first => {
                if let Some(cg) = &cgroup {
                    let _ = cg.delete();
                }
                return Err(e);
            }
            Err(e) => {
                st.error = Some(e.to_string());
                break;
            }
        };
        if let Err(msg) = run.ready() {
            let status = wait(run.pid);
            st.status = Status::Stopped;
            st.pid = 0;
            st.pid_start = 0;
            st.exit_code = Some(exit_code(status));
            st.finished_ns = Some(now_ns());
            st.error = Some(msg.clone());
            if let Some(cg) = &cgroup {
                st.oom_killed = cg.oom_kills() > ooms_before;
                if let Err(e) = cg.delete() {
                    st.error.get_or_insert_with(|| e.to_string());
                }
            }
            state::write(&state_path, &st)?;
            if !first {
                if let Some(x) = &cfg.exit_log {
                    report_exit(x, &cfg.id, &st);
                }
                return Ok(());
            }
            return Err(Error::Init(if msg.is_empty() {
                "init exited during setup".into()
            } else {
                msg
            }));
        }
        st.pid = run.pid;
        // Our unreaped child: its PID cannot be reused while we read this.
        st.pid_start = state::start_time(run.pid).unwrap_or(0);
        // (A network namespace belongs to the user namespace it was made in, which a
        // later run, in a user namespace of its own, could not join.)
        if netns.is_none() && new_ns(LinuxNamespaceType::Network) && !new_user_ns {
            netns = keep_network_namespace(run.pid, &mut spec);
        }
        if first {
            state::write(&state_path, &st)?;
            writeln!(sync, "ok {}", run.pid).map_err(|e| Error::io("report to creator", "", e))?;
            // The creator no longer listens; our stdio stays for the container's use only.
            trim_memory();
        } else {
            run.start(&mut st);
            if st.status == Status::Running {
                if let Some(x) = &cfg.exit_log {
                    report_start(x, &cfg.id, &st);
                }
            }
            state::write(&state_path, &st)?;
        }
        let began = std::time::Instant::now();
        let status = supervise(
            &cfg,
            &mut run,
            &mut st,
            &state_path,
            &mut fifo_file,
            listener.as_ref(),
            log.as_mut(),
        )?;
        st.status = Status::Stopped;
        st.pid = 0;
        st.pid_start = 0;
        st.exit_code = Some(exit_code(status));
        st.finished_ns = Some(now_ns());
        if let Some(cg) = &cgroup {
            let ooms = cg.oom_kills();
            st.oom_killed = ooms > ooms_before;
            ooms_before = ooms;
        }
        drop(run);
        // Never after a stop on purpose, a program that never ran, or one that could not
        // be executed.
        let again = st.started_ns.is_some()
            && st.error.is_none()
            && !dir.join(NO_RESTART).exists()
            && restart_policy(dir, &cfg)
                .restarts_after(st.exit_code.unwrap_or(0), st.restart_count);
        if !again {
            break;
        }
        // Counted when decided, as Docker counts it (so while restarting too).
        st.status = Status::Restarting;
        st.restart_count += 1;
        state::write(&state_path, &st)?;
        if let Some(x) = &cfg.exit_log {
            report_exit(x, &cfg.id, &st);
        }
        reported = true;
        if !sleep_unless_cancelled(dir, backoff.next(began.elapsed())) {
            break;
        }
        reported = false;
        // The `run` that gave us its terminal for the first run is gone: later runs read
        // nothing and write to the log only.
        detach_stdio();
        if let Some(w) = log.as_mut() {
            w.stop_forwarding();
        }
    }
    drop(listener);
    let _ = std::fs::remove_file(&sock_path);
    drop(netns);
    // The container's cgroup is deleted before "stopped" is published, so whoever sees the
    // final state may remove the cgroup parent.
    st.status = Status::Stopped;
    st.pid = 0;
    st.pid_start = 0;
    if let Some(cg) = &cgroup {
        if let Err(e) = cg.delete() {
            st.error.get_or_insert_with(|| e.to_string());
        }
    }
    state::write(&state_path, &st)?;
    if let (Some(x), false) = (&cfg.exit_log, reported) {
        report_exit(x, &cfg.id, &st);
    }
    Ok(())
}

/// Opens the network namespace of the first run's init and points `spec` at it for the
/// next runs (`/proc/self/fd/N`: the init is forked from us and inherits the fd).
fn keep_network_namespace(pid: libc::pid_t, spec: &mut Spec) -> Option<OwnedFd> {
    let f = std::fs::File::open(format!("/proc/{pid}/ns/net")).ok()?;
    let fd = OwnedFd::from(f);
    let path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let mut linux = spec.linux().clone()?;
    let mut nss = linux.namespaces().clone()?;
    for ns in nss.iter_mut() {
        if ns.typ() == LinuxNamespaceType::Network && ns.path().is_none() {
            ns.set_path(Some(path.clone()));
        }
    }
    linux.set_namespaces(Some(nss));
    spec.set_linux(Some(linux));
    Some(fd)
}

/// Waits `delay` unless a stop on purpose comes first (then `false`).
fn sleep_unless_cancelled(dir: &Path, delay: std::time::Duration) -> bool {
    let until = std::time::Instant::now() + delay;
    loop {
        if dir.join(NO_RESTART).exists() {
            return false;
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
    }
}

/// Points the monitor's stdin, stdout and stderr at `/dev/null`.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 of an fd we own onto our standard streams.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

/// Forks the init: into a new PID namespace of its own with `new_pid_ns` and a new user
/// namespace with `new_user_ns` (owning the PID namespace; a raw clone, so each run gets
/// fresh ones; the monitor is single-threaded, so the child may do anything), else as a
/// plain fork.
fn fork_init(new_pid_ns: bool, new_user_ns: bool) -> Result<libc::pid_t> {
    let mut flags = libc::SIGCHLD as libc::c_ulong;
    if new_pid_ns {
        flags |= libc::CLONE_NEWPID as libc::c_ulong;
    }
    if new_user_ns {
        flags |= libc::CLONE_NEWUSER as libc::c_ulong;
    }
    // SAFETY: clone without a new stack, as fork does; this process is single-threaded.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if pid < 0 {
        return Err(Error::io("clone", "", std::io::Error::last_os_error()));
    }
    Ok(pid as libc::pid_t)
}

/// One run of the container's program: its init and what connects the monitor to it.
struct Run {
    pid: libc::pid_t,
    /// "ready" or an error line before the start; an "exec" line if executing failed.
    report: BufReader<std::fs::File>,
    /// The start byte goes here.
    start_w: Option<std::fs::File>,
    /// The program's output: stdout and stderr pipes, or the terminal's master.
    streams: [Option<std::fs::File>; 2],
    /// The monitor's stdin and the terminal it is copied into.
    relay: Option<(std::fs::File, std::fs::File)>,
    /// The terminal, for what attach clients type.
    attach_in: Option<std::fs::File>,
}

impl Run {
    /// Forks the init with `spec` and puts it into the container's cgroup (made on the
    /// first run).
    fn spawn(
        cfg: &MonitorConfig,
        spec: &Spec,
        (new_pid_ns, new_user_ns): (bool, bool),
        seccomp: Option<&[u8]>,
        cgroup: &mut Option<crate::cgroup::ContainerCgroup>,
    ) -> Result<Run> {
        let (report_r, report_w) = pipe()?;
        let (start_r, start_w) = pipe()?;
        let log_pipes = match cfg.log {
            Some(_) => Some((pipe()?, pipe()?)),
            None => None,
        };
        // `process.terminal`: the program gets a pseudo-terminal (its output, logged as
        // stdout, comes from the master; the monitor's stdin is relayed into it).
        let console = match (&cfg.log, spec.process().as_ref()) {
            (Some(_), Some(p)) if p.terminal() == Some(true) => Some(socketpair()?),
            _ => None,
        };
        // The cgroup exists before the init starts: its root shows the cgroup's
        // directories at /sys/fs/cgroup.
        if let (None, Some(p)) = (cgroup.as_ref(), cfg.cgroup.as_deref()) {
            let r = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
            *cgroup = Some(crate::cgroup::ContainerCgroup::create(p, r)?);
        }
        let maps = if new_user_ns { Some(pipe()?) } else { None };
        let pid = fork_init(new_pid_ns, new_user_ns)?;
        if pid == 0 {
            drop(report_r);
            drop(start_w);
            let maps = maps.map(|(r, w)| {
                drop(w);
                r
            });
            if let Some(((_, out_w), (_, err_w))) = &log_pipes {
                // SAFETY: dup2 onto stdout/stderr; the copies do not close on exec.
                unsafe {
                    libc::dup2(out_w.as_raw_fd(), 1);
                    libc::dup2(err_w.as_raw_fd(), 2);
                }
            }
            drop(log_pipes);
            crate::init::run(
                spec,
                &cfg.root_mounts,
                seccomp,
                report_w,
                start_r,
                console.map(|(_, init_end)| init_end),
                maps,
            );
        }
        drop(report_w);
        drop(start_r);
        if let Some((r, w)) = maps {
            drop(r);
            if let Err(e) = write_id_maps(pid, spec) {
                // SAFETY: killing our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                wait(pid);
                return Err(e);
            }
            let _ = std::fs::File::from(w).write_all(b"m");
        }
        // The init joins its cgroup (devices allowlist, limits) while it sets up the root;
        // start cannot arrive before "ready", so the program always runs inside it.
        let joined = cgroup.as_ref().map_or(Ok(()), |cg| cg.add(pid));
        if let Err(e) = joined {
            // SAFETY: killing our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            wait(pid);
            return Err(e);
        }
        let mut run = Run {
            pid,
            report: BufReader::new(std::fs::File::from(report_r)),
            start_w: Some(std::fs::File::from(start_w)),
            streams: [None, None],
            relay: None,
            attach_in: None,
        };
        // The terminal's master, sent by the init once it made the terminal (nothing if the
        // init failed before: its error line follows).
        let master = match console {
            Some((mon_end, init_end)) => {
                drop(init_end);
                recv_fd(&mon_end)
            }
            None => None,
        };
        match (log_pipes, master) {
            (Some(_), Some(master)) => {
                // SAFETY: duplicating our own fds.
                let (to_pty, stdin, for_attach) = unsafe {
                    (
                        libc::fcntl(master.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3),
                        libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3),
                        libc::fcntl(master.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3),
                    )
                };
                if to_pty >= 0 && stdin >= 0 {
                    run.relay = Some((
                        std::fs::File::from(owned(stdin)),
                        std::fs::File::from(owned(to_pty)),
                    ));
                }
                if for_attach >= 0 {
                    run.attach_in = Some(std::fs::File::from(owned(for_attach)));
                }
                run.streams = [Some(std::fs::File::from(master)), None];
            }
            (Some(((out_r, out_w), (err_r, err_w))), None) => {
                drop(out_w);
                drop(err_w);
                run.streams = [
                    Some(std::fs::File::from(out_r)),
                    Some(std::fs::File::from(err_r)),
                ];
            }
            _ => {}
        }
        Ok(run)
    }

    /// Waits for the init's "ready"; its error message otherwise.
    fn ready(&mut self) -> std::result::Result<(), String> {
        let mut line = String::new();
        let _ = self.report.read_line(&mut line);
        if line.trim() == "ready" {
            return Ok(());
        }
        Err(line
            .trim()
            .strip_prefix("error ")
            .unwrap_or(line.trim())
            .to_string())
    }

    /// Sends the start byte and records the outcome: running, or the error of executing
    /// the program (the report pipe closes at a successful exec).
    fn start(&mut self, st: &mut State) {
        if let Some(mut w) = self.start_w.take() {
            let _ = w.write_all(b"s");
        }
        let mut rest = String::new();
        let _ = self.report.read_line(&mut rest);
        st.started_ns = Some(now_ns());
        if let Some(msg) = rest.trim().strip_prefix("exec ") {
            // `exec CODE MESSAGE`: the code the init exits with (Docker's 126/127).
            let (code, m) = msg.split_once(' ').unwrap_or(("126", msg));
            st.exit_code = Some(code.parse().unwrap_or(126));
            st.error = Some(m.to_string());
        } else {
            st.status = Status::Running;
        }
    }
}

/// Writes the spec's UID and GID maps for the init's new user namespace (each file in one
/// write, as the kernel requires).
fn write_id_maps(pid: libc::pid_t, spec: &Spec) -> Result<()> {
    let linux = spec.linux().clone().unwrap_or_default();
    for (file, maps) in [
        ("uid_map", linux.uid_mappings().clone().unwrap_or_default()),
        ("gid_map", linux.gid_mappings().clone().unwrap_or_default()),
    ] {
        if maps.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "a user namespace needs {file} entries (linux.{}Mappings)",
                &file[..3]
            )));
        }
        let text: String = maps
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect();
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))?;
    }
    Ok(())
}

fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair fills our array with two new fds.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(Error::io("socketpair", "", std::io::Error::last_os_error()));
    }
    Ok((owned(fds[0]), owned(fds[1])))
}

/// Receives one fd (SCM_RIGHTS) on `sock`; `None` if the peer closed without sending.
fn recv_fd(sock: &OwnedFd) -> Option<OwnedFd> {
    let mut data = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: recvmsg into buffers we own; the control header is read only if present.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        if libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) != 1 {
            return None;
        }
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
        Some(owned(fd))
    }
}

/// Relays one run until its init exited and its output is drained; returns the init's
/// wait status. The first run waits here for `start` on the FIFO.
fn supervise(
    cfg: &MonitorConfig,
    run: &mut Run,
    st: &mut State,
    state_path: &Path,
    fifo_file: &mut Option<(std::fs::File, PathBuf)>,
    listener: Option<&std::os::unix::net::UnixListener>,
    mut log: Option<&mut crate::logs::LogWriter>,
) -> Result<libc::c_int> {
    let mut clients: Vec<Client> = Vec::new();
    // SAFETY: pidfd_open on our own child.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, run.pid, 0) } as libc::c_int;
    if pidfd < 0 {
        return Err(Error::io("pidfd_open", "", std::io::Error::last_os_error()));
    }
    let pidfd = owned(pidfd);
    let mut exited_at: Option<std::time::Instant> = None;
    // Starting touches code and data the waiting never needs again: given back once the
    // program has run quietly for a while (a short-lived program is not kept waiting).
    let mut trim_due: Option<std::time::Instant> = None;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // [pidfd?, fifo?, stdout?, stderr?, ...], remembering which slot is which.
        let mut fds = Vec::with_capacity(8);
        let mut kinds = Vec::with_capacity(8);
        let ev = |fd: libc::c_int| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        if exited_at.is_none() {
            fds.push(ev(pidfd.as_raw_fd()));
            kinds.push(0usize);
        }
        if let Some((f, _)) = fifo_file.as_ref() {
            fds.push(ev(f.as_raw_fd()));
            kinds.push(1);
        }
        for (i, s) in run.streams.iter().enumerate() {
            if let Some(f) = s {
                fds.push(ev(f.as_raw_fd()));
                kinds.push(2 + i);
            }
        }
        if let (Some((input, _)), None) = (&run.relay, exited_at) {
            fds.push(ev(input.as_raw_fd()));
            kinds.push(4);
        }
        if let (Some(l), None) = (listener, exited_at) {
            fds.push(ev(l.as_raw_fd()));
            kinds.push(5);
        }
        if exited_at.is_none() {
            for (i, c) in clients.iter().enumerate() {
                fds.push(ev(c.stream.as_raw_fd()));
                kinds.push(6 + i);
            }
        }
        // After the exit, output still in the pipes is drained for at most 2 s (every
        // process of the PID namespace is gone, so the pipes normally close at once).
        let timeout = match (exited_at, trim_due) {
            (None, None) => -1,
            (None, Some(due)) => {
                let left = due.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    trim_memory();
                    trim_due = None;
                    continue;
                }
                left.as_millis() as libc::c_int + 1
            }
            (Some(t), _) => {
                let left = std::time::Duration::from_secs(2).saturating_sub(t.elapsed());
                if left.is_zero() || fds.is_empty() {
                    break;
                }
                left.as_millis() as libc::c_int
            }
        };
        // SAFETY: valid pollfd array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            continue;
        }
        let mut gone: Vec<usize> = Vec::new();
        for (slot, kind) in kinds.iter().enumerate() {
            let re = fds[slot].revents;
            if re == 0 {
                continue;
            }
            match kind {
                0 => exited_at = Some(std::time::Instant::now()),
                1 if re & libc::POLLIN != 0 => {
                    let mut b = [0u8; 1];
                    if let Some((mut f, path)) = fifo_file.take() {
                        let _ = f.read(&mut b);
                        let _ = std::fs::remove_file(path);
                    }
                    run.start(st);
                    if st.status == Status::Running {
                        // Here, so the start line always comes before the exit's, and
                        // before "running" lets the creator's `start` return.
                        if let Some(x) = &cfg.exit_log {
                            report_start(x, &cfg.id, st);
                        }
                        state::write(state_path, st)?;
                    }
                    trim_due =
                        Some(std::time::Instant::now() + std::time::Duration::from_millis(100));
                }
                k @ (2 | 3) => {
                    let i = k - 2;
                    let n = run.streams[i]
                        .as_mut()
                        .map(|f| f.read(&mut buf).unwrap_or(0))
                        .unwrap_or(0);
                    if n == 0 {
                        run.streams[i] = None;
                    } else {
                        if let Some(w) = log.as_mut() {
                            w.feed(i, &buf[..n], now_ns());
                        }
                        let mut frame = Vec::with_capacity(n + 5);
                        frame.push(i as u8 + 1);
                        frame.extend_from_slice(&(n as u32).to_be_bytes());
                        frame.extend_from_slice(&buf[..n]);
                        // A client too slow to take it loses the output, not the container.
                        clients.retain_mut(|c| {
                            c.kind == Some(CLIENT_WINDOW) || c.stream.write_all(&frame).is_ok()
                        });
                    }
                }
                5 => {
                    if let Some(Ok((c, _))) = listener.map(|l| l.accept()) {
                        let _ = c.set_nonblocking(true);
                        clients.push(Client {
                            stream: c,
                            kind: None,
                            pending: Vec::new(),
                        });
                    }
                }
                k if *k >= 6 => {
                    let i = k - 6;
                    let n = clients
                        .get_mut(i)
                        .map(|c| c.stream.read(&mut buf).unwrap_or(0))
                        .unwrap_or(0);
                    if n == 0 {
                        // Gone (removed below, after this round's indices are used).
                        gone.push(i);
                    } else if let Some(c) = clients.get_mut(i) {
                        c.take(&buf[..n], run.attach_in.as_mut());
                    }
                }
                4 => {
                    // The caller's input into the terminal; its end stops the relay.
                    let (input, to_pty) = run.relay.as_mut().expect("polled");
                    match input.read(&mut buf) {
                        Ok(n) if n > 0 => {
                            let _ = to_pty.write_all(&buf[..n]);
                        }
                        _ => run.relay = None,
                    }
                }
                _ => {}
            }
        }
        gone.sort_unstable();
        for i in gone.drain(..).rev() {
            if i < clients.len() {
                clients.remove(i);
            }
        }
        if exited_at.is_some() && run.streams.iter().all(Option::is_none) {
            break;
        }
    }
    drop(clients);
    if let Some(w) = log {
        w.flush(now_ns());
    }
    Ok(wait(run.pid))
}

/// A client's first byte: what it sends from then on.
const CLIENT_INPUT: u8 = b'i';
/// Window sizes: rows and columns, u16 big-endian each, per record.
const CLIENT_WINDOW: u8 = b'w';

/// One connection to the attach socket.
struct Client {
    stream: std::os::unix::net::UnixStream,
    /// [`CLIENT_INPUT`] or [`CLIENT_WINDOW`], once its first byte came.
    kind: Option<u8>,
    /// The start of a window record not complete yet.
    pending: Vec<u8>,
}

impl Client {
    /// Takes bytes the client sent: typed into the terminal, or window sizes applied to it.
    fn take(&mut self, mut data: &[u8], terminal: Option<&mut std::fs::File>) {
        if self.kind.is_none() {
            self.kind = data.first().copied();
            data = &data[1..];
        }
        let Some(t) = terminal else { return };
        match self.kind {
            Some(CLIENT_INPUT) => {
                let _ = t.write_all(data);
            }
            Some(CLIENT_WINDOW) => {
                self.pending.extend_from_slice(data);
                while self.pending.len() >= 4 {
                    let rec: Vec<u8> = self.pending.drain(..4).collect();
                    let rows = u16::from_be_bytes([rec[0], rec[1]]);
                    let cols = u16::from_be_bytes([rec[2], rec[3]]);
                    crate::console::set_size(t.as_raw_fd(), rows, cols);
                }
            }
            _ => {}
        }
    }
}

/// Appends the line that says the program started (`restarted`: the restarts before this
/// start, 0 for the first).
fn report_start(x: &crate::container::ExitLog, id: &str, st: &State) {
    append_line(
        &x.path,
        serde_json::json!({
            "id": id,
            "restarted": st.restart_count,
            "timeNano": st.started_ns.unwrap_or(0),
            "attributes": x.attributes,
        }),
    );
}

/// Appends the exit line (best effort: the state file is the record; this feeds events).
pub(crate) fn report_exit(x: &crate::container::ExitLog, id: &str, st: &State) {
    append_line(
        &x.path,
        serde_json::json!({
            "id": id,
            "exitCode": st.exit_code.unwrap_or(0),
            "oomKilled": st.oom_killed,
            "timeNano": st.finished_ns.unwrap_or(0),
            "attributes": x.attributes,
        }),
    );
}

/// Appends one JSON line with one `write` (best effort: a lost event never stops the
/// container).
fn append_line(path: &Path, line: serde_json::Value) {
    let _ = libimage::fsutil::append_json_line(path, &line);
}

fn wait(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid
            || (r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR))
        {
            return status;
        }
    }
}

/// The state directory of a container.
pub(crate) fn state_dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Gives back what setting up needed and waiting does not: the heap's free memory, and
/// the pages of code and constants mapped so far (of the binary and its libraries; most
/// of it the waiting loop never uses again, and what it does comes back from the page
/// cache). Mappings with any page written (relocated RELRO data) are left alone.
fn trim_memory() {
    // SAFETY: malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    // Per mapping: its header line, then fields; `Anonymous:` counts pages written (copied
    // on write), which must never be dropped.
    let mut current: Option<(usize, usize)> = None;
    let drop_it = |range: Option<(usize, usize)>| {
        if let Some((a, b)) = range {
            // SAFETY: dropping pages of a private file mapping none of whose pages were
            // written: they are refetched intact from the file on the next access.
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
        }
    };
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                let perms = f.next().unwrap_or("");
                let inode = f.nth(2).unwrap_or("0");
                // File-backed, private, not writable: code and constants.
                current = (inode != "0" && (perms == "r-xp" || perms == "r--p")).then_some((a, b));
                continue;
            }
        }
        if first == "Anonymous:" {
            let written = f.next().unwrap_or("1") != "0";
            if !written {
                drop_it(current.take());
            }
            current = None;
        }
    }
}
