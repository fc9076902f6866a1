//! `run --rm busybox true` on the default bridge (and with `-p 80`), whole CLI process,
//! side by side with Docker's default bridge; both engines run inside one private network
//! namespace made for the benchmark.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};

use crate::cli_run::{docker, start_dockerd_in};
use crate::stats::{report, time_pair};

fn ok(c: &mut Command) {
    let o = c.stdout(Stdio::null()).output().expect("spawn");
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn run(runs: usize) -> Result<()> {
    let exe_dir = std::env::current_exe()?
        .parent()
        .context("exe dir")?
        .to_path_buf();
    let ministry = exe_dir.join("ministry");
    ensure!(
        ministry.exists(),
        "build the ministry binary first: cargo build --release -p ministry"
    );
    let ns = crate::netns::create()?;
    let fd = crate::netns::fd(&ns);
    let tmp = tempfile::Builder::new()
        .prefix("bridgebench")
        .tempdir_in("/tmp")?;
    let rootfs = tmp.path().join("rootfs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mkbusybox.sh");
    ensure!(Command::new("bash")
        .arg(script)
        .arg(&rootfs)
        .status()?
        .success());
    let tar = tmp.path().join("busybox.tar");
    ensure!(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()?
        .success());
    let m = || {
        let mut c = Command::new(&ministry);
        c.arg("--root")
            .arg(tmp.path().join("m-root"))
            .arg("--exec-root")
            .arg(tmp.path().join("m-run"))
            .arg("--cgroup-parent")
            .arg("ministry-bench");
        crate::netns::enter(&mut c, fd);
        c
    };
    ok(m().arg("import").arg(&tar).arg("busybox"));
    let d = start_dockerd_in(&tmp.path().join("docker"), Some(fd))?;
    ok(docker(&d).arg("import").arg(&tar).arg("busybox"));
    let mut results = Vec::new();
    for (name, extra) in [
        ("run --rm (bridge)", vec![]),
        ("run --rm -p 80 (bridge)", vec!["-p", "80"]),
    ] {
        let args: Vec<&str> = ["run", "--rm"]
            .into_iter()
            .chain(extra.iter().copied())
            .chain(["busybox", "true"])
            .collect();
        let (ours, peer) = time_pair(
            runs,
            |_| {},
            |_| ok(m().args(&args)),
            |_| ok(docker(&d).args(&args)),
        );
        results.push(report(name, &ours, "docker (own netns)", &peer, 0.15));
    }
    drop(d);
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ] {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join("ministry-bench"));
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-bridge.json");
    std::fs::write(&out, serde_json::to_vec_pretty(&results)?)?;
    println!("raw data: {}", out.display());
    Ok(())
}
