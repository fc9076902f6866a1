//! The volume store: create, get, list, remove, driver-backed volumes, concurrency, crash
//! leftovers. Mounting tests run as root in a private mount namespace per thread.

use std::collections::BTreeMap;

use libvolume::{CreateOptions, ErrorKind, VolumeStore};

fn named(n: &str) -> CreateOptions {
    CreateOptions {
        name: Some(n.into()),
        ..Default::default()
    }
}

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test mounts file systems and must run as root (scripts/test.sh runs it so)"
    );
}

fn private_mount_ns() {
    require_root();
    // SAFETY: unshare/mount with valid arguments; affects only this thread.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
        let r = libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        );
        assert_eq!(r, 0);
    }
}

#[test]
fn create_is_idempotent_and_listed_in_dockers_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let s = VolumeStore::open(tmp.path().join("volumes")).unwrap();
    let mut o = named("data");
    o.labels.insert("a".into(), "b".into());
    let (v, made) = s.create(&o).unwrap();
    assert!(made);
    assert!(v.mountpoint.is_dir());
    assert_eq!(v.mountpoint, tmp.path().join("volumes/data/_data"));
    let (again, made) = s.create(&named("data")).unwrap();
    assert!(!made);
    assert_eq!(again, v);
    let (anon, _) = s.create(&CreateOptions::default()).unwrap();
    assert_eq!(anon.name.len(), 64);
    assert!(anon.anonymous && !v.anonymous);
    let names: Vec<_> = s.list().unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"data".to_string()));
    let j = serde_json::to_value(s.get("data").unwrap()).unwrap();
    let keys: Vec<_> = j.as_object().unwrap().keys().cloned().collect();
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
    assert_eq!(j["Options"], serde_json::Value::Null);
    assert_eq!(j["Labels"]["a"], "b");
    assert!(j["CreatedAt"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn bad_names_and_options_are_refused_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = VolumeStore::open(tmp.path().join("volumes")).unwrap();
    let e = s.create(&named("x")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        e.to_string(),
        "create x: volume name is too short, names should be at least two alphanumeric characters"
    );
    for bad in ["a/b", "../etc", ".hidden", "-x"] {
        assert_eq!(
            s.create(&named(bad)).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "{bad}"
        );
    }
    let mut o = named("vv");
    o.options.insert("bogus".into(), "1".into());
    assert_eq!(
        s.create(&o).unwrap_err().to_string(),
        "create vv: invalid option key: \"bogus\""
    );
    let mut o = named("vv");
    o.driver = Some("nfs-plugin".into());
    assert!(s
        .create(&o)
        .unwrap_err()
        .to_string()
        .contains("plugin \"nfs-plugin\" not found"));
    assert!(s.list().unwrap().is_empty());
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("volumes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        s.get("nosuch").unwrap_err().to_string(),
        "get nosuch: no such volume"
    );
    assert_eq!(s.remove("nosuch").unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn remove_deletes_content_and_crash_leftovers_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("volumes");
    let s = VolumeStore::open(&dir).unwrap();
    let (v, _) = s.create(&named("data")).unwrap();
    std::fs::write(v.mountpoint.join("f"), b"x").unwrap();
    std::fs::create_dir(v.mountpoint.join("d")).unwrap();
    s.remove("data").unwrap();
    assert!(!dir.join("data").exists());
    assert_eq!(s.get("data").unwrap_err().kind(), ErrorKind::NotFound);
    // A create or remove killed midway leaves a dot directory; the next open removes it.
    std::fs::create_dir_all(dir.join(".creating-abc/_data")).unwrap();
    std::fs::create_dir_all(dir.join(".removing-def/_data/x")).unwrap();
    let s = VolumeStore::open(&dir).unwrap();
    assert!(!dir.join(".creating-abc").exists() && !dir.join(".removing-def").exists());
    assert!(s.list().unwrap().is_empty());
}

#[test]
fn concurrent_creates_of_one_name_make_one_volume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("volumes");
    VolumeStore::open(&dir).unwrap();
    let made: Vec<bool> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.clone();
                sc.spawn(move || {
                    VolumeStore::open(dir)
                        .unwrap()
                        .create(&named("shared"))
                        .unwrap()
                        .1
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(made.iter().filter(|m| **m).count(), 1, "{made:?}");
    assert_eq!(VolumeStore::open(&dir).unwrap().list().unwrap().len(), 1);
}

#[test]
fn tmpfs_and_bind_backed_volumes_mount_once_and_unmount_on_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("volumes");
    std::thread::spawn(move || {
        private_mount_ns();
        let s = VolumeStore::open(&dir).unwrap();
        let opts = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut o = named("tv");
        o.options = opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]);
        s.create(&o).unwrap();
        let p = s.mount("tv").unwrap();
        assert!(libvolume::is_mount_point(&p).unwrap());
        assert_eq!(
            s.mount("tv").unwrap(),
            p,
            "a second use mounts nothing more"
        );
        let n = std::fs::read_to_string("/proc/thread-self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains(p.to_str().unwrap()))
            .count();
        assert_eq!(n, 1);
        assert!(s.is_empty("tv").unwrap());
        // The size option holds: a 2 MiB write does not fit.
        let big = vec![0u8; 2 << 20];
        assert!(std::fs::write(p.join("big"), &big).is_err());
        s.remove("tv").unwrap();
        assert!(!libvolume::is_mount_point(&p).unwrap());

        let host = dir.parent().unwrap().join("hostdir");
        std::fs::create_dir(&host).unwrap();
        std::fs::write(host.join("hello"), b"hi").unwrap();
        let mut o = named("bv");
        o.options = opts(&[
            ("type", "none"),
            ("o", "bind"),
            ("device", host.to_str().unwrap()),
        ]);
        s.create(&o).unwrap();
        let p = s.mount("bv").unwrap();
        assert_eq!(std::fs::read(p.join("hello")).unwrap(), b"hi");
        s.remove("bv").unwrap();
        // Removing a bind-backed volume unmounts it and never deletes the host's files.
        assert_eq!(std::fs::read(host.join("hello")).unwrap(), b"hi");
    })
    .join()
    .unwrap();
}
