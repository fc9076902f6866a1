//! One `.dockerignore` pattern as `moby/patternmatcher` compiles and matches it.

use super::glob::{clean, go_match};
use super::regex::{BadRegex, Regex};

/// A pattern, after `patternmatcher.New`: trimmed, cleaned, `!` split off.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// The cleaned pattern without its `!` (Go's `Pattern.String()`).
    pub(crate) text: String,
    /// A `!` pattern: re-includes what it matches.
    pub(crate) exclusion: bool,
    /// How many `/`-separated parts the pattern has (only the legacy `Matches` uses it).
    dirs: usize,
    matcher: Matcher,
}

/// How patternmatcher matches a compiled pattern: literal patterns, `prefix/**` and
/// `**/suffix` skip the regular expression (moby/patternmatcher 0.6).
#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    /// `text` minus its trailing `**` is a prefix of the path.
    Prefix,
    /// `text` minus its leading `**` is a suffix of the path (`**/x` also matches `x`).
    Suffix,
    Regex(Regex),
    /// The generated expression does not compile. Go only finds out when the pattern is
    /// first matched, and then reports `syntax error in pattern`.
    Broken,
}

/// Why `patternmatcher.New` refused a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewError {
    /// A lone `!`.
    IllegalExclusion,
    /// Not a valid `filepath.Match` pattern.
    BadPattern,
}

impl Pattern {
    /// One entry of `patternmatcher.New`: `Ok(None)` for an empty one.
    pub(crate) fn new(raw: &str) -> Result<Option<Pattern>, NewError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let mut text = clean(trimmed);
        let exclusion = text.starts_with('!');
        if exclusion {
            if text.len() == 1 {
                return Err(NewError::IllegalExclusion);
            }
            text.remove(0);
        }
        // patternmatcher checks the syntax with filepath.Match(p, ".").
        if go_match(&text, ".").is_err() {
            return Err(NewError::BadPattern);
        }
        let dirs = text.split('/').count();
        let matcher = compile(&text);
        Ok(Some(Pattern {
            text,
            exclusion,
            dirs,
            matcher,
        }))
    }

    /// Whether the pattern matches `path` (a cleaned, slash-separated relative path).
    pub(crate) fn matches(&self, path: &str) -> Result<bool, BadRegex> {
        let text = self.text.as_bytes();
        let path_b = path.as_bytes();
        Ok(match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix => path_b.starts_with(&text[..text.len().saturating_sub(2)]),
            Matcher::Suffix => {
                let suffix = text.get(2..).unwrap_or_default();
                path_b.ends_with(suffix)
                    || (suffix.first() == Some(&b'/') && path_b == &suffix[1..])
            }
            Matcher::Regex(re) => re.is_match(path),
            Matcher::Broken => return Err(BadRegex),
        })
    }

    /// Whether the pattern's expression failed to compile.
    pub(crate) fn is_broken(&self) -> bool {
        matches!(self.matcher, Matcher::Broken)
    }

    /// The number of `/`-separated parts.
    pub(crate) fn dirs(&self) -> usize {
        self.dirs
    }
}

/// patternmatcher's `Pattern.compile`: the regular expression (and the shortcut) for a
/// cleaned pattern. `*` is `[^/]*`, `?` is `[^/]`, `**` is `(.*/)?` (`.*` at the end),
/// `.+()|{}$` are escaped, `\x` is kept as the regexp escape `\x`, `[` and `]` pass through
/// to RE2, everything else is literal.
fn compile(pattern: &str) -> Matcher {
    let chars: Vec<char> = pattern.chars().collect();
    // Go's text/scanner skips a byte-order mark at the very start.
    let mut k = usize::from(chars.first() == Some(&'\u{FEFF}'));
    let mut expr = String::from("^");
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let mut kind = Kind::Exact;
    let mut i = 0;
    while let Some(&ch) = chars.get(k) {
        k += 1;
        match ch {
            '*' if chars.get(k) == Some(&'*') => {
                k += 1;
                // `**/` is `**`.
                if chars.get(k) == Some(&'/') {
                    k += 1;
                }
                if k >= chars.len() {
                    // `**` at the end accepts everything, as in .gitignore.
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        expr.push_str(".*");
                        kind = Kind::Regexp;
                    }
                } else {
                    expr.push_str("(.*/)?");
                    kind = Kind::Regexp;
                }
                if i == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                expr.push_str("[^/]*");
                kind = Kind::Regexp;
            }
            '?' => {
                expr.push_str("[^/]");
                kind = Kind::Regexp;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                expr.push('\\');
                expr.push(ch);
            }
            '\\' => {
                expr.push('\\');
                if let Some(&next) = chars.get(k) {
                    k += 1;
                    expr.push(next);
                    kind = Kind::Regexp;
                }
            }
            '[' | ']' => {
                expr.push(ch);
                kind = Kind::Regexp;
            }
            _ => expr.push(ch),
        }
        i += 1;
    }
    match kind {
        Kind::Exact => Matcher::Exact,
        Kind::Prefix => Matcher::Prefix,
        Kind::Suffix => Matcher::Suffix,
        Kind::Regexp => {
            expr.push('$');
            Regex::new(&expr).map_or(Matcher::Broken, Matcher::Regex)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::new(s).unwrap().unwrap()
    }

    fn m(pat: &str, path: &str) -> bool {
        p(pat).matches(path).unwrap()
    }

    // patternmatcher_test.go's TestMatches table (the rows that hold on Unix).
    #[test]
    fn patternmatcher_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("**", "file", true),
            ("**", "file/", true),
            ("**/", "file", true),
            ("**/", "file/", true),
            ("**", "/", true),
            ("**/", "/", true),
            ("**", "dir/file", true),
            ("**/", "dir/file", true),
            ("**", "dir/file/", true),
            ("**/", "dir/file/", true),
            ("**/**", "dir/file", true),
            ("**/**", "dir/file/", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/file/", true),
            ("dir/**", "dir/dir2/file", true),
            ("dir/**", "dir/dir2/file/", true),
            ("**/dir", "dir", true),
            ("**/dir", "dir/file", false),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/*", "dir/dir2/file/", false),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file/", true),
            ("**file", "file", true),
            ("**file", "dir/file", true),
            ("**/file", "dir/file", true),
            ("**file", "dir/dir/file", true),
            ("**/file", "dir/dir/file", true),
            ("**/file*", "dir/dir/file", true),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/file*.txt", "dir/dir/file.txt", true),
            ("**/file*.txt*", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("**/**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt", "a/dir/file.txt", false),
            ("a/*.txt", "a/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("a[b-d]e", "ae", false),
            ("a[b-d]e", "ace", true),
            ("a[b-d]e", "aae", false),
            ("a[^b-d]e", "aze", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcdef", false),
            ("abc.def", "abc.def", true),
            ("abc.def", "abcZdef", false),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("a\\\\", "a\\", true),
            ("**/foo/bar", "foo/bar", true),
            ("**/foo/bar", "dir/foo/bar", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("abc/**", "abc", false),
            ("abc/**", "abc/def", true),
            ("abc/**", "abc/def/ghi", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a(b)c/def", "a(b)c/xyz", false),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            (
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
        ];
        for (pat, path, want) in cases {
            assert_eq!(m(pat, path), *want, "pattern {pat:?} path {path:?}");
        }
    }

    // Each of these was checked on Docker 20.10 (28.x CLI, classic builder).
    #[test]
    fn docker_verified_quirks() {
        // `**` in the middle needs a `/` after it (or nothing).
        assert!(m("a**b", "ab") && m("a**b", "ax/b") && !m("a**b", "axb"));
        // A leading `**` followed by text is a plain suffix test.
        assert!(m("**foo", "barfoo") && m("**foo", "y/barfoo"));
        // RE2 escapes and classes.
        assert!(m("f\\d", "f1") && !m("f\\d", "fd"));
        assert!(m("[[:digit:]]x", "1x") && !m("[[:digit:]]x", ":x"));
        // `[?]` and `[*]` splice `[^/]` into the class.
        assert!(m("[?]", "^]") && m("[?]", "[]") && !m("[?]", "x"));
        assert!(m("x[*]", "x[]") && m("x[*]", "x[^/]") && !m("x[*]", "x*"));
        // `^` is literal in an exact pattern, an anchor in a regexp one.
        assert!(m("a^b", "a^b") && !m("a^b*", "a^bc"));
        // `.` from a trailing `**` stops at a newline; a prefix test does not.
        assert!(!m("[a]/**", "a/x\ny") && m("b/**", "b/x\ny"));
        assert!(m("+", "+") && !m("a+b", "aab"));
    }

    #[test]
    fn new_cleans_and_checks() {
        assert_eq!(Pattern::new("  ").unwrap().map(|p| p.text), None);
        assert_eq!(p("a//b/../c/").text, "a/c");
        assert_eq!(Pattern::new("!").err(), Some(NewError::IllegalExclusion));
        assert_eq!(Pattern::new("!/").err(), Some(NewError::IllegalExclusion));
        assert_eq!(Pattern::new("[").err(), Some(NewError::BadPattern));
        assert_eq!(Pattern::new("a\\").err(), Some(NewError::BadPattern));
        assert!(p("![z-a]").exclusion);
        assert!(p("[z-a]").is_broken());
        assert!(p("a\\e").is_broken());
        assert_eq!(p("a/b/c").dirs(), 3);
    }

    #[test]
    fn bom_at_start_is_skipped_by_the_scanner() {
        assert!(m("\u{FEFF}*.md", "x.md"));
        assert!(!m("\u{FEFF}a.md", "a.md"));
        // Suffix from the byte slice [2..] of a pattern starting with a BOM: never a
        // char boundary problem, never a match.
        assert!(!m("\u{FEFF}**/x", "x"));
    }
}
