//! `image inspect` and `history` data in Docker's shape.

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::image::{ContainerConfig, ImageRecord};

use super::ImageService;

/// `docker image inspect` output for one image (Docker 20.10's fields and order).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub container: String,
    pub container_config: ContainerConfig,
    pub docker_version: String,
    pub author: String,
    pub config: ContainerConfig,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    pub virtual_size: u64,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: Metadata,
}

/// The storage driver section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GraphDriver {
    pub data: Option<std::collections::BTreeMap<String, String>>,
    pub name: String,
}

/// The layers section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub typ: String,
    pub layers: Vec<String>,
}

/// Image metadata.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct Metadata {
    pub last_tag_time: String,
}

/// One row of `docker history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct HistoryEntry {
    /// The image ID for the top row, `<missing>` for the rows below (as for pulled images).
    pub id: String,
    pub created: String,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    pub empty_layer: bool,
    pub tags: Vec<String>,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl ImageService {
    /// Inspect data for an image.
    pub fn inspect(&self, image: &ImageRecord) -> Result<ImageInspect> {
        let cfg = self.config(image)?;
        let raw = cfg.raw();
        let container_config = match raw.get("container_config") {
            Some(v) if !v.is_null() => serde_json::from_value(v.clone()).unwrap_or_default(),
            _ => ContainerConfig::default(),
        };
        let dirs = match self.top_snapshot(image) {
            Some(top) => self.snapshotter.layer_dirs(&top).ok(),
            None => None,
        };
        let data = dirs.map(|d| {
            let mut m = std::collections::BTreeMap::new();
            if let Some((upper, lower)) = d.split_first() {
                m.insert("UpperDir".into(), upper.display().to_string());
                if !lower.is_empty() {
                    m.insert(
                        "LowerDir".into(),
                        lower
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(":"),
                    );
                }
            }
            m
        });
        Ok(ImageInspect {
            id: image.id.to_string(),
            repo_tags: image.familiar_tags(),
            repo_digests: image.familiar_digests(),
            parent: image
                .parent
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            comment: s(raw, "comment"),
            created: s(raw, "created"),
            container: s(raw, "container"),
            container_config,
            docker_version: s(raw, "docker_version"),
            author: s(raw, "author"),
            config: ContainerConfig::from_image_config(raw)?,
            architecture: s(raw, "architecture"),
            variant: raw
                .get("variant")
                .and_then(Value::as_str)
                .map(str::to_string),
            os: s(raw, "os"),
            size: image.size(),
            virtual_size: image.size(),
            graph_driver: GraphDriver {
                data,
                name: self.snapshotter_name.to_string(),
            },
            root_fs: RootFs {
                typ: "layers".into(),
                layers: cfg.diff_ids().iter().map(|d| d.to_string()).collect(),
            },
            metadata: Metadata {
                last_tag_time: image
                    .last_tag_time
                    .clone()
                    .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            },
        })
    }

    /// `docker history` rows, newest first.
    pub fn history(&self, image: &ImageRecord) -> Result<Vec<HistoryEntry>> {
        let cfg = self.config(image)?;
        let hist = cfg
            .raw()
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut layer_sizes = image.layers.iter().map(|l| l.size);
        let mut rows: Vec<HistoryEntry> = hist
            .iter()
            .map(|h| {
                let empty = h
                    .get("empty_layer")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                HistoryEntry {
                    id: "<missing>".into(),
                    created: s(h, "created"),
                    created_by: s(h, "created_by"),
                    size: if empty {
                        0
                    } else {
                        layer_sizes.next().unwrap_or(0)
                    },
                    comment: s(h, "comment"),
                    empty_layer: empty,
                    tags: Vec::new(),
                }
            })
            .collect();
        rows.reverse();
        // Docker's rule: the rows, newest first, take the IDs (and tags) of the image and
        // its parents in turn while the parent chain goes on.
        let mut current = Some(image.clone());
        for row in rows.iter_mut() {
            let Some(img) = current.take() else { break };
            row.id = img.id.to_string();
            row.tags = img.familiar_tags();
            current = img
                .parent
                .as_ref()
                .and_then(|p| self.resolve(&p.to_string()).ok());
        }
        Ok(rows)
    }
}
