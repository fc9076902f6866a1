//! SECURITY.md's runtime defaults and bug classes, one regression test each.

mod common;

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;

use common::*;
use libruntime::spec::set_user;

fn cap_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("Cap"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn default_capabilities_are_exactly_dockers() {
    let f = Fixture::new();
    let (code, out, _) = f.run("caps", "cat /proc/self/status");
    assert_eq!(code, 0);
    assert_eq!(
        cap_lines(&out),
        vec![
            "CapInh: 0000000000000000",
            "CapPrm: 00000000a80425fb",
            "CapEff: 00000000a80425fb",
            "CapBnd: 00000000a80425fb",
            "CapAmb: 0000000000000000"
        ]
    );
}

#[test]
fn non_root_user_has_no_effective_or_permitted_capabilities() {
    let f = Fixture::new();
    let mut spec = f.spec("id; cat /proc/self/status");
    set_user(&mut spec, 1000, 1000, vec![10]).unwrap();
    let (code, out, err) = f.run_spec("user", &spec);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("uid=1000 gid=1000 groups=10"), "{out}");
    assert_eq!(
        cap_lines(&out),
        vec![
            "CapInh: 0000000000000000",
            "CapPrm: 0000000000000000",
            "CapEff: 0000000000000000",
            "CapBnd: 00000000a80425fb",
            "CapAmb: 0000000000000000"
        ]
    );
}

#[test]
fn masked_and_read_only_paths_are_exact() {
    let f = Fixture::new();
    let script = r#"
        for p in /proc/kcore /proc/keys /proc/timer_list; do printf "%s:%s\n" $p $(wc -c < $p); done
        printf "firmware:%s\n" $(ls -A /sys/firmware | wc -l)
        echo x > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable || echo sysrq-readonly
        echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo sys-writable || echo sys-readonly
        grep -E " /(proc/(bus|fs|irq|sys)|sys) " /proc/self/mountinfo | awk '{print $5, $6}'
    "#;
    // Masks apply to the paths this kernel has (it has no /proc/kcore, for one).
    let present: Vec<&str> = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    let script = script.replace(
        "/proc/kcore /proc/keys /proc/timer_list",
        &present.join(" "),
    );
    let (code, out, err) = f.run("masks", &script);
    assert_eq!(code, 0, "{err}");
    let mut expect: Vec<String> = present.iter().map(|p| format!("{p}:0")).collect();
    expect.extend(["firmware:0", "sysrq-readonly", "sys-readonly"].map(String::from));
    for l in &expect {
        assert!(out.lines().any(|x| x == l), "missing {l:?} in {out}");
    }
    for p in ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/sys"] {
        assert!(
            out.lines().any(|x| x.starts_with(&format!("{p} ro"))),
            "{p} not read-only: {out}"
        );
    }
}

/// runc CVE-2019-5736: the processes of ours that enter the container (its monitor and,
/// until start, its init) run from a read-only view of the helper (a detached read-only
/// bind mount, or a sealed memfd), so `/proc/PID/exe` cannot be opened for writing: not
/// while they run, and not through an `O_PATH` fd kept until they are gone (the attack's
/// second step, when "text file busy" no longer protects the file).
#[test]
fn cve_2019_5736_proc_self_exe_cannot_be_written() {
    let f = Fixture::new();
    let c =
        f.rt.create("exe", &f.spec("true"), f.opts(Default::default()))
            .unwrap();
    let st = c.state().unwrap();
    // (This runtime's own helper mounts: tests running meanwhile attach theirs briefly.)
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let ours = format!("{}/.helper-", f.rt.root().display());
    assert!(
        !mounts.lines().any(|l| l.contains(&ours)),
        "the helper's mount is detached once started"
    );
    let mut kept = Vec::new();
    for pid in [st.pid, st.monitor_pid] {
        let p = CString::new(format!("/proc/{pid}/exe")).unwrap();
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        assert!(fd < 0, "/proc/{pid}/exe opened for writing");
        // SAFETY: valid C string.
        let pathfd = unsafe { libc::open(p.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        assert!(pathfd >= 0);
        // What it points at is read-only (a read-only mount) or sealed (a memfd).
        let link = std::fs::read_link(format!("/proc/self/fd/{pathfd}")).unwrap();
        // SAFETY: fstatvfs on our fd into a zeroed struct.
        let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstatvfs(pathfd, &mut sv) }, 0);
        assert!(
            sv.f_flag & libc::ST_RDONLY != 0
                || link
                    .to_string_lossy()
                    .starts_with("/memfd:libruntime-helper"),
            "{pid}: {} is neither read-only nor a sealed copy",
            link.display()
        );
        kept.push(pathfd);
    }
    c.delete(true).unwrap();
    // Our processes are gone: nothing is "busy" any more; reopening still fails.
    for pathfd in kept {
        let again = CString::new(format!("/proc/self/fd/{pathfd}")).unwrap();
        // SAFETY: valid C string.
        let w = unsafe { libc::open(again.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        let err = std::io::Error::last_os_error();
        assert!(w < 0, "reopened the helper for writing after exit");
        // EROFS (read-only mount) or EPERM (sealed); ETXTBSY while another test still
        // runs the same helper binary (the kernel checks that first).
        assert!(
            matches!(
                err.raw_os_error(),
                Some(libc::EROFS) | Some(libc::EPERM) | Some(libc::ETXTBSY)
            ),
            "{err}"
        );
        // SAFETY: our fd.
        unsafe { libc::close(pathfd) };
    }
}

/// Opens a host directory WITHOUT close-on-exec, as a careless embedding program might.
fn leak_dir(path: &std::path::Path) -> i32 {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid C string; the fd is deliberately leaked for the test's duration.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    assert!(fd >= 0);
    // A high number, without close-on-exec (fds 0-3 are replaced by the spawn itself).
    // SAFETY: F_DUPFD on our fd gives a new fd >= 200 that does not close on exec.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD, 200) };
    // SAFETY: our fd.
    unsafe { libc::close(fd) };
    assert!(high >= 200);
    high
}

/// runc CVE-2024-21626: no fd of ours reaches the container's program.
#[test]
fn cve_2024_21626_no_fd_leaks_into_the_container() {
    let f = Fixture::new();
    let host = f.tmp.path().join("host-secret-dir");
    std::fs::create_dir(&host).unwrap();
    let fd = leak_dir(&host);
    let (code, out, err) = f.run("fds", "ls -l /proc/self/fd/; ls /proc/self/fd | wc -l");
    // SAFETY: our fd.
    unsafe { libc::close(fd) };
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("host-secret-dir"), "{out}");
    // 0, 1, 2 and the directory fd ls itself opened.
    assert_eq!(out.lines().last(), Some("4"), "{out}");
}

/// runc CVE-2024-21626: a working directory of /proc/self/fd/N (a leaked host fd) must not
/// let the program start outside the root.
#[test]
fn cve_2024_21626_cwd_through_proc_self_fd_is_refused() {
    let f = Fixture::new();
    let host = f.tmp.path().join("host-cwd");
    std::fs::create_dir(&host).unwrap();
    let fd = leak_dir(&host);
    let mut spec = f.spec("touch escaped");
    let mut p = spec.process().clone().unwrap();
    p.set_cwd(format!("/proc/self/fd/{fd}").into());
    spec.set_process(Some(p));
    let c =
        f.rt.create("cwd", &spec, f.opts(Default::default()))
            .unwrap();
    let e = c.start().unwrap_err();
    // SAFETY: our fd.
    unsafe { libc::close(fd) };
    assert!(e.to_string().contains("outside the container"), "{e}");
    assert_eq!(c.wait().unwrap(), 126);
    c.delete(false).unwrap();
    assert!(!host.join("escaped").exists());
}

/// runc CVE-2021-30465 class: a mount destination that is a symlink in the image resolves
/// inside the root, never to the host path it names.
#[test]
fn cve_2021_30465_mount_destination_resolves_inside_the_root() {
    let f = Fixture::new();
    let host = f.tmp.path().join("host-target");
    std::fs::create_dir(&host).unwrap();
    std::os::unix::fs::symlink(&host, f.rootfs.join("evil")).unwrap();
    let mut spec = f.spec("grep ' tmpfs ' /proc/self/mountinfo | awk '{print $5}'; ls /evil/");
    let mut mounts = spec.mounts().clone().unwrap();
    let mut m = oci_spec::runtime::Mount::default();
    m.set_destination("/evil".into());
    m.set_typ(Some("tmpfs".into()));
    m.set_source(Some("tmpfs".into()));
    mounts.push(m);
    spec.set_mounts(Some(mounts));
    let (code, out, err) = f.run_spec("dest", &spec);
    assert_eq!(code, 0, "{err}");
    // The tmpfs sits at the symlink's target *inside* the root.
    assert!(out.lines().any(|l| l == host.to_str().unwrap()), "{out}");
    assert!(f.rootfs.join(host.strip_prefix("/").unwrap()).is_dir());
    // The host directory was never a mount point.
    assert_eq!(
        std::fs::metadata(&host).unwrap().dev(),
        std::fs::metadata(f.tmp.path()).unwrap().dev()
    );
}

/// An image whose /proc or /dev is a symlink is refused (SECURITY.md).
#[test]
fn image_with_symlinked_proc_or_dev_is_refused() {
    for dir in ["proc", "dev"] {
        let f = Fixture::new();
        std::fs::remove_dir(f.rootfs.join(dir)).unwrap();
        std::os::unix::fs::symlink("/etc", f.rootfs.join(dir)).unwrap();
        let e =
            f.rt.create("symlinked", &f.spec("true"), f.opts(Default::default()))
                .unwrap_err();
        assert!(e.to_string().contains("symlink"), "{dir}: {e}");
        assert_eq!(containers_left(&f.rt), 0);
    }
}

/// rlimits are lowered or kept, never raised above the caller's hard limit (this machine
/// has no CAP_SYS_RESOURCE; raising would fail the container).
#[test]
fn rlimits_are_never_raised() {
    let f = Fixture::new();
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
    let mut spec = f.spec("ulimit -Hn; ulimit -Sn; ulimit -Hu");
    let mut p = spec.process().clone().unwrap();
    let rl = |typ, n| {
        serde_json::from_value::<oci_spec::runtime::PosixRlimit>(
            serde_json::json!({"type": typ, "hard": n, "soft": n}),
        )
        .unwrap()
    };
    p.set_rlimits(Some(vec![
        rl("RLIMIT_NOFILE", cur.rlim_max + 1_000_000),
        rl("RLIMIT_NPROC", 77),
    ]));
    spec.set_process(Some(p));
    let (code, out, err) = f.run_spec("rlimits", &spec);
    assert_eq!(code, 0, "{err}");
    let v: Vec<&str> = out.lines().collect();
    assert_eq!(
        v,
        vec![
            cur.rlim_max.to_string().as_str(),
            cur.rlim_max.to_string().as_str(),
            "77"
        ]
    );
}

/// The default seccomp profile is in force: mount and namespace syscalls are refused
/// without CAP_SYS_ADMIN (the CVE-2022-0492 release_agent route needs mount), ordinary
/// programs run.
#[test]
fn default_seccomp_profile_refuses_mount_and_unshare() {
    let f = Fixture::new();
    let (code, out, err) = f.run("seccomp", "grep ^Seccomp: /proc/self/status; unshare -m true 2>/dev/null; echo unshare=$?; mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?; ls / > /dev/null && echo ls=0");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().map(|l| l.trim()).collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["Seccomp:", "2"]
    );
    assert_eq!(&lines[1..], ["unshare=1", "mount=1", "ls=0"]);
}

#[test]
fn unconfined_has_no_filter() {
    let f = Fixture::new();
    let mut spec = f.spec("grep ^Seccomp: /proc/self/status");
    let mut linux = spec.linux().clone().unwrap();
    linux.set_seccomp(None);
    spec.set_linux(Some(linux));
    let (code, out, _) = f.run_spec("unconfined", &spec);
    assert_eq!(code, 0);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["Seccomp:", "0"]
    );
}

/// The filter covers the x86 and x32 sub-ABIs too: a 32-bit or x32 syscall cannot bypass it.
#[test]
fn seccomp_filter_covers_x86_and_x32() {
    let caps: Vec<String> = libruntime::caps::DOCKER_DEFAULT
        .iter()
        .map(|s| s.to_string())
        .collect();
    let filter =
        libruntime::seccomp::compile(&libruntime::seccomp::default_profile(&caps).unwrap())
            .unwrap();
    let tmp = tempfile::tempfile().unwrap();
    filter.export_pfc(&tmp).unwrap();
    use std::io::{Read, Seek};
    let mut tmp = tmp;
    tmp.rewind().unwrap();
    let mut pfc = String::new();
    tmp.read_to_string(&mut pfc).unwrap();
    for arch in ["x86_64", "x86", "x32"] {
        assert!(
            pfc.contains(&format!("# filter for arch {arch} ")),
            "no filter for {arch}"
        );
    }
    assert!(
        pfc.contains("action ERRNO(1)"),
        "default action must be EPERM"
    );
}
