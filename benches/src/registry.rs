//! Pull and push of a ~100 MB three-layer gzip image (the unpack benchmark's layers)
//! through a loopback CNCF Distribution registry, whole CLI processes side by side:
//! `ministry pull` into a fresh data root against `docker pull` after `docker rmi`, and
//! `ministry push` against `docker push`, each push into a freshly started, empty registry.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::cli_run::{docker, start_dockerd};
use crate::stats::{report, time_pair};

struct Registry {
    child: Child,
}

impl Registry {
    fn start(dir: &Path, port: u16) -> Result<Registry> {
        std::fs::create_dir_all(dir)?;
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("config.yml"), cfg)?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start docker-registry (apt-get install docker-registry)")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Registry { child })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn ok(cmd: &mut Command) -> Result<()> {
    let o = cmd
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("{cmd:?}"))?;
    ensure!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(())
}

/// A docker-archive holding the three gzip layers as they are (so the blobs pushed are
/// these files) and a config with their diff_ids.
fn archive(dir: &Path, name: &str) -> Result<PathBuf> {
    let layers = crate::unpack::layers()?;
    let mut diff_ids = Vec::new();
    let mut b = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let gz = std::fs::read(l)?;
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut plain)?;
        diff_ids.push(libimage::Digest::sha256_of(&plain).to_string());
        let n = format!("layer{i}.tar.gz");
        b.append_path_with_name(l, &n)?;
        names.push(n);
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "bench"}, {"created_by": "bench"}, {"created_by": "bench"}]
    }))?;
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": "config.json", "RepoTags": [name], "Layers": names
    }]))?;
    for (n, data) in [("config.json", &config), ("manifest.json", &manifest)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, n, &data[..])?;
    }
    let path = dir.join("image.tar");
    std::fs::write(&path, b.into_inner()?)?;
    Ok(path)
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
    let tmp = tempfile::Builder::new()
        .prefix("regbench")
        .tempdir_in("/tmp")?;
    let port = free_port()?;
    let host = format!("127.0.0.1:{port}");
    let name = format!("{host}/bench:latest");
    let m = |root: &str| {
        let mut c = Command::new(&ministry);
        c.arg("--root")
            .arg(tmp.path().join(root))
            .arg("--exec-root")
            .arg(tmp.path().join("run"));
        c
    };
    let reg_dir = tmp.path().join("registry");
    let _reg = Registry::start(&reg_dir, port)?;
    let tar = archive(tmp.path(), &name)?;
    ok(m("setup").arg("load").arg("-i").arg(&tar))?;
    ok(m("setup").arg("push").arg(&name))?;
    let d = start_dockerd(&tmp.path().join("docker"))?;
    println!(
        "image: 3 gzip layers, {:.1} MB compressed, from {host}",
        std::fs::metadata(&tar)?.len() as f64 / 1e6
    );

    // Pull: a fresh ministry root per run (never deleting between runs), docker after rmi.
    let (ours, peer) = time_pair(
        runs,
        |i| {
            if i % 2 == 1 {
                let _ = docker(&d)
                    .args(["rmi", "-f", &name])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        },
        |i| ok(m(&format!("pull-{i}")).args(["pull", "-q", &name])).expect("ministry pull"),
        |_| ok(docker(&d).args(["pull", "-q", &name])).expect("docker pull"),
    );
    let pull = report("pull", &ours, "docker pull", &peer, 0.4);

    // Push: into an empty registry each time (started outside the timed section).
    ok(docker(&d).args(["pull", "-q", &name]))?;
    let push_port = free_port()?;
    let target = format!("127.0.0.1:{push_port}/pushed:latest");
    ok(docker(&d).args(["tag", &name, &target]))?;
    ok(m("setup").args(["tag", &name, &target]))?;
    let mut current: Option<Registry> = None;
    let (ours, peer) = time_pair(
        runs,
        |i| {
            current = None;
            current = Some(
                Registry::start(&tmp.path().join(format!("push-reg-{i}")), push_port)
                    .expect("registry"),
            );
        },
        |_| ok(m("setup").args(["push", &target])).expect("ministry push"),
        |_| ok(docker(&d).args(["push", &target])).expect("docker push"),
    );
    drop(current);
    let push = report("push", &ours, "docker push", &peer, 0.5);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-registry.json");
    std::fs::write(
        &out,
        serde_json::to_vec_pretty(&serde_json::json!([pull, push]))?,
    )?;
    println!("raw data: {}", out.display());
    Ok(())
}
