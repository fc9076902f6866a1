//! Image configurations: the typed OCI view plus the raw JSON (Docker keeps fields the OCI
//! type does not know, such as `container_config` or `comment`, and `inspect` shows them).

use oci_spec::image::ImageConfiguration;
use serde_json::Value;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The largest config accepted.
pub const MAX_CONFIG_SIZE: u64 = 8 << 20;

/// A parsed image config.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    raw: Value,
    parsed: ImageConfiguration,
    diff_ids: Vec<Digest>,
}

impl ImageConfig {
    /// Parses a config blob; its `rootfs` must be of type `layers` with valid diff_ids.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() as u64 > MAX_CONFIG_SIZE {
            return Err(Error::LimitExceeded(format!(
                "image config larger than {MAX_CONFIG_SIZE} bytes"
            )));
        }
        let raw: Value =
            serde_json::from_slice(bytes).map_err(|e| Error::json("image config", e))?;
        let parsed: ImageConfiguration =
            serde_json::from_value(raw.clone()).map_err(|e| Error::json("image config", e))?;
        if parsed.rootfs().typ() != "layers" {
            return Err(Error::document(
                "image config",
                "rootfs.type is not \"layers\"",
            ));
        }
        let diff_ids = parsed
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<Vec<_>>>()?;
        Ok(ImageConfig {
            raw,
            parsed,
            diff_ids,
        })
    }

    /// The OCI view.
    pub fn oci(&self) -> &ImageConfiguration {
        &self.parsed
    }

    /// The JSON as stored.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The layers' uncompressed digests, bottom first.
    pub fn diff_ids(&self) -> &[Digest] {
        &self.diff_ids
    }

    /// The chain IDs of the layers (bottom first), which name applied layer stacks.
    pub fn chain_ids(&self) -> Vec<Digest> {
        chain_ids(&self.diff_ids)
    }

    /// A top-level string field of the raw JSON ("comment", "author", "created").
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.raw.get(key).and_then(Value::as_str)
    }
}

/// Chain IDs as the OCI spec defines them: `ChainID(L0) = DiffID(L0)`,
/// `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::sha256_of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn parses_docker_config_and_keeps_raw_fields() {
        let d = Digest::sha256_of(b"x");
        let json = format!(
            r#"{{"architecture":"amd64","os":"linux","comment":"Imported from -","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["{d}"]}}}}"#
        );
        let c = ImageConfig::parse(json.as_bytes()).unwrap();
        assert_eq!(c.diff_ids(), &[d]);
        assert_eq!(c.str_field("comment"), Some("Imported from -"));
        assert!(ImageConfig::parse(
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}}"#
        )
        .is_err());
        assert!(ImageConfig::parse(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:zz"]}}"#).is_err());
    }
}
