//! Layer extraction features that need root: ownership, device nodes, overlay whiteouts.
//! These fail (never skip) when not run as root.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use common::*;
use libimage::layer::{apply_layer, ApplyOptions, WhiteoutMode};

fn owned_entry(name: &str, typ: u8, uid: u32, gid: u32, major: u32, minor: u32) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::new(typ));
    h.set_size(0);
    h.set_mode(0o640);
    h.set_uid(uid as u64);
    h.set_gid(gid as u64);
    h.set_mtime(1_600_000_000);
    h.set_path(name).unwrap();
    if typ == CHR {
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
    }
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, &[][..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn ownership_and_device_nodes_are_preserved() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let mut tar = owned_entry("file", REG, 1234, 5678, 0, 0);
    tar.truncate(tar.len() - 1024);
    tar.extend(owned_entry("null", CHR, 0, 0, 1, 3));
    apply_layer(&tar[..], tmp.path(), &ApplyOptions::default()).unwrap();
    let m = fs::metadata(tmp.path().join("file")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1234, 5678, 0o640));
    let n = fs::symlink_metadata(tmp.path().join("null")).unwrap();
    assert!(n.file_type().is_char_device());
    assert_eq!(n.rdev(), libc::makedev(1, 3));
}

#[test]
fn overlay_mode_writes_overlay_whiteouts() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .dir("d/")
        .file("d/.wh..wh..opq", b"")
        .file(".wh.gone", b"")
        .finish();
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Overlay,
        ..Default::default()
    };
    apply_layer(&tar[..], tmp.path(), &opts).unwrap();
    let w = fs::symlink_metadata(tmp.path().join("gone")).unwrap();
    assert!(w.file_type().is_char_device());
    assert_eq!(w.rdev(), 0);
    let mut buf = [0u8; 8];
    let p = std::ffi::CString::new(tmp.path().join("d").to_str().unwrap()).unwrap();
    // SAFETY: valid C strings and buffer.
    let n = unsafe {
        libc::lgetxattr(
            p.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            8,
        )
    };
    assert_eq!(n, 1);
    assert_eq!(buf[0], b'y');
    assert!(!tmp.path().join("d/.wh..wh..opq").exists());
}

#[test]
fn overlay_xattrs_from_archive_are_dropped() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .pax(
            &[
                ("SCHILY.xattr.trusted.overlay.redirect", "/etc"),
                ("SCHILY.xattr.user.ok", "1"),
            ],
            "f",
            REG,
            0,
            b"",
        )
        .finish();
    apply_layer(&tar[..], tmp.path(), &ApplyOptions::default()).unwrap();
    let p = std::ffi::CString::new(tmp.path().join("f").to_str().unwrap()).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: valid C strings and buffer.
    let n = unsafe {
        libc::lgetxattr(
            p.as_ptr(),
            c"trusted.overlay.redirect".as_ptr(),
            buf.as_mut_ptr().cast(),
            64,
        )
    };
    assert_eq!(n, -1);
}
