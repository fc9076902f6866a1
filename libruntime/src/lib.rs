//! libruntime: isolated containers (namespaces, root file system, cgroups, capabilities,
//! seccomp) and the per-container monitor.
//!
//! This crate is being built under issue 3; it has no public API yet.
#![deny(missing_docs)]
