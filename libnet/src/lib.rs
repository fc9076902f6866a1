//! libnet: container networking as Docker's default bridge does it, on rtnetlink and
//! nftables.
//!
//! - [`files`]: `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` in Docker's formats.
//! - [`subnet`]: subnets and Docker's choice of a bridge subnet overlapping no host route.
//! - [`ipam`]: address leases persisted under a lock (never one address twice), Docker's
//!   MAC from the IP.
//! - [`link`]: the bridge, a container's veth pair, `eth0`, `lo`, default route.
//! - [`nat`]: forwarding, masquerade and published ports (`-p`) in the `ip ministry`
//!   nftables table.
//! - [`store`]: network records (`network create/ls/rm`), the predefined ones included.
//! - [`links`]: the environment and hosts entries of `--link`.
//!
//! ```
//! let hosts = libnet::files::hosts(None, &[("db".to_string(), "10.0.0.5".to_string())]);
//! assert!(hosts.ends_with("10.0.0.5\tdb\n"));
//! ```
#![deny(missing_docs)]

mod error;
pub mod files;
pub mod ipam;
pub mod link;
pub mod links;
pub mod nat;
pub mod store;
pub mod subnet;

pub use error::{Error, ErrorKind, Result};
