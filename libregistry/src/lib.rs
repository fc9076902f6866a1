//! libregistry: the OCI distribution / Docker registry v2 protocol, through oci-client,
//! handing verified content to libimage's store.
//!
//! - [`Registry::pull`]: a reference resolved once to a digest (indexes and manifest lists
//!   with platform selection), config and layers downloaded concurrently and streamed into
//!   the content store with digest and size verified while streaming, layers unpacked in
//!   order while later ones still download; [`Progress`] events per layer.
//! - [`Registry::push`]: only missing blobs (HEAD first, cross-repository mount where the
//!   image is known in another repository of the registry), streamed monolithic uploads,
//!   then the stored manifest bytes (same digest everywhere).
//! - [`Registry::login`], [`Registry::logout`], [`CredentialStore`]: credentials checked
//!   against the registry's challenge, kept in Docker's `config.json` format.
//! - Transport: HTTPS, plain HTTP only for loopback and listed insecure registries
//!   (Docker's rule), extra CAs from `certs.d/<host:port>/*.crt`, mirrors.
//!
//! ```no_run
//! use libimage::service::{ImageService, SnapshotterKind};
//! use libregistry::{PullOptions, Registry, RegistryOptions};
//!
//! let images = ImageService::open("/var/lib/ministry", SnapshotterKind::Auto)?;
//! let registry = Registry::new(RegistryOptions::default())?;
//! let r = libimage::Reference::parse("127.0.0.1:5000/busybox:latest")?;
//! let pulled = registry.pull(&images, &r, &PullOptions::default(), &|p| eprintln!("{p:?}"))?;
//! println!("{}", pulled.image.id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod auth;
mod client;
mod error;
mod fetch;
mod login;
mod progress;
mod pull;
mod push;

pub use auth::{parse_challenge, Challenge, CredentialStore, Credentials};
pub use client::{is_loopback, Registry, RegistryOptions};
pub use error::{Error, ErrorKind, Result};
pub use fetch::Fetched;
pub use login::SearchResult;
pub use progress::{LayerState, Progress};
pub use pull::{PullOptions, Pulled};
pub use push::Pushed;
