//! `.dockerignore` patterns and build-context selection. The input is a `.dockerignore`
//! text, then (after a NUL byte) paths to test, one per line. Invariants:
//!
//! - parsing, `excludes`, `must_descend` and `glob_match` never panic, and the context
//!   root is never excluded;
//! - without `!` patterns, a path under an excluded directory is excluded;
//! - a line with no special characters excludes exactly itself and what is below it, and a
//!   later `!` line with the same text re-includes it;
//! - `glob_match` of a name with every special character escaped matches that name;
//! - on a fixed tree, every listed entry is a relative path inside the root (no `.`/`..`
//!   parts), listed once, its parent listed before it; without `!` patterns, nothing
//!   excluded is listed but the two build files; and a resolved `COPY` source (the
//!   first path line) stays inside the root.
#![no_main]
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use libimage::dockerfile::ignore::{context_entries, glob_match, BuildContext, IgnorePatterns};

/// A small context tree, made once.
fn tree() -> &'static Path {
    static TREE: OnceLock<PathBuf> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        for d in ["a/b/c", "d", "e e"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        for f in [
            "Dockerfile", ".dockerignore", "a/x.md", "a/b/y.go", "a/b/c/z", "d/k", "e e/f", "t1",
        ] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink("../../..", dir.join("a/up")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("abs")).unwrap();
        dir
    })
}

fn escape(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn inside(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && rel.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (text, rest) = s.split_once('\0').unwrap_or((s, ""));
    let paths: Vec<&str> = rest.lines().take(16).collect();

    for p in &paths {
        let _ = glob_match(text.lines().next().unwrap_or(""), p);
        assert_eq!(glob_match(&escape(p), p).ok(), Some(true), "escaped {p:?}");
    }

    let Ok(patterns) = IgnorePatterns::parse(text) else {
        return;
    };
    assert!(!patterns.excludes("") && !patterns.excludes("."));
    let has_bang = patterns.has_exclusions();
    for p in &paths {
        let ex = patterns.excludes(p);
        let _ = patterns.must_descend(p);
        if !has_bang && ex && inside(p) {
            assert!(patterns.excludes(&format!("{p}/below")), "child of {p:?}");
        }
    }

    // A plain line: letters and digits in components.
    if let Some(p) = paths.first().filter(|p| {
        inside(p) && p.split('/').all(|c| c.chars().all(|ch| ch.is_ascii_alphanumeric()))
    }) {
        let one = IgnorePatterns::parse(p).unwrap();
        assert!(one.excludes(p) && one.excludes(&format!("{p}/x")));
        assert!(!one.excludes(&format!("{p}x")));
        let back = IgnorePatterns::parse(&format!("{text}\n{p}\n!{p}\n")).unwrap();
        assert!(!back.excludes(p));
    }

    let root = tree();
    if let Ok(entries) = context_entries(root, &patterns, Some("Dockerfile")) {
        let mut seen = HashSet::new();
        for e in &entries {
            assert!(inside(&e.rel), "entry {:?}", e.rel);
            if let Some((parent, _)) = e.rel.rsplit_once('/') {
                assert!(seen.contains(parent), "{:?} before its parent", e.rel);
            }
            assert!(seen.insert(e.rel.clone()), "{:?} twice", e.rel);
            if !has_bang && e.rel != "Dockerfile" && e.rel != ".dockerignore" {
                assert!(!patterns.excludes(&e.rel), "{:?} listed but excluded", e.rel);
            }
        }
    }
    if let (Some(src), Ok(ctx)) = (
        paths.first(),
        BuildContext::open(root, &patterns, Some("Dockerfile")),
    ) {
        if let Ok(found) = ctx.resolve_sources(src) {
            for rel in found {
                assert!(rel == "." || inside(&rel), "source {rel:?}");
                let real = ctx.resolve(&rel).unwrap();
                assert!(real == "." || inside(&real), "resolved {real:?}");
            }
        }
    }
});
