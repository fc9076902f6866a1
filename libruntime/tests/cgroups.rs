//! cgroups (v1 here): Docker's device allowlist, memory and pids limits, and nothing left
//! after the container is gone.

mod common;

use common::*;

fn cgroup_dir(f: &Fixture, controller: &str, id: &str) -> std::path::PathBuf {
    std::path::Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(&f.cgroup_parent)
        .join(id)
}

/// Without a devices cgroup, root in a container (CAP_MKNOD) could read the host's disk.
#[test]
fn devices_cgroup_denies_raw_disk_access() {
    let f = Fixture::new();
    let (code, out, err) = f.run("devs", "mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda; echo rc=$?; echo ok > /dev/null && echo null-ok");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert_eq!(out, "rc=1\nnull-ok\n");
}

#[test]
fn memory_and_pids_limits_apply_and_the_cgroup_is_removed() {
    let f = Fixture::new();
    let mut spec = f.spec("for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all-started");
    let mut linux = spec.linux().clone().unwrap();
    let mut res = linux.resources().clone().unwrap();
    res.set_memory(Some(
        serde_json::from_value(serde_json::json!({"limit": 64 << 20})).unwrap(),
    ));
    res.set_pids(Some(
        serde_json::from_value(serde_json::json!({"limit": 4})).unwrap(),
    ));
    linux.set_resources(Some(res));
    spec.set_linux(Some(linux));
    let err = f.tmp.path().join("limits.err");
    let stdio = libruntime::ContainerStdio {
        stderr: Some(std::fs::File::create(&err).unwrap().into()),
        ..Default::default()
    };
    let c = f.rt.create("limits", &spec, f.opts(stdio)).unwrap();
    assert_eq!(
        std::fs::read_to_string(cgroup_dir(&f, "memory", "limits").join("memory.limit_in_bytes"))
            .unwrap()
            .trim(),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        std::fs::read_to_string(cgroup_dir(&f, "pids", "limits").join("pids.max"))
            .unwrap()
            .trim(),
        "4"
    );
    let procs =
        std::fs::read_to_string(cgroup_dir(&f, "pids", "limits").join("cgroup.procs")).unwrap();
    assert_eq!(
        procs.trim(),
        c.state().unwrap().pid.to_string(),
        "the init is in the cgroup before start"
    );
    c.start().unwrap();
    let code = c.wait().unwrap();
    let err = std::fs::read_to_string(err).unwrap();
    assert!(
        err.contains("can't fork"),
        "the 5th process must not start: {err}"
    );
    assert_ne!(code, 0);
    c.delete(false).unwrap();
    for ctl in v1_controllers() {
        assert!(
            !ctl.join(&f.cgroup_parent).join("limits").exists(),
            "{} left",
            ctl.display()
        );
    }
}

#[test]
fn resources_translate_from_the_spec() {
    let r: oci_spec::runtime::LinuxResources = serde_json::from_value(serde_json::json!({
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
        "memory": {"limit": 1000, "reservation": 500, "swap": 2000},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 10}
    }))
    .unwrap();
    let c = libruntime::cgroup::resources(&r);
    assert_eq!(c.devices.devices.len(), 2);
    assert!(!c.devices.devices[0].allow);
    assert_eq!(
        (c.devices.devices[1].major, c.devices.devices[1].minor),
        (1, 3)
    );
    assert_eq!(c.memory.memory_hard_limit, Some(1000));
    assert_eq!(c.memory.memory_swap_limit, Some(2000));
    assert_eq!(c.cpu.shares, Some(512));
    assert_eq!(c.cpu.quota, Some(50000));
    assert_eq!(c.cpu.cpus.as_deref(), Some("0"));
}

/// `/sys/fs/cgroup` shows the container its own cgroup as each hierarchy's root (its
/// limits, its processes), read-only, as Docker's containers see it on cgroup v1.
#[test]
fn sys_fs_cgroup_shows_the_containers_own_cgroup_read_only() {
    let f = Fixture::new();
    let mut spec = f.spec(
        "ls /sys/fs/cgroup | tr '\\n' ' '; echo; \
         cat /sys/fs/cgroup/memory/memory.limit_in_bytes; \
         while read p; do echo -n \"$p \"; done < /sys/fs/cgroup/pids/cgroup.procs; echo; \
         echo 1 > /sys/fs/cgroup/pids/pids.max || echo refused; \
         mkdir /sys/fs/cgroup/x || echo refused",
    );
    let mut linux = spec.linux().clone().unwrap();
    let mut res = linux.resources().clone().unwrap();
    res.set_memory(Some(
        serde_json::from_value(serde_json::json!({"limit": 48 << 20})).unwrap(),
    ));
    linux.set_resources(Some(res));
    spec.set_linux(Some(linux));
    let (code, out, err) = f.run_spec("cgview", &spec);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let listed: Vec<&str> = lines[0].split_whitespace().collect();
    for c in ["cpuset", "devices", "freezer", "memory", "pids"] {
        assert!(listed.contains(&c), "{c} missing from {listed:?}");
    }
    // The hybrid layout's v2 part and name=systemd (no cgroup of ours there) are left out.
    assert!(
        !listed.contains(&"unified") && !listed.contains(&"systemd"),
        "{listed:?}"
    );
    assert_eq!(lines[1], (48u64 << 20).to_string());
    assert_eq!(
        lines[2], "1 ",
        "only the container's own process (the shell)"
    );
    assert_eq!(&lines[3..], ["refused", "refused"], "{err}");
}

/// The cgroup v2 device filter (an eBPF program) enforced by the kernel: this machine's
/// hybrid layout has a cgroup2 hierarchy at /sys/fs/cgroup/unified, and the kernel runs
/// device programs of a process's v2 cgroup whatever the v1 controllers say.
#[test]
fn v2_device_filter_allows_exactly_dockers_devices() {
    use std::os::unix::process::CommandExt;
    require_root();
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    assert!(
        unified.join("cgroup.procs").exists(),
        "no cgroup2 hierarchy at {}",
        unified.display()
    );
    let dir = unified.join(format!("libruntime-devfilter-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
        serde_json::from_value(libruntime::spec::default_devices()).unwrap();
    let attached = libruntime::devicefilter::attach(&dir, &rules);
    let procs = dir.join("cgroup.procs");
    let out = attached.as_ref().ok().map(|_| {
        let mut cmd = std::process::Command::new("/bin/busybox");
        cmd.args([
            "sh",
            "-c",
            "echo x > /dev/null && echo null-ok; \
             head -c 1 /dev/kmsg > /dev/null || echo kmsg-denied; \
             mknod \"$0/kmsg\" c 1 11 && echo mknod-ok; \
             head -c 1 \"$0/kmsg\" > /dev/null || echo node-denied",
        ])
        .arg(tmp.path());
        // SAFETY: only a write(2) into the cgroup between fork and exec.
        unsafe {
            cmd.pre_exec(move || std::fs::write(&procs, "0"));
        }
        cmd.output().unwrap()
    });
    let _ = std::fs::remove_dir(&dir);
    attached.unwrap();
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "null-ok\nkmsg-denied\nmknod-ok\nnode-denied\n",
        "{stderr}"
    );
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}
