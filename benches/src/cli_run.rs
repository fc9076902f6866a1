//! `run --rm --network none busybox true`, whole process, side by side: the `ministry`
//! binary, Docker (a private dockerd with no bridge and no iptables, temp roots), and
//! `runc run` of the same root as a bundle (the lower bound).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::stats::{median, report};

fn sh(cmd: &mut Command) -> Result<()> {
    let st = cmd.status().with_context(|| format!("{cmd:?}"))?;
    ensure!(st.success(), "{cmd:?} failed");
    Ok(())
}

pub(crate) struct Dockerd {
    child: std::process::Child,
    sock: PathBuf,
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        libc_kill(self.child.id() as i32);
        let _ = self.child.wait();
    }
}

fn libc_kill(pid: i32) -> i32 {
    // SIGTERM without a libc dependency: through the kill command.
    Command::new("kill")
        .arg(pid.to_string())
        .status()
        .map(|s| if s.success() { 0 } else { -1 })
        .unwrap_or(-1)
}

pub(crate) fn start_dockerd(dir: &Path) -> Result<Dockerd> {
    start_dockerd_in(dir, None)
}

/// dockerd with no bridge; or, given a network namespace, dockerd inside it with its
/// default bridge and iptables rules (which then live and die with that namespace).
pub(crate) fn start_dockerd_in(dir: &Path, netns: Option<i32>) -> Result<Dockerd> {
    let sock = dir.join("docker.sock");
    let mut cmd = Command::new("dockerd");
    if let Some(fd) = netns {
        crate::netns::enter(&mut cmd, fd);
    } else {
        cmd.args([
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
        ]);
    }
    let child = cmd
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("pid"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start dockerd (apt-get install docker.io)")?;
    let d = Dockerd { child, sock };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if docker(&d)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?
            .success()
        {
            return Ok(d);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("dockerd did not start")
}

pub(crate) fn docker(d: &Dockerd) -> Command {
    let mut c = Command::new("docker");
    c.env("DOCKER_HOST", format!("unix://{}", d.sock.display()));
    c
}

fn time(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f();
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

pub fn run(runs: usize) -> Result<()> {
    let ministry = crate::fixture::ministry_binary()?;
    let tmp = tempfile::tempdir()?;
    let bundle = tmp.path().join("bundle");
    let rootfs = bundle.join("rootfs");
    let tar = tmp.path().join("busybox.tar");
    crate::fixture::busybox(&rootfs, &tar)?;
    let m = || crate::fixture::ministry_in(&ministry, tmp.path());
    let mut imp = m();
    sh(imp
        .args(["import"])
        .arg(&tar)
        .arg("busybox")
        .stdout(Stdio::null()))?;
    let ours = time(runs, || {
        let mut c = m();
        assert!(c
            .args(["run", "--rm", "--network", "none", "busybox", "true"])
            .status()
            .unwrap()
            .success());
    });
    ensure!(Command::new("runc")
        .arg("spec")
        .current_dir(&bundle)
        .status()?
        .success());
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg_path)?)?;
    cfg["process"]["args"] = serde_json::json!(["true"]);
    cfg["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg)?)?;
    let mut n = 0;
    let runc = time(runs, || {
        n += 1;
        let st = Command::new("runc")
            .arg("--root")
            .arg(tmp.path().join("runc"))
            .args(["run", "-b"])
            .arg(&bundle)
            .arg(format!("r{n}"))
            .status()
            .unwrap();
        assert!(st.success());
    });
    let dk_dir = tempfile::Builder::new().prefix("dkb").tempdir_in("/tmp")?;
    let d = start_dockerd(dk_dir.path())?;
    sh(docker(&d)
        .args(["import"])
        .arg(&tar)
        .arg("busybox")
        .stdout(Stdio::null()))?;
    let dock = time(runs.min(10), || {
        assert!(docker(&d)
            .args(["run", "--rm", "--network", "none", "busybox", "true"])
            .status()
            .unwrap()
            .success());
    });
    // exec into a running container, both engines.
    let mut c = m();
    sh(c.args([
        "run",
        "-d",
        "--name",
        "benchexec",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ])
    .stdout(Stdio::null()))?;
    sh(docker(&d)
        .args([
            "run",
            "-d",
            "--name",
            "benchexec",
            "--network",
            "none",
            "busybox",
            "sleep",
            "1000",
        ])
        .stdout(Stdio::null()))?;
    let ours_exec = time(runs, || {
        let mut c = m();
        assert!(c
            .args(["exec", "benchexec", "true"])
            .status()
            .unwrap()
            .success());
    });
    let dock_exec = time(runs.min(10), || {
        assert!(docker(&d)
            .args(["exec", "benchexec", "true"])
            .status()
            .unwrap()
            .success());
    });
    let mut c = m();
    let _ = c
        .args(["rm", "-f", "benchexec"])
        .stdout(Stdio::null())
        .status();
    let _ = docker(&d)
        .args(["rm", "-f", "benchexec"])
        .stdout(Stdio::null())
        .status();
    drop(d);
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ] {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(c).join("ministry-bench"));
    }
    println!(
        "`run --rm --network none busybox true`, whole process; medians of {runs} runs (Docker {})",
        runs.min(10)
    );
    let a = report(
        "ministry run vs docker run",
        &ours,
        "docker run",
        &dock,
        0.125,
    );
    let b = report("ministry run vs runc run", &ours, "runc run", &runc, 1.5);
    println!(
        "absolute goal: <= 25 ms: ministry median {:.1} ms",
        median(&ours).as_secs_f64() * 1e3
    );
    let e = report(
        "ministry exec vs docker exec",
        &ours_exec,
        "docker exec",
        &dock_exec,
        15.0 / 73.0,
    );
    println!(
        "absolute goal: exec <= 15 ms: ministry median {:.1} ms",
        median(&ours_exec).as_secs_f64() * 1e3
    );
    println!("{}", serde_json::json!([a, b, e]));
    Ok(())
}
