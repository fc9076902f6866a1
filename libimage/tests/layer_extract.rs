//! Layer extraction: normal content, and the hostile archives of SECURITY.md ("Layer
//! extraction"), each pinned by a test named after the class. Every hostile test checks
//! that nothing outside the extraction root changed.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;
use libimage::layer::{apply_layer, ApplyOptions, Compression};
use libimage::{Digest, ErrorKind};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret"), b"orig").unwrap();
        fs::set_permissions(outside.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            outside,
        }
    }

    fn apply(&self, tar: &[u8]) -> libimage::Result<libimage::layer::Applied> {
        apply_layer(tar, &self.root, &ApplyOptions::default())
    }

    fn outside_str(&self) -> String {
        self.outside.display().to_string()
    }

    /// The outside directory still holds exactly `secret` with its content and mode.
    fn assert_outside_untouched(&self) {
        assert_eq!(tree(&self.outside), vec!["secret".to_string()]);
        assert_eq!(fs::read(self.outside.join("secret")).unwrap(), b"orig");
        let m = fs::metadata(self.outside.join("secret")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o600);
        assert_eq!(m.nlink(), 1);
        let parent = self.outside.parent().unwrap();
        assert_eq!(
            tree(parent)
                .iter()
                .filter(|p| !p.starts_with("root"))
                .count(),
            2,
            "{:?}",
            tree(parent)
        );
    }
}

#[test]
fn applies_files_dirs_links_modes_and_times() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .dir("etc/")
        .entry("etc/passwd", REG, b"root:x:0:0::/root:/bin/sh\n", "", 0o644)
        .entry("bin/tool", REG, b"#!/bin/sh\n", "", 0o4755)
        .symlink("bin/sh", "busybox")
        .hardlink("etc/passwd-", "etc/passwd")
        .entry("run/fifo", FIFO, b"", "", 0o600)
        .finish();
    let applied = f.apply(&tar).unwrap();
    assert_eq!(applied.diff_id, Digest::sha256_of(&tar));
    assert_eq!(applied.size, tar.len() as u64);
    assert_eq!(applied.compression, Compression::None);
    assert_eq!(
        fs::read(f.root.join("etc/passwd")).unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    let tool = fs::metadata(f.root.join("bin/tool")).unwrap();
    assert_eq!(tool.mode() & 0o7777, 0o4755);
    assert_eq!(tool.mtime(), 1_600_000_000);
    assert_eq!(
        fs::read_link(f.root.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert_eq!(
        fs::metadata(f.root.join("etc/passwd")).unwrap().ino(),
        fs::metadata(f.root.join("etc/passwd-")).unwrap().ino()
    );
    assert!(fs::symlink_metadata(f.root.join("run/fifo"))
        .unwrap()
        .file_type()
        .is_fifo_like());
    // Directory times are set after their content was written.
    assert_eq!(
        fs::metadata(f.root.join("etc")).unwrap().mtime(),
        1_600_000_000
    );
    // An implicit parent (bin/, run/) is created 0755.
    assert_eq!(
        fs::metadata(f.root.join("bin")).unwrap().mode() & 0o7777,
        0o755
    );
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}
impl FifoLike for fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

#[test]
fn gzip_and_zstd_layers_give_the_tar_diff_id() {
    let tar = RawTar::new().file("a", b"hello").finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zs = zstd::encode_all(&tar[..], 3).unwrap();
    for (bytes, kind) in [(gz, Compression::Gzip), (zs, Compression::Zstd)] {
        let f = Fixture::new();
        let a = f.apply(&bytes).unwrap();
        assert_eq!(a.compression, kind);
        assert_eq!(a.diff_id, Digest::sha256_of(&tar));
        assert_eq!(fs::read(f.root.join("a")).unwrap(), b"hello");
    }
}

#[test]
fn diff_id_mismatch_is_refused() {
    let f = Fixture::new();
    let tar = RawTar::new().file("a", b"hello").finish();
    let opts = ApplyOptions {
        expected_diff_id: Some(Digest::sha256_of(b"other")),
        ..Default::default()
    };
    let e = apply_layer(&tar[..], &f.root, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataLoss, "{e}");
}

#[test]
fn traversal_dotdot_is_refused() {
    let f = Fixture::new();
    let tar = RawTar::new().file("../outside/secret", b"pwned").finish();
    let e = f.apply(&tar).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataLoss, "{e}");
    let tar = RawTar::new().file("a/../../outside/new", b"pwned").finish();
    assert!(f.apply(&tar).is_err());
    f.assert_outside_untouched();
}

#[test]
fn traversal_absolute_name_lands_inside_root() {
    let f = Fixture::new();
    let name = format!("{}/secret", f.outside_str());
    let tar = RawTar::new().gnu_long_name(&name, "x", b"pwned").finish();
    f.apply(&tar).unwrap();
    let inside = f.root.join(name.trim_start_matches('/'));
    assert_eq!(fs::read(inside).unwrap(), b"pwned");
    f.assert_outside_untouched();
}

#[test]
fn traversal_through_gnu_long_name_is_refused() {
    let f = Fixture::new();
    let long = format!("{}/../../outside/secret", "d".repeat(120));
    let long = long.replacen(&"d".repeat(120), &format!("{}/x", "d".repeat(120)), 1);
    let tar = RawTar::new()
        .gnu_long_name(&format!("../../{long}"), "harmless", b"pwned")
        .finish();
    assert!(f.apply(&tar).is_err());
    f.assert_outside_untouched();
}

#[test]
fn traversal_through_pax_path_is_refused() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .pax(
            &[("path", "../outside/secret")],
            "harmless",
            REG,
            5,
            b"pwned",
        )
        .finish();
    assert!(f.apply(&tar).is_err());
    f.assert_outside_untouched();
}

#[test]
fn symlink_then_path_through_it_stays_inside() {
    for target in [FixtureTarget::Absolute, FixtureTarget::Relative] {
        let f = Fixture::new();
        let t = match target {
            FixtureTarget::Absolute => f.outside_str(),
            FixtureTarget::Relative => "../outside".to_string(),
        };
        let tar = RawTar::new()
            .symlink("escape", &t)
            .file("escape/secret", b"pwned")
            .file("escape/new", b"pwned")
            .finish();
        // Either refused or written inside the root; never outside.
        let _ = f.apply(&tar);
        f.assert_outside_untouched();
    }
}

enum FixtureTarget {
    Absolute,
    Relative,
}

#[test]
fn symlink_then_regular_file_of_same_name_replaces_the_link() {
    let f = Fixture::new();
    let target = format!("{}/secret", f.outside_str());
    let tar = RawTar::new()
        .symlink("link", &target)
        .file("link", b"pwned")
        .finish();
    f.apply(&tar).unwrap();
    assert!(fs::symlink_metadata(f.root.join("link")).unwrap().is_file());
    assert_eq!(fs::read(f.root.join("link")).unwrap(), b"pwned");
    f.assert_outside_untouched();
}

#[test]
fn hard_link_to_outside_path_is_refused() {
    let f = Fixture::new();
    let tar = RawTar::new().hardlink("hl", "../outside/secret").finish();
    assert!(f.apply(&tar).is_err());
    let abs = format!("{}/secret", f.outside_str());
    let tar = RawTar::new().hardlink("hl", &abs).finish();
    assert!(f.apply(&tar).is_err());
    f.assert_outside_untouched();
}

#[test]
fn hard_link_through_symlinked_parent_is_refused() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .symlink("d", &f.outside_str())
        .hardlink("hl", "d/secret")
        .finish();
    assert!(f.apply(&tar).is_err());
    let tar = RawTar::new()
        .symlink("d2", "../outside")
        .hardlink("hl2", "d2/secret")
        .finish();
    assert!(f.apply(&tar).is_err());
    f.assert_outside_untouched();
}

#[test]
fn hard_link_to_symlink_links_the_symlink_itself() {
    let f = Fixture::new();
    let target = format!("{}/secret", f.outside_str());
    let tar = RawTar::new()
        .symlink("s", &target)
        .hardlink("hl", "s")
        .finish();
    f.apply(&tar).unwrap();
    assert!(fs::symlink_metadata(f.root.join("hl"))
        .unwrap()
        .file_type()
        .is_symlink());
    f.assert_outside_untouched();
}

#[test]
fn chmod_through_link_is_not_applied_outside() {
    let f = Fixture::new();
    let target = format!("{}/secret", f.outside_str());
    // A symlink, then a directory and a file of the same name with other modes: the link
    // is replaced, its target is never chmod'ed.
    let tar = RawTar::new()
        .symlink("s", &target)
        .entry("s", DIR, b"", "", 0o777)
        .finish();
    f.apply(&tar).unwrap();
    let tar = RawTar::new()
        .symlink("t", &target)
        .entry("t", REG, b"x", "", 0o4777)
        .finish();
    f.apply(&tar).unwrap();
    assert!(fs::symlink_metadata(f.root.join("s")).unwrap().is_dir());
    f.assert_outside_untouched();
}

#[test]
fn whiteout_escape_is_refused() {
    let f = Fixture::new();
    let tar = RawTar::new().file("../outside/.wh.secret", b"").finish();
    assert!(f.apply(&tar).is_err());
    let tar = RawTar::new().file(".wh..", b"").finish();
    assert!(f.apply(&tar).is_err());
    f.assert_outside_untouched();
}

#[test]
fn whiteout_meeting_symlinked_directory_stays_inside() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .symlink("d", &f.outside_str())
        .file("d/.wh.secret", b"")
        .finish();
    let _ = f.apply(&tar);
    let tar = RawTar::new()
        .symlink("e", "../outside")
        .file("e/.wh..wh..opq", b"")
        .finish();
    let _ = f.apply(&tar);
    f.assert_outside_untouched();
}

#[test]
fn whiteouts_delete_in_apply_mode_and_opaque_keeps_own_entries() {
    let f = Fixture::new();
    let lower = RawTar::new()
        .file("a/one", b"1")
        .file("a/two", b"2")
        .file("b/three", b"3")
        .file("gone", b"x")
        .finish();
    f.apply(&lower).unwrap();
    let upper = RawTar::new()
        .file("a/new", b"n")
        .file("a/.wh..wh..opq", b"")
        .file("b/.wh.three", b"")
        .file(".wh.gone", b"")
        .finish();
    f.apply(&upper).unwrap();
    assert_eq!(tree(&f.root), vec!["a", "a/new", "b"]);
}

#[test]
fn duplicates_and_type_flips_last_entry_wins() {
    let f = Fixture::new();
    let tar = RawTar::new()
        .dir("x/")
        .file("x/inner", b"i")
        .file("x", b"now a file")
        .file("y", b"first")
        .file("y", b"second")
        .symlink("z", "y")
        .dir("z/")
        .finish();
    f.apply(&tar).unwrap();
    assert_eq!(fs::read(f.root.join("x")).unwrap(), b"now a file");
    assert_eq!(fs::read(f.root.join("y")).unwrap(), b"second");
    assert!(fs::symlink_metadata(f.root.join("z")).unwrap().is_dir());
}

#[test]
fn pax_size_disagreement_is_refused() {
    let f = Fixture::new();
    // PAX says 5 bytes, ustar header says 512: two readers would split the stream differently.
    let mut body = b"pwned".to_vec();
    body.resize(512, b'A');
    let tar = RawTar::new()
        .pax(&[("size", "5")], "f", REG, 512, &body)
        .finish();
    let e = f.apply(&tar).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataLoss, "{e}");
}

#[test]
fn decompression_bomb_is_stopped_by_the_size_cap() {
    let f = Fixture::new();
    let big = vec![0u8; 20 << 20];
    let tar = RawTar::new().file("zeros", &big).finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 100_000);
    let opts = ApplyOptions {
        max_uncompressed: 1 << 20,
        ..Default::default()
    };
    let e = apply_layer(&gz[..], &f.root, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceExhausted, "{e}");
}

#[test]
fn entry_count_and_name_length_caps() {
    let f = Fixture::new();
    let mut t = RawTar::new();
    for i in 0..20 {
        t = t.file(&format!("f{i}"), b"");
    }
    let opts = ApplyOptions {
        max_entries: 10,
        ..Default::default()
    };
    let e = apply_layer(&t.finish()[..], &f.root, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
    let long = "n".repeat(5000);
    let tar = RawTar::new().gnu_long_name(&long, "x", b"").finish();
    assert_eq!(
        f.apply(&tar).unwrap_err().kind(),
        ErrorKind::ResourceExhausted
    );
}

#[test]
fn truncated_archive_is_an_error() {
    let f = Fixture::new();
    let tar = RawTar::new().file("a", &[1u8; 4000]).finish();
    assert!(f.apply(&tar[..2048]).is_err());
}
