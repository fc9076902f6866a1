//! Layer unpack: apply the three gzip layers of a ~100 MB image with libimage, against GNU
//! `tar -xzf` of the same files into the same kind of directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};
use libimage::layer::{apply_layer, ApplyOptions};

use crate::stats::{report, time_pair};

/// (source directory on this machine, uncompressed bytes to take from it)
const LAYERS: [(&str, u64); 3] = [
    ("/usr/lib/x86_64-linux-gnu", 60 << 20),
    ("/usr/bin", 25 << 20),
    ("/usr/share", 15 << 20),
];

/// Builds the layer files once (cached under target/bench-data).
pub(crate) fn layers() -> Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/unpack");
    std::fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    for (i, (src, budget)) in LAYERS.iter().enumerate() {
        let tgz = dir.join(format!("layer{i}.tar.gz"));
        if !tgz.exists() {
            let list = dir.join(format!("layer{i}.list"));
            let mut files = Vec::new();
            let mut used = 0u64;
            collect(Path::new(src), *budget, &mut used, &mut files)?;
            std::fs::write(&list, files.join("\n"))?;
            let st = Command::new("tar")
                .args(["-czf"])
                .arg(&tgz)
                .arg("--no-recursion")
                .arg("-T")
                .arg(&list)
                .status()
                .context("run GNU tar")?;
            ensure!(st.success(), "tar -czf failed");
        }
        out.push(tgz);
    }
    Ok(out)
}

fn collect(dir: &Path, budget: u64, used: &mut u64, files: &mut Vec<String>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    files.push(dir.display().to_string());
    for e in entries {
        if *used >= budget {
            return Ok(());
        }
        let m = e.path().symlink_metadata()?;
        if m.is_dir() {
            collect(&e.path(), budget, used, files)?;
        } else {
            *used += m.len();
            files.push(e.path().display().to_string());
        }
    }
    Ok(())
}

pub fn run(runs: usize) -> Result<()> {
    let layers = layers()?;
    let compressed: u64 = layers
        .iter()
        .map(|l| std::fs::metadata(l).map(|m| m.len()).unwrap_or(0))
        .sum();
    // Every run extracts into a fresh directory; trees are deleted only after all runs.
    // (On this ext4 without a journal, inode allocation scans inodes freed in the last
    // ~30 s, so deleting between runs would make each run pay for the previous one.)
    let tmp = tempfile::tempdir()?;
    let dir = |i: usize| tmp.path().join(format!("run{i}"));
    let prepare = |i: usize| {
        std::fs::create_dir(dir(i)).unwrap();
        // Flush the previous run's dirty pages so runs do not pay for each other's writeback.
        let _ = Command::new("sync").status();
    };
    let mut uncompressed = 0;
    let (ours, tar) = time_pair(
        runs,
        prepare,
        |i| {
            uncompressed = 0;
            for l in &layers {
                let f = std::fs::File::open(l).unwrap();
                let a = apply_layer(f, &dir(i), &ApplyOptions::default()).unwrap();
                uncompressed += a.size;
            }
        },
        |i| {
            for l in &layers {
                let st = Command::new("tar")
                    .arg("-xzf")
                    .arg(l)
                    .arg("-C")
                    .arg(dir(i))
                    .status()
                    .unwrap();
                assert!(st.success());
            }
        },
    );
    println!(
        "image: {} layers, {:.1} MB gzip, {:.1} MB uncompressed; {runs} runs each, interleaved, medians",
        layers.len(),
        compressed as f64 / 1e6,
        uncompressed as f64 / 1e6
    );
    let raw = report("unpack 3 gzip layers", &ours, "GNU tar -xzf", &tar, 0.5);
    println!("{}", serde_json::to_string(&raw)?);
    Ok(())
}
