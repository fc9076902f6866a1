//! Layers: applying layer tars safely, and their compression.

mod apply;
mod compression;
pub mod fsops;

pub use apply::{apply_layer, Applied, ApplyOptions, WhiteoutMode};
pub use compression::{decompress, Compression};
