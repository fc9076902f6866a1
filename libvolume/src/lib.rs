//! libvolume: data that bypasses the union file system, as Docker's local volume driver
//! keeps it.
//!
//! - [`VolumeStore`]: named and anonymous volumes under `<data-root>/volumes/<name>/_data`
//!   with their records (labels, driver options for tmpfs-, bind- or device-backed volumes),
//!   created and removed atomically under a store lock.
//! - [`parse_volume_flag`] and [`parse_mount_flag`]: Docker's `-v` and `--mount` syntax,
//!   with Docker's error messages.
//! - [`MountPoint`]: what a container has mounted, in the shape of `inspect`'s `Mounts`,
//!   turned into the OCI mount libruntime performs ([`MountPoint::to_oci`]). libruntime
//!   resolves every destination inside the container's root, so a symlink in an image at
//!   a volume path cannot redirect the mount onto the host.
//!
//! The crate does not depend on libruntime: it only describes mounts. Which containers use
//! a volume (for `rm` refusing one in use) is the engine's knowledge.
//!
//! ```no_run
//! use libvolume::{CreateOptions, VolumeStore};
//!
//! let store = VolumeStore::open("/var/lib/ministry/volumes")?;
//! let (v, _created) = store.create(&CreateOptions {
//!     name: Some("data".into()),
//!     ..Default::default()
//! })?;
//! println!("{}", v.mountpoint.display());
//! # Ok::<(), libvolume::Error>(())
//! ```
#![deny(missing_docs)]

mod error;
mod mountinfo;
mod mounts;
mod store;

pub use error::{Error, ErrorKind, Result};
pub use mountinfo::is_mount_point;
pub use mounts::{
    check_volume_sections, parse_mount_flag, parse_volume_flag, sort_for_mounting, MountPoint,
    MountSpec, MountType,
};
pub use store::{validate_name, CreateOptions, Volume, VolumeStore};
