//! ministry: the `Engine` that composes libimage, libruntime, libregistry, libnet and
//! libvolume into a container engine other programs can embed. The `ministry` crate
//! alone suffices: what an embedder needs of the libraries is re-exported here (and the
//! libraries themselves, for everything else).
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
//!
//! # Blocking, threads and processes
//!
//! Every `Engine` method blocks the calling thread until it is done (registry calls run
//! on a thread of their own, so they never nest tokio runtimes); none needs or starts an
//! async runtime. From async code, call them through `tokio::task::spawn_blocking`.
//! `Engine` is `Send + Sync`: one engine may serve many threads, and many processes
//! may open engines on one data root at once (records are changed under file locks).
//!
//! # The helper
//!
//! Containers are started by a fresh, single-threaded helper process: by default the
//! running program itself, re-executed. On glibc this is set up before `main` runs (so
//! `#[tokio::main]` programs work as they are); elsewhere call [`maybe_run`] first in
//! `main`. [`Engine::open`] refuses, with an error saying so, when the helper cannot work.
#![deny(missing_docs)]

mod engine;

pub use engine::{
    check_device, check_sysctl, error_text, os_error_text, parse_device, parse_record_link,
    parse_signal, parse_size, parse_ulimit, rlimit_type, BuildContext, BuildEvent, BuildOptions,
    ConfigFrom, ContainerFilter, ContainerInspect, ContainerListOptions, ContainerRecord,
    ContainerState, ContainerStatus, ContainerSummary, ContainerTerminal, ContainerTop,
    ContainerUsage, DaemonConfig, DeviceMapping, DeviceView, DiskUsage, EndpointSettings, Engine,
    EngineConfig, Error, ErrorKind, Event, EventFilter, EventOptions, EventStream, EventType,
    ExecOptions, HostConfig, HostConfigView, ImageSummary, ImageUsage, Ipam, IpamConfig,
    LogConfigView, LogLine, LogOptions, LogStream, MountView, NetworkConfig, NetworkInspect,
    NetworkMember, NetworkMode, NetworkSettings, NetworkState, PluginsInfo, PortBindingView,
    RegistryConfigInfo, RestartPolicyView, Restarted, RunOptions, StateView, Stats, SystemInfo,
    Ulimit, UlimitView, VolumeUsage,
};

pub use libimage;
pub use libnet;
pub use libregistry;
pub use libruntime;
pub use libvolume;

pub use libimage::image::{ContainerConfig, ImageRecord};
pub use libimage::service::{ImportOptions, LoadedImage, RemoveEvent, SnapshotterKind};
pub use libimage::{Digest, Reference};
pub use libnet::nat::PortMapping;
pub use libnet::store::{NetworkRecord, NewNetwork};
pub use libregistry::SearchResult;
pub use libregistry::{Credentials, LayerState, Progress, PullOptions, Pulled, Pushed};
pub use libruntime::{maybe_run, ContainerStdio, Helper, RestartPolicy};
pub use libvolume::{CreateOptions as VolumeCreateOptions, MountSpec, Volume};

// The engine is shared between threads (the daemon's handlers, an embedder's workers).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<EventStream>();
    assert_send_sync::<LogStream>();
};
