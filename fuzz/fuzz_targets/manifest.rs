//! Manifests and indexes: strict parsing never panics, and what is accepted, serialised
//! again, is accepted again with the same shape.
#![no_main]
use libfuzzer_sys::fuzz_target;
use libimage::image::{parse_document, Document};

fuzz_target!(|data: &[u8]| {
    match parse_document(data, None) {
        Ok(Document::Manifest(m, t)) => {
            let again = serde_json::to_vec(&m).unwrap();
            assert!(matches!(
                parse_document(&again, Some(&t)),
                Ok(Document::Manifest(..))
            ));
        }
        Ok(Document::Index(i, t)) => {
            let again = serde_json::to_vec(&i).unwrap();
            assert!(matches!(
                parse_document(&again, Some(&t)),
                Ok(Document::Index(..))
            ));
        }
        Err(_) => {}
    }
});
