//! The build context on real directory trees: `context_entries` and `COPY` source
//! resolution. Every expectation marked "Docker 20.10" was observed with a real daemon
//! (20.10.24, CLI 28.2, `DOCKER_BUILDKIT=0`): `COPY . /ctx` then `find /ctx`, or the
//! `COPY` line shown and its result.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use libimage::dockerfile::ignore::{
    context_entries, resolve_sources, BuildContext, ContextEntry, EntryKind, IgnorePatterns,
};
use libimage::ErrorKind;

/// Builds a tree: `name/` is a directory, `link->target` a symbolic link, anything else a
/// file holding its own name. Always adds a `Dockerfile`, and `.dockerignore` with
/// `ignore`.
fn tree(ignore: &str, paths: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("Dockerfile"), "FROM busybox\nCOPY . /ctx\n").unwrap();
    fs::write(root.join(".dockerignore"), ignore).unwrap();
    for p in paths {
        if let Some((link, target)) = p.split_once("->") {
            let link = root.join(link);
            fs::create_dir_all(link.parent().unwrap()).unwrap();
            symlink(target, link).unwrap();
        } else if let Some(d) = p.strip_suffix('/') {
            fs::create_dir_all(root.join(d)).unwrap();
        } else {
            let f = root.join(p);
            fs::create_dir_all(f.parent().unwrap()).unwrap();
            fs::write(f, p).unwrap();
        }
    }
    dir
}

/// What `COPY . /ctx` copies, with the Dockerfile at `dockerfile`.
fn listing(root: &Path, dockerfile: Option<&str>) -> Vec<String> {
    let text = fs::read_to_string(root.join(".dockerignore")).unwrap_or_default();
    let patterns = IgnorePatterns::parse(&text).unwrap();
    let entries = context_entries(root, &patterns, dockerfile).unwrap();
    let rels: Vec<String> = entries.iter().map(|e| e.rel.clone()).collect();
    // `find | sort` order, as the Docker runs printed it.
    let mut sorted = rels.clone();
    sorted.sort();
    sorted
}

fn ls(ignore: &str, paths: &[&str]) -> Vec<String> {
    let t = tree(ignore, paths);
    listing(t.path(), Some("Dockerfile"))
}

const FILES: &[&str] = &[
    "a.md",
    "b.md",
    "keep.md",
    "x.go",
    "sub/c.md",
    "sub/y.go",
    "sub/deep/z.go",
    "node_modules/pkg/index.js",
    "temp1",
    "temp22",
    "tempdir/f",
    "d/temp3",
    "d/e/temp4",
    "abs",
    "sub/abs",
    "dir/f",
];

/// The whole of FILES plus the two build files, minus `gone`.
fn all_but(gone: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = [".dockerignore", "Dockerfile"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for f in FILES {
        all.push(f.to_string());
        for (i, _) in f.match_indices('/') {
            all.push(f[..i].to_string());
        }
    }
    all.sort();
    all.dedup();
    all.retain(|p| !gone.contains(&p.as_str()));
    all
}

#[test]
fn patterns_on_a_tree() {
    // Docker 20.10, each row.
    assert_eq!(ls("*.md\n", FILES), all_but(&["a.md", "b.md", "keep.md"]));
    assert_eq!(
        ls("**/*.go\n", FILES),
        all_but(&["x.go", "sub/y.go", "sub/deep/z.go"])
    );
    assert_eq!(ls("**\n", FILES), Vec::<String>::new());
    assert_eq!(ls("*.md\n!keep.md\n", FILES), all_but(&["a.md", "b.md"]));
    assert_eq!(
        ls("node_modules\n", FILES),
        all_but(&[
            "node_modules",
            "node_modules/pkg",
            "node_modules/pkg/index.js"
        ])
    );
    assert_eq!(ls("/abs\n", FILES), all_but(&["abs"]));
    assert_eq!(ls("./temp1\n", FILES), all_but(&["temp1"]));
    assert_eq!(ls("dir/\n", FILES), all_but(&["dir", "dir/f"]));
    assert_eq!(ls("temp?\n", FILES), all_but(&["temp1"]));
}

#[test]
fn star_slash_temp_keeps_tempdir() {
    // Docker 20.10: `*/temp*` excludes d/temp3 only; tempdir and tempdir/f stay.
    assert_eq!(ls("*/temp*\n", FILES), all_but(&["d/temp3"]));
}

#[test]
fn build_files_excluded_are_not_copied() {
    // Docker 20.10: the CLI sends them, the daemon deletes them.
    assert_eq!(ls("Dockerfile\n.dockerignore\n", &["a.md"]), ["a.md"]);
    assert_eq!(ls("*\n", &["a.md", "d/e"]), Vec::<String>::new());
    assert_eq!(ls("*\n!d\n", &["a.md", "d/e"]), ["d", "d/e"]);
    assert_eq!(ls("*\n!Dockerfile\n", &["a.md"]), ["Dockerfile"]);
}

#[test]
fn dockerfile_in_an_excluded_directory() {
    // Docker 20.10, `-f sub/Dockerfile` with `sub` ignored: COPY . gives an empty `sub`.
    let t = tree("sub\n", &["a.md", "sub/x"]);
    fs::write(t.path().join("sub/Dockerfile"), "FROM busybox\n").unwrap();
    assert_eq!(
        listing(t.path(), Some("sub/Dockerfile")),
        [".dockerignore", "Dockerfile", "a.md", "sub"]
    );
    // Without the CLI's rule the Dockerfile would simply be left out.
    assert_eq!(
        listing(t.path(), None),
        [".dockerignore", "Dockerfile", "a.md"]
    );
}

#[test]
fn reincluded_files_bring_their_directories() {
    // Docker 20.10 for every row.
    assert_eq!(
        ls(
            "sub\n!sub/c.md\n",
            &["sub/c.md", "sub/d.md", "sub/deep/z.go"]
        ),
        [".dockerignore", "Dockerfile", "sub", "sub/c.md"]
    );
    assert_eq!(
        ls(
            "sub\n!sub/deep\n",
            &["sub/c.md", "sub/d.md", "sub/deep/z.go"]
        ),
        [
            ".dockerignore",
            "Dockerfile",
            "sub",
            "sub/deep",
            "sub/deep/z.go"
        ]
    );
    assert_eq!(
        ls("a\n!a/b/c\n", &["a/b/c/f", "a/b/x", "a/y"]),
        [
            ".dockerignore",
            "Dockerfile",
            "a",
            "a/b",
            "a/b/c",
            "a/b/c/f"
        ]
    );
    // `/!x` is `!x`.
    assert_eq!(
        ls("sub\n/!sub/keep\n", &["sub/keep", "sub/x"]),
        [".dockerignore", "Dockerfile", "sub", "sub/keep"]
    );
    // The walk uses the parent's match results.
    assert_eq!(
        ls("a\n!a/f\na\n", &["a/f", "a/g"]),
        [".dockerignore", "Dockerfile", "a", "a/f"]
    );
}

#[test]
fn reinclude_needs_a_textual_prefix() {
    // Docker 20.10.
    assert_eq!(
        ls("dir\n!**/keep\n", &["dir/keep", "dir/x", "keep"]),
        [".dockerignore", "Dockerfile", "keep"]
    );
    assert_eq!(
        ls("dir\n!*/keep\n", &["dir/keep", "dir/x"]),
        [".dockerignore", "Dockerfile"]
    );
    assert_eq!(
        ls("dir\n!dir/**/keep\n", &["dir/keep", "dir/x", "dir/y/keep"]),
        [".dockerignore", "Dockerfile", "dir", "dir/keep"]
    );
}

#[test]
fn regexp_quirks_on_a_tree() {
    // Docker 20.10 for every row.
    assert_eq!(
        ls("**foo\n", &["barfoo", "x/foo", "foo", "y/barfoo"]),
        [".dockerignore", "Dockerfile", "x", "y"]
    );
    assert_eq!(
        ls("a+b\n", &["aab", "a+b"]),
        [".dockerignore", "Dockerfile", "aab"]
    );
    assert_eq!(
        ls("f\\d\n", &["f1", "fd"]),
        [".dockerignore", "Dockerfile", "fd"]
    );
    assert_eq!(
        ls("[[:digit:]]x\n", &["1x", ":x", "[x", "x"]),
        [".dockerignore", ":x", "Dockerfile", "[x", "x"]
    );
    assert_eq!(
        ls("[?]\n", &["[]", "^]", "x"]),
        [".dockerignore", "Dockerfile", "x"]
    );
    assert_eq!(ls("a^b\n", &["a^b"]), [".dockerignore", "Dockerfile"]);
    assert_eq!(
        ls("a^b*\n", &["a^b", "a^bc"]),
        [".dockerignore", "Dockerfile", "a^b", "a^bc"]
    );
    assert_eq!(
        ls("[a]/**\nb/**\n", &["a/x\ny", "a/z", "b/x\ny"]),
        [".dockerignore", "Dockerfile", "a", "a/x\ny", "b"]
    );
}

#[test]
fn broken_regexp_is_reported_when_evaluated() {
    // Docker 20.10: `[z-a]` fails the build ...
    let t = tree("[z-a]\n", &["a.md"]);
    let p = IgnorePatterns::parse("[z-a]\n").unwrap();
    let e = context_entries(t.path(), &p, Some("Dockerfile")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "error checking context: syntax error in pattern"
    );
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // ... unless it is never evaluated; then the daemon, which compiles every pattern,
    // removes neither build file.
    assert_eq!(
        ls("![z-a]\na.md\n", &["a.md", "b.md"]),
        [".dockerignore", "Dockerfile", "b.md"]
    );
    assert_eq!(
        ls("*\n[z-a]\n", &["a.md", "d/e"]),
        [".dockerignore", "Dockerfile"]
    );
}

#[test]
fn links_fifos_and_sockets() {
    // Docker 20.10: links are sent as links (never followed), FIFOs are sent, sockets not.
    let t = tree("", &["real/f", "out->/etc", "rl->real"]);
    let root = t.path();
    let fifo = std::ffi::CString::new(root.join("fifo").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let _sock = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    let entries = context_entries(root, &IgnorePatterns::empty(), Some("Dockerfile")).unwrap();
    let want = [
        (".dockerignore", EntryKind::File),
        ("Dockerfile", EntryKind::File),
        ("fifo", EntryKind::Other),
        ("out", EntryKind::Symlink),
        ("real", EntryKind::Dir),
        ("real/f", EntryKind::File),
        ("rl", EntryKind::Symlink),
    ];
    let want: Vec<ContextEntry> = want
        .iter()
        .map(|(rel, kind)| ContextEntry {
            rel: rel.to_string(),
            kind: *kind,
        })
        .collect();
    assert_eq!(entries, want);
}

#[test]
fn walk_order_is_depth_first_by_name() {
    let t = tree("", &["a/b", "a.txt", "a-b/c"]);
    let entries = context_entries(t.path(), &IgnorePatterns::empty(), None).unwrap();
    let rels: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
    assert_eq!(
        rels,
        [
            ".dockerignore",
            "Dockerfile",
            "a",
            "a/b",
            "a-b",
            "a-b/c",
            "a.txt"
        ]
    );
}

fn sources(ignore: &str, paths: &[&str], source: &str) -> Result<Vec<String>, String> {
    let t = tree(ignore, paths);
    let p = IgnorePatterns::parse(ignore).unwrap();
    resolve_sources(t.path(), &p, source).map_err(|e| e.to_string())
}

#[test]
fn copy_sources() {
    // Docker 20.10, each `COPY <source> ...` line.
    let missing = |p: &str| {
        format!("file not found in build context or excluded by .dockerignore: stat {p}: file does not exist")
    };
    assert_eq!(
        sources("", &["a.txt"], "missing.txt"),
        Err(missing("missing.txt"))
    );
    let forbidden = |p: &str| format!("forbidden path outside the build context: {p} ()");
    assert_eq!(
        sources("", &["a.txt"], "../a.txt"),
        Err(forbidden("../a.txt"))
    );
    assert_eq!(
        sources("", &["a.txt"], "/../a.txt"),
        Err(forbidden("../a.txt"))
    );
    assert_eq!(
        sources("", &["a.txt", "sub/"], "sub/../../a.txt"),
        Err(forbidden("sub/../../a.txt"))
    );
    assert_eq!(
        sources("", &["a.txt"], "a.txt/x"),
        Err(forbidden("a.txt/x"))
    );
    // A glob matching nothing is no error by itself (`COPY *.none a.txt /x/` works).
    assert_eq!(sources("", &["a.txt"], "*.none"), Ok(vec![]));
    assert_eq!(sources("", &["a.txt"], "../*.txt"), Ok(vec![]));
    assert_eq!(
        sources("a.txt\n", &["a.txt"], "a.txt"),
        Err(missing("a.txt"))
    );
    assert_eq!(
        sources("a.txt\n", &["a.txt", "b.txt"], "*.txt"),
        Ok(vec!["b.txt".into()])
    );
    assert_eq!(
        sources("", &["s1->nothere", "s2"], "s*"),
        Err(missing("s1"))
    );
    assert_eq!(
        sources("secret\n", &["l->secret", "secret"], "l"),
        Err(missing("l"))
    );
    assert_eq!(
        sources("", &["l->/a.txt", "a.txt"], "l"),
        Ok(vec!["l".into()])
    );
    assert_eq!(
        sources("", &["ld->d", "d/f"], "ld/f"),
        Ok(vec!["ld/f".into()])
    );
    assert_eq!(sources("", &["a.txt"], "./a.txt"), Ok(vec!["a.txt".into()]));
    assert_eq!(sources("", &["b.txt"], "//b.txt"), Ok(vec!["b.txt".into()]));
    assert_eq!(sources("", &["a.txt"], "."), Ok(vec![".".into()]));
    assert_eq!(
        sources("", &["a.txt", "d/f", "d/g/h"], "*"),
        Ok(vec![
            ".dockerignore".into(),
            "Dockerfile".into(),
            "a.txt".into(),
            "d".into()
        ])
    );
    assert_eq!(
        sources("", &["a.txt", "d/f", "d/g/h"], "d/*"),
        Ok(vec!["d/f".into(), "d/g".into()])
    );
    assert_eq!(
        sources("", &["a.txt", "b.txt", "c.txt"], "[ab].txt"),
        Ok(vec!["a.txt".into(), "b.txt".into()])
    );
    assert_eq!(sources("", &["d/f"], "d[/]f"), Ok(vec!["d/f".into()]));
    assert_eq!(sources("", &["a.txt"], "./*.txt"), Ok(vec!["a.txt".into()]));
    assert_eq!(sources("", &["ld->d", "d/f"], "ld/*"), Ok(vec![]));
    // `\*` is not a wildcard: the file literally named `a*b`.
    assert_eq!(sources("", &["a*b", "axb"], "a\\*b"), Err(missing("a\\*b")));
}

#[test]
fn not_found_is_a_not_found_error() {
    let t = tree("", &[]);
    let e = resolve_sources(t.path(), &IgnorePatterns::empty(), "nope").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn resolve_stays_in_the_context() {
    let t = tree(
        "",
        &[
            "d/f",
            "up->../../..",
            "abs->/d",
            "loop->loop",
            "chain->up/d/f",
            "fl->d/f",
        ],
    );
    let ctx = BuildContext::open(t.path(), &IgnorePatterns::empty(), Some("Dockerfile")).unwrap();
    assert_eq!(ctx.resolve("up").unwrap(), ".");
    assert_eq!(ctx.resolve("abs/f").unwrap(), "d/f");
    assert_eq!(ctx.resolve("chain").unwrap(), "d/f");
    assert_eq!(ctx.resolve("up/up/etc/passwd").unwrap(), "etc/passwd");
    assert_eq!(ctx.kind("etc/passwd"), None);
    assert!(ctx.resolve("loop").is_err());
    assert!(ctx.resolve("fl/x").is_err());
    // `fl/..` is cleaned before any link is read.
    assert_eq!(ctx.resolve("fl/..").unwrap(), ".");
    assert_eq!(ctx.kind("d"), Some(EntryKind::Dir));
    let sub: Vec<&str> = ctx.subtree("d").iter().map(|e| e.rel.as_str()).collect();
    assert_eq!(sub, ["d/f"]);
    assert_eq!(ctx.subtree(".").len(), ctx.entries().len());
    assert!(ctx.subtree("nope").is_empty());
}
