//! Real Docker API clients against `ministry daemon`: docker-compose 1.29 bringing up a
//! two-service application, docker-py scripts, the docker CLI over TCP with mutual TLS,
//! and the daemon's own guarantees (one daemon per data root, the socket's mode,
//! containers outliving the daemon, restart policies applied when it starts).

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A ministry data root with busybox, and its daemon.
fn daemon() -> (Ministry, MinistryDaemon) {
    let m = Ministry::new();
    m.busybox("busybox");
    let d = MinistryDaemon::start(&m);
    (m, d)
}

/// Runs `f` in the test's network namespace (where the daemon's containers and ports
/// are), on a thread of its own.
fn in_netns<T: Send + 'static>(m: &Ministry, f: impl FnOnce() -> T + Send + 'static) -> T {
    let fd = m.netns_fd();
    std::thread::spawn(move || {
        // SAFETY: setns affects only this thread, which ends after `f`.
        assert_eq!(unsafe { libc::setns(fd, libc::CLONE_NEWNET) }, 0, "setns");
        f()
    })
    .join()
    .unwrap()
}

/// An HTTP GET on a loopback port of the namespace; the body.
fn http_get(m: &Ministry, port: u16) -> Option<String> {
    in_netns(m, move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split("\r\n\r\n").nth(1).map(str::to_string)
    })
}

fn compose(
    m: &Ministry,
    d: &MinistryDaemon,
    dir: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    require_tool("docker-compose");
    let mut c = Command::new("docker-compose");
    c.current_dir(dir)
        .env("DOCKER_HOST", format!("unix://{}", d.sock.display()))
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .args(["-p", "mtest"])
        .args(args)
        .stdin(Stdio::null());
    let _ = m;
    c.output().unwrap()
}

#[test]
fn docker_compose_brings_up_two_services_on_a_network_with_a_volume() {
    let (m, d) = daemon();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        r#"version: "3.8"
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["127.0.0.1:18080:80"]
    volumes: ["data:/www"]
    networks: [appnet]
  client:
    image: busybox
    command: ["sh", "-c", "echo hello from compose > /data/index.html; sleep 1000"]
    volumes: ["data:/data"]
    networks: [appnet]
networks:
  appnet: {}
volumes:
  data: {}
"#,
    )
    .unwrap();
    let up = compose(&m, &d, dir.path(), &["up", "-d"]);
    assert!(
        up.status.success(),
        "compose up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    // The client reaches the web server by its service name, over the network.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut fetched = String::new();
    while Instant::now() < deadline {
        let o = compose(
            &m,
            &d,
            dir.path(),
            &["exec", "-T", "client", "wget", "-qO-", "http://web/"],
        );
        fetched = String::from_utf8_lossy(&o.stdout).into_owned();
        if fetched.contains("hello from compose") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        fetched.trim(),
        "hello from compose",
        "{}\n{}",
        d.ok(&["ps", "-a"]),
        String::from_utf8_lossy(
            &d.run(&["exec", "mtest_client_1", "cat", "/etc/hosts"])
                .stdout
        )
    );
    // The published port answers on the host (the test's namespace).
    assert_eq!(
        http_get(&m, 18080).as_deref().map(str::trim),
        Some("hello from compose")
    );
    let ps = compose(&m, &d, dir.path(), &["ps"]);
    let ps_out = String::from_utf8_lossy(&ps.stdout);
    assert!(
        ps.status.success(),
        "{}",
        String::from_utf8_lossy(&ps.stderr)
    );
    assert!(
        ps_out.contains("mtest_web_1") && ps_out.contains("mtest_client_1"),
        "{ps_out}"
    );
    assert!(ps_out.contains("Up"), "{ps_out}");
    assert!(ps_out.contains("127.0.0.1:18080->80/tcp"), "{ps_out}");
    let logs = compose(&m, &d, dir.path(), &["logs", "--no-color", "web"]);
    assert!(
        logs.status.success(),
        "{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    let down = compose(&m, &d, dir.path(), &["down", "-v"]);
    assert!(
        down.status.success(),
        "compose down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "");
    assert!(!d.ok(&["volume", "ls", "-q"]).contains("mtest_data"));
    assert!(!d.ok(&["network", "ls"]).contains("mtest_appnet"));
}

#[test]
fn docker_py_drives_containers_images_exec_logs_networks_and_volumes() {
    let (m, d) = daemon();
    require_tool("/usr/bin/python3");
    let script = r#"
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto")
assert c.ping()
assert any("busybox:latest" in i.tags for i in c.images.list())
out = c.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], network_mode="none", remove=True, stderr=True)
assert b"out" in out, out
ctr = c.containers.run("busybox", ["sleep", "100"], detach=True, name="py1", network_mode="none", labels={"k": "v"})
ctr.reload()
assert ctr.status == "running", ctr.status
assert ctr.labels["k"] == "v"
code, output = ctr.exec_run(["sh", "-c", "echo in-exec; exit 3"])
assert code == 3 and output == b"in-exec\n", (code, output)
code, output = ctr.exec_run("cat /etc/hostname")
assert code == 0 and output.decode().strip() == ctr.id[:12], output
assert [x.name for x in c.containers.list(filters={"label": "k=v"})] == ["py1"]
ctr.stop(timeout=1)
ctr.reload()
assert ctr.status == "exited", ctr.status
ctr2 = c.containers.run("busybox", ["sh", "-c", "echo line1; echo line2"], detach=True, network_mode="none")
assert ctr2.wait()["StatusCode"] == 0
assert ctr2.logs() == b"line1\nline2\n", ctr2.logs()
ctr2.remove()
net = c.networks.create("pynet", driver="bridge")
ctr3 = c.containers.create("busybox", ["sleep", "100"], name="py3")
net.connect(ctr3)
net.reload()
ctr3.start()
net.reload()
assert "py3" in [x.name for x in net.containers], net.attrs
ctr3.remove(force=True)
net.remove()
vol = c.volumes.create("pyvol", labels={"a": "b"})
assert c.volumes.get("pyvol").attrs["Labels"] == {"a": "b"}
ctr4 = c.containers.run("busybox", ["sh", "-c", "echo data > /v/f"], volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, network_mode="none", remove=True)
out = c.containers.run("busybox", ["cat", "/v/f"], volumes=["pyvol:/v"], network_mode="none", remove=True)
assert out == b"data\n", out
vol.remove()
img = c.images.get("busybox")
img.tag("busybox", "py-tag")
assert "busybox:py-tag" in c.images.get("busybox:py-tag").tags
c.images.remove("busybox:py-tag")
c.containers.get("py1").remove()
try:
    c.containers.get("nope")
    raise SystemExit("found a missing container")
except docker.errors.NotFound:
    pass
print("docker-py ok")
"#;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.py");
    std::fs::write(&p, script).unwrap();
    let o = Command::new("/usr/bin/python3")
        .arg(&p)
        .arg(format!("unix://{}", d.sock.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "docker-py: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "docker-py ok");
    drop(m);
}

/// Makes a CA, a server certificate for 127.0.0.1 and a client certificate (openssl).
fn certificates(dir: &std::path::Path) {
    require_tool("openssl");
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "server-cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "client.csr",
        "-subj",
        "/CN=client",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "client.ext",
    ]);
}

#[test]
fn tcp_with_tlsverify_refuses_clients_without_a_signed_certificate() {
    let m = Ministry::new();
    m.busybox("busybox");
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let c = |f: &str| certs.path().join(f).display().to_string();
    let log = std::fs::File::create(m.root.path().join("tls.log")).unwrap();
    let mut child = m
        .cmd()
        .args(["daemon", "-H", "tcp://127.0.0.1:12376", "--tlsverify"])
        .args([
            "--tlscacert",
            &c("ca.pem"),
            "--tlscert",
            &c("server-cert.pem"),
            "--tlskey",
            &c("server-key.pem"),
        ])
        .arg("-p")
        .arg(m.root.path().join("tls.pid"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let docker = |args: &[&str]| {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_CONFIG", m.root.path().join("tls-docker-config"))
            .env_remove("DOCKER_HOST")
            .args(["-H", "tcp://127.0.0.1:12376"])
            .args(args)
            .stdin(Stdio::null());
        m.enter(&mut cmd);
        cmd.output().unwrap()
    };
    let with_cert = [
        "--tlsverify",
        "--tlscacert",
        &c("ca.pem"),
        "--tlscert",
        &c("cert.pem"),
        "--tlskey",
        &c("key.pem"),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ok = None;
    while Instant::now() < deadline {
        let mut a: Vec<&str> = with_cert.to_vec();
        a.extend(["version", "--format", "{{.Server.APIVersion}}"]);
        let o = docker(&a);
        if o.status.success() {
            ok = Some(String::from_utf8_lossy(&o.stdout).trim().to_string());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        ok.as_deref(),
        Some("1.44"),
        "{}",
        std::fs::read_to_string(m.root.path().join("tls.log")).unwrap_or_default()
    );
    let mut a: Vec<&str> = with_cert.to_vec();
    a.extend([
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "echo",
        "over-tls",
    ]);
    let o = docker(&a);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "over-tls\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // No client certificate: refused at the handshake.
    let o = docker(&["--tls", "--tlscacert", &c("ca.pem"), "version"]);
    assert!(!o.status.success());
    // Plain HTTP to the TLS port: refused too.
    let o = docker(&["version"]);
    assert!(!o.status.success());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

#[test]
fn one_daemon_per_data_root_and_a_socket_only_root_and_its_group_reach() {
    let (m, d) = daemon();
    let mode = std::fs::metadata(&d.sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let o = m
        .cmd()
        .args(["daemon", "-H"])
        .arg(format!(
            "unix://{}",
            m.root.path().join("second.sock").display()
        ))
        .arg("-p")
        .arg(m.root.path().join("second.pid"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("another ministry daemon is running on data root"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Errors come back as Docker's texts and codes through the real client.
    let o = d.run(&["inspect", "--type", "container", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such container: nosuch"));
}

#[test]
fn containers_outlive_the_daemon_and_restart_policies_apply_when_it_starts() {
    let m = Ministry::new();
    m.busybox("busybox");
    let d = MinistryDaemon::start(&m);
    let n = ["--network", "none"];
    d.ok(&[
        "run", "-d", "--name", "keeps", n[0], n[1], "busybox", "sleep", "1000",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        n[0],
        n[1],
        "busybox",
        "sleep",
        "1000",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "unless",
        "--restart",
        "unless-stopped",
        n[0],
        n[1],
        "busybox",
        "sleep",
        "1000",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "stopped",
        "--restart",
        "unless-stopped",
        n[0],
        n[1],
        "busybox",
        "sleep",
        "1000",
    ]);
    d.ok(&["stop", "-t", "0", "stopped"]);
    drop(d);
    // The daemon is gone; containers run on, seen by the daemonless CLI.
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.State.Status}}", "keeps"])
            .trim(),
        "running"
    );
    // A reboot, as the monitors see it: every monitor and program killed.
    for name in ["keeps", "always", "unless"] {
        let pid: i32 = m
            .ok(&["inspect", "-f", "{{.State.Pid}}", name])
            .trim()
            .parse()
            .unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let ppid: i32 = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: killing the test's own containers' monitor and program.
        unsafe {
            libc::kill(ppid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && m.ok(&["inspect", "-f", "{{.State.Running}}", "always"])
            .trim()
            == "true"
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let d = MinistryDaemon::start(&m);
    let status = |n: &str| {
        d.ok(&["inspect", "-f", "{{.State.Status}}", n])
            .trim()
            .to_string()
    };
    assert_eq!(status("always"), "running");
    assert_eq!(status("unless"), "running");
    assert_eq!(status("stopped"), "exited");
    assert_eq!(status("keeps"), "exited");
    d.ok(&["rm", "-f", "keeps", "always", "unless", "stopped"]);
}

/// The docker CLI on a terminal (`script`), through the daemon.
fn docker_in_terminal(
    m: &Ministry,
    d: &MinistryDaemon,
    setup: &str,
    args: &str,
) -> std::process::Output {
    let mut s = Command::new("script");
    s.args(["-qec", &format!("{setup} docker {args}"), "/dev/null"]);
    for (k, v) in d.cmd().get_envs() {
        if let Some(v) = v {
            s.env(k, v);
        }
    }
    m.enter(&mut s);
    s.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    s.spawn().unwrap().wait_with_output().unwrap()
}

#[test]
fn terminals_attach_logs_events_and_cp_through_the_docker_cli() {
    let (m, d) = daemon();
    // run -it: the terminal's size from the client, typed input, the exit code.
    let o = docker_in_terminal(
        &m,
        &d,
        "stty rows 33 cols 101;",
        "run -it --rm --network none busybox sh -c 'stty size; tty'",
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("33 101") && out.contains("/dev/pts/0"),
        "{out:?}"
    );
    let mut s = Command::new("script");
    s.args([
        "-qec",
        "docker run -it --rm --network none busybox sh",
        "/dev/null",
    ]);
    for (k, v) in d.cmd().get_envs() {
        if let Some(v) = v {
            s.env(k, v);
        }
    }
    m.enter(&mut s);
    let mut child = s
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo ty''ped; exit 5\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&o.stdout).contains("typed"));
    // exec -it.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "t1",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    let o = docker_in_terminal(
        &m,
        &d,
        "stty rows 40 cols 120;",
        "exec -it t1 sh -c 'stty size; tty'",
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("40 120") && out.contains("/dev/pts/"),
        "{out:?}"
    );
    // attach with input (no terminal): the client's end of input is the program's.
    d.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        "a1",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "read x; echo got $x",
    ]);
    let mut c = d.cmd();
    let mut child = c
        .args(["attach", "a1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "got hello\n");
    // logs -f ends with the container; events replay what happened.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    d.ok(&[
        "run",
        "-d",
        "--name",
        "lf",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo $i; sleep 0.2; done",
    ]);
    assert_eq!(d.ok(&["logs", "-f", "lf"]), "1\n2\n3\n");
    let until = (t0 + 60).to_string();
    let ev = d.ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &until,
        "--filter",
        "container=lf",
        "--format",
        "{{.Action}}",
    ]);
    let actions: Vec<&str> = ev.lines().collect();
    assert!(
        actions.starts_with(&["create", "attach"]) || actions.starts_with(&["create", "start"]),
        "{actions:?}"
    );
    assert!(actions.contains(&"die"), "{actions:?}");
    // cp both ways, and a directory's contents with SRC/.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/a"), "A").unwrap();
    let src = format!("{}/src/.", dir.path().display());
    d.ok(&["exec", "t1", "mkdir", "/dst"]);
    d.ok(&["cp", &src, "t1:/dst"]);
    assert_eq!(d.ok(&["exec", "t1", "cat", "/dst/a"]), "A");
    let back = dir.path().join("back");
    d.ok(&["cp", "t1:/dst/a", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "A");
    d.ok(&["rm", "-f", "t1", "a1", "lf"]);
}

#[test]
fn pull_and_push_through_the_docker_cli() {
    let reg = Registry::start(None);
    // The registry is on the machine's loopback: this daemon stays in its namespace.
    let m = Ministry::host_network();
    m.busybox("busybox");
    let d = MinistryDaemon::start(&m);
    let name = format!("{}/api/bb:1", reg.host);
    d.ok(&["tag", "busybox", &name]);
    let push = d.ok(&["push", &name]);
    assert!(
        push.contains("Pushed") && push.contains("digest: sha256:"),
        "{push}"
    );
    d.ok(&["rmi", &name]);
    let pull = d.ok(&["pull", &name]);
    assert!(
        pull.contains("Pull complete") || pull.contains("Already exists"),
        "{pull}"
    );
    assert!(
        pull.contains(&format!("Status: Downloaded newer image for {name}")),
        "{pull}"
    );
    assert_eq!(
        d.ok(&["run", "--rm", "--network", "none", &name, "echo", "pulled"]),
        "pulled\n"
    );
    // A missing image: Docker's error through the API.
    let o = d.run(&["pull", &format!("{}/api/nope:1", reg.host)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
}
