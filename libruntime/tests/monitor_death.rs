//! Issue 18: a container whose monitor was killed (`kill -9`) stayed "running" for ever
//! and its processes and cgroup were never cleaned up.

mod common;

use common::*;
use libruntime::{ContainerStdio, Status};
use oci_spec::runtime::LinuxNamespaceType;
use std::time::{Duration, Instant};

fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Without a PID namespace the init's death does not take its other processes along:
/// once the monitor is found dead, they are killed through the cgroup (each checked to
/// be a member through a pidfd), the cgroup is deleted, the exit recorded as 137.
#[test]
fn dead_monitor_leaves_no_process_or_cgroup_even_without_a_pid_namespace() {
    let f = Fixture::new();
    let mut spec = f.spec("sleep 1000 & exec sleep 1000");
    let mut linux = spec.linux().clone().unwrap();
    let ns: Vec<_> = linux
        .namespaces()
        .clone()
        .unwrap()
        .into_iter()
        .filter(|n| n.typ() != LinuxNamespaceType::Pid)
        .collect();
    linux.set_namespaces(Some(ns));
    spec.set_linux(Some(linux));
    let c =
        f.rt.create("orphaned", &spec, f.opts(ContainerStdio::default()))
            .unwrap();
    c.start().unwrap();
    let cgroup = std::path::Path::new("/sys/fs/cgroup/pids")
        .join(&f.cgroup_parent)
        .join("orphaned");
    let procs = || -> Vec<i32> {
        std::fs::read_to_string(cgroup.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    };
    until("both sleeps in the cgroup", || procs().len() == 2);
    let members = procs();
    let st = c.state().unwrap();
    assert_eq!(st.status, Status::Running);
    // SAFETY: kill has no memory preconditions; the monitor's PID was just read.
    assert_eq!(unsafe { libc::kill(st.monitor_pid, libc::SIGKILL) }, 0);
    until("the monitor dies", || exited(st.monitor_pid));
    let st = c.state().unwrap();
    assert_eq!(
        (st.status, st.exit_code, st.pid),
        (Status::Stopped, Some(137), 0)
    );
    for p in members {
        assert!(exited(p), "{p} of the container still runs");
    }
    assert!(!cgroup.exists(), "the cgroup is left");
    c.delete(false).unwrap();
    assert_eq!(containers_left(&f.rt), 0);
}
