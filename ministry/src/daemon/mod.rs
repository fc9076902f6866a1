//! `ministry daemon`: Docker's Engine API on unix and TCP sockets (TLS optional), over
//! the same [`Engine`] the daemonless CLI uses. The daemon holds no container: monitors
//! are independent processes, so stopping or killing the daemon loses nothing, and a
//! daemon started again finds everything (and starts what restart policies say).
//!
//! Threads: the server is a tokio runtime; every engine call runs on a blocking thread
//! (`spawn_blocking`), and containers are started by fresh helper processes, never
//! forked from this multi-threaded one.

mod attach;
mod build;
mod containers;
mod create;
mod create_body;
mod exec;
mod files;
pub mod http;
mod images;
mod listen;
mod objects;
mod request;
mod routes;
mod stream;
mod system;
mod tls;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use ministry::{DaemonConfig, Engine};

pub use exec::ExecEntry;

/// The daemon's shared state.
pub struct Daemon {
    /// The engine every request goes to.
    pub engine: Engine,
    /// `-D`: log each request.
    pub debug: bool,
    /// Exec instances by ID (Docker keeps them in memory too).
    pub execs: Mutex<HashMap<String, Arc<Mutex<ExecEntry>>>>,
    /// The writing ends of the stdin pipes of `OpenStdin` containers without a terminal
    /// (by container ID): what attach clients send goes there.
    pub stdins: Mutex<HashMap<String, Arc<OwnedFd>>>,
    /// The exit codes of containers the daemon saw end (kept for `wait` clients of an
    /// `--rm` container removed meanwhile).
    pub exits: Mutex<HashMap<String, i32>>,
    /// Attach requests waiting for a stopped container's next start, by container ID:
    /// the start connects them to the new monitor before the program runs.
    pub attach_waiters:
        Mutex<HashMap<String, Vec<tokio::sync::oneshot::Sender<std::os::unix::net::UnixStream>>>>,
}

/// The default socket (never Docker's own unless asked).
pub const DEFAULT_HOST: &str = "unix:///run/ministry.sock";
/// The default PID file.
pub const DEFAULT_PIDFILE: &str = "/run/ministry.pid";

/// Holds the data root's daemon lock while the daemon runs.
struct RootLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

fn lock_root(root: &std::path::Path) -> Result<RootLock> {
    use nix::fcntl::{Flock, FlockArg};
    std::fs::create_dir_all(root).with_context(|| format!("create {}", root.display()))?;
    let path = root.join("daemon.lock");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(RootLock(l)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            let pid = std::fs::read_to_string(root.join("daemon.pid")).unwrap_or_default();
            bail!(
                "another ministry daemon is running on data root {}{}",
                root.display(),
                match pid.trim() {
                    "" => String::new(),
                    p => format!(" (pid {p})"),
                }
            )
        }
        Err((_, e)) => bail!("lock {}: {e}", path.display()),
    }
}

/// Returns freed heap memory to the system every few seconds, so that the daemon's
/// resident memory goes back near idle after a burst of requests (glibc keeps freed
/// blocks of ended threads' arenas otherwise).
async fn trim_memory() {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim has no preconditions; it only releases free heap pages.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn serve(engine: Engine, cfg: &DaemonConfig, debug: bool) -> Result<()> {
    let root = engine.config().root.clone();
    let _lock = lock_root(&root)?;
    let hosts = cfg
        .hosts
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| vec![DEFAULT_HOST.to_string()]);
    let tls = tls::settings(cfg)?;
    let pidfile = cfg
        .pidfile
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PIDFILE));
    if let Ok(old) = std::fs::read_to_string(&pidfile) {
        if let Ok(pid) = old.trim().parse::<i32>() {
            if pid != std::process::id() as i32
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
                && std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.contains("ministry"))
            {
                bail!(
                    "pid file found, ensure ministry is not running or delete {}",
                    pidfile.display()
                );
            }
        }
    }
    if let Some(dir) = pidfile.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let me = std::process::id().to_string();
    std::fs::write(&pidfile, &me).with_context(|| format!("write {}", pidfile.display()))?;
    let _ = std::fs::write(root.join("daemon.pid"), &me);
    let d = Arc::new(Daemon {
        engine,
        debug,
        execs: Mutex::new(HashMap::new()),
        stdins: Mutex::new(HashMap::new()),
        attach_waiters: Mutex::new(HashMap::new()),
        exits: Mutex::new(HashMap::new()),
    });
    // Containers whose restart policy says so start again (their monitors are gone).
    match d.engine.restart_policy_sweep() {
        Ok(done) => {
            for (id, r) in done {
                match r {
                    Ok(()) => eprintln!("ministry daemon: restarted container {id}"),
                    Err(e) => eprintln!(
                        "ministry daemon: failed to restart container {id}: {}",
                        ministry::error_text(&e)
                    ),
                }
            }
        }
        Err(e) => eprintln!(
            "ministry daemon: restart policies: {}",
            ministry::error_text(&e)
        ),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(128)
        // Threads a burst of requests started end soon after (memory back near idle).
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .enable_all()
        .build()
        .context("start the runtime")?;
    let result = rt.block_on(async {
        let listeners = listen::bind_all(&hosts, cfg.group.as_deref(), tls.as_ref())?;
        for l in &listeners {
            eprintln!("ministry daemon: API listen on {}", l.describe());
        }
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(trim_memory()));
        for l in listeners {
            tasks.push(tokio::spawn(listen::accept_loop(d.clone(), l)));
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!("ministry daemon: shutting down (containers keep running)");
        for t in tasks {
            t.abort();
        }
        anyhow::Ok(())
    });
    for h in &hosts {
        if let Some(p) = h.strip_prefix("unix://") {
            let _ = std::fs::remove_file(p);
        }
    }
    let _ = std::fs::remove_file(&pidfile);
    let _ = std::fs::remove_file(root.join("daemon.pid"));
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}
