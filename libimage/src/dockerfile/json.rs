//! The JSON (exec) form of `RUN`, `CMD`, `COPY`... as Go's `encoding/json` reads it into
//! `[]interface{}`: the whole text must be valid JSON (nesting up to 10,000 deep), and only
//! then are its top-level elements required to be strings.

/// What a text that looks like a JSON array turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArray {
    /// Not valid JSON (Docker then reads the text as the shell form).
    Invalid,
    /// Valid JSON, but an element is not a string (an error in Docker).
    NotStrings,
    /// An array of strings.
    Strings(Vec<String>),
}

/// Go's `encoding/json` nesting limit.
const MAX_DEPTH: usize = 10_000;

/// Where the scanner stands.
#[derive(Clone, Copy, PartialEq)]
enum State {
    /// Just after `[`: a value or `]`.
    ArrayStart,
    /// Just after `{`: a key or `}`.
    ObjectStart,
    /// A value is expected.
    Value,
    /// An object key is expected.
    Key,
    /// `:` is expected.
    Colon,
    /// After a value: `,` or the container's end.
    AfterValue,
}

/// Reads `text` (which should start with `[`) as Go's `json.Unmarshal` into a slice.
pub(crate) fn parse_array(text: &str) -> JsonArray {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return JsonArray::Invalid;
    }
    i += 1;
    let mut stack: Vec<u8> = vec![b'['];
    let mut items: Vec<String> = Vec::new();
    let mut strings_only = true;
    let mut state = State::ArrayStart;
    loop {
        i = skip_ws(b, i);
        let Some(&c) = b.get(i) else {
            return JsonArray::Invalid;
        };
        let top_level = stack.len() == 1;
        match state {
            State::ArrayStart if c == b']' => {
                i += 1;
                stack.pop();
                state = State::AfterValue;
            }
            State::ArrayStart => state = State::Value,
            State::ObjectStart if c == b'}' => {
                i += 1;
                stack.pop();
                state = State::AfterValue;
            }
            State::ObjectStart => state = State::Key,
            State::Key => {
                if c != b'"' {
                    return JsonArray::Invalid;
                }
                match read_string(b, i) {
                    Some((_, next)) => i = next,
                    None => return JsonArray::Invalid,
                }
                state = State::Colon;
            }
            State::Colon => {
                if c != b':' {
                    return JsonArray::Invalid;
                }
                i += 1;
                state = State::Value;
            }
            State::Value => {
                match c {
                    b'[' | b'{' => {
                        strings_only &= !top_level;
                        stack.push(c);
                        if stack.len() > MAX_DEPTH {
                            return JsonArray::Invalid;
                        }
                        i += 1;
                        state = if c == b'[' {
                            State::ArrayStart
                        } else {
                            State::ObjectStart
                        };
                        continue;
                    }
                    b'"' => match read_string(b, i) {
                        Some((s, next)) => {
                            if top_level {
                                items.push(s);
                            }
                            i = next;
                        }
                        None => return JsonArray::Invalid,
                    },
                    b't' | b'f' | b'n' => {
                        let word: &[u8] = match c {
                            b't' => b"true",
                            b'f' => b"false",
                            _ => b"null",
                        };
                        if !b[i..].starts_with(word) {
                            return JsonArray::Invalid;
                        }
                        strings_only &= !top_level;
                        i += word.len();
                    }
                    b'-' | b'0'..=b'9' => match read_number(b, i) {
                        Some(next) => {
                            strings_only &= !top_level;
                            i = next;
                        }
                        None => return JsonArray::Invalid,
                    },
                    _ => return JsonArray::Invalid,
                }
                state = State::AfterValue;
            }
            State::AfterValue => {
                let Some(&open) = stack.last() else {
                    return JsonArray::Invalid;
                };
                match (c, open) {
                    (b',', b'[') => state = State::Value,
                    (b',', _) => state = State::Key,
                    (b']', b'[') | (b'}', b'{') => {
                        stack.pop();
                    }
                    _ => return JsonArray::Invalid,
                }
                i += 1;
            }
        }
        if stack.is_empty() {
            break;
        }
    }
    if skip_ws(b, i) != b.len() {
        return JsonArray::Invalid;
    }
    if strings_only {
        JsonArray::Strings(items)
    } else {
        JsonArray::NotStrings
    }
}

/// Skips JSON whitespace (space, tab, newline, carriage return).
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A number at `i`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; the index after it.
fn read_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], i: usize| {
        b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(b, i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

/// Four hex digits at `i` (after `\u`).
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let h = b.get(i..i + 4)?;
    let s = std::str::from_utf8(h).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// A string starting with `"` at `i`: its decoded value (lone surrogates become U+FFFD,
/// as in Go) and the index after its closing quote.
fn read_string(b: &[u8], i: usize) -> Option<(String, usize)> {
    let mut out: Vec<u8> = Vec::new();
    let mut i = i + 1;
    loop {
        let c = *b.get(i)?;
        match c {
            b'"' => return Some((String::from_utf8(out).ok()?, i + 1)),
            0..=0x1f => return None,
            b'\\' => {
                let e = *b.get(i + 1)?;
                i += 2;
                let decoded = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\x08',
                    b'f' => '\x0c',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let r = hex4(b, i)?;
                        i += 4;
                        if (0xD800..0xDC00).contains(&r)
                            && b.get(i) == Some(&b'\\')
                            && b.get(i + 1) == Some(&b'u')
                        {
                            if let Some(lo) =
                                hex4(b, i + 2).filter(|lo| (0xDC00..0xE000).contains(lo))
                            {
                                i += 6;
                                let combined = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                                char::from_u32(combined).unwrap_or('\u{fffd}')
                            } else {
                                '\u{fffd}'
                            }
                        } else {
                            char::from_u32(r).unwrap_or('\u{fffd}')
                        }
                    }
                    _ => return None,
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(decoded.encode_utf8(&mut buf).as_bytes());
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> JsonArray {
        JsonArray::Strings(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn arrays_of_strings() {
        assert_eq!(parse_array(r#"["a", "b"]"#), strings(&["a", "b"]));
        assert_eq!(parse_array("[]"), strings(&[]));
        assert_eq!(parse_array("[ \"x\" ]  \n"), strings(&["x"]));
        assert_eq!(
            parse_array(r#"["\u0041\ud83d\ude00", "x\/y", "\ud800z"]"#),
            strings(&["A😀", "x/y", "\u{fffd}z"])
        );
    }

    #[test]
    fn valid_json_that_is_not_strings() {
        assert_eq!(parse_array(r#"["a", 1]"#), JsonArray::NotStrings);
        assert_eq!(parse_array(r#"[null]"#), JsonArray::NotStrings);
        assert_eq!(parse_array(r#"[["a"]]"#), JsonArray::NotStrings);
        assert_eq!(
            parse_array(r#"[{"a": [1, {}]}, "b"]"#),
            JsonArray::NotStrings
        );
        assert_eq!(parse_array("[-0.5e+3, true, false]"), JsonArray::NotStrings);
    }

    #[test]
    fn invalid_json() {
        for t in [
            "[",
            "[\"a\" \"b\"]",
            "['a']",
            "[\"a\"] x",
            "[\"a\",]",
            "[01]",
            "[1.]",
            "[\"\\x\"]",
            "[\"a\tb\"]",
            "[tru]",
            "[{\"a\" 1}]",
            "[{1: 2}]",
            "[\"a\"]]",
        ] {
            assert_eq!(parse_array(t), JsonArray::Invalid, "{t}");
        }
        let deep = "[".repeat(10_001) + &"]".repeat(10_001);
        assert_eq!(parse_array(&deep), JsonArray::Invalid);
        let ok = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(parse_array(&ok), JsonArray::NotStrings);
    }
}
