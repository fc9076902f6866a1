//! Resident memory of what stays behind a running container: ministry's monitor against
//! Docker's containerd-shim (same `sleep` container, `--network none`). Reported in KiB
//! with the ratio; goal (issue 3): the monitor at most 2 MiB.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};

use crate::cli_run::{docker, start_dockerd};

fn rss_kib(pid: i32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

/// `run -d --network none busybox sleep 60` with `cli` (ministry or docker): the ID.
fn run_detached(mut cli: Command) -> Result<String> {
    let out = cli
        .args(["run", "-d", "--network", "none", "busybox", "sleep", "60"])
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

pub fn run(runs: usize) -> Result<()> {
    let ministry = crate::fixture::ministry_binary()?;
    let tmp = tempfile::Builder::new()
        .prefix("rssbench")
        .tempdir_in("/tmp")?;
    let tar = tmp.path().join("busybox.tar");
    crate::fixture::busybox(&tmp.path().join("rootfs"), &tar)?;
    let m = || crate::fixture::ministry_in(&ministry, tmp.path());
    ensure!(m()
        .arg("import")
        .arg(&tar)
        .arg("busybox")
        .stdout(Stdio::null())
        .status()?
        .success());
    let d = start_dockerd(&tmp.path().join("docker"))?;
    ensure!(docker(&d)
        .arg("import")
        .arg(&tar)
        .arg("busybox")
        .stdout(Stdio::null())
        .status()?
        .success());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs.clamp(1, 5) {
        let id = run_detached(m())?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        let st: serde_json::Value = serde_json::from_slice(&std::fs::read(
            tmp.path().join("m-run").join(&id).join("state.json"),
        )?)?;
        let mp = st["monitor_pid"].as_i64().context("monitor pid")? as i32;
        ours.push(rss_kib(mp)?);
        let _ = m().args(["rm", "-f", &id]).stdout(Stdio::null()).status();

        let did = run_detached(docker(&d))?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        // The shim is the parent of the container's init.
        let pid = docker(&d)
            .args(["inspect", "-f", "{{.State.Pid}}", &did])
            .output()?;
        let pid: i32 = String::from_utf8(pid.stdout)?.trim().parse()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let ppid: i32 = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(1))
            .context("ppid")?
            .parse()?;
        theirs.push(rss_kib(ppid)?);
        let _ = docker(&d)
            .args(["rm", "-f", &did])
            .stdout(Stdio::null())
            .status();
    }
    drop(d);
    ours.sort_unstable();
    theirs.sort_unstable();
    let (o, t) = (ours[ours.len() / 2], theirs[theirs.len() / 2]);
    println!(
        "monitor RSS: ministry {o} KiB, containerd-shim {t} KiB, ratio {:.2}x; goal <= 2048 KiB {}",
        o as f64 / t as f64,
        if o <= 2048 { "MET" } else { "NOT MET" }
    );
    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup/memory/ministry-bench"));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-rss.json");
    std::fs::write(
        &out,
        serde_json::to_vec_pretty(&serde_json::json!({"ministry_kib": ours, "shim_kib": theirs}))?,
    )?;
    println!("raw data: {}", out.display());
    Ok(())
}
