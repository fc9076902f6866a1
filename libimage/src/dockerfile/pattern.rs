//! The shell patterns of `${var#pattern}`, `${var%pattern}` and `${var/pattern/repl}`:
//! `*` (any string), `?` (any character), `\` escaping `*`, `?` or `\` (and dropped before
//! `}` and `/`), as BuildKit turns them into a Go regular expression and matches it.

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    /// This character.
    Char(char),
    /// `?`.
    Any,
    /// `*`.
    Star,
}

/// A compiled pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles `pattern`; `Err(c)` for a `\` followed by `c`, which BuildKit refuses
    /// (`invalid escape '\c'`; U+FFFD when the pattern ends with `\`).
    pub(crate) fn new(pattern: &str) -> Result<Self, char> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '\\' => match chars.peek() {
                    Some('}' | '/') => {}
                    Some(&e @ ('*' | '?' | '\\')) => {
                        chars.next();
                        tokens.push(Token::Char(e));
                    }
                    Some(&e) => return Err(e),
                    None => return Err('\u{fffd}'),
                },
                c => tokens.push(Token::Char(c)),
            }
        }
        Ok(Pattern { tokens })
    }

    /// The end of the match starting at `start` in `s`: the longest when `greedy` (Go's
    /// `.*`), else the shortest (`.*?`). With stars all of one kind, that is the match a
    /// backtracking (leftmost-first) engine picks.
    fn match_at(&self, s: &[char], start: usize, greedy: bool) -> Option<usize> {
        let mut reach = Reach::Points(vec![start]);
        for t in &self.tokens {
            let ok = |i: &usize| match t {
                Token::Char(c) => s.get(*i) == Some(c),
                _ => *i < s.len(),
            };
            reach = match (t, reach) {
                (Token::Star, Reach::Points(v)) => Reach::From(*v.first()?),
                (Token::Star, from) => from,
                (_, Reach::Points(v)) => {
                    Reach::Points(v.into_iter().filter(ok).map(|i| i + 1).collect())
                }
                (_, Reach::From(p)) => {
                    Reach::Points((p..s.len()).filter(ok).map(|i| i + 1).collect())
                }
            };
        }
        match (reach, greedy) {
            (Reach::Points(v), true) => v.last().copied(),
            (Reach::Points(v), false) => v.first().copied(),
            (Reach::From(_), true) => Some(s.len()),
            (Reach::From(p), false) => Some(p),
        }
    }

    /// The leftmost match at or after `from`: (start, end). One pass finds the leftmost
    /// start (each state keeps the smallest start reaching it), a second its end.
    fn find(&self, s: &[char], from: usize) -> Option<(usize, usize)> {
        let m = self.tokens.len();
        let min = |a: Option<usize>, b: usize| Some(a.map_or(b, |a| a.min(b)));
        let mut cur: Vec<Option<usize>> = vec![None; m + 1];
        let mut leftmost: Option<usize> = None;
        for i in from..=s.len() {
            if leftmost.is_none() && cur[0].is_none() {
                cur[0] = Some(i);
            }
            for k in 0..m {
                if let (Token::Star, Some(st)) = (self.tokens[k], cur[k]) {
                    cur[k + 1] = min(cur[k + 1], st);
                }
            }
            if let Some(st) = cur[m] {
                leftmost = min(leftmost, st);
            }
            // no thread can start further left than a match found
            if leftmost.is_some() && cur.iter().flatten().all(|&st| Some(st) >= leftmost) {
                break;
            }
            let Some(&c) = s.get(i) else {
                break;
            };
            let mut next: Vec<Option<usize>> = vec![None; m + 1];
            for (k, t) in self.tokens.iter().enumerate() {
                let Some(st) = cur[k] else {
                    continue;
                };
                match t {
                    Token::Star => next[k] = min(next[k], st),
                    Token::Any => next[k + 1] = min(next[k + 1], st),
                    Token::Char(x) if *x == c => next[k + 1] = min(next[k + 1], st),
                    Token::Char(_) => {}
                }
            }
            cur = next;
        }
        let st = leftmost?;
        Some((st, self.match_at(s, st, true)?))
    }
}

/// Where a partial match can end.
enum Reach {
    /// At these positions (ascending).
    Points(Vec<usize>),
    /// Anywhere from here on (after a `*`).
    From(usize),
}

/// `${var#pattern}` (`##` when `greedy`): `value` without its shortest (longest) prefix
/// matching `pattern`.
pub(crate) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, char> {
    let p = Pattern::new(pattern)?;
    let chars: Vec<char> = value.chars().collect();
    Ok(match p.match_at(&chars, 0, greedy) {
        Some(end) => chars[end..].iter().collect(),
        None => value.to_string(),
    })
}

/// `${var%pattern}` (`%%` when `greedy`): `value` without its shortest (longest) suffix
/// matching `pattern` (BuildKit reverses both and trims a prefix).
pub(crate) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, char> {
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

/// Reverses a pattern, keeping each `\x` escape in order (BuildKit's `reversePattern`).
fn reverse_pattern(pattern: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == '\\' && i + 1 < p.len() {
            out.push(p[i + 1]);
            out.push('\\');
            i += 2;
        } else {
            out.push(p[i]);
            i += 1;
        }
    }
    out.iter().rev().collect()
}

/// `${var/pattern/repl}` (`//` when `all`): Go's `Regexp.ReplaceAllString` (whose
/// replacement expands `$0`, `${0}` and `$$`) or a single leftmost replacement.
pub(crate) fn replace(
    pattern: &str,
    value: &str,
    replacement: &str,
    all: bool,
) -> Result<String, char> {
    let p = Pattern::new(pattern)?;
    let s: Vec<char> = value.chars().collect();
    if !all {
        return Ok(match p.find(&s, 0) {
            Some((a, b)) => {
                let mut out: String = s[..a].iter().collect();
                out.push_str(replacement);
                out.extend(&s[b..]);
                out
            }
            None => value.to_string(),
        });
    }
    let mut out = String::new();
    let (mut last_end, mut search) = (0, 0);
    while search <= s.len() {
        let Some((a, b)) = p.find(&s, search) else {
            break;
        };
        out.extend(&s[last_end..a]);
        if b > last_end || a == 0 {
            let matched: String = s[a..b].iter().collect();
            out.push_str(&expand_template(replacement, &matched));
        }
        last_end = b;
        search = if search + 1 > b { search + 1 } else { b };
    }
    out.extend(&s[last_end.min(s.len())..]);
    Ok(out)
}

/// Go's `Regexp.Expand` of a replacement for a pattern without groups: `$0`/`${0}` is the
/// match, `$$` a dollar, other `$name`s nothing, a `$` not followed by a name itself.
fn expand_template(template: &str, matched: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (brace, body) = match rest.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let len: usize = body
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        let name = &body[..len];
        let closed = !brace || body[len..].starts_with('}');
        if name.is_empty() || !closed {
            out.push('$');
            continue;
        }
        if name == "0" {
            out.push_str(matched);
        }
        rest = &body[len + usize::from(brace)..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_suffixes() {
        assert_eq!(trim_prefix("*.", "hello.tar.gz", false).unwrap(), "tar.gz");
        assert_eq!(trim_prefix("*.", "hello.tar.gz", true).unwrap(), "gz");
        assert_eq!(
            trim_suffix(".*", "hello.tar.gz", false).unwrap(),
            "hello.tar"
        );
        assert_eq!(trim_suffix(".*", "hello.tar.gz", true).unwrap(), "hello");
        assert_eq!(trim_prefix("*x*y", "xxyy", false).unwrap(), "y");
        assert_eq!(trim_prefix("*", "xxyy", false).unwrap(), "xxyy");
        assert_eq!(trim_prefix("?\\?", "???y", false).unwrap(), "?y");
        assert_eq!(trim_suffix("\\**\\*", "a***yy*", true).unwrap(), "a");
        assert_eq!(trim_suffix("\\**", "xx**", true).unwrap(), "xx");
        assert_eq!(
            trim_prefix("()[]{\\}^$.\\*\\?|\\\\", "()[]{}^$.*?|\\x", false).unwrap(),
            "x"
        );
        assert_eq!(Pattern::new("\\x").unwrap_err(), 'x');
        assert_eq!(Pattern::new("\\").unwrap_err(), '\u{fffd}');
    }

    #[test]
    fn replacements() {
        assert_eq!(
            replace("\\*/", "/foo*/*/*.txt", ".", false).unwrap(),
            "/foo.*/*.txt"
        );
        assert_eq!(
            replace("\\*/", "/foo*/*/*.txt", ".", true).unwrap(),
            "/foo..*.txt"
        );
        assert_eq!(
            replace("/tmp", "/tmp/tmp/bar.txt", "", true).unwrap(),
            "/bar.txt"
        );
        assert_eq!(
            replace("/?/", "/a/foo/b/c.txt", "/", true).unwrap(),
            "/foo/c.txt"
        );
        assert_eq!(replace("", "xxyy", "ww", false).unwrap(), "wwxxyy");
        assert_eq!(replace("", "xxyy", "", true).unwrap(), "xxyy");
        assert_eq!(
            replace("\\/", "/tmp/foo.txt", "\\/", true).unwrap(),
            "\\/tmp\\/foo.txt"
        );
        assert_eq!(replace("", "ab", "-", true).unwrap(), "-a-b-");
        assert_eq!(
            replace("b", "abc", "[$0$$${0}$x$]", true).unwrap(),
            "a[b$b$]c"
        );
    }
}
