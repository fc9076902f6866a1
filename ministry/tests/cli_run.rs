//! `run`, `ps` and `rm` through the binary: real containers from an imported busybox
//! image, Docker's environment, users, exit codes and messages, and nothing left behind.

mod common;

use common::*;

#[test]
fn run_prints_output_and_exits_with_the_containers_code() {
    let m = Ministry::new();
    m.busybox("busybox");
    assert_eq!(
        out(&m.run(&["run", "--rm", "busybox", "echo", "hello"])),
        (Some(0), "hello\n".into(), String::new())
    );
    assert_eq!(
        m.run(&["run", "--rm", "busybox", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );
    let (code, _, err) = out(&m.run(&["run", "--rm", "busybox", "nonexist"]));
    assert_eq!(code, Some(127));
    assert_eq!(err, "ministry: Error response from daemon: exec: \"nonexist\": executable file not found in $PATH\n");
    let (code, _, err) = out(&m.run(&["run", "--rm", "nothere:1", "true"]));
    assert_eq!(code, Some(125));
    // Docker's order: the notice, the pull attempt (no registry is reachable here), the
    // daemon error.
    assert!(
        err.starts_with("Unable to find image 'nothere:1' locally\n"),
        "{err}"
    );
    assert!(
        err.contains("ministry: Error response from daemon: ")
            && err.ends_with("See 'ministry run --help'.\n"),
        "{err}"
    );
    // --rm left nothing: no container, no snapshot beyond the image's layer.
    assert_eq!(m.ok(&["ps", "-aq"]), "");
}

#[test]
fn environment_user_workdir_and_hostname_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    let env = m.ok(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar",
        "-e",
        "PATH=/x:/bin",
        "busybox",
        "env",
    ]);
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines[0], "PATH=/x:/bin");
    assert!(
        lines[1].starts_with("HOSTNAME=") && lines[1].len() == "HOSTNAME=".len() + 12,
        "{env}"
    );
    assert_eq!(&lines[2..], ["FOO=bar", "HOME=/root"]);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "-u",
            "1000:1000",
            "-w",
            "/newdir",
            "busybox",
            "sh",
            "-c",
            "pwd; id; echo $HOME"
        ]),
        "/newdir\nuid=1000 gid=1000 groups=1000\n/\n"
    );
    assert_eq!(
        m.ok(&["run", "--rm", "-u", "nobody", "busybox", "id", "-u"]),
        "65534\n"
    );
    assert_eq!(
        m.ok(&["run", "--rm", "-h", "myhost", "busybox", "hostname"]),
        "myhost\n"
    );
    assert_eq!(
        m.ok(&["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"]),
        "a b\n"
    );
}

#[test]
fn names_ps_and_rm() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&["run", "--name", "web", "busybox", "true"]);
    let (code, _, err) = out(&m.run(&["run", "--name", "web", "busybox", "true"]));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("Conflict. The container name \"/web\" is already in use by container"),
        "{err}"
    );
    let ps = m.ok(&["ps", "-a"]);
    let lines: Vec<&str> = ps.lines().collect();
    assert_eq!(lines[0], "CONTAINER ID   IMAGE     COMMAND   CREATED                  STATUS                              PORTS     NAMES");
    assert!(
        lines[1].contains("busybox   \"true\"")
            && lines[1].contains("Exited (0)")
            && lines[1].ends_with("web"),
        "{ps}"
    );
    assert_eq!(m.ok(&["ps", "-q"]), "", "nothing is running");
    let id = m.ok(&["ps", "-aq"]).trim().to_string();
    assert_eq!(id.len(), 12);
    // A container using the image blocks rmi, as in Docker.
    let (code, _, err) = out(&m.run(&["rmi", "busybox"]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!("container {id} is using its referenced image")),
        "{err}"
    );
    assert_eq!(m.ok(&["rm", "web"]), "web\n");
    let (code, _, err) = out(&m.run(&["rm", "web"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "Error response from daemon: No such container: web\n");
    assert_eq!(m.ok(&["ps", "-aq"]), "");
    assert!(m.ok(&["rmi", "busybox"]).contains("Deleted: sha256:"));
}

#[test]
fn capabilities_privileged_and_security_options() {
    let m = Ministry::new();
    m.busybox("busybox");
    let capeff = |args: &[&str]| {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(args);
        a.extend_from_slice(&[
            "busybox",
            "grep",
            "-E",
            "^(CapEff|Seccomp|NoNewPrivs):",
            "/proc/self/status",
        ]);
        m.ok(&a)
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        capeff(&["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"])[0],
        "CapEff: 0000000000001000"
    );
    assert_eq!(
        capeff(&["--cap-drop", "chown"])[0],
        "CapEff: 00000000a80425fa"
    );
    // Privileged: every capability this machine's bounding set has (Docker fails here:
    // CAP_SYS_RESOURCE is missing), no seccomp.
    let mut bnd = 0u64;
    for l in std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
    {
        if let Some(v) = l.strip_prefix("CapBnd:") {
            bnd = u64::from_str_radix(v.trim(), 16).unwrap();
        }
    }
    let p = capeff(&["--privileged"]);
    assert_eq!(p[0], format!("CapEff: {bnd:016x}"));
    assert_eq!(p[2], "Seccomp: 0");
    let s = capeff(&[
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "seccomp=unconfined",
    ]);
    assert_eq!(
        &s[0..3],
        ["CapEff: 00000000a80425fb", "NoNewPrivs: 1", "Seccomp: 0"]
    );
    // A Docker-format profile file: an allowlist without mkdir.
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]}],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"},{"names":["chmod"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#).unwrap();
    let o = m.ok(&[
        "run",
        "--rm",
        "--security-opt",
        &format!("seccomp={}", profile.display()),
        "busybox",
        "sh",
        "-c",
        "mkdir /x 2>/dev/null; echo mkdir=$?; touch /f; chmod 600 /f; echo chmod=$?",
    ]);
    assert_eq!(
        o, "mkdir=1\nchmod=0\n",
        "the chmod rule only applies with CAP_SYS_ADMIN"
    );
}

#[test]
fn read_only_tmpfs_limits_and_ulimits() {
    let m = Ministry::new();
    m.busybox("busybox");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--read-only",
            "--tmpfs",
            "/run",
            "busybox",
            "sh",
            "-c",
            "touch /x 2>/dev/null; echo rc=$?; touch /run/y && echo run-ok"
        ]),
        "rc=1\nrun-ok\n"
    );
    // The name files follow the root, as Docker's network mounts do.
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--read-only",
            "busybox",
            "sh",
            "-c",
            "for f in hosts hostname resolv.conf; do echo x >> /etc/$f 2>/dev/null; echo $f=$?; done"
        ]),
        "hosts=1\nhostname=1\nresolv.conf=1\n"
    );
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo x >> /etc/hosts; echo $?"
        ]),
        "0\n"
    );
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=1024:2048",
            "--shm-size",
            "1m",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1 | awk '{print $2}'"
        ]),
        "1024\n2048\n1024\n"
    );
    // Limits land in the container's cgroup.
    let id = m
        .ok(&[
            "run",
            "-d",
            "-m",
            "64m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
            "busybox",
            "sleep",
            "30",
        ])
        .trim()
        .to_string();
    let cg = |ctl: &str, file: &str| {
        std::fs::read_to_string(
            std::path::Path::new("/sys/fs/cgroup")
                .join(ctl)
                .join(m.cgroup_parent())
                .join(&id)
                .join(file),
        )
        .unwrap()
        .trim()
        .to_string()
    };
    assert_eq!(
        cg("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(cg("pids", "pids.max"), "50");
    assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
    m.ok(&["rm", "-f", &id]);
    let o = m.run(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=2048:1024",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
}

/// OOMKilled is true (exit 137) for a real OOM kill only, not for any SIGKILL.
#[test]
fn oom_killed_only_for_real_oom_kills() {
    let m = Ministry::new();
    m.busybox("busybox");
    let o = m.run(&[
        "run",
        "--name",
        "oom",
        "-m",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 60000000 /dev/zero | tr '\\0' a); echo survived",
    ]);
    assert_eq!(o.status.code(), Some(137));
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "oom"
        ]),
        "true 137\n"
    );
    m.ok(&["run", "-d", "--name", "k9", "busybox", "sleep", "100"]);
    m.ok(&["kill", "k9"]);
    assert_eq!(m.ok(&["wait", "k9"]), "137\n");
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "k9"
        ]),
        "false 137\n"
    );
    m.ok(&["rm", "oom", "k9"]);
}

#[test]
fn hostname_hosts_and_resolv_conf_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    let out = m.ok(&[
        "run",
        "--rm",
        "-h",
        "myhost",
        "--add-host",
        "db:10.0.0.5",
        "--dns",
        "1.1.1.1",
        "--dns-search",
        "example.com",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hostname /etc/hosts /etc/resolv.conf",
    ]);
    assert_eq!(
        out,
        "myhost\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.0.0.5\tdb\n172.17.0.2\tmyhost\nsearch example.com\nnameserver 1.1.1.1\n"
    );
    let out = m.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname",
    ]);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0].len(), 12);
    assert_eq!(l[0], l[1]);
    assert_eq!(
        m.run(&["run", "--rm", "--add-host", "db:notanip", "busybox", "true"])
            .status
            .code(),
        Some(125)
    );
}

#[test]
fn device_flag_makes_the_node_and_allows_it() {
    let m = Ministry::new();
    m.busybox("busybox");
    // /dev/fuse is not in Docker's default set: without --device the cgroup refuses it.
    let o = m.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "ls /dev/fuse",
    ]);
    assert!(!o.status.success(), "no /dev/fuse by default");
    if !std::path::Path::new("/dev/fuse").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "/dev/fuse is missing on this CI machine"
        );
        return;
    }
    let out = m.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--device",
        "/dev/fuse:/dev/myfuse:rw",
        "busybox",
        "sh",
        "-c",
        "stat -c '%F %t %T %a' /dev/myfuse; echo -n > /dev/myfuse; echo rc=$?",
    ]);
    let mut lines = out.lines();
    // The host node's mode (0600 here), as Docker copies it; compared with Docker 20.10.
    assert_eq!(
        lines.next().unwrap(),
        "character special file a e5 600",
        "{out}"
    );
    assert_eq!(
        lines.next().unwrap(),
        "rc=0",
        "the cgroup lets it be opened: {out}"
    );
    m.ok(&[
        "create",
        "--name",
        "dv",
        "--network",
        "none",
        "--device",
        "/dev/fuse",
        "busybox",
        "true",
    ]);
    assert_eq!(
        m.ok(&["inspect", "-f", "{{json .HostConfig.Devices}}", "dv"]),
        "[{\"PathOnHost\":\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\",\"CgroupPermissions\":\"rwm\"}]\n"
    );
    let o = m.run(&["run", "--rm", "--device", "/dev/nope", "busybox", "true"]);
    // Docker's CLI makes any "no such file or directory" 127.
    assert_eq!(o.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("error gathering device information while adding custom device \"/dev/nope\""));
    let o = m.run(&[
        "run",
        "--rm",
        "--device",
        "/dev/fuse:/etc/fuse",
        "busybox",
        "true",
    ]);
    assert!(!o.status.success(), "device paths stay under /dev");
}

#[test]
fn init_runs_tini_as_pid_1_and_reaps() {
    require_tool("tini-static");
    let m = Ministry::new();
    m.busybox("busybox");
    // PID 1 is the init; the command is its child; an orphan gets reaped (no zombie).
    let out = m.ok(&[
        "run", "--rm", "--init", "--network", "none", "busybox", "sh", "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; (sleep 0.1 &); sleep 0.5; ps -o stat,comm | grep -c '^Z' || true",
    ]);
    let mut lines = out.lines();
    assert_eq!(lines.next().unwrap().trim(), "/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr '\\0' ' '; echo; (sleep 0.1 &); sleep 0.5; ps -o stat,comm | grep -c '^Z' || true");
    assert_eq!(
        lines.next().unwrap(),
        "0",
        "the orphaned sleep was reaped: {out}"
    );
    // A signal reaches the command through the init (sh as PID 1 would ignore SIGTERM).
    m.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "ini",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    let t = std::time::Instant::now();
    m.ok(&["stop", "-t", "10", "ini"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "SIGTERM forwarded, no SIGKILL wait"
    );
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.HostConfig.Init}} {{.Path}}", "ini"]),
        "true sleep\n"
    );
    // The init cannot be written from inside.
    let o = m.run(&[
        "run",
        "--rm",
        "--init",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo x > /sbin/docker-init",
    ]);
    assert!(!o.status.success());
}

#[test]
fn cp_both_ways_inside_the_container_root() {
    let m = Ministry::new();
    m.busybox("busybox");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "hi\n").unwrap();
    std::fs::write(src.join("sub/b"), "deep\n").unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("ln")).unwrap();
    m.ok(&[
        "run", "-d", "--network", "none", "--name", "cpc", "-v", "vol:/vol", "busybox", "sh", "-c",
        "mkdir -p /data/x && echo inside > /data/x/f && ln -s /etc/passwd /data/esc && ln -s / /data/rootlink && touch /ready && sleep 60",
    ]);
    for _ in 0..50 {
        if m.run(&["exec", "cpc", "test", "-f", "/ready"])
            .status
            .success()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // In: a directory into an existing one (under its name), a file under a new name,
    // into a volume.
    m.ok(&["cp", src.to_str().unwrap(), "cpc:/data/"]);
    assert_eq!(
        m.ok(&["exec", "cpc", "cat", "/data/src/sub/b", "/data/src/ln"]),
        "deep\nhi\n"
    );
    assert_eq!(
        m.ok(&["exec", "cpc", "readlink", "/data/src/ln"]),
        "a.txt\n"
    );
    m.ok(&[
        "cp",
        src.join("a.txt").to_str().unwrap(),
        "cpc:/vol/renamed.txt",
    ]);
    assert_eq!(m.ok(&["exec", "cpc", "cat", "/vol/renamed.txt"]), "hi\n");
    // Out: a directory to a new path, a symlink as a symlink, and with -L its target (the
    // container's /etc/passwd, never the host's).
    let out = dir.path().join("out");
    m.ok(&["cp", "cpc:/data/x", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(out.join("f")).unwrap(), "inside\n");
    let esc = dir.path().join("esc");
    m.ok(&["cp", "cpc:/data/esc", esc.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_link(&esc).unwrap(),
        std::path::Path::new("/etc/passwd")
    );
    let esc2 = dir.path().join("esc2");
    m.ok(&["cp", "-L", "cpc:/data/esc", esc2.to_str().unwrap()]);
    let container_passwd = m.ok(&["exec", "cpc", "cat", "/etc/passwd"]);
    assert_eq!(std::fs::read_to_string(&esc2).unwrap(), container_passwd);
    // A symlink to / in the container leads to the container's root, not the host's.
    let marker = format!("ministry-cp-test-{}", std::process::id());
    std::fs::write(dir.path().join(&marker), "x").unwrap();
    m.ok(&[
        "cp",
        dir.path().join(&marker).to_str().unwrap(),
        "cpc:/data/rootlink/tmp/",
    ]);
    assert!(
        !std::path::Path::new("/tmp").join(&marker).exists(),
        "wrote outside the container"
    );
    assert_eq!(
        m.ok(&["exec", "cpc", "cat", &format!("/tmp/{marker}")]),
        "x"
    );
    // Docker's errors.
    let o = m.run(&["cp", "cpc:/nope", dir.path().join("n").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("Could not find the file /nope in container cpc"));
    let o = m.run(&[
        "cp",
        "cpc:/data/x",
        dir.path().join("esc2").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot copy a directory to a file"));
    // A stopped container: out of its snapshot, into its own layer.
    m.ok(&["stop", "-t", "0", "cpc"]);
    let out2 = dir.path().join("out2");
    m.ok(&["cp", "cpc:/data/x", out2.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(out2.join("f")).unwrap(), "inside\n");
    let one = dir.path().join("one");
    m.ok(&["cp", "cpc:/bin/busybox", one.to_str().unwrap()]);
    assert_eq!(
        std::fs::metadata(&one).unwrap().len(),
        std::fs::metadata("/bin/busybox").unwrap().len()
    );
    m.ok(&[
        "cp",
        src.join("a.txt").to_str().unwrap(),
        "cpc:/etc/added.txt",
    ]);
    m.ok(&["cp", src.to_str().unwrap(), "cpc:/srv"]);
    let o = m.run(&["cp", src.join("a.txt").to_str().unwrap(), "cpc:/nodir/x"]);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("Could not find the file /nodir in container cpc"));
    // What went in is in the container's own layer (`diff`), and reads back.
    let diff = m.ok(&["diff", "cpc"]);
    assert!(
        diff.contains("A /etc/added.txt\n") && diff.contains("A /srv\n"),
        "{diff}"
    );
    let back = dir.path().join("back");
    m.ok(&["cp", "cpc:/srv/sub/b", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "deep\n");
    m.ok(&["rm", "-f", "-v", "cpc"]);
}

#[test]
fn tty_from_the_containers_own_devpts_with_size_input_and_exit_code() {
    require_tool("script");
    let m = Ministry::new();
    m.busybox("busybox");
    // `script` gives the CLI a terminal (33 rows, 101 columns).
    let cli = |args: &str| m.in_terminal(args);
    let out = cli("run --rm -t --network none busybox sh -c 'tty; stty size; test -t 0 && echo tty0; echo $TERM; exit 4'")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(text, "/dev/pts/0\n33 101\ntty0\nxterm\n", "{text}");
    assert_eq!(out.status.code(), Some(4), "the container's exit code");
    // -it: what is typed reaches the shell through the terminal.
    let mut child = cli("run --rm -it --network none busybox sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    use std::io::Write;
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"echo typed-$((40+2))\nexit 7\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("\ntyped-42\n"), "{text}");
    assert_eq!(out.status.code(), Some(7), "{text}");
    // Detached with -t: the terminal's output is logged.
    m.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "tt",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "tty; stty size",
    ]);
    assert_eq!(m.ok(&["wait", "tt"]), "0\n");
    assert_eq!(
        m.ok(&["logs", "tt"]).replace('\r', ""),
        "/dev/pts/0\nstty: standard input: No child processes\n",
        "no size without a terminal: Docker 20.10 logs exactly this"
    );
    assert_eq!(m.ok(&["inspect", "-f", "{{.Config.Tty}}", "tt"]), "true\n");
    // exec -t / -it in a running container (compared with Docker 20.10: same lines).
    m.ok(&[
        "run",
        "-d",
        "--name",
        "ex",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    let out = cli("exec -t ex sh -c 'tty; stty size; exit 3'")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        "/dev/pts/0\n33 101\n"
    );
    assert_eq!(out.status.code(), Some(3));
    let mut child = cli("exec -it ex sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"echo typed-$((40+3))\nexit 5\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("\ntyped-43\n"), "{text}");
    assert_eq!(out.status.code(), Some(5), "{text}");
    m.ok(&["rm", "-f", "ex"]);
}

#[test]
fn sig_proxy_forwards_signals_to_the_container() {
    let m = Ministry::new();
    m.busybox("busybox");
    let script = "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done";
    let mut cli = m
        .cmd()
        .args([
            "run",
            "--name",
            "sp",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            script,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(cli.stdout.take().unwrap());
    let mut line = String::new();
    use std::io::BufRead;
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: signalling our own child (the CLI).
    unsafe { libc::kill(cli.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let st = cli.wait().unwrap();
    assert_eq!(rest, "got-term\n");
    assert_eq!(st.code(), Some(9), "the CLI ends with the container's code");
    // --sig-proxy=false: the signal is the CLI's own; the container keeps running.
    let mut cli = m
        .cmd()
        .args([
            "run",
            "--sig-proxy=false",
            "--name",
            "sp2",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            script,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(cli.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(cli.id() as i32, libc::SIGTERM) };
    let st = cli.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&st),
        Some(libc::SIGTERM)
    );
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.Running}}", "sp2"]),
        "true\n"
    );
    m.ok(&["rm", "-f", "sp", "sp2"]);
    // The CLI blocks the signals it proxies; the container never inherits that.
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "grep",
            "SigBlk",
            "/proc/self/status"
        ]),
        "SigBlk:\t0000000000000000\n"
    );
}

#[test]
fn attach_streams_output_takes_input_and_detaches() {
    require_tool("script");
    let m = Ministry::new();
    m.busybox("busybox");
    // Output of a running container from the time of attaching; the exit code at the end.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "ticks",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; for i in 1 2 3; do echo tick$i; echo err$i >&2; sleep 0.1; done; exit 6",
    ]);
    let o = m.run(&["attach", "ticks"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "tick1\ntick2\ntick3\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err1\nerr2\nerr3\n");
    assert_eq!(o.status.code(), Some(6));
    let o = m.run(&["attach", "ticks"]);
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("You cannot attach to a stopped container, start it first"));
    // A terminal: typing reaches the shell; Ctrl-P Ctrl-Q leaves it running.
    m.ok(&[
        "run",
        "-dit",
        "--name",
        "sh1",
        "--network",
        "none",
        "busybox",
        "sh",
    ]);
    let mut child = m
        .in_terminal("attach sh1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    use std::io::Write;
    let stdin = child.stdin.as_mut().unwrap();
    stdin.write_all(b"echo attached-$((2+2))\n").unwrap();
    // Attaching gave the container's terminal this one's size (it had none: -d).
    stdin.write_all(b"stty size\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    stdin.write_all(b"\x10\x11").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("\nattached-4\n"), "{text}");
    assert!(text.contains("\n33 101\n"), "{text}");
    assert!(text.contains("read escape sequence"), "{text}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.Running}}", "sh1"]),
        "true\n"
    );
    m.ok(&["rm", "-f", "sh1", "ticks"]);
}

#[test]
fn namespaced_sysctls_only() {
    let m = Ministry::new();
    m.busybox("busybox");
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--sysctl",
            "kernel.shmmax=123456",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "busybox",
            "cat",
            "/proc/sys/kernel/shmmax",
            "/proc/sys/net/ipv4/ip_forward",
        ]),
        "123456\n1\n"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap(),
        host,
        "the host's value is untouched"
    );
    // Docker's refusal (its 28.x CLI's words) for a sysctl of no container namespace.
    let o = m.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--sysctl",
        "vm.swappiness=1",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid argument \"vm.swappiness=1\" for \"--sysctl\" flag: sysctl 'vm.swappiness=1' is not allowed"));
    // net.* with the host's network would change the host.
    let o = m.run(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--sysctl",
        "net.ipv4.ip_forward=0",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn attach_flag_picks_streams_and_stop_timeout_is_the_default_wait() {
    let m = Ministry::new();
    m.busybox("busybox");
    let both = "echo out; echo err >&2";
    assert_eq!(
        out(&m.run(&["run", "--rm", "-a", "stdout", "busybox", "sh", "-c", both])),
        (Some(0), "out\n".into(), String::new())
    );
    assert_eq!(
        out(&m.run(&["run", "--rm", "-a", "STDERR", "busybox", "sh", "-c", both])),
        (Some(0), String::new(), "err\n".into())
    );
    let (code, _, err) = out(&m.run(&["run", "-d", "-a", "stdout", "busybox", "true"]));
    assert_eq!(code, Some(1), "Docker's CLI exits 1 here");
    assert!(
        err.contains("conflicting options: cannot specify both --attach and --detach"),
        "{err}"
    );
    let (code, _, err) = out(&m.run(&["run", "-a", "bogus", "busybox", "true"]));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("valid streams are STDIN, STDOUT and STDERR"),
        "{err}"
    );

    // sh as PID 1 ignores SIGTERM: stop waits the container's --stop-timeout, not 10 s.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "quick",
        "--stop-timeout",
        "1",
        "busybox",
        "sleep",
        "100",
    ]);
    assert_eq!(
        m.ok(&["inspect", "-f", "{{json .Config.StopTimeout}}", "quick"]),
        "1\n"
    );
    let t = std::time::Instant::now();
    m.ok(&["stop", "quick"]);
    let took = t.elapsed();
    assert!(took >= std::time::Duration::from_secs(1), "{took:?}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.ExitCode}}", "quick"]),
        "137\n"
    );
}

/// `cp` with `-`: a tar stream out (named as Docker names the entries) and in (unpacked by
/// the hardened extractor: an archive cannot write outside the destination).
#[test]
fn cp_tar_streams_both_ways() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /d/sub; echo a > /d/a; echo b > /d/sub/b; ln -s a /d/l; sleep 100",
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let list = |args: &[&str]| -> Vec<String> {
        let o = m.run(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut names: Vec<String> = tar::Archive::new(&o.stdout[..])
            .entries()
            .unwrap()
            .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
            .collect();
        names.sort();
        names
    };
    // The first command may run before the shell made /d.
    m.until_ok(&["exec", "box", "test", "-L", "/d/l"]);
    assert_eq!(
        list(&["cp", "box:/d", "-"]),
        ["d/", "d/a", "d/l", "d/sub/", "d/sub/b"]
    );
    assert_eq!(
        list(&["cp", "box:/d/.", "-"]),
        ["./", "./a", "./l", "./sub/", "./sub/b"]
    );
    assert_eq!(list(&["cp", "box:/d/a", "-"]), ["a"]);
    // A name longer than a tar header holds travels as a GNU long name.
    let long = "n".repeat(150);
    m.ok(&["exec", "box", "touch", &format!("/d/sub/{long}")]);
    assert!(list(&["cp", "box:/d/sub", "-"]).contains(&format!("sub/{long}")));
    m.ok(&["exec", "box", "rm", &format!("/d/sub/{long}")]);
    let o = m.run(&["cp", "box:/nope", "-"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("Could not find the file /nope in container box"));

    // In: a directory tree into /d.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_data(&mut h, "x/z", &b"z\n"[..]).unwrap();
    let good = tmp.path().join("good.tar");
    std::fs::write(&good, b.into_inner().unwrap()).unwrap();
    m.ok_stdin(&["cp", "-", "box:/d"], &good);
    assert_eq!(m.ok(&["exec", "box", "cat", "/d/x/z"]), "z\n");
    let o = m.run(&["cp", "-", "box:/d/a"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("destination \"box:/d/a\" must be a directory")
    );

    // Hostile: a symlink to / and then a file through it; `..` in a name.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_link(&mut h, "up", "/").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    let escape = tmp.path().join("escaped");
    let through = format!("up{}", escape.display());
    h.as_gnu_mut().unwrap().name[..through.len()].copy_from_slice(through.as_bytes());
    h.set_cksum();
    b.append(&h, &b"evil\n"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    let dotdot = b"../../../../../../../../tmp/ministry-cp-dotdot";
    h.as_gnu_mut().unwrap().name[..dotdot.len()].copy_from_slice(dotdot);
    h.set_cksum();
    b.append(&h, &b"evil\n"[..]).unwrap();
    let bad = tmp.path().join("bad.tar");
    std::fs::write(&bad, b.into_inner().unwrap()).unwrap();
    let _ = m.run_stdin(&["cp", "-", "box:/d"], &bad);
    assert!(
        !escape.exists(),
        "a symlink in the archive led out of the container"
    );
    assert!(!std::path::Path::new("/tmp/ministry-cp-dotdot").exists());

    // A stopped container: its own layer.
    m.ok(&["stop", "-t", "0", "box"]);
    m.ok_stdin(&["cp", "-", "box:/d/sub"], &good);
    assert_eq!(
        list(&["cp", "box:/d/sub", "-"]),
        ["sub/", "sub/b", "sub/x/", "sub/x/z"]
    );
    m.ok(&["rm", "box"]);
}

/// The terminal resized while `run -it` or `exec -it` runs: the container's terminal
/// follows (the CLI tells the monitor; the exec helper follows its own terminal) and the
/// program gets SIGWINCH.
#[test]
fn window_size_follows_the_terminal() {
    require_tool("script");
    let m = Ministry::new();
    m.busybox("busybox");
    // (A background job's stdin is /dev/null; `timeout` bounds a test that fails.)
    let resize_later = "(sleep 1; stty rows 50 cols 140 < /dev/tty) & timeout --foreground 30";
    let program = "sh -c \"trap 'stty size; exit 0' WINCH; while :; do sleep 0.05; done\"";
    let run = |args: &str| {
        let o = m
            .in_terminal_after(resize_later, args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).replace('\r', ""),
        )
    };
    let (code, text) = run(&format!("run --rm -it --network none busybox {program}"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("50 140"), "{text}");
    m.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "win",
        "--network",
        "none",
        "busybox",
        "sleep",
        "100",
    ]);
    let (code, text) = run(&format!("exec -it win {program}"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("50 140"), "{text}");
    m.ok(&["rm", "-f", "win"]);
}

/// Owners as Docker 20.10 gives them, with or without `-a`: into a container the host
/// files' own, out of one the copying user's.
#[test]
fn cp_owners_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("f"), "x\n").unwrap();
    for p in [&d, &d.join("f")] {
        std::os::unix::fs::lchown(p, Some(1234), Some(4321)).unwrap();
    }
    m.ok(&[
        "run",
        "-d",
        "--name",
        "own",
        "busybox",
        "sh",
        "-c",
        "mkdir /o; echo y > /o/g; chown -R 777:888 /o; sleep 100",
    ]);
    let dest = |s: &str| format!("own:{s}");
    m.ok(&["cp", d.to_str().unwrap(), &dest("/in")]);
    m.ok(&["cp", "-a", d.join("f").to_str().unwrap(), &dest("/f1")]);
    assert_eq!(
        m.ok(&["exec", "own", "stat", "-c", "%u:%g", "/in", "/in/f", "/f1"]),
        "1234:4321\n1234:4321\n1234:4321\n"
    );
    m.until_ok(&["exec", "own", "test", "-f", "/o/g"]);
    let out = tmp.path().join("out");
    m.ok(&["cp", &dest("/o"), out.to_str().unwrap()]);
    let meta = std::fs::metadata(out.join("g")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    m.ok(&["rm", "-f", "own"]);
}

/// `exec --privileged`: every capability this machine allows (Docker's fails on this host,
/// whose bounding set lacks CAP_SYS_RESOURCE; ministry's must not), for root; a bounding
/// set only for another user.
#[test]
fn exec_privileged_gets_every_capability_the_machine_allows() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&["run", "-d", "--name", "px", "busybox", "sleep", "100"]);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let host_bnd = status
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let cap = |args: &[&str], field: &str| {
        let mut a = vec!["exec"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["px", "grep", field, "/proc/self/status"]);
        m.ok(&a).split_whitespace().nth(1).unwrap().to_string()
    };
    assert_eq!(
        cap(&[], "CapEff"),
        "00000000a80425fb",
        "Docker's default set"
    );
    assert_eq!(cap(&["--privileged"], "CapEff"), host_bnd);
    assert_eq!(
        cap(&["--privileged", "-u", "1000"], "CapEff"),
        "0000000000000000"
    );
    assert_eq!(cap(&["--privileged", "-u", "1000"], "CapBnd"), host_bnd);
    m.ok(&["rm", "-f", "px"]);
}
