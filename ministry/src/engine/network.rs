//! Container networking between create and start: the default bridge (created on first
//! use, its subnet chosen to overlap no host route or given with `--bip`), an address
//! lease, a veth pair, published ports; `none`, `host` and `container:<name>` modes.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use libnet::link::BridgeSpec;
use libnet::nat::PortMapping;
use libnet::subnet::Subnet;
use serde::{Deserialize, Serialize};

use super::containers::ContainerRecord;
use super::{Engine, Error};

/// The engine's network settings (Docker's daemon options).
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// The default bridge (`-b`). By default, `ministry0`.
    pub bridge: String,
    /// The bridge's address and subnet (`--bip`, e.g. `172.30.0.1/16`). By default, the
    /// first of Docker's candidate pools that overlaps no route of the host.
    pub bip: Option<String>,
    /// The MTU of the bridge and veths (`--mtu`). By default, 1500.
    pub mtu: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bridge: "ministry0".into(),
            bip: None,
            mtu: 1500,
        }
    }
}

/// What a container got on its network (inspect's `NetworkSettings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkState {
    /// Its address on the bridge.
    pub ip_address: Option<Ipv4Addr>,
    /// The bridge's address.
    pub gateway: Option<Ipv4Addr>,
    /// The subnet's prefix length.
    pub ip_prefix_len: u8,
    /// Its MAC address.
    pub mac_address: String,
    /// The host end of its veth pair.
    pub host_interface: String,
    /// Its published ports (host ports chosen).
    pub ports: Vec<PortMapping>,
}

impl Engine {
    fn network_dir(&self) -> PathBuf {
        self.config.root.join("network")
    }

    /// The default bridge: its subnet from `--bip`, else the one chosen before (kept in
    /// `<root>/network/bridge.json`), else a new non-overlapping choice.
    pub(crate) fn bridge_spec(&self) -> Result<BridgeSpec, Error> {
        let cfg = &self.config.network;
        let subnet = match &cfg.bip {
            Some(b) => Subnet::parse(b)?,
            None => {
                let path = self.network_dir().join("bridge.json");
                match std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Subnet>(&b).ok())
                {
                    Some(s) => s,
                    None => {
                        std::fs::create_dir_all(self.network_dir())
                            .map_err(|e| Error::io("create", self.network_dir(), e))?;
                        let _g = libimage::fsutil::LockGuard::lock(
                            &self.network_dir().join("bridge.lock"),
                        )?;
                        let routes = libnet::subnet::host_routes()?;
                        let s = libnet::subnet::pick_subnet(&routes)?;
                        let data = serde_json::to_vec(&s)
                            .map_err(|e| Error::InvalidConfig(e.to_string()))?;
                        libimage::fsutil::write_atomic(&path, &data)?;
                        s
                    }
                }
            }
        };
        Ok(BridgeSpec {
            name: cfg.bridge.clone(),
            subnet,
            mtu: cfg.mtu,
        })
    }

    fn ipam(&self, spec: &BridgeSpec) -> libnet::ipam::Ipam {
        libnet::ipam::Ipam::new(
            self.network_dir()
                .join(format!("{}.leases.json", spec.name)),
            spec.subnet,
        )
    }

    /// Wires a created container's network namespace (its init is `pid`) before start.
    pub(crate) fn attach_network(&self, c: &mut ContainerRecord, pid: u32) -> Result<(), Error> {
        let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
        match c.network_mode.as_str() {
            "bridge" | "default" | "" => {}
            "none" => return Ok(libnet::link::loopback_up(&netns)?),
            _ => return Ok(()),
        }
        let spec = self.bridge_spec()?;
        libnet::link::ensure_bridge(&spec)?;
        libnet::nat::ensure_bridge_rules(&spec)?;
        self.reconcile_network(&spec)?;
        let ip = self.ipam(&spec).allocate(&c.id)?;
        let mac = libnet::ipam::mac_for(ip);
        let host_if = format!("veth{}", &c.id[..8]);
        // A restarted container's old veth went with its old namespace.
        libnet::link::delete_link(&host_if)?;
        libnet::link::connect_container(&spec, &netns, &host_if, ip, mac)?;
        let mut ports = Vec::new();
        for p in &c.publish {
            let mut p = p.clone();
            if p.host_port == 0 {
                p.host_port = libnet::nat::free_port(&p.proto)?;
            }
            ports.push(p);
        }
        libnet::nat::unpublish(&c.id)?;
        libnet::nat::publish(&c.id, ip, &ports)?;
        c.network = NetworkState {
            ip_address: Some(ip),
            gateway: Some(spec.subnet.gateway()),
            ip_prefix_len: spec.subnet.prefix,
            mac_address: libnet::ipam::mac_text(&mac),
            host_interface: host_if,
            ports,
        };
        // Its own name in its /etc/hosts, as Docker writes it.
        let hosts = self.container_dir(&c.id).join("hosts");
        if let Ok(text) = std::fs::read_to_string(&hosts) {
            let line = format!("{ip}\t{}\n", c.config.hostname);
            if !text.contains(&line) {
                std::fs::write(&hosts, text + &line).map_err(|e| Error::io("write", &hosts, e))?;
            }
        }
        self.save_record(c)
    }

    /// Frees what containers that no longer exist still hold (an engine killed with
    /// `kill -9` between wiring a container and recording or removing it): their leases,
    /// port rules and veths.
    fn reconcile_network(&self, spec: &BridgeSpec) -> Result<(), Error> {
        let exists = |id: &str| self.container_dir(id).join("config.v2.json").exists();
        for gone in self
            .ipam(spec)
            .retain(|owner| exists(owner) || owner.is_empty())?
        {
            libnet::nat::unpublish(&gone)?;
            if gone.len() >= 8 {
                libnet::link::delete_link(&format!("veth{}", &gone[..8]))?;
            }
        }
        Ok(())
    }

    /// Undoes [`Engine::attach_network`] for a container being removed: its port rules,
    /// its veth if still there, its address lease.
    pub(crate) fn detach_network(&self, c: &ContainerRecord) -> Result<(), Error> {
        if c.network.ip_address.is_none() {
            return Ok(());
        }
        libnet::nat::unpublish(&c.id)?;
        if !c.network.host_interface.is_empty() {
            libnet::link::delete_link(&c.network.host_interface)?;
        }
        let spec = self.bridge_spec()?;
        self.ipam(&spec).release(&c.id)?;
        Ok(())
    }
}
