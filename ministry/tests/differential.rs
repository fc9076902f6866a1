//! The differential suite: the same scenarios run on Docker (a private dockerd) and on
//! ministry, from the same busybox image; exit codes and standard output are compared
//! line by line after normalising what legitimately differs (IDs, times, durations), and
//! for the error cases the error text (after the program's own prefix).

mod common;

use std::process::{Command, Output, Stdio};

use common::*;

/// Replaces hexadecimal runs of 12 or 64 characters (IDs) by `<ID>`.
fn ids(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let hex = run.chars().all(|c| c.is_ascii_hexdigit());
        if hex && (run.len() == 12 || run.len() == 64) {
            out.push_str("<ID>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The IDs, times and durations of one run, replaced by placeholders.
fn normalize(s: &str) -> String {
    let s = ids(s);
    let mut out = String::new();
    // A warning about the host, not the command: dockerd adds it to `update`'s answer
    // whenever the machine's IPv4 forwarding is off (its value varies between machines).
    let host_warning = "IPv4 forwarding is disabled. Networking will not work.";
    for (i, line) in s.lines().filter(|l| *l != host_warning).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut words = Vec::new();
        for w in line.split(' ') {
            let core = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            let time = core.len() >= 19 && core.as_bytes()[4] == b'-' && core.contains('T');
            if time {
                words.push(w.replace(core, "<TIME>"));
            } else {
                words.push(w.to_string());
            }
        }
        let l = words.join(" ");
        // "Exited (0) 2 seconds ago", "Up Less than a second", "About a minute ago"
        let l = l
            .replace("Less than a second", "<DUR>")
            .replace("About a minute", "<DUR>");
        let mut t = String::new();
        let mut it = l.split(' ').peekable();
        while let Some(w) = it.next() {
            if w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() {
                if let Some(n) = it.peek() {
                    if n.starts_with("second") || n.starts_with("minute") {
                        it.next();
                        t.push_str("<DUR> ");
                        continue;
                    }
                }
            }
            t.push_str(w);
            t.push(' ');
        }
        out.push_str(t.trim_end());
    }
    out
}

/// The error text without the program's own prefixes.
fn error_text(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    let first = s
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("See '") && !l.starts_with("Run '"))
        .unwrap_or("");
    let first = first
        .trim_start_matches("docker: ")
        .trim_start_matches("ministry: ")
        .trim_end_matches('.');
    normalize(first)
}

/// The side compared with Docker: ministry's CLI (daemonless), or the docker CLI
/// talking to `ministry daemon`.
enum Side {
    Cli(Ministry),
    // The engine's data root outlives the daemon (dropped first).
    Api(MinistryDaemon, #[allow(dead_code)] Ministry),
}

impl Side {
    fn run(&self, args: &[&str]) -> Output {
        match self {
            Side::Cli(m) => m.run(args),
            Side::Api(d, _) => d.run(args),
        }
    }
}

struct Diff {
    dk: Docker,
    m: Side,
    mismatches: Vec<String>,
}

impl Diff {
    /// Records a difference (and shows it at once: a long run's progress).
    fn differ(&mut self, m: String) {
        eprintln!("DIFFERS: {m}");
        self.mismatches.push(m);
    }

    fn both(&self, args: &[&str]) -> (Output, Output) {
        let d = self
            .dk
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let m = self.m.run(args);
        (d, m)
    }

    /// Same exit code and same (normalised) stdout.
    fn same(&mut self, args: &[&str]) -> String {
        let (d, m) = self.both(args);
        let (ds, ms) = (
            normalize(&String::from_utf8_lossy(&d.stdout)),
            normalize(&String::from_utf8_lossy(&m.stdout)),
        );
        if d.status.code() != m.status.code() || ds != ms {
            self.differ(format!(
                "{args:?}\n  docker:   {:?} {ds:?} {}\n  ministry: {:?} {ms:?} {}",
                d.status.code(),
                String::from_utf8_lossy(&d.stderr).trim(),
                m.status.code(),
                String::from_utf8_lossy(&m.stderr).trim()
            ));
        }
        ms
    }

    /// [`Diff::same`] ignoring the order of lines (Docker lists `diff` in its upper
    /// layer's directory order, which is the file system's hash order).
    fn same_unordered(&mut self, args: &[&str]) {
        let (d, m) = self.both(args);
        let sorted = |o: &Output| {
            let mut v: Vec<String> = normalize(&String::from_utf8_lossy(&o.stdout))
                .lines()
                .map(str::to_string)
                .collect();
            v.sort();
            v
        };
        if d.status.code() != m.status.code() || sorted(&d) != sorted(&m) {
            self.differ(format!(
                "{args:?}\n  docker:   {:?} {:?}\n  ministry: {:?} {:?}",
                d.status.code(),
                sorted(&d),
                m.status.code(),
                sorted(&m)
            ));
        }
    }

    /// Same exit code, and the same error message.
    fn same_error(&mut self, args: &[&str]) {
        let (d, m) = self.both(args);
        let (de, me) = (error_text(&d.stderr), error_text(&m.stderr));
        if d.status.code() != m.status.code() || de != me {
            self.differ(format!(
                "{args:?}\n  docker:   {:?} {de:?}\n  ministry: {:?} {me:?}",
                d.status.code(),
                m.status.code()
            ));
        }
    }

    /// Waits (at most 20 s) until `args`' output satisfies `ready` on both sides.
    fn settle(&self, args: &[&str], ready: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (d, m) = self.both(args);
            if ready(&String::from_utf8_lossy(&d.stdout))
                && ready(&String::from_utf8_lossy(&m.stdout))
            {
                return;
            }
            if std::time::Instant::now() > deadline {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// A `build`: same exit code, the same steps and output (the classic builder's lines;
    /// Docker's metadata steps run a container each, ministry's do not, so `Running in`
    /// and `Removing intermediate container` lines are left out of the comparison, as is
    /// the context's size), and the same error text.
    fn same_build(&mut self, args: &[&str]) {
        let (d, m) = self.both(args);
        let lines = |o: &Output| -> Vec<String> {
            normalize(&String::from_utf8_lossy(&o.stdout))
                .lines()
                .filter(|l| {
                    !l.starts_with(" ---> Running in ")
                        && !l.starts_with("Removing intermediate container ")
                })
                .map(|l| {
                    if l.starts_with("Sending build context to Docker daemon") {
                        "Sending build context to Docker daemon".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect()
        };
        let err = |o: &Output| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| {
                    !l.trim().is_empty()
                        && !l.starts_with("DEPRECATED:")
                        && !l.starts_with("            ")
                        && !l.starts_with("Usage:")
                        && !l.starts_with("Run '")
                        && !l.starts_with("See '")
                })
                .map(normalize)
                .collect::<Vec<_>>()
        };
        if d.status.code() != m.status.code() || lines(&d) != lines(&m) || err(&d) != err(&m) {
            self.differ(format!(
                "{args:?}\n  docker:   {:?} {:?} {:?}\n  ministry: {:?} {:?} {:?}",
                d.status.code(),
                lines(&d),
                err(&d),
                m.status.code(),
                lines(&m),
                err(&m),
            ));
        }
    }

    /// Same exit code only (messages that name runtime internals differ).
    fn same_code(&mut self, args: &[&str]) {
        let (d, m) = self.both(args);
        if d.status.code() != m.status.code() {
            self.differ(format!(
                "{args:?}\n  docker:   {:?}\n  ministry: {:?} {}",
                d.status.code(),
                m.status.code(),
                String::from_utf8_lossy(&m.stderr).trim()
            ));
        }
    }
}

/// Docker with a busybox image, and a ministry data root with the same image.
fn sides() -> (Docker, Ministry) {
    let tmp = tempfile::tempdir().unwrap();
    let tar = busybox_tar(tmp.path());
    let dk = Docker::start();
    let st = dk
        .cmd()
        .args(["import", tar.to_str().unwrap(), "busybox"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let m = Ministry::new();
    m.ok_stdin(&["import", "-", "busybox"], &tar);
    (dk, m)
}

/// ministry's own CLI against Docker.
#[test]
fn scenarios_match_docker() {
    let (dk, m) = sides();
    let mut t = Diff {
        dk,
        m: Side::Cli(m),
        mismatches: Vec::new(),
    };
    scenarios(&mut t);
}

/// The docker CLI through `ministry daemon` against the docker CLI through dockerd: the
/// same scenarios, the real client as the judge of the API.
#[test]
fn scenarios_through_the_api_match_docker() {
    let (dk, m) = sides();
    let d = MinistryDaemon::start(&m);
    let mut t = Diff {
        dk,
        m: Side::Api(d, m),
        mismatches: Vec::new(),
    };
    scenarios(&mut t);
}

fn scenarios(t: &mut Diff) {
    let n = ["--network", "none"];
    let run = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["run", "--network", "none"];
        v.extend_from_slice(extra);
        v
    };

    // Running programs: output and exit codes.
    t.same(&run(&["--rm", "busybox", "echo", "hello"]));
    t.same(&run(&["--rm", "busybox", "sh", "-c", "exit 3"]));
    t.same_code(&run(&["--rm", "busybox", "nosuchcmd"]));
    t.same_code(&run(&["--rm", "busybox", "/etc/passwd"]));
    t.same(&run(&[
        "--rm",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "65534",
        "busybox",
        "sh",
        "-c",
        "echo $A; pwd; id -u; id -g",
    ]));
    t.same(&run(&[
        "--rm",
        "-h",
        "myhost",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname",
    ]));
    t.same(&run(&[
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hostname | wc -c",
    ]));
    t.same(&run(&["--rm", "busybox", "sh", "-c", "ls /dev | sort"]));
    t.same(&run(&[
        "--rm",
        "busybox",
        "sh",
        "-c",
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status",
    ]));
    t.same(&run(&[
        "--rm",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_ADMIN",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]));
    t.same(&run(&[
        "--rm",
        "-u",
        "1000",
        "busybox",
        "grep",
        "-E",
        "^Cap(Prm|Eff)",
        "/proc/self/status",
    ]));
    t.same(&run(&[
        "--rm",
        "busybox",
        "sh",
        "-c",
        "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
    ]));
    t.same_code(&run(&["--rm", "--read-only", "busybox", "touch", "/x"]));
    // The name files follow a read-only root (Docker's network mounts).
    t.same(&run(&[
        "--rm",
        "--read-only",
        "busybox",
        "sh",
        "-c",
        "for f in hosts hostname resolv.conf; do echo x >> /etc/$f 2>/dev/null; echo $f=$?; done",
    ]));
    t.same(&run(&[
        "--rm",
        "--read-only",
        "--tmpfs",
        "/run",
        "busybox",
        "sh",
        "-c",
        "touch /run/y && echo ok",
    ]));
    t.same(&run(&["--rm", "busybox", "sh", "-c", "env | sort"]));
    t.same(&run(&[
        "--rm",
        "--entrypoint",
        "echo",
        "busybox",
        "via",
        "entrypoint",
    ]));
    t.same(&run(&[
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]));
    t.same(&run(&[
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ls -ld /tmp /dev/shm /dev/mqueue | cut -c1-10",
    ]));

    // A container's record.
    t.same(&run(&[
        "--name",
        "rec1",
        "-e",
        "A=1",
        "-l",
        "k=v",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]));
    t.same(&[
        "inspect", "-f",
        "{{.State.Status}} {{.State.ExitCode}} {{json .Config.Env}} {{json .Config.Cmd}} {{.Path}} {{json .Args}} {{.Name}} {{.Config.Labels.k}} {{.HostConfig.NetworkMode}} {{.RestartCount}}",
        "rec1",
    ]);
    t.same(&["logs", "rec1"]);
    t.same(&["logs", "--details", "rec1"]);
    t.same(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}} {{.Image}} {{.Command}} {{.Status}}",
    ]);
    t.same(&["ps", "-aq", "-f", "label=k=v", "--no-trunc"]);
    // Label filters all match (docker-compose finds a service's container so).
    t.same(&run(&[
        "--name", "rec3", "-l", "k=v", "-l", "svc=b", "busybox", "true",
    ]));
    for f in [
        ["label=k=v", "label=svc=b"],
        ["label=k=v", "label=svc=zz"],
        ["label=svc", "label=k"],
    ] {
        t.same(&["ps", "-a", "--format", "{{.Names}}", "-f", f[0], "-f", f[1]]);
    }
    t.same(&["rm", "rec3"]);
    t.same(&["wait", "rec1"]);
    t.same_error(&run(&["--name", "rec1", "busybox", "true"]));
    t.same(&["rename", "rec1", "rec2"]);
    t.same(&["rm", "rec2"]);

    // Errors for what does not exist.
    t.same_error(&["rm", "nope"]);
    t.same_error(&["inspect", "nope"]);
    t.same_error(&["stop", "nope"]);
    t.same_error(&["logs", "nope"]);
    t.same_error(&["exec", "nope", "true"]);
    t.same_error(&run(&["--rm", "nosuchimage:latest", "true"]));

    // create/start, diff, commit-free file changes.
    let mut create = vec!["create"];
    create.extend_from_slice(&n);
    create.extend_from_slice(&["--name", "crt2", "--entrypoint", "echo", "busybox", "hi"]);
    t.same(&create);
    t.same(&["start", "-a", "crt2"]);
    t.same(&run(&[
        "--name",
        "crt3",
        "busybox",
        "sh",
        "-c",
        "touch /x; rm /bin/vi; mkdir /newdir",
    ]));
    t.same_unordered(&["diff", "crt3"]);
    t.same(&["port", "crt3"]);
    t.same(&["rm", "crt2", "crt3"]);

    // A running container: exec, pause, kill, wait.
    t.same(&run(&["-d", "--name", "exe1", "busybox", "sleep", "30"]));
    t.same(&["exec", "exe1", "sh", "-c", "exit 5"]);
    t.same(&[
        "exec",
        "-e",
        "X=y",
        "-w",
        "/etc",
        "exe1",
        "sh",
        "-c",
        "echo $X; pwd",
    ]);
    t.same(&["exec", "-u", "65534", "exe1", "id", "-u"]);
    // (Docker shows an exec's refusals on its stdout.)
    t.same(&["exec", "-w", "rel", "exe1", "pwd"]);
    t.same(&["exec", "-w", "/nonexist", "exe1", "pwd"]);
    t.same_error(&["exec", "-e", "=x", "exe1", "true"]);
    t.same(&["exec", "-u", "bogususer", "exe1", "id"]);
    t.same(&["logs", "--tail", "bogus", "exe1"]);
    t.same_error(&["logs", "--since", "bogus", "exe1"]);
    t.same_error(&["top", "exe1", "bogus"]);
    t.same_error(&["rename", "exe1", "exe1"]);
    t.same(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.Container}}",
        "exe1",
    ]);
    t.same_error(&["stop", "-t", "-1", "nope"]);
    t.same_error(&["inspect", "--type", "container", "nope"]);
    t.same_error(&["inspect", "--type", "volume", "nope"]);
    t.same_error(&["inspect", "--type", "network", "nope"]);
    t.same_error(&["inspect", "--type", "bogus", "nope"]);
    t.same(&["inspect", "--type", "container", "-f", "{{.Name}}", "exe1"]);
    t.same_error(&["rm", "exe1"]);
    t.same(&["pause", "exe1"]);
    t.same(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.Paused}}",
        "exe1",
    ]);
    t.same_error(&["pause", "exe1"]);
    // Refused at once while paused (it used to hang, frozen in the cgroup).
    t.same_error(&["exec", "exe1", "true"]);
    t.same(&["unpause", "exe1"]);
    t.same(&["kill", "exe1"]);
    t.same(&["wait", "exe1"]);
    t.same(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}",
        "exe1",
    ]);
    t.same_error(&["exec", "exe1", "true"]);
    t.same(&["rm", "exe1"]);

    // Volumes, images.
    t.same(&["volume", "create", "v1"]);
    t.same(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    t.same(&[
        "volume",
        "ls",
        "--format",
        "{{.Name}} {{.Availability}} {{.Group}} {{.Status}} {{.Scope}} {{.Links}}",
    ]);
    t.same(&[
        "volume",
        "inspect",
        "-f",
        "{{.Name}} {{.Driver}} {{.Scope}}",
        "v1",
    ]);
    t.same(&run(&[
        "--rm",
        "-v",
        "v1:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]));
    t.same(&run(&[
        "--rm",
        "-v",
        "v1:/data:ro",
        "busybox",
        "sh",
        "-c",
        "cat /data/f; touch /data/g 2>/dev/null || echo ro",
    ]));
    t.same(&["volume", "rm", "v1"]);
    t.same_error(&["volume", "rm", "v1"]);
    t.same(&["tag", "busybox", "mybox:1"]);
    t.same(&["images", "--format", "{{.Repository}}:{{.Tag}}", "mybox"]);
    t.same(&[
        "inspect",
        "-f",
        "{{.Os}} {{.Architecture}} {{json .RepoTags}}",
        "mybox:1",
    ]);
    t.same(&["rmi", "mybox:1"]);
    t.same_error(&["rmi", "mybox:1"]);
    t.same_error(&["rmi", "-f", "mybox:1"]);
    t.same_error(&["images", "--filter", "bogus=1"]);
    t.same_error(&["images", "--filter", "since=nope"]);
    t.same_error(&["import", "/nonexistent.tar", "imp:2"]);
    t.same_error(&["load", "-i", "/nonexistent.tar"]);
    t.same_error(&["save", "-o", "/tmp/never-written.tar", "nope"]);
    t.same(&[
        "images",
        "-q",
        "--filter",
        "before=busybox",
        "--filter",
        "label=x=y",
    ]);
    t.same_error(&["tag", "busybox", "Bad:Tag"]);
    t.same_error(&["volume", "inspect", "nope"]);
    t.same_error(&["network", "inspect", "nope"]);
    t.same_error(&["network", "create", "--driver", "bogus", "n1"]);
    t.same(&["info", "--format", "{{.Driver}}"]);
    t.same(&["system", "df", "-v"]);
    t.same(&[
        "info",
        "--format",
        "{{json .Plugins.Volume}} {{.OSType}} {{.NCPU}}",
    ]);
    t.same(&[
        "images",
        "--format",
        "{{.Repository}} {{.Tag}} {{.Size}} {{.VirtualSize}} {{json .Digest}} {{.Containers}}",
        "busybox",
    ]);
    t.same(&[
        "history",
        "--format",
        "{{json .CreatedBy}} {{.Size}} {{.Comment}}",
        "busybox",
    ]);
    // ps rows: label lookup, sizes, JSON with Docker's keys in its (sorted) order.
    t.same(&run(&[
        "-d", "--name", "ps1", "-l", "app=web", "busybox", "sleep", "30",
    ]));
    t.same(&[
        "ps",
        "--filter",
        "label=app",
        "--format",
        "{{.Names}} {{.Label \"app\"}}",
    ]);
    t.same(&[
        "ps",
        "-s",
        "--filter",
        "name=ps1",
        "--format",
        "{{.Names}} {{.Size}}",
    ]);
    t.same(&[
        "ps",
        "--filter",
        "name=ps1",
        "--format",
        "{{.Names}} {{.LocalVolumes}} {{.State}} {{.Networks}} {{.Labels}}",
    ]);
    t.same(&["rm", "-f", "ps1"]);
    // The `container` management command.
    t.same(&run(&["--name", "cg1", "busybox", "true"]));
    t.same(&[
        "container",
        "ls",
        "-a",
        "--filter",
        "name=cg1",
        "--format",
        "{{.Names}}",
    ]);
    t.same(&[
        "container",
        "inspect",
        "-f",
        "{{.Name}} {{.State.Status}}",
        "cg1",
    ]);
    t.same_error(&["container", "inspect", "nope"]);
    t.same(&["container", "logs", "cg1"]);
    t.same(&["container", "prune", "-f"]);
    t.same_error(&["container", "stop", "nope"]);
    // `create` exits 1 for the daemon's refusals; -it needs a terminal (tests have none).
    t.same_error(&["create", "--network", "none", "busybox"]);
    t.same_error(&["create", "-m", "1", "busybox", "true"]);
    t.same_error(&["create", "--ulimit", "x", "busybox", "true"]);
    t.same_error(&run(&["--rm", "-it", "busybox", "true"]));
    t.same_error(&run(&["--rm", "-v", ":/x", "busybox", "true"]));
    // Refusals that depend on a container's state.
    t.same(&run(&["--name", "st1", "busybox", "true"]));
    t.same(&[
        "create",
        "--name",
        "cr1",
        "--network",
        "none",
        "busybox",
        "sleep",
        "30",
    ]);
    for args in [
        &["kill", "st1"][..],
        &["kill", "cr1"],
        &["kill", "-s", "HUP", "nope"],
        &["unpause", "st1"],
        &["attach", "cr1"],
        &["rename", "st1", "cr1"],
        &["update", "--memory", "10m", "st1"],
    ] {
        t.same_error(args);
    }
    t.same(&["update", "--memory", "10m", "--memory-swap", "20m", "st1"]);
    t.same(&["rm", "st1", "cr1"]);

    // Restart policies: three runs, then exited; Docker's refusals.
    t.same(&run(&[
        "-d",
        "--name",
        "rs1",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo hi; exit 3",
    ]));
    let fmt = "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{.State.Restarting}} {{json .HostConfig.RestartPolicy}}";
    t.settle(&["inspect", "-f", fmt, "rs1"], |o| o.starts_with("exited"));
    t.same(&["inspect", "-f", fmt, "rs1"]);
    t.same(&["logs", "rs1"]);
    t.same(&["rm", "rs1"]);
    // Waiting to restart: counted already, listed, top empty, pause refused.
    t.same(&run(&[
        "-d",
        "--name",
        "rs2",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "exit 2",
    ]));
    t.settle(
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            "rs2",
        ],
        |o| o.starts_with("restarting") && o.split_whitespace().nth(1) >= Some("3"),
    );
    t.same(&[
        "ps",
        "--filter",
        "status=restarting",
        "--format",
        "{{.Names}}",
    ]);
    t.same_error(&["top", "rs2"]);
    t.same_error(&["pause", "rs2"]);
    t.same(&["rm", "-f", "rs2"]);
    t.same_error(&run(&["--restart", "bogus", "busybox", "true"]));
    t.same_error(&run(&["--restart", "always:3", "busybox", "true"]));
    t.same_error(&run(&["--rm", "--restart", "always", "busybox", "true"]));
    t.same_error(&run(&["--restart", "on-failure:-1", "busybox", "true"]));
    // Flag values refused by Docker's CLI or daemon, with its texts and exit codes.
    for bad in [
        &["-m", "1"][..],
        &["-m", "bogus"],
        &["--memory-swap", "1m", "-m", "10m"],
        &["--shm-size", "bogus"],
        &["--cpus", "99"],
        &["-w", "rel"],
        &["--ulimit", "nofile=bogus"],
        &["--ulimit", "nofile"],
        &["--ulimit", "bogus=1"],
        &["-p", "99999:80"],
        &["-p", "abc:80"],
        &["-p", "1.2.3.4:5:6:7"],
        &["--log-opt", "max-size=bogus"],
        &["-e", "=x"],
        &["--device", "/dev/nonexist"],
        &["--env-file", "/nonexistent-env-file"],
        &["--cap-add", "BOGUS"],
        &["--cap-drop", "bogus"],
        &["--security-opt", "bogus"],
        &["--security-opt", "seccomp=/nonexistent-profile"],
    ] {
        let mut args = vec!["--rm"];
        args.extend_from_slice(bad);
        args.extend_from_slice(&["busybox", "true"]);
        t.same_error(&run(&args));
    }
    t.same(&run(&["--rm", "--pids-limit", "-1", "busybox", "true"]));
    // Everything after the image is the container's, even what looks like our flag.
    t.same(&run(&[
        "--rm",
        "--entrypoint",
        "/bin/sh",
        "busybox",
        "-c",
        "echo $0 -c",
    ]));
    t.same(&["create", "--name", "up1", "busybox", "true"]);
    t.same(&["update", "--restart", "on-failure:4", "up1"]);
    t.same(&["inspect", "-f", "{{json .HostConfig.RestartPolicy}}", "up1"]);
    t.same_error(&["update", "--restart", "bogus", "up1"]);
    t.same_error(&["update", "up1"]);
    t.same(&["rm", "up1"]);
    t.same(&run(&[
        "--rm", "-d", "--name", "up2", "busybox", "sleep", "30",
    ]));
    t.same_error(&["update", "--restart", "always", "up2"]);
    t.same(&["rm", "-f", "up2"]);
    // -a picks streams; --stop-timeout and -i as Docker records them.
    t.same(&run(&[
        "--rm",
        "-a",
        "stdout",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]));
    t.same_error(&run(&["-d", "-a", "stdout", "busybox", "true"]));
    t.same(&[
        "create",
        "-i",
        "--stop-timeout",
        "3",
        "--name",
        "ci1",
        "busybox",
        "cat",
    ]);
    t.same(&[
        "inspect", "-f",
        "{{json .Config.StopTimeout}} {{.Config.OpenStdin}} {{.Config.AttachStdin}} {{.Config.StdinOnce}}",
        "ci1",
    ]);
    t.same(&["rm", "ci1"]);
    // The host config as inspect shows it.
    t.same(&[
        "create",
        "--name",
        "hc1",
        "-h",
        "myhost",
        "--add-host",
        "a:1.2.3.4",
        "--dns",
        "9.9.9.9",
        "-l",
        "k=v",
        "-w",
        "/tmp",
        "--stop-signal",
        "SIGINT",
        "-m",
        "64m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "50",
        "--shm-size",
        "32m",
        "--ulimit",
        "nofile=100:200",
        "--read-only",
        "--tmpfs",
        "/run",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "CHOWN",
        "--security-opt",
        "no-new-privileges",
        "--init",
        "-u",
        "1000:1000",
        "--network",
        "none",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "busybox",
        "sleep",
        "100",
    ]);
    for f in [
        "{{.Config.Hostname}} {{.Config.User}} {{.Config.WorkingDir}} {{.Config.StopSignal}} {{json .Config.Labels}}",
        "{{json .HostConfig.ExtraHosts}} {{json .HostConfig.Dns}} {{.HostConfig.ShmSize}} {{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.Tmpfs}}",
        "{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{json .HostConfig.SecurityOpt}} {{.HostConfig.Init}} {{.HostConfig.Privileged}}",
        "{{json .HostConfig.Ulimits}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{json .HostConfig.Sysctls}}",
    ] {
        t.same(&["inspect", "-f", f, "hc1"]);
    }
    t.same(&[
        "create",
        "--name",
        "hc2",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    t.same(&[
        "inspect", "-f",
        "{{json .HostConfig.ExtraHosts}} {{json .HostConfig.Dns}} {{json .HostConfig.CapAdd}} {{json .HostConfig.Ulimits}} {{.HostConfig.ShmSize}} {{.HostConfig.Tmpfs}}",
        "hc2",
    ]);
    t.same(&["rm", "hc1", "hc2"]);

    build_scenarios(t);

    assert!(
        t.mismatches.is_empty(),
        "{} scenario(s) differ from Docker:\n{}",
        t.mismatches.len(),
        t.mismatches.join("\n")
    );
    // Nothing left running on either side.
    let _ = Command::new("true").status();
}

fn write(dir: &std::path::Path, name: &str, content: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// `build` with Docker's classic builder as the judge: outputs, caches, errors, and what
/// the images hold and say.
fn build_scenarios(t: &mut Diff) {
    let ctx = tempfile::tempdir().unwrap();
    let d = ctx.path();
    let dir = d.to_str().unwrap();
    let b = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["build".into(), "--network".into(), "none".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(dir.to_string());
        v
    };
    let build = |t: &mut Diff, extra: &[&str]| {
        let v = b(extra);
        let a: Vec<&str> = v.iter().map(String::as_str).collect();
        t.same_build(&a);
    };
    write(d, "a.txt", "hello\n");
    write(d, "d/e/f", "x\n");
    write(d, "d/g", "g\n");
    write(
        d,
        "Dockerfile",
        "FROM busybox\nENV A=b\nCOPY a.txt /app/\nCOPY d /app/d\nRUN echo hi; ls /app\nWORKDIR /app\nCMD [\"cat\",\"a.txt\"]\n",
    );
    build(t, &["-t", "b1"]);
    // Everything from the cache.
    build(t, &["-t", "b1"]);
    t.same(&["run", "--rm", "--network", "none", "b1"]);
    t.same(&[
        "run",
        "--rm",
        "--network",
        "none",
        "b1",
        "sh",
        "-c",
        "echo $A; pwd; echo $PATH; find /app | sort",
    ]);
    t.same(&[
        "history",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        "--no-trunc",
        "b1",
    ]);
    t.same(&["image", "inspect", "-f", "{{json .Config.Env}} {{json .Config.Cmd}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}", "b1"]);
    t.same(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    // A changed file invalidates from its COPY on.
    write(d, "d/g", "changed\n");
    build(t, &["-t", "b1"]);
    build(t, &["-q", "-t", "b2"]);
    t.same(&["run", "--rm", "--network", "none", "b2", "cat", "/app/d/g"]);

    // Metadata instructions and what they record.
    write(
        d,
        "Dockerfile",
        "FROM busybox\nMAINTAINER someone\nLABEL a=b c=\"d e\"\nEXPOSE 80 90/udp\nVOLUME /data\nUSER nobody\nWORKDIR rel\nWORKDIR more\nSTOPSIGNAL SIGKILL\nHEALTHCHECK --interval=5s --retries=2 CMD true\nENTRYPOINT [\"top\", \"-b\"]\nCMD [\"-c\"]\nSHELL [\"/bin/sh\", \"-xc\"]\nARG X=1\nENV Y=$X\nONBUILD RUN echo trig\n",
    );
    build(t, &["-t", "b3"]);
    for f in [
        "{{.Author}} {{json .Config.Labels}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}}",
        "{{.Config.User}} {{.Config.WorkingDir}} {{.Config.StopSignal}} {{json .Config.Healthcheck}}",
        "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.Shell}} {{json .Config.OnBuild}} {{json .Config.Env}}",
    ] {
        t.same(&["image", "inspect", "-f", f, "b3"]);
    }
    t.same(&["history", "--format", "{{.CreatedBy}}", "--no-trunc", "b3"]);

    // Build args: defaults, --build-arg, unused ones warned about, shell form vs exec.
    write(
        d,
        "Dockerfile",
        "ARG BASE=busybox\nFROM $BASE\nARG V=1\nARG W\nRUN echo v=$V w=$W\nRUN [\"sh\", \"-c\", \"echo exec $V\"]\n",
    );
    build(t, &["--build-arg", "W=2", "-t", "b4"]);
    build(
        t,
        &["--build-arg", "V=3", "--build-arg", "NOPE=1", "-t", "b4"],
    );
    t.same(&["history", "--format", "{{.CreatedBy}}", "--no-trunc", "b4"]);

    // Multi-stage (every stage needed, so Docker's numbering is ours).
    write(
        d,
        "Dockerfile",
        "FROM busybox AS base\nRUN echo built > /out\nFROM busybox\nCOPY --from=base /out /in\nCMD [\"cat\", \"/in\"]\n",
    );
    build(t, &["-t", "b5"]);
    t.same(&["run", "--rm", "--network", "none", "b5"]);
    build(t, &["--target", "base", "-t", "b6"]);
    build(t, &["--target", "nope"]);

    // .dockerignore.
    write(d, ".dockerignore", "*.txt\n!keep.txt\nd/e\n");
    write(d, "keep.txt", "k\n");
    write(
        d,
        "Dockerfile",
        "FROM busybox\nCOPY . /ctx\nRUN cd /ctx && find . | sort\n",
    );
    build(t, &["-t", "b7"]);
    std::fs::remove_file(d.join(".dockerignore")).unwrap();

    // Failures: a step's code, exec form, a missing source, unknown instruction, flags.
    write(d, "Dockerfile", "FROM busybox\nRUN echo out; exit 3\n");
    build(t, &["--force-rm", "-t", "bad"]);
    t.same_error(&["image", "inspect", "bad"]);
    write(d, "Dockerfile", "FROM busybox\nRUN [\"false\"]\n");
    build(t, &["--force-rm"]);
    write(d, "Dockerfile", "FROM busybox\nCOPY missing.txt /\n");
    build(t, &[]);
    write(d, "Dockerfile", "FROM busybox\nCOPY ../a.txt /\n");
    build(t, &[]);
    write(d, "Dockerfile", "FROM busybox\nFOO bar\n");
    build(t, &[]);
    write(d, "Dockerfile", "FROM busybox\nCOPY a.txt\n");
    build(t, &[]);
    write(d, "Dockerfile", "FROM busybox\nCOPY a.txt d/g /x\n");
    build(t, &[]);
    write(
        d,
        "Dockerfile",
        "FROM busybox\nHEALTHCHECK --interval=1 CMD true\n",
    );
    build(t, &[]);
    // (A base image no registry has fails on both, with each registry client's text.)
    build(t, &["-t", "Bad:x"]);
    std::fs::remove_file(d.join("Dockerfile")).unwrap();
    build(t, &[]);

    // Image removal takes the build's steps with it. (`images -a` orders images made in
    // the same instant by build timing; the sets are compared.)
    t.same_unordered(&["images", "-a", "--format", "{{.Repository}}:{{.Tag}}"]);
    t.same_unordered(&["rmi", "b1", "b2", "b3", "b4", "b5", "b6", "b7"]);
    t.same(&["images", "-a", "--format", "{{.Repository}}"]);
}
