//! `network create|ls|inspect|rm|prune|connect|disconnect`, with Docker's output.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use libnet::store::{NetworkRecord, NewNetwork};
use ministry::Engine;
use serde_json::{json, Value};

use super::args::{NetworkCommand, NetworkCreateArgs, NetworkLsArgs};
use super::output::table;

/// Runs a `network` subcommand; false when some part failed (exit status 1).
pub fn run(engine: &Engine, c: &NetworkCommand) -> Result<bool> {
    match c {
        NetworkCommand::Create(a) => create(engine, a).map(|_| true),
        NetworkCommand::Ls(a) => ls(engine, a).map(|_| true),
        NetworkCommand::Inspect(a) => {
            let mut errors = Vec::new();
            let mut objects = Vec::new();
            for n in &a.networks {
                match engine.network(n).and_then(|r| inspect_json(engine, &r)) {
                    Ok(v) => objects.push(v),
                    Err(e) => errors.push(format!("Error response from daemon: {e}")),
                }
            }
            super::images::finish_inspect(&objects, a.format.as_deref(), &errors)
        }
        NetworkCommand::Rm(a) => Ok(each(&a.networks, |n| {
            engine.remove_network(n)?;
            println!("{n}");
            Ok(())
        })),
        NetworkCommand::Prune(a) => {
            if !a.force {
                print!("WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ");
                std::io::stdout().flush()?;
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                    return Ok(true);
                }
            }
            let gone = engine.prune_networks()?;
            if !gone.is_empty() {
                println!("Deleted Networks:");
                for n in gone {
                    println!("{n}");
                }
                println!();
            }
            Ok(true)
        }
        NetworkCommand::Connect(a) => Ok(each(std::slice::from_ref(&a.container), |c| {
            engine.connect_network(&a.network, c, &a.alias)
        })),
        NetworkCommand::Disconnect(a) => Ok(each(std::slice::from_ref(&a.container), |c| {
            engine.disconnect_network(&a.network, c)
        })),
    }
}

fn each(items: &[String], mut f: impl FnMut(&str) -> Result<(), ministry::Error>) -> bool {
    let mut ok = true;
    for i in items {
        if let Err(e) = f(i) {
            eprintln!("Error response from daemon: {e}");
            ok = false;
        }
    }
    ok
}

fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

/// `network create`: prints the new network's ID.
pub fn create(engine: &Engine, a: &NetworkCreateArgs) -> Result<()> {
    if let Some(k) = a.opt.iter().find(|o| {
        !o.starts_with("com.docker.network.bridge.name=")
            && !o.starts_with("com.docker.network.driver.mtu=")
    }) {
        return Err(ministry::Error::InvalidConfig(format!(
            "unsupported network option {k:?} (ministry supports com.docker.network.bridge.name and com.docker.network.driver.mtu)"
        ))
        .into());
    }
    let r = engine.create_network(&NewNetwork {
        name: a.name.clone(),
        driver: a.driver.clone(),
        subnet: a.subnet.clone(),
        gateway: a.gateway.clone(),
        labels: key_values(&a.label),
        options: key_values(&a.opt),
    })?;
    println!("{}", r.id);
    Ok(())
}

fn row(r: &NetworkRecord, no_trunc: bool) -> Value {
    let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
        "Name": r.name,
        "Driver": r.driver,
        "Scope": "local",
        "IPv6": "false",
        // Docker 20.10's daemon does not report IPv4 (the CLI shows false).
        "IPv4": "false",
        "Internal": "false",
        "Labels": labels.join(","),
        "CreatedAt": super::output::go_time_precise(&r.created),
    })
}

/// `network ls`, with Docker's filters (`name`, `id`, `driver`, `label`, `type`).
pub fn ls(engine: &Engine, a: &NetworkLsArgs) -> Result<()> {
    let nets: Vec<NetworkRecord> = engine.list_networks(&a.filter)?;
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for r in &nets {
            writeln!(out, "{}", row(r, a.no_trunc)["ID"].as_str().unwrap_or(""))?;
        }
        return Ok(());
    }
    if let Some(f) = a.format.as_deref().filter(|f| *f != "table") {
        let objects: Vec<Value> = nets.iter().map(|r| row(r, a.no_trunc)).collect();
        let headers = json!({"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
            "IPv6": "IPV6", "IPv4": "IPV4", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"});
        out.write_all(super::template::format_rows(f, &headers, &objects)?.as_bytes())?;
        return Ok(());
    }
    let mut rows = vec![vec![
        "NETWORK ID".to_string(),
        "NAME".into(),
        "DRIVER".into(),
        "SCOPE".into(),
    ]];
    for r in &nets {
        let v = row(r, a.no_trunc);
        rows.push(vec![
            v["ID"].as_str().unwrap_or("").to_string(),
            r.name.clone(),
            r.driver.clone(),
            "local".into(),
        ]);
    }
    out.write_all(table(&rows).as_bytes())?;
    Ok(())
}

/// Docker's `network inspect` object (computed by the engine).
pub(crate) fn inspect_json(engine: &Engine, r: &NetworkRecord) -> Result<Value, ministry::Error> {
    let v = engine.inspect_network_record(r)?;
    serde_json::to_value(v).map_err(|e| ministry::Error::InvalidConfig(e.to_string()))
}
