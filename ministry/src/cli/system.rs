//! `info`, `system df`, `system prune`, with Docker's output.

use std::io::Write;

use anyhow::Result;
use ministry::Engine;
use serde_json::{json, Value};

use super::args::{DfArgs, InfoArgs, SystemPruneArgs};
use super::output::table;

/// `container prune`: Docker's prompt (unless `-f`), then every stopped container goes.
pub fn container_prune(engine: &Engine, a: &super::args::PruneArgs) -> Result<()> {
    if !a.force {
        print!("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(());
        }
    }
    let (removed, reclaimed) = engine.prune_containers()?;
    if !removed.is_empty() {
        println!("Deleted Containers:\n{}\n", removed.join("\n"));
    }
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(())
}

/// `info`: the engine and the machine, as Docker lays them out (`--format` sees Docker's
/// field names).
pub fn info(engine: &Engine, a: &InfoArgs) -> Result<()> {
    let i = engine.info()?;
    if let Some(f) = &a.format {
        let t = super::template::Template::parse(&f.replace("\\t", "\t"))
            .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?;
        println!("{}", t.render(&serde_json::to_value(&i)?)?);
        return Ok(());
    }
    let mut o = String::new();
    o += &format!(
        "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\nServer:\n",
        env!("CARGO_PKG_VERSION")
    );
    o += &format!(
        " Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n Images: {}\n",
        i.containers, i.containers_running, i.containers_paused, i.containers_stopped, i.images
    );
    o += &format!(" Server Version: {}\n", i.server_version);
    o += &format!(" Storage Driver: {}\n", i.driver);
    o += " Logging Driver: json-file\n Cgroup Driver: cgroupfs\n";
    o += &format!(" Cgroup Version: {}\n", i.cgroup_version);
    o += " Plugins:\n  Volume: local\n  Network: bridge host null\n  Log: json-file\n";
    o += " Default Runtime: libruntime\n Security Options:\n  seccomp\n   Profile: default\n";
    o += &format!(" Kernel Version: {}\n", i.kernel_version);
    o += &format!(" Operating System: {}\n", i.operating_system);
    o += " OSType: linux\n";
    o += &format!(" Architecture: {}\n", i.architecture);
    o += &format!(" CPUs: {}\n", i.ncpu);
    o += &format!(
        " Total Memory: {}\n",
        super::output::bytes_size(i.mem_total)
    );
    o += &format!(" Name: {}\n", i.name);
    o += &format!(" Docker Root Dir: {}\n", i.docker_root_dir.display());
    o += " Debug Mode: false\n Insecure Registries:\n";
    for r in &i.registry_config.insecure_registry_cidrs {
        o += &format!("  {r}\n");
    }
    print!("{o}");
    Ok(())
}

/// Docker's `units.HumanSize`: four significant digits, decimal units.
fn human_size(size: u64) -> String {
    super::output::human_size_with_precision(size, 4)
}

fn pct(part: u64, total: u64) -> String {
    if total == 0 || part == 0 {
        human_size(part)
    } else {
        format!("{} ({}%)", human_size(part), part * 100 / total)
    }
}

/// `system df`: images, containers' writable layers, local volumes (build cache: none).
pub fn df(engine: &Engine, a: &DfArgs) -> Result<()> {
    let u = engine.disk_usage()?;
    let active_images = u.images.iter().filter(|i| i.containers > 0).count();
    let img_size = u.layers_size;
    let img_reclaim = u.reclaimable_layers_size;
    let ctr_size: u64 = u.containers.iter().map(|c| c.size_rw).sum();
    let ctr_active = u.containers.iter().filter(|c| c.state.running).count();
    let ctr_reclaim: u64 = u
        .containers
        .iter()
        .filter(|c| !c.state.running)
        .map(|c| c.size_rw)
        .sum();
    let vol_size: u64 = u.volumes.iter().map(|v| v.size).sum();
    let vol_active = u.volumes.iter().filter(|v| v.ref_count > 0).count();
    let vol_reclaim: u64 = u
        .volumes
        .iter()
        .filter(|v| v.ref_count == 0)
        .map(|v| v.size)
        .sum();
    let (images, containers, vols) = (&u.images, &u.containers, &u.volumes);
    let rows_data = [
        (
            "Images",
            images.len(),
            active_images,
            img_size,
            pct(img_reclaim, img_size),
        ),
        (
            "Containers",
            containers.len(),
            ctr_active,
            ctr_size,
            pct(ctr_reclaim, ctr_size),
        ),
        (
            "Local Volumes",
            vols.len(),
            vol_active,
            vol_size,
            pct(vol_reclaim, vol_size),
        ),
        ("Build Cache", 0, 0, 0, human_size(0)),
    ];
    if let Some(f) = a.format.as_deref().filter(|f| *f != "table") {
        let objects: Vec<Value> = rows_data
            .iter()
            .map(|(t, n, act, size, rec)| {
                json!({"Type": t, "TotalCount": n.to_string(), "Active": act.to_string(),
                       "Size": human_size(*size), "Reclaimable": rec})
            })
            .collect();
        let headers = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
        print!("{}", super::template::format_rows(f, &headers, &objects)?);
        return Ok(());
    }
    if a.verbose {
        return df_verbose(&u);
    }
    let mut rows = vec![["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
        .map(String::from)
        .to_vec()];
    for (t, n, act, size, rec) in rows_data {
        rows.push(vec![
            t.to_string(),
            n.to_string(),
            act.to_string(),
            human_size(size),
            rec,
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// `system df -v`: each image (its layers shared with others apart), container and
/// volume, as Docker lays them out.
fn df_verbose(u: &ministry::DiskUsage) -> Result<()> {
    let mut rows = vec![[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ]
    .map(String::from)
    .to_vec()];
    for i in &u.images {
        let img = &i.image;
        let mut names: Vec<(String, String)> = img
            .repo_tags
            .iter()
            .filter_map(|t| libimage::Reference::parse(t).ok())
            .map(|r| {
                (
                    r.familiar_repository(),
                    r.tag().unwrap_or("<none>").to_string(),
                )
            })
            .collect();
        if names.is_empty() {
            names.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in names {
            rows.push(vec![
                repo,
                tag,
                img.id.short().to_string(),
                super::output::ago(&i.created),
                super::output::human_size(i.size),
                human_size(i.shared_size),
                human_size(i.size - i.shared_size),
                i.containers.to_string(),
            ]);
        }
    }
    println!("Images space usage:\n\n{}", table(&rows));
    let mut rows = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    for c in &u.containers {
        let r = &c.record;
        rows.push(vec![
            r.id[..12].to_string(),
            r.image.clone(),
            super::containers::command_text(r, false),
            r.mounts
                .iter()
                .filter(|m| !m.name.is_empty())
                .count()
                .to_string(),
            human_size(c.size_rw),
            super::output::ago(&r.created),
            super::containers::status_text(&c.state),
            r.name.clone(),
        ]);
    }
    println!("Containers space usage:\n\n{}", table(&rows));
    let mut rows = vec![["VOLUME NAME", "LINKS", "SIZE"].map(String::from).to_vec()];
    for v in &u.volumes {
        rows.push(vec![
            v.volume.name.clone(),
            v.ref_count.to_string(),
            human_size(v.size),
        ]);
    }
    println!("Local Volumes space usage:\n\n{}", table(&rows));
    println!("Build cache usage: 0B\n");
    println!("CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED");
    Ok(())
}

/// `system prune`: stopped containers, unused networks, dangling (with `-a`: unused)
/// images, and with `--volumes` unused anonymous volumes; asks first unless `-f`.
pub fn prune(engine: &Engine, a: &SystemPruneArgs) -> Result<()> {
    if !a.force {
        let mut what = String::from("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
        if a.volumes {
            what += "  - all anonymous volumes not used by at least one container\n";
        }
        what += if a.all {
            "  - all images without at least one container associated to them\n"
        } else {
            "  - all dangling images\n"
        };
        what += "  - all dangling build cache\n\nAre you sure you want to continue? [y/N] ";
        print!("{what}");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(());
        }
    }
    let (removed, mut reclaimed) = engine.prune_containers()?;
    if !removed.is_empty() {
        println!("Deleted Containers:\n{}\n", removed.join("\n"));
    }
    let nets = engine.prune_networks()?;
    if !nets.is_empty() {
        println!("Deleted Networks:\n{}\n", nets.join("\n"));
    }
    if a.volumes {
        let (vols, freed) = engine.prune_volumes(false)?;
        reclaimed += freed;
        if !vols.is_empty() {
            println!("Deleted Volumes:\n{}\n", vols.join("\n"));
        }
    }
    let (events, freed) = engine.prune_images(a.all)?;
    reclaimed += freed;
    if !events.is_empty() {
        println!("Deleted Images:");
        for e in events {
            println!("{}", e.to_string().to_lowercase());
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(())
}
