//! `run --rm busybox true` on the default bridge (and with `-p 80`), whole CLI process,
//! side by side with Docker's default bridge; both engines run inside one private network
//! namespace made for the benchmark. Then throughput: 256 MiB sent from the namespace's
//! host side to a container, through a published port (127.0.0.1, DNAT) against its own
//! address (goal: the published path takes at most 1.25x the time, i.e. at least 0.8x
//! the throughput).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{ensure, Result};

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
    let ministry = crate::fixture::ministry_binary()?;
    let ns = crate::netns::create()?;
    let fd = crate::netns::fd(&ns);
    let tmp = tempfile::Builder::new()
        .prefix("bridgebench")
        .tempdir_in("/tmp")?;
    let tar = tmp.path().join("busybox.tar");
    crate::fixture::busybox(&tmp.path().join("rootfs"), &tar)?;
    let m = || {
        let mut c = crate::fixture::ministry_in(&ministry, tmp.path());
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
    results.push(throughput(&m, fd, runs.clamp(3, 5))?);
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

const BYTES: usize = 256 << 20;

/// Sends `BYTES` to `addr` from inside the namespace `fd`, then waits for the receiver to
/// close (it has read everything).
fn send_all(fd: i32, addr: std::net::SocketAddr) -> std::time::Duration {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        // SAFETY: setns on a valid namespace fd; this thread only.
        assert_eq!(unsafe { libc::setns(fd, libc::CLONE_NEWNET) }, 0);
        let buf = vec![0u8; 1 << 20];
        let mut s = None;
        for _ in 0..100 {
            match std::net::TcpStream::connect(addr) {
                Ok(c) => {
                    s = Some(c);
                    break;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
        let mut s = s.expect("receiver listening");
        let t = std::time::Instant::now();
        let mut left = BYTES;
        while left > 0 {
            let n = left.min(buf.len());
            s.write_all(&buf[..n]).expect("send");
            left -= n;
        }
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        t.elapsed()
    })
    .join()
    .expect("sender thread")
}

fn throughput(m: &dyn Fn() -> Command, fd: i32, runs: usize) -> Result<serde_json::Value> {
    let out = m()
        .args([
            "run",
            "-d",
            "--name",
            "sink",
            "-p",
            "127.0.0.1:9000:80",
            "busybox",
            "sh",
            "-c",
            "while true; do nc -l -p 80 >/dev/null; done",
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ip = m()
        .args(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "sink"])
        .output()?;
    let ip: std::net::Ipv4Addr = String::from_utf8_lossy(&ip.stdout).trim().parse()?;
    let direct = std::net::SocketAddr::from((ip, 80));
    let published = std::net::SocketAddr::from(([127, 0, 0, 1], 9000));
    let (ours, peer) = time_pair(
        runs,
        |_| {},
        |_| {
            send_all(fd, published);
        },
        |_| {
            send_all(fd, direct);
        },
    );
    ok(m().args(["rm", "-f", "sink"]));
    let mbps = |d: &[std::time::Duration]| {
        let mut v: Vec<f64> = d.iter().map(|x| x.as_secs_f64()).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        BYTES as f64 / (1 << 20) as f64 / v[v.len() / 2]
    };
    println!(
        "throughput: published port {:.0} MiB/s, container address {:.0} MiB/s",
        mbps(&ours),
        mbps(&peer)
    );
    Ok(report(
        "256 MiB through a published port (time)",
        &ours,
        "the container's own address",
        &peer,
        1.25,
    ))
}
