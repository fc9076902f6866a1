//! Restart policies: the monitor runs the program again in fresh namespaces (a new PID
//! namespace each time) but the same network namespace and cgroup, with Docker's backoff,
//! and never after a stop on purpose.

mod common;

use std::time::{Duration, Instant};

use common::*;
use libruntime::{CreateOptions, RestartPolicy, Status};

fn create(f: &Fixture, id: &str, cmd: &str, restart: RestartPolicy) -> libruntime::Container {
    let c =
        f.rt.create(
            id,
            &f.spec(cmd),
            CreateOptions {
                restart,
                ..f.opts(Default::default())
            },
        )
        .unwrap();
    c.start().unwrap();
    c
}

/// Waits until `cond` holds for the state (at most 20 s).
fn until(
    c: &libruntime::Container,
    cond: impl Fn(&libruntime::State) -> bool,
) -> libruntime::State {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = c.state().unwrap();
        if cond(&st) {
            return st;
        }
        assert!(Instant::now() < deadline, "state never came: {st:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the file has `n` lines (at most 20 s); returns them.
fn lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let l: Vec<String> = text.lines().map(str::to_string).collect();
        if l.len() >= n {
            return l;
        }
        assert!(Instant::now() < deadline, "{} has {l:?}", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn on_failure_runs_again_at_most_n_times_each_in_a_fresh_pid_namespace() {
    let f = Fixture::new();
    let c = create(
        &f,
        "on-failure",
        "echo $$ >> /tmp/runs; exit 3",
        RestartPolicy::OnFailure { max_retries: 2 },
    );
    let monitor = c.state().unwrap().monitor_pid;
    // wait() returns at each exit, as Docker's does.
    assert_eq!(c.wait().unwrap(), 3);
    let st = until(&c, |s| s.status == Status::Stopped);
    assert!(
        exited(monitor) || {
            std::thread::sleep(Duration::from_millis(100));
            exited(monitor)
        }
    );
    assert_eq!(st.restart_count, 2);
    assert_eq!(st.exit_code, Some(3));
    // Three runs, each the first process of its own PID namespace.
    assert_eq!(
        std::fs::read_to_string(f.rootfs.join("tmp/runs")).unwrap(),
        "1\n1\n1\n"
    );
    c.delete(false).unwrap();
    assert_eq!(containers_left(&f.rt), 0);

    // A success is not a failure: no restart.
    let c = create(
        &f,
        "on-failure-ok",
        "exit 0",
        RestartPolicy::OnFailure { max_retries: 0 },
    );
    assert_eq!(c.wait().unwrap(), 0);
    let st = until(&c, |s| s.status == Status::Stopped);
    assert_eq!(st.restart_count, 0);
    c.delete(false).unwrap();
}

#[test]
fn always_keeps_the_network_namespace_and_stops_when_cancelled() {
    let f = Fixture::new();
    let c = create(
        &f,
        "always",
        "readlink /proc/self/ns/net >> /tmp/netns; hostname >> /tmp/uts; hostname changed; sleep 100",
        RestartPolicy::Always,
    );
    let first = until(&c, |s| s.status == Status::Running);
    lines(&f.rootfs.join("tmp/uts"), 1);
    c.kill(libc::SIGKILL).unwrap();
    assert_eq!(c.wait().unwrap(), 137);
    let second = until(&c, |s| s.status == Status::Running && s.restart_count == 1);
    assert_ne!(first.pid, second.pid);
    assert!(exited(first.pid));
    let nets = lines(&f.rootfs.join("tmp/netns"), 2);
    assert_eq!(nets[0], nets[1], "a restart keeps the network namespace");
    let uts = lines(&f.rootfs.join("tmp/uts"), 2);
    assert_eq!(
        uts[0], uts[1],
        "other namespaces are fresh (the hostname set in the first is gone)"
    );
    assert_ne!(uts[0], "changed");
    // A stop on purpose: the exit is final.
    c.cancel_restart().unwrap();
    c.kill(libc::SIGKILL).unwrap();
    let st = until(&c, |s| s.status == Status::Stopped);
    assert_eq!(st.restart_count, 1);
    assert_eq!(st.exit_code, Some(137));
    c.delete(false).unwrap();
    assert_eq!(containers_left(&f.rt), 0);
    for dir in v1_controllers() {
        assert!(
            !dir.join(&f.cgroup_parent).join("always").exists(),
            "cgroup left in {}",
            dir.display()
        );
    }
}

#[test]
fn backoff_shows_restarting_and_a_cancel_ends_the_wait() {
    let f = Fixture::new();
    let c = create(&f, "crashloop", "exit 1", RestartPolicy::Always);
    // 100, 200, 400 ms...: after three restarts the wait is long enough to be seen.
    let st = until(&c, |s| {
        s.status == Status::Restarting && s.restart_count >= 3
    });
    assert_eq!(st.pid, 0);
    assert_eq!(st.exit_code, Some(1));
    assert!(
        c.kill(libc::SIGKILL).is_err(),
        "nothing runs while restarting"
    );
    let t = Instant::now();
    c.cancel_restart().unwrap();
    let st = until(&c, |s| s.status == Status::Stopped);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(st.exit_code, Some(1));
    c.delete(false).unwrap();

    // A forced delete of a crash-looping container stops the loop.
    let c = create(&f, "crashloop2", "exit 2", RestartPolicy::Always);
    until(&c, |s| s.restart_count >= 1);
    c.delete(true).unwrap();
    assert_eq!(containers_left(&f.rt), 0);
}

#[test]
fn a_policy_set_later_applies_at_the_next_exit() {
    let f = Fixture::new();
    let c = create(
        &f,
        "updated",
        "echo run >> /tmp/runs; sleep 100",
        RestartPolicy::No,
    );
    until(&c, |s| s.status == Status::Running);
    lines(&f.rootfs.join("tmp/runs"), 1);
    c.set_restart_policy(RestartPolicy::OnFailure { max_retries: 1 })
        .unwrap();
    c.kill(libc::SIGKILL).unwrap();
    until(&c, |s| s.status == Status::Running && s.restart_count == 1);
    lines(&f.rootfs.join("tmp/runs"), 2);
    c.kill(libc::SIGKILL).unwrap();
    let st = until(&c, |s| s.status == Status::Stopped);
    assert_eq!(st.restart_count, 1);
    assert_eq!(
        std::fs::read_to_string(f.rootfs.join("tmp/runs")).unwrap(),
        "run\nrun\n"
    );
    c.delete(false).unwrap();
}
