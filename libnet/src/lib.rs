//! libnet: container networking. So far the per-container name files (`/etc/hosts`,
//! `/etc/hostname`, `/etc/resolv.conf`) in Docker's formats; bridges, veths, IPAM and port
//! publishing come with issue 6.
//!
//! ```
//! let hosts = libnet::files::hosts(None, &[("db".to_string(), "10.0.0.5".to_string())]);
//! assert!(hosts.ends_with("10.0.0.5\tdb\n"));
//! ```
#![deny(missing_docs)]

pub mod files;
