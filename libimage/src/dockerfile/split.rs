//! Splitting an instruction's line into its keyword, its `--flags` and the rest
//! (BuildKit's `splitCommand` and `extractBuilderFlags`).

use std::borrow::Cow;

use super::golang::is_space_byte;

/// The white space of the parser's regular expressions: `[\t\v\f\r ]`.
pub(crate) fn is_token_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Go's `regexp.MustCompile("[\t\v\f\r ]+").Split(s, n)` (`n == 0` for no limit).
pub(crate) fn split_token_space(s: &str, n: usize) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let mut beg = 0;
    let mut end = 0;
    let mut rest = s.char_indices().peekable();
    while let Some((i, c)) = rest.next() {
        if !is_token_space(c) {
            continue;
        }
        if n > 0 && out.len() == n - 1 {
            break;
        }
        let mut stop = i + c.len_utf8();
        while let Some(&(j, d)) = rest.peek() {
            if !is_token_space(d) {
                break;
            }
            stop = j + d.len_utf8();
            rest.next();
        }
        end = i;
        out.push(s[beg..end].to_string());
        beg = stop;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// An instruction's line split: `(keyword, flags, arguments)`, the keyword as written,
/// the flags as `--name[=value]` words with quotes and `\` escapes removed, the
/// arguments trimmed.
pub(crate) fn split_command(line: &str) -> (&str, Vec<String>, Cow<'_, str>) {
    let line = line.trim();
    let Some(i) = line.find(is_token_space) else {
        return (line, Vec::new(), Cow::Borrowed(""));
    };
    let (cmd, rest) = line.split_at(i);
    let rest = rest.trim_start_matches(is_token_space);
    let (at, flags) = extract_builder_flags(rest);
    let args = match rest.get(at..) {
        Some(args) => Cow::Borrowed(args.trim()),
        // the flags ended inside a character (Docker counts the bytes 0x85 and 0xA0 as
        // blanks): what follows is not valid UTF-8 in Docker either
        None => {
            let bytes = rest.as_bytes().get(at..).unwrap_or_default();
            Cow::Owned(String::from_utf8_lossy(bytes).trim().to_string())
        }
    };
    (cmd, flags, args)
}

/// Where the flag scanner stands.
#[derive(PartialEq)]
enum Phase {
    Spaces,
    Word,
    Quote,
}

/// The leading `--flag` words of `line` and what follows them. Like Docker this works
/// byte by byte, so a non-ASCII byte of a flag becomes the Latin-1 character of that
/// value (Docker's `--chown=é` asks for user `Ã©`).
/// Returns the byte offset where the rest starts.
fn extract_builder_flags(line: &str) -> (usize, Vec<String>) {
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= b.len() {
        let ch = b.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == b.len() {
                break;
            }
            if is_space_byte(ch) {
                pos += 1;
                continue;
            }
            // only keep going if the next word starts with --
            if ch != b'-' || b.get(pos + 1) != Some(&b'-') {
                return (pos, words);
            }
            phase = Phase::Word;
        }
        if pos == b.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if is_space_byte(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (pos, words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut ch = ch;
            if ch == b'\\' {
                // a \ at the end is skipped
                let Some(&next) = b.get(pos + 1) else {
                    pos += 1;
                    continue;
                };
                pos += 1;
                ch = next;
            }
            word.push(char::from(ch));
            pos += 1;
            continue;
        }
        // in a quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut ch = ch;
        if ch == b'\\' {
            let Some(&next) = b.get(pos + 1) else {
                phase = Phase::Word;
                pos += 1;
                continue;
            };
            pos += 1;
            ch = next;
        }
        word.push(char::from(ch));
        pos += 1;
    }
    (b.len(), words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_regexp_split() {
        assert_eq!(split_token_space("a  b\tc", 0), ["a", "b", "c"]);
        assert_eq!(split_token_space("a  b c", 2), ["a", "b c"]);
        assert_eq!(split_token_space("abc", 2), ["abc"]);
        assert_eq!(split_token_space(" a ", 0), ["", "a", ""]);
        assert_eq!(split_token_space("", 0), [""]);
    }

    #[test]
    fn flags_are_extracted() {
        let s = |l: &str| {
            let (c, f, a) = split_command(l);
            (c.to_string(), f, a.into_owned())
        };
        assert_eq!(
            s("COPY --from=a --chown=\"1:1\" src dst"),
            (
                "COPY".into(),
                vec!["--from=a".into(), "--chown=1:1".into()],
                "src dst".into()
            )
        );
        assert_eq!(s("RUN -- --x"), ("RUN".into(), vec![], "--x".into()));
        assert_eq!(
            s("COPY --link"),
            ("COPY".into(), vec!["--link".into()], "".into())
        );
        assert_eq!(s("RUN -x"), ("RUN".into(), vec![], "-x".into()));
        assert_eq!(
            s("RUN --a\\ b c"),
            ("RUN".into(), vec!["--a b".into()], "c".into())
        );
        assert_eq!(s("COPY --chown=é a b").1, vec!["--chown=Ã©".to_string()]);
        assert_eq!(
            s("  from  busybox  "),
            ("from".into(), vec![], "busybox".into())
        );
        assert_eq!(s("CMD"), ("CMD".into(), vec![], "".into()));
    }
}
