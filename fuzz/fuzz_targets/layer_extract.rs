//! Layer extraction: whatever the archive, nothing is written outside the root. A sentinel
//! directory beside the root must stay exactly as it was.
#![no_main]
use libfuzzer_sys::fuzz_target;
use libimage::layer::{apply_layer, ApplyOptions};

fuzz_target!(|data: &[u8]| {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    let sentinel = outer.path().join("sentinel");
    std::fs::create_dir(&root).unwrap();
    std::fs::create_dir(&sentinel).unwrap();
    std::fs::write(sentinel.join("file"), b"untouched").unwrap();
    let opts = ApplyOptions {
        max_uncompressed: 16 << 20,
        max_entries: 10_000,
        ..Default::default()
    };
    let _ = apply_layer(data, &root, &opts);
    let mut names: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["root", "sentinel"]);
    let inside: Vec<_> = std::fs::read_dir(&sentinel)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(inside, ["file"]);
    assert_eq!(std::fs::read(sentinel.join("file")).unwrap(), b"untouched");
});
