//! `run`, `create` and `start`: the `--cidfile` claim and the signal proxy of attached runs.

use std::io::IsTerminal;
use std::process::Stdio;

use anyhow::{bail, Result};
use libruntime::ContainerStdio;
use ministry::{ContainerStatus, Engine};

use super::logs::{emit_log_line, LineStyle};
use super::options::run_options;
use super::terminal::{follow_window_size, RawMode};
use super::Outcome;
use crate::cli::args::{RunArgs, StartArgs};

/// `run`: foreground (the output is logged and copied to this terminal; the exit code is
/// the container's; 125 for engine errors, 126/127 when the program cannot run), or `-d`.
pub fn run(engine: &Engine, a: &RunArgs) -> Result<Outcome> {
    // Docker's CLI: -it needs this process's stdin to be a terminal.
    if a.tty && a.interactive && !a.detach && !std::io::stdin().is_terminal() {
        return Err(crate::cli::ClientError::error(
            "the input device is not a TTY",
            1,
        ));
    }
    let opts = run_options(a)?;
    // `-a`: only the streams named (Docker's default: stdout and stderr, stdin with -i).
    let mut streams = [a.interactive, !a.detach, !a.detach];
    if !a.attach.is_empty() {
        if a.detach {
            return Err(crate::cli::ClientError::error(
                "conflicting options: cannot specify both --attach and --detach",
                1,
            ));
        }
        streams = [false; 3];
        for s in &a.attach {
            match s.to_ascii_lowercase().as_str() {
                "stdin" => streams[0] = a.interactive,
                "stdout" => streams[1] = true,
                "stderr" => streams[2] = true,
                _ => bail!(
                    "invalid argument {s:?} for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
                ),
            }
        }
    }
    crate::cli::registry::ensure_image(engine, &opts.image, None)?;
    let stream = |on: bool| Some(if on { Stdio::inherit() } else { Stdio::null() });
    let stdio = ContainerStdio {
        stdin: stream(streams[0]),
        stdout: stream(streams[1]),
        stderr: stream(streams[2]),
    };
    // Signals to proxy are blocked before the container exists, so one sent right after
    // it starts waits for the proxy instead of ending this process.
    let proxied = (a.sig_proxy && !a.tty && !a.detach).then(block_proxied_signals);
    let cid = CidFile::claim(a.cidfile.as_deref())?;
    let c = if a.detach {
        engine.create_with_stdio(&opts, stdio)?
    } else {
        engine.create_attached(&opts, stdio)?
    };
    cid.write(&c.id)?;
    // -it on a terminal: ours goes raw (the container's pty does the echo and line
    // editing) until the container ends.
    let _raw = (a.tty && a.interactive && !a.detach)
        .then(RawMode::enter)
        .flatten();
    let started = engine.start_container(&c.id);
    if a.detach {
        if let Err(e) = started {
            let code = engine.wait_container(&c.id).unwrap_or(125);
            eprintln!("ministry: Error response from daemon: {e}");
            return Ok(Outcome::Code(code));
        }
        println!("{}", c.id);
        return Ok(Outcome::Code(0));
    }
    if a.tty && started.is_ok() {
        if let Ok(t) = engine.terminal(&c.id) {
            follow_window_size(t);
        }
    }
    if let (Some(set), true) = (proxied, started.is_ok()) {
        if let Ok(pid) = engine.container_pid(&c.id) {
            proxy_signals(pid, set);
        }
    }
    let code = engine.wait_container(&c.id)?;
    if let Err(e) = started {
        eprintln!("ministry: Error response from daemon: {e}");
    }
    Ok(Outcome::Code(code))
}

/// `--sig-proxy` (Docker's default for attached runs): the signals a user sends this
/// process (Ctrl-C's SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2) go to the container's
/// program instead, through a pidfd (never a recycled PID). A thread waits for them; they
/// are blocked in every other thread.
fn proxy_signals(pid: i32, set: libc::sigset_t) {
    // SAFETY: pidfd_open on the container's init.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    if pidfd < 0 {
        return;
    }
    std::thread::spawn(move || loop {
        let mut sig = 0;
        // SAFETY: sigwait on our set; pidfd_send_signal on our pidfd.
        unsafe {
            if libc::sigwait(&set, &mut sig) == 0 {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    pidfd,
                    sig,
                    std::ptr::null::<u8>(),
                    0,
                );
            }
        }
    });
}

/// Blocks the proxied signals in this (the main) thread before any other thread starts,
/// so every thread inherits the mask and a signal stays pending for the proxy.
fn block_proxied_signals() -> libc::sigset_t {
    // SAFETY: building a signal set we own and blocking it in this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// `create`: prints the new container's ID.
pub fn create(engine: &Engine, a: &RunArgs) -> Result<()> {
    let opts = run_options(a)?;
    crate::cli::registry::ensure_image(engine, &opts.image, None)?;
    let cid = CidFile::claim(a.cidfile.as_deref())?;
    let c = engine.create_container(&opts)?;
    cid.write(&c.id)?;
    println!("{}", c.id);
    Ok(())
}

/// `start`: prints each name, or with `-a` (or `-i`) follows the output and exits with the
/// code; `-i` gives this process's stdin to a container created with `-i`.
pub fn start(engine: &Engine, a: &StartArgs) -> Result<Outcome> {
    if a.attach || a.interactive {
        let name = &a.containers[0];
        let c = engine.container(name)?;
        let stdin = a.interactive && c.config.open_stdin;
        let stdio = ContainerStdio {
            stdin: Some(if stdin {
                Stdio::inherit()
            } else {
                Stdio::null()
            }),
            stdout: Some(Stdio::inherit()),
            stderr: Some(Stdio::inherit()),
        };
        let mut created = engine.container_state(&c)?.status == ContainerStatus::Created;
        if created && stdin {
            // Its monitor was made without this stdin: a new one (it never ran) gets it.
            engine.discard_created(&c.id)?;
            created = false;
        }
        // A restarted container gets a new monitor that copies its output here; a created
        // one already has a monitor without a terminal, so its log is followed from now on.
        // The stream is opened before start, so even a program that exits at once is seen.
        let follow = if created {
            Some(engine.logs(
                &c.id,
                ministry::LogOptions {
                    follow: true,
                    tail: Some(0),
                    ..Default::default()
                },
            )?)
        } else {
            None
        };
        let started = if created {
            engine.start_container(&c.id)
        } else {
            engine.start_container_with(&c.id, stdio, true)
        };
        if let (Some(lines), true) = (follow, started.is_ok()) {
            for l in lines {
                emit_log_line(&l?, LineStyle::default());
            }
        }
        let code = engine.wait_container(&c.id)?;
        if let Err(e) = started {
            eprintln!("Error response from daemon: {e}");
        }
        return Ok(Outcome::Code(code));
    }
    let mut code = 0;
    for n in &a.containers {
        match engine.start_container(n) {
            Ok(_) => println!("{n}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                code = 1;
            }
        }
    }
    Ok(Outcome::Code(code))
}

/// `--cidfile`: created empty before the container (Docker refuses an existing file),
/// filled with the ID once it exists, removed if creating fails.
struct CidFile(Option<std::path::PathBuf>, bool);

impl CidFile {
    fn claim(path: Option<&std::path::Path>) -> Result<Self> {
        let Some(p) = path else {
            return Ok(CidFile(None, false));
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
                    "Container ID file found, make sure the other container isn't running or delete {}",
                    p.display()
                ),
                _ => anyhow::anyhow!("Failed to create the container ID file: {e}"),
            })?;
        Ok(CidFile(Some(p.to_path_buf()), false))
    }

    fn write(mut self, id: &str) -> Result<()> {
        if let Some(p) = &self.0 {
            std::fs::write(p, id).map_err(|e| {
                anyhow::anyhow!("Failed to write the container ID to the file: {e}")
            })?;
        }
        self.1 = true;
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if let (Some(p), false) = (&self.0, self.1) {
            let _ = std::fs::remove_file(p);
        }
    }
}
