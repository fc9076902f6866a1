//! Commands on existing containers that print each name or a short answer: `stop`,
//! `restart`, `kill`, `pause`, `rm`, `update`, `rename`, `diff`, `export`, `port`, `version`.

use anyhow::{bail, Result};
use ministry::{parse_signal, Engine};
use serde_json::json;

use super::options::parse_size;
use crate::cli::args::{
    ContainerArg, ExportArgs, KillArgs, RenameArgs, RmArgs, StopArgs, UpdateArgs, WaitArgs,
};

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
        return Err(crate::cli::ClientError::error(
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

/// `diff`.
pub fn diff(engine: &Engine, a: &ContainerArg) -> Result<()> {
    for c in engine.container_changes(&a.container)? {
        println!("{c}");
    }
    Ok(())
}

/// `export`: to a file (written whole, then renamed into place) or to a non-terminal stdout.
pub fn export(engine: &Engine, a: &ExportArgs) -> Result<()> {
    crate::cli::output::write_archive(a.output.as_deref(), |w| {
        Ok(engine.export_container(&a.container, w)?)
    })
}

/// `rename`.
pub fn rename(engine: &Engine, a: &RenameArgs) -> Result<()> {
    if let Err(e) = engine.rename_container(&a.container, &a.new_name) {
        eprintln!("Error response from daemon: {e}");
        return Err(crate::cli::ClientError::error(
            format!("Error: failed to rename container named {}", a.container),
            1,
        ));
    }
    Ok(())
}

/// `version`.
pub fn version(engine: &Engine, a: &crate::cli::args::VersionArgs) -> Result<()> {
    let arch = libimage::service::go_arch();
    if let Some(f) = &a.format {
        let v = env!("CARGO_PKG_VERSION");
        let o = json!({
            "Client": {"Version": v, "Os": "linux", "Arch": arch, "Platform": {"Name": "ministry"}},
            "Server": {"Version": v, "Os": "linux", "Arch": arch, "Platform": {"Name": "ministry (daemonless)"},
                       "Components": [{"Name": "Engine", "Version": v}]},
        });
        let t = crate::cli::template::Template::parse(&f.replace("\\t", "\t"))
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

/// `port`: `80/tcp -> 0.0.0.0:8080`, or for one port its host addresses.
pub fn port(engine: &Engine, a: &crate::cli::args::PortArgs) -> Result<()> {
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
