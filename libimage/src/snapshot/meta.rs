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

    /// Removes a snapshot's record, then its directory (a crash in between leaves an
    /// orphan directory, removed on the next open).
    pub(crate) fn remove_snapshot(&self, key: &str) -> Result<()> {
        let info = self.update(|r| r.remove(key))?;
        remove_tree(&self.dir(info.id))
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
    /// mid-remove).
    fn remove_orphans(&self) -> Result<()> {
        let _g = LockGuard::lock(&self.root.join("lock"))?;
        let db = self.read()?;
        let ids: std::collections::HashSet<u64> = db.snapshots.values().map(|i| i.id).collect();
        let dir = self.root.join("snapshots");
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))? {
            let e = e.map_err(|e| Error::io("read directory", &dir, e))?;
            let keep = e
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|id| ids.contains(&id));
            if !keep {
                remove_tree(&e.path())?;
            }
        }
        Ok(())
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

/// Removes a directory tree of ours (never following links).
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default();
    let dir = crate::layer::fsops::Root::open(parent).map_err(|e| Error::io("open", parent, e))?;
    crate::layer::fsops::remove_all_at(dir.fd(), name).map_err(|e| Error::io("remove", path, e))
}
