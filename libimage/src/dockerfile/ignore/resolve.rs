//! `COPY`/`ADD` sources in a build context, as the classic builder's copier finds them.

use std::path::Path;

use super::context::{BuildContext, EntryKind};
use super::{clean, go_match, IgnorePatterns};
use crate::error::{Error, Result};

/// Docker's `evalSymlinksInScope` gives up after this many path components.
const MAX_STEPS: usize = 255;

/// Resolves one `COPY`/`ADD` source in the context directory `root` with these patterns,
/// taking the Dockerfile to be `Dockerfile` (use [`BuildContext::resolve_sources`]
/// otherwise). See there for the rules.
pub fn resolve_sources(
    root: &Path,
    patterns: &IgnorePatterns,
    source: &str,
) -> Result<Vec<String>> {
    BuildContext::open(root, patterns, Some("Dockerfile"))?.resolve_sources(source)
}

impl BuildContext {
    /// Resolves one `COPY`/`ADD` source (after the Dockerfile's own quoting and escapes),
    /// as Docker 20.10's classic builder does, and returns the context-relative paths it
    /// names (`.` for the root).
    ///
    /// - One leading `/`, then one leading `./`, are dropped.
    /// - A source with `*`, `?` or `[` (not after `\`) is a glob: it is matched with
    ///   [`glob_match`](super::glob_match) against the path of every entry (in walk
    ///   order), so `*` never crosses a `/` and `ld/*` finds nothing through a symlink
    ///   `ld`. No match is not an error here: Docker fails with `no source files were
    ///   specified` only when all sources of the instruction matched nothing. A glob that
    ///   leaves the context (`../*`) matches nothing.
    /// - Otherwise the path is looked up with its symbolic links followed inside the
    ///   context ([`resolve`](Self::resolve)). Leaving the context (`../x`, `/../x`,
    ///   `a.txt/x` with `a.txt` a file) is `forbidden path outside the build context:
    ///   ../x ()`; a missing or excluded path is `file not found in build context or
    ///   excluded by .dockerignore: stat x: file does not exist`. A glob match that is a
    ///   dangling link fails the same way.
    ///
    /// Docker prints these errors after `COPY failed: ` (or `ADD failed: `). The returned
    /// paths are the names Docker uses (a file copied into a directory keeps the last
    /// component's name, even when it is a link); what to copy is at
    /// [`resolve`](Self::resolve)`(path)`, and a directory's contents are its
    /// [`subtree`](Self::subtree).
    pub fn resolve_sources(&self, source: &str) -> Result<Vec<String>> {
        let orig = source.strip_prefix('/').unwrap_or(source);
        let orig = orig.strip_prefix("./").unwrap_or(orig);
        if !contains_wildcards(orig) {
            let resolved = self.resolve(orig)?;
            if self.kind(&resolved).is_none() {
                return Err(not_found(orig));
            }
            return Ok(vec![lexical(orig).unwrap_or_else(|| ".".into())]);
        }
        let mut out = Vec::new();
        for e in self.entries() {
            // Docker ignores the error of a malformed glob: it matches nothing.
            if go_match(orig, &e.rel).unwrap_or(false) {
                let resolved = self.resolve(&e.rel)?;
                if self.kind(&resolved).is_none() {
                    return Err(not_found(&e.rel));
                }
                out.push(e.rel.clone());
            }
        }
        Ok(out)
    }

    /// Docker's `FollowSymlinkInScope` in the context: the context-relative path `rel`
    /// with every symbolic link resolved, an absolute link target taken from the context
    /// root and `..` stopping at the root, so the result never leaves the context (`.` is
    /// the root). Links and directories are those of the context (an excluded entry does
    /// not exist). The result may not exist (check [`kind`](Self::kind)).
    ///
    /// Errors, with Docker's text `forbidden path outside the build context: <rel> ()`:
    /// `rel` itself climbs out of the root (`../x`), a component other than the last is a
    /// file, or the path takes more than 255 steps (a link loop).
    pub fn resolve(&self, rel: &str) -> Result<String> {
        let forbidden = || {
            Error::InvalidArgument(format!(
                "forbidden path outside the build context: {rel} ()"
            ))
        };
        let inside = lexical(rel).ok_or_else(forbidden)?;
        // Components still to walk, the next one last; Go's walk starts with the empty
        // component before the root's `/`, and counts every component as a step.
        let mut todo: Vec<String> = vec![String::new()];
        if inside != "." {
            todo = inside.rsplit('/').map(str::to_string).collect();
            todo.push(String::new());
        }
        let mut done: Vec<String> = Vec::new();
        let mut steps = 0;
        while let Some(part) = todo.pop() {
            steps += 1;
            if steps > MAX_STEPS + 1 {
                return Err(forbidden());
            }
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            let parent = done.join("/");
            // Docker's Lstat of `file/x` fails with "not a directory".
            if !parent.is_empty()
                && matches!(self.kind(&parent), Some(EntryKind::File | EntryKind::Other))
            {
                return Err(forbidden());
            }
            let candidate = if parent.is_empty() {
                part.clone()
            } else {
                format!("{parent}/{part}")
            };
            if self.kind(&candidate) == Some(EntryKind::Symlink) {
                let target = self.read_link(&candidate).unwrap_or_default();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(target.rsplit('/').map(str::to_string));
            } else {
                done.push(part);
            }
        }
        Ok(if done.is_empty() {
            ".".to_string()
        } else {
            done.join("/")
        })
    }
}

/// The path Docker's `filepath.Join(root, rel)` names, relative to the root and cleaned
/// (`.` for the root), or `None` when it is outside.
fn lexical(rel: &str) -> Option<String> {
    // A placeholder first component stands for the root.
    let joined = clean(&format!("\u{0}/{rel}"));
    if joined == "\u{0}" {
        return Some(".".to_string());
    }
    joined.strip_prefix("\u{0}/").map(str::to_string)
}

/// Docker's `containsWildcards`: `*`, `?` or `[`, not escaped by `\`.
fn contains_wildcards(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn not_found(path: &str) -> Error {
    Error::NotFound {
        what: "file not found in build context or excluded by .dockerignore",
        name: format!("stat {path}: file does not exist"),
    }
}
