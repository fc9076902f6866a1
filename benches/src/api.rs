//! The Engine API, side by side: `ministry daemon` against dockerd (+ containerd), both on
//! private roots and unix sockets. Measured (issue 14's goals): idle resident memory,
//! `docker run --rm --network none busybox true` through each, `GET /containers/json`
//! and `GET /containers/{id}/json` latency at the API with 100 containers, and 50
//! concurrent clients listing and inspecting for a while (errors, throughput, memory
//! after).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::cli_run::{docker, start_dockerd};
use crate::stats::{report, time_pair};

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The PIDs whose parent is `pid`.
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// One request on a new connection (`Connection: close`); the status and body length.
fn request(sock: &Path, path: &str) -> Result<(u16, usize)> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .context("status line")?
        .parse()?;
    Ok((status, buf.len()))
}

/// Latencies of `n` requests (after two warm-ups), sorted.
fn latencies(sock: &Path, path: &str, n: usize) -> Result<Vec<Duration>> {
    for _ in 0..2 {
        request(sock, path)?;
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let (st, _) = request(sock, path)?;
        v.push(t.elapsed());
        ensure!(st == 200, "{path}: status {st}");
    }
    v.sort();
    Ok(v)
}

/// `clients` threads alternating list and inspect for `dur`: (requests done, errors).
fn load(sock: &Path, id: &str, clients: usize, dur: Duration) -> (u64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + dur;
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let (done, errors) = (done.clone(), errors.clone());
            let sock = sock.to_path_buf();
            let inspect = format!("/v1.41/containers/{id}/json");
            std::thread::spawn(move || {
                let mut k = i;
                while Instant::now() < end {
                    let path = if k % 2 == 0 {
                        "/v1.41/containers/json?all=1"
                    } else {
                        inspect.as_str()
                    };
                    match request(&sock, path) {
                        Ok((200, _)) => done.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                    k += 1;
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    (done.load(Ordering::Relaxed), errors.load(Ordering::Relaxed))
}

struct MinistryDaemon {
    child: std::process::Child,
    sock: PathBuf,
}

impl Drop for MinistryDaemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn docker_at(sock: &Path) -> Command {
    let mut c = Command::new("docker");
    c.env("DOCKER_HOST", format!("unix://{}", sock.display()));
    c
}

pub fn run(runs: usize) -> Result<()> {
    let ministry = crate::fixture::ministry_binary()?;
    let tmp = tempfile::Builder::new()
        .prefix("apibench")
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
    let msock = tmp.path().join("m.sock");
    let child = m()
        .arg("daemon")
        .arg("-H")
        .arg(format!("unix://{}", msock.display()))
        .arg("-p")
        .arg(tmp.path().join("m.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let md = MinistryDaemon {
        child,
        sock: msock.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&md.sock).is_err() {
        if Instant::now() > deadline {
            bail!("ministry daemon did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let d = start_dockerd(&tmp.path().join("docker"))?;
    ensure!(docker(&d)
        .arg("import")
        .arg(&tar)
        .arg("busybox")
        .stdout(Stdio::null())
        .status()?
        .success());
    let dsock = tmp.path().join("docker").join("docker.sock");
    let mut raw = serde_json::Map::new();

    // Idle memory, after a few requests on each.
    for s in [&msock, &dsock] {
        for _ in 0..5 {
            request(s, "/v1.41/containers/json")?;
            request(s, "/v1.41/info")?;
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let dockerd_pid: i32 = std::fs::read_to_string(tmp.path().join("docker").join("pid"))?
        .trim()
        .parse()?;
    let containerd: u64 = children(dockerd_pid)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "containerd")
        })
        .map(rss_kib)
        .sum();
    let ours_idle = rss_kib(md.child.id() as i32);
    let theirs_idle = rss_kib(dockerd_pid) + containerd;
    println!(
        "idle daemon memory: ministry {ours_idle} KiB, dockerd+containerd {theirs_idle} KiB ({} + {containerd}), ratio {:.2}x (goal: ministry <= 15360 KiB) {}",
        theirs_idle - containerd,
        ours_idle as f64 / theirs_idle as f64,
        if ours_idle <= 15 * 1024 { "MET" } else { "NOT MET" }
    );
    raw.insert(
        "idle_rss_kib".into(),
        serde_json::json!({"ministry": ours_idle, "docker": theirs_idle}),
    );

    // docker run through each daemon.
    let run_args = ["run", "--rm", "--network", "none", "busybox", "true"];
    let (a, b) = time_pair(
        runs,
        |_| {},
        |_| {
            let o = docker_at(&msock).args(run_args).output();
            assert!(
                o.is_ok_and(|o| o.status.success()),
                "docker run via ministry failed"
            );
        },
        |_| {
            let o = docker(&d).args(run_args).output();
            assert!(
                o.is_ok_and(|o| o.status.success()),
                "docker run via dockerd failed"
            );
        },
    );
    raw.insert(
        "docker_run".into(),
        report(
            "docker run --rm (the docker CLI through the daemon)",
            &a,
            "dockerd",
            &b,
            0.3,
        ),
    );

    // 100 containers, then latency at the API.
    let mut ids = Vec::new();
    for (i, s) in [&msock, &dsock].into_iter().enumerate() {
        let mut first = String::new();
        for n in 0..100 {
            let o = docker_at(s)
                .args([
                    "create",
                    "--network",
                    "none",
                    "--name",
                    &format!("c{n}"),
                    "busybox",
                    "true",
                ])
                .output()?;
            ensure!(
                o.status.success(),
                "create: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            if n == 0 {
                first = String::from_utf8_lossy(&o.stdout).trim().to_string();
            }
        }
        let _ = i;
        ids.push(first);
    }
    let n = (runs * 10).max(20);
    let list = "/v1.41/containers/json?all=1";
    let a = latencies(&msock, list, n)?;
    let b = latencies(&dsock, list, n)?;
    raw.insert(
        "list_100".into(),
        report(
            "GET /containers/json?all=1 (100 containers)",
            &a,
            "dockerd",
            &b,
            0.2,
        ),
    );
    let a = latencies(&msock, &format!("/v1.41/containers/{}/json", ids[0]), n)?;
    let b = latencies(&dsock, &format!("/v1.41/containers/{}/json", ids[1]), n)?;
    raw.insert(
        "inspect".into(),
        report("GET /containers/{id}/json", &a, "dockerd", &b, 0.2),
    );

    // 50 concurrent clients.
    let dur = Duration::from_secs(
        std::env::var("API_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    let (ours_done, ours_err) = load(&msock, &ids[0], 50, dur);
    std::thread::sleep(Duration::from_secs(8));
    let ours_after = rss_kib(md.child.id() as i32);
    let (theirs_done, theirs_err) = load(&dsock, &ids[1], 50, dur);
    let ratio = ours_done as f64 / theirs_done.max(1) as f64;
    println!(
        "50 clients for {}s: ministry {} requests ({:.0}/s, {ours_err} errors), dockerd {} requests ({:.0}/s, {theirs_err} errors), throughput {ratio:.1}x (goal >= 5x, no error) {}; ministry's memory after: {ours_after} KiB (idle {ours_idle} KiB)",
        dur.as_secs(),
        ours_done,
        ours_done as f64 / dur.as_secs_f64(),
        theirs_done,
        theirs_done as f64 / dur.as_secs_f64(),
        if ratio >= 5.0 && ours_err == 0 { "MET" } else { "NOT MET" }
    );
    raw.insert(
        "load_50".into(),
        serde_json::json!({"ministry": ours_done, "ministry_errors": ours_err, "docker": theirs_done, "docker_errors": theirs_err, "rss_after_kib": ours_after}),
    );
    for s in [&msock, &dsock] {
        let _ = docker_at(s)
            .args(["container", "prune", "-f"])
            .stdout(Stdio::null())
            .status();
    }
    println!("{}", serde_json::Value::Object(raw));
    Ok(())
}
