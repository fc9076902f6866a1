//! The engine: one data root and the services on it.

mod build;
mod container_network;
mod containers;
mod copy;
mod create;
mod daemon;
mod error;
mod events;
mod hostconfig;
mod images;
mod info;
mod inspect;
mod list;
mod logs;
mod names;
mod network_objects;
mod process;
mod registry;
mod run;
mod usage;
mod user;
mod volumes;
mod watch;

pub use build::{BuildContext, BuildEvent, BuildOptions};
pub use container_network::{parse_record_link, NetworkConfig, NetworkState};
pub use containers::{parse_signal, ContainerRecord, ContainerState, ContainerStatus, Restarted};
pub use daemon::DaemonConfig;
pub use error::{error_text, Error, ErrorKind};
pub use events::{Event, EventFilter, EventOptions, EventStream, EventType};
pub use hostconfig::{
    check_device, check_sysctl, os_error_text, parse_device, parse_size, parse_ulimit, rlimit_type,
    DeviceMapping, HostConfig, Ulimit,
};
pub use images::ImageSummary;
pub use info::{PluginsInfo, RegistryConfigInfo, SystemInfo};
pub use inspect::{
    ContainerInspect, DeviceView, EndpointSettings, HostConfigView, LogConfigView, MountView,
    NetworkSettings, PortBindingView, RestartPolicyView, StateView, UlimitView,
};
pub use list::{ContainerFilter, ContainerListOptions, ContainerSummary};
pub use logs::{LogLine, LogOptions, LogStream};
pub use network_objects::{ConfigFrom, Ipam, IpamConfig, NetworkInspect, NetworkMember};
pub use process::{ContainerTerminal, ContainerTop, Stats};
pub use run::{ExecOptions, NetworkMode, RunOptions};
pub use usage::{ContainerUsage, DiskUsage, ImageUsage, VolumeUsage};

use std::path::PathBuf;

use libimage::service::{ImageService, SnapshotterKind};
use libruntime::{Helper, Runtime};

/// Where the engine keeps its state and how.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The data root. By default, `/var/lib/ministry`.
    pub root: PathBuf,
    /// Run-time state (container monitors' state directories). By default, `/run/ministry`.
    pub exec_root: PathBuf,
    /// The snapshotter. By default, overlayfs where it works, else copies.
    pub snapshotter: SnapshotterKind,
    /// The cgroup parent of containers (relative to the hierarchy roots). By default,
    /// `ministry`.
    pub cgroup_parent: String,
    /// The program that serves as libruntime's monitor helper. By default, the running
    /// program, whose `main` must call `libruntime::maybe_run()` first (the `ministry`
    /// binary does).
    pub helper: Helper,
    /// How registries are reached (insecure registries, mirrors, certificates,
    /// credentials).
    pub registry: libregistry::RegistryOptions,
    /// The default bridge network's settings.
    pub network: NetworkConfig,
    /// Containers' name servers when `run` gives none (`--dns` of the daemon).
    pub dns: Vec<String>,
    /// Containers' search domains when `run` gives none.
    pub dns_search: Vec<String>,
    /// Containers' resolver options when `run` gives none.
    pub dns_options: Vec<String>,
    /// The init binary of `--init` (`init-path`). By default, `docker-init` or
    /// `tini-static` where the tini package puts them.
    pub init_path: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            root: PathBuf::from("/var/lib/ministry"),
            exec_root: PathBuf::from("/run/ministry"),
            snapshotter: SnapshotterKind::Auto,
            cgroup_parent: "ministry".into(),
            helper: Helper::CurrentExe,
            registry: libregistry::RegistryOptions::default(),
            network: NetworkConfig::default(),
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            init_path: None,
        }
    }
}

impl EngineConfig {
    /// Parses a storage-driver name as Docker's `--storage-driver` takes it.
    pub fn parse_snapshotter(name: &str) -> Result<SnapshotterKind, Error> {
        match name {
            "overlay" | "overlay2" | "overlayfs" => Ok(SnapshotterKind::Overlay),
            "vfs" | "native" | "copy" => Ok(SnapshotterKind::Copy),
            "" | "auto" => Ok(SnapshotterKind::Auto),
            other => Err(Error::InvalidConfig(format!(
                "unsupported storage driver: {other} (use overlay2 or vfs)"
            ))),
        }
    }
}

/// A container engine on one data root.
pub struct Engine {
    config: EngineConfig,
    images: ImageService,
    runtime: Runtime,
    volumes: libvolume::VolumeStore,
    /// The default bridge's name, once decided ([`Engine::default_bridge`]).
    bridge_name: std::sync::OnceLock<String>,
    /// Whether this process made that decision (and so marks the bridge it creates).
    bridge_claim: std::sync::OnceLock<bool>,
    bridge_marked: std::sync::OnceLock<()>,
    /// Parsed container records and saved specs' resources, by file identity: a file
    /// replaced (records are written by rename) or changed is read again, so the cache
    /// is safe with other processes writing the same data root.
    parsed: std::sync::Mutex<containers::ParsedCache>,
}

impl Engine {
    /// Opens the engine's stores, creating them on first use.
    pub fn open(config: EngineConfig) -> Result<Self, Error> {
        let images = ImageService::open(&config.root, config.snapshotter)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .create(config.root.join("containers"))
            .map_err(|e| Error::io("create", config.root.join("containers"), e))?;
        let runtime = Runtime::new(&config.exec_root, config.helper.clone())?;
        let volumes = libvolume::VolumeStore::open(config.root.join("volumes"))?;
        Ok(Engine {
            config,
            images,
            runtime,
            volumes,
            bridge_name: Default::default(),
            bridge_claim: Default::default(),
            bridge_marked: Default::default(),
            parsed: Default::default(),
        })
    }

    /// The image service.
    pub fn images(&self) -> &ImageService {
        &self.images
    }

    /// The container runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The configuration the engine was opened with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Which containers use an image (for `rmi`'s conflict rules).
    pub fn image_users(&self, image: &libimage::Digest) -> Vec<libimage::service::ImageUser> {
        self.containers()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.image_id == image.to_string())
            .map(|c| {
                let running = self.container_state(&c).map(|s| s.running).unwrap_or(false);
                libimage::service::ImageUser {
                    container: c.id.clone(),
                    running,
                }
            })
            .collect()
    }
}
