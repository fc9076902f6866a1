//! libnet: bridge networking, veth pairs, IPAM, port publishing, DNS and hosts files, links.
//!
//! This crate is being built under issue 6; it has no public API yet.
#![deny(missing_docs)]
