//! ministry: the `Engine` that composes libimage (and, as they land, libruntime,
//! libregistry, libnet and libvolume) into a container engine other programs can embed.
//!
//! ```no_run
//! use ministry::{Engine, EngineConfig};
//!
//! let engine = Engine::open(EngineConfig::default())?;
//! for image in engine.images().list()? {
//!     println!("{} {:?}", image.id, image.familiar_tags());
//! }
//! # Ok::<(), ministry::Error>(())
//! ```
#![deny(missing_docs)]

mod engine;

pub use engine::{
    os_error_text, parse_device, parse_record_link, parse_signal, parse_ulimit, rlimit_type,
    ContainerRecord, ContainerState, DaemonConfig, DeviceMapping, Engine, EngineConfig, Error,
    Event, EventFilter, ExecOptions, HostConfig, NetworkConfig, NetworkState, RunOptions, Ulimit,
};
