//! Detached containers and their lifecycle through the binary: run -d, logs (-f -t
//! --tail), stop, kill, start (-a), create, wait, inspect; log rotation.

mod common;

use common::*;
use std::process::Command;

#[test]
fn one_character_names_are_refused_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    let (code, _, err) = out(&m.run(&["create", "--name", "s", "busybox", "true"]));
    // Docker's `create` exits 1 for the daemon's refusals (`run` exits 125).
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Invalid container name (s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
        "{err}"
    );
}

#[test]
fn detach_logs_wait_and_inspect() {
    let m = Ministry::new();
    m.busybox("busybox");
    let id = m
        .ok(&[
            "run",
            "-d",
            "--name",
            "bg",
            "busybox",
            "sh",
            "-c",
            "echo one; echo two >&2; sleep 0.3; echo three",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(m.ok(&["wait", "bg"]), "0\n");
    let (code, stdout, stderr) = out(&m.run(&["logs", "bg"]));
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (Some(0), "one\nthree\n", "two\n")
    );
    assert_eq!(m.ok(&["logs", "--tail", "1", "bg"]), "three\n");
    let ts = m.ok(&["logs", "-t", "--tail", "1", "bg"]);
    assert!(
        ts.ends_with("Z three\n") && ts.len() == "2026-11-22T08:45:05.855210796Z three\n".len(),
        "{ts}"
    );
    let insp: serde_json::Value = serde_json::from_str(&m.ok(&["inspect", "bg"])).unwrap();
    let c = &insp[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Name"], "/bg");
    assert_eq!(c["Path"], "sh");
    assert_eq!(c["State"]["Status"], "exited");
    assert_eq!(c["State"]["ExitCode"], 0);
    assert_eq!(c["State"]["Running"], false);
    assert!(c["State"]["FinishedAt"].as_str().unwrap() > c["State"]["StartedAt"].as_str().unwrap());
    assert_eq!(c["Config"]["Image"], "busybox");
    // Images are still inspected by the same command.
    assert!(m.ok(&["inspect", "busybox"]).contains("\"RootFS\""));
}

#[test]
fn logs_follow_sees_every_line_until_exit() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--name",
        "follow",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done",
    ]);
    assert_eq!(
        m.ok(&["logs", "-f", "follow"]),
        "line 1\nline 2\nline 3\nline 4\nline 5\n"
    );
}

#[test]
fn stop_kill_and_restart() {
    let m = Ministry::new();
    m.busybox("busybox");
    // sh as PID 1 ignores SIGTERM, as in Docker: stop falls back to SIGKILL after -t.
    m.ok(&["run", "-d", "--name", "s1", "busybox", "sleep", "100"]);
    let t = std::time::Instant::now();
    assert_eq!(m.ok(&["stop", "-t", "1", "s1"]), "s1\n");
    assert!(t.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(m.ok(&["wait", "s1"]), "137\n");
    // A program that handles SIGTERM exits at once.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "t1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 42' TERM; while true; do sleep 0.1; done",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    m.ok(&["stop", "t1"]);
    assert_eq!(m.ok(&["wait", "t1"]), "42\n");
    // PID 1 of a namespace only gets signals it handles (and KILL/STOP), as in Docker.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "k1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 3' USR1; while true; do sleep 0.1; done",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(m.ok(&["kill", "-s", "USR1", "k1"]), "k1\n");
    assert_eq!(m.ok(&["wait", "k1"]), "3\n");
    let (code, _, err) = out(&m.run(&["kill", "k1"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("is not running"), "{err}");
    // start -a of a stopped container runs it again and shows only the new output.
    m.ok(&["run", "--name", "again", "busybox", "sh", "-c", "echo run"]);
    assert_eq!(
        out(&m.run(&["start", "-a", "again"])),
        (Some(0), "run\n".into(), String::new())
    );
    assert_eq!(m.ok(&["logs", "again"]), "run\nrun\n");
    // create + start -a.
    let cid = m
        .ok(&["create", "busybox", "sh", "-c", "echo created; exit 4"])
        .trim()
        .to_string();
    assert_eq!(
        out(&m.run(&["start", "-a", &cid])),
        (Some(4), "created\n".into(), String::new())
    );
    m.ok(&["rm", "s1", "t1", "k1", "again", &cid]);
    assert_eq!(m.ok(&["ps", "-aq"]), "");
}

#[test]
fn log_rotation_keeps_max_file() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=2",
        "--name",
        "rr",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done",
    ]);
    let logs = m.ok(&["logs", "rr"]);
    assert!(logs.ends_with("line 199\n"), "the newest lines are kept");
    assert!(!logs.contains("line 0\n"), "the oldest are rotated away");
    let first: usize = logs
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("line ")
        .parse()
        .unwrap();
    let n = logs.lines().count();
    assert_eq!(first + n, 200, "no gap inside what is kept: {first} + {n}");
}

#[test]
fn exec_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&["run", "-d", "--name", "ex", "busybox", "sleep", "100"]);
    assert_eq!(
        m.ok(&[
            "exec",
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "-u",
            "1000",
            "ex",
            "sh",
            "-c",
            "echo $FOO; pwd; id"
        ]),
        "bar\n/tmp\nuid=1000 gid=0(root) groups=0(root)\n"
    );
    assert_eq!(
        m.run(&["exec", "ex", "sh", "-c", "exit 5"]).status.code(),
        Some(5)
    );
    // Docker shows the runtime's refusal on the exec's stdout.
    let (code, stdout, _) = out(&m.run(&["exec", "ex", "nonexist"]));
    assert_eq!(code, Some(126));
    assert_eq!(stdout, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nonexist\": executable file not found in $PATH: unknown\n");
    m.ok(&["exec", "-d", "ex", "sh", "-c", "echo detached > /tmp/d"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(m.ok(&["exec", "ex", "cat", "/tmp/d"]), "detached\n");
    m.ok(&["rm", "-f", "ex"]);
    let (code, _, err) = out(&m.run(&["exec", "ex", "true"]));
    assert_eq!(code, Some(1));
    assert_eq!(err, "Error response from daemon: No such container: ex\n");
}

#[test]
fn pause_and_unpause_freeze_the_container() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--name",
        "pz",
        "busybox",
        "sh",
        "-c",
        "while true; do date +%s%N > /tmp/t; sleep 0.05; done",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(m.ok(&["pause", "pz"]), "pz\n");
    assert!(m.ok(&["ps"]).contains("(Paused)"));
    let insp: serde_json::Value = serde_json::from_str(&m.ok(&["inspect", "pz"])).unwrap();
    assert_eq!(insp[0]["State"]["Status"], "paused");
    assert_eq!(insp[0]["State"]["Paused"], true);
    let (code, _, err) = out(&m.run(&["pause", "pz"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("is already paused"), "{err}");
    // Frozen: the loop does not advance (its cgroup's freezer.state says so too).
    let id = m.ok(&["ps", "-q", "--no-trunc"]).trim().to_string();
    let freezer = std::path::Path::new("/sys/fs/cgroup/freezer")
        .join(m.cgroup_parent())
        .join(&id)
        .join("freezer.state");
    assert_eq!(std::fs::read_to_string(&freezer).unwrap().trim(), "FROZEN");
    assert_eq!(m.ok(&["unpause", "pz"]), "pz\n");
    assert_eq!(m.ok(&["exec", "pz", "true"]), "");
    assert!(!m.ok(&["ps"]).contains("(Paused)"));
    let (code, _, err) = out(&m.run(&["unpause", "pz"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("is not paused"), "{err}");
    m.ok(&["rm", "-f", "pz"]);
}

#[test]
fn diff_export_and_rename() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "--name",
        "differ",
        "busybox",
        "sh",
        "-c",
        "echo x > /newfile; rm /etc/group; mkdir -p /tmp/d",
    ]);
    assert_eq!(
        m.ok(&["diff", "differ"]),
        "C /etc\nD /etc/group\nA /newfile\nC /tmp\nA /tmp/d\n"
    );
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("fs.tar");
    m.ok(&["export", "-o", tar.to_str().unwrap(), "differ"]);
    let list = sh(Command::new("tar").arg("tf").arg(&tar));
    assert!(list.lines().any(|l| l == "newfile") && list.lines().any(|l| l == "bin/busybox"));
    assert!(!list.lines().any(|l| l == "etc/group"));
    m.ok(&["rename", "differ", "differ2"]);
    assert!(m
        .ok(&["ps", "-a"])
        .lines()
        .nth(1)
        .unwrap()
        .ends_with("differ2"));
    let (code, _, err) = out(&m.run(&["rename", "differ", "x2"]));
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "Error response from daemon: No such container: differ\nError: failed to rename container named differ\n"
    );
    m.ok(&["run", "--name", "other", "busybox", "true"]);
    let (_, _, err) = out(&m.run(&["rename", "differ2", "other"]));
    assert!(
        err.contains("Conflict. The container name \"/other\" is already in use"),
        "{err}"
    );
    m.ok(&["rm", "differ2", "other"]);
}

#[test]
fn format_templates_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&["run", "--name", "tp", "-e", "A=1", "busybox", "true"]);
    assert_eq!(m.ok(&["inspect", "-f", "{{.Config.Cmd}}|{{.State.ExitCode}}|{{.State.Running}}|{{json .Config.Cmd}}|{{join .Config.Cmd \",\"}}|{{upper .Name}}|{{.Config.Cmd | json}}", "tp"]), "[true]|0|false|[\"true\"]|true|/TP|[\"true\"]\n");
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{index .Config.Env 0}} {{json .Config.Env}}",
            "tp"
        ]),
        "A=1 [\"A=1\"]\n",
        "Config.Env as Docker records it: no HOSTNAME, no HOME"
    );
    assert_eq!(
        m.run(&["inspect", "-f", "{{.Nope}}", "tp"]).status.code(),
        Some(1)
    );
    assert!(m
        .ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}} {{.Image}}"])
        .starts_with("tp Exited (0) "));
    assert_eq!(
        m.ok(&["ps", "-a", "--format", "table {{.Names}}\\t{{.Image}}"]),
        "NAMES     IMAGE\ntp        busybox\n"
    );
    let id = m.ok(&["images", "-q"]).trim().to_string();
    assert_eq!(
        m.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
        format!("busybox:latest {id}\n")
    );
    assert_eq!(
        m.ok(&["images", "--format", "table {{.Repository}}\\t{{.ID}}"]),
        format!("REPOSITORY   IMAGE ID\nbusybox      {id}\n")
    );
    m.ok(&["rm", "tp"]);
}

#[test]
fn top_and_stats() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--name",
        "tx",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "sleep 100 & sleep 200",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let top = m.ok(&["top", "tx"]);
    let lines: Vec<&str> = top.lines().collect();
    assert!(
        lines[0].starts_with("UID                 PID                 PPID"),
        "{top}"
    );
    assert_eq!(lines.len(), 3, "only the container's two processes: {top}");
    assert!(lines[1..].iter().all(|l| l.contains("sleep")), "{top}");
    let stats = m.ok(&["stats", "--no-stream", "tx"]);
    let row = stats.lines().nth(1).unwrap();
    assert!(
        stats.starts_with("CONTAINER ID   NAME      CPU %"),
        "{stats}"
    );
    assert!(row.contains(" / 64MiB") && row.ends_with("2"), "{stats}");
    m.ok(&["rm", "-f", "tx"]);
}

#[test]
fn ps_filters_last_and_columns_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&["run", "--name", "ok0", "busybox", "true"]);
    let _ = m.run(&["run", "--name", "fail3", "busybox", "sh", "-c", "exit 3"]);
    m.ok(&[
        "run",
        "-d",
        "--name",
        "up1",
        "-l",
        "tier=web",
        "--expose",
        "443",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    m.ok(&["create", "--name", "new1", "busybox", "true"]);
    let names = |args: &[&str]| {
        let mut a = vec!["ps", "--format", "{{.Names}}"];
        a.extend_from_slice(args);
        m.ok(&a)
    };
    assert_eq!(names(&[]), "up1\n");
    assert_eq!(names(&["-a"]), "new1\nup1\nfail3\nok0\n");
    assert_eq!(names(&["-l"]), "new1\n", "-l: the latest, any state");
    assert_eq!(names(&["-n", "2"]), "new1\nup1\n");
    assert_eq!(
        names(&["-f", "status=exited"]),
        "fail3\nok0\n",
        "status implies -a"
    );
    assert_eq!(names(&["-a", "-f", "exited=3"]), "fail3\n");
    assert_eq!(
        names(&["-f", "exited=3"]),
        "",
        "exited does not imply -a (Docker)"
    );
    assert_eq!(names(&["-a", "-f", "status=created"]), "new1\n");
    assert_eq!(names(&["-a", "-f", "label=tier=web"]), "up1\n");
    assert_eq!(
        names(&["-a", "-f", "name=o", "-f", "name=new"]),
        "new1\nok0\n",
        "same key: or"
    );
    assert_eq!(
        names(&["-a", "-f", "name=o", "-f", "status=exited"]),
        "ok0\n",
        "keys: and"
    );
    assert_eq!(names(&["-a", "-f", "before=up1"]), "fail3\nok0\n");
    assert_eq!(names(&["-a", "-f", "since=fail3"]), "new1\nup1\n");
    assert_eq!(
        names(&["-a", "-f", "ancestor=busybox", "-f", "network=none"]),
        "up1\n"
    );
    assert_eq!(names(&["-a", "-f", "expose=443"]), "up1\n");
    assert_eq!(
        m.ok(&["ps", "--format", "{{.Ports}}|{{.Labels}}|{{.Networks}}"]),
        "443/tcp|tier=web|none\n"
    );
    let o = m.run(&["ps", "-f", "bogus=1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Invalid filter 'bogus'"));
    let o = m.run(&["ps", "-f", "status=nope"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("Invalid filter 'status=nope'"));
}

#[test]
fn commit_restart_env_file_and_cidfile() {
    let m = Ministry::new();
    m.busybox("busybox");
    // commit: the container's changes (a new file, a deletion) as a layer on its image,
    // author, message and --change recorded; the container keeps running (paused meanwhile).
    m.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "cmt1",
        "busybox",
        "sh",
        "-c",
        "echo hello > /greeting; rm /bin/vi; sleep 60",
    ]);
    for _ in 0..50 {
        if m.run(&["exec", "cmt1", "test", "-f", "/greeting"])
            .status
            .success()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let id = m
        .ok(&[
            "commit",
            "-a",
            "Me <me@example.com>",
            "-m",
            "add greeting",
            "-c",
            "CMD [\"cat\", \"/greeting\"]",
            "cmt1",
            "greet:v1",
        ])
        .trim()
        .to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.Status}}", "cmt1"]),
        "running\n"
    );
    assert_eq!(
        m.ok(&["run", "--rm", "--network", "none", "greet:v1"]),
        "hello\n"
    );
    let o = m.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "greet:v1",
        "ls",
        "/bin/vi",
    ]);
    assert!(!o.status.success(), "the deletion is in the layer");
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.Author}}|{{json .Config.Cmd}}|{{len .RootFS.Layers}}",
            "greet:v1"
        ]),
        "Me <me@example.com>|[\"cat\",\"/greeting\"]|2\n"
    );
    let hist = m.ok(&["history", "--format", "{{.Comment}}", "greet:v1"]);
    assert!(hist.starts_with("add greeting\n"), "{hist}");
    let o = m.run(&["commit", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such container: nope"));

    // restart: a new start of the same container (the name is printed, as Docker does).
    let started = m.ok(&["inspect", "-f", "{{.State.StartedAt}}", "cmt1"]);
    assert_eq!(m.ok(&["restart", "-t", "1", "cmt1"]), "cmt1\n");
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.Status}}", "cmt1"]),
        "running\n"
    );
    assert_ne!(
        m.ok(&["inspect", "-f", "{{.State.StartedAt}}", "cmt1"]),
        started
    );
    // Docker's events for it: the stop's, the new start, then `restart`.
    let ev = m.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "container=cmt1",
        "--format",
        "{{.Action}}",
    ]);
    assert!(ev.ends_with("\ndie\nstop\nstart\nrestart\n"), "{ev}");
    m.ok(&["rm", "-f", "cmt1"]);

    // --env-file: KEY=VALUE, KEY (from the caller), comments; -e wins.
    let dir = tempfile::tempdir().unwrap();
    let envf = dir.path().join("env");
    std::fs::write(
        &envf,
        "# a comment\nA=1\n\nB=two words\nFROM_HOST\nUNSET_HERE\nC=3\n",
    )
    .unwrap();
    let out = m
        .cmd()
        .env("FROM_HOST", "yes")
        .env_remove("UNSET_HERE")
        .args(["run", "--rm", "--network", "none", "--env-file"])
        .arg(&envf)
        .args([
            "-e",
            "C=override",
            "busybox",
            "sh",
            "-c",
            "echo \"$A|$B|$FROM_HOST|${UNSET_HERE-unset}|$C\"",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1|two words|yes|unset|override\n"
    );
    std::fs::write(&envf, "BAD KEY=1\n").unwrap();
    let o = m.run(&[
        "run",
        "--rm",
        "--env-file",
        envf.to_str().unwrap(),
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));

    // --cidfile: the ID written; an existing file refused before anything is created.
    let cid = dir.path().join("cid");
    let id = m
        .ok(&[
            "create",
            "--network",
            "none",
            "--cidfile",
            cid.to_str().unwrap(),
            "busybox",
            "true",
        ])
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id);
    let o = m.run(&[
        "run",
        "--rm",
        "--cidfile",
        cid.to_str().unwrap(),
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Container ID file found"));
    assert_eq!(
        m.ok(&["ps", "-aq"]).lines().count(),
        1,
        "nothing was created"
    );
    let cid2 = dir.path().join("cid2");
    let o = m.run(&[
        "run",
        "--rm",
        "--cidfile",
        cid2.to_str().unwrap(),
        "nosuchimage:x",
        "true",
    ]);
    assert!(!o.status.success());
    assert!(
        !cid2.exists(),
        "removed when the container could not be made"
    );
}

#[test]
fn events_past_and_live_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.0;
    let _ = m.run(&[
        "run",
        "--name",
        "evt",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    m.ok(&["rm", "evt"]);
    let until = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            + 0.5
    );
    let since = format!("{t0}");
    // Past events: Docker's sequence and text form (compared with Docker 20.10).
    let text = m.ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "-f",
        "type=container",
    ]);
    let actions: Vec<&str> = text.lines().map(|l| l.split(' ').nth(2).unwrap()).collect();
    assert_eq!(actions, ["create", "start", "die", "destroy"], "{text}");
    let die = text.lines().nth(2).unwrap();
    assert!(
        die.ends_with("(exitCode=3, image=busybox, name=evt)"),
        "{die}"
    );
    assert!(die.split(' ').next().unwrap().ends_with('Z'));
    assert_eq!(
        m.ok(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "-f",
            "event=die",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.exitCode}} {{.from}}",
        ]),
        "container die 3 busybox\n"
    );
    // Live: a follower sees a new container's events as they happen.
    let mut follower = m
        .cmd()
        .args([
            "events",
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}}",
            "-f",
            "container=live",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    m.ok(&[
        "run",
        "--rm",
        "--name",
        "live",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    let out = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(out).lines() {
            let l = l.unwrap();
            let done = l.starts_with("destroy");
            tx.send(l).unwrap();
            if done {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(l) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        let done = l.starts_with("destroy");
        seen.push(l);
        if done {
            break;
        }
    }
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert_eq!(
        seen,
        ["create live", "start live", "die live", "destroy live"]
    );
    let o = m.run(&["events", "-f", "bogus=1", "--until", "0"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("Invalid filter 'bogus'"));
}

#[test]
fn info_system_df_and_prune() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "up",
        "busybox",
        "sleep",
        "60",
    ]);
    m.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "done",
        "busybox",
        "sh",
        "-c",
        "echo x > /f",
    ]);
    m.ok(&["volume", "create", "v1"]);
    assert_eq!(
        m.ok(&[
            "info",
            "--format",
            "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.OSType}}"
        ]),
        "2 1 1 1 linux\n"
    );
    let info = m.ok(&["info"]);
    assert!(
        info.contains(
            "\nServer:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n"
        ),
        "{info}"
    );
    assert!(info.contains(" Docker Root Dir: "), "{info}");
    let df = m.ok(&["system", "df"]);
    let lines: Vec<&str> = df.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    );
    assert!(
        lines[1].starts_with("Images          1         1         "),
        "{df}"
    );
    // The stopped container's layer (the 2-byte /f) is all that can be reclaimed.
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["Containers", "2", "1", "2B", "2B", "(100%)"],
        "{df}"
    );
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["Local", "Volumes", "1", "0", "0B", "0B"],
        "{df}"
    );
    assert_eq!(
        m.ok(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]),
        "Images=1\nContainers=2\nLocal Volumes=1\nBuild Cache=0\n"
    );
    let done = m.ok(&["inspect", "-f", "{{.Id}}", "done"]);
    let out = m.ok(&["system", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Containers:\n{done}\n")),
        "{out}"
    );
    assert!(out.ends_with("Total reclaimed space: 2B\n"), "{out}");
    assert_eq!(m.ok(&["ps", "-a", "--format", "{{.Names}}"]), "up\n");
    assert_eq!(
        m.ok(&["images", "-q"]).lines().count(),
        1,
        "the used image stays"
    );
    assert_eq!(m.ok(&["volume", "ls", "-q"]), "v1\n", "named volumes stay");
}

#[test]
fn update_changes_limits_of_a_running_container() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "upd",
        "-m",
        "64m",
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(
        m.ok(&[
            "update",
            "-m",
            "96m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "-c",
            "512",
            "upd"
        ]),
        "upd\n"
    );
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}", "upd"]),
        format!("{} 500000000 50 512\n", 96 << 20)
    );
    // The cgroup itself changed (cgroup v1 here; v2 file names otherwise).
    let cg = m.ok(&["exec", "upd", "cat", "/proc/self/cgroup"]);
    let mem_line = cg
        .lines()
        .find(|l| l.contains(":memory:"))
        .or_else(|| cg.lines().find(|l| l.starts_with("0::")));
    let rel = mem_line.unwrap().rsplit(':').next().unwrap().to_string();
    let v1 = std::path::Path::new("/sys/fs/cgroup/memory").join(rel.trim_start_matches('/'));
    if v1.join("memory.limit_in_bytes").exists() {
        assert_eq!(
            std::fs::read_to_string(v1.join("memory.limit_in_bytes"))
                .unwrap()
                .trim(),
            (96u64 << 20).to_string()
        );
        let pids = std::path::Path::new("/sys/fs/cgroup/pids")
            .join(rel.trim_start_matches('/'))
            .join("pids.max");
        assert_eq!(std::fs::read_to_string(pids).unwrap().trim(), "50");
    } else {
        let v2 = std::path::Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
        assert_eq!(
            std::fs::read_to_string(v2.join("memory.max"))
                .unwrap()
                .trim(),
            (96u64 << 20).to_string()
        );
    }
    // Kept for the next start.
    m.ok(&["restart", "-t", "0", "upd"]);
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.HostConfig.PidsLimit}}", "upd"]),
        "50\n"
    );
    let o = m.run(&["update", "upd"]);
    assert!(!o.status.success());
    let o = m.run(&["update", "-m", "10m", "nope"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such container: nope"));
}

#[test]
fn logs_since_and_until() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "lg",
        "busybox",
        "sh",
        "-c",
        "echo early; sleep 1.5; echo late",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let between = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert_eq!(m.ok(&["wait", "lg"]), "0\n");
    assert_eq!(m.ok(&["logs", "lg"]), "early\nlate\n");
    assert_eq!(
        m.ok(&["logs", "--since", &between.to_string(), "lg"]),
        "late\n"
    );
    assert_eq!(
        m.ok(&["logs", "--until", &between.to_string(), "lg"]),
        "early\n"
    );
    assert_eq!(m.ok(&["logs", "--since", "1h", "lg"]), "early\nlate\n");
    assert!(!m
        .run(&["logs", "--since", "yesterday", "lg"])
        .status
        .success());
}

/// Polls `inspect -f FORMAT NAME` until `cond` holds (at most 20 s); returns the text.
fn inspect_until(m: &Ministry, name: &str, format: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = m.ok(&["inspect", "-f", format, name]).trim().to_string();
        if cond(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{name}: {v}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn restart_policies_like_docker() {
    let m = Ministry::new();
    m.busybox("busybox");
    // on-failure:2: three runs, then exited with the last code.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo hi; exit 3",
    ]);
    let st = inspect_until(
        &m,
        "flaky",
        "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{.State.Restarting}}",
        |s| s.starts_with("exited"),
    );
    assert_eq!(st, "exited 2 3 false");
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{json .HostConfig.RestartPolicy}}",
            "flaky"
        ]),
        "{\"Name\":\"on-failure\",\"MaximumRetryCount\":2}\n"
    );
    assert_eq!(m.ok(&["logs", "flaky"]), "hi\nhi\nhi\n");
    let ev = m.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "container=flaky",
        "--format",
        "{{.Action}} {{.Actor.Attributes.exitCode}}",
    ]);
    assert_eq!(
        ev,
        "create <no value>\nstart <no value>\ndie 3\nstart <no value>\ndie 3\nstart <no value>\ndie 3\n"
    );

    // always: on the default bridge the address survives each restart; while it waits to
    // restart, exec and rm refuse with Docker's words; stop ends the loop.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0 | awk '{print $4}'; exit 1",
    ]);
    inspect_until(&m, "loop", "{{.State.Status}} {{.RestartCount}}", |s| {
        s.starts_with("restarting")
            && s.split(' ').nth(1).and_then(|n| n.parse::<u32>().ok()) >= Some(3)
    });
    let logs = m.ok(&["logs", "loop"]);
    let addrs: Vec<&str> = logs.lines().collect();
    assert!(
        addrs.len() >= 3 && addrs[0].starts_with("172.17."),
        "{logs}"
    );
    assert!(addrs.iter().all(|a| *a == addrs[0]), "{logs}");
    let ps = m.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.contains("loop Restarting (1) "), "{ps}");
    let (code, _, err) = out(&m.run(&["exec", "loop", "true"]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("is restarting, wait until the container is running"),
        "{err}"
    );
    let (code, _, err) = out(&m.run(&["rm", "loop"]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("You cannot remove a restarting container"),
        "{err}"
    );
    // Pruning takes stopped containers only: a restarting one stays.
    m.ok(&["container", "prune", "-f"]);
    assert!(m
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .contains("loop"));
    m.ok(&["stop", "loop"]);
    let count = inspect_until(&m, "loop", "{{.State.Status}} {{.RestartCount}}", |s| {
        s.starts_with("exited")
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            "loop"
        ])
        .trim(),
        count
    );

    // kill is a stop on purpose too.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "killed",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "100",
    ]);
    m.ok(&["kill", "killed"]);
    assert_eq!(
        inspect_until(&m, "killed", "{{.State.Status}} {{.RestartCount}}", |s| s
            .starts_with("exited")),
        "exited 0"
    );

    // update --restart applies at the next exit.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "later",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 5",
    ]);
    assert_eq!(
        m.ok(&["update", "--restart", "on-failure:1", "later"]),
        "later\n"
    );
    assert_eq!(
        inspect_until(
            &m,
            "later",
            "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}",
            |s| s.starts_with("exited")
        ),
        "exited 1 5"
    );

    // Docker's refusals.
    let (code, _, err) = out(&m.run(&["run", "--rm", "--restart", "always", "busybox", "true"]));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("conflicting options: cannot specify both --restart and --rm"),
        "{err}"
    );
    let (code, _, err) = out(&m.run(&["run", "--restart", "bogus", "busybox", "true"]));
    assert_eq!(code, Some(125));
    assert!(err.contains("invalid restart policy 'bogus'"), "{err}");
    let (code, _, err) = out(&m.run(&["run", "--restart", "always:3", "busybox", "true"]));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("maximum retry count cannot be used with restart policy 'always'"),
        "{err}"
    );
}

#[test]
fn start_interactive_gives_stdin_to_a_container_created_with_i() {
    let m = Ministry::new();
    m.busybox("busybox");
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::write(&input, "hello\n").unwrap();
    let id = m.ok(&["create", "-i", "--name", "cat", "busybox", "cat"]);
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.Config.OpenStdin}} {{.Config.AttachStdin}} {{.Config.StdinOnce}}",
            "cat"
        ]),
        "true true true\n"
    );
    // On its bridge address, as every start.
    assert_eq!(m.ok_stdin(&["start", "-a", "-i", "cat"], &input), "hello\n");
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "cat"
        ]),
        "exited 0\n"
    );
    // `-i` alone attaches too; a stopped container's new run gets the stdin as well.
    std::fs::write(&input, "again\n").unwrap();
    assert_eq!(m.ok_stdin(&["start", "-i", "cat"], &input), "again\n");
    // Created without -i: stdin stays closed, as Docker's.
    m.ok(&["create", "--name", "closed", "busybox", "cat"]);
    assert_eq!(m.ok_stdin(&["start", "-a", "-i", "closed"], &input), "");
    m.ok(&["rm", "cat", "closed"]);
}
