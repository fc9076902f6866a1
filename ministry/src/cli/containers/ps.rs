//! `ps` and its COMMAND, STATUS and PORTS texts.

use anyhow::Result;
use ministry::{ContainerRecord, ContainerStatus, Engine};
use serde_json::json;

use crate::cli::args::PsArgs;
use crate::cli::output::{human_duration, human_size, table};

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
            "ID": id, "Image": c.image, "Command": cmd, "CreatedAt": crate::cli::output::go_time(&c.created), "RunningFor": crate::cli::output::ago(&c.created),
            "Ports": ports, "Status": status, "Size": size, "Names": c.name, "Labels": labels.join(","),
            "Mounts": mounts.join(","), "Networks": networks.join(","), "State": st.status,
            "LocalVolumes": local_volumes.to_string(), "Platform": null,
        }));
        rows.push(vec![
            id,
            c.image.clone(),
            cmd,
            crate::cli::output::ago(&c.created),
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
        print!(
            "{}",
            crate::cli::template::format_rows(f, &headers, &objects)?
        );
        return Ok(());
    }
    if !a.quiet {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// A container's command as Docker's daemon lists it (`Command`): the program and its
/// arguments, those holding a space in single quotes.
pub(crate) fn command_line(c: &ContainerRecord) -> String {
    std::iter::once(c.path.clone())
        .chain(c.args.iter().map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Docker's COMMAND column: quoted, arguments holding a space in single quotes, cut to 20
/// characters unless `no_trunc`.
pub(crate) fn command_text(c: &ContainerRecord, no_trunc: bool) -> String {
    let cmd = command_line(c);
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
