//! Images: manifests, configs, and the records that name them.

mod config;
mod manifest;
mod records;

pub use config::{chain_ids, ImageConfig, MAX_CONFIG_SIZE};
pub use manifest::*;
pub use records::{resolve_in, ImageRecord, ImageRecords, LayerRecord};
