//! Container networking between create and start: the default bridge (created on first
//! use, its subnet chosen to overlap no host route or given with `--bip`) and user-defined
//! bridge networks, an address lease and a veth pair per network, published ports, the
//! `/etc/hosts` entries of links and of the peers on user-defined networks; `none`, `host`
//! and `container:<name>` modes.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use libimage::fsutil::LockGuard;
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
    /// `bridge` names a bridge that exists already (`-b`): it is used as it is, its
    /// subnet taken from its address, and never created.
    pub existing_bridge: bool,
    /// Containers get addresses from this part of the subnet only (`--fixed-cidr`).
    pub fixed_cidr: Option<Subnet>,
    /// Containers on the default bridge may talk to each other (`--icc`). By default, true;
    /// when false only links pass.
    pub icc: bool,
    /// The host address of published ports that name none (`--ip`). By default, all.
    pub default_host_ip: Option<Ipv4Addr>,
    /// Turn the host's IP forwarding on (`--ip-forward`). By default, true.
    pub ip_forward: bool,
    /// Masquerade the bridges' outbound traffic (`--ip-masq`). By default, true.
    pub ip_masq: bool,
    /// Manage nftables rules at all (`--iptables`). By default, true; when false,
    /// published ports cannot work and are refused.
    pub iptables: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bridge: "ministry0".into(),
            bip: None,
            mtu: 1500,
            existing_bridge: false,
            fixed_cidr: None,
            icc: true,
            default_host_ip: None,
            ip_forward: true,
            ip_masq: true,
            iptables: true,
        }
    }
}

/// What a container got on one network (inspect's `NetworkSettings`, and each entry of
/// `NetworkSettings.Networks`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkState {
    /// Its address on the network.
    pub ip_address: Option<Ipv4Addr>,
    /// The network's gateway.
    pub gateway: Option<Ipv4Addr>,
    /// The subnet's prefix length.
    pub ip_prefix_len: u8,
    /// Its MAC address.
    pub mac_address: String,
    /// The host end of its veth pair.
    pub host_interface: String,
    /// Its published ports (host ports chosen); on the primary network only.
    pub ports: Vec<PortMapping>,
    /// The network's ID.
    #[serde(default)]
    pub network_id: String,
    /// The names it is also known by on a user-defined network (`--network-alias`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A removal of published ports under way, with the ruleset generation before it.
pub(crate) struct PendingPorts {
    before: Option<u32>,
    pending: libnet::nat::PendingUnpublish,
}

/// The bridges whose rules were seen in place at a ruleset generation.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RulesCache {
    generation: Option<u32>,
    bridges: Vec<String>,
}

/// Whether a `--network` mode puts the container on a bridge network (the default one or a
/// user-defined one).
pub(crate) fn is_bridged(mode: &str) -> bool {
    !(mode == "none" || mode == "host" || mode.starts_with("container:"))
}

fn is_default(network: &str) -> bool {
    matches!(network, "" | "default" | "bridge")
}

/// One network a container is on: its name, the bridge, the network's ID, and whether it
/// is user-defined (its members find each other by name).
pub(crate) struct Net {
    pub(crate) spec: BridgeSpec,
    pub(crate) id: String,
    pub(crate) user_defined: bool,
}

impl Engine {
    fn network_dir(&self) -> PathBuf {
        self.config.root.join("network")
    }

    /// The network records (`network ls`).
    pub fn network_store(&self) -> libnet::store::NetworkStore {
        libnet::store::NetworkStore::new(self.network_dir().join("networks"))
    }

    /// The mark an engine puts on the default bridge it owns (the link's alias).
    fn bridge_mark(&self) -> String {
        format!("ministry:{}", self.config.root.display())
    }

    /// The default bridge's name for this engine: the configured one (`ministry0`),
    /// unless the engine of another data root already owns a bridge of that name in this
    /// network namespace; then one derived from this data root (`mst-` and 8 hex digits),
    /// so two engines never share a bridge, its leases or its port rules. The choice is
    /// kept in `<root>/network/bridge-name`; an engine marks the bridge it owns with its
    /// data root as the link's alias.
    pub(crate) fn default_bridge(&self) -> Result<String, Error> {
        let n = &self.config.network;
        if n.existing_bridge || n.bridge != NetworkConfig::default().bridge {
            return Ok(n.bridge.clone());
        }
        if let Some(b) = self.bridge_name.get() {
            return Ok(b.clone());
        }
        let path = self.network_dir().join("bridge-name");
        let chosen = match std::fs::read_to_string(&path) {
            Ok(b) if !b.trim().is_empty() => b.trim().to_string(),
            _ => {
                std::fs::create_dir_all(self.network_dir())
                    .map_err(|e| Error::io("create", self.network_dir(), e))?;
                let _g = LockGuard::lock(&self.network_dir().join("bridge.lock"))?;
                let mine = self.bridge_mark();
                let taken = match libnet::link::link_alias(&n.bridge)? {
                    Some(Some(other)) if other != mine => other
                        .strip_prefix("ministry:")
                        .is_some_and(|root| std::path::Path::new(root).exists()),
                    _ => false,
                };
                let name = if taken {
                    use sha2::Digest as _;
                    let h = sha2::Sha256::digest(self.config.root.as_os_str().as_encoded_bytes());
                    format!("mst-{}", &hex::encode(h)[..8])
                } else {
                    n.bridge.clone()
                };
                libimage::fsutil::write_atomic(&path, name.as_bytes())?;
                let _ = self.bridge_claim.set(true);
                name
            }
        };
        Ok(self.bridge_name.get_or_init(|| chosen).clone())
    }

    /// Whether this process chose the default bridge and has not marked it yet.
    fn bridge_claim_pending(&self) -> bool {
        self.bridge_claim.get() == Some(&true) && self.bridge_marked.get().is_none()
    }

    /// Marks the default bridge as this engine's (its alias names our data root).
    fn mark_bridge(&self, name: &str) -> Result<(), Error> {
        libnet::link::set_link_alias(name, &self.bridge_mark())?;
        let _ = self.bridge_marked.set(());
        Ok(())
    }

    /// The default bridge: its subnet from `--bip`, else the one chosen before (kept in
    /// `<root>/network/bridge.json`), else a new choice overlapping no host route and no
    /// user-defined network.
    pub(crate) fn bridge_spec(&self) -> Result<BridgeSpec, Error> {
        let cfg = &self.config.network;
        if cfg.existing_bridge && cfg.bip.is_none() {
            let (ip, prefix) = libnet::link::ipv4_address(&cfg.bridge)?.ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "bridge device with non default name {} must be created manually (with an IPv4 address)",
                    cfg.bridge
                ))
            })?;
            let mut spec = BridgeSpec::new(
                cfg.bridge.clone(),
                Subnet::parse(&format!("{ip}/{prefix}"))?,
                cfg.mtu,
            );
            spec.gateway = ip;
            return Ok(spec);
        }
        let subnet = match &cfg.bip {
            Some(b) => Subnet::parse(b)?,
            None => {
                let path = self.network_dir().join("bridge.json");
                let read = || {
                    std::fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<Subnet>(&b).ok())
                };
                match read() {
                    Some(s) => s,
                    None => {
                        std::fs::create_dir_all(self.network_dir())
                            .map_err(|e| Error::io("create", self.network_dir(), e))?;
                        let _g = LockGuard::lock(&self.network_dir().join("bridge.lock"))?;
                        match read() {
                            Some(s) => s,
                            None => {
                                let mut used = libnet::subnet::host_routes()?;
                                used.extend(
                                    self.network_store().list()?.iter().filter_map(|r| r.subnet),
                                );
                                let s = libnet::subnet::pick_subnet(&used)?;
                                let data = serde_json::to_vec(&s)
                                    .map_err(|e| Error::InvalidConfig(e.to_string()))?;
                                libimage::fsutil::write_atomic(&path, &data)?;
                                s
                            }
                        }
                    }
                }
            }
        };
        // `--bip 172.30.0.5/16` makes .5 the bridge's address, as Docker does.
        let mut spec = BridgeSpec::new(self.default_bridge()?, subnet, cfg.mtu);
        if let Some(ip) = cfg
            .bip
            .as_deref()
            .and_then(|b| b.split_once('/'))
            .and_then(|(a, _)| a.parse::<Ipv4Addr>().ok())
        {
            if ip != subnet.network {
                spec.gateway = ip;
            }
        }
        Ok(spec)
    }

    /// The bridge network called `name` (`bridge` is the default one).
    pub(crate) fn net(&self, name: &str) -> Result<Net, Error> {
        let rec = self
            .network_store()
            .find(if is_default(name) { "bridge" } else { name })?
            .ok_or_else(|| Error::NoSuchNetwork(name.to_string()))?;
        if rec.name == "bridge" {
            return Ok(Net {
                spec: self.bridge_spec()?,
                id: rec.id,
                user_defined: false,
            });
        }
        let subnet = match (rec.driver.as_str(), rec.subnet) {
            ("bridge", Some(s)) => s,
            _ => {
                return Err(Error::InvalidConfig(format!(
                    "network {} is not a bridge network",
                    rec.name
                )))
            }
        };
        let mtu = match rec.options.get("com.docker.network.driver.mtu") {
            Some(m) => m
                .parse()
                .map_err(|_| Error::InvalidConfig(format!("invalid MTU {m:?}")))?,
            None => self.config.network.mtu,
        };
        let mut spec = BridgeSpec::new(rec.bridge.clone(), subnet, mtu);
        if let Some(g) = rec.gateway {
            spec.gateway = g;
        }
        Ok(Net {
            spec,
            id: rec.id,
            user_defined: true,
        })
    }

    pub(crate) fn ipam(&self, spec: &BridgeSpec) -> libnet::ipam::Ipam {
        let ipam = libnet::ipam::Ipam::new(
            self.network_dir()
                .join(format!("{}.leases.json", spec.name)),
            spec.subnet,
        )
        .with_gateway(spec.gateway);
        match self.config.network.fixed_cidr {
            Some(r) if self.default_bridge().is_ok_and(|b| spec.name == b) => ipam.with_range(r),
            _ => ipam,
        }
    }

    /// The rule options of a bridge: the daemon's, `--icc` for the default bridge only.
    fn rule_options(&self, spec: &BridgeSpec) -> libnet::nat::RuleOptions {
        let n = &self.config.network;
        libnet::nat::RuleOptions {
            ip_forward: n.ip_forward,
            masquerade: n.ip_masq,
            icc: n.icc || self.default_bridge().map_or(true, |b| spec.name != b),
        }
    }

    /// Serializes the wiring of networks across processes, so a reconcile never frees what
    /// another process is attaching.
    fn network_lock(&self) -> Result<LockGuard, Error> {
        std::fs::create_dir_all(self.network_dir())
            .map_err(|e| Error::io("create", self.network_dir(), e))?;
        Ok(LockGuard::lock(&self.network_dir().join("attach.lock"))?)
    }

    /// The names of the networks a container is on (`ps`'s NETWORKS), its primary first:
    /// `bridge`, a user-defined network, `host` or `none`.
    pub fn network_names(c: &ContainerRecord) -> Vec<String> {
        match c.network_mode.as_str() {
            "host" | "none" => vec![c.network_mode.clone()],
            m if m.starts_with("container:") => Vec::new(),
            _ => Self::endpoints(c).into_iter().map(|(n, _)| n).collect(),
        }
    }

    /// The networks a container is on, its primary one first: `(name, state)`.
    pub(crate) fn endpoints(c: &ContainerRecord) -> Vec<(String, NetworkState)> {
        let mut v = Vec::new();
        if is_bridged(&c.network_mode) {
            let name = if is_default(&c.network_mode) {
                "bridge".to_string()
            } else {
                c.network_mode.clone()
            };
            v.push((name, c.network.clone()));
        }
        v.extend(c.extra_networks.iter().map(|(k, s)| (k.clone(), s.clone())));
        v
    }

    /// Wires a created container's network namespace (its init is `pid`) before start:
    /// every network it is on, then its `/etc/hosts` and those of the containers that
    /// should now see it.
    pub(crate) fn attach_network(&self, c: &mut ContainerRecord, pid: u32) -> Result<(), Error> {
        let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
        if c.network_mode == "none" {
            return Ok(libnet::link::loopback_up(&netns)?);
        }
        let eps = Self::endpoints(c);
        if eps.is_empty() {
            return Ok(());
        }
        let _g = self.network_lock()?;
        self.reconcile_network()?;
        for (i, (name, _)) in eps.iter().enumerate() {
            let st = self.attach_endpoint(c, &netns, name, i)?;
            if i == 0 && is_bridged(&c.network_mode) {
                c.network = st;
            } else {
                c.extra_networks.insert(name.clone(), st);
            }
        }
        let (network, extra) = (c.network.clone(), c.extra_networks.clone());
        self.update_record(&c.id, |r| {
            r.network = network;
            r.extra_networks.extend(extra);
            Ok(())
        })?;
        self.link_rules(c)?;
        drop(_g);
        self.refresh_hosts(c)
    }

    /// Wires the networks a created container was connected to after it was created
    /// (`network connect` before its first start: recorded, wired now).
    pub(crate) fn attach_pending_networks(
        &self,
        c: &ContainerRecord,
        pid: u32,
    ) -> Result<(), Error> {
        let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let eps = Self::endpoints(c);
        let pending: Vec<(usize, String)> = eps
            .iter()
            .enumerate()
            .filter(|(_, (name, st))| {
                st.ip_address.is_none() && c.extra_networks.contains_key(name)
            })
            .map(|(i, (name, _))| (i, name.clone()))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let _g = self.network_lock()?;
        let mut wired = Vec::new();
        for (i, name) in pending {
            wired.push((name.clone(), self.attach_endpoint(c, &netns, &name, i)?));
        }
        let mut c2 = c.clone();
        self.update_record(&c.id, |r| {
            for (name, st) in &wired {
                r.extra_networks.insert(name.clone(), st.clone());
            }
            Ok(())
        })?;
        for (name, st) in wired {
            c2.extra_networks.insert(name, st);
        }
        drop(_g);
        self.refresh_hosts(&c2)
    }

    /// With `--icc=false`: the rules letting `c` reach its links' exposed ports (replaced
    /// whenever either side gets a new address).
    fn link_rules(&self, c: &ContainerRecord) -> Result<(), Error> {
        let n = &self.config.network;
        if n.icc || !n.iptables {
            return Ok(());
        }
        libnet::nat::remove_links(&c.id)?;
        let Some(me) = c.network.ip_address else {
            return Ok(());
        };
        for l in &c.links {
            let (target, _) = parse_record_link(l);
            let Ok(t) = self.container(&target) else {
                continue;
            };
            if let Some(ip) = t.network.ip_address {
                let ports: Vec<String> = t
                    .config
                    .exposed_ports
                    .clone()
                    .unwrap_or_default()
                    .into_keys()
                    .collect();
                libnet::nat::allow_link(&c.id, me, ip, &ports)?;
            }
        }
        Ok(())
    }

    /// Connects one network: lease, veth (`eth<index>`), and for the primary network the
    /// published ports.
    fn attach_endpoint(
        &self,
        c: &ContainerRecord,
        netns: &std::path::Path,
        name: &str,
        index: usize,
    ) -> Result<NetworkState, Error> {
        let net = self.net(name)?;
        let spec = &net.spec;
        let ncfg = &self.config.network;
        if !(ncfg.existing_bridge && spec.name == ncfg.bridge) {
            libnet::link::ensure_bridge(spec)?;
        }
        if !net.user_defined && !ncfg.existing_bridge && self.bridge_claim_pending() {
            self.mark_bridge(&spec.name)?;
        }
        if ncfg.iptables {
            self.ensure_rules(spec)?;
        }
        let ip = self.ipam(spec).allocate(&c.id)?;
        let mac = libnet::ipam::mac_for(ip);
        let host_if = host_if(&c.id, index);
        // A restarted container's old veth goes with its old namespace, asynchronously.
        libnet::link::delete_link(&host_if)?;
        libnet::link::connect_container(
            spec,
            netns,
            &host_if,
            &format!("eth{index}"),
            ip,
            mac,
            index == 0,
        )?;
        let primary = index == 0 && is_bridged(&c.network_mode);
        let mut ports = Vec::new();
        if primary {
            if !c.publish.is_empty() && !ncfg.iptables {
                return Err(Error::InvalidConfig(
                    "published ports need ministry's nftables rules, which --iptables=false turns off"
                        .into(),
                ));
            }
            for p in &c.publish {
                let mut p = p.clone();
                if p.host_ip.is_none() {
                    p.host_ip = ncfg.default_host_ip;
                }
                if p.host_port == 0 {
                    p.host_port = libnet::nat::free_port(&p.proto)?;
                }
                ports.push(p);
            }
            if !ports.is_empty() {
                // Rules of an earlier start (none for a new container: a crash's leftovers
                // were reconciled above) go first.
                let earlier = !c.network.ports.is_empty();
                self.own_rule_change(|| {
                    if earlier {
                        libnet::nat::unpublish_ports(&c.id, &c.network.ports)?;
                    }
                    libnet::nat::publish(&c.id, ip, &ports)
                })?;
            }
        }
        let aliases = if primary {
            c.network.aliases.clone()
        } else {
            c.extra_networks
                .get(name)
                .map(|s| s.aliases.clone())
                .unwrap_or_default()
        };
        Ok(NetworkState {
            ip_address: Some(ip),
            gateway: Some(spec.gateway),
            ip_prefix_len: spec.subnet.prefix,
            mac_address: libnet::ipam::mac_text(&mac),
            host_interface: host_if,
            ports,
            network_id: net.id,
            aliases,
        })
    }

    /// Makes sure bridge `spec`'s rules are in place. The kernel's ruleset generation,
    /// recorded with the bridges checked at it (`<root>/network/rules.json`), spares the
    /// `nft` run while nothing changed the ruleset. Called under the network lock.
    fn ensure_rules(&self, spec: &BridgeSpec) -> Result<(), Error> {
        let o = self.rule_options(spec);
        let key = format!(
            "{} {} masq={} icc={}",
            spec.name, spec.subnet, o.masquerade, o.icc
        );
        let mut cache = self.rules_cache();
        let now = libnet::nat::generation();
        if now.is_some() && cache.generation == now && cache.bridges.contains(&key) {
            return Ok(libnet::nat::bridge_sysctls(spec, o)?);
        }
        libnet::nat::ensure_bridge_rules(spec, o)?;
        if cache.generation != now {
            cache.bridges.clear();
        }
        // What other bridges had is only known still true if nothing but us changed it.
        let after = libnet::nat::generation();
        if after != now && after != now.map(|g| g.wrapping_add(1)) {
            cache.bridges.clear();
        }
        cache
            .bridges
            .retain(|b| !b.starts_with(&format!("{} ", spec.name)));
        cache.bridges.push(key);
        cache.generation = after;
        self.save_rules_cache(&cache)
    }

    /// Runs a change of ministry's own rules (`f`, one `nft` transaction), keeping the
    /// generation cache valid when nobody else changed the ruleset meanwhile.
    fn own_rule_change(&self, f: impl FnOnce() -> libnet::Result<()>) -> Result<(), Error> {
        let before = libnet::nat::generation();
        f()?;
        self.note_own_change(before)
    }

    /// The generation bookkeeping of [`Engine::own_rule_change`], for a change made since
    /// the generation was `before`.
    fn note_own_change(&self, before: Option<u32>) -> Result<(), Error> {
        let after = libnet::nat::generation();
        let mut cache = self.rules_cache();
        if cache.generation.is_some() && cache.generation == before {
            // One transaction or none (an unpublish with nothing to delete).
            if after == before || after == before.map(|g| g.wrapping_add(1)) {
                cache.generation = after;
                return self.save_rules_cache(&cache);
            }
        }
        if cache.generation.is_some() {
            return self.save_rules_cache(&RulesCache::default());
        }
        Ok(())
    }

    fn rules_cache(&self) -> RulesCache {
        std::fs::read(self.network_dir().join("rules.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_rules_cache(&self, c: &RulesCache) -> Result<(), Error> {
        let data = serde_json::to_vec(c).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        // A cache: a lost write only costs an `nft` run, so no fsync.
        let path = self.network_dir().join("rules.json");
        Ok(libimage::fsutil::replace_file(&path, &data)?)
    }

    /// Connects a container to one more network (`network connect`): recorded, and wired
    /// now if it runs.
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> Result<(), Error> {
        let net = self.net(network)?;
        let mut c = self.container(container)?;
        let rec_name = self
            .network_store()
            .find(&net.id)?
            .map(|r| r.name)
            .unwrap_or_else(|| network.to_string());
        if !is_bridged(&c.network_mode) {
            return Err(Error::Conflict(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            ));
        }
        if Self::endpoints(&c).iter().any(|(n, _)| *n == rec_name) {
            return Err(Error::Conflict(format!(
                "endpoint with name {} already exists in network {rec_name}",
                c.name
            )));
        }
        if !aliases.is_empty() && !net.user_defined {
            return Err(Error::InvalidConfig(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
        c.extra_networks.insert(
            rec_name.clone(),
            NetworkState {
                network_id: net.id.clone(),
                aliases: aliases.to_vec(),
                ..Default::default()
            },
        );
        let running = self
            .runtime
            .get(&c.id)
            .and_then(|r| r.state())
            .ok()
            .filter(|s| s.status == libruntime::Status::Running);
        // A running container is wired now; a stopped one when it starts.
        let guard = match &running {
            Some(_) => Some(self.network_lock()?),
            None => None,
        };
        if let Some(st) = &running {
            let netns = PathBuf::from(format!("/proc/{}/ns/net", st.pid));
            let index = Self::endpoints(&c).len() - 1;
            match self.attach_endpoint(&c, &netns, &rec_name, index) {
                Ok(ep) => {
                    c.extra_networks.insert(rec_name.clone(), ep);
                }
                Err(e) => {
                    let _ = self.ipam(&net.spec).release(&c.id);
                    return Err(e);
                }
            }
        }
        let ep = c.extra_networks[&rec_name].clone();
        self.update_record(&c.id, |r| {
            r.extra_networks.insert(rec_name.clone(), ep);
            Ok(())
        })?;
        drop(guard);
        self.object_event(
            super::EventType::Network,
            "connect",
            &net.id,
            &[
                ("container", &c.id),
                ("name", &rec_name),
                ("type", "bridge"),
            ],
        );
        if running.is_some() {
            return self.refresh_hosts(&c);
        }
        Ok(())
    }

    /// Disconnects a container from a network it was connected to with `network connect`.
    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<(), Error> {
        let net = self.net(network)?;
        let mut c = self.container(container)?;
        let Some(name) = c
            .extra_networks
            .iter()
            .find(|(_, s)| s.network_id == net.id)
            .map(|(k, _)| k.clone())
        else {
            let primary = Self::endpoints(&c)
                .first()
                .is_some_and(|(_, s)| s.network_id == net.id || network == c.network_mode);
            return Err(Error::Conflict(if primary {
                format!(
                    "container {} is on {network} as its primary network (--network), which ministry cannot disconnect; remove and re-create it",
                    c.name
                )
            } else {
                format!("container {} is not connected to network {network}", c.id)
            }));
        };
        let st = c.extra_networks.remove(&name).unwrap_or_default();
        {
            let _g = self.network_lock()?;
            if !st.host_interface.is_empty() {
                libnet::link::delete_link(&st.host_interface)?;
            }
            self.ipam(&net.spec).release(&c.id)?;
            self.update_record(&c.id, |r| {
                r.extra_networks.remove(&name);
                Ok(())
            })?;
        }
        self.refresh_hosts(&c)?;
        self.object_event(
            super::EventType::Network,
            "disconnect",
            &net.id,
            &[("container", &c.id), ("name", &name), ("type", "bridge")],
        );
        // The peers it left no longer list it.
        for p in self.containers()? {
            if p.id != c.id && Self::endpoints(&p).iter().any(|(n, _)| *n == name) {
                self.write_hosts(&p, None)?;
            }
        }
        Ok(())
    }

    /// Frees what containers that no longer run still hold: the leases, port rules and
    /// veths of containers removed behind the engine's back (`kill -9` between wiring and
    /// recording) and of exited ones (Docker releases an address at stop).
    fn reconcile_network(&self) -> Result<(), Error> {
        let mut specs = vec![self.bridge_spec()?];
        for r in self.network_store().list()? {
            if r.subnet.is_some() {
                specs.extend(self.net(&r.name).ok().map(|n| n.spec));
            }
        }
        let live = |id: &str| -> bool {
            if id.is_empty() {
                return true;
            }
            if !self.container_dir(id).join("config.v2.json").exists() {
                return false;
            }
            match self.runtime.get(id).and_then(|r| r.state()) {
                Ok(s) => s.status != libruntime::Status::Stopped,
                // Between create steps (no runtime state yet, or being re-created).
                Err(_) => true,
            }
        };
        for spec in specs {
            if !self
                .network_dir()
                .join(format!("{}.leases.json", spec.name))
                .exists()
            {
                continue;
            }
            for gone in self.ipam(&spec).retain(live)? {
                libnet::nat::unpublish(&gone)?;
                if !self.config.network.icc {
                    libnet::nat::remove_links(&gone)?;
                }
                for i in 0..8 {
                    libnet::link::delete_link(&host_if(&gone, i))?;
                }
            }
        }
        Ok(())
    }

    /// Starts removing a container's published ports (the kernel's commit of a deletion
    /// takes a grace period; removal does other work meanwhile). Finished by
    /// [`Engine::detach_network`].
    pub(crate) fn begin_unpublish(
        &self,
        c: &ContainerRecord,
    ) -> Result<Option<PendingPorts>, Error> {
        if c.network.ports.is_empty() || !self.config.network.iptables {
            return Ok(None);
        }
        let before = libnet::nat::generation();
        let pending = libnet::nat::start_unpublish_ports(&c.id, &c.network.ports)?;
        Ok(Some(PendingPorts { before, pending }))
    }

    /// Undoes [`Engine::attach_network`] for a container being removed: its port rules
    /// (finishing `pending` when [`Engine::begin_unpublish`] started it), its address
    /// leases; the peers' hosts files forget it.
    pub(crate) fn detach_network(
        &self,
        c: &ContainerRecord,
        pending: Option<PendingPorts>,
    ) -> Result<(), Error> {
        let eps = Self::endpoints(c);
        if eps.iter().all(|(_, s)| s.ip_address.is_none()) {
            return Ok(());
        }
        {
            let _g = self.network_lock()?;
            match pending {
                Some(p) => {
                    p.pending.finish()?;
                    self.note_own_change(p.before)?;
                }
                None if !c.network.ports.is_empty() && self.config.network.iptables => {
                    self.own_rule_change(|| libnet::nat::unpublish_ports(&c.id, &c.network.ports))?;
                }
                None => {}
            }
            if !self.config.network.icc && !c.links.is_empty() {
                libnet::nat::remove_links(&c.id)?;
            }
            // Its veths went with its network namespace (its processes are gone): the
            // kernel deletes a veth pair when either end's namespace dies, so deleting
            // them here would only wait on the kernel. A namespace still held (by a
            // `container:` joiner) keeps its veth for that joiner, as it should.
            for (name, _) in &eps {
                if let Ok(net) = self.net(name) {
                    self.ipam(&net.spec).release(&c.id)?;
                }
            }
        }
        self.refresh_peers(c)
    }

    /// Rewrites `c`'s own `/etc/hosts`, then those of the running containers that link to
    /// it or share a user-defined network with it.
    /// [`Engine::refresh_hosts`] for a container about to start, if it is on a
    /// user-defined network (the only ones whose hosts files list peers).
    pub(crate) fn refresh_user_network_hosts(&self, id: &str) -> Result<(), Error> {
        let c = self.record_by_id(id)?;
        if Self::endpoints(&c).iter().any(|(n, _)| !is_default(n)) {
            self.refresh_hosts(&c)?;
        }
        Ok(())
    }

    pub(crate) fn refresh_hosts(&self, c: &ContainerRecord) -> Result<(), Error> {
        self.write_hosts(c, None)?;
        self.refresh_peers(c)
    }

    fn refresh_peers(&self, c: &ContainerRecord) -> Result<(), Error> {
        let mine: Vec<String> = Self::endpoints(c).into_iter().map(|(n, _)| n).collect();
        for p in self.containers()? {
            if p.id == c.id || !self.is_live_id(&p.id) {
                continue;
            }
            let links_to_c = p.links.iter().any(|l| link_target(l) == c.name);
            let shares = Self::endpoints(&p)
                .iter()
                .any(|(n, _)| !is_default(n) && mine.contains(n));
            if links_to_c || shares {
                // `c` may not run yet (attached between create and start): it counts.
                self.write_hosts(&p, Some(&c.id))?;
                if links_to_c {
                    self.link_rules(&p)?;
                }
            }
        }
        Ok(())
    }

    /// `c`'s `/etc/hosts`: the base written at create (localhost lines, `--add-host`), its
    /// links' targets, its own address, then the running peers on its user-defined
    /// networks by name, aliases and short ID. Written in place: the container has the
    /// file bind-mounted.
    pub(crate) fn write_hosts(
        &self,
        c: &ContainerRecord,
        starting: Option<&str>,
    ) -> Result<(), Error> {
        let dir = self.container_dir(&c.id);
        let path = dir.join("hosts");
        let Ok(mut text) = std::fs::read_to_string(dir.join("hosts.base")) else {
            return Ok(()); // the user mounted their own /etc/hosts
        };
        let all = self.containers()?;
        for l in &c.links {
            let (target, alias) = parse_record_link(l);
            if let Some(t) = all.iter().find(|t| t.name == target) {
                if let Some((_, st)) = Self::endpoints(t)
                    .into_iter()
                    .find(|(_, s)| s.ip_address.is_some())
                {
                    text += &libnet::links::hosts_line(
                        st.ip_address.expect("checked"),
                        &alias,
                        &t.id,
                        &t.name,
                    );
                }
            }
        }
        let eps = Self::endpoints(c);
        if let Some(ip) = eps.first().and_then(|(_, s)| s.ip_address) {
            text += &format!("{ip}\t{}\n", c.config.hostname);
        }
        let user_nets: BTreeMap<&str, ()> = eps
            .iter()
            .filter(|(n, _)| !is_default(n))
            .map(|(n, _)| (n.as_str(), ()))
            .collect();
        if !user_nets.is_empty() {
            for p in &all {
                if p.id == c.id || (Some(p.id.as_str()) != starting && !self.is_live_id(&p.id)) {
                    continue;
                }
                for (n, st) in Self::endpoints(p) {
                    if let (true, Some(ip)) = (user_nets.contains_key(n.as_str()), st.ip_address) {
                        let mut names = vec![p.name.clone()];
                        names.extend(st.aliases.iter().cloned());
                        names.push(p.id[..12].to_string());
                        text += &format!("{ip}\t{}\n", names.join(" "));
                    }
                }
            }
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| Error::io("write", &path, e))
    }
}

impl Engine {
    /// Removes a link (`rm -l /name/alias`): the variables stay, as in Docker, but the
    /// hosts entry goes.
    pub fn remove_link(&self, link: &str) -> Result<(), Error> {
        let l = link.trim_start_matches('/');
        let (parent, alias) = l.rsplit_once('/').ok_or_else(|| {
            Error::InvalidConfig(format!(
                "Conflict, cannot remove the default link name: {link}"
            ))
        })?;
        let mut c = self.container(parent)?;
        let before = c.links.len();
        c.links.retain(|x| parse_record_link(x).1 != alias);
        if c.links.len() == before {
            return Err(Error::InvalidConfig(format!(
                "Could not find entity for {link}"
            )));
        }
        let links = c.links.clone();
        self.update_record(&c.id, |r| {
            r.links = links;
            Ok(())
        })?;
        self.write_hosts(&c, None)
    }
}

/// The host end of a container's veth on its `index`-th network (at most 15 bytes).
fn host_if(id: &str, index: usize) -> String {
    if index == 0 {
        format!("veth{}", &id[..8.min(id.len())])
    } else {
        format!("veth{}.{index}", &id[..8.min(id.len())])
    }
}

/// The target's name in a recorded link (`/target:/name/alias`).
pub(crate) fn link_target(l: &str) -> &str {
    l.split(':').next().unwrap_or("").trim_start_matches('/')
}

/// `(target, alias)` of a recorded link (`/target:/name/alias`).
pub fn parse_record_link(l: &str) -> (String, String) {
    let (t, rest) = l.split_once(':').unwrap_or((l, l));
    (
        t.trim_start_matches('/').to_string(),
        rest.rsplit('/').next().unwrap_or(rest).to_string(),
    )
}
