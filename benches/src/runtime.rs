//! Container start: create, start, wait and delete a container running `true` from a
//! prepared busybox root with libruntime, against `runc run` of the same bundle.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use libruntime::{docker_default, CreateOptions, Helper, Runtime};

use crate::stats::{report, time_pair};

pub fn run(runs: usize) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let bundle = tmp.path().join("bundle");
    let rootfs = bundle.join("rootfs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mkbusybox.sh");
    ensure!(
        Command::new("bash")
            .arg(script)
            .arg(&rootfs)
            .status()?
            .success(),
        "mkbusybox failed"
    );
    // runc's own default spec, with `true` as the program and no terminal.
    ensure!(Command::new("runc")
        .arg("spec")
        .current_dir(&bundle)
        .status()
        .context("run runc")?
        .success());
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg_path)?)?;
    cfg["process"]["args"] = serde_json::json!(["true"]);
    cfg["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg)?)?;
    let runc_root = tmp.path().join("runc-state");
    let rt = Runtime::new(tmp.path().join("state"), Helper::CurrentExe)?;
    let spec = docker_default(rootfs.to_str().context("utf-8 path")?, &["true".into()])?;
    let (ours, runc) = time_pair(
        runs,
        |_| {},
        |i| {
            let c = rt
                .create(&format!("b{i}"), &spec, CreateOptions::default())
                .unwrap();
            c.start().unwrap();
            assert_eq!(c.wait().unwrap(), 0);
            c.delete(false).unwrap();
        },
        |i| {
            let st = Command::new("runc")
                .arg("--root")
                .arg(&runc_root)
                .args(["run", "-b"])
                .arg(&bundle)
                .arg(format!("r{i}"))
                .status()
                .unwrap();
            assert!(st.success());
        },
    );
    // Remove the benchmark's cgroup parent (each container's cgroup is already gone).
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ] {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join("libruntime"));
    }
    println!("container running `true` from a prepared busybox root; {runs} runs each, interleaved, medians");
    let raw = report(
        "create+start+wait+delete (libruntime, in-process) vs runc run",
        &ours,
        "runc run",
        &runc,
        1.3,
    );
    println!("{}", serde_json::to_string(&raw)?);
    Ok(())
}
