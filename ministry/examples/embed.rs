//! Embeds the ministry Engine: imports a root file system tarball as an image, runs a
//! container from it, reads its output (from the json-file log) and exit code.
//! `sudo cargo run -p ministry --example embed -- ROOTFS.tar` (scripts/mkbusybox.sh makes a
//! root; `tar -C DIR -cf ROOTFS.tar .`).

use ministry::{
    Engine, EngineConfig, ImportOptions, LogOptions, NetworkMode, Reference, RunOptions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // This program is also libruntime's monitor helper. On glibc that is set up before
    // `main` runs; the call is harmless there and needed on other C libraries.
    ministry::maybe_run();
    let tar = std::env::args().nth(1).ok_or("usage: embed ROOTFS.tar")?;
    let tmp = std::env::temp_dir().join(format!("ministry-embed-{}", std::process::id()));
    let config = EngineConfig {
        root: tmp.join("data"),
        exec_root: tmp.join("run"),
        cgroup_parent: format!("ministry-embed-{}", std::process::id()),
        ..Default::default()
    };
    let engine = Engine::open(config)?;
    let opts = ImportOptions {
        reference: Some(Reference::parse("embedded:latest")?),
        ..Default::default()
    };
    let image = engine.import_image(&mut std::fs::File::open(&tar)?, &opts)?;
    println!("imported {}", image.id);
    let run = RunOptions {
        image: "embedded:latest".into(),
        cmd: vec![
            "sh".into(),
            "-c".into(),
            "echo hello from $(hostname); exit 3".into(),
        ],
        log_max_files: 1,
        // No bridge: the example leaves the machine's network alone.
        network: NetworkMode::None,
        ..Default::default()
    };
    let c = engine.create_container(&run)?;
    engine.start_container(&c.id)?;
    let code = engine.wait_container(&c.id)?;
    for line in engine.logs(&c.id, LogOptions::default())? {
        let line = line?;
        print!("[{}] {}", line.stream, line.log);
    }
    println!("exit code {code}");
    engine.remove_container(&c.id, true)?;
    engine.remove_image("embedded:latest", true)?;
    for ctl in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ] {
        let _ = std::fs::remove_dir(
            std::path::Path::new("/sys/fs/cgroup")
                .join(ctl)
                .join(&engine.config().cgroup_parent),
        );
    }
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}
