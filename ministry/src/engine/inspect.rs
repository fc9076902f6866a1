//! `docker inspect` of a container as a typed value in Docker's Engine API shape
//! (`ContainerInspect`), computed by the engine: the CLI prints or templates it, the daemon
//! serializes it. Field names, order, and which fields are `null` or left out follow
//! Docker 20.10 (maps serialize with sorted keys, as Go's encoder writes them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use libimage::image::ContainerConfig;
use serde::{Deserialize, Serialize};

use super::container_network::NetworkState;
use super::containers::{ContainerRecord, ContainerStatus};
use super::{Engine, Error};

/// `GET /containers/{id}/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    /// The full ID.
    pub id: String,
    /// Creation time (RFC 3339).
    pub created: String,
    /// The program.
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Run-time state.
    pub state: StateView,
    /// The image's ID.
    pub image: String,
    /// The json-file log.
    pub log_path: PathBuf,
    /// `/name`.
    pub name: String,
    /// Restarts by its policy since its last start.
    pub restart_count: u32,
    /// The storage driver.
    pub driver: String,
    /// `linux`.
    pub platform: String,
    /// How it is hosted.
    pub host_config: HostConfigView,
    /// Docker's container config.
    pub config: ContainerConfig,
    /// Its mounts.
    pub mounts: Vec<serde_json::Value>,
    /// Its networks.
    pub network_settings: NetworkSettings,
}

/// `State`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateView {
    /// Docker's status word.
    pub status: ContainerStatus,
    /// Whether its program runs (or will again: restarting counts as running).
    pub running: bool,
    /// Frozen.
    pub paused: bool,
    /// Waiting for its restart policy.
    pub restarting: bool,
    /// Killed by the OOM killer.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Never here.
    pub dead: bool,
    /// The program's host PID while it runs, else 0.
    pub pid: i32,
    /// The last exit code.
    pub exit_code: i32,
    /// Why it could not run.
    pub error: String,
    /// RFC 3339 with nanoseconds (`0001-01-01T00:00:00Z` when never).
    pub started_at: String,
    /// Likewise.
    pub finished_at: String,
}

/// `HostConfig` as inspect shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfigView {
    /// `--rm`.
    pub auto_remove: bool,
    /// `--restart`.
    pub restart_policy: RestartPolicyView,
    /// The log driver.
    pub log_config: LogConfigView,
    /// `--network`.
    pub network_mode: String,
    /// `--link` as recorded.
    pub links: Option<Vec<String>>,
    /// `--init` (null unless given).
    pub init: Option<bool>,
    /// `--device`.
    pub devices: Vec<DeviceView>,
    /// `-m` in bytes (0: none).
    pub memory: i64,
    /// `--memory-swap` in bytes.
    pub memory_swap: i64,
    /// `--cpus` in billionths.
    pub nano_cpus: i64,
    /// `-c`.
    pub cpu_shares: u64,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: String,
    /// `--pids-limit` (null: none).
    pub pids_limit: Option<i64>,
    /// `-p`.
    pub port_bindings: BTreeMap<String, Vec<PortBindingView>>,
    /// `-v` values naming a source.
    pub binds: Option<Vec<String>>,
    /// `--volumes-from`.
    pub volumes_from: Option<Vec<String>>,
    /// `--mount`.
    pub mounts: Option<Vec<MountView>>,
    /// `--cap-add` (`CAP_` names).
    pub cap_add: Option<Vec<String>>,
    /// `--cap-drop`.
    pub cap_drop: Option<Vec<String>>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--add-host`.
    pub extra_hosts: Option<Vec<String>>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// `--security-opt`.
    pub security_opt: Option<Vec<String>>,
    /// `/dev/shm`'s size in bytes.
    pub shm_size: u64,
    /// `--ulimit`.
    pub ulimits: Vec<UlimitView>,
    /// `--tmpfs` (left out when none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// `--sysctl` (left out when none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sysctls: Option<BTreeMap<String, String>>,
}

/// `RestartPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicyView {
    /// `no`, `always`, `on-failure`, `unless-stopped`.
    pub name: String,
    /// For `on-failure`.
    pub maximum_retry_count: u32,
}

/// `LogConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfigView {
    /// `json-file`.
    #[serde(rename = "Type")]
    pub typ: String,
    /// Driver options.
    pub config: BTreeMap<String, String>,
}

/// One `Devices` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceView {
    /// The host's node.
    pub path_on_host: String,
    /// Where it appears.
    pub path_in_container: String,
    /// `rwm`.
    pub cgroup_permissions: String,
}

/// One host binding of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortBindingView {
    /// The host address (`0.0.0.0`: all).
    pub host_ip: String,
    /// The host port (empty: chosen at start).
    pub host_port: String,
}

/// One `HostConfig.Mounts` entry (`--mount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountView {
    /// `bind`, `volume`, `tmpfs`.
    #[serde(rename = "Type")]
    pub typ: String,
    /// The source (left out when none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    /// Where it is mounted.
    pub target: String,
    /// Left out unless read-only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub read_only: Option<bool>,
}

/// One `Ulimits` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UlimitView {
    /// The hard limit.
    pub hard: i64,
    /// `nofile`, ...
    pub name: String,
    /// The soft limit.
    pub soft: i64,
}

/// `NetworkSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// Empty.
    pub bridge: String,
    /// Published ports while it runs; exposed-only ones are `null`.
    pub ports: BTreeMap<String, Option<Vec<PortBindingView>>>,
    /// The default bridge's gateway (while running).
    pub gateway: String,
    /// Its address on the default bridge.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// The prefix length.
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    /// Its MAC address.
    pub mac_address: String,
    /// Each network it is on.
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// One network of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    /// Fixed addresses (none).
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<serde_json::Value>,
    /// Links (default bridge).
    pub links: Option<Vec<String>>,
    /// Names on a user-defined network.
    pub aliases: Option<Vec<String>>,
    /// The network's ID.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Empty.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// The gateway.
    pub gateway: String,
    /// Its address.
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// The prefix length.
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    /// Its MAC address.
    pub mac_address: String,
}

fn time_or_zero(ns: Option<u64>) -> String {
    ns.map(libruntime::logs::rfc3339_nanos)
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

fn some_if_any<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Capability names as Docker records them (`CAP_NET_ADMIN`; `ALL` stays).
fn capabilities(caps: &[String]) -> Vec<String> {
    caps.iter()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c == "ALL" || c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect()
}

/// Docker's `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`.
pub(crate) fn port_bindings(
    ports: &[libnet::nat::PortMapping],
) -> BTreeMap<String, Vec<PortBindingView>> {
    let mut m: BTreeMap<String, Vec<PortBindingView>> = BTreeMap::new();
    for p in ports {
        m.entry(format!("{}/{}", p.container_port, p.proto))
            .or_default()
            .push(PortBindingView {
                host_ip: p
                    .host_ip
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "0.0.0.0".into()),
                host_port: if p.host_port == 0 {
                    String::new()
                } else {
                    p.host_port.to_string()
                },
            });
    }
    m
}

/// inspect's `NetworkSettings`: addresses only while it runs (Docker clears them at stop);
/// the top-level address fields are the default bridge's, each network in `Networks`.
fn network_settings(c: &ContainerRecord, running: bool) -> NetworkSettings {
    let text = |ip: Option<std::net::Ipv4Addr>| {
        ip.filter(|_| running)
            .map(|i| i.to_string())
            .unwrap_or_default()
    };
    let n = &c.network;
    let mut ports: BTreeMap<String, Option<Vec<PortBindingView>>> =
        port_bindings(if running { &n.ports } else { &[] })
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
    if let Some(exposed) = &c.config.exposed_ports {
        for k in exposed.keys() {
            ports.entry(k.clone()).or_insert(None);
        }
    }
    let name = match c.network_mode.as_str() {
        "" | "default" => "bridge",
        m => m,
    };
    let mut eps: Vec<(String, NetworkState)> = Vec::new();
    if !name.starts_with("container:") {
        eps.push((name.to_string(), n.clone()));
    }
    eps.extend(c.extra_networks.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut networks = BTreeMap::new();
    for (net, st) in &eps {
        let mut aliases = st.aliases.clone();
        if net != "bridge" && net != "host" && net != "none" {
            aliases.push(c.id[..12].to_string());
        }
        let links: Vec<String> = if net == "bridge" {
            c.links
                .iter()
                .map(|l| {
                    let (t, a) = super::parse_record_link(l);
                    format!("{t}:{a}")
                })
                .collect()
        } else {
            Vec::new()
        };
        networks.insert(
            net.clone(),
            EndpointSettings {
                ipam_config: None,
                links: some_if_any(links),
                aliases: some_if_any(aliases),
                network_id: st.network_id.clone(),
                endpoint_id: String::new(),
                gateway: text(st.gateway),
                ip_address: text(st.ip_address),
                ip_prefix_len: if running && st.ip_address.is_some() {
                    st.ip_prefix_len
                } else {
                    0
                },
                mac_address: if running {
                    st.mac_address.clone()
                } else {
                    String::new()
                },
            },
        );
    }
    let default = name == "bridge";
    NetworkSettings {
        bridge: String::new(),
        ports,
        gateway: if default {
            text(n.gateway)
        } else {
            String::new()
        },
        ip_address: if default {
            text(n.ip_address)
        } else {
            String::new()
        },
        ip_prefix_len: if default && running && n.ip_address.is_some() {
            n.ip_prefix_len
        } else {
            0
        },
        mac_address: if default && running {
            n.mac_address.clone()
        } else {
            String::new()
        },
        networks,
    }
}

impl From<&libvolume::MountSpec> for MountView {
    fn from(s: &libvolume::MountSpec) -> Self {
        MountView {
            typ: format!("{:?}", s.kind).to_lowercase(),
            source: (!s.source.is_empty()).then(|| s.source.clone()),
            target: s.target.clone(),
            read_only: s.readonly.then_some(true),
        }
    }
}

/// `HostConfig.Mounts`: the `--mount`s in Docker's API shape (older records hold the
/// flags' text).
fn host_config_mounts(c: &ContainerRecord) -> Option<Vec<MountView>> {
    let mut v = c.host_mounts.clone();
    v.extend(
        c.mount_flags
            .iter()
            .filter_map(|f| libvolume::parse_mount_flag(f).ok())
            .map(|s| MountView::from(&s)),
    );
    some_if_any(v)
}

impl Engine {
    /// A container's `inspect` (by name, ID or unique ID prefix), in Docker's shape.
    pub fn inspect_container(&self, name: &str) -> Result<ContainerInspect, Error> {
        let c = self.container(name)?;
        self.inspect_record(&c)
    }

    /// [`Engine::inspect_container`] of a record already looked up.
    pub fn inspect_record(&self, c: &ContainerRecord) -> Result<ContainerInspect, Error> {
        let st = self.container_state(c)?;
        let res = self.container_resources(c);
        let h = &c.host;
        Ok(ContainerInspect {
            id: c.id.clone(),
            created: c.created.clone(),
            path: c.path.clone(),
            args: c.args.clone(),
            state: StateView {
                status: st.status,
                running: st.running || st.restarting,
                paused: st.paused,
                restarting: st.restarting,
                oom_killed: st.oom_killed,
                dead: false,
                pid: st.pid,
                exit_code: st.exit_code.unwrap_or(0),
                error: st.error.clone().unwrap_or_default(),
                started_at: time_or_zero(st.started_ns),
                finished_at: time_or_zero(st.finished_ns),
            },
            image: c.image_id.clone(),
            log_path: self.log_path(&c.id),
            name: format!("/{}", c.name),
            restart_count: st.restart_count,
            driver: self.images.snapshotter_name().to_string(),
            platform: "linux".into(),
            host_config: HostConfigView {
                auto_remove: c.auto_remove,
                restart_policy: RestartPolicyView {
                    name: c.restart_policy.name().to_string(),
                    maximum_retry_count: c.restart_policy.max_retries(),
                },
                log_config: LogConfigView {
                    typ: "json-file".into(),
                    config: BTreeMap::new(),
                },
                network_mode: c.network_mode.clone(),
                links: some_if_any(c.links.clone()),
                init: c.init.then_some(true),
                devices: c
                    .devices
                    .iter()
                    .map(|d| DeviceView {
                        path_on_host: d.host.clone(),
                        path_in_container: d.container.clone(),
                        cgroup_permissions: d.permissions.clone(),
                    })
                    .collect(),
                memory: res["memory"]["limit"].as_i64().unwrap_or(0),
                memory_swap: res["memory"]["swap"].as_i64().unwrap_or(0),
                nano_cpus: match (res["cpu"]["quota"].as_i64(), res["cpu"]["period"].as_i64()) {
                    (Some(q), Some(p)) if p > 0 => q * 1_000_000_000 / p,
                    _ => 0,
                },
                cpu_shares: res["cpu"]["shares"].as_u64().unwrap_or(0),
                cpuset_cpus: res["cpu"]["cpus"].as_str().unwrap_or("").to_string(),
                pids_limit: res["pids"]["limit"].as_i64(),
                port_bindings: port_bindings(&c.publish),
                binds: some_if_any(c.binds.clone()),
                volumes_from: some_if_any(c.volumes_from.clone()),
                mounts: host_config_mounts(c),
                cap_add: some_if_any(capabilities(&h.cap_add)),
                cap_drop: some_if_any(capabilities(&h.cap_drop)),
                dns: c.dns.clone(),
                dns_options: c.dns_options.clone(),
                dns_search: c.dns_search.clone(),
                extra_hosts: some_if_any(c.extra_hosts.clone()),
                privileged: h.privileged,
                readonly_rootfs: h.read_only,
                security_opt: some_if_any(h.security_opt.clone()),
                shm_size: h.shm_size.unwrap_or(64 << 20),
                ulimits: h
                    .ulimits
                    .iter()
                    .map(|l| UlimitView {
                        hard: l.hard,
                        name: l.name.clone(),
                        soft: l.soft,
                    })
                    .collect(),
                tmpfs: (!h.tmpfs.is_empty()).then(|| h.tmpfs.clone()),
                sysctls: (!h.sysctls.is_empty()).then(|| h.sysctls.clone()),
            },
            config: c.config.clone(),
            mounts: c.mounts.iter().map(|m| m.docker_json()).collect(),
            network_settings: network_settings(c, st.running),
        })
    }
}
