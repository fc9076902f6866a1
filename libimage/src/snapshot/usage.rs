//! Disk usage of a directory tree (hard-linked inodes counted once).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes and inodes used by a snapshot's own directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Apparent bytes of regular files.
    pub size: u64,
    /// Number of inodes.
    pub inodes: u64,
}

/// Walks `dir` without following links.
pub fn usage_of(dir: &Path) -> Result<Usage> {
    let mut seen = HashSet::new();
    let mut u = Usage::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io("read directory", &d, e))? {
            let e = e.map_err(|e| Error::io("read directory", &d, e))?;
            let m = e
                .path()
                .symlink_metadata()
                .map_err(|er| Error::io("stat", e.path(), er))?;
            if !seen.insert((m.dev(), m.ino())) {
                continue;
            }
            u.inodes += 1;
            if m.is_file() {
                u.size += m.len();
            } else if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok(u)
}
