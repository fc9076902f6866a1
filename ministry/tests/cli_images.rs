//! The image commands end to end through the `ministry` binary, and interoperability with
//! the real tools: Docker 20.10 (`docker save`/`load`/`run`), skopeo and umoci.

mod common;

use std::process::Command;

use common::*;

fn imported(m: &Ministry, tmp: &std::path::Path, name: &str) -> String {
    let tar = busybox_tar(tmp);
    let id = m.ok_stdin(&["import", "-", name], &tar);
    assert!(id.starts_with("sha256:") && id.trim().len() == 71, "{id}");
    id.trim().to_string()
}

#[test]
fn import_images_tag_history_rmi_like_docker() {
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    let id = imported(&m, tmp.path(), "busybox");
    let short = &id[7..19];
    let out = m.ok(&["images"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE"
    );
    assert!(
        lines[1].starts_with(&format!("busybox      latest    {short}   ")),
        "{out}"
    );
    assert!(lines[1].ends_with("MB"), "{out}");
    m.ok(&["tag", "busybox", "me/bb:2"]);
    assert_eq!(m.ok(&["images", "-q"]), format!("{short}\n"));
    assert!(m.ok(&["images", "--no-trunc"]).contains(&id));
    assert_eq!(m.ok(&["images", "me/*"]).lines().count(), 2);
    let h = m.ok(&["history", "busybox"]);
    assert!(
        h.starts_with("IMAGE          CREATED                  CREATED BY   SIZE      COMMENT\n"),
        "{h}"
    );
    assert!(h.contains("Imported from -"));
    let insp: serde_json::Value =
        serde_json::from_str(&m.ok(&["image", "inspect", "busybox"])).unwrap();
    assert_eq!(insp[0]["Id"], id.as_str());
    assert_eq!(
        insp[0]["RepoTags"],
        serde_json::json!(["busybox:latest", "me/bb:2"])
    );
    assert_eq!(insp[0]["Os"], "linux");

    // Docker's messages and exit codes.
    let o = m.run(&["rmi", "nothere"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error response from daemon: No such image: nothere:latest\n"
    );
    let o = m.run(&["tag", "busybox", "Bad:x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("repository name (library/Bad) must be lowercase"));
    let o = m.run(&["image", "inspect", "nothere"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "[]\n");
    let o = m.run(&["rmi", &id[7..]]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("image is referenced in multiple repositories")
    );
    assert_eq!(m.ok(&["rmi", "me/bb:2"]), "Untagged: me/bb:2\n");
    // The image, then its layer (by chain ID), as Docker lists them.
    let rmi = m.ok(&["rmi", "busybox"]);
    assert!(
        rmi.starts_with(&format!(
            "Untagged: busybox:latest\nDeleted: {id}\nDeleted: sha256:"
        )),
        "{rmi}"
    );
    assert_eq!(rmi.lines().count(), 3, "{rmi}");
    assert_eq!(m.ok(&["images", "-q"]), "");
    assert!(m.ok(&["system", "check"]).contains("No problems found"));
}

#[test]
fn import_change_and_message() {
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    let tar = busybox_tar(tmp.path());
    m.ok(&[
        "import",
        "-c",
        "CMD [\"/bin/sh\"]",
        "-c",
        "ENV A=1",
        "-m",
        "hello",
        tar.to_str().unwrap(),
        "x:1",
    ]);
    let insp: serde_json::Value = serde_json::from_str(&m.ok(&["inspect", "x:1"])).unwrap();
    assert_eq!(insp[0]["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(insp[0]["Config"]["Env"], serde_json::json!(["A=1"]));
    assert_eq!(insp[0]["Comment"], "hello");
    let o = m.run(&["import", "-c", "RUN true", tar.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        m.ok(&["images", "-q"]).lines().count(),
        1,
        "a refused import adds nothing"
    );
}

#[test]
fn save_is_read_by_skopeo_and_umoci() {
    require_tool("skopeo");
    require_tool("umoci");
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    let id = imported(&m, tmp.path(), "busybox:1.0");
    let out = tmp.path().join("save.tar");
    m.ok(&["save", "-o", out.to_str().unwrap(), "busybox:1.0"]);
    let j: serde_json::Value = serde_json::from_str(&sh(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("docker-archive:{}", out.display()),
    ])))
    .unwrap();
    assert_eq!(j["rootfs"]["type"], "layers");
    let cfg = sh(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--config",
        &format!("docker-archive:{}", out.display()),
    ]));
    assert_eq!(
        format!("sha256:{}", sha256_hex(cfg.as_bytes())),
        id,
        "skopeo sees the same config bytes"
    );
    let layout = tmp.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    sh(Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-xf")
        .arg(&out));
    assert_eq!(
        sh(Command::new("umoci").args(["ls", "--layout", layout.to_str().unwrap()])),
        "1.0\n"
    );
    let bundle = tmp.path().join("bundle");
    sh(Command::new("umoci").args([
        "unpack",
        "--image",
        &format!("{}:1.0", layout.display()),
        bundle.to_str().unwrap(),
    ]));
    assert!(bundle.join("rootfs/bin/busybox").is_file());
}

fn sha256_hex(data: &[u8]) -> String {
    let o = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    o.stdin.as_ref().unwrap().write_all(data).unwrap();
    let out = o.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn skopeo_docker_archive_and_oci_archive_load() {
    require_tool("skopeo");
    require_tool("umoci");
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    // An image made by umoci alone (independent of ministry), copied by skopeo into both
    // archive formats.
    let layout = tmp.path().join("oci");
    let lp = layout.to_str().unwrap();
    sh(Command::new("umoci").args(["init", "--layout", lp]));
    sh(Command::new("umoci").args(["new", "--image", &format!("{lp}:t")]));
    let bundle = tmp.path().join("b");
    sh(Command::new("umoci").args([
        "unpack",
        "--image",
        &format!("{lp}:t"),
        bundle.to_str().unwrap(),
    ]));
    std::fs::create_dir_all(bundle.join("rootfs/etc")).unwrap();
    std::fs::write(bundle.join("rootfs/etc/hello"), b"from umoci").unwrap();
    sh(Command::new("umoci").args([
        "repack",
        "--image",
        &format!("{lp}:t"),
        bundle.to_str().unwrap(),
    ]));
    let da = tmp.path().join("da.tar");
    let oa = tmp.path().join("oa.tar");
    sh(Command::new("skopeo").args([
        "copy",
        "-q",
        &format!("oci:{lp}:t"),
        &format!("docker-archive:{}:umoci/img:da", da.display()),
    ]));
    sh(Command::new("skopeo").args([
        "copy",
        "-q",
        &format!("oci:{lp}:t"),
        &format!("oci-archive:{}:docker.io/umoci/img:oa", oa.display()),
    ]));
    assert_eq!(
        m.ok(&["load", "-i", da.to_str().unwrap()]),
        "Loaded image: umoci/img:da\n"
    );
    assert_eq!(m.ok_stdin(&["load"], &oa), "Loaded image: umoci/img:oa\n");
    let out = m.ok(&["images"]);
    assert!(
        out.contains("umoci/img") && out.contains("da") && out.contains("oa"),
        "{out}"
    );
    let bad = tmp.path().join("bad.tar");
    std::fs::write(&bad, b"not a tar at all").unwrap();
    assert_eq!(
        m.run(&["load", "-i", bad.to_str().unwrap()]).status.code(),
        Some(1)
    );
}

#[test]
fn docker_round_trip_same_ids() {
    let dk = Docker::start();
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    let id = imported(&m, tmp.path(), "busybox");
    // ministry save -> docker load -> docker run
    let out = tmp.path().join("m.tar");
    m.ok(&["save", "-o", out.to_str().unwrap(), "busybox"]);
    assert_eq!(
        dk.ok(&["load", "-i", out.to_str().unwrap()]),
        "Loaded image: busybox:latest\n"
    );
    assert_eq!(
        dk.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"])
            .trim(),
        id
    );
    assert_eq!(
        dk.ok(&["run", "--rm", "--network", "none", "busybox", "echo", "hi"]),
        "hi\n"
    );
    // A multi-layer image built by Docker (with a whiteout) -> docker save -> ministry load.
    let ctx = tmp.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN mkdir /data && echo hi > /data/f && rm /bin/vi\nCMD [\"sh\"]\n",
    )
    .unwrap();
    let o = dk
        .cmd()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", "multi:1", ctx.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dt = tmp.path().join("d.tar");
    dk.ok(&["save", "-o", dt.to_str().unwrap(), "multi:1"]);
    let m2 = Ministry::new();
    assert_eq!(
        m2.ok(&["load", "-i", dt.to_str().unwrap()]),
        "Loaded image: multi:1\n"
    );
    let did = dk.ok(&["image", "inspect", "-f", "{{.Id}}", "multi:1"]);
    let insp: serde_json::Value = serde_json::from_str(&m2.ok(&["inspect", "multi:1"])).unwrap();
    assert_eq!(insp[0]["Id"], did.trim());
    assert_eq!(insp[0]["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert!(m2.ok(&["system", "check"]).contains("No problems found"));
}
