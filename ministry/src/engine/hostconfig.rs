//! Docker's host-config flags (`--cap-add`, `--privileged`, `--security-opt`, `--read-only`,
//! `--tmpfs`, resource limits, `--ulimit`, `--shm-size`) applied to a container's spec.

use libruntime::caps;
use std::collections::BTreeMap;

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

use super::Error;

/// The host-config part of `run`/`create` (recorded with the container for `inspect`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HostConfig {
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--privileged`: every capability this machine allows, no masks, all devices, no
    /// seccomp, /sys writable.
    pub privileged: bool,
    /// `--security-opt` (`no-new-privileges[:true]`, `seccomp=unconfined|FILE`).
    pub security_opt: Vec<String>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--tmpfs /path[:options]`: each path and its mount options (Docker's `Tmpfs`).
    #[serde(deserialize_with = "compat::map")]
    pub tmpfs: BTreeMap<String, String>,
    /// `-m`, bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`, bytes (-1: unlimited).
    pub memory_swap: Option<i64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--cpus`.
    pub cpus: Option<f64>,
    /// `-c`/`--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--ulimit name=soft[:hard]`.
    #[serde(deserialize_with = "compat::ulimits")]
    pub ulimits: Vec<Ulimit>,
    /// `--shm-size`, bytes.
    pub shm_size: Option<u64>,
    /// `--device HOST[:CONTAINER[:PERMISSIONS]]`.
    #[serde(deserialize_with = "compat::devices")]
    pub devices: Vec<DeviceMapping>,
    /// `--sysctl key=value` (namespaced ones only).
    #[serde(deserialize_with = "compat::map")]
    pub sysctls: BTreeMap<String, String>,
}

/// Records written before these fields were typed hold them as flag strings; both forms
/// are read.
pub(crate) mod compat {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item<T> {
        Typed(T),
        Text(String),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Map {
        Typed(BTreeMap<String, String>),
        Texts(Vec<String>),
    }

    /// `{"k": "v"}`, or `["k=v"]` (sysctls) / `["/path:opts"]` (tmpfs).
    pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
        Ok(match Map::deserialize(d)? {
            Map::Typed(m) => m,
            Map::Texts(v) => v
                .iter()
                .map(|t| {
                    let (k, v) = t
                        .split_once(if t.starts_with('/') { ':' } else { '=' })
                        .unwrap_or((t, ""));
                    (k.to_string(), v.to_string())
                })
                .collect(),
        })
    }

    pub fn ulimits<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<super::Ulimit>, D::Error> {
        Ok(Vec::<Item<super::Ulimit>>::deserialize(d)?
            .into_iter()
            .filter_map(|i| match i {
                Item::Typed(u) => Some(u),
                Item::Text(t) => super::parse_ulimit(&t).ok(),
            })
            .collect())
    }

    pub fn devices<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<super::DeviceMapping>, D::Error> {
        Ok(Vec::<Item<super::DeviceMapping>>::deserialize(d)?
            .into_iter()
            .filter_map(|i| match i {
                Item::Typed(u) => Some(u),
                Item::Text(t) => super::parse_device(&t).ok(),
            })
            .collect())
    }
}

/// Docker's rule for `--sysctl`: only sysctls of the container's own namespaces (IPC:
/// `kernel.msg*`, `kernel.sem`, `kernel.shm*`, `fs.mqueue.*`; network: `net.*`).
pub fn check_sysctl(kv: &str) -> Result<(String, String), Error> {
    let (k, v) = kv.split_once('=').ok_or_else(|| {
        bad(format!(
            "invalid argument \"{kv}\" for \"--sysctl\" flag: sysctl '{kv}' is not allowed"
        ))
    })?;
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let ok = IPC.contains(&k) || k.starts_with("fs.mqueue.") || k.starts_with("net.");
    if !ok || k.contains('/') || k.contains("..") {
        return Err(bad(format!(
            "invalid argument \"{kv}\" for \"--sysctl\" flag: sysctl '{kv}' is not allowed"
        )));
    }
    Ok((k.to_string(), v.to_string()))
}

/// One `--device`: the host node, where it appears, its cgroup permissions (Docker's
/// `DeviceMapping`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceMapping {
    /// The device on the host.
    #[serde(rename = "PathOnHost")]
    pub host: String,
    /// Its path in the container.
    #[serde(rename = "PathInContainer")]
    pub container: String,
    /// `r`, `w`, `m` in any combination (default `rwm`).
    #[serde(rename = "CgroupPermissions")]
    pub permissions: String,
}

/// Docker's rules for a device mapping: absolute paths, permissions of `rwm`.
pub fn check_device(m: &DeviceMapping) -> Result<(), Error> {
    let perms_ok = !m.permissions.is_empty() && m.permissions.chars().all(|c| "rwm".contains(c));
    if !m.host.starts_with('/') || !m.container.starts_with('/') || !perms_ok {
        return Err(bad(format!(
            "invalid device specification: {}:{}:{}",
            m.host, m.container, m.permissions
        )));
    }
    Ok(())
}

/// Parses Docker's `--device` forms.
pub fn parse_device(s: &str) -> Result<DeviceMapping, Error> {
    let parts: Vec<&str> = s.split(':').collect();
    let perms_ok = |p: &str| !p.is_empty() && p.chars().all(|c| "rwm".contains(c));
    let (host, ctr, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if perms_ok(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] if perms_ok(p) => (*h, *c, *p),
        _ => return Err(bad(format!("invalid device specification: {s}"))),
    };
    if !host.starts_with('/') || !ctr.starts_with('/') {
        return Err(bad(format!("invalid device specification: {s}")));
    }
    Ok(DeviceMapping {
        host: host.to_string(),
        container: ctr.to_string(),
        permissions: perms.to_string(),
    })
}

fn bad(s: impl Into<String>) -> Error {
    Error::InvalidConfig(s.into())
}

/// An OS error as Go prints it (`no such file or directory`, without Rust's
/// ` (os error 2)`).
pub fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One `--ulimit name=soft[:hard]` value (Docker's `Ulimit`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    /// `nofile`, `nproc`, ...
    pub name: String,
    /// The soft limit (negative: unlimited).
    pub soft: i64,
    /// The hard limit (the soft one when not given).
    pub hard: i64,
}

/// Parses Docker's size strings (`10m`, `1g`, `512k`, `100`, with an optional `b`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim().to_ascii_lowercase();
    let t = s.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let v = num
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("invalid size: '{s}'"))?;
    Ok((v * mult as f64) as u64)
}

/// Parses `--ulimit name=soft[:hard]`; the refusal in Docker's words.
pub fn parse_ulimit(u: &str) -> Result<Ulimit, String> {
    let (name, vals) = u
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {u}"))?;
    if rlimit_type(name).is_none() {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    let n = |x: &str| {
        x.parse::<i64>()
            .map_err(|_| format!("strconv.ParseInt: parsing \"{x}\": invalid syntax"))
    };
    Ok(Ulimit {
        name: name.to_string(),
        soft: n(soft)?,
        hard: n(hard)?,
    })
}

/// The OCI rlimit type of a Docker `--ulimit` name (`nofile` is `RLIMIT_NOFILE`).
pub fn rlimit_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "core" => "RLIMIT_CORE",
        "cpu" => "RLIMIT_CPU",
        "data" => "RLIMIT_DATA",
        "fsize" => "RLIMIT_FSIZE",
        "locks" => "RLIMIT_LOCKS",
        "memlock" => "RLIMIT_MEMLOCK",
        "msgqueue" => "RLIMIT_MSGQUEUE",
        "nice" => "RLIMIT_NICE",
        "nofile" => "RLIMIT_NOFILE",
        "nproc" => "RLIMIT_NPROC",
        "rss" => "RLIMIT_RSS",
        "rtprio" => "RLIMIT_RTPRIO",
        "rttime" => "RLIMIT_RTTIME",
        "sigpending" => "RLIMIT_SIGPENDING",
        "stack" => "RLIMIT_STACK",
        _ => return None,
    })
}

/// Applies `h` to `spec` (Docker's defaults already in it). Returns the capability set the
/// container ends up with.
pub fn apply(spec: &mut Spec, h: &HostConfig) -> Result<Vec<String>, Error> {
    let base: Vec<String> = caps::DOCKER_DEFAULT.iter().map(|s| s.to_string()).collect();
    let capset = if h.privileged {
        caps::all_available()
    } else {
        // Docker's words for a name it does not know, checked name by name (added ones
        // first): `invalid CapAdd: unknown capability: "CAP_BOGUS"`.
        let full = |c: &str| {
            let c = c.to_ascii_uppercase();
            if c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        };
        for (which, names) in [("CapAdd", &h.cap_add), ("CapDrop", &h.cap_drop)] {
            for c in names.iter().filter(|c| !c.eq_ignore_ascii_case("ALL")) {
                if caps::parse(c).is_err() {
                    return Err(bad(format!(
                        "invalid {which}: unknown capability: \"{}\"",
                        full(c)
                    )));
                }
            }
        }
        caps::adjust(&base, &h.cap_add, &h.cap_drop)?
    };
    let mut v = serde_json::to_value(&*spec).map_err(|e| bad(e.to_string()))?;
    for set in ["bounding", "effective", "permitted"] {
        v["process"]["capabilities"][set] = json!(capset);
    }
    let mut seccomp = Some(Value::Null);
    for o in &h.security_opt {
        let (k, val) = o.split_once(['=', ':']).unwrap_or((o.as_str(), "true"));
        match k {
            "no-new-privileges" => v["process"]["noNewPrivileges"] = json!(val != "false"),
            "seccomp" if val == "unconfined" => seccomp = None,
            "seccomp" => {
                let data = std::fs::read(val)
                    .map_err(|e| bad(format!("opening seccomp profile ({val}) failed: {e}")))?;
                let doc: Value = serde_json::from_slice(&data)
                    .map_err(|e| bad(format!("decoding seccomp profile failed: {e}")))?;
                seccomp = Some(docker_profile_to_oci(&doc, &capset));
            }
            "label" | "apparmor" => {}
            _ => return Err(bad(format!("invalid --security-opt: {o:?}"))),
        }
    }
    if h.privileged {
        seccomp = None;
        v["linux"]["maskedPaths"] = json!([]);
        v["linux"]["readonlyPaths"] = json!([]);
        v["linux"]["resources"]["devices"] = json!([{"allow": true, "access": "rwm"}]);
        for m in v["mounts"].as_array_mut().into_iter().flatten() {
            if m["destination"] == "/sys" {
                m["options"] = json!(["nosuid", "noexec", "nodev", "rw"]);
            }
        }
    }
    v["linux"]["seccomp"] = match seccomp {
        None => Value::Null,
        Some(Value::Null) => serde_json::to_value(libruntime::seccomp::default_profile(&capset)?)
            .map_err(|e| bad(e.to_string()))?,
        Some(p) => p,
    };
    if h.read_only {
        v["root"]["readonly"] = json!(true);
    }
    for (dest, opts) in &h.tmpfs {
        if !dest.starts_with('/') {
            return Err(bad(format!("invalid mount path for --tmpfs: {dest}")));
        }
        let mut options = vec![
            "rw".to_string(),
            "nosuid".into(),
            "nodev".into(),
            "noexec".into(),
        ];
        options.extend(
            opts.split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string),
        );
        v["mounts"].as_array_mut().expect("mounts").push(
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options}),
        );
    }
    if let Some(size) = h.shm_size {
        for m in v["mounts"].as_array_mut().into_iter().flatten() {
            if m["destination"] == "/dev/shm" {
                m["options"] = json!([
                    "nosuid",
                    "noexec",
                    "nodev",
                    "mode=1777",
                    format!("size={size}")
                ]);
            }
        }
    }
    set_resources(&mut v["linux"]["resources"], h)?;
    for (k, val) in &h.sysctls {
        let (k, val) = check_sysctl(&format!("{k}={val}"))?;
        v["linux"]["sysctl"][k] = json!(val);
    }
    for m in &h.devices {
        check_device(m)?;
        let md = std::fs::metadata(&m.host).map_err(|source| Error::Os {
            context: format!(
                "error gathering device information while adding custom device \"{}\"",
                m.host
            ),
            source,
        })?;
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let typ = if md.file_type().is_char_device() {
            "c"
        } else if md.file_type().is_block_device() {
            "b"
        } else {
            return Err(bad(format!(
                "error gathering device information while adding custom device \"{}\": not a device node",
                m.host
            )));
        };
        let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
        let node = json!({"path": m.container, "type": typ, "major": major, "minor": minor,
                          "fileMode": md.mode() & 0o777, "uid": 0, "gid": 0});
        match v["linux"]["devices"].as_array_mut() {
            Some(a) => a.push(node),
            None => v["linux"]["devices"] = json!([node]),
        }
        let rule = json!({"allow": true, "type": typ, "major": major, "minor": minor, "access": m.permissions});
        if let Some(a) = v["linux"]["resources"]["devices"].as_array_mut() {
            a.push(rule);
        }
    }
    let mut rlimits = Vec::new();
    for l in &h.ulimits {
        let typ =
            rlimit_type(&l.name).ok_or_else(|| bad(format!("invalid ulimit type: {}", l.name)))?;
        // Negative: unlimited.
        let limit = |n: i64| if n < 0 { u64::MAX } else { n as u64 };
        let (soft, hard) = (limit(l.soft), limit(l.hard));
        if soft > hard {
            return Err(bad(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )));
        }
        rlimits.push(json!({"type": typ, "soft": soft, "hard": hard}));
    }
    if !rlimits.is_empty() {
        v["process"]["rlimits"] = json!(rlimits);
    }
    *spec = serde_json::from_value(v).map_err(|e| bad(format!("container spec: {e}")))?;
    Ok(capset)
}

/// Converts a Docker seccomp profile (`names`, `includes`/`excludes` by capabilities and
/// architectures, `archMap`) into an OCI one for a container with `caps`.
pub fn docker_profile_to_oci(doc: &Value, caps: &[String]) -> Value {
    let has = |c: &Value| c.as_str().is_some_and(|c| caps.iter().any(|x| x == c));
    let native = "SCMP_ARCH_X86_64";
    let keep = |rule: &Value| {
        let inc = &rule["includes"];
        let exc = &rule["excludes"];
        let inc_ok = inc["caps"].as_array().is_none_or(|cs| cs.iter().all(has))
            && inc["arches"].as_array().is_none_or(|a| {
                a.iter()
                    .any(|x| x.as_str().is_some_and(|x| x == native || x == "amd64"))
            });
        let exc_ok = exc["caps"].as_array().is_none_or(|cs| !cs.iter().any(has))
            && exc["arches"].as_array().is_none_or(|a| {
                !a.iter()
                    .any(|x| x.as_str().is_some_and(|x| x == native || x == "amd64"))
            });
        inc_ok && exc_ok
    };
    let syscalls: Vec<Value> = doc["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| keep(r))
        .map(|r| {
            let mut names: Vec<Value> = r["names"].as_array().cloned().unwrap_or_default();
            if let Some(n) = r["name"].as_str() {
                names.push(json!(n));
            }
            let mut o = json!({"names": names, "action": r["action"]});
            if !r["args"].is_null() {
                o["args"] = r["args"].clone();
            }
            if !r["errnoRet"].is_null() {
                o["errnoRet"] = r["errnoRet"].clone();
            }
            o
        })
        .collect();
    let arches: Vec<Value> = match doc["archMap"].as_array() {
        Some(m) => m
            .iter()
            .find(|a| a["architecture"] == native)
            .map(|a| {
                let mut v = vec![a["architecture"].clone()];
                v.extend(
                    a["subArchitectures"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
                v
            })
            .unwrap_or_default(),
        None => doc["architectures"].as_array().cloned().unwrap_or_default(),
    };
    let mut out = json!({"defaultAction": doc["defaultAction"], "architectures": arches, "syscalls": syscalls});
    if !doc["defaultErrnoRet"].is_null() {
        out["defaultErrnoRet"] = doc["defaultErrnoRet"].clone();
    }
    out
}

/// Docker's resource flags (`-m`, `--memory-swap`, `--pids-limit`, `--cpus`, `-c`,
/// `--cpuset-cpus`) into an OCI `linux.resources` object (fields not given are left as
/// they are): for create, and for `update`.
pub(crate) fn set_resources(res: &mut Value, h: &HostConfig) -> Result<(), Error> {
    if let Some(m) = h.memory {
        // Docker's daemon checks (-1 is "unlimited" for update).
        if m > 0 && m < 6 * 1024 * 1024 {
            return Err(bad("Minimum memory limit allowed is 6MB"));
        }
        if let Some(s) = h.memory_swap.filter(|s| *s > 0 && m > 0) {
            if s < m {
                return Err(bad(
                    "Minimum memoryswap limit should be larger than memory limit, see usage",
                ));
            }
        }
        res["memory"]["limit"] = json!(m);
        // Docker: swap defaults to twice the memory limit.
        res["memory"]["swap"] = json!(h.memory_swap.unwrap_or(m * 2));
    } else if h.memory_swap.is_some() {
        return Err(bad(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if let Some(p) = h.pids_limit {
        res["pids"] = json!({"limit": p});
    }
    if let Some(c) = h.cpus {
        if c <= 0.0 {
            return Err(bad(format!(
                "invalid argument \"{c}\" for \"--cpus\" flag: value must be positive"
            )));
        }
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        if c > n as f64 || c < 0.01 {
            return Err(bad(format!(
                "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
            )));
        }
        res["cpu"]["period"] = json!(100_000);
        res["cpu"]["quota"] = json!((c * 100_000.0) as i64);
    }
    if let Some(s) = h.cpu_shares {
        res["cpu"]["shares"] = json!(s);
    }
    if let Some(c) = &h.cpuset_cpus {
        res["cpu"]["cpus"] = json!(c);
    }
    Ok(())
}
