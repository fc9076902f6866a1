//! Container commands: `run`, `create`, `start`, `stop`, `kill`, `wait`, `logs`, `ps`, `rm`,
//! and `inspect` of containers.

use std::io::{IsTerminal, Write};
use std::process::Stdio;

use anyhow::{bail, Result};
use libruntime::ContainerStdio;
use ministry::{parse_signal, ContainerRecord, ContainerStatus, Engine, RunOptions};
use serde_json::json;

use super::args::{
    AttachArgs, ContainerArg, CpArgs, ExecArgs, ExportArgs, KillArgs, LogsArgs, PsArgs, RenameArgs,
    RmArgs, RunArgs, StartArgs, StopArgs, UpdateArgs, WaitArgs,
};
use super::output::{bytes_size, human_duration, human_size, table, table_min};

/// How `run` ended: the process exit code.
pub enum Outcome {
    /// Exit with this code (the container's).
    Code(i32),
}

/// Parses Docker's size strings (`10m`, `1g`, `512k`, `100`).
fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.trim_end_matches('b').chars().last() {
        Some('k') => (&s[..s.trim_end_matches('b').len() - 1], 1u64 << 10),
        Some('m') => (&s[..s.trim_end_matches('b').len() - 1], 1 << 20),
        Some('g') => (&s[..s.trim_end_matches('b').len() - 1], 1 << 30),
        _ => (s.trim_end_matches('b'), 1),
    };
    Ok((num
        .parse::<f64>()
        .map_err(|_| anyhow::anyhow!("invalid size: '{s}'"))?
        * mult as f64) as u64)
}

/// Docker's CLI refusal of a flag's value (exit code 125).
fn flag_error(value: &str, flag: &str, reason: impl std::fmt::Display) -> anyhow::Error {
    super::ClientError::error(
        format!("invalid argument \"{value}\" for \"{flag}\" flag: {reason}"),
        125,
    )
}

/// A size flag's value, refused as Docker's CLI refuses it.
fn size_flag(value: &str, flag: &str) -> Result<u64> {
    parse_size(value).map_err(|e| flag_error(value, flag, e))
}

/// Checks what Docker's CLI checks itself before asking the daemon: `-e`, `--ulimit` and
/// `-p` values.
fn check_run_flags(a: &RunArgs) -> Result<()> {
    for e in &a.env {
        if e.starts_with('=') {
            return Err(flag_error(
                e,
                "-e, --env",
                format!("invalid environment variable: {e}"),
            ));
        }
    }
    for u in &a.ulimit {
        ministry::parse_ulimit(u).map_err(|why| flag_error(u, "--ulimit", why))?;
    }
    for p in &a.publish {
        libnet::nat::parse_publish(p).map_err(|e| super::ClientError::error(e.to_string(), 125))?;
    }
    // Docker's CLI reads --security-opt itself (and a seccomp profile file).
    for o in &a.security_opt {
        let (k, val) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
        match k {
            "no-new-privileges" | "label" | "apparmor" => {}
            "seccomp" if val == "unconfined" => {}
            "seccomp" => {
                let p = std::path::Path::new(val);
                if let Err(e) = std::fs::read(p) {
                    return Err(super::ClientError::error(
                        format!(
                            "opening seccomp profile ({val}) failed: {}",
                            read_error(p, &e)
                        ),
                        125,
                    ));
                }
            }
            _ => {
                return Err(super::ClientError::error(
                    format!("Invalid --security-opt: {o:?}"),
                    125,
                ))
            }
        }
    }
    // Docker's CLI splits `-v` itself (the daemon checks the rest).
    for v in &a.volume {
        if let Err(e) = libvolume::check_volume_sections(v) {
            return Err(super::ClientError::error(e.to_string(), 125));
        }
    }
    Ok(())
}

/// Docker's client rule for `-e KEY` (no `=`): the value of `KEY` in this process's
/// environment when it is set (`KEY=value`), else `KEY` as given (the engine leaves such
/// an entry out).
fn resolve_env(e: &str) -> String {
    if e.contains('=') {
        return e.to_string();
    }
    match std::env::var(e) {
        Ok(v) => format!("{e}={v}"),
        Err(_) => e.to_string(),
    }
}

fn run_options(a: &RunArgs) -> Result<RunOptions> {
    check_run_flags(a)?;
    // Docker's order: the files' variables first, then `-e` (which wins).
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(read_env_file(f)?);
    }
    env.extend(a.env.iter().map(|e| resolve_env(e)));
    if a.rm && a.restart != "no" {
        return Err(super::ClientError::error(
            "conflicting options: cannot specify both --restart and --rm",
            125,
        ));
    }
    let mut o = RunOptions {
        image: a.image().to_string(),
        cmd: a.cmd().to_vec(),
        entrypoint: a.entrypoint.clone(),
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        name: a.name.clone(),
        hostname: a.hostname.clone(),
        auto_remove: a.rm,
        restart: a.restart.parse()?,
        log_max_size: None,
        log_max_files: 1,
        volumes: a.volume.clone(),
        mounts: a
            .mount
            .iter()
            .map(|m| libvolume::parse_mount_flag(m))
            .collect::<Result<_, _>>()?,
        volumes_from: a.volumes_from.clone(),
        network: a.network.clone(),
        network_aliases: a.network_alias.clone(),
        links: a.link.clone(),
        labels: a
            .label
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        init: a.init,
        tty: a.tty,
        open_stdin: a.interactive,
        attach_stdin: !a.detach,
        console_size: if a.tty { terminal_size() } else { None },
        publish: a
            .publish
            .iter()
            .map(|p| libnet::nat::parse_publish(p))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        publish_all: a.publish_all,
        expose: a.expose.clone(),
        host: ministry::HostConfig {
            devices: a
                .device
                .iter()
                .map(|d| ministry::parse_device(d))
                .collect::<Result<_, _>>()?,
            sysctls: a
                .sysctl
                .iter()
                .map(|s| ministry::check_sysctl(s))
                .collect::<Result<_, _>>()?,
            cap_add: a.cap_add.clone(),
            cap_drop: a.cap_drop.clone(),
            privileged: a.privileged,
            security_opt: a.security_opt.clone(),
            read_only: a.read_only,
            tmpfs: a
                .tmpfs
                .iter()
                .map(|t| {
                    let (p, o) = t.split_once(':').unwrap_or((t.as_str(), ""));
                    (p.to_string(), o.to_string())
                })
                .collect(),
            memory: a
                .memory
                .as_deref()
                .map(|v| size_flag(v, "-m, --memory"))
                .transpose()?
                .map(|v| v as i64),
            memory_swap: match a.memory_swap.as_deref() {
                Some("-1") => Some(-1),
                Some(v) => Some(size_flag(v, "--memory-swap")? as i64),
                None => None,
            },
            pids_limit: a.pids_limit,
            cpus: a.cpus,
            cpu_shares: a.cpu_shares,
            cpuset_cpus: a.cpuset_cpus.clone(),
            ulimits: a
                .ulimit
                .iter()
                .map(|u| ministry::parse_ulimit(u).map_err(|why| flag_error(u, "--ulimit", why)))
                .collect::<Result<_>>()?,
            shm_size: a
                .shm_size
                .as_deref()
                .map(|v| size_flag(v, "--shm-size"))
                .transpose()?,
        },
        stop_signal: a.stop_signal.clone(),
        stop_timeout: a.stop_timeout,
        add_host: a.add_host.clone(),
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        dns_option: a.dns_option.clone(),
    };
    for opt in &a.log_opt {
        match opt.split_once('=') {
            Some(("max-size", v)) => {
                o.log_max_size = Some(parse_size(v).map_err(|e| {
                    ministry::Error::InvalidConfig(format!(
                        "failed to initialize logging driver: {e}"
                    ))
                })?)
            }
            Some(("max-file", v)) => {
                o.log_max_files = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("invalid max-file: {v}"))?
            }
            _ => bail!("unknown log opt '{opt}' for json-file log driver"),
        }
    }
    Ok(o)
}

/// `run`: foreground (the output is logged and copied to this terminal; the exit code is
/// the container's; 125 for engine errors, 126/127 when the program cannot run), or `-d`.
pub fn run(engine: &Engine, a: &RunArgs) -> Result<Outcome> {
    // Docker's CLI: -it needs this process's stdin to be a terminal.
    if a.tty && a.interactive && !a.detach && !std::io::stdin().is_terminal() {
        return Err(super::ClientError::error(
            "the input device is not a TTY",
            1,
        ));
    }
    let opts = run_options(a)?;
    // `-a`: only the streams named (Docker's default: stdout and stderr, stdin with -i).
    let mut streams = [a.interactive, !a.detach, !a.detach];
    if !a.attach.is_empty() {
        if a.detach {
            return Err(super::ClientError::error(
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
    super::registry::ensure_image(engine, &opts.image, None)?;
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
    super::registry::ensure_image(engine, &opts.image, None)?;
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

fn each(names: &[String], mut f: impl FnMut(&str) -> Result<(), ministry::Error>) -> bool {
    let mut ok = true;
    for n in names {
        match f(n) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                ok = false;
            }
        }
    }
    ok
}

/// `stop`.
pub fn stop(engine: &Engine, a: &StopArgs) -> Result<bool> {
    Ok(each(&a.containers, |n| {
        engine.stop_container(n, a.time).map(drop)
    }))
}

/// `restart`: stop (within `-t` seconds) when running, then start; prints each name.
pub fn restart(engine: &Engine, a: &StopArgs) -> Result<bool> {
    Ok(each(&a.containers, |n| {
        engine.restart_container(n, a.time).map(drop)
    }))
}

/// Docker's detach keys (`ctrl-p,ctrl-q`, `ctrl-a,x`) as bytes.
fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    s.split(',')
        .map(|k| match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => {
                let b = c.as_bytes()[0].to_ascii_lowercase();
                match b {
                    b'a'..=b'z' => Ok(b - b'a' + 1),
                    b'@' => Ok(0),
                    b'[' => Ok(27),
                    b'\\' => Ok(28),
                    b']' => Ok(29),
                    b'^' => Ok(30),
                    b'_' => Ok(31),
                    _ => bail!("Invalid detach keys ({s}) provided"),
                }
            }
            None if k.len() == 1 => Ok(k.as_bytes()[0]),
            _ => bail!("Invalid detach keys ({s}) provided"),
        })
        .collect()
}

/// `attach`: the running container's output from now on (stdout, stderr); with a
/// terminal, what is typed goes in (raw mode); the detach keys (Ctrl-P Ctrl-Q) leave it
/// running. Ends with the container's exit code when it stops.
pub fn attach(engine: &Engine, a: &AttachArgs) -> Result<Outcome> {
    use std::io::Read;
    let keys = parse_detach_keys(&a.detach_keys)?;
    let c = engine.container(&a.container)?;
    // Docker's client checks the state itself, with its own words.
    let socket = match engine.attach_socket(&c.id) {
        Err(e) if e.kind() == ministry::ErrorKind::Conflict => {
            return Err(super::ClientError::error(
                "You cannot attach to a stopped container, start it first",
                1,
            ))
        }
        r => r?,
    };
    let mut sock = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| anyhow::anyhow!("attach to {}: {e}", c.name))?;
    let tty = c.config.tty;
    let _raw = (tty && !a.no_stdin).then(RawMode::enter).flatten();
    let detached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if tty {
        if let Ok(t) = engine.terminal(&c.id) {
            follow_window_size(t);
        }
    }
    if tty && !a.no_stdin {
        let mut to = sock.try_clone()?;
        // What follows is typed into the terminal.
        to.write_all(b"i")?;
        let flag = detached.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let mut matched = 0;
            loop {
                let n = match std::io::stdin().read(&mut buf) {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let mut out = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    if b == keys[matched] {
                        matched += 1;
                        if matched == keys.len() {
                            flag.store(true, std::sync::atomic::Ordering::SeqCst);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        continue;
                    }
                    out.extend_from_slice(&keys[..matched]);
                    matched = 0;
                    out.push(b);
                }
                if to.write_all(&out).is_err() {
                    return;
                }
            }
        });
    }
    let mut head = [0u8; 5];
    while sock.read_exact(&mut head).is_ok() {
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut data = vec![0u8; len];
        if sock.read_exact(&mut data).is_err() {
            break;
        }
        if head[0] == 2 {
            let _ = std::io::stderr().write_all(&data);
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(&data);
            let _ = o.flush();
        }
    }
    if detached.load(std::sync::atomic::Ordering::SeqCst) {
        drop(_raw);
        eprintln!("read escape sequence");
        return Ok(Outcome::Code(0));
    }
    Ok(Outcome::Code(engine.wait_container(&c.id)?))
}

/// Follows this process's terminal size into the container's terminal: now, and at each
/// SIGWINCH, from a thread of its own (SIGWINCH is blocked first, so only that thread
/// takes it). Nothing when this process has no terminal.
fn follow_window_size(rc: ministry::ContainerTerminal) {
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

/// Splits Docker's `CONTAINER:PATH` (a colon before any slash); `None` for a local path.
fn container_path(s: &str) -> Option<(&str, &str)> {
    let (c, p) = s.split_once(':')?;
    (!c.is_empty() && !c.contains('/')).then_some((c, p))
}

/// `cp`: between a container (running or not) and the host, either way; `-` for a tar
/// stream on stdout or stdin.
pub fn cp(engine: &Engine, a: &CpArgs) -> Result<()> {
    // `-a`: Docker 20.10 gives the same owners with or without it (into a container the
    // source's, out of one the user's), and so do we.
    let _ = a.archive;
    match (container_path(&a.src), container_path(&a.dest)) {
        (Some((c, p)), None) if a.dest == "-" => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            engine.copy_tar_from_container(c, p, &mut out, a.follow_link)?;
            Ok(std::io::Write::flush(&mut out)?)
        }
        (None, Some((c, p))) if a.src == "-" => {
            Ok(engine.copy_tar_to_container(c, &mut std::io::stdin(), p, &a.dest)?)
        }
        (Some((c, p)), None) => {
            Ok(engine.copy_from_container(c, p, std::path::Path::new(&a.dest), a.follow_link)?)
        }
        (None, Some((c, p))) => {
            Ok(engine.copy_to_container(c, std::path::Path::new(&a.src), p, a.follow_link)?)
        }
        (Some(_), Some(_)) => bail!("copying between containers is not supported"),
        (None, None) => bail!("must specify at least one container source"),
    }
}

/// `update`: new resource limits for each container (printed as updated).
pub fn update(engine: &Engine, a: &UpdateArgs) -> Result<bool> {
    let restart = a
        .restart
        .as_deref()
        .map(str::parse::<libruntime::RestartPolicy>)
        .transpose()?;
    let mem = |s: &Option<String>| -> Result<Option<i64>> {
        Ok(match s.as_deref() {
            None => None,
            Some("-1") => Some(-1),
            Some(v) => Some(parse_size(v)? as i64),
        })
    };
    let h = ministry::HostConfig {
        memory: mem(&a.memory)?,
        memory_swap: mem(&a.memory_swap)?,
        cpus: a.cpus,
        cpu_shares: a.cpu_shares,
        cpuset_cpus: a.cpuset_cpus.clone(),
        pids_limit: a.pids_limit,
        ..Default::default()
    };
    let limits = h.memory.is_some()
        || h.memory_swap.is_some()
        || h.cpus.is_some()
        || h.cpu_shares.is_some()
        || h.cpuset_cpus.is_some()
        || h.pids_limit.is_some();
    if !limits && restart.is_none() {
        return Err(super::ClientError::error(
            "you must provide one or more flags when using this command",
            1,
        ));
    }
    Ok(each(&a.containers, |n| {
        if let Some(p) = restart {
            engine.set_restart_policy(n, p)?;
        }
        if limits {
            engine.update_container(n, &h)?;
        }
        Ok(())
    }))
}

/// `kill`.
pub fn kill(engine: &Engine, a: &KillArgs) -> Result<bool> {
    let sig = parse_signal(&a.signal)?;
    // Docker's daemon words a refused kill "Cannot kill container: NAME: WHY".
    Ok(each(&a.containers, |n| {
        engine
            .kill_container(n, sig)
            .map(drop)
            .map_err(|e| ministry::Error::Conflict(format!("Cannot kill container: {n}: {e}")))
    }))
}

/// `pause` / `unpause`.
pub fn pause(engine: &Engine, a: &WaitArgs, pause: bool) -> Result<bool> {
    Ok(each(&a.containers, |n| {
        engine.pause_container(n, pause).map(drop)
    }))
}

/// `wait`: prints each exit code.
pub fn wait(engine: &Engine, a: &WaitArgs) -> Result<bool> {
    // The codes as they come, the refusals after them (as Docker's CLI prints them).
    let mut errors = Vec::new();
    for n in &a.containers {
        match engine.wait_next_exit(n) {
            Ok(code) => println!("{code}"),
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        eprintln!("Error response from daemon: {e}");
    }
    Ok(errors.is_empty())
}

/// How `logs` prints a line: `-t` puts its time first, `--details` its extra attributes
/// (none are recorded: Docker then prints an empty field, a leading space).
#[derive(Debug, Clone, Copy, Default)]
struct LineStyle {
    timestamps: bool,
    details: bool,
}

/// Prints one log line on the stream it came from.
fn emit_log_line(l: &libruntime::logs::LogLine, style: LineStyle) {
    let mut text = String::new();
    if style.timestamps {
        text.push_str(&l.time);
        text.push(' ');
    }
    if style.details {
        text.push(' ');
    }
    text.push_str(&l.log);
    if l.stream == "stderr" {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
        let _ = std::io::stdout().flush();
    }
}

/// `logs`.
pub fn logs(engine: &Engine, a: &LogsArgs) -> Result<()> {
    let c = engine.container(&a.container)?;
    // Docker's daemon reads a --tail it cannot parse as "all".
    let tail = a.tail.parse::<usize>().ok();
    let now = std::time::SystemTime::now();
    let when = |flag: &str, v: Option<&str>| {
        v.map(|s| {
            super::events::parse_timestamp(s, now).map_err(|e| {
                super::ClientError::error(format!("invalid value for {flag:?}: {e}"), 1)
            })
        })
        .transpose()
    };
    let window = (
        when("since", a.since.as_deref())?,
        when("until", a.until.as_deref())?,
    );
    let style = LineStyle {
        timestamps: a.timestamps,
        details: a.details,
    };
    let lines = engine.logs(
        &c.id,
        ministry::LogOptions {
            follow: a.follow,
            since: window.0,
            until: window.1,
            tail,
        },
    )?;
    for l in lines {
        emit_log_line(&l?, style);
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        s.chars().take(n - 1).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

/// `ps`.
pub fn ps(engine: &Engine, a: &PsArgs) -> Result<()> {
    let mut objects = Vec::new();
    let mut rows = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    if a.size {
        rows[0].push("SIZE".into());
    }
    let listed = engine.list_containers(&ministry::ContainerListOptions {
        all: a.all,
        limit: if a.latest { Some(1) } else { a.last },
        filter: ministry::ContainerFilter::parse(&a.filter)?,
    })?;
    for ministry::ContainerSummary {
        record: c,
        state: st,
    } in listed
    {
        let id = if a.no_trunc {
            c.id.clone()
        } else {
            c.id[..12].to_string()
        };
        if a.quiet {
            println!("{id}");
            continue;
        }
        let cmd = command_text(&c, a.no_trunc);
        let status = status_text(&st);
        let ports = ports_text(&c, st.running);
        let labels: Vec<String> = c
            .config
            .labels
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mounts: Vec<String> = c
            .mounts
            .iter()
            .map(|m| {
                let n = if m.name.is_empty() {
                    &m.source
                } else {
                    &m.name
                };
                truncate(n, 15)
            })
            .collect();
        let networks: Vec<String> = ministry::Engine::network_names(&c);
        let local_volumes = c.mounts.iter().filter(|m| !m.name.is_empty()).count();
        // `-s`: its own layer, and that with the image's ("virtual").
        let size = if a.size {
            let rw = engine
                .images()
                .snapshotter()
                .usage(&c.snapshot)
                .map(|u| u.size)
                .unwrap_or(0);
            let image = engine
                .images()
                .resolve(&c.image_id)
                .map(|i| i.size())
                .unwrap_or(0);
            format!("{} (virtual {})", human_size(rw), human_size(rw + image))
        } else {
            "0B".to_string()
        };
        objects.push(json!({
            "ID": id, "Image": c.image, "Command": cmd, "CreatedAt": super::output::go_time(&c.created), "RunningFor": super::output::ago(&c.created),
            "Ports": ports, "Status": status, "Size": size, "Names": c.name, "Labels": labels.join(","),
            "Mounts": mounts.join(","), "Networks": networks.join(","), "State": st.status,
            "LocalVolumes": local_volumes.to_string(), "Platform": null,
        }));
        rows.push(vec![
            id,
            c.image.clone(),
            cmd,
            super::output::ago(&c.created),
            status,
            ports,
            c.name.clone(),
        ]);
        if a.size {
            if let Some(r) = rows.last_mut() {
                r.push(size);
            }
        }
    }
    if let Some(f) = a.format.as_deref().filter(|f| !a.quiet && *f != "table") {
        let headers = json!({"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "State": "STATE"});
        print!("{}", super::template::format_rows(f, &headers, &objects)?);
        return Ok(());
    }
    if !a.quiet {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// Docker's COMMAND column: quoted, arguments holding a space in single quotes, cut to 20
/// characters unless `no_trunc`.
pub(crate) fn command_text(c: &ContainerRecord, no_trunc: bool) -> String {
    let cmd = std::iter::once(c.path.clone())
        .chain(c.args.iter().map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ");
    if no_trunc {
        format!("\"{cmd}\"")
    } else {
        format!("\"{}\"", truncate(&cmd, 20))
    }
}

/// Docker's STATUS column: `Up 5 seconds`, `Exited (0) 3 seconds ago`, ...
pub(crate) fn status_text(st: &ministry::ContainerState) -> String {
    let since = |ns: Option<u64>| {
        ns.map(|n| {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(n);
            human_duration(
                std::time::SystemTime::now()
                    .duration_since(t)
                    .unwrap_or_default(),
            )
        })
        .unwrap_or_default()
    };
    let started = since(st.started_ns);
    let finished = since(st.finished_ns);
    match st.status {
        ContainerStatus::Running => format!("Up {started}"),
        ContainerStatus::Paused => format!("Up {started} (Paused)"),
        ContainerStatus::Created => "Created".to_string(),
        ContainerStatus::Restarting => {
            format!("Restarting ({}) {finished} ago", st.exit_code.unwrap_or(0))
        }
        _ => format!("Exited ({}) {finished} ago", st.exit_code.unwrap_or(0)),
    }
}

/// `rm`: every container is attempted; exit code 1 if any failed.
pub fn rm(engine: &Engine, a: &RmArgs) -> Result<bool> {
    if a.link {
        return Ok(each(&a.containers, |n| engine.remove_link(n)));
    }
    Ok(each(&a.containers, |n| {
        engine
            .remove_container_with(n, a.force, a.volumes)
            .map(drop)
    }))
}

/// `exec`: the program's exit code (126 when it cannot start; 1 for engine errors, as
/// Docker's exec).
pub fn exec(engine: &Engine, a: &ExecArgs) -> Result<Outcome> {
    if let Some(e) = a.env.iter().find(|e| e.starts_with('=')) {
        return Err(flag_error(
            e,
            "-e, --env",
            format!("invalid environment variable: {e}"),
        ));
    }
    if a.tty && a.interactive && !a.detach && !std::io::stdin().is_terminal() {
        engine.container(&a.container)?;
        return Err(super::ClientError::error(
            "the input device is not a TTY",
            1,
        ));
    }
    let o = ministry::ExecOptions {
        cmd: a.cmd.clone(),
        env: a.env.iter().map(|e| resolve_env(e)).collect(),
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        detach: a.detach,
        tty: a.tty,
        console_size: if a.tty { terminal_size() } else { None },
        privileged: a.privileged,
    };
    let _raw = (a.tty && a.interactive && !a.detach)
        .then(RawMode::enter)
        .flatten();
    let stdio = if a.detach {
        ContainerStdio::default()
    } else {
        ContainerStdio {
            stdin: Some(if a.interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            }),
            stdout: Some(Stdio::inherit()),
            stderr: Some(Stdio::inherit()),
        }
    };
    match engine.exec_container(&a.container, &o, stdio) {
        Ok(code) => Ok(Outcome::Code(code)),
        // The runtime's refusal to start the program, as Docker prints it (on stdout).
        Err(e @ ministry::Error::UnknownUser(_)) => {
            println!("{e}");
            Ok(Outcome::Code(e.exit_code().unwrap_or(126)))
        }
        Err(e) => Err(e.into()),
    }
}

/// `diff`.
pub fn diff(engine: &Engine, a: &ContainerArg) -> Result<()> {
    for c in engine.container_changes(&a.container)? {
        println!("{c}");
    }
    Ok(())
}

/// `export`: to a file (written whole, then renamed into place) or to a non-terminal stdout.
pub fn export(engine: &Engine, a: &ExportArgs) -> Result<()> {
    super::output::write_archive(a.output.as_deref(), |w| {
        Ok(engine.export_container(&a.container, w)?)
    })
}

/// `rename`.
pub fn rename(engine: &Engine, a: &RenameArgs) -> Result<()> {
    if let Err(e) = engine.rename_container(&a.container, &a.new_name) {
        eprintln!("Error response from daemon: {e}");
        return Err(super::ClientError::error(
            format!("Error: failed to rename container named {}", a.container),
            1,
        ));
    }
    Ok(())
}

/// `version`.
pub fn version(engine: &Engine, a: &super::args::VersionArgs) -> Result<()> {
    let arch = libimage::service::go_arch();
    if let Some(f) = &a.format {
        let v = env!("CARGO_PKG_VERSION");
        let o = json!({
            "Client": {"Version": v, "Os": "linux", "Arch": arch, "Platform": {"Name": "ministry"}},
            "Server": {"Version": v, "Os": "linux", "Arch": arch, "Platform": {"Name": "ministry (daemonless)"},
                       "Components": [{"Name": "Engine", "Version": v}]},
        });
        let t = super::template::Template::parse(&f.replace("\\t", "\t"))
            .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?;
        println!("{}", t.render(&o)?);
        return Ok(());
    }
    println!(
        "Client:\n Version:           {}\n OS/Arch:           linux/{arch}\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Server: ministry (daemonless)\n Engine:\n  Version:          {}\n  OS/Arch:          linux/{arch}\n  Storage Driver:   {}\n  Runtime:          libruntime", env!("CARGO_PKG_VERSION"), engine.images().snapshotter_name());
    Ok(())
}

/// `top`: the host's `ps` (default `-ef`), keeping the container's processes.
pub fn top(engine: &Engine, a: &super::args::TopArgs) -> Result<()> {
    let pids = engine.container_processes(&a.container)?;
    let args: Vec<String> = if a.ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        a.ps_args.clone()
    };
    let out = std::process::Command::new("ps").args(&args).output()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(ministry::Error::InvalidConfig(format!(
            "ps: {}",
            err.lines().next().unwrap_or("").trim()
        ))
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_col = header
        .iter()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow::anyhow!("Couldn't find PID field in ps output"))?;
    let mut rows = vec![header.clone()];
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < header.len() {
            continue;
        }
        if f[pid_col].parse::<i32>().is_ok_and(|p| pids.contains(&p)) {
            // The last column (the command) keeps its spaces.
            let mut row: Vec<String> = f[..header.len() - 1]
                .iter()
                .map(|s| s.to_string())
                .collect();
            row.push(f[header.len() - 1..].join(" "));
            rows.push(row);
        }
    }
    print!("{}", table_min(&rows, 20));
    Ok(())
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// `stats`: two samples 500 ms apart give CPU %; without `--no-stream`, refreshed every
/// second until interrupted.
pub fn stats(engine: &Engine, a: &super::args::StatsArgs) -> Result<()> {
    let mut targets = Vec::new();
    if a.containers.is_empty() {
        for c in engine.containers()? {
            if a.all || engine.container_state(&c)?.running {
                targets.push(c);
            }
        }
    } else {
        for n in &a.containers {
            targets.push(engine.container(n)?);
        }
    }
    let sample = |c: &ContainerRecord| engine.container_stats(&c.id).ok();
    let mut prev: Vec<Option<libruntime::cgroup::Stats>> = targets.iter().map(sample).collect();
    let mut t0 = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let now: Vec<Option<libruntime::cgroup::Stats>> = targets.iter().map(sample).collect();
        let wall = t0.elapsed().as_nanos() as f64;
        t0 = std::time::Instant::now();
        let mut rows = vec![[
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
        ]
        .map(String::from)
        .to_vec()];
        let mut objects = Vec::new();
        for (i, c) in targets.iter().enumerate() {
            let (cpu, mem, limit, blk, pids) = match (&prev[i], &now[i]) {
                (Some(p), Some(n)) => {
                    let limit = n.memory_limit.unwrap_or_else(host_memory);
                    (
                        n.cpu_ns.saturating_sub(p.cpu_ns) as f64 / wall * 100.0,
                        n.memory_usage,
                        limit,
                        (n.blkio_read, n.blkio_write),
                        n.pids,
                    )
                }
                _ => (0.0, 0, 0, (0, 0), 0),
            };
            let mem_pct = if limit > 0 {
                mem as f64 / limit as f64 * 100.0
            } else {
                0.0
            };
            let id = if a.no_trunc { &c.id[..] } else { &c.id[..12] };
            let row = vec![
                id.to_string(),
                c.name.clone(),
                format!("{cpu:.2}%"),
                format!("{} / {}", bytes_size(mem), bytes_size(limit)),
                format!("{mem_pct:.2}%"),
                "0B / 0B".into(),
                format!("{} / {}", human_size(blk.0), human_size(blk.1)),
                pids.to_string(),
            ];
            // Docker's `.Container` is the name or ID as asked for.
            let asked = a
                .containers
                .get(i)
                .cloned()
                .unwrap_or_else(|| id.to_string());
            objects.push(json!({
                "Container": asked, "ID": id, "Name": row[1], "CPUPerc": row[2],
                "MemUsage": row[3], "MemPerc": row[4], "NetIO": row[5], "BlockIO": row[6],
                "PIDs": row[7],
            }));
            rows.push(row);
        }
        if !a.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        match a.format.as_deref().filter(|f| *f != "table") {
            Some(f) => {
                let headers = json!({"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"});
                print!("{}", super::template::format_rows(f, &headers, &objects)?);
            }
            None => print!("{}", table(&rows)),
        }
        let _ = std::io::stdout().flush();
        if a.no_stream {
            return Ok(());
        }
        prev = now;
    }
}

/// `port`: `80/tcp -> 0.0.0.0:8080`, or for one port its host addresses.
pub fn port(engine: &Engine, a: &super::args::PortArgs) -> Result<()> {
    let c = engine.container(&a.container)?;
    let want = a.port.as_ref().map(|p| {
        let (n, proto) = p.split_once('/').unwrap_or((p, "tcp"));
        (n.to_string(), proto.to_string())
    });
    let mut found = false;
    for p in &c.network.ports {
        let host = format!(
            "{}:{}",
            p.host_ip
                .map(|i| i.to_string())
                .unwrap_or_else(|| "0.0.0.0".into()),
            p.host_port
        );
        match &want {
            Some((n, proto)) => {
                if *n == p.container_port.to_string() && *proto == p.proto {
                    println!("{host}");
                    found = true;
                }
            }
            None => println!("{}/{} -> {host}", p.container_port, p.proto),
        }
    }
    if let (Some(p), false) = (&a.port, found) {
        bail!("No public port '{p}' published for {}", c.name);
    }
    Ok(())
}

/// Docker's PORTS column: published ports while running (`0.0.0.0:8080->80/tcp`), then
/// the exposed ones not published (`443/tcp`).
fn ports_text(c: &ContainerRecord, running: bool) -> String {
    let mut out = Vec::new();
    let published = if running { &c.network.ports[..] } else { &[] };
    // As Docker prints them: the exposed ports not published first, then the mappings.
    for k in c.config.exposed_ports.clone().unwrap_or_default().keys() {
        let shown = published
            .iter()
            .any(|p| format!("{}/{}", p.container_port, p.proto) == *k);
        if !shown {
            out.push(k.clone());
        }
    }
    for p in published {
        let ip = p
            .host_ip
            .map(|i| i.to_string())
            .unwrap_or_else(|| "0.0.0.0".into());
        out.push(format!(
            "{ip}:{}->{}/{}",
            p.host_port, p.container_port, p.proto
        ));
    }
    out.join(", ")
}

/// `--env-file`: `KEY=VALUE` lines, `KEY` alone taking the caller's value (skipped when
/// unset), `#` comments and blank lines ignored; no quote processing (Docker's rules).
/// A file read failure as Go words it (`open F: no such file or directory`, `read F: is
/// a directory`).
fn read_error(path: &std::path::Path, e: &std::io::Error) -> String {
    let op = if e.raw_os_error() == Some(libc::EISDIR) {
        "read"
    } else {
        "open"
    };
    format!("{op} {}: {}", path.display(), ministry::os_error_text(e))
}

fn read_env_file(path: &std::path::Path) -> Result<Vec<String>> {
    // Docker's texts: a missing file as `open F: ...`, a bad one `invalid env file (F): ...`.
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = read_error(path, &e);
        let msg = if why.starts_with("open ") {
            why
        } else {
            format!("invalid env file ({}): {why}", path.display())
        };
        super::ClientError::error(msg, 125)
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line.trim_end(), None),
        };
        if k.is_empty() || k.contains(char::is_whitespace) {
            bail!(
                "invalid environment variable: {line} (in {} line {})",
                path.display(),
                i + 1
            );
        }
        match v {
            Some(v) => out.push(format!("{k}={v}")),
            None => {
                if let Ok(v) = std::env::var(k) {
                    out.push(format!("{k}={v}"));
                }
            }
        }
    }
    Ok(out)
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
struct RawMode(libc::termios);

impl RawMode {
    fn enter() -> Option<Self> {
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
