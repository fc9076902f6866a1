//! The daemon's request parsing: any path, query and create body. Nothing panics; an
//! accepted path splits into a version and a rest that rejoin to it; filters that parse
//! give `key=value` items; a create body either is refused with a text or becomes
//! `RunOptions` whose image is the body's.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The parsing lives in the `ministry` binary (its daemon module): compiled in here.
#[path = "../../ministry/src/daemon/request.rs"]
mod request;
#[path = "../../ministry/src/daemon/create_body.rs"]
mod create_body;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (version, rest) = request::split_version(s);
    if let Some(v) = version {
        assert_eq!(format!("/v{v}{rest}"), s);
        let _ = request::version_cmp(v, "1.44");
    }
    let _ = request::segments(rest);
    for (k, v) in request::query_pairs(s) {
        if k == "filters" {
            if let Ok(items) = request::parse_filters(&v) {
                assert!(items.iter().all(|i| i.contains('=')));
            }
        }
    }
    if let Ok(items) = request::parse_filters(s) {
        assert!(items.iter().all(|i| i.contains('=')));
    }
    if let Ok(Some((o, _))) = create_body::parse(data, Some("n".into())) {
        let v: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert_eq!(Some(o.image.as_str()), v["Image"].as_str());
    }
});
