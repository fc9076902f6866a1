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
