//! `docker info` (`GET /info`) as a typed value computed by the engine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Engine, Error};

/// `GET /info`, in Docker's shape (the fields ministry has).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemInfo {
    /// All containers.
    pub containers: usize,
    /// Running ones (not paused).
    pub containers_running: usize,
    /// Paused ones.
    pub containers_paused: usize,
    /// The others.
    pub containers_stopped: usize,
    /// Images.
    pub images: usize,
    /// The storage driver (`overlay2`, `vfs`).
    pub driver: String,
    /// `json-file`.
    pub logging_driver: String,
    /// The drivers ministry has.
    pub plugins: PluginsInfo,
    /// `cgroupfs`.
    pub cgroup_driver: String,
    /// `1` or `2`.
    pub cgroup_version: String,
    /// `uname -r`.
    pub kernel_version: String,
    /// `PRETTY_NAME` of os-release.
    pub operating_system: String,
    /// `linux`.
    #[serde(rename = "OSType")]
    pub os_type: String,
    /// `uname -m`.
    pub architecture: String,
    /// CPUs available.
    #[serde(rename = "NCPU")]
    pub ncpu: usize,
    /// Bytes of memory.
    pub mem_total: u64,
    /// The host's name.
    pub name: String,
    /// ministry's version.
    pub server_version: String,
    /// The data root.
    pub docker_root_dir: PathBuf,
    /// `libruntime`.
    pub default_runtime: String,
    /// Security features.
    pub security_options: Vec<String>,
    /// Registry settings.
    pub registry_config: RegistryConfigInfo,
    /// Debug mode.
    pub debug: bool,
}

/// `Plugins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PluginsInfo {
    /// Volume drivers.
    pub volume: Vec<String>,
    /// Network drivers.
    pub network: Vec<String>,
    /// Authorization plugins (none).
    pub authorization: Option<Vec<String>>,
    /// Log drivers.
    pub log: Vec<String>,
}

/// `RegistryConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryConfigInfo {
    /// Registries reached without TLS.
    #[serde(rename = "InsecureRegistryCIDRs")]
    pub insecure_registry_cidrs: Vec<String>,
}

fn first_line(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_default()
}

impl Engine {
    /// What `docker info` shows.
    pub fn info(&self) -> Result<SystemInfo, Error> {
        let containers = self.containers()?;
        let (mut running, mut paused, mut stopped) = (0, 0, 0);
        for c in &containers {
            let st = self.container_state(c)?;
            if st.paused {
                paused += 1;
            } else if st.running {
                running += 1;
            } else {
                stopped += 1;
            }
        }
        let uname = nix::sys::utsname::uname().map_err(|e| Error::io("uname", "", e.into()))?;
        let text = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
        let mut insecure = self.config.registry.insecure_registries.clone();
        insecure.insert(0, "127.0.0.0/8".into());
        let mem_kib = first_line("/proc/meminfo", "MemTotal:")
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
        Ok(SystemInfo {
            containers: containers.len(),
            containers_running: running,
            containers_paused: paused,
            containers_stopped: stopped,
            images: self.images.list()?.len(),
            driver: self.images.snapshotter_name().to_string(),
            logging_driver: "json-file".into(),
            plugins: PluginsInfo {
                volume: vec!["local".into()],
                network: vec!["bridge".into(), "host".into(), "null".into()],
                authorization: None,
                log: vec!["json-file".into()],
            },
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                "2"
            } else {
                "1"
            }
            .into(),
            kernel_version: text(uname.release()),
            operating_system: first_line("/etc/os-release", "PRETTY_NAME="),
            os_type: "linux".into(),
            architecture: text(uname.machine()),
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            mem_total: mem_kib * 1024,
            name: text(uname.nodename()),
            server_version: env!("CARGO_PKG_VERSION").into(),
            docker_root_dir: self.config.root.clone(),
            default_runtime: "libruntime".into(),
            security_options: vec!["name=seccomp,profile=default".into()],
            registry_config: RegistryConfigInfo {
                insecure_registry_cidrs: insecure,
            },
            debug: false,
        })
    }
}
