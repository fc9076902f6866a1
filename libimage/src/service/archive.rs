//! `save` and `load`: image archives in the format of `docker save` (Docker 25 and later
//! write `manifest.json` beside an OCI layout, so one tar serves docker-archive and OCI
//! readers) and loading of docker-archive (old and new) and OCI archives.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::content::{ContentStore, Expected};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{
    parse_document, Document, ImageRecord, MAX_MANIFEST_SIZE, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use crate::layer::Compression;
use crate::reference::Reference;

use super::import::go_arch;
use super::ImageService;

/// Which archive layout `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    /// `manifest.json` plus an OCI layout (what Docker 25+ writes; Docker 20.10+ loads it).
    Docker,
    /// An OCI layout only (`oci-layout`, `index.json`, `blobs/`).
    Oci,
}

/// One image a `load` recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The image ID.
    pub id: Digest,
    /// Its names (familiar form); empty for an untagged image.
    pub tags: Vec<String>,
}

impl std::fmt::Display for LoadedImage {
    /// Docker's `Loaded image: NAME` / `Loaded image ID: ID` lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.tags.is_empty() {
            writeln!(f, "Loaded image ID: {}", self.id)
        } else {
            for t in &self.tags {
                writeln!(f, "Loaded image: {t}")?;
            }
            Ok(())
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

const SMALL_FILE_LIMIT: u64 = 4 << 20;

fn tar_header(size: u64, mode: u32, typ: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_entry_type(typ);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

impl ImageService {
    /// Writes `images` (names or IDs) to `out` as one archive. A name saves that tag; an ID
    /// saves the image with all its tags, as `docker save` does.
    pub fn save(&self, images: &[String], format: SaveFormat, out: &mut dyn Write) -> Result<()> {
        let mut selected: Vec<(ImageRecord, Vec<String>)> = Vec::new();
        for name in images {
            let img = self.resolve(name)?;
            let named = Reference::parse(name)
                .ok()
                .map(|r| r.to_string())
                .filter(|r| img.repo_tags.contains(r));
            let tags = match named {
                Some(t) => vec![t],
                None => img.repo_tags.clone(),
            };
            match selected.iter_mut().find(|(i, _)| i.id == img.id) {
                Some((_, ts)) => {
                    for t in tags {
                        if !ts.contains(&t) {
                            ts.push(t);
                        }
                    }
                }
                None => selected.push((img, tags)),
            }
        }
        let mut tar = tar::Builder::new(out);
        let ioe = |e: std::io::Error| Error::io("write archive", "-", e);
        let dir = |tar: &mut tar::Builder<&mut dyn Write>, p: &str| -> Result<()> {
            let mut h = tar_header(0, 0o755, tar::EntryType::Directory);
            tar.append_data(&mut h, p, std::io::empty()).map_err(ioe)
        };
        dir(&mut tar, "blobs/")?;
        dir(&mut tar, "blobs/sha256/")?;
        let mut written = std::collections::HashSet::new();
        let mut index = Vec::new();
        let mut manifest_json = Vec::new();
        for (img, tags) in &selected {
            for b in img.blobs() {
                if !written.insert(b.clone()) {
                    continue;
                }
                let size = self
                    .content
                    .stat(&b)?
                    .ok_or_else(|| Error::NotFound {
                        what: "blob not found",
                        name: b.to_string(),
                    })?
                    .size;
                let mut h = tar_header(size, 0o644, tar::EntryType::Regular);
                let path = format!("blobs/{}/{}", b.algorithm().as_str(), b.hex());
                tar.append_data(&mut h, &path, self.content.open(&b)?)
                    .map_err(ioe)?;
            }
            let desc = |annotations: Option<Value>| {
                let mut d = json!({"mediaType": img.manifest_media_type, "digest": img.manifest.to_string(), "size": img.manifest_size});
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d
            };
            if tags.is_empty() {
                index.push(desc(None));
            }
            for t in tags {
                let r = Reference::parse(t)?;
                index.push(desc(Some(json!({
                    "io.containerd.image.name": r.to_string(),
                    "org.opencontainers.image.ref.name": r.tag().unwrap_or("latest"),
                }))));
            }
            manifest_json.push(json!({
                "Config": format!("blobs/sha256/{}", img.id.hex()),
                "RepoTags": tags.iter().filter_map(|t| Reference::parse(t).ok()).map(|r| r.familiar()).collect::<Vec<_>>(),
                "Layers": img.layers.iter().map(|l| format!("blobs/{}/{}", l.blob.algorithm().as_str(), l.blob.hex())).collect::<Vec<_>>(),
            }));
        }
        let small = |tar: &mut tar::Builder<&mut dyn Write>, name: &str, v: &Value| -> Result<()> {
            let data = serde_json::to_vec(v).map_err(|e| Error::json(name.to_string(), e))?;
            let mut h = tar_header(data.len() as u64, 0o644, tar::EntryType::Regular);
            tar.append_data(&mut h, name, &data[..]).map_err(ioe)
        };
        small(
            &mut tar,
            "index.json",
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index}),
        )?;
        if format == SaveFormat::Docker {
            small(&mut tar, "manifest.json", &Value::Array(manifest_json))?;
        }
        small(
            &mut tar,
            "oci-layout",
            &json!({"imageLayoutVersion": "1.0.0"}),
        )?;
        tar.finish().map_err(ioe)?;
        Ok(())
    }

    /// Loads every image of an archive read from `input` (docker-archive as written by any
    /// Docker version, `skopeo copy ... docker-archive:`, or an OCI archive). Blobs named by
    /// digest are verified while they stream in; other files are hashed and then referenced
    /// by what they hash to; layers are checked against the config's diff_ids when applied.
    pub fn load(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        let mut archive = tar::Archive::new(input);
        let mut files: HashMap<String, Digest> = HashMap::new();
        let mut small: HashMap<String, Vec<u8>> = HashMap::new();
        let mut links: HashMap<String, String> = HashMap::new();
        let ioe = |e: std::io::Error| Error::io("read archive", "-", e);
        for entry in archive.entries().map_err(ioe)? {
            let mut entry = entry.map_err(ioe)?;
            let raw = entry.path_bytes().into_owned();
            let Some(path) = crate::layer::fsops::clean_path(&raw) else {
                return Err(Error::unsafe_entry(
                    String::from_utf8_lossy(&raw),
                    "path climbs out of the archive",
                ));
            };
            let path = path.to_string_lossy().into_owned();
            let typ = entry.header().entry_type();
            if typ.is_symlink() || typ.is_hard_link() {
                // Old docker save writes repeated layers as links to the first copy.
                let target = entry
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                let base = if typ.is_symlink() {
                    std::path::Path::new(&path).parent().map(|p| {
                        p.join(std::ffi::OsStr::new(
                            std::str::from_utf8(&target).unwrap_or(""),
                        ))
                    })
                } else {
                    Some(std::path::PathBuf::from(
                        std::str::from_utf8(&target).unwrap_or(""),
                    ))
                };
                if let Some(t) = base
                    .and_then(|b| crate::layer::fsops::clean_path(b.as_os_str().as_encoded_bytes()))
                {
                    links.insert(path, t.to_string_lossy().into_owned());
                }
                continue;
            }
            if !typ.is_file() {
                continue;
            }
            match path.as_str() {
                "manifest.json" | "index.json" | "oci-layout" | "repositories" => {
                    let mut buf = Vec::new();
                    (&mut entry)
                        .take(SMALL_FILE_LIMIT + 1)
                        .read_to_end(&mut buf)
                        .map_err(ioe)?;
                    if buf.len() as u64 > SMALL_FILE_LIMIT {
                        return Err(Error::LimitExceeded(format!(
                            "{path} is larger than {SMALL_FILE_LIMIT} bytes"
                        )));
                    }
                    small.insert(path, buf);
                }
                _ => {
                    let size = entry.header().entry_size().map_err(ioe)?;
                    let expected = blob_digest_of_path(&path)
                        .map(|d| Expected::exact(d, size))
                        .unwrap_or(Expected {
                            digest: None,
                            size: Some(size),
                        });
                    let info = self.content.ingest(&mut entry, &expected)?;
                    files.insert(path, info.digest);
                }
            }
        }
        let lookup = |p: &str| -> Result<Digest> {
            let clean = crate::layer::fsops::clean_path(p.as_bytes())
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut cur = clean;
            for _ in 0..8 {
                if let Some(d) = files.get(&cur) {
                    return Ok(d.clone());
                }
                match links.get(&cur) {
                    Some(t) => cur = t.clone(),
                    None => break,
                }
            }
            Err(Error::document(
                "archive",
                format!("{p} is not in the archive"),
            ))
        };
        let mut loaded = Vec::new();
        if let Some(mj) = small.get("manifest.json") {
            let entries: Vec<ArchiveManifestEntry> =
                serde_json::from_slice(mj).map_err(|e| Error::json("manifest.json", e))?;
            for e in entries {
                let config = lookup(&e.config)?;
                let config_size = self.content.stat(&config)?.map(|i| i.size).unwrap_or(0);
                let mut layers = Vec::new();
                for l in &e.layers {
                    let d = lookup(l)?;
                    let mut head = [0u8; 8];
                    let n = self.content.open(&d)?.read(&mut head).map_err(ioe)?;
                    let size = self.content.stat(&d)?.map(|i| i.size).unwrap_or(0);
                    layers.push(json!({"mediaType": Compression::detect(&head[..n]).oci_media_type(), "digest": d.to_string(), "size": size}));
                }
                let manifest = json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": config.to_string(), "size": config_size},
                    "layers": layers,
                });
                let bytes =
                    serde_json::to_vec(&manifest).map_err(|e| Error::json("manifest", e))?;
                let m = self.content.ingest(&mut &bytes[..], &Expected::default())?;
                let tags = e
                    .repo_tags
                    .unwrap_or_default()
                    .iter()
                    .map(|t| Reference::parse(t))
                    .collect::<Result<Vec<_>>>()?;
                let rec = self.add_image(&m.digest, Some(OCI_MANIFEST), &tags, None)?;
                loaded.push(LoadedImage {
                    id: rec.id,
                    tags: tags.iter().map(|t| t.familiar()).collect(),
                });
            }
        } else if let Some(ij) = small.get("index.json") {
            let idx = match parse_document(ij, None)? {
                Document::Index(i, _) => i,
                Document::Manifest(..) => {
                    return Err(Error::document("index.json", "not an index"))
                }
            };
            for desc in idx.manifests() {
                let ann = desc.annotations().clone().unwrap_or_default();
                let name = ann.get("io.containerd.image.name").cloned().or_else(|| {
                    ann.get("org.opencontainers.image.ref.name")
                        .filter(|n| n.contains('/') || n.contains(':'))
                        .cloned()
                });
                let tags = name
                    .map(|n| Reference::parse(&n))
                    .transpose()?
                    .into_iter()
                    .collect::<Vec<_>>();
                let d = Digest::parse(desc.digest().as_ref())?;
                let manifest = self.select_platform(&d, desc.media_type().as_ref())?;
                let rec = self.add_image(&manifest.0, Some(&manifest.1), &tags, None)?;
                match loaded
                    .iter_mut()
                    .find(|l: &&mut LoadedImage| l.id == rec.id)
                {
                    Some(l) => l.tags.extend(tags.iter().map(|t| t.familiar())),
                    None => loaded.push(LoadedImage {
                        id: rec.id,
                        tags: tags.iter().map(|t| t.familiar()).collect(),
                    }),
                }
            }
        } else {
            return Err(Error::document(
                "archive",
                "neither manifest.json nor index.json found; is this an image archive?",
            ));
        }
        Ok(loaded)
    }

    /// Follows an index to this machine's platform manifest (linux/amd64 here).
    fn select_platform(&self, digest: &Digest, media_type: &str) -> Result<(Digest, String)> {
        let bytes = self.content.read_all(digest, MAX_MANIFEST_SIZE)?;
        match parse_document(&bytes, Some(media_type))? {
            Document::Manifest(_, t) => Ok((digest.clone(), t)),
            Document::Index(idx, _) => {
                let want: BTreeMap<&str, &str> =
                    [("os", "linux"), ("architecture", go_arch())].into();
                for m in idx.manifests() {
                    let ok = m.platform().as_ref().is_some_and(|p| {
                        p.os().to_string() == want["os"]
                            && p.architecture().to_string() == want["architecture"]
                    });
                    if ok {
                        let d = Digest::parse(m.digest().as_ref())?;
                        return self.select_platform(&d, m.media_type().as_ref());
                    }
                }
                Err(Error::NotFound {
                    what: "no matching manifest for linux/amd64 in the manifest list entries",
                    name: digest.to_string(),
                })
            }
        }
    }
}

/// `blobs/<alg>/<hex>` names its digest.
fn blob_digest_of_path(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}
