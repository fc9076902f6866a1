//! The snapshotter conformance suite: every implementation of `Snapshotter` runs the same
//! checks (mounting needs root; each test runs in its own private mount namespace).

mod common;

use std::fs;
use std::path::Path;

use common::*;
use libimage::layer::{apply_layer, ApplyOptions};
use libimage::snapshot::{
    mount::mount_all, CopySnapshotter, Kind, OverlaySnapshotter, Snapshotter,
};
use libimage::ErrorKind;

fn with_mounted<T>(s: &dyn Snapshotter, key: &str, dir: &Path, f: impl FnOnce(&Path) -> T) -> T {
    let target = dir.join(format!("mnt-{key}"));
    fs::create_dir_all(&target).unwrap();
    mount_all(&s.mounts(key).unwrap(), &target).unwrap();
    let _g = MountGuard(target.clone());
    f(&target)
}

fn lifecycle(s: &dyn Snapshotter, tmp: &Path) {
    s.prepare("base-active", None).unwrap();
    with_mounted(s, "base-active", tmp, |m| {
        fs::write(m.join("keep"), b"k").unwrap();
        fs::write(m.join("gone"), b"g").unwrap();
        fs::create_dir(m.join("d")).unwrap();
        fs::write(m.join("d/inner"), b"i").unwrap();
    });
    s.commit("base", "base-active").unwrap();
    assert_eq!(s.stat("base").unwrap().kind, Kind::Committed);
    assert_eq!(
        s.stat("base-active").unwrap_err().kind(),
        ErrorKind::NotFound
    );

    s.prepare("child-active", Some("base")).unwrap();
    with_mounted(s, "child-active", tmp, |m| {
        assert_eq!(fs::read(m.join("keep")).unwrap(), b"k");
        fs::remove_file(m.join("gone")).unwrap();
        fs::write(m.join("new"), b"n").unwrap();
        fs::write(m.join("d/inner"), b"changed").unwrap();
    });
    s.commit("child", "child-active").unwrap();

    s.view("child-view", Some("child")).unwrap();
    with_mounted(s, "child-view", tmp, |m| {
        assert_eq!(fs::read(m.join("new")).unwrap(), b"n");
        assert!(!m.join("gone").exists());
        assert_eq!(fs::read(m.join("d/inner")).unwrap(), b"changed");
        assert!(
            fs::write(m.join("x"), b"x").is_err(),
            "a view must be read-only"
        );
    });
    s.view("base-view", Some("base")).unwrap();
    with_mounted(s, "base-view", tmp, |m| {
        assert_eq!(fs::read(m.join("gone")).unwrap(), b"g");
        assert_eq!(fs::read(m.join("d/inner")).unwrap(), b"i");
        assert!(!m.join("new").exists());
    });

    // Applying a layer through apply_dir, whiteouts included.
    s.prepare("layer-active", Some("child")).unwrap();
    let (dir, mode) = s.apply_dir("layer-active").unwrap();
    let tar = RawTar::new()
        .file(".wh.keep", b"")
        .file("added", b"a")
        .file("d/.wh..wh..opq", b"")
        .finish();
    apply_layer(
        &tar[..],
        &dir,
        &ApplyOptions {
            whiteouts: mode,
            ..Default::default()
        },
    )
    .unwrap();
    s.commit("layer", "layer-active").unwrap();
    s.view("layer-view", Some("layer")).unwrap();
    with_mounted(s, "layer-view", tmp, |m| {
        assert!(!m.join("keep").exists());
        assert_eq!(fs::read(m.join("added")).unwrap(), b"a");
        assert!(m.join("d").is_dir());
        assert_eq!(fs::read_dir(m.join("d")).unwrap().count(), 0);
        assert_eq!(fs::read(m.join("new")).unwrap(), b"n");
    });
    assert!(s.usage("layer").unwrap().inodes >= 1);
}

fn errors(s: &dyn Snapshotter) {
    s.prepare("a", None).unwrap();
    assert_eq!(
        s.prepare("a", None).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        s.prepare("b", Some("missing")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        s.prepare("b", Some("a")).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    s.commit("ca", "a").unwrap();
    assert!(
        s.commit("cb", "ca").is_err(),
        "only active snapshots can be committed"
    );
    s.prepare("c", Some("ca")).unwrap();
    assert_eq!(
        s.commit("ca", "c").unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(s.remove("ca").unwrap_err().kind(), ErrorKind::Conflict);
    s.remove("c").unwrap();
    s.remove("ca").unwrap();
    assert!(s.list().unwrap().is_empty());
}

fn removes_everything(s: &dyn Snapshotter, root: &Path) {
    s.prepare("x", None).unwrap();
    let (dir, _) = s.apply_dir("x").unwrap();
    fs::write(dir.join("f"), b"f").unwrap();
    s.commit("cx", "x").unwrap();
    s.prepare("y", Some("cx")).unwrap();
    s.remove("y").unwrap();
    s.remove("cx").unwrap();
    assert_eq!(fs::read_dir(root.join("snapshots")).unwrap().count(), 0);
}

macro_rules! suite {
    ($modname:ident, $ty:ty) => {
        mod $modname {
            use super::*;

            fn open() -> (tempfile::TempDir, $ty) {
                private_mount_ns();
                let tmp = tempfile::tempdir().unwrap();
                let s = <$ty>::open(tmp.path().join("snap")).unwrap();
                (tmp, s)
            }

            #[test]
            fn lifecycle() {
                let (tmp, s) = open();
                super::lifecycle(&s, tmp.path());
            }

            #[test]
            fn errors() {
                let (_tmp, s) = open();
                super::errors(&s);
            }

            #[test]
            fn removes_everything() {
                let (tmp, s) = open();
                super::removes_everything(&s, &tmp.path().join("snap"));
            }

            #[test]
            fn orphans_from_a_crash_are_removed_on_open() {
                let (tmp, s) = open();
                s.prepare("k", None).unwrap();
                let stray = tmp.path().join("snap/snapshots/999");
                fs::create_dir_all(stray.join("fs")).unwrap();
                let _ = <$ty>::open(tmp.path().join("snap")).unwrap();
                assert!(!stray.exists());
                assert!(s.stat("k").is_ok());
            }
        }
    };
}

suite!(overlay, OverlaySnapshotter);
suite!(copy, CopySnapshotter);
