//! What changed in a snapshot against its parent (`docker diff`), and those changes as a
//! layer tar (`commit`). Entries are sorted, so the same change gives the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::export::TarWriter;
use super::walk::Layers;
use crate::error::Result;

/// The kind of a change, as `docker diff` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// `C`: modified.
    Modified,
    /// `A`: added.
    Added,
    /// `D`: deleted.
    Deleted,
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Absolute path in the container (`/etc/passwd`).
    pub path: PathBuf,
    /// What happened to it.
    pub kind: ChangeKind,
}

impl std::fmt::Display for Change {
    /// `docker diff`'s line: `A /newfile`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self.kind {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        };
        write!(f, "{k} {}", self.path.display())
    }
}

fn same(a: &libc::stat, b: &libc::stat) -> bool {
    let is_dir = a.st_mode & libc::S_IFMT == libc::S_IFDIR;
    a.st_mode == b.st_mode
        && a.st_uid == b.st_uid
        && a.st_gid == b.st_gid
        && a.st_rdev == b.st_rdev
        && (is_dir
            || (a.st_size == b.st_size
                && a.st_mtime == b.st_mtime
                && a.st_mtime_nsec == b.st_mtime_nsec))
}

/// Changes of a snapshot.
///
/// - Overlay (`upper` is the snapshot's own directory, `lower` its parents, top first):
///   everything in `upper` is added or modified, whiteouts are deletions, an opaque
///   directory deletes what the lower layers had in it.
/// - Full trees (`overlay` false): `upper` and `lower` (the parent's full tree) are
///   compared by type, mode, owner, size and mtime.
pub fn changes(upper: &Path, lower: &[PathBuf], overlay: bool) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    let abs = |p: &Path| Path::new("/").join(p);
    if overlay {
        let mut dirs = vec![upper.to_path_buf()];
        dirs.extend(lower.iter().cloned());
        let merged = Layers::open(&dirs, true)?;
        let up = Layers::open(&[upper.to_path_buf()], false)?;
        up.walk(&mut |e| {
            let in_lower = merged.exists(e.path, 1)?;
            if crate::layer::fsops::is_whiteout(e.stat) {
                if in_lower {
                    out.push(Change {
                        path: abs(e.path),
                        kind: ChangeKind::Deleted,
                    });
                }
                return Ok(());
            }
            let kind = if in_lower {
                ChangeKind::Modified
            } else {
                ChangeKind::Added
            };
            out.push(Change {
                path: abs(e.path),
                kind,
            });
            Ok(())
        })?;
        // Opaque directories delete the lower entries they hide.
        let lower_only = Layers::open(&dirs[1..], true)?;
        // Deleted subtrees are reported once, at their root.
        let mut hidden: Vec<PathBuf> = Vec::new();
        let whiteouts: Vec<PathBuf> = out
            .iter()
            .filter(|c| c.kind == ChangeKind::Deleted)
            .map(|c| c.path.clone())
            .collect();
        lower_only.walk(&mut |e| {
            let a = abs(e.path);
            let covered = whiteouts.iter().any(|w| a.starts_with(w))
                || hidden.iter().any(|h| e.path.starts_with(h));
            if !covered && !merged.exists(e.path, 0)? {
                hidden.push(e.path.to_path_buf());
            }
            Ok(())
        })?;
        out.extend(hidden.into_iter().map(|p| Change {
            path: abs(&p),
            kind: ChangeKind::Deleted,
        }));
    } else {
        let new = Layers::open(&[upper.to_path_buf()], false)?;
        let old = Layers::open(&lower[..lower.len().min(1)], false)?;
        new.walk(&mut |e| {
            match old.stat(e.path, 0)? {
                None => out.push(Change {
                    path: abs(e.path),
                    kind: ChangeKind::Added,
                }),
                Some(st) if !same(&st, e.stat) => out.push(Change {
                    path: abs(e.path),
                    kind: ChangeKind::Modified,
                }),
                Some(_) => {}
            }
            Ok(())
        })?;
        let mut gone: Vec<PathBuf> = Vec::new();
        old.walk(&mut |e| {
            if !new.exists(e.path, 0)? && !gone.iter().any(|g| e.path.starts_with(g)) {
                gone.push(e.path.to_path_buf());
            }
            Ok(())
        })?;
        out.extend(gone.into_iter().map(|p| Change {
            path: abs(&p),
            kind: ChangeKind::Deleted,
        }));
        // A directory whose content changed is reported as changed, as Docker does.
        let mut parents = Vec::new();
        for c in &out {
            let mut p = c.path.parent();
            while let Some(d) = p {
                if d != Path::new("/")
                    && !out.iter().any(|x| x.path == d)
                    && !parents.contains(&d.to_path_buf())
                {
                    parents.push(d.to_path_buf());
                }
                p = d.parent();
            }
        }
        out.extend(parents.into_iter().map(|p| Change {
            path: p,
            kind: ChangeKind::Modified,
        }));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Writes `changes` of the tree `current` (the snapshot's merged view) as a layer tar:
/// added and modified entries in full, deletions as `.wh.` whiteouts. Sorted by path.
pub fn write_changes_tar(current: &Layers, changes: &[Change], out: &mut dyn Write) -> Result<()> {
    write_changes_tar_clamped(current, changes, out, None)
}

/// [`write_changes_tar`] with every entry's time at most `epoch` (seconds since 1970:
/// `SOURCE_DATE_EPOCH`, for layers that do not depend on when they were made).
pub fn write_changes_tar_clamped(
    current: &Layers,
    changes: &[Change],
    out: &mut dyn Write,
    epoch: Option<u64>,
) -> Result<()> {
    let mut w = TarWriter::new(out).clamped(epoch);
    let mut idx = 0;
    let rel = |c: &Change| c.path.strip_prefix("/").unwrap_or(&c.path).to_path_buf();
    // Walk the merged tree once (sorted, parents first) and emit each changed entry when
    // reached; deletions are emitted in path order among them.
    let mut pending: Vec<&Change> = changes.iter().collect();
    pending.sort_by(|a, b| a.path.cmp(&b.path));
    let mut deletions = pending
        .iter()
        .filter(|c| c.kind == ChangeKind::Deleted)
        .peekable();
    current.walk(&mut |e| {
        while let Some(d) = deletions.peek() {
            if rel(d).as_path() < e.path {
                let p = rel(d);
                let wh = p.parent().unwrap_or(Path::new("")).join(format!(
                    ".wh.{}",
                    p.file_name().unwrap_or_default().to_string_lossy()
                ));
                w.append_empty(&wh, 0)?;
                deletions.next();
            } else {
                break;
            }
        }
        while idx < pending.len()
            && (pending[idx].kind == ChangeKind::Deleted || rel(pending[idx]).as_path() < e.path)
        {
            idx += 1;
        }
        if idx < pending.len() && rel(pending[idx]).as_path() == e.path {
            w.append(e)?;
            idx += 1;
        }
        Ok(())
    })?;
    for d in deletions {
        let p = rel(d);
        let wh = p.parent().unwrap_or(Path::new("")).join(format!(
            ".wh.{}",
            p.file_name().unwrap_or_default().to_string_lossy()
        ));
        w.append_empty(&wh, 0)?;
    }
    w.finish()
}
