//! The public API: a [`Runtime`] (a state directory and a helper) creates, starts, waits
//! for, signals and deletes [`Container`]s.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};

use crate::error::{Error, Result};
use crate::helper::{spawn_monitor, ContainerStdio, Helper};
use crate::monitor::{state_dir, MonitorConfig};
use crate::state::{self, State, Status};

/// Containers under one state directory.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: PathBuf,
    helper: Helper,
}

impl Runtime {
    /// The helper this runtime starts monitors and exec helpers with.
    pub fn helper(&self) -> &Helper {
        &self.helper
    }
}

/// How a container is created.
#[derive(Debug, Default)]
pub struct CreateOptions {
    /// Mounts (destination `/`) that make the root file system, such as the overlay a
    /// libimage snapshotter returns; mounted on the spec's root path inside the
    /// container's mount namespace, so they vanish with it. By default, none: the root
    /// path is used as it is.
    pub root_mounts: Vec<Mount>,
    /// The container's standard streams. By default, all `/dev/null`.
    pub stdio: ContainerStdio,
    /// The cgroup parent (relative to the hierarchy roots) under which the container's
    /// cgroup `<parent>/<id>` is made, unless the spec names a `cgroupsPath`. By default,
    /// `libruntime`.
    pub cgroup_parent: Option<String>,
    /// Log the container's stdout and stderr in Docker's json-file format (the monitor
    /// owns them then; `stdio.stdout`/`stderr` become the monitor's own, used when the
    /// log config forwards). By default, no log: the container writes to `stdio` directly.
    pub log: Option<crate::logs::LogConfig>,
    /// A file the monitor appends one JSON line to when the container's program starts
    /// (`{"id", "restarted", "timeNano", "attributes"}`, `restarted` counting the restarts
    /// before it) and when it exits (`{"id", "exitCode", "oomKilled", "timeNano",
    /// "attributes"}`), for an engine's event log: each start line comes before its exit's.
    /// By default, none.
    pub exit_log: Option<ExitLog>,
    /// Whether the monitor runs the program again when it exits (Docker's `--restart`),
    /// with Docker's backoff; later runs keep the first run's network namespace and
    /// cgroup, and get fresh other namespaces. By default, never.
    pub restart: crate::RestartPolicy,
}

/// Where and with what the monitor reports an exit (see [`CreateOptions::exit_log`]).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExitLog {
    /// The file (appended to; one line per exit, written with one `write`).
    pub path: PathBuf,
    /// Extra attributes copied into each line (an engine's image and name).
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// One container.
#[derive(Debug, Clone)]
pub struct Container {
    id: String,
    dir: PathBuf,
}

/// A pidfd of process `pid`, if it is still the process that started at `start`
/// (`None` if it is gone, or its PID now names another process).
fn pidfd(pid: i32, start: u64) -> Option<std::os::fd::OwnedFd> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: pidfd_open returns a new fd we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let fd = (fd >= 0).then(|| crate::init::owned(fd))?;
    // Checked after opening: the process that started at `start` held this PID before the
    // fd was opened and still holds it, so the fd names that process and no other.
    state::is_alive(pid, start).then_some(fd)
}

/// Sends `signal` to the process of a pidfd.
fn pidfd_signal(fd: &std::os::fd::OwnedFd, signal: i32) -> std::io::Result<()> {
    // SAFETY: a pidfd we own, no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The exit code recorded for a container whose monitor died: its program was (or is
/// now) killed, as by SIGKILL.
const MONITOR_DIED_EXIT_CODE: i32 = 128 + libc::SIGKILL;

/// The marker of a pause bound to a process's life (see [`Container::pause_while_alive`]).
const PAUSED_BY: &str = "paused-by";

/// Holds an exclusive `flock` on a directory until dropped (a lock that creates no file,
/// so it never keeps a directory being removed from being empty).
struct DirLock {
    _dir: std::fs::File,
}

impl DirLock {
    fn lock(path: &Path) -> Result<Self> {
        let f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
        loop {
            // SAFETY: flock on an fd we own; released when it closes.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(DirLock { _dir: f });
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(Error::io("flock", path, e));
            }
        }
    }
}

/// Whether the process of `fd` exited within `timeout_ms` (-1: waits until it does).
fn exited(fd: &std::os::fd::OwnedFd, timeout_ms: libc::c_int) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: valid pollfd.
        match unsafe { libc::poll(&mut p, 1, timeout_ms) } {
            n if n > 0 => return true,
            0 => return false,
            _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => return false,
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !id.starts_with('.')
}

impl Runtime {
    /// A runtime keeping state under `root` (created 0700), whose monitors run `helper`.
    pub fn new(root: impl Into<PathBuf>, helper: Helper) -> Result<Self> {
        let root = root.into();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(|e| Error::io("create state directory", &root, e))?;
        if helper == Helper::CurrentExe && !crate::helper::helper_ready() {
            return Err(Error::InvalidArgument(
                "this program cannot start containers with itself as the helper: call \
                 libruntime::maybe_run() first in main (before any thread starts), or use \
                 Helper::Binary with a program that does"
                    .into(),
            ));
        }
        Ok(Runtime { root, helper })
    }

    /// Creates a container: its monitor sets up namespaces and the root and waits for
    /// [`Container::start`]. Fails if the ID is taken or the setup fails (nothing is left
    /// behind then).
    pub fn create(&self, id: &str, spec: &Spec, opts: CreateOptions) -> Result<Container> {
        if !valid_id(id) {
            return Err(Error::InvalidArgument(format!(
                "invalid container ID {id:?}"
            )));
        }
        let dir = state_dir(&self.root, id);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists(id.to_string()))
            }
            Err(e) => return Err(Error::io("create", &dir, e)),
        }
        let result = (|| {
            let cgroup = spec
                .linux()
                .as_ref()
                .and_then(|l| l.cgroups_path().clone())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| {
                    format!(
                        "{}/{id}",
                        opts.cgroup_parent
                            .as_deref()
                            .unwrap_or("libruntime")
                            .trim_end_matches('/')
                    )
                });
            let seccomp_bpf = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
                Some(profile) => {
                    let bpf =
                        crate::seccomp::to_bpf_cached(profile, &self.root.join(".seccomp-cache"))?;
                    let p = dir.join("seccomp.bpf");
                    std::fs::write(&p, bpf.as_slice()).map_err(|e| Error::io("write", &p, e))?;
                    Some(p)
                }
                None => None,
            };
            // The spec records where the cgroup is (the init shows it at /sys/fs/cgroup).
            let mut spec = spec.clone();
            let mut linux = spec.linux().clone().unwrap_or_default();
            linux.set_cgroups_path(Some(PathBuf::from(&cgroup)));
            spec.set_linux(Some(linux));
            let cfg = MonitorConfig {
                id: id.to_string(),
                spec,
                root_mounts: opts.root_mounts,
                cgroup: Some(cgroup),
                seccomp_bpf,
                log: opts.log,
                exit_log: opts.exit_log,
                restart: opts.restart,
            };
            let data =
                serde_json::to_vec(&cfg).map_err(|e| Error::State(dir.join("config.json"), e))?;
            std::fs::write(dir.join("config.json"), data)
                .map_err(|e| Error::io("write", dir.join("config.json"), e))?;
            spawn_monitor(&self.helper, &dir, opts.stdio)
        })();
        match result {
            Ok(_) => Ok(Container {
                id: id.to_string(),
                dir,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// An existing container.
    pub fn get(&self, id: &str) -> Result<Container> {
        let dir = state_dir(&self.root, id);
        if !valid_id(id) || !dir.join("state.json").exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(Container {
            id: id.to_string(),
            dir,
        })
    }

    /// The state of every container.
    pub fn list(&self) -> Result<Vec<State>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.root).map_err(|e| Error::io("read", &self.root, e))? {
            let e = e.map_err(|e| Error::io("read", &self.root, e))?;
            if let Ok(s) = state::read(&e.path().join("state.json")) {
                out.push(s);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

use std::os::unix::fs::DirBuilderExt;

impl Container {
    /// The ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The current state. A container whose monitor died (killed) without recording an
    /// exit is found out here: what of it still runs is killed through its cgroup, the
    /// cgroup deleted, and it is recorded as exited with code 137, so that stop, delete
    /// and start work and its PIDs are never trusted again.
    pub fn state(&self) -> Result<State> {
        let st = state::read(&self.dir.join("state.json"))?;
        self.thaw_if_pauser_died();
        if st.status == Status::Stopped || state::is_alive(st.monitor_pid, st.monitor_start) {
            return Ok(st);
        }
        self.monitor_died()
    }

    /// Records the exit of a container whose monitor is gone (see [`Container::state`]).
    fn monitor_died(&self) -> Result<State> {
        let _lock = DirLock::lock(&self.dir)?;
        // Read again under the lock: a monitor publishes its final state before it exits,
        // and another caller may have recorded the exit meanwhile.
        let path = self.dir.join("state.json");
        let mut st = state::read(&path)?;
        if st.status == Status::Stopped || state::is_alive(st.monitor_pid, st.monitor_start) {
            return Ok(st);
        }
        // The init (and in its PID namespace everything else) dies with SIGKILL; through a
        // pidfd checked against its start time, so a reused PID is never signalled.
        if let Some(fd) = pidfd(st.pid, st.pid_start) {
            let _ = pidfd_signal(&fd, libc::SIGKILL);
        }
        if let Ok(cg) = self.cgroup_path() {
            crate::cgroup::ContainerCgroup::kill_all(&cg)?;
        }
        st.status = Status::Stopped;
        st.pid = 0;
        st.pid_start = 0;
        st.exit_code = Some(MONITOR_DIED_EXIT_CODE);
        st.finished_ns = Some(state::now_ns());
        st.error = Some("the container's monitor process died".into());
        state::write(&path, &st)?;
        if let Some(x) = self.monitor_config().ok().and_then(|c| c.exit_log) {
            crate::monitor::report_exit(&x, &self.id, &st);
        }
        Ok(st)
    }

    /// Runs the program of a created container.
    pub fn start(&self) -> Result<()> {
        let st = self.state()?;
        if st.status != Status::Created {
            return Err(Error::Conflict {
                id: self.id.clone(),
                state: st.status.to_string(),
                op: "start",
            });
        }
        let fifo = self.dir.join("start");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .map_err(|e| Error::io("open", &fifo, e))?;
        std::io::Write::write_all(&mut f, b"s").map_err(|e| Error::io("write", &fifo, e))?;
        // Returns once the monitor recorded the outcome (running, or stopped by an exec error).
        loop {
            let st = self.state()?;
            if st.status != Status::Created || st.error.is_some() {
                if let Some(message) = st.error {
                    // The init exits with Docker's code for the failure (127: not found).
                    let code = st.exit_code.unwrap_or(126);
                    return Err(Error::Exec { code, message });
                }
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// Waits for the container's program to exit; returns its exit code. A restart policy
    /// may run it again afterwards (the state then says [`Status::Restarting`]).
    pub fn wait(&self) -> Result<i32> {
        let before = self.state()?;
        if !matches!(before.status, Status::Stopped | Status::Restarting) {
            if let Some(fd) = pidfd(before.monitor_pid, before.monitor_start) {
                // The monitor's exit, or (restart policies) a run that ended: a new
                // status or restart count.
                while !exited(&fd, 50) {
                    let now = self.state()?;
                    if now.status == Status::Stopped {
                        // The monitor exits right after publishing it.
                        exited(&fd, -1);
                        break;
                    }
                    if now.status == Status::Restarting || now.restart_count != before.restart_count
                    {
                        break;
                    }
                }
            }
        }
        let st = self.state()?;
        st.exit_code.ok_or_else(|| Error::Conflict {
            id: self.id.clone(),
            state: st.status.to_string(),
            op: "wait",
        })
    }

    /// Stops the restart policy for good: the program is not run again when it exits
    /// (Docker's stop on purpose; call it before a `stop` or `kill`). A container waiting
    /// to restart stops at once.
    pub fn cancel_restart(&self) -> Result<()> {
        let p = self.dir.join(crate::monitor::NO_RESTART);
        std::fs::write(&p, b"").map_err(|e| Error::io("write", &p, e))
    }

    /// Replaces the restart policy (`docker update --restart`); the monitor applies it at
    /// the program's next exit.
    pub fn set_restart_policy(&self, policy: crate::RestartPolicy) -> Result<()> {
        let p = self.dir.join(crate::monitor::RESTART_POLICY);
        let data = serde_json::to_vec(&policy).map_err(|e| Error::State(p.clone(), e))?;
        Ok(libimage::fsutil::write_atomic(&p, &data)?)
    }

    /// Waits for the monitor to exit (the container stopped for good).
    fn wait_monitor(&self) {
        let Ok(st) = self.state() else { return };
        if st.status == Status::Stopped {
            return;
        }
        if let Some(fd) = pidfd(st.monitor_pid, st.monitor_start) {
            exited(&fd, -1);
        }
    }

    /// Sends `signal` to the container's init. A paused container is thawed once the
    /// signal is queued (as Docker does), so that it takes effect: a frozen process
    /// handles no signal, not even SIGKILL on cgroup v1.
    pub fn kill(&self, signal: i32) -> Result<()> {
        let st = self.state()?;
        if st.status == Status::Stopped || st.pid <= 0 {
            return Err(Error::Conflict {
                id: self.id.clone(),
                state: st.status.to_string(),
                op: "kill",
            });
        }
        // A pidfd of the process that started at the recorded time: a reused PID (the
        // init exited just now) is never signalled.
        let fd = pidfd(st.pid, st.pid_start).ok_or_else(|| Error::Conflict {
            id: self.id.clone(),
            state: Status::Stopped.to_string(),
            op: "kill",
        })?;
        pidfd_signal(&fd, signal).map_err(|e| Error::io("kill", "", e))?;
        if self.is_paused() {
            self.resume()?;
        }
        Ok(())
    }

    /// Runs `process` in the running container (its namespaces, cgroup, seccomp profile;
    /// the user, capabilities and environment `process` names) with `stdio`; waits for it
    /// and returns its exit code (126 when it cannot be started, as Docker).
    ///
    /// With `detach`, returns 0 as soon as the process is on its way, without waiting.
    pub fn exec(
        &self,
        helper: &Helper,
        process: &oci_spec::runtime::Process,
        stdio: ContainerStdio,
        detach: bool,
    ) -> Result<i32> {
        let st = self.state()?;
        if st.status != Status::Running || st.pid <= 0 {
            return Err(Error::Conflict {
                id: self.id.clone(),
                state: st.status.to_string(),
                op: "exec",
            });
        }
        // The helper would join the frozen cgroup and freeze before running anything,
        // holding the caller's streams open for as long as the container stays paused.
        if self.is_paused() {
            return Err(Error::Paused {
                id: self.id.clone(),
                op: "exec",
            });
        }
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = self
            .dir
            .join(format!("exec-{}-{n}.json", std::process::id()));
        let cfg = crate::exec::ExecConfig {
            pid: st.pid,
            pid_start: st.pid_start,
            process: process.clone(),
        };
        let data = serde_json::to_vec(&cfg).map_err(|e| Error::State(file.clone(), e))?;
        std::fs::write(&file, data).map_err(|e| Error::io("write", &file, e))?;
        let r = crate::helper::spawn_exec(helper, &self.dir, &file, stdio, detach);
        if r.is_err() {
            let _ = std::fs::remove_file(&file);
        }
        r
    }

    fn monitor_config(&self) -> Result<MonitorConfig> {
        let p = self.dir.join("config.json");
        let data = std::fs::read(&p).map_err(|e| Error::io("read", &p, e))?;
        serde_json::from_slice(&data).map_err(|e| Error::State(p, e))
    }

    fn cgroup_path(&self) -> Result<String> {
        self.monitor_config()?
            .cgroup
            .ok_or_else(|| Error::InvalidArgument(format!("container {} has no cgroup", self.id)))
    }

    /// Freezes every process of a running container (`docker pause`).
    pub fn pause(&self) -> Result<()> {
        let st = self.state()?;
        if st.status != Status::Running {
            return Err(Error::Conflict {
                id: self.id.clone(),
                state: st.status.to_string(),
                op: "pause",
            });
        }
        crate::cgroup::ContainerCgroup::set_frozen(&self.cgroup_path()?, true)
    }

    /// Thaws a paused container (`docker unpause`).
    pub fn resume(&self) -> Result<()> {
        crate::cgroup::ContainerCgroup::set_frozen(&self.cgroup_path()?, false)?;
        let _ = std::fs::remove_file(self.dir.join(PAUSED_BY));
        Ok(())
    }

    /// Freezes a running container for as long as the calling process lives (the pause
    /// of `docker commit`): a marker in the state directory names the caller (PID and
    /// start time), and if it dies before [`Container::resume`] (killed mid-commit),
    /// the next look at the container ([`Container::state`]) thaws it.
    pub fn pause_while_alive(&self) -> Result<()> {
        let me = std::process::id() as i32;
        let start = state::start_time(me).unwrap_or(0);
        let marker = self.dir.join(PAUSED_BY);
        std::fs::write(&marker, format!("{me} {start}"))
            .map_err(|e| Error::io("write", &marker, e))?;
        self.pause().inspect_err(|_| {
            let _ = std::fs::remove_file(&marker);
        })
    }

    /// Thaws the container if a process that paused it with
    /// [`Container::pause_while_alive`] died without resuming it.
    fn thaw_if_pauser_died(&self) {
        let marker = self.dir.join(PAUSED_BY);
        let Ok(owner) = std::fs::read_to_string(&marker) else {
            return;
        };
        let mut f = owner.split_whitespace().map(str::parse::<u64>);
        if let (Some(Ok(pid)), Some(Ok(start))) = (f.next(), f.next()) {
            if start != 0 && state::is_alive(pid as i32, start) {
                return;
            }
        }
        if let Ok(cg) = self.cgroup_path() {
            let _ = crate::cgroup::ContainerCgroup::set_frozen(&cg, false);
        }
        let _ = std::fs::remove_file(&marker);
    }

    /// The host PIDs of the container's processes (for `top`).
    pub fn processes(&self) -> Result<Vec<i32>> {
        Ok(crate::cgroup::ContainerCgroup::load(&self.cgroup_path()?).pids())
    }

    /// The container's resource usage now (for `stats`).
    pub fn stats(&self) -> Result<crate::cgroup::Stats> {
        Ok(crate::cgroup::ContainerCgroup::load(&self.cgroup_path()?).stats())
    }

    /// Applies new resource limits to a running container's cgroup (`docker update`).
    pub fn update(&self, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
        if self.state()?.status != crate::Status::Running {
            return Err(Error::InvalidArgument(format!(
                "container {} is not running",
                self.id
            )));
        }
        crate::cgroup::ContainerCgroup::update(&self.cgroup_path()?, res)
    }

    /// The unix socket of the running container's monitor that attach clients connect to:
    /// output frames `[stream 1|2][length u32 BE][bytes]` from the time of connection
    /// (until the program exits). A client's first byte says what it sends: `i`, then
    /// bytes typed into the container's terminal, if it has one; `w`, then window sizes
    /// (rows, columns: u16 big-endian each) for that terminal ([`Container::resize`]); a
    /// client that sends nothing only reads.
    pub fn attach_socket(&self) -> PathBuf {
        self.dir.join("attach.sock")
    }

    /// Resizes the running container's terminal (its program gets SIGWINCH).
    pub fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        let sock = self.attach_socket();
        let mut s = std::os::unix::net::UnixStream::connect(&sock)
            .map_err(|e| Error::io("connect", &sock, e))?;
        let mut msg = vec![b'w'];
        msg.extend_from_slice(&rows.to_be_bytes());
        msg.extend_from_slice(&cols.to_be_bytes());
        std::io::Write::write_all(&mut s, &msg).map_err(|e| Error::io("write", &sock, e))
    }

    /// Whether the container is paused (frozen).
    pub fn is_paused(&self) -> bool {
        self.cgroup_path()
            .map(|p| crate::cgroup::ContainerCgroup::is_frozen(&p))
            .unwrap_or(false)
    }

    /// The OCI spec the container was created with.
    pub fn spec(&self) -> Result<Spec> {
        Ok(self.monitor_config()?.spec)
    }

    /// Deletes a stopped (or, with `force`, any) container: kills it if needed, waits for
    /// its monitor, removes its state. Nothing of it remains.
    pub fn delete(&self, force: bool) -> Result<()> {
        let st = self.state()?;
        match st.status {
            Status::Stopped => {}
            Status::Created => {
                // Never started: killing the init lets the monitor record the exit.
                let _ = self.kill(libc::SIGKILL);
                self.wait_monitor();
            }
            _ if force => {
                self.cancel_restart()?;
                let _ = self.kill(libc::SIGKILL);
                // (kill thaws a paused container; again here in case it failed.)
                if self.is_paused() {
                    self.resume()?;
                }
                self.wait_monitor();
            }
            s => {
                return Err(Error::Conflict {
                    id: self.id.clone(),
                    state: s.to_string(),
                    op: "delete",
                })
            }
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io("remove", &self.dir, e))
    }
}
