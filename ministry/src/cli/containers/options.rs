//! The flags of `run` and `create` turned into the engine's `RunOptions`, with the checks
//! Docker's CLI makes itself (`-e`, `--ulimit`, `-p`, `--security-opt`, `-v`) and `--env-file`.

use anyhow::{bail, Result};
use ministry::RunOptions;

use super::terminal::terminal_size;
use crate::cli::args::RunArgs;

/// Parses Docker's size strings (`10m`, `1g`, `512k`, `100`).
pub(crate) fn parse_size(s: &str) -> Result<u64> {
    ministry::parse_size(s).map_err(|e| anyhow::anyhow!(e))
}

/// Docker's CLI refusal of a flag's value (exit code 125).
pub(super) fn flag_error(value: &str, flag: &str, reason: impl std::fmt::Display) -> anyhow::Error {
    crate::cli::ClientError::error(
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
        libnet::nat::parse_publish(p)
            .map_err(|e| crate::cli::ClientError::error(e.to_string(), 125))?;
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
                    return Err(crate::cli::ClientError::error(
                        format!(
                            "opening seccomp profile ({val}) failed: {}",
                            read_error(p, &e)
                        ),
                        125,
                    ));
                }
            }
            _ => {
                return Err(crate::cli::ClientError::error(
                    format!("Invalid --security-opt: {o:?}"),
                    125,
                ))
            }
        }
    }
    // Docker's CLI splits `-v` itself (the daemon checks the rest).
    for v in &a.volume {
        if let Err(e) = libvolume::check_volume_sections(v) {
            return Err(crate::cli::ClientError::error(e.to_string(), 125));
        }
    }
    Ok(())
}

/// Docker's client rule for `-e KEY` (no `=`): the value of `KEY` in this process's
/// environment when it is set (`KEY=value`), else `KEY` as given (the engine leaves such
/// an entry out).
pub(super) fn resolve_env(e: &str) -> String {
    if e.contains('=') {
        return e.to_string();
    }
    match std::env::var(e) {
        Ok(v) => format!("{e}={v}"),
        Err(_) => e.to_string(),
    }
}

pub(super) fn run_options(a: &RunArgs) -> Result<RunOptions> {
    check_run_flags(a)?;
    // Docker's order: the files' variables first, then `-e` (which wins).
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(read_env_file(f)?);
    }
    env.extend(a.env.iter().map(|e| resolve_env(e)));
    if a.rm && a.restart != "no" {
        return Err(crate::cli::ClientError::error(
            "conflicting options: cannot specify both --restart and --rm",
            125,
        ));
    }
    let mut o = RunOptions {
        image: a.image().to_string(),
        cmd: a.cmd().to_vec(),
        entrypoint: a.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                vec![]
            } else {
                vec![e.clone()]
            }
        }),
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
        network: ministry::NetworkMode::parse(&a.network),
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

/// `--env-file`: `KEY=VALUE` lines, `KEY` alone taking the caller's value (skipped when
/// unset), `#` comments and blank lines ignored; no quote processing (Docker's rules).
fn read_env_file(path: &std::path::Path) -> Result<Vec<String>> {
    // Docker's texts: a missing file as `open F: ...`, a bad one `invalid env file (F): ...`.
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = read_error(path, &e);
        // Docker words a file it cannot open as `open F: ...` (read_error's choice: every
        // error but reading a directory).
        let msg = if e.raw_os_error() != Some(libc::EISDIR) {
            why
        } else {
            format!("invalid env file ({}): {why}", path.display())
        };
        crate::cli::ClientError::error(msg, 125)
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
