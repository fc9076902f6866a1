//! Docker's defaults as an OCI runtime `Spec`: mounts, capabilities, masked and read-only
//! paths, namespaces.

use oci_spec::runtime::Spec;
use serde_json::json;

use crate::caps::DOCKER_DEFAULT;
use crate::error::{Error, Result};

/// Paths masked in every container (SECURITY.md).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths made read-only in every container.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's device cgroup rules (SECURITY.md): deny everything, then allow read, write and
/// mknod of null, zero, full, random, urandom, tty, console, ptmx and the pty slaves, and
/// mknod (only) of any character or block device.
pub fn default_devices() -> serde_json::Value {
    let c = |major: i64, minor: i64| json!({"allow": true, "type": "c", "major": major, "minor": minor, "access": "rwm"});
    json!([
        {"allow": false, "access": "rwm"},
        c(1, 3), c(1, 5), c(1, 7), c(1, 8), c(1, 9), c(5, 0), c(5, 1), c(5, 2),
        {"allow": true, "type": "c", "major": 136, "access": "rwm"},
        {"allow": true, "type": "c", "access": "m"},
        {"allow": true, "type": "b", "access": "m"}
    ])
}

/// The spec Docker gives `docker run --network none IMAGE ARGS...`: Docker's mounts
/// (`/proc`, `/dev` tmpfs, `/dev/pts`, `/dev/shm` 64 MiB, `/dev/mqueue`, `/sys` read-only),
/// its 14 capabilities in the bounding, effective and permitted sets (inheritable and
/// ambient empty), masked and read-only paths, and new pid, mount, ipc, uts and network
/// namespaces. `rootfs` is the root directory; `args` the program and its arguments.
pub fn docker_default(rootfs: &str, args: &[String]) -> Result<Spec> {
    let caps = DOCKER_DEFAULT.to_vec();
    let v = json!({
        "ociVersion": "1.0.2",
        "root": { "path": rootfs, "readonly": false },
        "hostname": "",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
                "inheritable": [], "ambient": []
            },
            "noNewPrivileges": false
        },
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
            { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"] }
        ],
        "linux": {
            "namespaces": [
                { "type": "mount" }, { "type": "network" }, { "type": "uts" }, { "type": "pid" }, { "type": "ipc" }
            ],
            "resources": { "devices": default_devices() },
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS
        }
    });
    let mut spec: Spec = serde_json::from_value(v)
        .map_err(|e| Error::InvalidArgument(format!("default spec: {e}")))?;
    let caps: Vec<String> = DOCKER_DEFAULT.iter().map(|s| s.to_string()).collect();
    let mut linux = spec.linux().clone().unwrap_or_default();
    linux.set_seccomp(Some(crate::seccomp::default_profile(&caps)?));
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// Runs the process as `uid:gid` with `groups`, as Docker does for `--user`: a non-root
/// user keeps the bounding set but gets empty effective, permitted, inheritable and
/// ambient sets (SECURITY.md: CapEff = CapPrm = 0).
pub fn set_user(spec: &mut Spec, uid: u32, gid: u32, groups: Vec<u32>) -> Result<()> {
    let mut process = spec.process().clone().unwrap_or_default();
    let mut user = process.user().clone();
    user.set_uid(uid);
    user.set_gid(gid);
    user.set_additional_gids((!groups.is_empty()).then_some(groups));
    process.set_user(user);
    if uid != 0 {
        if let Some(mut caps) = process.capabilities().clone() {
            caps.set_effective(Some(Default::default()));
            caps.set_permitted(Some(Default::default()));
            caps.set_inheritable(Some(Default::default()));
            caps.set_ambient(Some(Default::default()));
            process.set_capabilities(Some(caps));
        }
    }
    spec.set_process(Some(process));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_has_dockers_defaults() {
        let s = docker_default("/r", &["sh".into()]).unwrap();
        let p = s.process().as_ref().unwrap();
        assert_eq!(
            p.capabilities()
                .as_ref()
                .unwrap()
                .bounding()
                .as_ref()
                .unwrap()
                .len(),
            14
        );
        let dests: Vec<String> = s
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert_eq!(
            s.linux()
                .as_ref()
                .unwrap()
                .masked_paths()
                .as_ref()
                .unwrap()
                .len(),
            11
        );
    }
}
