//! Volumes through the CLI: the volume commands, `-v`/`--mount`/`--volumes-from`, copy-up,
//! `rm -v`, the seeds' data-container and backup/restore recipes verbatim, a symlink at a
//! volume path, concurrency, and `inspect`'s `Mounts` side by side with Docker.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::*;

/// A busybox image with extra content under `/data` (owned 1000:1000, mode 0750, a 0640
/// file) and `VOLUME /data`, plus a symlink `/vol -> host` (an absolute host path).
fn image_with_data(m: &Ministry, tmp: &Path, host: &Path) -> String {
    busybox_tar(tmp);
    let rootfs = tmp.join("rootfs");
    let data = rootfs.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("seed"), b"from the image\n").unwrap();
    std::fs::set_permissions(data.join("seed"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
    sh(Command::new("chown").args(["-R", "1000:1000"]).arg(&data));
    std::os::unix::fs::symlink(host, rootfs.join("vol")).unwrap();
    let tar = tmp.join("data.tar");
    sh(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("--numeric-owner")
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    m.ok_stdin(&["import", "-c", "VOLUME /data", "-", "withdata"], &tar);
    "withdata".into()
}

#[test]
fn volume_commands_like_docker() {
    let m = Ministry::new();
    assert_eq!(m.ok(&["volume", "create", "v1"]), "v1\n");
    assert_eq!(
        m.ok(&[
            "volume",
            "create",
            "--label",
            "a=b",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "-o",
            "o=size=1m",
            "vt"
        ]),
        "vt\n"
    );
    let anon = m.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(anon.len(), 64);
    // Creating an existing volume returns it.
    assert_eq!(m.ok(&["volume", "create", "--name", "v1"]), "v1\n");
    let ls = m.ok(&["volume", "ls"]);
    let mut lines: Vec<&str> = ls.lines().collect();
    assert_eq!(
        lines.remove(0).split_whitespace().collect::<Vec<_>>(),
        ["DRIVER", "VOLUME", "NAME"]
    );
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.starts_with("local     ")), "{ls}");
    assert_eq!(m.ok(&["volume", "ls", "-q", "-f", "label=a=b"]), "vt\n");
    assert_eq!(m.ok(&["volume", "ls", "-q", "-f", "name=v"]), "v1\nvt\n");
    assert_eq!(
        m.ok(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}}|{{.Driver}}|{{.Labels}}",
            "-f",
            "name=vt"
        ]),
        "vt|local|a=b\n"
    );
    let (code, _, err) = out(&m.run(&["volume", "ls", "-f", "bogus=1"]));
    assert_eq!(
        (code, err.as_str()),
        (
            Some(1),
            "Error response from daemon: Invalid filter 'bogus'\n"
        )
    );

    let j: serde_json::Value = serde_json::from_str(&m.ok(&["volume", "inspect", "vt"])).unwrap();
    let keys: Vec<_> = j[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "CreatedAt",
            "Driver",
            "Labels",
            "Mountpoint",
            "Name",
            "Options",
            "Scope"
        ]
    );
    assert_eq!(j[0]["Options"]["type"], "tmpfs");
    assert_eq!(j[0]["Labels"]["a"], "b");
    assert!(j[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .ends_with("/volumes/vt/_data"));
    assert_eq!(
        m.ok(&["volume", "inspect", "-f", "{{.Name}} {{.Scope}}", "v1"]),
        "v1 local\n"
    );
    assert_eq!(m.ok(&["inspect", "-f", "{{.Driver}}", "v1"]), "local\n");
    let (code, stdout, err) = out(&m.run(&["volume", "inspect", "nosuch"]));
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "[]\n");
    assert_eq!(
        err,
        "Error response from daemon: get nosuch: no such volume\n"
    );

    // Bad input: clear errors, nothing made.
    for (args, msg) in [
        (vec!["volume", "create", "x"], "create x: volume name is too short, names should be at least two alphanumeric characters"),
        (vec!["volume", "create", "-d", "foo", "x2"], "create x2: error looking up volume plugin foo: plugin \"foo\" not found"),
        (vec!["volume", "create", "-o", "bogus=1", "x3"], "create x3: invalid option key: \"bogus\""),
    ] {
        let (code, _, err) = out(&m.run(&args));
        assert_eq!(code, Some(1), "{args:?}");
        assert_eq!(err, format!("Error response from daemon: {msg}\n"));
    }
    assert_eq!(m.ok(&["volume", "ls", "-q"]).lines().count(), 3);

    // In use (even by a stopped container): refused, with the users' IDs.
    m.busybox("busybox");
    let id = m
        .ok(&["create", "-v", "v1:/data", "busybox", "true"])
        .trim()
        .to_string();
    let (code, _, err) = out(&m.run(&["volume", "rm", "v1"]));
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        format!("Error response from daemon: remove v1: volume is in use - [{id}]\n")
    );
    assert_eq!(
        m.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]),
        format!("{anon}\nvt\n")
    );
    let (code, stdout, err) = out(&m.run(&["volume", "rm", "vt", "nosuch"]));
    assert_eq!((code, stdout.as_str()), (Some(1), "vt\n"));
    assert_eq!(
        err,
        "Error response from daemon: get nosuch: no such volume\n"
    );
    assert_eq!(m.ok(&["volume", "rm", "-f", "nosuch"]), "nosuch\n");

    // prune: anonymous unused volumes only; -a all unused ones; never one in use.
    m.ok(&["volume", "create", "named2"]);
    let p = m.ok(&["volume", "prune", "-f"]);
    assert_eq!(
        p,
        format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n")
    );
    let p = m.ok(&["volume", "prune", "-f", "-a"]);
    assert_eq!(p, "Deleted Volumes:\nnamed2\n\nTotal reclaimed space: 0B\n");
    assert_eq!(m.ok(&["volume", "ls", "-q"]), "v1\n");
    // Without -f it asks; anything but yes keeps everything.
    m.ok(&["rm", &id]);
    let o = m
        .cmd()
        .args(["volume", "prune", "-a"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"n\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("Are you sure you want to continue? [y/N]"));
    assert_eq!(m.ok(&["volume", "ls", "-q"]), "v1\n");
    assert_eq!(m.ok(&["volume", "rm", "v1"]), "v1\n");
}

#[test]
fn volumes_binds_tmpfs_and_inspect_mounts() {
    let m = Ministry::new();
    m.busybox("busybox");
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("hostdir");
    let file = tmp.path().join("conf");
    std::fs::write(&file, b"setting=1\n").unwrap();
    let bind = format!("{}:/h:ro", host.display());
    let fbind = format!("{}:/etc/app.conf", file.display());
    let o = m.ok(&[
        "run", "--name", "vc1", "-v", "v1:/data", "-v", &bind, "-v", "/anon", "-v", &fbind,
        "--mount", "type=tmpfs,target=/tt,tmpfs-size=1m", "busybox", "sh", "-c",
        "echo hi > /data/f && cat /etc/app.conf && grep -E ' /(data|h|anon|tt) ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1 && touch /h/x 2>/dev/null || echo h-readonly",
    ]);
    assert_eq!(
        o,
        "setting=1\n/data rw\n/h ro\n/anon rw\n/tt rw\nh-readonly\n"
    );
    // `-v` made the missing host directory, as Docker does.
    assert!(host.is_dir());
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{json .HostConfig.Binds}} {{json .Config.Volumes}}",
            "vc1"
        ]),
        format!("[\"v1:/data\",\"{bind}\",\"{fbind}\"] {{\"/anon\":{{}}}}\n")
    );
    let mounts: serde_json::Value =
        serde_json::from_str(&m.ok(&["inspect", "-f", "{{json .Mounts}}", "vc1"])).unwrap();
    let by_dest = |d: &str| {
        mounts
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["Destination"] == d)
            .unwrap()
            .clone()
    };
    assert_eq!(by_dest("/data")["Name"], "v1");
    assert_eq!(by_dest("/data")["Mode"], "z");
    assert_eq!(by_dest("/h")["RW"], false);
    assert_eq!(by_dest("/h")["Propagation"], "rprivate");
    assert_eq!(by_dest("/tt")["Type"], "tmpfs");
    let anon = by_dest("/anon")["Name"].as_str().unwrap().to_string();
    assert_eq!(anon.len(), 64);

    // Bad mounts are refused with Docker's messages, exit 125, and leave nothing.
    let before = m.ok(&["volume", "ls", "-q"]);
    for (args, msg) in [
        (vec!["--mount", "type=bind,source=/nonexistent-ministry,target=/x"], "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-ministry"),
        (vec!["-v", "/a:/"], "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"),
        (vec!["-v", "/t:/x:ro,rw"], "invalid mode: ro,rw"),
        (vec!["-v", "/x", "-v", "other:/x"], "Duplicate mount point: /x"),
        (vec!["-v", "/newanon", "--volumes-from", "nosuch"], "No such container: nosuch"),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter());
        a.extend(["busybox", "true"]);
        let (code, _, err) = out(&m.run(&a));
        assert_eq!(code, Some(125), "{a:?}");
        assert!(err.contains(msg), "{a:?}: {err}");
    }
    assert_eq!(
        m.ok(&["volume", "ls", "-q"]),
        before,
        "a failed run made no volume"
    );

    // rm without -v keeps the anonymous volume; `run --rm` removes its own.
    m.ok(&["rm", "vc1"]);
    assert!(m.ok(&["volume", "ls", "-q"]).contains(&anon));
    m.ok(&["run", "--rm", "-v", "/scratch", "busybox", "true"]);
    assert_eq!(m.ok(&["volume", "ls", "-q"]), format!("{anon}\nv1\n"));
}

/// The seeds' data-volume container, verbatim: `run -v /dbdata --name db1 ... true`, shared
/// with `--volumes-from`, transitively, surviving `rm -v` while another container uses it.
/// (Named store1/store2 here: db1 is also a valid ID prefix, which matches by ID.)
#[test]
fn data_volume_container_recipe() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run",
        "-v",
        "/dbdata",
        "--name",
        "store1",
        "busybox",
        "sh",
        "-c",
        "echo precious > /dbdata/db",
    ]);
    m.ok(&[
        "create",
        "--volumes-from",
        "store1",
        "--name",
        "store2",
        "busybox",
        "true",
    ]);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "store2",
            "busybox",
            "sh",
            "-c",
            "cat /dbdata/db; echo more >> /dbdata/db"
        ]),
        "precious\n"
    );
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "store1:ro",
            "busybox",
            "sh",
            "-c",
            "cat /dbdata/db; touch /dbdata/x 2>&1 | grep -c Read-only"
        ]),
        "precious\nmore\n1\n"
    );
    let first_volume = |c: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&m.ok(&["inspect", "-f", "{{json .Mounts}}", c])).unwrap();
        v[0]["Name"].as_str().unwrap().to_string()
    };
    let vol = first_volume("store1");
    assert_eq!(first_volume("store2"), vol);
    assert_eq!(
        m.ok(&[
            "inspect",
            "-f",
            "{{json .HostConfig.VolumesFrom}}",
            "store2"
        ]),
        "[\"store1\"]\n"
    );
    m.ok(&["rm", "-v", "store1"]);
    assert!(
        m.ok(&["volume", "ls", "-q"]).contains(&vol),
        "store2 still uses it"
    );
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "store2",
            "busybox",
            "cat",
            "/dbdata/db"
        ]),
        "precious\nmore\n"
    );
    m.ok(&["rm", "-v", "store2"]);
    assert_eq!(m.ok(&["volume", "ls", "-q"]), "");
}

/// The seeds' backup and restore through a bind-mounted directory with tar, verbatim.
#[test]
fn backup_and_restore_recipe() {
    let m = Ministry::new();
    m.busybox("busybox");
    let pwd = tempfile::tempdir().unwrap();
    let pwd = pwd.path().to_str().unwrap();
    m.ok(&[
        "run",
        "-v",
        "/test",
        "--name",
        "test",
        "busybox",
        "sh",
        "-c",
        "echo one > /test/a && mkdir /test/d && echo two > /test/d/b",
    ]);
    let backup = format!("{pwd}:/backup");
    m.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "test",
        "-v",
        &backup,
        "busybox",
        "tar",
        "cvf",
        "/backup/test.tar",
        "/test",
    ]);
    assert!(Path::new(pwd).join("test.tar").metadata().unwrap().len() > 0);
    m.ok(&["run", "-v", "/test", "--name", "test2", "busybox", "true"]);
    m.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "test2",
        "-v",
        &backup,
        "busybox",
        "sh",
        "-c",
        "cd / && tar xvf /backup/test.tar",
    ]);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--volumes-from",
            "test2",
            "busybox",
            "sh",
            "-c",
            "cat /test/a /test/d/b"
        ]),
        "one\ntwo\n"
    );
}

/// Copy-up: a new volume gets the image's content at its path with owners and modes;
/// an existing non-empty volume is left alone; `nocopy` copies nothing. A symlink in the
/// image at a volume path is resolved inside the container's root, never on the host.
#[test]
fn copy_up_and_symlinked_volume_paths() {
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host-target");
    std::fs::create_dir(&host).unwrap();
    let img = image_with_data(&m, tmp.path(), &host);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "-v",
            "d1:/data",
            &img,
            "sh",
            "-c",
            "stat -c '%u:%g %a' /data /data/seed; cat /data/seed"
        ]),
        "1000:1000 750\n1000:1000 640\nfrom the image\n"
    );
    // The image's VOLUME /data gets an anonymous volume filled the same way.
    assert_eq!(
        m.ok(&["run", "--rm", &img, "cat", "/data/seed"]),
        "from the image\n"
    );
    let src = m.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "d1"]);
    let meta = std::fs::metadata(Path::new(src.trim()).join("seed")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (1000, 1000, 0o640)
    );
    // Not empty any more: nothing is copied again.
    m.ok(&[
        "run",
        "--rm",
        "-v",
        "d1:/data",
        &img,
        "sh",
        "-c",
        "rm /data/seed && echo mine > /data/own",
    ]);
    assert_eq!(
        m.ok(&["run", "--rm", "-v", "d1:/data", &img, "ls", "/data"]),
        "own\n"
    );
    assert_eq!(
        m.ok(&["run", "--rm", "-v", "d2:/data:nocopy", &img, "ls", "/data"]),
        ""
    );
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--mount",
            "type=volume,src=d3,dst=/data,volume-nocopy",
            &img,
            "ls",
            "/data"
        ]),
        ""
    );

    // `/vol` is a symlink to the host's `host-target`: the volume lands inside the root.
    m.ok(&[
        "run",
        "--rm",
        "-v",
        "evil:/vol",
        &img,
        "sh",
        "-c",
        "echo inside > /vol/f",
    ]);
    assert_eq!(
        std::fs::read_dir(&host).unwrap().count(),
        0,
        "nothing reached the host path"
    );
    let src = m.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "evil"]);
    assert_eq!(
        std::fs::read_to_string(Path::new(src.trim()).join("f")).unwrap(),
        "inside\n"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(host.to_str().unwrap()),
        "no mount on the host path"
    );
}

/// Two containers writing one named volume at once; concurrent creates of one name.
#[test]
fn concurrent_use_of_one_volume() {
    let m = Ministry::new();
    m.busybox("busybox");
    let creates: Vec<_> = (0..4)
        .map(|_| m.cmd().args(["volume", "create", "shared"]).output())
        .collect();
    for c in creates {
        assert!(c.unwrap().status.success());
    }
    let ids: Vec<String> = ["a", "b"]
        .iter()
        .map(|p| {
            let script = format!("i=0; while [ $i -lt 200 ]; do echo $i > /v/{p}$i; echo {p} >> /v/log; i=$((i+1)); done");
            m.ok(&["run", "-d", "-v", "shared:/v", "busybox", "sh", "-c", &script]).trim().to_string()
        })
        .collect();
    for id in &ids {
        assert_eq!(m.ok(&["wait", id]), "0\n");
    }
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "-v",
            "shared:/v",
            "busybox",
            "sh",
            "-c",
            "ls /v | wc -l; wc -l < /v/log"
        ])
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["401", "400"]
    );
    // A tmpfs-backed volume is shared too, and unmounted from the host on removal.
    m.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=1m",
        "tv",
    ]);
    m.ok(&[
        "run",
        "--rm",
        "-v",
        "tv:/t",
        "busybox",
        "sh",
        "-c",
        "echo shared > /t/f",
    ]);
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "-v",
            "tv:/t",
            "busybox",
            "sh",
            "-c",
            "cat /t/f; grep ' /t ' /proc/mounts | cut -d' ' -f3"
        ]),
        "shared\ntmpfs\n"
    );
    let src = m
        .ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "tv"])
        .trim()
        .to_string();
    assert!(libvolume::is_mount_point(Path::new(&src)).unwrap());
    m.ok(&["volume", "rm", "tv"]);
    assert!(!libvolume::is_mount_point(Path::new(&src)).unwrap());
}

/// `inspect`'s `Mounts` and `HostConfig.Binds` side by side with Docker's for the same
/// flags (host paths and anonymous names normalised).
#[test]
fn inspect_mounts_match_docker() {
    let dk = Docker::start();
    let m = Ministry::new();
    let tmp = tempfile::tempdir().unwrap();
    let tar = busybox_tar(tmp.path());
    m.ok_stdin(&["import", "-", "busybox"], &tar);
    sh(dk.cmd().args(["import", tar.to_str().unwrap(), "busybox"]));
    let host = tmp.path().join("h");
    let bind = format!("{}:/h:ro", host.display());
    let args = [
        "create",
        "--name",
        "cmp",
        "-v",
        "v1:/data",
        "-v",
        &bind,
        "-v",
        "/anon",
        "--mount",
        "type=tmpfs,target=/tt",
        "--mount",
        "type=volume,src=v2,dst=/v2,readonly",
        "--mount",
        "type=bind,src=/tmp,dst=/b,bind-propagation=rslave",
        "busybox",
        "true",
    ];
    m.ok(&args);
    dk.ok(&args);
    let norm = |s: String| -> Vec<serde_json::Value> {
        let mut v: Vec<serde_json::Value> = serde_json::from_str(s.trim()).unwrap();
        for x in &mut v {
            if x["Type"] == "volume" {
                x["Source"] = "<volume>".into();
                if x["Name"].as_str().unwrap().len() == 64 {
                    x["Name"] = "<anon>".into();
                }
            }
        }
        v.sort_by_key(|x| x["Destination"].as_str().unwrap().to_string());
        v
    };
    let f = "{{json .Mounts}}";
    assert_eq!(
        norm(m.ok(&["inspect", "-f", f, "cmp"])),
        norm(dk.ok(&["inspect", "-f", f, "cmp"]))
    );
    let f = "{{json .Config.Volumes}}";
    assert_eq!(
        m.ok(&["inspect", "-f", f, "cmp"]),
        dk.ok(&["inspect", "-f", f, "cmp"])
    );
    // Binds: the same entries (Docker's order varies between runs).
    let binds = |s: String| {
        let mut v: Vec<String> = serde_json::from_str(s.trim()).unwrap();
        v.sort();
        v
    };
    let f = "{{json .HostConfig.Binds}}";
    assert_eq!(
        binds(m.ok(&["inspect", "-f", f, "cmp"])),
        binds(dk.ok(&["inspect", "-f", f, "cmp"]))
    );
    sh(dk.cmd().args(["rm", "-v", "cmp"]));
}
