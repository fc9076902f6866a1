//! `pull`, `push`, `login`, `logout`, `search` and `run`'s pull of a missing image through
//! the binary, against the real registry; and interoperability with Docker both ways
//! (identical digests and image IDs, and Docker runs what ministry pushed).

mod common;

use std::io::Write;
use std::process::Stdio;

use common::*;

#[test]
fn push_pull_and_run_pulls_a_missing_image() {
    let reg = Registry::start(None);
    let m = Ministry::host_network();
    m.busybox("busybox");
    let name = format!("{}/busybox", reg.host);
    m.ok(&["tag", "busybox", &name]);
    let pushed = m.ok(&["push", &name]);
    let lines: Vec<&str> = pushed.lines().collect();
    assert_eq!(lines[0], "Using default tag: latest");
    assert_eq!(lines[1], format!("The push refers to repository [{name}]"));
    assert!(
        lines[2..lines.len() - 1]
            .iter()
            .any(|l| l.ends_with(": Pushed")),
        "{pushed}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("latest: digest: sha256:") && last.contains(" size: "),
        "{last}"
    );
    let digest = last.split_whitespace().nth(2).unwrap().to_string();
    // Again: nothing to upload.
    assert!(m.ok(&["push", &name]).contains(": Layer already exists"));

    let m2 = Ministry::host_network();
    let pulled = m2.ok(&["pull", &name]);
    assert_eq!(
        pulled
            .lines()
            .filter(|l| !l.contains(": "))
            .collect::<Vec<_>>(),
        [format!("{name}:latest")],
        "{pulled}"
    );
    assert!(
        pulled.starts_with("Using default tag: latest\nlatest: Pulling from busybox\n"),
        "{pulled}"
    );
    assert!(pulled.contains(": Pull complete\n"), "{pulled}");
    assert!(pulled.contains(&format!("Digest: {digest}\n")), "{pulled}");
    assert!(
        pulled.contains(&format!(
            "Status: Downloaded newer image for {name}:latest\n"
        )),
        "{pulled}"
    );
    assert!(m2
        .ok(&["pull", &name])
        .contains(&format!("Status: Image is up to date for {name}:latest")));
    assert_eq!(m2.ok(&["pull", "-q", &name]), format!("{name}:latest\n"));
    assert_eq!(
        m2.ok(&["images", "--format", "{{.ID}}", &name]),
        m.ok(&["images", "--format", "{{.ID}}", "busybox"])
    );
    assert_eq!(
        m2.ok(&["inspect", "-f", "{{json .RepoDigests}}", &name]),
        format!("[\"{name}@{digest}\"]\n")
    );

    // run pulls what is missing (progress on stderr, like Docker), then runs it.
    let m3 = Ministry::host_network();
    let o = m3.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "echo",
        "pulled and ran",
    ]);
    let (code, stdout, stderr) = out(&o);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "pulled and ran\n"),
        "{stderr}"
    );
    assert!(
        stderr.starts_with(&format!("Unable to find image '{name}:latest' locally\n")),
        "{stderr}"
    );

    // Missing image and tag: Docker's messages and exit codes.
    let (code, _, err) = out(&m3.run(&["pull", &format!("{}/nosuch", reg.host)]));
    assert_eq!(code, Some(1));
    assert!(err.ends_with(&format!("Error response from daemon: manifest for {}/nosuch:latest not found: manifest unknown: manifest unknown\n", reg.host)), "{err}");
    let (code, _, err) = out(&m3.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        &format!("{}/nosuch", reg.host),
        "true",
    ]));
    assert_eq!(code, Some(125));
    assert!(err.contains("manifest unknown"), "{err}");
    let (code, _, err) = out(&m3.run(&["push", &format!("{}/other", reg.host)]));
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!(
            "An image does not exist locally with the tag: {}/other",
            reg.host
        )),
        "{err}"
    );

    // pull -a: every tag of the repository.
    m.ok(&["tag", "busybox", &format!("{name}:second")]);
    m.ok(&["push", &format!("{name}:second")]);
    let m4 = Ministry::host_network();
    let all = m4.ok(&["pull", "-a", "-q", &name]);
    assert_eq!(all, format!("{name}:latest\n{name}:second\n"));
    assert_eq!(
        m4.ok(&["images", "-q"]).lines().count(),
        1,
        "one image, two tags"
    );

    // search: the registry's catalog, filtered.
    let s = m3.ok(&["search", &format!("{}/busy", reg.host)]);
    assert_eq!(
        s.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
    );
    assert!(s.lines().nth(1).unwrap().starts_with(&name), "{s}");
    assert_eq!(
        m3.ok(&["search", &format!("{}/nothing", reg.host)])
            .lines()
            .count(),
        1
    );
}

#[test]
fn login_logout_with_basic_auth() {
    let reg = Registry::start(Some(("alice", "s3cret")));
    let m = Ministry::host_network();
    m.busybox("busybox");
    let name = format!("{}/private:1", reg.host);
    m.ok(&["tag", "busybox", &name]);
    let (code, _, err) = out(&m.run(&["push", &name]));
    assert_eq!(code, Some(1));
    assert!(err.contains("unauthorized"), "{err}");
    let login = |pass: &str| {
        let mut c = m
            .cmd()
            .args(["login", "-u", "alice", "--password-stdin", &reg.host])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{pass}\n").as_bytes())
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let (code, _, err) = out(&login("wrong"));
    assert_eq!(code, Some(1));
    assert_eq!(err, format!("Error response from daemon: login attempt to http://{}/v2/ failed with status: 401 Unauthorized\n", reg.host));
    assert!(!m.root.path().join("config/config.json").exists());
    let (code, stdout, _) = out(&login("s3cret"));
    assert_eq!((code, stdout.as_str()), (Some(0), "Login Succeeded\n"));
    let cfg = m.root.path().join("config/config.json");
    let meta = std::fs::metadata(&cfg).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    assert!(
        !std::fs::read_to_string(&cfg).unwrap().contains("s3cret"),
        "stored base64, as Docker"
    );
    m.ok(&["push", &name]);
    let m2 = Ministry::host_network();
    let (code, _, err) = out(&m2.run(&["pull", &name]));
    assert_eq!(code, Some(1), "{err}");
    // -p works too (with Docker's warning).
    let o = m2.run(&["login", "-u", "alice", "-p", "s3cret", &reg.host]);
    assert_eq!(
        out(&o).2,
        "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
    );
    m2.ok(&["pull", &name]);
    assert_eq!(
        m2.ok(&["logout", &reg.host]),
        format!("Removing login credentials for {}\n", reg.host)
    );
    assert_eq!(
        m2.ok(&["logout", &reg.host]),
        format!("Not logged in to {}\n", reg.host)
    );
}

#[test]
fn docker_interoperability_both_ways() {
    let dk = Docker::start();
    let reg = Registry::start(None);
    let m = Ministry::host_network();
    let tmp = tempfile::tempdir().unwrap();
    let tar = busybox_tar(tmp.path());
    // Docker -> registry -> ministry: the same digest and image ID; ministry runs it.
    let from_docker = format!("{}/fromdocker:1", reg.host);
    sh(dk
        .cmd()
        .args(["import", tar.to_str().unwrap(), &from_docker]));
    let pushed = dk.ok(&["push", &from_docker]);
    let digest = pushed
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    let pulled = m.ok(&["pull", &from_docker]);
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.Id}}", &from_docker]),
        dk.ok(&["inspect", "-f", "{{.Id}}", &from_docker])
    );
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &from_docker,
            "echo",
            "ok"
        ]),
        "ok\n"
    );
    // ministry -> registry -> Docker: the same digest; Docker runs it.
    let from_ministry = format!("{}/fromministry:2", reg.host);
    m.ok_stdin(
        &["import", "-c", "CMD [\"/bin/sh\"]", "-", &from_ministry],
        &tar,
    );
    let pushed = m.ok(&["push", &from_ministry]);
    let digest = pushed
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    let pulled = dk.ok(&["pull", &from_ministry]);
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    assert_eq!(
        dk.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &from_ministry,
            "echo",
            "docker ran it"
        ]),
        "docker ran it\n"
    );
}

/// On a terminal, pull and push redraw one line per layer in place (indicatif), ending in
/// Docker's final states; `-q` prints only the reference.
#[test]
fn progress_on_a_terminal_and_quiet() {
    require_tool("script");
    let reg = Registry::start(None);
    let m = Ministry::host_network();
    m.busybox("busybox");
    let name = format!("{}/busybox:tty", reg.host);
    m.ok(&["tag", "busybox", &name]);
    let run = |args: &str| {
        let o = m
            .in_terminal(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        String::from_utf8_lossy(&o.stdout).replace('\r', "")
    };
    let pushed = run(&format!("push {name}"));
    assert!(pushed.contains("\x1b["), "redrawn in place: {pushed:?}");
    assert!(pushed.contains(": Pushed"), "{pushed}");
    assert!(pushed.contains("tty: digest: sha256:"), "{pushed}");
    m.ok(&["rmi", &name, "busybox"]);
    let pulled = run(&format!("pull {name}"));
    assert!(pulled.contains("\x1b["), "redrawn in place: {pulled:?}");
    assert!(pulled.contains(": Pull complete"), "{pulled}");
    assert!(
        pulled.contains(&format!("Status: Downloaded newer image for {name}")),
        "{pulled}"
    );
    // Quiet: the reference alone, terminal or not.
    assert_eq!(m.ok(&["push", "-q", &name]), format!("{name}\n"));
    assert_eq!(run(&format!("pull -q {name}")), format!("{name}\n"));
}
