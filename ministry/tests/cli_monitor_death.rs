//! Issue 18: a container whose monitor process was killed (`kill -9`) used to stay "Up"
//! for ever: `stop` failed with "is running: cannot wait", `rm` refused, `rm -f` leaked
//! the cgroup, and once the PIDs were reused `kill`/`stop`/`rm -f` signalled unrelated
//! processes. A dead monitor is now noticed (PID and start time checked together) and the
//! container reported as exited with 137.
//!
//! This binary makes itself a child subreaper, so the orphaned monitors and inits are its
//! children and can be reaped: their PIDs then become free for reuse (this machine's PID 1
//! reaps nothing), and the reuse test takes exactly those PIDs with `clone3(set_tid)`.

mod common;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn become_subreaper() {
    // SAFETY: prctl with valid arguments; affects only orphans of our descendants.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
}

/// Field `n` (1-based, as in proc(5)) of `/proc/PID/stat`; `None` if the process is gone.
fn stat_field(pid: i32, n: usize) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3).map(str::to_string)
}

/// Whether `pid` is gone or a zombie.
fn dead(pid: i32) -> bool {
    stat_field(pid, 3).is_none_or(|s| s == "Z")
}

/// Reaps `pid` if it is our child (we are a subreaper), once it exited.
fn reap(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dead(pid) {
        assert!(Instant::now() < deadline, "{pid} did not die");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut status = 0;
    // SAFETY: waitpid on a PID; fails harmlessly if it is not our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

fn kill9(pid: i32) {
    // SAFETY: kill has no memory preconditions; the PID is one the test just looked up.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
}

/// The container's init PID and its monitor's (the init's parent).
fn init_and_monitor(m: &Ministry, name: &str) -> (i32, i32) {
    let init: i32 = m
        .ok(&["inspect", "-f", "{{.State.Pid}}", name])
        .trim()
        .parse()
        .unwrap();
    assert!(init > 0);
    let monitor: i32 = stat_field(init, 4).unwrap().parse().unwrap();
    assert!(
        std::fs::read_link(format!("/proc/{monitor}/exe")).is_ok(),
        "no monitor {monitor}"
    );
    (init, monitor)
}

fn cgroup_dir(m: &Ministry, id: &str) -> std::path::PathBuf {
    Path::new("/sys/fs/cgroup/memory")
        .join(m.cgroup_parent())
        .join(id)
}

/// `sleep 1000` started with exactly PID `pid` (`clone3` with `set_tid`), reused after
/// the container's process that had it was reaped.
fn impostor(pid: i32) -> i32 {
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    let tid: libc::pid_t = pid;
    let args = CloneArgs {
        exit_signal: libc::SIGCHLD as u64,
        set_tid: &tid as *const libc::pid_t as u64,
        set_tid_size: 1,
        ..Default::default()
    };
    let prog = c"/bin/sleep";
    let argv = [c"sleep".as_ptr(), c"1000".as_ptr(), std::ptr::null()];
    // SAFETY: clone3 as fork: the child only calls execv and _exit (async-signal-safe),
    // with arguments prepared before.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r == 0 {
        // SAFETY: see above.
        unsafe {
            libc::execv(prog.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    assert_eq!(
        r,
        pid as libc::c_long,
        "clone3 with set_tid {pid}: {}",
        std::io::Error::last_os_error()
    );
    pid
}

#[test]
fn killed_monitor_is_noticed_reported_exited_and_stop_start_rm_work() {
    let m = Ministry::new();
    become_subreaper();
    m.busybox("busybox");
    let id = m
        .ok(&["run", "-d", "--name", "lost", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let (init, monitor) = init_and_monitor(&m, "lost");
    assert!(cgroup_dir(&m, &id).is_dir());
    kill9(monitor);
    reap(monitor);
    // Its init still runs without a monitor: killed through the cgroup, reported exited.
    assert_eq!(
        m.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>(),
        ["lost", "Exited", "(137)"]
    );
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}",
            "lost"
        ]),
        "exited false 137 0\n"
    );
    reap(init);
    assert!(
        !cgroup_dir(&m, &id).exists(),
        "the cgroup of the dead container is left"
    );
    // stop of an exited container succeeds, start runs it again under a new monitor.
    m.ok(&["stop", "lost"]);
    m.ok(&["start", "lost"]);
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.Status}}", "lost"]),
        "running\n"
    );
    let (_, monitor2) = init_and_monitor(&m, "lost");
    assert_ne!(monitor2, monitor);
    // Once more, then rm (without -f) of the exited container works and leaves nothing.
    kill9(monitor2);
    reap(monitor2);
    m.ok(&["rm", "lost"]);
    assert!(!cgroup_dir(&m, &id).exists());
    assert_eq!(m.ok(&["ps", "-aq"]), "");
}

#[test]
fn reused_pids_of_a_container_with_a_dead_monitor_are_never_signalled() {
    let m = Ministry::new();
    become_subreaper();
    m.busybox("busybox");
    let id = m
        .ok(&["run", "-d", "--name", "reuse", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let (init, monitor) = init_and_monitor(&m, "reuse");
    // Both die before any ministry command looks, and their PIDs go to other programs.
    kill9(monitor);
    reap(monitor);
    kill9(init);
    reap(init);
    let others = [impostor(init), impostor(monitor)];
    let (code, _, err) = out(&m.run(&["kill", "reuse"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not running"), "{err}");
    m.ok(&["stop", "reuse"]);
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "reuse"
        ]),
        "exited 137\n"
    );
    m.ok(&["rm", "-f", "reuse"]);
    for p in others {
        assert!(
            !dead(p),
            "ministry signalled {p}, which is no longer its process"
        );
        kill9(p);
        reap(p);
    }
    assert!(!cgroup_dir(&m, &id).exists());
}
