//! libvolume: named, anonymous and bind volumes, producing mounts for libruntime.
//!
//! This crate is being built under issue 7; it has no public API yet.
#![deny(missing_docs)]
