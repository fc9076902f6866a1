//! The files of a build context, as `COPY . /dst` sees them after `docker build`.

use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::{bad_pattern, IgnorePatterns};
use crate::error::{Error, Result};

/// What a context entry is (not following symbolic links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link, sent as a link (never followed).
    Symlink,
    /// A FIFO or a device node. (Sockets are never sent: Docker's tar refuses them.)
    Other,
}

/// One entry of a build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Its path relative to the context root: slash-separated, no leading `/`, never `.`
    /// or `..` components.
    pub rel: String,
    /// What it is.
    pub kind: EntryKind,
}

/// A build context directory as the classic builder's daemon sees it once `docker build`
/// has sent it: the entries [`context_entries`] lists, with lookups for resolving `COPY`
/// sources. It reads the directory once, in [`open`](Self::open).
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    entries: Vec<ContextEntry>,
    index: HashMap<String, EntryKind>,
}

/// Walks a context directory and lists what `docker build` makes of it (classic builder):
/// the entries `COPY . /dst` copies, as context-relative paths in Docker's walk order
/// (depth first, the names of each directory sorted by bytes, so a directory comes right
/// before its contents).
///
/// `dockerfile` is the Dockerfile's context-relative path (`Dockerfile`, or the `-f` path
/// made relative to the context); `None` when it is not in the context (`-f -`, or a file
/// outside it).
///
/// The rules, each reproduced from Docker and checked on Docker 20.10 (28.x CLI):
///
/// - The walk never follows symbolic links and never leaves `root`. An excluded file is
///   left out; an excluded directory is left out with everything below it, unless
///   [`IgnorePatterns::must_descend`] says a `!` pattern may re-include something inside,
///   in which case the walk goes on below it (the directory itself still left out).
/// - A directory left out but holding a re-included entry is listed anyway (as
///   [`EntryKind::Dir`]): the daemon recreates it when unpacking (with default
///   permissions, not the original ones). With `sub` and `!sub/keep`, `COPY .` gives
///   `sub` and `sub/keep`.
/// - The Dockerfile and `.dockerignore` are always sent (the CLI adds `!Dockerfile` and
///   `!.dockerignore` when the patterns exclude them), and then deleted by the daemon
///   when the patterns exclude them, so they are listed exactly when not excluded. With
///   `Dockerfile` and `.dockerignore` in `.dockerignore`, `COPY .` copies neither; with
///   `sub` and `-f sub/Dockerfile`, it copies an empty `sub`.
///
/// Errors: a pattern whose expression does not compile, once Docker would evaluate it
/// (`error checking context: syntax error in pattern`; Docker then fails the build too,
/// or in rare orders cuts the context short); an unreadable directory or file (Docker's
/// "can't stat" and "no permission to read from" checks); a name that is not UTF-8.
pub fn context_entries(
    root: &Path,
    patterns: &IgnorePatterns,
    dockerfile: Option<&str>,
) -> Result<Vec<ContextEntry>> {
    Ok(BuildContext::open(root, patterns, dockerfile)?.entries)
}

/// One directory being walked.
struct Frame {
    /// Its path relative to the root, `""` for the root.
    rel: String,
    /// Its entries, sorted by name, and how far the walk is.
    names: Vec<(String, fs::FileType)>,
    next: usize,
    /// The tar walk visits its entries; with the directory's own match results.
    tar: Option<Vec<bool>>,
    /// The CLI's validation walk (`ValidateContextDirectory`) visits its entries.
    check: bool,
}

impl BuildContext {
    /// Walks `root` (see [`context_entries`] for the rules).
    pub fn open(root: &Path, patterns: &IgnorePatterns, dockerfile: Option<&str>) -> Result<Self> {
        // The CLI's additions: the daemon must be able to read both files.
        let mut sent = patterns.clone();
        if patterns.matches_legacy(".dockerignore").unwrap_or(false) {
            sent.push("!.dockerignore")?;
        }
        if let Some(df) = dockerfile {
            if patterns.matches_legacy(df).unwrap_or(false) {
                sent.push(&format!("!{df}"))?;
            }
        }

        let mut entries = Vec::new();
        let mut stack = vec![Frame {
            rel: String::new(),
            names: read_dir_sorted(root, root)?,
            next: 0,
            tar: Some(Vec::new()),
            check: true,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some((name, ft)) = frame.names.get(frame.next).cloned() else {
                stack.pop();
                continue;
            };
            frame.next += 1;
            let rel = if frame.rel.is_empty() {
                name
            } else {
                format!("{}/{name}", frame.rel)
            };
            let (parent_tar, parent_check) = (frame.tar.clone(), frame.check);
            let is_dir = ft.is_dir();

            // ValidateContextDirectory: the original patterns, MatchesOrParentMatches,
            // an excluded directory is not entered.
            let mut check_below = false;
            if parent_check {
                let skip = patterns
                    .matches_or_parent(&rel)
                    .map_err(|_| bad_pattern())?;
                if !skip && ft.is_file() {
                    let path = root.join(&rel);
                    if let Err(e) = fs::File::open(&path) {
                        if e.kind() == std::io::ErrorKind::PermissionDenied {
                            return Err(Error::io("no permission to read from", path, e));
                        }
                    }
                }
                check_below = is_dir && !skip;
            }

            // TarWithOptions: the patterns with the CLI's additions,
            // MatchesUsingParentResults, and the re-include test for excluded directories.
            let mut tar_below = None;
            if let Some(parent) = parent_tar {
                let (skip, info) = sent
                    .matches_with_parent(&rel, &parent)
                    .map_err(|_| bad_pattern())?;
                if !skip {
                    if let Some(kind) = kind_of(&ft) {
                        entries.push(ContextEntry {
                            rel: rel.clone(),
                            kind,
                        });
                    }
                }
                if is_dir && (!skip || sent.must_descend(&rel)) {
                    tar_below = Some(info);
                }
            }

            if tar_below.is_some() || check_below {
                let path = root.join(&rel);
                let names = match read_dir_sorted(root, &path) {
                    Ok(names) => names,
                    // The tar walk only logs an unreadable directory; the check fails.
                    Err(_) if !check_below => continue,
                    Err(e) => return Err(e),
                };
                stack.push(Frame {
                    rel,
                    names,
                    next: 0,
                    tar: tar_below,
                    check: check_below,
                });
            }
        }

        let mut ctx = BuildContext {
            root: root.to_path_buf(),
            entries: with_implied_dirs(entries),
            index: HashMap::new(),
        };
        // The daemon (Docker 20.10) deletes both files again when the original patterns
        // exclude them; it compiles every pattern first, and a broken one stops it.
        if !patterns.has_broken() {
            let mut remove = vec![".dockerignore".to_string()];
            remove.extend(dockerfile.map(super::clean));
            for name in remove {
                if patterns.matches_legacy(&name).unwrap_or(false) {
                    let below = format!("{name}/");
                    ctx.entries
                        .retain(|e| e.rel != name && !e.rel.starts_with(&below));
                }
            }
        }
        ctx.index = ctx
            .entries
            .iter()
            .map(|e| (e.rel.clone(), e.kind))
            .collect();
        Ok(ctx)
    }

    /// The context directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every entry, in walk order (see [`context_entries`]).
    pub fn entries(&self) -> &[ContextEntry] {
        &self.entries
    }

    /// What the context-relative path `rel` is in the context, without following a final
    /// symbolic link; `.` (or `""`) is the root, a directory. `None` when it is not in
    /// the context (missing, or excluded). `rel` is taken as is (not cleaned).
    pub fn kind(&self, rel: &str) -> Option<EntryKind> {
        if rel.is_empty() || rel == "." {
            return Some(EntryKind::Dir);
        }
        self.index.get(rel).copied()
    }

    /// The entries strictly below the directory `rel` (`.` for all), in walk order: what
    /// copying that directory copies.
    pub fn subtree(&self, rel: &str) -> &[ContextEntry] {
        if rel.is_empty() || rel == "." {
            return &self.entries;
        }
        let Some(start) = self.entries.iter().position(|e| e.rel == rel) else {
            return &[];
        };
        let below = format!("{rel}/");
        let len = self.entries[start + 1..]
            .iter()
            .take_while(|e| e.rel.starts_with(&below))
            .count();
        &self.entries[start + 1..start + 1 + len]
    }

    /// The target of the symbolic link `rel` (read from the directory).
    pub(crate) fn read_link(&self, rel: &str) -> Option<String> {
        let target = fs::read_link(self.root.join(rel)).ok()?;
        Some(target.to_string_lossy().into_owned())
    }
}

/// What to list for a file type; `None` for a socket (Docker's tar skips it).
fn kind_of(ft: &fs::FileType) -> Option<EntryKind> {
    Some(if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else if ft.is_socket() {
        return None;
    } else {
        EntryKind::Other
    })
}

/// The names in `dir` sorted by bytes (Go's `ReadDir` order), with their types (not
/// following links).
fn read_dir_sorted(root: &Path, dir: &Path) -> Result<Vec<(String, fs::FileType)>> {
    let cant_stat = |e| Error::io("can't stat", dir, e);
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(cant_stat)? {
        let entry = entry.map_err(cant_stat)?;
        let ft = entry.file_type().map_err(cant_stat)?;
        let os_name = entry.file_name();
        let Ok(name) = std::str::from_utf8(os_name.as_bytes()) else {
            let shown = dir.join(&os_name);
            let shown = shown.strip_prefix(root).unwrap_or(&shown);
            return Err(Error::InvalidArgument(format!(
                "file name is not valid UTF-8: {:?} (ministry only takes UTF-8 names in a build context)",
                shown
            )));
        };
        names.push((name.to_string(), ft));
    }
    names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(names)
}

/// Adds, right before an entry, the parent directories the walk left out: the daemon
/// creates them when unpacking.
fn with_implied_dirs(entries: Vec<ContextEntry>) -> Vec<ContextEntry> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        for (i, _) in e.rel.match_indices('/') {
            let parent = &e.rel[..i];
            if seen.insert(parent.to_string()) {
                out.push(ContextEntry {
                    rel: parent.to_string(),
                    kind: EntryKind::Dir,
                });
            }
        }
        seen.insert(e.rel.clone());
        out.push(e);
    }
    out
}
