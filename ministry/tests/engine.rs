//! The Engine library driven directly, as an embedder uses it: typed calls only, this
//! test binary serving as its own container helper (set up before `main`, no
//! `maybe_run` call), containers on `--network none` (the machine's network is never
//! touched). Also: many threads on one engine, many processes updating one record, the
//! live event stream, pulls from async code, and the orchestrator example.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;

use ministry::{
    Engine, EngineConfig, ErrorKind, EventFilter, EventOptions, ImportOptions, LogOptions,
    NetworkMode, Reference, RunOptions,
};

/// An engine on a private data root, removed with everything it made.
struct TestEngine {
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

impl TestEngine {
    fn new() -> Self {
        require_root();
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(EngineConfig {
            root: dir.path().join("data"),
            exec_root: dir.path().join("run"),
            cgroup_parent: format!(
                "ministry-engine-test-{}",
                dir.path().file_name().unwrap().to_string_lossy()
            ),
            ..Default::default()
        })
        .expect("open engine");
        TestEngine {
            engine: Arc::new(engine),
            _dir: dir,
        }
    }

    fn busybox(&self, name: &str) {
        let tmp = tempfile::tempdir().unwrap();
        let tar = busybox_tar(tmp.path());
        let opts = ImportOptions {
            reference: Some(Reference::parse(name).unwrap()),
            ..Default::default()
        };
        self.engine
            .import_image(&mut std::fs::File::open(tar).unwrap(), &opts)
            .unwrap();
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        for c in self.engine.containers().unwrap_or_default() {
            let _ = self.engine.remove_container(&c.id, true);
        }
        for c in [
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
        ] {
            let _ = std::fs::remove_dir(
                Path::new("/sys/fs/cgroup")
                    .join(c)
                    .join(&self.engine.config().cgroup_parent),
            );
        }
    }
}

fn sh_opts(image: &str, script: &str) -> RunOptions {
    RunOptions {
        image: image.into(),
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        network: NetworkMode::None,
        log_max_files: 1,
        ..Default::default()
    }
}

fn log_text(engine: &Engine, id: &str) -> String {
    engine
        .logs(id, LogOptions::default())
        .unwrap()
        .map(|l| l.unwrap().log)
        .collect()
}

#[test]
fn the_helper_is_ready_without_maybe_run() {
    // This test binary never calls maybe_run: the pre-main entry made it a helper.
    assert!(ministry::libruntime::helper_ready());
}

#[test]
fn create_start_wait_logs_remove_with_events_in_order() {
    let t = TestEngine::new();
    t.busybox("bb");
    let e = &t.engine;
    let filter = EventFilter::parse(&["type=container".into()]).unwrap();
    let mut events = e
        .events(EventOptions {
            filter,
            ..Default::default()
        })
        .unwrap();
    let c = e
        .create_container(&sh_opts("bb", "echo out; echo err >&2; exit 7"))
        .unwrap();
    e.start_container(&c.id).unwrap();
    assert_eq!(e.wait_container(&c.id).unwrap(), 7);
    let lines: Vec<_> = e
        .logs(&c.id, LogOptions::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let by_stream: BTreeSet<_> = lines
        .iter()
        .map(|l| (l.stream.as_str(), l.log.as_str()))
        .collect();
    assert_eq!(
        by_stream,
        BTreeSet::from([("stderr", "err\n"), ("stdout", "out\n")])
    );
    let tail: Vec<_> = e
        .logs(
            &c.id,
            LogOptions {
                tail: Some(1),
                ..Default::default()
            },
        )
        .unwrap()
        .collect();
    assert_eq!(tail.len(), 1);
    e.remove_container(&c.id, false).unwrap();
    // Typed errors: the removed container is not found, by kind.
    let gone = e.container(&c.id).unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert_eq!(gone.kind().http_status(), 404);
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("destroy") {
        let ev = events
            .next_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("an event within 10 s");
        assert_eq!(ev.id, c.id);
        seen.push(ev.action);
    }
    assert_eq!(seen, ["create", "start", "die", "destroy"]);
}

#[test]
fn exec_failures_and_events_are_typed() {
    let t = TestEngine::new();
    t.busybox("bb");
    let e = &t.engine;
    let c = e.create_container(&sh_opts("bb", "sleep 30")).unwrap();
    e.start_container(&c.id).unwrap();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let o = ministry::ExecOptions {
        cmd: vec!["nonexistent".into()],
        ..Default::default()
    };
    // As Docker's API has it: the exec runs and ends with 126, runc's words on its output.
    assert_eq!(
        e.exec_container(&c.id, &o, ministry::ContainerStdio::default())
            .unwrap(),
        126
    );
    let o = ministry::ExecOptions {
        cmd: vec!["sh".into(), "-c".into(), "exit 4".into()],
        ..Default::default()
    };
    assert_eq!(
        e.exec_container(&c.id, &o, ministry::ContainerStdio::default())
            .unwrap(),
        4
    );
    // A program that cannot start as the container's command: typed 127 too.
    let bad = RunOptions {
        cmd: vec!["/nope".into()],
        ..sh_opts("bb", "")
    };
    let b = e.create_container(&bad).unwrap();
    let err = e.start_container(&b.id).unwrap_err();
    assert_eq!(err.exit_code(), Some(127), "{err}");
    let filter = EventFilter::parse(&["event=exec_die".into()]).unwrap();
    let dies: Vec<String> = e
        .events(EventOptions {
            since: Some(since),
            until: Some(since + 60_000_000_000),
            filter,
        })
        .unwrap()
        .take(2)
        .map(|ev| ev.unwrap().attributes["exitCode"].clone())
        .collect();
    assert_eq!(dies, ["126", "4"]);
}

#[test]
fn ten_threads_on_one_engine() {
    let t = TestEngine::new();
    t.busybox("bb");
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let e = t.engine.clone();
            std::thread::spawn(move || {
                let c = e
                    .create_container(&RunOptions {
                        name: Some(format!("worker{i}")),
                        ..sh_opts("bb", &format!("echo thread {i}; exit {i}"))
                    })
                    .unwrap();
                e.start_container(&c.id).unwrap();
                assert_eq!(e.wait_container(&c.id).unwrap(), i);
                assert_eq!(log_text(&e, &c.id), format!("thread {i}\n"));
                e.remove_container(&c.id, false).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(t.engine.containers().unwrap().is_empty());
}

#[test]
fn logs_follow_until_the_container_stops() {
    let t = TestEngine::new();
    t.busybox("bb");
    let e = &t.engine;
    let c = e
        .create_container(&sh_opts(
            "bb",
            "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done",
        ))
        .unwrap();
    e.start_container(&c.id).unwrap();
    let lines: Vec<String> = e
        .logs(
            &c.id,
            LogOptions {
                follow: true,
                ..Default::default()
            },
        )
        .unwrap()
        .map(|l| l.unwrap().log)
        .collect();
    assert_eq!(
        lines,
        (1..=5).map(|i| format!("line {i}\n")).collect::<Vec<_>>()
    );
}

#[test]
fn registry_calls_from_async_code_do_not_panic() {
    let t = TestEngine::new();
    t.busybox("bb");
    let reg = Registry::start(None);
    let name = format!("{}/engine/bb:1", reg.host);
    t.engine
        .tag_image("bb", &Reference::parse(&name).unwrap())
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = t.engine.clone();
    // Called directly on a runtime's thread (no spawn_blocking): no nested-runtime panic.
    rt.block_on(async {
        e.push_image(&name, &|_| {}).unwrap();
        e.remove_image(&name, false).unwrap();
        e.remove_image("bb", false).unwrap();
        let pulled = e.pull_image(&name, &Default::default(), &|_| {}).unwrap();
        assert!(pulled.digest.to_string().starts_with("sha256:"));
    });
    let c = t
        .engine
        .create_container(&sh_opts(&name, "echo pulled"))
        .unwrap();
    t.engine.start_container(&c.id).unwrap();
    assert_eq!(t.engine.wait_container(&c.id).unwrap(), 0);
    assert_eq!(log_text(&t.engine, &c.id), "pulled\n");
    let missing = t
        .engine
        .pull_image(
            &format!("{}/engine/none:1", reg.host),
            &Default::default(),
            &|_| {},
        )
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
}

#[test]
fn many_processes_updating_one_record_lose_nothing() {
    let m = Ministry::new();
    m.busybox("busybox");
    let id = m
        .ok(&["create", "--name", "shared", "busybox", "true"])
        .trim()
        .to_string();
    let nets: Vec<String> = (0..8).map(|i| format!("net{i}")).collect();
    for n in &nets {
        m.ok(&["network", "create", n]);
    }
    // 8 processes connect 8 networks and 2 change the restart policy, all at once.
    let mut children = Vec::new();
    for n in &nets {
        let mut c = m.cmd();
        c.args(["network", "connect", n, &id])
            .stderr(std::process::Stdio::piped());
        children.push(c.spawn().unwrap());
    }
    for _ in 0..2 {
        let mut c = m.cmd();
        c.args(["update", "--restart", "on-failure:3", &id])
            .stderr(std::process::Stdio::piped());
        children.push(c.spawn().unwrap());
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let got = m.ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &id,
    ]);
    let got: BTreeSet<&str> = got.split_whitespace().collect();
    for n in &nets {
        assert!(got.contains(n.as_str()), "{n} lost: {got:?}");
    }
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            &id
        ]),
        "on-failure:3\n"
    );
}

#[test]
fn the_orchestrator_example_keeps_replicas_running() {
    require_root();
    // `cargo test` builds the examples next to the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/orchestrator");
    assert!(example.exists(), "{} not built", example.display());
    let tmp = tempfile::tempdir().unwrap();
    let tar = busybox_tar(tmp.path());
    let o = Command::new(&example)
        .arg(&tar)
        .args(["2", "3"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out.matches("replacing replica-").count(), 3, "{out}");
    assert_eq!(out.matches("exited 3: replica ").count(), 3, "{out}");
}
