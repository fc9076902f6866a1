//! `WWW-Authenticate` challenges: parsing never panics, and an accepted challenge written
//! back (every value quoted and escaped) parses to the same challenge.
#![no_main]
use libfuzzer_sys::fuzz_target;
use libregistry::parse_challenge;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(c) = parse_challenge(s) {
        let params: Vec<String> = c
            .params
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        let again = format!("{} {}", c.scheme, params.join(","));
        assert_eq!(parse_challenge(&again), Some(c), "{s:?} -> {again:?}");
    }
});
