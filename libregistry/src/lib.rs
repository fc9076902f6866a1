//! libregistry: the OCI distribution client (pull, push, auth, login).
//!
//! This crate is being built under issue 4; it has no public API yet.
#![deny(missing_docs)]
