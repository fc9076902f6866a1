//! A real CNCF Distribution registry (Debian's `docker-registry`) on a free loopback port,
//! plain, with htpasswd basic auth, or with TLS from a CA the test generates; image
//! stores in temp dirs; a small image to move around.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libimage::service::{ImageService, ImportOptions, SnapshotterKind};
use libimage::Reference;
use libregistry::{CredentialStore, Registry, RegistryOptions};

pub fn require_tool(name: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed; scripts/install-deps.sh installs it"
    );
}

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "image stores unpack layers with owners and overlay mounts: run as root (scripts/test.sh)"
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn sh(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// How the registry is set up.
#[derive(Default)]
pub struct Setup {
    pub basic_auth: Option<(&'static str, &'static str)>,
    pub tls: bool,
}

pub struct RegistryServer {
    pub dir: tempfile::TempDir,
    pub host: String,
    child: Child,
}

impl RegistryServer {
    pub fn start(setup: Setup) -> Self {
        require_tool("docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if setup.tls {
            make_certs(dir.path(), &host);
            cfg += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            );
        }
        if let Some((user, pass)) = setup.basic_auth {
            require_tool("htpasswd");
            let h = sh(Command::new("htpasswd").args(["-Bbn", user, pass]));
            std::fs::write(dir.path().join("htpasswd"), h).unwrap();
            cfg += &format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                dir.path().join("htpasswd").display()
            );
        }
        std::fs::write(dir.path().join("config.yml"), cfg).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        RegistryServer { dir, host, child }
    }

    /// A certs.d directory trusting this registry's CA.
    pub fn certs_dir(&self) -> PathBuf {
        let d = self.dir.path().join("certs.d");
        std::fs::create_dir_all(d.join(&self.host)).unwrap();
        std::fs::copy(
            self.dir.path().join("ca.crt"),
            d.join(&self.host).join("ca.crt"),
        )
        .unwrap();
        d
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn make_certs(dir: &Path, host: &str) {
    require_tool("openssl");
    let ip = host.split(':').next().unwrap();
    let d = |f: &str| dir.join(f).to_str().unwrap().to_string();
    sh(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ministry test CA",
        "-keyout",
        &d("ca.key"),
        "-out",
        &d("ca.crt"),
    ]));
    sh(Command::new("openssl").args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        &format!("/CN={ip}"),
        "-keyout",
        &d("server.key"),
        "-out",
        &d("server.csr"),
    ]));
    std::fs::write(dir.join("ext.cnf"), format!("subjectAltName=IP:{ip}\n")).unwrap();
    sh(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &d("server.csr"),
        "-CA",
        &d("ca.crt"),
        "-CAkey",
        &d("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &d("ext.cnf"),
        "-out",
        &d("server.crt"),
    ]));
}

/// An image store in a temp dir (copy snapshotter: no mounts to clean up).
pub fn store() -> (tempfile::TempDir, ImageService) {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let s = ImageService::open(tmp.path().join("root"), SnapshotterKind::Copy).unwrap();
    (tmp, s)
}

/// A client with no credentials but those stored under `dir`.
pub fn client(dir: &Path, certs: Option<PathBuf>) -> Registry {
    Registry::new(RegistryOptions {
        credentials: CredentialStore::new(dir.join("config.json"), vec![]),
        certs_dirs: certs.into_iter().collect(),
        ..Default::default()
    })
    .unwrap()
}

/// A small tar (a few files, one of 300 KiB) with `seed` making it unique.
pub fn small_tar(seed: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add("etc/seed", seed.as_bytes());
    add("bin/big", &vec![7u8; 300 << 10]);
    b.into_inner().unwrap()
}

/// Imports a small image named `name` into `s`.
pub fn small_image(s: &ImageService, name: &str, seed: &str) -> libimage::image::ImageRecord {
    s.import(
        &mut &small_tar(seed)[..],
        &ImportOptions {
            reference: Some(Reference::parse(name).unwrap()),
            ..Default::default()
        },
    )
    .unwrap()
}

pub fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}
