//! The engine: one data root and the services on it.

use std::path::PathBuf;

use libimage::service::{ImageService, SnapshotterKind};

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the image store.
    #[error(transparent)]
    Image(#[from] libimage::Error),
    /// A configuration value is not valid.
    #[error("{0}")]
    InvalidConfig(String),
}

/// Where the engine keeps its state and how.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The data root. By default, `/var/lib/ministry`.
    pub root: PathBuf,
    /// The snapshotter. By default, overlayfs where it works, else copies.
    pub snapshotter: SnapshotterKind,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            root: PathBuf::from("/var/lib/ministry"),
            snapshotter: SnapshotterKind::Auto,
        }
    }
}

impl EngineConfig {
    /// Parses a storage-driver name as Docker's `--storage-driver` takes it.
    pub fn parse_snapshotter(name: &str) -> Result<SnapshotterKind, Error> {
        match name {
            "overlay" | "overlay2" | "overlayfs" => Ok(SnapshotterKind::Overlay),
            "vfs" | "native" | "copy" => Ok(SnapshotterKind::Copy),
            "" | "auto" => Ok(SnapshotterKind::Auto),
            other => Err(Error::InvalidConfig(format!(
                "unsupported storage driver: {other} (use overlay2 or vfs)"
            ))),
        }
    }
}

/// A container engine on one data root.
pub struct Engine {
    config: EngineConfig,
    images: ImageService,
}

impl Engine {
    /// Opens the engine's stores, creating them on first use.
    pub fn open(config: EngineConfig) -> Result<Self, Error> {
        let images = ImageService::open(&config.root, config.snapshotter)?;
        Ok(Engine { config, images })
    }

    /// The image service.
    pub fn images(&self) -> &ImageService {
        &self.images
    }

    /// The configuration the engine was opened with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Which containers use an image. Containers arrive with the runtime (issue 3); until
    /// then no image is in use.
    pub fn image_users(&self, _image: &libimage::Digest) -> Vec<libimage::service::ImageUser> {
        Vec::new()
    }
}
