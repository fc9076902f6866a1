//! Snapshot metadata shared by the backends: one JSON file under an inter-process lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{create_dir_all, read_json, write_json_atomic, LockGuard};

/// The state of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Writable, not yet committed.
    Active,
    /// Read-only view of a committed snapshot.
    View,
    /// Committed: immutable, can be a parent.
    Committed,
}

/// What the store knows about a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Its key or committed name.
    pub name: String,
    /// Its parent's name.
    pub parent: Option<String>,
    /// Its state.
    pub kind: Kind,
    /// Its directory number.
    pub id: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Db {
    next_id: u64,
    snapshots: BTreeMap<String, Info>,
}

/// The metadata file and the directory of snapshot directories.
#[derive(Debug, Clone)]
pub(crate) struct MetaStore {
    root: PathBuf,
}

fn not_found(key: &str) -> Error {
    Error::NotFound {
        what: "snapshot does not exist",
        name: key.to_string(),
    }
}

impl MetaStore {
    pub(crate) fn open(root: &Path) -> Result<Self> {
        create_dir_all(&root.join("snapshots"), 0o700)?;
        let s = MetaStore {
            root: root.to_path_buf(),
        };
        s.remove_orphans()?;
        Ok(s)
    }

    fn file(&self) -> PathBuf {
        self.root.join("metadata.json")
    }

    /// A snapshot's directory.
    pub(crate) fn dir(&self, id: u64) -> PathBuf {
        self.root.join("snapshots").join(id.to_string())
    }

    /// The directory holding a snapshot's own files.
    pub(crate) fn fs(&self, id: u64) -> PathBuf {
        self.dir(id).join("fs")
    }

    /// Removes a snapshot's record and, still under the lock, renames its directory to a
    /// name that says who removes it ([`removing_name`]); the tree is deleted after the
    /// lock is released. An orphan sweep of another process therefore never deletes the
    /// same tree at the same time (a crash before the rename leaves a numbered orphan, a
    /// crash after it a `.removing-` one of a dead process: both are swept at the next
    /// open).
    pub(crate) fn remove_snapshot(&self, key: &str) -> Result<()> {
        let moved = {
            let _g = LockGuard::lock(&self.root.join("lock"))?;
            let mut w = Records { db: self.read()? };
            let info = w.remove(key)?;
            write_json_atomic(&self.file(), &w.db)?;
            let from = self.dir(info.id);
            let to = self
                .root
                .join("snapshots")
                .join(removing_name(&info.id.to_string()));
            match std::fs::rename(&from, &to) {
                Ok(()) => Some(to),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io("rename", &from, e)),
            }
        };
        moved.map_or(Ok(()), |p| remove_tree_if_present(&p))
    }

    /// Disk usage of a snapshot's own directory.
    pub(crate) fn usage(&self, key: &str) -> Result<super::Usage> {
        super::usage::usage_of(&self.fs(self.get(key)?.id))
    }

    /// The own directory of an active snapshot.
    pub(crate) fn active_fs(&self, key: &str) -> Result<PathBuf> {
        let info = self.get(key)?;
        if info.kind != Kind::Active {
            return Err(Error::InvalidArgument(format!(
                "snapshot {key} is not active"
            )));
        }
        Ok(self.fs(info.id))
    }

    fn read(&self) -> Result<Db> {
        Ok(read_json(&self.file())?.unwrap_or_default())
    }

    /// Runs `f` on the records under the lock, writing them back when it succeeds.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut Records) -> Result<T>) -> Result<T> {
        let _g = LockGuard::lock(&self.root.join("lock"))?;
        let db = self.read()?;
        let mut w = Records { db };
        let out = f(&mut w)?;
        write_json_atomic(&self.file(), &w.db)?;
        Ok(out)
    }

    pub(crate) fn get(&self, key: &str) -> Result<Info> {
        self.read()?
            .snapshots
            .get(key)
            .cloned()
            .ok_or_else(|| not_found(key))
    }

    pub(crate) fn list(&self) -> Result<Vec<Info>> {
        Ok(self.read()?.snapshots.into_values().collect())
    }

    /// The chain from `key` up to the root (own first).
    pub(crate) fn chain(&self, key: &str) -> Result<Vec<Info>> {
        let db = self.read()?;
        let mut out = Vec::new();
        let mut cur = Some(key.to_string());
        while let Some(k) = cur {
            let info = db.snapshots.get(&k).ok_or_else(|| not_found(&k))?;
            cur = info.parent.clone();
            out.push(info.clone());
        }
        Ok(out)
    }

    /// Removes snapshot directories no record names (left by a crash mid-prepare or
    /// mid-remove), except those a live process is removing: each is taken over under the
    /// lock (renamed to a `.removing-` name of ours, so no other sweep takes it too) and
    /// deleted after the lock is released.
    fn remove_orphans(&self) -> Result<()> {
        static TAKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = self.root.join("snapshots");
        let mut doomed = Vec::new();
        {
            let _g = LockGuard::lock(&self.root.join("lock"))?;
            let db = self.read()?;
            let ids: std::collections::HashSet<u64> = db.snapshots.values().map(|i| i.id).collect();
            for e in std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))? {
                let e = e.map_err(|e| Error::io("read directory", &dir, e))?;
                let name = e.file_name();
                let name = name.to_str();
                let keep = name
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_some_and(|id| ids.contains(&id));
                if keep || name.is_some_and(removal_in_progress) {
                    continue;
                }
                let n = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let to = dir.join(removing_name(&format!("orphan{n}")));
                match std::fs::rename(e.path(), &to) {
                    Ok(()) => doomed.push(to),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(Error::io("rename", e.path(), err)),
                }
            }
        }
        doomed.iter().try_for_each(|p| remove_tree_if_present(p))
    }
}

/// The records, as seen inside [`MetaStore::update`].
pub(crate) struct Records {
    db: Db,
}

impl Records {
    /// Adds a new snapshot after checking key and parent; returns its record.
    pub(crate) fn create(&mut self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Info> {
        if key.is_empty() {
            return Err(Error::InvalidArgument(
                "snapshot key must not be empty".into(),
            ));
        }
        if self.db.snapshots.contains_key(key) {
            return Err(Error::AlreadyExists {
                what: "snapshot",
                name: key.to_string(),
            });
        }
        if let Some(p) = parent {
            let pi = self.db.snapshots.get(p).ok_or_else(|| not_found(p))?;
            if pi.kind != Kind::Committed {
                return Err(Error::InvalidArgument(format!(
                    "parent snapshot {p} is not committed"
                )));
            }
        }
        self.db.next_id += 1;
        let info = Info {
            name: key.to_string(),
            parent: parent.map(str::to_string),
            kind,
            id: self.db.next_id,
        };
        self.db.snapshots.insert(key.to_string(), info.clone());
        Ok(info)
    }

    pub(crate) fn commit(&mut self, name: &str, key: &str) -> Result<Info> {
        let info = self.db.snapshots.get(key).ok_or_else(|| not_found(key))?;
        if info.kind != Kind::Active {
            return Err(Error::InvalidArgument(format!(
                "snapshot {key} is not active"
            )));
        }
        if self.db.snapshots.contains_key(name) {
            return Err(Error::AlreadyExists {
                what: "snapshot",
                name: name.to_string(),
            });
        }
        let mut info = self.db.snapshots.remove(key).expect("checked above");
        info.name = name.to_string();
        info.kind = Kind::Committed;
        self.db.snapshots.insert(name.to_string(), info.clone());
        Ok(info)
    }

    pub(crate) fn remove(&mut self, key: &str) -> Result<Info> {
        if !self.db.snapshots.contains_key(key) {
            return Err(not_found(key));
        }
        if let Some(child) = self
            .db
            .snapshots
            .values()
            .find(|i| i.parent.as_deref() == Some(key))
        {
            return Err(Error::Conflict(format!(
                "snapshot {key} is the parent of {}",
                child.name
            )));
        }
        Ok(self.db.snapshots.remove(key).expect("checked above"))
    }
}

/// The start of the name of a snapshot directory being removed.
const REMOVING: &str = ".removing-";

/// The start time of process `pid` (`/proc/PID/stat` field 22), `None` if it is gone or
/// a zombie.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses.
    let mut f = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(f.next()?, "Z" | "X" | "x") {
        return None;
    }
    f.nth(18)?.parse().ok()
}

/// `.removing-<pid>-<start time>-<tag>`: a directory this process is removing. A PID
/// alone could be reused; with its start time it names this process only.
fn removing_name(tag: &str) -> String {
    let me = std::process::id();
    format!("{REMOVING}{me}-{}-{tag}", process_start(me).unwrap_or(0))
}

/// Whether `name` ([`removing_name`]) is being removed by a process that still lives.
fn removal_in_progress(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(REMOVING) else {
        return false;
    };
    let mut f = rest.splitn(3, '-');
    match (
        f.next().and_then(|p| p.parse::<u32>().ok()),
        f.next().and_then(|s| s.parse::<u64>().ok()),
    ) {
        (Some(pid), Some(start)) => start != 0 && process_start(pid) == Some(start),
        _ => false,
    }
}

/// [`remove_tree`], where a tree that is already gone is not an error.
fn remove_tree_if_present(path: &Path) -> Result<()> {
    match remove_tree(path) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Removes a directory tree of ours (never following links).
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default();
    let dir = crate::layer::fsops::Root::open(parent).map_err(|e| Error::io("open", parent, e))?;
    crate::layer::fsops::remove_all_at(dir.fd(), name).map_err(|e| Error::io("remove", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18: a sweep at open deleted the directory another process was removing
    /// (both failed with ENOENT). It now leaves a live remover's directory alone, and
    /// sweeps those of dead removers and numbered orphans.
    #[test]
    fn orphan_sweep_spares_live_removals_and_takes_dead_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let store = MetaStore::open(tmp.path()).unwrap();
        let snaps = tmp.path().join("snapshots");
        let live = removing_name("7");
        // A PID with a start time it never had: a remover that is gone.
        let dead = format!("{REMOVING}{}-1-8", std::process::id());
        for d in [live.as_str(), dead.as_str(), "9"] {
            std::fs::create_dir_all(snaps.join(d).join("fs/sub")).unwrap();
        }
        drop(store);
        MetaStore::open(tmp.path()).unwrap();
        let left: Vec<_> = std::fs::read_dir(&snaps)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, [live]);
    }
}
