//! Images: manifests, configs, and the records that name them.

mod config;
mod docker_config;
mod manifest;
mod records;

pub use config::{chain_ids, ImageConfig, MAX_CONFIG_SIZE};
pub use docker_config::ContainerConfig;
pub use manifest::*;
pub use records::{resolve_in, ImageRecord, ImageRecords, LayerRecord};
