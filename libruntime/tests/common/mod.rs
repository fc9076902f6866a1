//! Helpers for libruntime's root integration tests: a busybox root per test, a runtime on
//! a temp state directory using this crate's helper binary, and running a command with
//! its output captured.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use libruntime::{docker_default, ContainerStdio, CreateOptions, Helper, Runtime};

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test needs root; run the suite as root"
    );
}

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub rootfs: PathBuf,
    pub rt: Runtime,
    /// This test's own cgroup parent, removed on drop.
    pub cgroup_parent: String,
}

/// The v1 controllers this machine mounts (for checks and cleanup).
pub fn v1_controllers() -> Vec<PathBuf> {
    [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
    ]
    .iter()
    .map(|c| Path::new("/sys/fs/cgroup").join(c))
    .filter(|p| p.is_dir())
    .collect()
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // A failed test may leave a container running: remove it, then the cgroup parent.
        for st in self.rt.list().unwrap_or_default() {
            if let Ok(c) = self.rt.get(&st.id) {
                let _ = c.delete(true);
            }
        }
        for c in v1_controllers() {
            let _ = std::fs::remove_dir(c.join(&self.cgroup_parent));
        }
    }
}

impl Fixture {
    pub fn new() -> Self {
        require_root();
        assert!(
            Path::new("/bin/busybox").exists(),
            "busybox-static is not installed; scripts/install-deps.sh installs it"
        );
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mkbusybox.sh");
        assert!(std::process::Command::new("bash")
            .arg(script)
            .arg(&rootfs)
            .status()
            .unwrap()
            .success());
        let rt = Runtime::new(
            tmp.path().join("state"),
            Helper::Binary(env!("CARGO_BIN_EXE_libruntime-helper").into()),
        )
        .unwrap();
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cgroup_parent = format!("libruntime-test-{}-{n}", std::process::id());
        Fixture {
            tmp,
            rootfs,
            rt,
            cgroup_parent,
        }
    }

    pub fn spec(&self, cmd: &str) -> oci_spec::runtime::Spec {
        docker_default(
            self.rootfs.to_str().unwrap(),
            &["sh".into(), "-c".into(), cmd.into()],
        )
        .unwrap()
    }

    /// Creates, starts and waits for a container running `sh -c cmd`; returns (exit code,
    /// stdout, stderr) and deletes it.
    pub fn run_spec(&self, id: &str, spec: &oci_spec::runtime::Spec) -> (i32, String, String) {
        let out = self.tmp.path().join(format!("{id}.out"));
        let err = self.tmp.path().join(format!("{id}.err"));
        let stdio = ContainerStdio {
            stdin: None,
            stdout: Some(Stdio::from(std::fs::File::create(&out).unwrap())),
            stderr: Some(Stdio::from(std::fs::File::create(&err).unwrap())),
        };
        let c = self
            .rt
            .create(
                id,
                spec,
                CreateOptions {
                    stdio,
                    ..Default::default()
                },
            )
            .unwrap();
        let _ = c.start();
        let code = c.wait().unwrap();
        c.delete(false).unwrap();
        (
            code,
            std::fs::read_to_string(out).unwrap(),
            std::fs::read_to_string(err).unwrap(),
        )
    }

    /// Create options with this test's cgroup parent.
    pub fn opts(&self, stdio: ContainerStdio) -> CreateOptions {
        CreateOptions {
            stdio,
            cgroup_parent: Some(self.cgroup_parent.clone()),
            ..Default::default()
        }
    }

    pub fn run(&self, id: &str, cmd: &str) -> (i32, String, String) {
        self.run_spec(id, &self.spec(cmd))
    }
}

/// Whether `pid` has exited: gone, or a zombie waiting for its reaper.
pub fn exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(s) => s
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

/// Container state directories left under the runtime's root (the seccomp cache, a dot
/// directory, is not a container).
pub fn containers_left(rt: &libruntime::Runtime) -> usize {
    std::fs::read_dir(rt.root())
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}
