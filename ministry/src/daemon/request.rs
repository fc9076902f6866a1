//! Reading a request's parts, without I/O: the version prefix, path segments, the query
//! and Docker's `filters` parameter. Pure functions of text (the fuzz target `api_request`
//! compiles this file in), refusals as Docker's 400 texts.

/// A version prefix (`/v1.44/...`) split off the path.
pub fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let v = &rest[..end];
        if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return (Some(v), &rest[end..]);
        }
    }
    (None, path)
}

/// Compares two dotted versions (a part that is not a number counts as 0).
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a).cmp(&parts(b))
}

/// Decodes `%XX` escapes of a path segment (anything else stays as it is).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path's non-empty segments, decoded.
pub fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect()
}

/// A query string's `key=value` pairs, decoded.
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Docker's `filters` parameter (`{"key":{"value":true}}`, or the old
/// `{"key":["value"]}`) as `key=value` items; a malformed one is Docker's 400 text.
pub fn parse_filters(raw: &str) -> Result<Vec<String>, String> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let v: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("invalid filter: {e}"))?;
    let Some(m) = v.as_object() else {
        return Err("invalid filter: not an object".into());
    };
    let mut out = Vec::new();
    for (k, vals) in m {
        match vals {
            serde_json::Value::Object(o) => {
                for (val, on) in o {
                    if on.as_bool().unwrap_or(true) {
                        out.push(format!("{k}={val}"));
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for val in a {
                    out.push(format!("{k}={}", val.as_str().unwrap_or_default()));
                }
            }
            _ => return Err(format!("invalid filter: '{k}'")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_off_and_compare() {
        assert_eq!(
            split_version("/v1.44/containers/json"),
            (Some("1.44"), "/containers/json")
        );
        assert_eq!(split_version("/_ping"), (None, "/_ping"));
        assert_eq!(split_version("/volumes"), (None, "/volumes"));
        assert!(version_cmp("1.50", "1.44").is_gt());
        assert!(version_cmp("1.9", "1.24").is_lt());
        assert!(version_cmp("1.24", "1.24").is_eq());
    }

    #[test]
    fn filters_read_both_forms() {
        let mut f = parse_filters(r#"{"status":{"exited":true},"label":["a=b"]}"#).unwrap();
        f.sort();
        assert_eq!(f, vec!["label=a=b", "status=exited"]);
        assert!(parse_filters("{").is_err());
        assert!(parse_filters("[1]").is_err());
        assert!(parse_filters(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn segments_decode() {
        assert_eq!(decode("a%3Ab"), "a:b");
        assert_eq!(decode("plain"), "plain");
        assert_eq!(decode("bad%zz"), "bad%zz");
        assert_eq!(decode("end%4"), "end%4");
        assert_eq!(decode("%"), "%");
        assert_eq!(
            segments("/images/a/b/json"),
            vec!["images", "a", "b", "json"]
        );
    }
}
