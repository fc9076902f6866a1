//! The daemon options Docker takes as flags or in `daemon.json` (data root, debug, storage
//! driver, DNS defaults, the default bridge's settings, registries), in Docker's file
//! format, read by the CLI and by embedders alike.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{EngineConfig, Error};

/// `daemon.json` (`/etc/ministry/daemon.json` by default): Docker's keys. Every field is
/// optional; what is set overrides the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DaemonConfig {
    /// The data root (`-g`, `--data-root`).
    pub data_root: Option<PathBuf>,
    /// The old name of `data-root`.
    pub graph: Option<PathBuf>,
    /// Run-time state (`--exec-root`).
    pub exec_root: Option<PathBuf>,
    /// Debug output (`-D`).
    pub debug: Option<bool>,
    /// `overlay2` or `vfs` (`--storage-driver`).
    pub storage_driver: Option<String>,
    /// Containers' default name servers (`--dns`).
    pub dns: Option<Vec<String>>,
    /// Containers' default search domains (`--dns-search`).
    pub dns_search: Option<Vec<String>>,
    /// Containers' default resolver options (`--dns-opt`).
    pub dns_opts: Option<Vec<String>>,
    /// The default bridge (`-b`): an existing bridge to use instead of creating one.
    pub bridge: Option<String>,
    /// The default bridge's address and subnet (`--bip`).
    pub bip: Option<String>,
    /// The part of the bridge's subnet containers get addresses from (`--fixed-cidr`).
    pub fixed_cidr: Option<String>,
    /// The MTU of the bridge and veths (`--mtu`).
    pub mtu: Option<u32>,
    /// Inter-container traffic on the default bridge (`--icc`); links still pass.
    pub icc: Option<bool>,
    /// The default host address of published ports (`--ip`).
    pub ip: Option<Ipv4Addr>,
    /// Turn on the host's IP forwarding (`--ip-forward`).
    pub ip_forward: Option<bool>,
    /// Masquerade the bridges' outbound traffic (`--ip-masq`).
    pub ip_masq: Option<bool>,
    /// Manage firewall (nftables) rules at all (`--iptables`).
    pub iptables: Option<bool>,
    /// Registries reached over plain HTTP or unverified TLS (`--insecure-registry`).
    pub insecure_registries: Option<Vec<String>>,
    /// Docker Hub mirrors (`--registry-mirror`).
    pub registry_mirrors: Option<Vec<String>>,
    /// The containers' cgroup parent (`--cgroup-parent`).
    pub cgroup_parent: Option<String>,
    /// The init binary of `--init`.
    pub init_path: Option<PathBuf>,
    /// The API daemon's sockets (`-H`): `unix://PATH`, `tcp://HOST:PORT`, `fd://`.
    pub hosts: Option<Vec<String>>,
    /// The group of the daemon's unix sockets (`-G`).
    pub group: Option<String>,
    /// The daemon's PID file (`-p`).
    pub pidfile: Option<PathBuf>,
    /// TLS on TCP sockets (`--tls`).
    pub tls: Option<bool>,
    /// Mutual TLS: clients need a certificate signed by `tlscacert` (`--tlsverify`).
    pub tlsverify: Option<bool>,
    /// The CA clients' certificates must be signed by (`--tlscacert`).
    pub tlscacert: Option<PathBuf>,
    /// The daemon's certificate (`--tlscert`).
    pub tlscert: Option<PathBuf>,
    /// The daemon's key (`--tlskey`).
    pub tlskey: Option<PathBuf>,
}

impl DaemonConfig {
    /// Reads a `daemon.json`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, Error> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                Error::InvalidConfig(format!(
                    "unable to configure the Docker daemon with file {}: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// The options set in both `self` (flags) and `file`, named as Docker names them:
    /// Docker refuses such a configuration.
    pub fn conflicts(&self, file: &DaemonConfig) -> Vec<&'static str> {
        let a = serde_json::to_value(SerView(self)).unwrap_or_default();
        let b = serde_json::to_value(SerView(file)).unwrap_or_default();
        KEYS.iter()
            .copied()
            .filter(|k| !a[*k].is_null() && !b[*k].is_null())
            .collect()
    }

    /// `self` with the unset options taken from `other`.
    pub fn or(self, other: DaemonConfig) -> DaemonConfig {
        macro_rules! pick {
            ($($f:ident),*) => { DaemonConfig { $($f: self.$f.or(other.$f)),* } };
        }
        pick!(
            data_root,
            graph,
            exec_root,
            debug,
            storage_driver,
            dns,
            dns_search,
            dns_opts,
            bridge,
            bip,
            fixed_cidr,
            mtu,
            icc,
            ip,
            ip_forward,
            ip_masq,
            iptables,
            insecure_registries,
            registry_mirrors,
            cgroup_parent,
            init_path,
            hosts,
            group,
            pidfile,
            tls,
            tlsverify,
            tlscacert,
            tlscert,
            tlskey
        )
    }

    /// Applies the options set onto `c`, checking them.
    pub fn apply(&self, c: &mut EngineConfig) -> Result<(), Error> {
        if let Some(r) = self.data_root.as_ref().or(self.graph.as_ref()) {
            c.root = r.clone();
        }
        if let Some(r) = &self.exec_root {
            c.exec_root = r.clone();
        }
        if let Some(d) = &self.storage_driver {
            c.snapshotter = EngineConfig::parse_snapshotter(d)?;
        }
        if let Some(p) = &self.cgroup_parent {
            c.cgroup_parent = p.clone();
        }
        if let Some(p) = &self.init_path {
            c.init_path = Some(p.clone());
        }
        if let Some(v) = &self.dns {
            for s in v {
                s.parse::<std::net::IpAddr>()
                    .map_err(|_| Error::InvalidConfig(format!("{s} is not an ip address")))?;
            }
            c.dns = v.clone();
        }
        if let Some(v) = &self.dns_search {
            c.dns_search = v.clone();
        }
        if let Some(v) = &self.dns_opts {
            c.dns_options = v.clone();
        }
        let n = &mut c.network;
        if let Some(b) = &self.bridge {
            if self.bip.is_some() {
                return Err(Error::InvalidConfig(
                    "You specified -b & --bip, mutually exclusive options. Please specify only one"
                        .into(),
                ));
            }
            n.bridge = b.clone();
            n.existing_bridge = b != "ministry0";
        }
        if let Some(b) = &self.bip {
            libnet::subnet::Subnet::parse(b)?;
            n.bip = Some(b.clone());
        }
        if let Some(f) = &self.fixed_cidr {
            n.fixed_cidr = Some(libnet::subnet::Subnet::parse(f)?);
        }
        if let Some(m) = self.mtu {
            if !(68..=65535).contains(&m) {
                return Err(Error::InvalidConfig(format!("invalid MTU {m}")));
            }
            n.mtu = m;
        }
        if let Some(v) = self.icc {
            n.icc = v;
        }
        if let Some(v) = self.ip {
            n.default_host_ip = Some(v);
        }
        if let Some(v) = self.ip_forward {
            n.ip_forward = v;
        }
        if let Some(v) = self.ip_masq {
            n.ip_masq = v;
        }
        if let Some(v) = self.iptables {
            n.iptables = v;
        }
        if self.icc == Some(false) && self.iptables == Some(false) {
            return Err(Error::InvalidConfig(
                "You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true".into(),
            ));
        }
        if let Some(v) = &self.insecure_registries {
            c.registry.insecure_registries = v.clone();
        }
        if let Some(v) = &self.registry_mirrors {
            c.registry.mirrors = [("docker.io".to_string(), v.clone())].into();
        }
        Ok(())
    }
}

const KEYS: [&str; 29] = [
    "data-root",
    "graph",
    "exec-root",
    "debug",
    "storage-driver",
    "dns",
    "dns-search",
    "dns-opts",
    "bridge",
    "bip",
    "fixed-cidr",
    "mtu",
    "icc",
    "ip",
    "ip-forward",
    "ip-masq",
    "iptables",
    "insecure-registries",
    "registry-mirrors",
    "cgroup-parent",
    "init-path",
    "hosts",
    "group",
    "pidfile",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
];

/// Serializes a [`DaemonConfig`] with its file keys (for [`DaemonConfig::conflicts`]).
struct SerView<'a>(&'a DaemonConfig);

impl serde::Serialize for SerView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let c = self.0;
        let vals: [serde_json::Value; 29] = [
            serde_json::json!(c.data_root),
            serde_json::json!(c.graph),
            serde_json::json!(c.exec_root),
            serde_json::json!(c.debug),
            serde_json::json!(c.storage_driver),
            serde_json::json!(c.dns),
            serde_json::json!(c.dns_search),
            serde_json::json!(c.dns_opts),
            serde_json::json!(c.bridge),
            serde_json::json!(c.bip),
            serde_json::json!(c.fixed_cidr),
            serde_json::json!(c.mtu),
            serde_json::json!(c.icc),
            serde_json::json!(c.ip),
            serde_json::json!(c.ip_forward),
            serde_json::json!(c.ip_masq),
            serde_json::json!(c.iptables),
            serde_json::json!(c.insecure_registries),
            serde_json::json!(c.registry_mirrors),
            serde_json::json!(c.cgroup_parent),
            serde_json::json!(c.init_path),
            serde_json::json!(c.hosts),
            serde_json::json!(c.group),
            serde_json::json!(c.pidfile),
            serde_json::json!(c.tls),
            serde_json::json!(c.tlsverify),
            serde_json::json!(c.tlscacert),
            serde_json::json!(c.tlscert),
            serde_json::json!(c.tlskey),
        ];
        let mut m = s.serialize_map(Some(KEYS.len()))?;
        for (k, v) in KEYS.iter().zip(vals) {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_daemon_json() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("daemon.json");
        assert_eq!(DaemonConfig::load(&p).unwrap(), DaemonConfig::default());
        std::fs::write(
            &p,
            r#"{"data-root": "/srv/m", "dns": ["9.9.9.9"], "dns-search": ["corp"], "bip": "10.77.0.1/24",
                "fixed-cidr": "10.77.0.128/25", "mtu": 1400, "icc": false, "ip": "127.0.0.1",
                "insecure-registries": ["r:5000"], "registry-mirrors": ["http://m:5000"], "debug": true}"#,
        )
        .unwrap();
        let f = DaemonConfig::load(&p).unwrap();
        let mut c = EngineConfig::default();
        f.apply(&mut c).unwrap();
        assert_eq!(c.root, PathBuf::from("/srv/m"));
        assert_eq!(c.dns, ["9.9.9.9"]);
        assert_eq!(c.network.bip.as_deref(), Some("10.77.0.1/24"));
        assert_eq!(c.network.fixed_cidr.unwrap().to_string(), "10.77.0.128/25");
        assert_eq!(c.network.mtu, 1400);
        assert!(!c.network.icc);
        assert_eq!(c.network.default_host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(c.registry.insecure_registries, ["r:5000"]);
        // A flag and the file naming the same option: Docker's refusal.
        let flags = DaemonConfig {
            mtu: Some(9000),
            dns: Some(vec!["1.1.1.1".into()]),
            ..Default::default()
        };
        assert_eq!(flags.conflicts(&f), ["dns", "mtu"]);
        let merged = DaemonConfig {
            debug: Some(false),
            ..Default::default()
        }
        .or(f.clone());
        assert_eq!(merged.debug, Some(false));
        assert_eq!(merged.mtu, Some(1400));
        // Bad input: clear errors.
        std::fs::write(&p, r#"{"mtu": "big"}"#).unwrap();
        assert!(DaemonConfig::load(&p).is_err());
        std::fs::write(&p, r#"{"no-such-option": 1}"#).unwrap();
        assert!(DaemonConfig::load(&p)
            .unwrap_err()
            .to_string()
            .contains("no-such-option"));
        let both = DaemonConfig {
            bridge: Some("br0".into()),
            bip: Some("10.0.0.1/24".into()),
            ..Default::default()
        };
        assert!(both.apply(&mut EngineConfig::default()).is_err());
        let bad = DaemonConfig {
            dns: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(bad.apply(&mut EngineConfig::default()).is_err());
    }
}
