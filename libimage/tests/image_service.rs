//! ImageService end to end on a temp data root: import, list, tag, inspect, history, rmi
//! with Docker's rules, freeing of shared layers, check. Run with both snapshotters.

mod common;

use std::fs;

use common::*;
use libimage::content::ContentStore;
use libimage::service::{ImageService, ImageUser, ImportOptions, RemoveEvent, SnapshotterKind};
use libimage::{ErrorKind, Reference};

fn rootfs_tar(marker: &str) -> Vec<u8> {
    RawTar::new()
        .dir("bin/")
        .entry("bin/sh", REG, b"#!fake shell", "", 0o755)
        .file("etc/marker", marker.as_bytes())
        .finish()
}

fn import(s: &ImageService, tar: &[u8], name: Option<&str>) -> libimage::image::ImageRecord {
    let opts = ImportOptions {
        reference: name.map(|n| Reference::parse(n).unwrap()),
        changes: vec![r#"CMD ["/bin/sh"]"#.into()],
        ..Default::default()
    };
    s.import(&mut &tar[..], &opts).unwrap()
}

fn no_users(_: &libimage::Digest) -> Vec<ImageUser> {
    vec![]
}

fn lifecycle(kind: SnapshotterKind) {
    private_mount_ns();
    let tmp = tempfile::tempdir().unwrap();
    let s = ImageService::open(tmp.path(), kind).unwrap();
    let a = import(&s, &rootfs_tar("a"), Some("busybox"));
    assert_eq!(a.familiar_tags(), vec!["busybox:latest"]);
    assert_eq!(a.layers.len(), 1);
    assert_eq!(a.size(), 12 + 1);
    // The layer is unpacked and the config carries the change.
    let top = s.top_snapshot(&a).unwrap();
    let dirs = s.snapshotter().layer_dirs(&top).unwrap();
    assert_eq!(fs::read(dirs[0].join("etc/marker")).unwrap(), b"a");
    let insp = s.inspect(&a).unwrap();
    assert_eq!(insp.id, a.id.to_string());
    assert_eq!(insp.config.cmd, Some(vec!["/bin/sh".to_string()]));
    assert_eq!(insp.comment, "Imported from -");
    assert_eq!(insp.root_fs.layers, vec![a.layers[0].diff_id.to_string()]);
    let json = serde_json::to_value(&insp).unwrap();
    for k in [
        "Id",
        "RepoTags",
        "RepoDigests",
        "Parent",
        "Comment",
        "Created",
        "Author",
        "Config",
        "Architecture",
        "Os",
        "Size",
        "RootFS",
    ] {
        assert!(json.get(k).is_some(), "inspect lacks {k}");
    }
    let h = s.history(&a).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].id, a.id.to_string());
    assert_eq!(h[0].comment, "Imported from -");

    // Same content imported again shares the layer snapshot.
    let b = import(&s, &rootfs_tar("a"), Some("other:1"));
    assert_ne!(a.id, b.id, "created time differs, so the ID does");
    assert_eq!(a.layers[0].chain_id, b.layers[0].chain_id);

    // tag / resolve / rmi rules.
    s.tag("busybox", &Reference::parse("busybox:v2").unwrap())
        .unwrap();
    assert_eq!(s.resolve("busybox:v2").unwrap().id, a.id);
    assert_eq!(s.resolve(&a.id.hex()[..8]).unwrap().id, a.id);
    let ev = s.remove("busybox:v2", false, &no_users).unwrap();
    assert_eq!(ev, vec![RemoveEvent::Untagged("busybox:v2".into())]);
    s.tag("busybox", &Reference::parse("me/copy").unwrap())
        .unwrap();
    let e = s.remove(&a.id.to_string(), false, &no_users).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        e.to_string()
            .contains("image is referenced in multiple repositories"),
        "{e}"
    );
    let users = |_: &libimage::Digest| {
        vec![ImageUser {
            container: "0123456789abcdef".into(),
            running: false,
        }]
    };
    s.remove("me/copy", false, &no_users).unwrap();
    let e = s.remove("busybox", false, &users).unwrap_err();
    assert_eq!(e.to_string(), format!("conflict: unable to remove repository reference \"busybox\" (must force) - container 0123456789ab is using its referenced image {}", a.id.short()));
    let ev = s.remove("busybox", false, &no_users).unwrap();
    assert_eq!(
        ev,
        vec![
            RemoveEvent::Untagged("busybox:latest".into()),
            RemoveEvent::Deleted(a.id.clone())
        ]
    );
    assert_eq!(
        s.resolve("busybox").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // The shared layer stays for `other:1`.
    assert!(s
        .snapshotter()
        .stat(&b.layers[0].chain_id.to_string())
        .is_ok());
    assert!(s.check().unwrap().is_clean());
    s.remove("other:1", false, &no_users).unwrap();
    // Nothing is left: no snapshot, no blob.
    assert!(s.snapshotter().list().unwrap().is_empty());
    assert!(s.content().list().unwrap().is_empty());
    assert!(s.list().unwrap().is_empty());
}

#[test]
fn lifecycle_overlay() {
    lifecycle(SnapshotterKind::Overlay);
}

#[test]
fn lifecycle_copy() {
    lifecycle(SnapshotterKind::Copy);
}

#[test]
fn bad_import_leaves_no_image_and_no_blob() {
    private_mount_ns();
    let tmp = tempfile::tempdir().unwrap();
    let s = ImageService::open(tmp.path(), SnapshotterKind::Auto).unwrap();
    let evil = RawTar::new().file("../escape", b"x").finish();
    assert!(s.import(&mut &evil[..], &ImportOptions::default()).is_err());
    let bad_change = ImportOptions {
        changes: vec!["RUN x".into()],
        ..Default::default()
    };
    assert_eq!(
        s.import(&mut &rootfs_tar("a")[..], &bad_change)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert!(s.list().unwrap().is_empty());
    assert!(s.content().list().unwrap().is_empty());
    assert!(s.snapshotter().list().unwrap().is_empty());
}

#[test]
fn prune_dangling_removes_untagged_images() {
    private_mount_ns();
    let tmp = tempfile::tempdir().unwrap();
    let s = ImageService::open(tmp.path(), SnapshotterKind::Auto).unwrap();
    let a = import(&s, &rootfs_tar("a"), Some("x"));
    let b = import(&s, &rootfs_tar("b"), Some("x"));
    assert!(
        s.resolve(&a.id.to_string()).unwrap().repo_tags.is_empty(),
        "the tag moved to b"
    );
    let (ev, reclaimed) = s.prune_dangling(&no_users).unwrap();
    // The image, then its layer, as Docker lists them; the space is the layer's.
    assert_eq!(
        ev,
        vec![
            RemoveEvent::Deleted(a.id.clone()),
            RemoveEvent::DeletedLayer(a.layers[0].chain_id.clone())
        ]
    );
    assert_eq!(reclaimed, a.size());
    assert_eq!(
        s.list()
            .unwrap()
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        vec![b.id]
    );
}
