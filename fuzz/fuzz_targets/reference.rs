//! References: parsing never panics, and an accepted reference round-trips through both
//! its full and its familiar form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use libimage::Reference;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(s) {
        assert_eq!(
            Reference::parse(&r.to_string()).unwrap(),
            r,
            "full form of {s:?}"
        );
        assert_eq!(
            Reference::parse(&r.familiar()).unwrap(),
            r,
            "familiar form of {s:?}"
        );
    }
});
