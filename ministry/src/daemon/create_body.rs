//! Docker's `POST /containers/create` body (`Config`, `HostConfig`, `NetworkingConfig`)
//! and `RestartPolicy`, translated into the engine's typed requests. Pure functions of
//! the body (the fuzz target `api_request` compiles this file in); refusals are Docker's
//! 400 texts.

use std::collections::BTreeMap;

use ministry::RunOptions;
use serde::Deserialize;
use serde_json::Value;

/// Docker's `RestartPolicy`.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartBody {
    /// `no`, `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// For `on-failure`.
    pub maximum_retry_count: i64,
}

impl RestartBody {
    /// As the engine takes it, with Docker's daemon texts for a bad one.
    pub fn policy(&self) -> Result<libruntime::RestartPolicy, String> {
        let text = match (self.name.as_str(), self.maximum_retry_count) {
            ("", _) => "no".to_string(),
            ("on-failure", n) if n > 0 => format!("on-failure:{n}"),
            (_, n) if n < 0 => return Err("maximum retry count cannot be negative".into()),
            (name @ ("always" | "unless-stopped" | "no"), n) if n != 0 => {
                return Err(format!(
                    "maximum retry count cannot be used with restart policy '{name}'"
                ))
            }
            (name, _) => name.to_string(),
        };
        text.parse()
            .map_err(|e: libruntime::Error| ministry::error_text(&e))
    }
}

/// Parses a create body and translates it (`None`: an empty body).
pub fn parse(body: &[u8], name: Option<String>) -> Result<Option<(RunOptions, bool)>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let b: CreateBody = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if b.image.is_empty() {
        return Err("No command specified".into());
    }
    // `OpenStdin` without a terminal: the daemon keeps the program's stdin.
    let open_stdin = b.open_stdin && !b.tty;
    Ok(Some((run_options(b, name)?, open_stdin)))
}

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
pub struct CreateBody {
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
    restart_policy: Option<RestartBody>,
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
pub fn run_options(b: CreateBody, name: Option<String>) -> Result<RunOptions, String> {
    let h = b.host_config.unwrap_or_default();
    let mut publish = Vec::new();
    for (k, binds) in h.port_bindings.unwrap_or_default() {
        let (port, proto) = k.split_once('/').unwrap_or((k.as_str(), "tcp"));
        let container_port: u16 = port
            .parse()
            .map_err(|_| format!("invalid port specification: \"{k}\""))?;
        for pb in binds.unwrap_or_default() {
            let host_ip = match pb.host_ip.as_str() {
                "" | "0.0.0.0" => None,
                ip => Some(
                    ip.parse()
                        .map_err(|_| format!("invalid IP address: {ip}"))?,
                ),
            };
            let host_port = if pb.host_port.is_empty() {
                0
            } else {
                pb.host_port
                    .parse()
                    .map_err(|_| format!("invalid port specification: \"{}\"", pb.host_port))?
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
        .map_err(|e| ministry::error_text(&e))?;
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
        Some(r) => r.policy()?,
        None => libruntime::RestartPolicy::No,
    };
    let mut log_max_size = None;
    let mut log_max_files = 1;
    if let Some(lc) = h.log_config {
        if !matches!(lc.typ.as_str(), "" | "json-file") {
            return Err(format!(
                "failed to create container: logging driver {} is not supported",
                lc.typ
            ));
        }
        for (k, v) in lc.config {
            match k.as_str() {
                "max-size" => {
                    log_max_size = Some(
                        ministry::parse_size(&v)
                            .map_err(|e| format!("failed to initialize logging driver: {e}"))?,
                    )
                }
                "max-file" => {
                    log_max_files = v.parse().map_err(|_| format!("invalid max-file: {v}"))?
                }
                _ => return Err(format!("unknown log opt '{k}' for json-file log driver")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_bodies_translate_or_are_refused_with_dockers_texts() {
        assert!(parse(b"  ", None).unwrap().is_none());
        assert_eq!(parse(b"{}", None).unwrap_err(), "No command specified");
        assert!(parse(b"{", None).is_err());
        let (o, open) = parse(
            br#"{"Image":"busybox","Cmd":"true","Entrypoint":["sh","-c"],"OpenStdin":true,
                 "HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]},
                 "RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"Memory":6291456,
                 "LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}}},
                 "NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":["web"]}}}}"#,
            Some("x".into()),
        )
        .unwrap()
        .unwrap();
        assert!(open);
        assert_eq!(o.cmd, vec!["true"]);
        assert_eq!(o.entrypoint, Some(vec!["sh".to_string(), "-c".to_string()]));
        assert_eq!(o.publish[0].host_port, 8080);
        assert_eq!(o.publish[0].container_port, 80);
        assert_eq!(
            o.restart,
            libruntime::RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(o.host.memory, Some(6291456));
        assert_eq!(o.log_max_size, Some(1 << 20));
        assert_eq!(o.network_aliases, vec!["web"]);
        let bad = |b: &str| parse(b.as_bytes(), None).unwrap_err();
        assert_eq!(
            bad(
                r#"{"Image":"b","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}"#
            ),
            "maximum retry count cannot be used with restart policy 'always'"
        );
        assert_eq!(
            bad(
                r#"{"Image":"b","HostConfig":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":-1}}}"#
            ),
            "maximum retry count cannot be negative"
        );
        assert!(
            bad(r#"{"Image":"b","HostConfig":{"PortBindings":{"x/tcp":[]}}}"#)
                .starts_with("invalid port specification")
        );
        assert!(
            bad(r#"{"Image":"b","HostConfig":{"LogConfig":{"Type":"syslog"}}}"#)
                .contains("logging driver syslog is not supported")
        );
    }
}
