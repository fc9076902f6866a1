//! `stats` (cgroup samples) and `top` (the host's `ps`, kept to the container's processes).

use std::io::Write;

use anyhow::Result;
use ministry::{ContainerRecord, Engine};
use serde_json::json;

use crate::cli::output::{bytes_size, human_size, table, table_min};

/// `top`: the host's `ps` (default `-ef`), keeping the container's processes.
pub fn top(engine: &Engine, a: &crate::cli::args::TopArgs) -> Result<()> {
    let t = engine.top(&a.container, &a.ps_args)?;
    let mut rows = vec![t.titles];
    rows.extend(t.processes);
    print!("{}", table_min(&rows, 20));
    Ok(())
}

/// `stats`: two samples 500 ms apart give CPU %; without `--no-stream`, refreshed every
/// second until interrupted.
pub fn stats(engine: &Engine, a: &crate::cli::args::StatsArgs) -> Result<()> {
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
                    let limit = n.memory_limit.unwrap_or(0);
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
                print!(
                    "{}",
                    crate::cli::template::format_rows(f, &headers, &objects)?
                );
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
