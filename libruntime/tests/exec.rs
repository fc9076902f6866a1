//! exec in a running container: its namespaces, cgroup, capabilities and seccomp filter,
//! the exit code, Docker's 126 for a program that cannot start.

mod common;

use common::*;
use libruntime::{ContainerStdio, ErrorKind};

fn exec_out(f: &Fixture, c: &libruntime::Container, args: &[&str]) -> (i32, String, String) {
    let mut p = c.spec().unwrap().process().clone().unwrap();
    p.set_args(Some(args.iter().map(|s| s.to_string()).collect()));
    let out = f.tmp.path().join("exec.out");
    let err = f.tmp.path().join("exec.err");
    let stdio = ContainerStdio {
        stdin: None,
        stdout: Some(std::fs::File::create(&out).unwrap().into()),
        stderr: Some(std::fs::File::create(&err).unwrap().into()),
    };
    let code = c.exec(f.rt.helper(), &p, stdio, false).unwrap();
    (
        code,
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(err).unwrap(),
    )
}

#[test]
fn exec_joins_namespaces_cgroup_and_security() {
    let f = Fixture::new();
    let mut spec = f.spec("echo marker > /tmp/m; sleep 100");
    spec.set_hostname(Some("exhost".into()));
    let c =
        f.rt.create("ex", &spec, f.opts(Default::default()))
            .unwrap();
    c.start().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let init = c.state().unwrap().pid;
    let (code, out, err) = exec_out(&f, &c, &["sh", "-c", "cat /tmp/m; echo pid=$$; hostname; grep -E '^(CapEff|Seccomp):' /proc/self/status; grep pids /proc/self/cgroup; ls /proc | grep -c '^[0-9]'"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "marker", "same mount namespace and root");
    assert_ne!(lines[1], "pid=1");
    let pid: u32 = lines[1].trim_start_matches("pid=").parse().unwrap();
    assert!(pid < 100, "a PID of the container's namespace: {pid}");
    assert_eq!(lines[2], "exhost", "the container's UTS namespace");
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["CapEff:", "00000000a80425fb"]
    );
    assert_eq!(
        lines[4].split_whitespace().collect::<Vec<_>>(),
        ["Seccomp:", "2"]
    );
    assert!(
        lines[5].ends_with(&format!("/{}/ex", f.cgroup_parent)),
        "{}",
        lines[5]
    );
    // The container's own /proc: only its processes (init, sleep... and ours).
    let procs: u32 = lines[6].parse().unwrap();
    assert!(procs < 10, "{procs} processes visible");
    assert!(std::path::Path::new(&format!("/proc/{init}")).exists());
    assert_eq!(exec_out(&f, &c, &["sh", "-c", "exit 5"]).0, 5);
    // Docker shows the refusal on the exec's stdout.
    let (code, out, _) = exec_out(&f, &c, &["nonexistent"]);
    assert_eq!(code, 126);
    assert!(
        out.contains("exec: \"nonexistent\": executable file not found in $PATH"),
        "{out}"
    );
    c.kill(libc::SIGKILL).unwrap();
    c.wait().unwrap();
    let p = c.spec().unwrap().process().clone().unwrap();
    assert_eq!(
        c.exec(f.rt.helper(), &p, ContainerStdio::default(), false)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    c.delete(false).unwrap();
}
