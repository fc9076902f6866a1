//! A tiny orchestrator on the ministry Engine: keeps REPLICAS containers of an image
//! running, replaces each one that exits (seen through the live event stream), prints
//! the logs of the one that exited, and stops after REPLACEMENTS replacements. Only typed
//! calls; `#[tokio::main]` works as it is (the helper is set up before `main`).
//! `sudo cargo run -p ministry --example orchestrator -- ROOTFS.tar 2 4`
use std::sync::Arc;

use ministry::{
    Engine, EngineConfig, EventFilter, EventOptions, ImportOptions, LogOptions, NetworkMode,
    Reference, RunOptions,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn replica(engine: &Engine, n: u32) -> Result<String, Error> {
    let opts = RunOptions {
        image: "orchestrated:latest".into(),
        cmd: vec![
            "sh".into(),
            "-c".into(),
            format!("echo replica {n} up; sleep 0.$RANDOM; exit 3"),
        ],
        name: Some(format!("replica-{n}")),
        network: NetworkMode::None,
        log_max_files: 1,
        ..Default::default()
    };
    let c = engine.create_container(&opts)?;
    engine.start_container(&c.id)?;
    Ok(c.id)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, tar, replicas, replacements] = &args[..] else {
        return Err("usage: orchestrator ROOTFS.tar REPLICAS REPLACEMENTS".into());
    };
    let (replicas, mut left): (u32, u32) = (replicas.parse()?, replacements.parse()?);
    let tmp = std::env::temp_dir().join(format!("orchestrator-{}", std::process::id()));
    let engine = Arc::new(Engine::open(EngineConfig {
        root: tmp.join("data"),
        exec_root: tmp.join("run"),
        cgroup_parent: format!("orchestrator-{}", std::process::id()),
        ..Default::default()
    })?);
    let image = ImportOptions {
        reference: Some(Reference::parse("orchestrated")?),
        ..Default::default()
    };
    engine.import_image(&mut std::fs::File::open(tar)?, &image)?;
    // Exits of our containers, as they happen (the stream blocks: a thread of its own).
    let filter = EventFilter::parse(&["type=container".into(), "event=die".into()])?;
    let events = engine.events(EventOptions {
        filter,
        ..Default::default()
    })?;
    let (tx, mut exits) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || events.map_while(Result::ok).try_for_each(|e| tx.send(e)));
    let mut next = 0;
    for _ in 0..replicas {
        let e = engine.clone();
        tokio::task::spawn_blocking(move || replica(&e, next)).await??;
        next += 1;
    }
    while left > 0 {
        let Some(died) = exits.recv().await else {
            break;
        };
        let e = engine.clone();
        let name = died.attributes.get("name").cloned().unwrap_or_default();
        let code = died.attributes.get("exitCode").cloned().unwrap_or_default();
        tokio::task::spawn_blocking(move || -> Result<(), Error> {
            for line in e.logs(&died.id, LogOptions::default())? {
                print!("{name} exited {code}: {}", line?.log);
            }
            e.remove_container(&died.id, true)?;
            println!("replacing {name} with replica-{next}");
            replica(&e, next).map(drop)
        })
        .await??;
        next += 1;
        left -= 1;
    }
    for c in engine.containers()? {
        engine.remove_container(&c.id, true)?;
    }
    engine.remove_image("orchestrated:latest", true)?;
    for ctl in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ] {
        let _ = std::fs::remove_dir(format!(
            "/sys/fs/cgroup/{ctl}/{}",
            engine.config().cgroup_parent
        ));
    }
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}
