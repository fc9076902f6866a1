//! `POST /containers/create`: Docker's `Config`, `HostConfig` and `NetworkingConfig`
//! translated into the engine's [`RunOptions`]. An image that is not there is Docker's
//! 404 "No such image", which makes the docker CLI pull it and try again.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::StatusCode;
use ministry::RunOptions;
use serde::Deserialize;
use serde_json::{json, Value};

use super::containers::RestartBody;
use super::http::{blocking, json as json_resp, read_json, ApiError, ApiResult, Query, Req};
use super::Daemon;

/// A string or a list of strings (Docker's `StrSlice`: `Cmd`, `Entrypoint`).
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum StrSlice {
    /// One string (split by the shell form's rules: one argument here).
    One(String),
    /// A list.
    Many(Vec<String>),
}

impl StrSlice {
    fn into_vec(self) -> Vec<String> {
        match self {
            StrSlice::One(s) => vec![s],
            StrSlice::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    hostname: String,
    user: String,
    attach_stdin: bool,
    tty: bool,
    open_stdin: bool,
    stdin_once: bool,
    env: Option<Vec<String>>,
    cmd: Option<StrSlice>,
    entrypoint: Option<StrSlice>,
    image: String,
    labels: Option<BTreeMap<String, String>>,
    working_dir: String,
    stop_signal: String,
    stop_timeout: Option<i64>,
    exposed_ports: Option<BTreeMap<String, Value>>,
    volumes: Option<BTreeMap<String, Value>>,
    host_config: Option<HostBody>,
    networking_config: Option<NetworkingBody>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct HostBody {
    binds: Option<Vec<String>>,
    network_mode: String,
    port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    publish_all_ports: bool,
    restart_policy: Option<RestartBodyRaw>,
    auto_remove: bool,
    volumes_from: Option<Vec<String>>,
    cap_add: Option<Vec<String>>,
    cap_drop: Option<Vec<String>>,
    dns: Option<Vec<String>>,
    dns_options: Option<Vec<String>>,
    dns_search: Option<Vec<String>>,
    extra_hosts: Option<Vec<String>>,
    links: Option<Vec<String>>,
    privileged: bool,
    readonly_rootfs: bool,
    security_opt: Option<Vec<String>>,
    tmpfs: Option<BTreeMap<String, String>>,
    shm_size: i64,
    sysctls: Option<BTreeMap<String, String>>,
    ulimits: Option<Vec<ministry::Ulimit>>,
    memory: i64,
    memory_swap: i64,
    nano_cpus: i64,
    cpu_shares: i64,
    cpuset_cpus: String,
    pids_limit: Option<i64>,
    devices: Option<Vec<ministry::DeviceMapping>>,
    mounts: Option<Vec<MountBody>>,
    init: Option<bool>,
    log_config: Option<LogConfigBody>,
    console_size: Option<Vec<u16>>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "PascalCase", default)]
struct RestartBodyRaw {
    name: String,
    maximum_retry_count: i64,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct PortBinding {
    host_ip: String,
    host_port: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct LogConfigBody {
    #[serde(rename = "Type")]
    typ: String,
    config: BTreeMap<String, String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct MountBody {
    #[serde(rename = "Type")]
    typ: String,
    source: String,
    target: String,
    read_only: bool,
    bind_options: Option<Value>,
    volume_options: Option<Value>,
    tmpfs_options: Option<Value>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct NetworkingBody {
    endpoints_config: Option<BTreeMap<String, EndpointBody>>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase", default)]
struct EndpointBody {
    aliases: Option<Vec<String>>,
    links: Option<Vec<String>>,
}

/// A `Mounts` entry as the `--mount` text the engine's parser takes.
fn mount_text(m: &MountBody) -> String {
    let mut parts = vec![format!("type={}", m.typ)];
    if !m.source.is_empty() {
        parts.push(format!("source={}", m.source));
    }
    parts.push(format!("target={}", m.target));
    if m.read_only {
        parts.push("readonly".into());
    }
    if let Some(p) = m
        .bind_options
        .as_ref()
        .and_then(|b| b["Propagation"].as_str())
        .filter(|p| !p.is_empty())
    {
        parts.push(format!("bind-propagation={p}"));
    }
    if let Some(v) = &m.volume_options {
        if v["NoCopy"].as_bool() == Some(true) {
            parts.push("volume-nocopy".into());
        }
        if let Some(l) = v["Labels"].as_object() {
            for (k, val) in l {
                parts.push(format!("volume-label={k}={}", val.as_str().unwrap_or("")));
            }
        }
    }
    if let Some(t) = &m.tmpfs_options {
        if let Some(s) = t["SizeBytes"].as_i64().filter(|s| *s > 0) {
            parts.push(format!("tmpfs-size={s}"));
        }
        if let Some(mode) = t["Mode"].as_u64().filter(|m| *m > 0) {
            parts.push(format!("tmpfs-mode={mode:o}"));
        }
    }
    parts.join(",")
}

/// Docker's create body as the engine's options.
fn run_options(b: CreateBody, name: Option<String>) -> Result<RunOptions, ApiError> {
    let h = b.host_config.unwrap_or_default();
    let mut publish = Vec::new();
    for (k, binds) in h.port_bindings.unwrap_or_default() {
        let (port, proto) = k.split_once('/').unwrap_or((k.as_str(), "tcp"));
        let container_port: u16 = port
            .parse()
            .map_err(|_| ApiError::bad(format!("invalid port specification: \"{k}\"")))?;
        for pb in binds.unwrap_or_default() {
            let host_ip = match pb.host_ip.as_str() {
                "" | "0.0.0.0" => None,
                ip => Some(
                    ip.parse()
                        .map_err(|_| ApiError::bad(format!("invalid IP address: {ip}")))?,
                ),
            };
            let host_port = if pb.host_port.is_empty() {
                0
            } else {
                pb.host_port.parse().map_err(|_| {
                    ApiError::bad(format!("invalid port specification: \"{}\"", pb.host_port))
                })?
            };
            publish.push(libnet::nat::PortMapping {
                host_ip,
                host_port,
                container_port,
                proto: proto.to_string(),
            });
        }
    }
    let mut volumes = h.binds.unwrap_or_default();
    // `Config.Volumes` (anonymous volumes) not already bound.
    for target in b.volumes.unwrap_or_default().keys() {
        if !volumes
            .iter()
            .any(|v| v.split(':').nth(1) == Some(target.as_str()))
        {
            volumes.push(target.clone());
        }
    }
    let mounts = h
        .mounts
        .unwrap_or_default()
        .iter()
        .map(|m| libvolume::parse_mount_flag(&mount_text(m)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad(ministry::error_text(&e)))?;
    let network = ministry::NetworkMode::parse(&h.network_mode);
    let mut network_aliases = Vec::new();
    let mut links = h.links.unwrap_or_default();
    if let Some(eps) = b.networking_config.and_then(|n| n.endpoints_config) {
        for (_, ep) in eps {
            network_aliases.extend(ep.aliases.unwrap_or_default());
            links.extend(ep.links.unwrap_or_default());
        }
    }
    // Docker records links as `/target:/name/alias`; the engine takes `target:alias`.
    let links = links
        .into_iter()
        .map(|l| {
            let (t, a) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
            let a = a.rsplit('/').next().unwrap_or(a);
            format!("{}:{a}", t.trim_start_matches('/'))
        })
        .collect();
    let restart = match h.restart_policy {
        Some(r) => RestartBody {
            name: r.name,
            maximum_retry_count: r.maximum_retry_count,
        }
        .policy()?,
        None => libruntime::RestartPolicy::No,
    };
    let mut log_max_size = None;
    let mut log_max_files = 1;
    if let Some(lc) = h.log_config {
        if !matches!(lc.typ.as_str(), "" | "json-file") {
            return Err(ApiError::bad(format!(
                "failed to create container: logging driver {} is not supported",
                lc.typ
            )));
        }
        for (k, v) in lc.config {
            match k.as_str() {
                "max-size" => {
                    log_max_size = Some(crate::cli::containers::options::parse_size(&v).map_err(
                        |e| ApiError::bad(format!("failed to initialize logging driver: {e}")),
                    )?)
                }
                "max-file" => {
                    log_max_files = v
                        .parse()
                        .map_err(|_| ApiError::bad(format!("invalid max-file: {v}")))?
                }
                _ => {
                    return Err(ApiError::bad(format!(
                        "unknown log opt '{k}' for json-file log driver"
                    )))
                }
            }
        }
    }
    let console_size = h
        .console_size
        .filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0)
        .map(|s| (s[0], s[1]));
    Ok(RunOptions {
        image: b.image,
        cmd: b.cmd.map(StrSlice::into_vec).unwrap_or_default(),
        entrypoint: b.entrypoint.map(StrSlice::into_vec),
        env: b.env.unwrap_or_default(),
        workdir: (!b.working_dir.is_empty()).then_some(b.working_dir),
        user: (!b.user.is_empty()).then_some(b.user),
        name,
        hostname: (!b.hostname.is_empty()).then_some(b.hostname),
        auto_remove: h.auto_remove,
        restart,
        log_max_size,
        log_max_files,
        host: ministry::HostConfig {
            cap_add: h.cap_add.unwrap_or_default(),
            cap_drop: h.cap_drop.unwrap_or_default(),
            privileged: h.privileged,
            security_opt: h.security_opt.unwrap_or_default(),
            read_only: h.readonly_rootfs,
            tmpfs: h.tmpfs.unwrap_or_default(),
            memory: (h.memory != 0).then_some(h.memory),
            memory_swap: (h.memory_swap != 0).then_some(h.memory_swap),
            pids_limit: h.pids_limit.filter(|p| *p != 0),
            cpus: (h.nano_cpus != 0).then(|| h.nano_cpus as f64 / 1e9),
            cpu_shares: (h.cpu_shares > 0).then_some(h.cpu_shares as u64),
            cpuset_cpus: (!h.cpuset_cpus.is_empty()).then_some(h.cpuset_cpus),
            ulimits: h.ulimits.unwrap_or_default(),
            shm_size: (h.shm_size > 0).then_some(h.shm_size as u64),
            devices: h.devices.unwrap_or_default(),
            sysctls: h.sysctls.unwrap_or_default(),
        },
        stop_signal: (!b.stop_signal.is_empty()).then_some(b.stop_signal),
        stop_timeout: b.stop_timeout,
        open_stdin: b.open_stdin,
        attach_stdin: b.attach_stdin || b.stdin_once,
        add_host: h.extra_hosts.unwrap_or_default(),
        dns: h.dns.unwrap_or_default(),
        dns_search: h.dns_search.unwrap_or_default(),
        dns_option: h.dns_options.unwrap_or_default(),
        volumes,
        mounts,
        volumes_from: h.volumes_from.unwrap_or_default(),
        network,
        network_aliases,
        links,
        labels: b.labels.unwrap_or_default(),
        init: h.init.unwrap_or(false),
        tty: b.tty,
        console_size,
        publish,
        publish_all: h.publish_all_ports,
        expose: b.exposed_ports.unwrap_or_default().into_keys().collect(),
    })
}

/// `POST /containers/create?name=`.
pub async fn create(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let name = q
        .get("name")
        .filter(|n| !n.is_empty())
        .map(|n| n.trim_start_matches('/').to_string());
    let body: CreateBody = read_json(req)
        .await?
        .ok_or_else(|| ApiError::bad("config cannot be empty in order to create a container"))?;
    if body.image.is_empty() {
        return Err(ApiError::bad("No command specified"));
    }
    let open_stdin = body.open_stdin && !body.tty;
    let o = run_options(body, name)?;
    let d2 = d.clone();
    let id = blocking(d, move |d| {
        if let Err(e) = d.engine.images().resolve(&o.image) {
            if e.kind() == libimage::ErrorKind::NotFound {
                let shown = libimage::Reference::parse(&o.image)
                    .map(|r| r.familiar())
                    .unwrap_or(o.image.clone());
                return Err(ApiError::not_found(format!("No such image: {shown}")));
            }
            return Err(e.into());
        }
        // `OpenStdin` without a terminal: the program's stdin is a pipe whose writing
        // end the daemon keeps for attach clients.
        let mut stdio = ministry::ContainerStdio::default();
        let mut keep = None;
        if open_stdin {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| ApiError::new(500, format!("pipe: {e}")))?;
            stdio.stdin = Some(std::process::Stdio::from(r));
            keep = Some(w);
        }
        // Only a missing image is a 404 here (the docker CLI pulls on a 404).
        let c = d.engine.create_with_stdio(&o, stdio).map_err(|e| {
            let e = ApiError::from(e);
            if e.status == hyper::StatusCode::NOT_FOUND {
                ApiError::bad(e.message)
            } else {
                e
            }
        })?;
        if let Some(w) = keep {
            d2.stdins
                .lock()
                .expect("stdins")
                .insert(c.id.clone(), Arc::new(w));
        }
        Ok(c.id)
    })
    .await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": []}),
    ))
}
