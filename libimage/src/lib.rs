//! libimage: everything about container images.
#![deny(missing_docs)]

pub mod content;
pub mod digest;
pub mod dockerfile;
mod error;
pub mod fsutil;
pub mod image;
pub mod layer;
pub mod reference;
pub mod service;
pub mod snapshot;
pub mod time;
pub mod tree;

pub use digest::Digest;
pub use error::{Error, ErrorKind, Result};
pub use reference::Reference;
