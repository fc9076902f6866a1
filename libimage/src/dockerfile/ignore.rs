//! The build context: `.dockerignore` patterns, the files `docker build` sends, and how
//! `COPY`/`ADD` find their sources in it, all as Docker's classic builder does them.
//!
//! Docker splits this between the CLI and the daemon, and ministry reproduces the result
//! of both:
//!
//! - The CLI reads `.dockerignore` ([`IgnorePatterns::parse`], Docker's `ReadAll`),
//!   checks the patterns, adds `!.dockerignore` and `!<Dockerfile>` when those two files
//!   are excluded (so the daemon can read them), and tars the context directory, walking
//!   it with the patterns (`archive.TarWithOptions`).
//! - The daemon unpacks the tar (recreating the directories of re-included files that the
//!   walk left out), then deletes `.dockerignore` and the Dockerfile again if the patterns
//!   exclude them. What is left is what `COPY . /dst` sees: [`context_entries`].
//! - `COPY`/`ADD` sources are paths in that tree, or `filepath.Match` globs matched
//!   against every path of it ([`resolve_sources`], [`BuildContext`]).
//!
//! The pattern language is moby/patternmatcher's: each pattern is cleaned
//! (`filepath.Clean`), a leading `/` dropped, then turned into a Go regular expression
//! (`*` is `[^/]*`, `?` is `[^/]`, `**` any number of directories), and a path is excluded
//! when the last pattern matching it or one of its parent directories is not a `!` one.
//! Because Docker hands the expression to Go's `regexp`, RE2 leaks through: `\d` is a
//! digit, `[[:alpha:]]` a POSIX class, `[?]` and `[*]` do odd things. This module matches
//! those byte for byte (checked on Docker 20.10 with the 28.x CLI); see the tests.
//!
//! Only `.dockerignore` counts: a `Dockerfile.dockerignore` beside the Dockerfile is a
//! BuildKit feature the classic builder ignores (verified). Not reproduced: Unicode
//! classes in patterns (`\pL`, refused as a syntax error); the 20.10 daemon's older
//! pattern compiler, which it uses only to decide whether to delete the Dockerfile and
//! `.dockerignore` (it escapes only `.` and `$`, so patterns with `+()|{}` may differ
//! there); and file names that are not UTF-8 (an error).
//!
//! ```
//! use libimage::dockerfile::ignore::IgnorePatterns;
//!
//! let p = IgnorePatterns::parse("# build output\n*.md\n!README.md\nnode_modules\n").unwrap();
//! assert!(p.excludes("CHANGES.md"));
//! assert!(!p.excludes("README.md"));
//! assert!(!p.excludes("docs/guide.md")); // `*` stays in one directory
//! assert!(p.excludes("node_modules/left-pad/index.js"));
//! ```

mod context;
mod glob;
mod pattern;
mod regex;
mod resolve;

pub use context::{context_entries, BuildContext, ContextEntry, EntryKind};
pub use resolve::resolve_sources;

use crate::error::{Error, Result};
use glob::{clean, go_match};
use pattern::{NewError, Pattern};
use regex::BadRegex;

/// The longest line Go's `bufio.Scanner` reads (its default buffer); Docker fails on a
/// longer `.dockerignore` line.
const MAX_LINE: usize = 64 * 1024;

/// Go's `filepath.Match` (Unix): `*` (any run of characters but `/`), `?` (one character
/// but `/`), `[...]` classes with ranges and `^` negation (a class may match `/`; `!` is
/// an ordinary character), `\` escapes. The whole name must match. Docker matches `COPY`
/// source globs with it.
///
/// A malformed pattern is an error (`syntax error in pattern`) whatever the name.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool> {
    go_match(pattern, name).map_err(|_| Error::InvalidArgument("syntax error in pattern".into()))
}

/// Patterns of a `.dockerignore` file, as Docker reads them.
///
/// Reading (`ReadAll`): a UTF-8 byte-order mark at the start is dropped; lines are split on
/// `\n` (a `\r` before it is dropped); a line starting with `#` (in its first column) is a
/// comment; lines are trimmed and empty ones skipped; a leading `!` makes an exclusion
/// (re-include) pattern; each pattern is `filepath.Clean`ed and a leading `/` removed, so
/// `/a`, `./a` and `a/` all mean `a`.
///
/// Matching: a context-relative path is excluded when the last pattern matching the path
/// or one of its parent directories is not a `!` pattern. `*`, `?` and classes stay within
/// one path component; `**` spans any number of them.
#[derive(Debug, Clone, Default)]
pub struct IgnorePatterns {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl IgnorePatterns {
    /// Parses the text of a `.dockerignore` file.
    ///
    /// Errors carry Docker's text: a line of 64 KiB or more is `error reading
    /// .dockerignore: bufio.Scanner: token too long`; a lone `!` is `error checking context:
    /// illegal exclusion pattern: "!"`; a pattern `filepath.Match` refuses (`[`, `a\`) is
    /// `error checking context: syntax error in pattern`.
    ///
    /// A pattern Go's `filepath.Match` accepts but whose regular expression does not
    /// compile (`[z-a]`, `a\e`) is kept: Docker only notices it when the pattern is first
    /// evaluated, so it fails [`context_entries`] (with the same error) rather than this.
    pub fn parse(text: &str) -> Result<IgnorePatterns> {
        let mut lines = Vec::new();
        for (n, segment) in split_lines(text).enumerate() {
            if segment.len() >= MAX_LINE {
                return Err(Error::InvalidArgument(
                    "error reading .dockerignore: bufio.Scanner: token too long".into(),
                ));
            }
            let mut line = segment.strip_suffix('\r').unwrap_or(segment);
            if n == 0 {
                line = line.strip_prefix('\u{FEFF}').unwrap_or(line);
            }
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (invert, mut pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim().to_string()),
                None => (false, line.to_string()),
            };
            if !pattern.is_empty() {
                pattern = clean(&pattern);
                if pattern.len() > 1 && pattern.starts_with('/') {
                    pattern.remove(0);
                }
            }
            lines.push(if invert {
                format!("!{pattern}")
            } else {
                pattern
            });
        }
        let mut out = IgnorePatterns::empty();
        for line in &lines {
            out.push(line)?;
        }
        Ok(out)
    }

    /// No patterns: nothing is excluded.
    pub fn empty() -> Self {
        IgnorePatterns::default()
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is a `!` (re-include) one (Docker's `Exclusions()`). Note that
    /// `/!a` is one too: the leading `/` is dropped before `!` is looked at.
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    /// Adds one pattern as `patternmatcher.New` reads it (trimmed, cleaned, `!` split off).
    fn push(&mut self, raw: &str) -> Result<()> {
        match Pattern::new(raw) {
            Ok(Some(p)) => {
                self.exclusions |= p.exclusion;
                self.patterns.push(p);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(NewError::IllegalExclusion) => Err(Error::InvalidArgument(
                "error checking context: illegal exclusion pattern: \"!\"".into(),
            )),
            Err(NewError::BadPattern) => Err(bad_pattern()),
        }
    }

    /// Docker's `MatchesOrParentMatches`: is this context-relative path (slash-separated,
    /// no leading `/`) excluded? The last matching pattern wins; `!` re-includes; a
    /// pattern matching a parent directory excludes what is under it. The context root
    /// (`""`, `.`) is never excluded.
    ///
    /// This is the answer for one path; whether a file is *sent* also depends on the walk
    /// (an excluded directory is only entered when [`must_descend`](Self::must_descend)),
    /// which [`context_entries`] applies. A pattern whose expression does not compile
    /// counts as not matching here (Go returns `false` with its error).
    pub fn excludes(&self, rel_path: &str) -> bool {
        let file = clean(rel_path);
        if file == "." {
            return false;
        }
        self.matches_or_parent(&file).unwrap_or(false)
    }

    /// Whether the walk must still enter this excluded directory, because a `!` pattern
    /// could re-include something below it: Docker's test in `archive.TarWithOptions`,
    /// which is textual (the `!` pattern starts with `<dir>/`). So `!dir/keep` and
    /// `!dir/**/keep` enter `dir`, but `!**/keep` and `!*/keep` do not, and re-include
    /// nothing inside an excluded directory (verified on Docker 20.10).
    pub fn must_descend(&self, rel_dir: &str) -> bool {
        if !self.exclusions {
            return false;
        }
        let dir_slash = format!("{}/", clean(rel_dir));
        self.patterns
            .iter()
            .any(|p| p.exclusion && format!("{}/", p.text).starts_with(&dir_slash))
    }

    /// `MatchesOrParentMatches` on a cleaned path other than `.`.
    fn matches_or_parent(&self, file: &str) -> Result<bool, BadRegex> {
        let parents = parent_dirs(file);
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut hit = p.matches(file)?;
            if !hit {
                hit = parents.iter().any(|d| p.matches(d).unwrap_or(false));
            }
            if hit {
                matched = !p.exclusion;
            }
        }
        Ok(matched)
    }

    /// `MatchesUsingParentResults`: like `matches_or_parent`, but a pattern that matched
    /// the parent directory (`parent[i]`) counts as matching without being evaluated, and
    /// parents are not re-checked. Returns the answer and this path's own results, for its
    /// children. `parent` is empty for a top-level path.
    fn matches_with_parent(
        &self,
        file: &str,
        parent: &[bool],
    ) -> Result<(bool, Vec<bool>), BadRegex> {
        let mut matched = false;
        let mut info = vec![false; self.patterns.len()];
        for (i, p) in self.patterns.iter().enumerate() {
            let mut hit = parent.get(i).copied().unwrap_or(false);
            if !hit {
                if p.exclusion != matched {
                    continue;
                }
                hit = p.matches(file)?;
                if !hit && parent.is_empty() {
                    hit = parent_dirs(file)
                        .iter()
                        .any(|d| p.matches(d).unwrap_or(false));
                }
            }
            info[i] = hit;
            if hit {
                matched = !p.exclusion;
            }
        }
        Ok((matched, info))
    }

    /// The deprecated `Matches`, which the CLI (adding `!Dockerfile`) and the daemon
    /// (removing the Dockerfile and `.dockerignore`) still use: it only tries the parent
    /// directory with as many components as the pattern has. `file` need not be clean.
    fn matches_legacy(&self, file: &str) -> Result<bool, BadRegex> {
        let file = clean(file);
        if file == "." {
            return Ok(false);
        }
        let parents: Vec<&str> = match file.rfind('/') {
            Some(i) => file[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut hit = p.matches(&file)?;
            if !hit && !parents.is_empty() && p.dirs() <= parents.len() {
                hit = p.matches(&parents[..p.dirs()].join("/")).unwrap_or(false);
            }
            if hit {
                matched = !p.exclusion;
            }
        }
        Ok(matched)
    }

    /// Whether a pattern's expression does not compile. The daemon (Docker 20.10) compiles
    /// every pattern up front and then treats the whole list as matching nothing.
    fn has_broken(&self) -> bool {
        self.patterns.iter().any(Pattern::is_broken)
    }
}

/// The `error checking context: syntax error in pattern` error.
fn bad_pattern() -> Error {
    Error::InvalidArgument("error checking context: syntax error in pattern".into())
}

/// The lines of `text` as Go's `bufio.ScanLines` yields them (before dropping `\r`): split
/// on `\n`, the last one only if not empty.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let none = text.is_empty();
    body.split('\n').filter(move |_| !none)
}

/// The parent directories of a cleaned relative path, shortest first: `a/b/c` gives `a`,
/// `a/b`.
fn parent_dirs(file: &str) -> Vec<&str> {
    file.match_indices('/').map(|(i, _)| &file[..i]).collect()
}

#[cfg(test)]
mod tests;
