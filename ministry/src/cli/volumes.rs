//! `volume create|ls|inspect|rm|prune`, with Docker's output.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Result};
use ministry::Engine;
use serde_json::{json, Value};

use super::args::{
    VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs, VolumePruneArgs, VolumeRmArgs,
};
use super::output::{human_size, table};

fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

/// `volume create`: prints the name.
pub fn create(engine: &Engine, a: &VolumeCreateArgs) -> Result<()> {
    let name = match (&a.name, &a.name_flag) {
        (Some(p), Some(f)) if p != f => {
            bail!("conflicting options: either specify --name or provide positional arg, not both")
        }
        (p, f) => p.clone().or(f.clone()),
    };
    let (v, _) = engine.create_volume(&libvolume::CreateOptions {
        name,
        driver: Some(a.driver.clone()),
        labels: key_values(&a.label),
        options: key_values(&a.opt),
    })?;
    println!("{}", v.name);
    Ok(())
}

fn labels_text(v: &libvolume::Volume) -> String {
    v.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `volume ls`, with Docker's filters (`dangling`, `name`, `label`, `driver`).
pub fn ls(engine: &Engine, a: &VolumeLsArgs) -> Result<()> {
    let vols = engine.list_volumes(&a.filter)?;
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for v in &vols {
            writeln!(out, "{}", v.name)?;
        }
        return Ok(());
    }
    if let Some(f) = a.format.as_deref().filter(|f| *f != "table") {
        let objects: Vec<Value> = vols
            .iter()
            .map(|v| {
                json!({"Name": v.name, "Driver": v.driver, "Scope": v.scope, "Mountpoint": v.mountpoint,
                       "Labels": labels_text(v), "Links": "N/A", "Size": "N/A",
                       "Availability": "N/A", "Group": "N/A", "Status": "N/A"})
            })
            .collect();
        let headers = json!({"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Availability": "AVAILABILITY", "Group": "GROUP", "Status": "STATUS"});
        out.write_all(super::template::format_rows(f, &headers, &objects)?.as_bytes())?;
        return Ok(());
    }
    let mut rows = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
    rows.extend(vols.iter().map(|v| vec![v.driver.clone(), v.name.clone()]));
    out.write_all(table(&rows).as_bytes())?;
    Ok(())
}

/// `volume inspect`: a JSON array (or the template per volume); missing ones are errors.
pub fn inspect(engine: &Engine, a: &VolumeInspectArgs) -> Result<bool> {
    let mut errors = Vec::new();
    let mut objects = Vec::new();
    for n in &a.volumes {
        match engine.volumes().get(n) {
            Ok(v) => objects.push(serde_json::to_value(v)?),
            Err(e) => errors.push(format!("Error response from daemon: {e}")),
        }
    }
    super::images::finish_inspect(&objects, a.format.as_deref(), &errors)
}

/// `volume rm`: prints each removed name; with `-f`, a missing volume is no error.
pub fn rm(engine: &Engine, a: &VolumeRmArgs) -> Result<bool> {
    let mut ok = true;
    for n in &a.volumes {
        match engine.remove_volume(n) {
            Ok(()) => println!("{n}"),
            Err(ministry::Error::Volume(e))
                if a.force && e.kind() == libvolume::ErrorKind::NotFound =>
            {
                println!("{n}")
            }
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// `volume prune`: asks first unless `-f`; anonymous volumes only unless `-a`.
pub fn prune(engine: &Engine, a: &VolumePruneArgs) -> Result<()> {
    if !a.force {
        let what = if a.all {
            "all local volumes"
        } else {
            "all anonymous local volumes"
        };
        print!("WARNING! This will remove {what} not used by at least one container.\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(());
        }
    }
    let (names, freed) = engine.prune_volumes(a.all)?;
    if !names.is_empty() {
        println!("Deleted Volumes:");
        for n in names {
            println!("{n}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(freed));
    Ok(())
}
