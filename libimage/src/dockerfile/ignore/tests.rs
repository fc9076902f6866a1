//! Pattern semantics. Rows marked "Docker 20.10" were run through a real `docker build`
//! (daemon 20.10.24, CLI 28.2, `DOCKER_BUILDKIT=0`) with `COPY . /ctx` and `find /ctx`.

use super::*;

fn pats(text: &str) -> IgnorePatterns {
    IgnorePatterns::parse(text).unwrap()
}

fn err(text: &str) -> String {
    IgnorePatterns::parse(text).unwrap_err().to_string()
}

/// Asserts which of `paths` the patterns exclude (`excludes`).
fn check(text: &str, excluded: &[&str], kept: &[&str]) {
    let p = pats(text);
    for path in excluded {
        assert!(p.excludes(path), "{text:?} should exclude {path:?}");
    }
    for path in kept {
        assert!(!p.excludes(path), "{text:?} should keep {path:?}");
    }
}

#[test]
fn star_md_stays_at_top_level() {
    // Docker 20.10.
    check("*.md\n", &["a.md", "b.md"], &["sub/c.md", "x.go", "sub"]);
}

#[test]
fn double_star_go() {
    // Docker 20.10.
    check(
        "**/*.go\n",
        &["x.go", "sub/y.go", "sub/deep/z.go"],
        &["a.md", "sub", "sub/deep"],
    );
}

#[test]
fn double_star_alone_excludes_everything() {
    // Docker 20.10 (COPY . then sees nothing at all).
    check(
        "**\n",
        &["a", "a/b", ".dockerignore", "Dockerfile"],
        &["", "."],
    );
}

#[test]
fn double_star_in_the_middle() {
    check(
        "a/**/b\n",
        &["a/b", "a/x/b", "a/x/y/b", "a/b/c"],
        &["a/bb", "a", "b"],
    );
    // Docker 20.10: `a**b` needs a `/` after the `**` or nothing.
    check("a**b\n", &["ab", "ax/b", "ax/y/b"], &["axb", "ax", "ax/y"]);
    // Docker 20.10: `**/a/**` is a regexp `^(.*/)?a/.*$`.
    check("**/a/**\n", &["a/b", "x/a/b"], &["a", "x/a", "x"]);
}

#[test]
fn reinclude_after_exclude() {
    // Docker 20.10.
    check("*.md\n!keep.md\n", &["a.md"], &["keep.md"]);
    // The last matching pattern wins.
    check("!keep.md\n*.md\n", &["a.md", "keep.md"], &[]);
}

#[test]
fn directory_pattern_excludes_its_contents() {
    // Docker 20.10.
    check(
        "node_modules\n",
        &[
            "node_modules",
            "node_modules/pkg",
            "node_modules/pkg/index.js",
        ],
        &["a/node_modules"],
    );
}

#[test]
fn leading_slash_dot_slash_trailing_slash() {
    // Docker 20.10: `/abs` is `abs` (only at the top), `./temp1` is `temp1`, `dir/`
    // is `dir`.
    check("/abs\n", &["abs"], &["sub/abs"]);
    check("./temp1\n", &["temp1"], &["temp22"]);
    check("dir/\n", &["dir", "dir/f"], &["dirx"]);
    // `/` and `.` exclude nothing.
    check("/\n.\n", &[], &["a", "a/b"]);
}

#[test]
fn star_slash_temp_and_question_mark() {
    // Docker 20.10.
    check(
        "*/temp*\n",
        &["d/temp3", "tempdir/tempx"],
        &["temp1", "d/e/temp4"],
    );
    check("temp?\n", &["temp1"], &["temp22", "temp", "d/temp3"]);
}

#[test]
fn character_classes() {
    // Docker 20.10: ranges and `^`; `!` is an ordinary character.
    check("[a-b].md\n", &["a.md", "b.md"], &["c.md"]);
    check("[^a]eep.md\n", &["keep.md", "xeep.md"], &["aeep.md"]);
    check("[!a].md\n", &["a.md", "!.md"], &["b.md"]);
    // RE2 classes: POSIX names and Perl escapes.
    check("[[:digit:]]x\n", &["1x"], &[":x", "[x", "x"]);
    check("f\\d\n", &["f1"], &["fd"]);
}

#[test]
fn escapes() {
    // Docker 20.10.
    check("\\*star\n", &["*star"], &["xstar"]);
    check("a\\?\n", &["a?"], &["ab"]);
    // `.+()|{}$` are literal.
    check("a+b\n", &["a+b"], &["aab"]);
    check("a.b\n", &["a.b"], &["axb"]);
}

#[test]
fn reinclude_inside_excluded_directory() {
    // Docker 20.10: both work; the directory itself is not sent (the daemon recreates it).
    let p = pats("sub\n!sub/c.md\n");
    assert!(p.excludes("sub") && p.excludes("sub/d.md"));
    assert!(!p.excludes("sub/c.md"));
    assert!(p.must_descend("sub"));
    let p = pats("sub\n!sub/deep\n");
    assert!(!p.excludes("sub/deep/z.go"));
    assert!(p.excludes("sub/c.md"));
}

#[test]
fn slash_bang_is_a_reinclude() {
    // Docker 20.10: ReadAll strips the `/` of `/!sub/keep`, then New sees the `!`.
    let p = pats("sub\n/!sub/keep\n");
    assert!(p.has_exclusions());
    assert!(!p.excludes("sub/keep") && p.excludes("sub/x"));
    assert!(!pats("sub\n").has_exclusions());
}

#[test]
fn must_descend_is_textual() {
    // Docker 20.10: `!**/keep` and `!*/keep` do not re-include dir/keep when dir is
    // excluded; `!dir/**/keep` enters dir but not dir/y.
    let p = pats("dir\n!**/keep\n");
    assert!(!p.must_descend("dir"));
    let p = pats("dir\n!*/keep\n");
    assert!(!p.must_descend("dir"));
    let p = pats("dir\n!dir/**/keep\n");
    assert!(p.must_descend("dir"));
    assert!(!p.must_descend("dir/y"));
    assert!(!pats("dir\n").must_descend("dir"));
    assert!(pats("a\n!a/b/c\n").must_descend("a/b"));
    assert!(!pats("a\n!a/bc\n").must_descend("a/b"));
}

#[test]
fn empty_exclusion_is_an_error() {
    // Docker 20.10: `error checking context: illegal exclusion pattern: "!"`.
    assert_eq!(
        err("a.md\n!\n"),
        "error checking context: illegal exclusion pattern: \"!\""
    );
    assert_eq!(
        err("a.md\n!   \n"),
        "error checking context: illegal exclusion pattern: \"!\""
    );
    // `!/` cleans to `!`.
    assert_eq!(
        err("!/\n"),
        "error checking context: illegal exclusion pattern: \"!\""
    );
}

#[test]
fn bad_patterns() {
    // Docker 20.10: `error checking context: syntax error in pattern`.
    assert_eq!(
        err("[\n"),
        "error checking context: syntax error in pattern"
    );
    assert_eq!(
        err("a\\\n"),
        "error checking context: syntax error in pattern"
    );
    assert_eq!(
        err("ok\n[a-\n"),
        "error checking context: syntax error in pattern"
    );
    // Valid for filepath.Match, broken as a regexp: kept, never matching.
    let p = pats("[z-a]\na.md\n");
    assert!(p.has_broken());
    assert!(!p.excludes("z"));
}

#[test]
fn comments_only_in_the_first_column() {
    // Docker 20.10: ` #b.md` is the pattern `#b.md`.
    check("# a.md\n #b.md\n", &["#b.md"], &["a.md", "b.md", "# a.md"]);
    check(
        "a.md # not a comment\n",
        &["a.md # not a comment"],
        &["a.md"],
    );
}

#[test]
fn dot_dot_is_cleaned() {
    // Docker 20.10: `../x` never matches; `sub/../a.md` is `a.md`.
    check("../x\nsub/../a.md\n", &["a.md"], &["x", "sub/x", "sub"]);
}

#[test]
fn whitespace_crlf_and_bom() {
    // Docker 20.10: CRLF lines, a BOM on the first line only, spaces around `!`.
    check("a.md\r\nb.md\r\n", &["a.md", "b.md"], &["c.md"]);
    check("\u{FEFF}a.md\nb.md\n", &["a.md", "b.md"], &["c.md"]);
    check("c.md\n\u{FEFF}a.md\n", &["c.md"], &["a.md"]);
    check("*.md\n  ! b.md  \n", &["a.md"], &["b.md"]);
    check("\t a.md \t\n", &["a.md"], &[]);
}

#[test]
fn long_lines() {
    // Docker 20.10: 65535 bytes pass, 65536 fail (with or without a newline).
    let ok = "a".repeat(65535);
    assert!(IgnorePatterns::parse(&ok).is_ok());
    assert!(IgnorePatterns::parse(&format!("{ok}\n")).is_ok());
    let long = "a".repeat(65536);
    for text in [long.clone(), format!("{long}\n"), format!("x\n{ok}\r\n")] {
        assert_eq!(
            IgnorePatterns::parse(&text).unwrap_err().to_string(),
            "error reading .dockerignore: bufio.Scanner: token too long"
        );
    }
}

#[test]
fn empty_and_root() {
    let p = IgnorePatterns::empty();
    assert!(p.is_empty() && !p.excludes("a") && !p.must_descend("a"));
    assert!(pats("# only a comment\n\n   \n").is_empty());
    assert!(!pats("*\n").excludes("."));
    assert!(pats("*\n").excludes("./a/b"));
}

#[test]
fn or_parent_versus_parent_results() {
    // Docker 20.10 sends a/f for `a`, `!a/f`, `a` (its walk uses the parent's results,
    // MatchesUsingParentResults), although MatchesOrParentMatches says excluded.
    let p = pats("a\n!a/f\na\n");
    assert!(p.excludes("a/f"));
    let (_, a) = p.matches_with_parent("a", &[]).unwrap();
    let (skip, _) = p.matches_with_parent("a/f", &a).unwrap();
    assert!(!skip);
}

#[test]
fn legacy_matches_checks_one_parent() {
    // Used for the Dockerfile and .dockerignore: `sub` matches sub/Dockerfile,
    // `**/b` does not match x/y/b/Dockerfile (only the 2-component parent `x/y` is tried).
    let p = pats("sub\n**/b\n");
    assert!(p.matches_legacy("sub/Dockerfile").unwrap());
    assert!(!p.matches_legacy("x/y/b/Dockerfile").unwrap());
    assert!(p.matches_or_parent("x/y/b/Dockerfile").unwrap());
}

#[test]
fn glob_match_errors() {
    assert!(glob_match("*.txt", "a.txt").unwrap());
    assert!(!glob_match("*.txt", "d/a.txt").unwrap());
    assert_eq!(
        glob_match("[", "a").unwrap_err().to_string(),
        "syntax error in pattern"
    );
}

/// Patterns over `ab/*?` without `**`, `//` or `.`: Docker's regexp translation must agree
/// with filepath.Match on the path or one of its parents.
#[test]
fn regexp_agrees_with_filepath_match() {
    let alphabet = ['a', 'b', '/', '*', '?'];
    let mut patterns = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for p in &patterns {
            for c in alphabet {
                next.push(format!("{p}{c}"));
            }
        }
        patterns.extend(next);
    }
    let paths = ["a", "b", "ab", "a/b", "ba/a", "a/b/a", "aa/bb", "b/ab/b"];
    for pattern in patterns.iter().filter(|p| {
        !p.is_empty()
            && !p.contains("**")
            && !p.contains("//")
            && !p.starts_with('/')
            && !p.ends_with('/')
    }) {
        let ignore = pats(pattern);
        for path in paths {
            let mut prefixes: Vec<&str> =
                path.match_indices('/').map(|(i, _)| &path[..i]).collect();
            prefixes.push(path);
            let want = prefixes.iter().any(|q| glob_match(pattern, q).unwrap());
            assert_eq!(
                ignore.excludes(path),
                want,
                "pattern {pattern:?} path {path:?}"
            );
        }
    }
}

#[test]
fn many_stars_stay_fast() {
    // Matching is linear in the path per pattern item (as with Go's regexp), so a
    // pattern of 2000 stars against a 4000-character name finishes at once.
    let pattern = format!("{}b", "*a".repeat(2000));
    let p = pats(&pattern);
    let start = std::time::Instant::now();
    assert!(!p.excludes(&"a".repeat(4000)));
    assert!(p.excludes(&format!("{}b", "a".repeat(4000))));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}
