//! `run`, `ps` and `rm` through the binary: real containers from an imported busybox
//! image, Docker's environment, users, exit codes and messages, and nothing left behind.

mod common;

use common::*;

fn out(o: &std::process::Output) -> (Option<i32>, String, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

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
    assert!(
        err.starts_with(
            "ministry: Error response from daemon: Unable to find image 'nothere:1' locally"
        ),
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
