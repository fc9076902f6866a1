//! The few behaviours of Go's standard library that Docker's Dockerfile messages and
//! values depend on: `strconv.Quote` (`%q`), `time.ParseDuration` and its quoting,
//! `strconv.ParseInt`, `unicode.IsSpace` on a byte, and simple case mapping.

use std::time::Duration;

/// Go's `strconv.Quote` (what `%q` and `%#v` print for a string).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_print(c) => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space; not controls, other spaces, format characters, private
/// use or noncharacters.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let u = c as u32;
    let format = matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF);
    let nonchar = matches!(u, 0xFDD0..=0xFDEF) || (u & 0xFFFE) == 0xFFFE;
    !(c.is_control() || c.is_whitespace() || format || private || nonchar)
}

/// The quoting of Go's `time` package errors: non-ASCII and control bytes as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `time.ParseDuration`: `Ok(None)` for a negative duration (which Docker's
/// `HEALTHCHECK` rejects as too short anyway), else the duration or Go's message.
pub(crate) fn parse_duration(orig: &str) -> Result<Option<Duration>, String> {
    const MAX: u64 = 1 << 63;
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(Some(Duration::ZERO));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // [0-9]*
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &c in &b[..digits] {
            if v > MAX / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > MAX {
                return Err(invalid());
            }
        }
        let pre = digits > 0;
        s = &s[digits..];
        // (\.[0-9]*)?
        let mut post = false;
        let (mut f, mut scale) = (0u64, 1f64);
        if s.starts_with('.') {
            s = &s[1..];
            let digits = s.bytes().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for c in s[..digits].bytes() {
                if overflow {
                    continue;
                }
                if f > (MAX - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > MAX {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = digits > 0;
            s = &s[digits..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        // unit: up to the next '.' or digit
        let i = s
            .bytes()
            .position(|c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let (u, rest) = s.split_at(i);
        s = rest;
        let unit: u64 = match u {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(u),
                    time_quote(orig)
                ))
            }
        };
        if v > MAX / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale))
            v = v.saturating_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > MAX {
                return Err(invalid());
            }
        }
        d = d.saturating_add(v);
        if d > MAX {
            return Err(invalid());
        }
    }
    if neg {
        return Ok(if d == 0 { Some(Duration::ZERO) } else { None });
    }
    if d > MAX - 1 {
        return Err(invalid());
    }
    Ok(Some(Duration::from_nanos(d)))
}

/// Go's `strconv.ParseInt(s, 10, 32)`, with its error message.
pub(crate) fn parse_int32(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", quote(s));
    let range = || format!("strconv.ParseInt: parsing {}: value out of range", quote(s));
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(syntax());
    }
    // ParseUint(digits, 10, 32): a range error stops the scan before a later bad digit.
    const MAX_U32: u64 = u32::MAX as u64;
    let mut n: u64 = 0;
    let mut out_of_range = false;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return Err(syntax());
        }
        n = n * 10 + u64::from(c - b'0');
        if n > MAX_U32 {
            out_of_range = true;
            break;
        }
    }
    let cutoff: u64 = 1 << 31;
    if out_of_range || (!neg && n >= cutoff) || (neg && n > cutoff) {
        return Err(range());
    }
    // n <= 2^31 here, so it fits an i64 exactly.
    let n = n as i64;
    Ok(if neg { -n } else { n })
}

/// Go's `unicode.IsSpace(rune(b))` for a single byte, as Docker's byte-wise scanners
/// test it (so the bytes 0x85 and 0xA0 count).
pub(crate) fn is_space_byte(b: u8) -> bool {
    matches!(b, 0x09..=0x0d | b' ' | 0x85 | 0xa0)
}

/// Go's `strings.ToUpper`: simple (one-to-one) case mapping.
pub(crate) fn to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToLower`: simple (one-to-one) case mapping.
pub(crate) fn to_lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        assert_eq!(quote("FOO"), "\"FOO\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("\t\n\x01\x7f"), "\"\\t\\n\\x01\\x7f\"");
        assert_eq!(quote("é😀"), "\"é😀\"");
        assert_eq!(quote("\u{a0}\u{200b}"), "\"\\u00a0\\u200b\"");
    }

    #[test]
    fn durations_match_go() {
        let ok = |s: &str| parse_duration(s).unwrap().unwrap();
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("500us"), Duration::from_micros(500));
        assert_eq!(ok("1µs"), Duration::from_micros(1));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("+3ms"), Duration::from_millis(3));
        assert_eq!(parse_duration("-1s"), Ok(None));
        // verified on Docker 20.10: HEALTHCHECK --interval=abc / =1 / --timeout=5x
        assert_eq!(
            parse_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            parse_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            parse_duration("").unwrap_err(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            parse_duration(".s").unwrap_err(),
            "time: invalid duration \".s\""
        );
        assert_eq!(
            parse_duration("9999999999h").unwrap_err(),
            "time: invalid duration \"9999999999h\""
        );
        assert_eq!(
            parse_duration("1é").unwrap_err(),
            "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\""
        );
    }

    #[test]
    fn ints_match_go() {
        assert_eq!(parse_int32("3"), Ok(3));
        assert_eq!(parse_int32("-1"), Ok(-1));
        assert_eq!(parse_int32("+7"), Ok(7));
        assert_eq!(parse_int32("2147483647"), Ok(2147483647));
        assert_eq!(parse_int32("-2147483648"), Ok(-2147483648));
        assert_eq!(
            parse_int32("abc").unwrap_err(),
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            parse_int32("2147483648").unwrap_err(),
            "strconv.ParseInt: parsing \"2147483648\": value out of range"
        );
        assert_eq!(
            parse_int32("99999999999x").unwrap_err(),
            "strconv.ParseInt: parsing \"99999999999x\": value out of range"
        );
        assert_eq!(
            parse_int32("-").unwrap_err(),
            "strconv.ParseInt: parsing \"-\": invalid syntax"
        );
    }

    #[test]
    fn case_mapping_is_simple() {
        assert_eq!(to_upper("straße"), "STRAßE");
        assert_eq!(to_lower("İX"), "ix");
    }
}
