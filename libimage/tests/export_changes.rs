//! export and changes (`docker diff`) on both snapshotters, and the change layer applied
//! back reproducing the same tree (the same change gives the same bytes).

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

use common::*;
use libimage::service::{ImageService, ImportOptions, SnapshotterKind};
use libimage::snapshot::mount::mount_all;
use libimage::Reference;

fn setup(kind: SnapshotterKind) -> (tempfile::TempDir, ImageService, String) {
    private_mount_ns();
    let tmp = tempfile::tempdir().unwrap();
    let s = ImageService::open(tmp.path().join("root"), kind).unwrap();
    let base = RawTar::new()
        .dir("etc/")
        .file("etc/group", b"root:x:0:\n")
        .file("etc/passwd", b"root:x:0:0::/:/bin/sh\n")
        .dir("tmp/")
        .file("tmp/old", b"old")
        .dir("var/")
        .dir("var/cache/")
        .file("var/cache/a", b"a")
        .symlink("link", "etc/passwd")
        .finish();
    let opts = ImportOptions {
        reference: Some(Reference::parse("base").unwrap()),
        ..Default::default()
    };
    let img = s.import(&mut &base[..], &opts).unwrap();
    let top = s.top_snapshot(&img).unwrap();
    s.snapshotter().prepare("ctr", Some(&top)).unwrap();
    (tmp, s, top)
}

fn mutate(s: &ImageService, tmp: &std::path::Path) {
    let mnt = tmp.join("mnt");
    fs::create_dir(&mnt).unwrap();
    mount_all(&s.snapshotter().mounts("ctr").unwrap(), &mnt).unwrap();
    let _g = MountGuard(mnt.clone());
    fs::write(mnt.join("newfile"), b"new").unwrap();
    fs::remove_file(mnt.join("etc/group")).unwrap();
    fs::write(mnt.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
    fs::remove_dir_all(mnt.join("var/cache")).unwrap();
    fs::create_dir(mnt.join("newdir")).unwrap();
    fs::write(mnt.join("newdir/f"), b"f").unwrap();
    fs::set_permissions(mnt.join("tmp/old"), fs::Permissions::from_mode(0o600)).unwrap();
}

fn diff_and_export(kind: SnapshotterKind) {
    let (tmp, s, top) = setup(kind);
    mutate(&s, tmp.path());
    let lines: Vec<String> = s
        .changes("ctr")
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        lines,
        vec![
            "C /etc",
            "D /etc/group",
            "C /etc/passwd",
            "A /newdir",
            "A /newdir/f",
            "A /newfile",
            "C /tmp",
            "C /tmp/old",
            "C /var",
            "D /var/cache"
        ],
        "{kind:?}"
    );

    // Export of the container's merged view.
    let mut out = Vec::new();
    s.export_snapshot("ctr", &mut out).unwrap();
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(&out[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if p == "etc/passwd" {
            let mut c = String::new();
            e.read_to_string(&mut c).unwrap();
            assert_eq!(c, "root:x:0:0::/root:/bin/sh\n");
        }
        names.push(p);
    }
    assert_eq!(
        names,
        vec![
            "etc/",
            "etc/passwd",
            "link",
            "newdir/",
            "newdir/f",
            "newfile",
            "tmp/",
            "tmp/old",
            "var/"
        ]
    );

    // The change layer: deterministic, and applied on the base it gives the container's tree.
    let mut layer1 = Vec::new();
    s.changes_tar("ctr", &mut layer1).unwrap();
    let mut layer2 = Vec::new();
    s.changes_tar("ctr", &mut layer2).unwrap();
    assert_eq!(layer1, layer2);
    let replay = tmp.path().join("replay");
    fs::create_dir(&replay).unwrap();
    let mut base = Vec::new();
    s.export_snapshot(&top, &mut base).unwrap();
    libimage::layer::apply_layer(&base[..], &replay, &Default::default()).unwrap();
    libimage::layer::apply_layer(&layer1[..], &replay, &Default::default()).unwrap();
    assert_eq!(
        tree(&replay),
        vec![
            "etc",
            "etc/passwd",
            "link",
            "newdir",
            "newdir/f",
            "newfile",
            "tmp",
            "tmp/old",
            "var"
        ]
    );
    assert_eq!(
        fs::metadata(replay.join("tmp/old"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn diff_export_overlay() {
    diff_and_export(SnapshotterKind::Overlay);
}

#[test]
fn diff_export_copy() {
    diff_and_export(SnapshotterKind::Copy);
}

#[test]
fn export_does_not_follow_symlinks_out_of_the_tree() {
    // A container replacing a file by a symlink to a host path: export stores the link,
    // never the host file's content (the docker cp/export class, CVE-2018-15664).
    let (tmp, s, _top) = setup(SnapshotterKind::Overlay);
    let (dir, _) = s.snapshotter().apply_dir("ctr").unwrap();
    fs::create_dir_all(dir.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", dir.join("etc/passwd")).unwrap();
    let mut out = Vec::new();
    s.export_snapshot("ctr", &mut out).unwrap();
    let mut ar = tar::Archive::new(&out[..]);
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if e.path().unwrap().to_str() == Some("etc/passwd") {
            assert!(e.header().entry_type().is_symlink());
            assert_eq!(e.header().size().unwrap(), 0);
        }
    }
    drop(tmp);
}

/// Docker's volume copy-up: a directory of the merged view (changes of the container's
/// layer included, whiteouts honoured) copied into an empty directory with modes kept; a
/// path that is a symlink (even to a directory) or absent copies nothing.
fn copy_dir_out(kind: SnapshotterKind) {
    let (tmp, s, _top) = setup(kind);
    mutate(&s, tmp.path());
    let dest = tmp.path().join("vol");
    fs::create_dir(&dest).unwrap();
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o700)).unwrap();
    assert!(s.copy_dir_out("ctr", "/etc", &dest).unwrap());
    assert_eq!(
        tree(&dest),
        vec!["passwd"],
        "{kind:?}: etc/group was deleted"
    );
    assert_eq!(
        fs::read_to_string(dest.join("passwd")).unwrap(),
        "root:x:0:0::/root:/bin/sh\n"
    );
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
        0o755,
        "the volume takes the directory's mode"
    );
    let d2 = tmp.path().join("vol2");
    fs::create_dir(&d2).unwrap();
    assert!(s.copy_dir_out("ctr", "tmp", &d2).unwrap());
    assert_eq!(
        fs::metadata(d2.join("old")).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    for absent in ["/link", "/nonexistent", "/var/cache", "/etc/passwd"] {
        let d = tmp.path().join("vol3");
        fs::create_dir_all(&d).unwrap();
        assert!(!s.copy_dir_out("ctr", absent, &d).unwrap(), "{absent}");
        assert!(tree(&d).is_empty(), "{absent}");
    }
}

#[test]
fn copy_dir_out_overlay() {
    copy_dir_out(SnapshotterKind::Overlay);
}

#[test]
fn copy_dir_out_copy() {
    copy_dir_out(SnapshotterKind::Copy);
}
