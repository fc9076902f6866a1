//! User namespaces (`linux.uidMappings`/`gidMappings`): the container's root is an
//! unprivileged ID on the host; exec joins the same namespace.

mod common;

use common::*;
use libruntime::ContainerStdio;

fn userns_spec(f: &Fixture, cmd: &str) -> oci_spec::runtime::Spec {
    let mut spec = f.spec(cmd);
    let mut linux = spec.linux().clone().unwrap();
    let mut nss = linux.namespaces().clone().unwrap();
    nss.push(serde_json::from_value(serde_json::json!({"type": "user"})).unwrap());
    linux.set_namespaces(Some(nss));
    let map: Vec<oci_spec::runtime::LinuxIdMapping> = serde_json::from_value(
        serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
    )
    .unwrap();
    linux.set_uid_mappings(Some(map.clone()));
    linux.set_gid_mappings(Some(map));
    spec.set_linux(Some(linux));
    spec
}

/// The root file system belongs to the mapped root, as an engine remapping IDs prepares it.
fn chown_rootfs(f: &Fixture) {
    assert!(std::process::Command::new("chown")
        .args(["-R", "-h", "100000:100000"])
        .arg(&f.rootfs)
        .status()
        .unwrap()
        .success());
}

#[test]
fn root_in_the_container_is_an_unprivileged_host_id() {
    let f = Fixture::new();
    chown_rootfs(&f);
    // A host file only the host's root may read, bound into the container.
    let secret = f.tmp.path().join("secret");
    std::fs::write(&secret, "host secret\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut spec = userns_spec(
        &f,
        "id -u; id -g; cat /proc/self/uid_map; echo made > /made; \
         cat /secret 2>/dev/null || echo secret-denied; \
         echo 1 > /proc/sys/kernel/sysrq 2>/dev/null || echo sysctl-denied; \
         ls /dev/null /dev/zero /dev/urandom | tr '\\n' ' '",
    );
    let mut mounts = spec.mounts().clone().unwrap();
    mounts.push(
        serde_json::from_value(serde_json::json!({
            "destination": "/secret", "type": "bind", "source": secret, "options": ["rbind", "rw"]
        }))
        .unwrap(),
    );
    spec.set_mounts(Some(mounts));
    let (code, out, err) = f.run_spec("userns", &spec);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["0", "0"], "{out}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(lines[3], "secret-denied");
    assert_eq!(lines[4], "sysctl-denied");
    assert_eq!(lines[5], "/dev/null /dev/urandom /dev/zero ");
    // What it made belongs to the mapped ID on the host.
    let made = std::fs::metadata(f.rootfs.join("made")).unwrap();
    assert_eq!(
        (
            std::os::unix::fs::MetadataExt::uid(&made),
            std::os::unix::fs::MetadataExt::gid(&made)
        ),
        (100000, 100000)
    );
    assert_eq!(containers_left(&f.rt), 0);
}

#[test]
fn exec_joins_the_user_namespace() {
    let f = Fixture::new();
    chown_rootfs(&f);
    let c =
        f.rt.create(
            "userns-exec",
            &userns_spec(&f, "sleep 100"),
            f.opts(Default::default()),
        )
        .unwrap();
    c.start().unwrap();
    let mut p = c.spec().unwrap().process().clone().unwrap();
    p.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "id -u; cat /proc/self/uid_map".into(),
    ]));
    let out = f.tmp.path().join("exec.out");
    let stdio = ContainerStdio {
        stdout: Some(std::fs::File::create(&out).unwrap().into()),
        ..Default::default()
    };
    assert_eq!(c.exec(f.rt.helper(), &p, stdio, false).unwrap(), 0);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    // Its processes run as the mapped ID on the host.
    let host_pid = c.state().unwrap().pid;
    let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(uid.split_whitespace().nth(1), Some("100000"), "{uid}");
    c.delete(true).unwrap();
    assert_eq!(containers_left(&f.rt), 0);
}
