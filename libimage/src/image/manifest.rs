//! Manifests and indexes (OCI and Docker schema 2), parsed strictly: a document whose shape
//! is ambiguous, or whose `mediaType` disagrees with its shape, is rejected.

use oci_spec::image::{ImageIndex, ImageManifest};
use serde_json::Value;

use crate::error::{Error, Result};

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker plain layer.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// The largest manifest or index accepted (SECURITY.md: a manifest cap of 4 MiB).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// A parsed manifest or index.
#[derive(Debug, Clone)]
pub enum Document {
    /// An image manifest (OCI or Docker schema 2), with its media type.
    Manifest(Box<ImageManifest>, String),
    /// An index or manifest list, with its media type.
    Index(Box<ImageIndex>, String),
}

fn is_manifest_type(m: &str) -> bool {
    m == OCI_MANIFEST || m == DOCKER_MANIFEST
}

fn is_index_type(m: &str) -> bool {
    m == OCI_INDEX || m == DOCKER_MANIFEST_LIST
}

/// Parses a manifest or index strictly.
///
/// `declared` is the media type the document was served or referenced with (a registry's
/// Content-Type, a descriptor's mediaType), if any. The document is rejected when:
/// it is larger than [`MAX_MANIFEST_SIZE`]; it is not a JSON object with `schemaVersion` 2;
/// it has both `manifests` and `config`/`layers`, or neither; its own `mediaType` or the
/// declared one names the other shape or an unknown type; the two media types disagree.
pub fn parse_document(bytes: &[u8], declared: Option<&str>) -> Result<Document> {
    let err = |r: &str| Error::document("manifest", r.to_string());
    if bytes.len() as u64 > MAX_MANIFEST_SIZE {
        return Err(Error::LimitExceeded(format!(
            "manifest larger than {MAX_MANIFEST_SIZE} bytes"
        )));
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| Error::json("manifest", e))?;
    let obj = v.as_object().ok_or_else(|| err("not a JSON object"))?;
    if obj.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(err("schemaVersion is not 2"));
    }
    let has_manifests = obj.contains_key("manifests");
    let has_image = obj.contains_key("config") || obj.contains_key("layers");
    let is_index = match (has_manifests, has_image) {
        (true, true) => return Err(err("document is both an index and a manifest")),
        (false, false) => return Err(err("document is neither an index nor a manifest")),
        (i, _) => i,
    };
    let own = match obj.get("mediaType") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(err("mediaType is not a string")),
    };
    for m in [own, declared].into_iter().flatten() {
        let ok = if is_index {
            is_index_type(m)
        } else {
            is_manifest_type(m)
        };
        if !ok {
            return Err(err(&format!(
                "mediaType {m} does not match the document's shape"
            )));
        }
    }
    if let (Some(a), Some(b)) = (own, declared) {
        if a != b {
            return Err(err(&format!("mediaType {a} disagrees with {b}")));
        }
    }
    let media_type = own
        .or(declared)
        .unwrap_or(if is_index { OCI_INDEX } else { OCI_MANIFEST })
        .to_string();
    if is_index {
        let idx: ImageIndex =
            serde_json::from_value(v).map_err(|e| Error::json("image index", e))?;
        Ok(Document::Index(Box::new(idx), media_type))
    } else {
        if !obj.contains_key("config") {
            return Err(err("manifest has no config"));
        }
        let m: ImageManifest =
            serde_json::from_value(v).map_err(|e| Error::json("image manifest", e))?;
        Ok(Document::Manifest(Box::new(m), media_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}"#;

    fn manifest(media: Option<&str>) -> String {
        let mt = media
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        format!(r#"{{"schemaVersion":2,{mt}"config":{CFG},"layers":[]}}"#)
    }

    #[test]
    fn accepts_oci_and_docker_manifests() {
        assert!(matches!(
            parse_document(manifest(None).as_bytes(), None).unwrap(),
            Document::Manifest(..)
        ));
        assert!(
            matches!(parse_document(manifest(Some(DOCKER_MANIFEST)).as_bytes(), Some(DOCKER_MANIFEST)).unwrap(), Document::Manifest(_, m) if m == DOCKER_MANIFEST)
        );
        let idx = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            parse_document(idx.as_bytes(), Some(OCI_INDEX)).unwrap(),
            Document::Index(..)
        ));
    }

    #[test]
    fn rejects_ambiguous_and_mismatched_documents() {
        let both = format!(r#"{{"schemaVersion":2,"config":{CFG},"layers":[],"manifests":[]}}"#);
        assert!(parse_document(both.as_bytes(), None).is_err());
        assert!(parse_document(br#"{"schemaVersion":2}"#, None).is_err());
        assert!(parse_document(manifest(Some(OCI_INDEX)).as_bytes(), None).is_err());
        assert!(parse_document(manifest(None).as_bytes(), Some(DOCKER_MANIFEST_LIST)).is_err());
        assert!(parse_document(
            manifest(Some(OCI_MANIFEST)).as_bytes(),
            Some(DOCKER_MANIFEST)
        )
        .is_err());
        assert!(parse_document(manifest(Some("text/plain")).as_bytes(), None).is_err());
        let v1 = r#"{"schemaVersion":1,"config":{},"layers":[]}"#;
        assert!(parse_document(v1.as_bytes(), None).is_err());
        assert!(parse_document(b"[]", None).is_err());
        let big = vec![b' '; (MAX_MANIFEST_SIZE + 1) as usize];
        assert!(parse_document(&big, None).is_err());
    }
}
