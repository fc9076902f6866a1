//! Helpers for ministry's CLI tests: the built binary on a temp data root, a busybox root
//! file system, a private Docker daemon, and tools that must exist.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A finished command's (exit code, stdout, stderr).
pub fn out(o: &Output) -> (Option<i32>, String, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Fails (never skips) when not root.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test needs root; run the suite as root"
    );
}

/// Fails (never skips) when a tool is missing.
pub fn require_tool(name: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed; scripts/install-deps.sh installs it"
    );
}

/// The ministry binary on a private data root, run inside a private network namespace
/// (the "test host": its bridge, veths and nftables rules vanish with the test).
pub struct Ministry {
    pub root: tempfile::TempDir,
    netns: Option<std::fs::File>,
}

/// A new network namespace with `lo` up, held open by the returned file.
pub fn private_netns() -> std::fs::File {
    std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread, which ends right after.
        assert_eq!(
            unsafe { libc::unshare(libc::CLONE_NEWNET) },
            0,
            "unshare(CLONE_NEWNET)"
        );
        let f = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
        libnet::link::loopback_up(Path::new("/proc/thread-self/ns/net")).unwrap();
        f
    })
    .join()
    .unwrap()
}

impl Ministry {
    pub fn new() -> Self {
        require_root();
        Ministry {
            root: tempfile::tempdir().unwrap(),
            netns: Some(private_netns()),
        }
    }

    /// Another engine, on a data root of its own, in this one's network namespace.
    pub fn sibling(&self) -> Self {
        Ministry {
            root: tempfile::tempdir().unwrap(),
            netns: self.netns.as_ref().map(|f| f.try_clone().unwrap()),
        }
    }

    /// In the machine's own network namespace (to reach a registry on its loopback); its
    /// containers must use `--network none`.
    pub fn host_network() -> Self {
        require_root();
        Ministry {
            root: tempfile::tempdir().unwrap(),
            netns: None,
        }
    }

    /// The test's network namespace (a descriptor held open by this value).
    pub fn netns_fd(&self) -> i32 {
        std::os::fd::AsRawFd::as_raw_fd(self.netns.as_ref().expect("a private namespace"))
    }

    /// Makes `c` run in this test's network namespace.
    pub fn enter(&self, c: &mut Command) {
        if let Some(ns) = &self.netns {
            let fd = std::os::fd::AsRawFd::as_raw_fd(ns);
            // SAFETY: only setns (async-signal-safe) between fork and exec.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(c, move || {
                    if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ministry"));
        c.arg("--root").arg(self.root.path().join("data"));
        c.arg("--exec-root").arg(self.root.path().join("run"));
        c.arg("--cgroup-parent").arg(self.cgroup_parent());
        // Never the machine's /etc/ministry/daemon.json.
        c.arg("--config-file")
            .arg(self.root.path().join("daemon.json"));
        // Credentials stay in the test's directory, never the user's home.
        c.env("MINISTRY_CONFIG", self.root.path().join("config"));
        c.env("DOCKER_CONFIG", self.root.path().join("docker-config"));
        self.enter(&mut c);
        c
    }

    /// This test's own cgroup parent (removed on drop).
    pub fn cgroup_parent(&self) -> String {
        format!(
            "ministry-test-{}",
            self.root.path().file_name().unwrap().to_string_lossy()
        )
    }

    /// Imports a busybox image as `name` (built in a temp dir).
    pub fn busybox(&self, name: &str) -> String {
        let tmp = tempfile::tempdir().unwrap();
        let tar = busybox_tar(tmp.path());
        self.ok_stdin(&["import", "-", name], &tar)
            .trim()
            .to_string()
    }

    /// The CLI with `args` (a shell word list) on a terminal of 33 rows and 101 columns,
    /// which `script` provides, in this instance's namespaces and environment.
    pub fn in_terminal(&self, args: &str) -> Command {
        self.in_terminal_after("", args)
    }

    /// [`Ministry::in_terminal`], with shell commands `setup` run first on that terminal
    /// (such as a background job that resizes it).
    pub fn in_terminal_after(&self, setup: &str, args: &str) -> Command {
        let c = self.cmd();
        let argv: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let prog = c.get_program().to_string_lossy().into_owned();
        let mut s = Command::new("script");
        s.args([
            "-qec",
            &format!(
                "stty rows 33 cols 101; {setup} {prog} {} {args}",
                argv.join(" ")
            ),
            "/dev/null",
        ]);
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                s.env(k, v);
            }
        }
        self.enter(&mut s);
        s
    }

    /// Runs `args` until they succeed (at most 10 s): for what a container does just
    /// after it starts.
    pub fn until_ok(&self, args: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.run(args).status.success() {
            assert!(
                Instant::now() < deadline,
                "ministry {args:?} never succeeded"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs with args; returns the output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs with args and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "ministry {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs with `stdin` piped from a file; returns the output whatever the exit code.
    pub fn run_stdin(&self, args: &[&str], stdin: &Path) -> Output {
        self.cmd()
            .args(args)
            .stdin(std::fs::File::open(stdin).unwrap())
            .output()
            .unwrap()
    }

    /// Runs with `stdin` piped from a file and expects success; returns stdout.
    pub fn ok_stdin(&self, args: &[&str], stdin: &Path) -> String {
        let o = self.run_stdin(args, stdin);
        assert!(
            o.status.success(),
            "ministry {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
}

impl Drop for Ministry {
    fn drop(&mut self) {
        // Remove what a failed test may have left running, then the cgroup parent.
        let _ = self
            .cmd()
            .args(["rm", "-f"])
            .args(String::from_utf8_lossy(&self.run(&["ps", "-aq"]).stdout).split_whitespace())
            .output();
        // Volumes too: a driver-backed one is mounted on the host until removed.
        let _ = self
            .cmd()
            .args(["volume", "rm", "-f"])
            .args(
                String::from_utf8_lossy(&self.run(&["volume", "ls", "-q"]).stdout)
                    .split_whitespace(),
            )
            .output();
        for c in [
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
        ] {
            let _ = std::fs::remove_dir(
                Path::new("/sys/fs/cgroup")
                    .join(c)
                    .join(self.cgroup_parent()),
            );
        }
    }
}

/// A busybox root file system tarball built with scripts/mkbusybox.sh.
pub fn busybox_tar(dir: &Path) -> PathBuf {
    require_tool("busybox");
    let rootfs = dir.join("rootfs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mkbusybox.sh");
    let st = Command::new("bash")
        .arg(script)
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(st.success());
    let tar = dir.join("busybox.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

/// Runs a command and expects success; returns stdout.
pub fn sh(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A private dockerd (no bridge, no iptables, temp data and exec roots), stopped on drop.
pub struct Docker {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Docker {
    pub fn start() -> Self {
        require_root();
        require_tool("dockerd");
        require_tool("docker");
        let dir = tempfile::Builder::new()
            .prefix("dk")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("log")).unwrap();
        let child = Command::new("dockerd")
            .args([
                "--iptables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--bridge=none",
            ])
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("sock").display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let dk = Docker { dir, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if dk
                .cmd()
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
            {
                return dk;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "dockerd did not start: {}",
            std::fs::read_to_string(dk.dir.path().join("log")).unwrap_or_default()
        );
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("docker");
        c.env(
            "DOCKER_HOST",
            format!("unix://{}", self.dir.path().join("sock").display()),
        );
        // The classic builder (no buildx here).
        c.env("DOCKER_BUILDKIT", "0");
        c
    }

    pub fn ok(&self, args: &[&str]) -> String {
        sh(self.cmd().args(args))
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Docker leaves its data root mounted nowhere once stopped; remove it.
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path().join("data"))
            .stderr(Stdio::null())
            .status();
    }
}

/// A CNCF Distribution registry (Debian's `docker-registry`) on a free loopback port,
/// optionally with htpasswd basic auth; killed on drop.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub host: String,
    child: std::process::Child,
}

impl Registry {
    pub fn start(basic_auth: Option<(&str, &str)>) -> Self {
        require_tool("docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if let Some((user, pass)) = basic_auth {
            require_tool("htpasswd");
            let h = sh(Command::new("htpasswd").args(["-Bbn", user, pass]));
            std::fs::write(dir.path().join("htpasswd"), h).unwrap();
            cfg += &format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            );
        }
        std::fs::write(dir.path().join("config.yml"), cfg).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry { dir, host, child }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ministry daemon` on a unix socket in a [`Ministry`]'s data root, network namespace
/// and cgroup parent; the docker CLI (`cmd`) talks to it. Stopped (SIGTERM) on drop.
pub struct MinistryDaemon {
    pub sock: PathBuf,
    child: std::process::Child,
}

impl MinistryDaemon {
    pub fn start(m: &Ministry) -> Self {
        require_tool("docker");
        let sock = m.root.path().join("api.sock");
        let log = std::fs::File::create(m.root.path().join("daemon.log")).unwrap();
        let child = m
            .cmd()
            .arg("daemon")
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .arg("-p")
            .arg(m.root.path().join("daemon.pid"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = MinistryDaemon { sock, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&d.sock).is_ok() {
                return d;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "ministry daemon did not start: {}",
            std::fs::read_to_string(m.root.path().join("daemon.log")).unwrap_or_default()
        );
    }

    /// The docker CLI pointed at this daemon (its own config directory).
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", format!("unix://{}", self.sock.display()));
        c.env(
            "DOCKER_CONFIG",
            self.sock.parent().unwrap().join("docker-cli-config"),
        );
        c.env("DOCKER_BUILDKIT", "0");
        c
    }

    /// Runs the docker CLI (killed after 60 s: a hung API call fails the test, never
    /// hangs it).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new("timeout");
        c.args(["-k", "5", "60", "docker"]);
        for (k, v) in self.cmd().get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c.args(args).stdin(Stdio::null()).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        sh(self.cmd().args(args))
    }
}

impl Drop for MinistryDaemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
