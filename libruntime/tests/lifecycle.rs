//! Create/start/wait/kill/delete of real containers, exit codes, and that nothing is left.

mod common;

use common::*;
use libruntime::{ErrorKind, Status};

#[test]
fn runs_and_reports_exit_codes() {
    let f = Fixture::new();
    assert_eq!(
        f.run("ok", "echo hello; echo $$"),
        (0, "hello\n1\n".into(), String::new())
    );
    assert_eq!(f.run("three", "exit 3").0, 3);
    let mut spec = f.spec("x");
    let mut p = spec.process().clone().unwrap();
    p.set_args(Some(vec!["nonexistent-program".into()]));
    spec.set_process(Some(p));
    let c =
        f.rt.create("missing", &spec, f.opts(Default::default()))
            .unwrap();
    let e = c.start().unwrap_err();
    assert_eq!(
        e.to_string(),
        "exec: \"nonexistent-program\": executable file not found in $PATH"
    );
    assert_eq!(c.wait().unwrap(), 127);
    assert_eq!(
        c.state().unwrap().error.as_deref(),
        Some(e.to_string().as_str())
    );
    c.delete(false).unwrap();
}

#[test]
fn create_and_start_are_separate_steps() {
    let f = Fixture::new();
    let marker = f.rootfs.join("tmp/ran");
    let c =
        f.rt.create(
            "two-step",
            &f.spec("touch /tmp/ran"),
            f.opts(Default::default()),
        )
        .unwrap();
    let st = c.state().unwrap();
    assert_eq!(st.status, Status::Created);
    assert!(st.pid > 0);
    assert!(
        std::path::Path::new(&format!("/proc/{}", st.pid)).exists(),
        "init waits for start"
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!marker.exists(), "the program must not run before start");
    c.start().unwrap();
    assert_eq!(c.wait().unwrap(), 0);
    assert!(marker.exists());
    assert_eq!(c.start().unwrap_err().kind(), ErrorKind::Conflict);
    c.delete(false).unwrap();
    assert_eq!(
        f.rt.get("two-step").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn kill_gives_128_plus_signal_and_delete_leaves_nothing() {
    let f = Fixture::new();
    let c =
        f.rt.create("sleeper", &f.spec("sleep 100"), f.opts(Default::default()))
            .unwrap();
    c.start().unwrap();
    let st = c.state().unwrap();
    assert_eq!(st.status, Status::Running);
    let (pid, monitor) = (st.pid, st.monitor_pid);
    assert_eq!(c.delete(false).unwrap_err().kind(), ErrorKind::Conflict);
    c.kill(libc::SIGKILL).unwrap();
    assert_eq!(c.wait().unwrap(), 137);
    c.delete(false).unwrap();
    assert!(exited(pid));
    assert!(exited(monitor));
    assert_eq!(containers_left(&f.rt), 0);
    // Mounts lived only in the container's mount namespace.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(f.rootfs.to_str().unwrap()));
}

#[test]
fn delete_of_a_created_container_and_force() {
    let f = Fixture::new();
    let c =
        f.rt.create("never-started", &f.spec("true"), f.opts(Default::default()))
            .unwrap();
    let pid = c.state().unwrap().pid;
    c.delete(false).unwrap();
    assert!(exited(pid));
    let c =
        f.rt.create("forced", &f.spec("sleep 100"), f.opts(Default::default()))
            .unwrap();
    c.start().unwrap();
    c.delete(true).unwrap();
    assert_eq!(containers_left(&f.rt), 0);
}

#[test]
fn duplicate_and_invalid_ids_and_failed_setup_leave_nothing() {
    let f = Fixture::new();
    let c =
        f.rt.create("dup", &f.spec("true"), f.opts(Default::default()))
            .unwrap();
    assert_eq!(
        f.rt.create("dup", &f.spec("true"), f.opts(Default::default()))
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    c.delete(true).unwrap();
    assert_eq!(
        f.rt.create("../x", &f.spec("true"), f.opts(Default::default()))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let mut bad = f.spec("true");
    let mut root = bad.root().clone().unwrap();
    root.set_path("/nonexistent-root".into());
    bad.set_root(Some(root));
    let e =
        f.rt.create("bad-root", &bad, f.opts(Default::default()))
            .unwrap_err();
    assert!(e.to_string().contains("container init failed"), "{e}");
    assert_eq!(containers_left(&f.rt), 0);
}

/// Regression: after a bind mount, the resolved fd path names the object beneath it, so a
/// read-only remount or a propagation change must address the new mount (re-resolved).
#[test]
fn read_only_bind_of_a_file_with_propagation() {
    let f = Fixture::new();
    let host = f.tmp.path().join("host-file");
    std::fs::write(&host, "from host\n").unwrap();
    let mut spec =
        f.spec("cat /data; echo changed > /data 2>/dev/null && echo writable || echo read-only");
    let mut mounts = spec.mounts().clone().unwrap();
    let m: oci_spec::runtime::Mount = serde_json::from_value(serde_json::json!({
        "destination": "/data", "type": "bind", "source": host, "options": ["rbind", "ro", "rprivate"]
    }))
    .unwrap();
    mounts.push(m);
    spec.set_mounts(Some(mounts));
    let (code, out, err) = f.run_spec("robind", &spec);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from host\nread-only\n");
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "from host\n");
}
