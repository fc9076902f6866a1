//! User-defined networks (`network create`, `ls`, `rm`, `prune`) over libnet's records: a
//! network's bridge is created when its first container attaches and removed with it.

use std::collections::BTreeMap;

use libnet::store::{NetworkRecord, NewNetwork};

use super::containers::ContainerRecord;
use super::{Engine, Error};

impl Engine {
    /// Creates a bridge network; its subnet overlaps no host route, no other network and
    /// not the default bridge.
    pub fn create_network(&self, req: &NewNetwork) -> Result<NetworkRecord, Error> {
        let mut used = libnet::subnet::host_routes()?;
        used.push(self.bridge_spec()?.subnet);
        let r = self.network_store().create(req, &used)?;
        self.object_event(
            super::EventType::Network,
            "create",
            &r.id,
            &[("name", &r.name), ("type", "bridge")],
        );
        Ok(r)
    }

    /// Every network, sorted by name (the predefined `bridge`, `host`, `none` included).
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, Error> {
        let mut all = self.network_store().list()?;
        for r in &mut all {
            if r.name == "bridge" {
                let spec = self.bridge_spec()?;
                r.subnet = Some(spec.subnet);
                r.gateway = Some(spec.gateway);
                r.bridge = spec.name;
            }
        }
        Ok(all)
    }

    /// A network by name, ID or unique ID prefix.
    pub fn network(&self, name: &str) -> Result<NetworkRecord, Error> {
        let r = self
            .network_store()
            .find(name)?
            .ok_or_else(|| Error::NoSuchNetwork(name.to_string()))?;
        Ok(self
            .networks()?
            .into_iter()
            .find(|x| x.id == r.id)
            .unwrap_or(r))
    }

    /// The containers on a network (any state), with what they got on it.
    pub fn network_containers(
        &self,
        r: &NetworkRecord,
    ) -> Result<Vec<(ContainerRecord, super::NetworkState)>, Error> {
        let mut out = Vec::new();
        for c in self.containers()? {
            let on = match r.name.as_str() {
                "host" | "none" => (c.network_mode == r.name).then(|| c.network.clone()),
                _ => Self::endpoints(&c)
                    .into_iter()
                    .find(|(n, s)| *n == r.name || s.network_id == r.id)
                    .map(|(_, s)| s),
            };
            if let Some(s) = on {
                out.push((c, s));
            }
        }
        Ok(out)
    }

    /// Removes a user-defined network no container is on: its bridge, its rules, its
    /// leases, its record.
    pub fn remove_network(&self, name: &str) -> Result<NetworkRecord, Error> {
        let r = self.network(name)?;
        if r.is_predefined() {
            return Err(Error::Conflict(format!(
                "{} is a pre-defined network and cannot be removed",
                r.name
            )));
        }
        if !self.network_containers(&r)?.is_empty() {
            return Err(Error::Conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                r.name, r.id
            )));
        }
        libnet::link::delete_link(&r.bridge)?;
        libnet::nat::remove_bridge_rules(&r.bridge)?;
        let dir = self.config.root.join("network");
        for ext in ["leases.json", "leases.lock"] {
            let p = dir.join(format!("{}.{ext}", r.bridge));
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("remove", &p, e))
                }
                _ => {}
            }
        }
        self.network_store().remove(&r)?;
        self.object_event(
            super::EventType::Network,
            "destroy",
            &r.id,
            &[("name", &r.name), ("type", "bridge")],
        );
        Ok(r)
    }

    /// Removes every user-defined network no container is on; returns their names.
    pub fn prune_networks(&self) -> Result<Vec<String>, Error> {
        let mut gone = Vec::new();
        for r in self.networks()? {
            if !r.is_predefined() && self.network_containers(&r)?.is_empty() {
                self.remove_network(&r.id)?;
                gone.push(r.name);
            }
        }
        Ok(gone)
    }
}

/// `GET /networks/{id}` (`docker network inspect`), in Docker's shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInspect {
    /// The name.
    pub name: String,
    /// The ID.
    pub id: String,
    /// When it was created (RFC 3339).
    pub created: String,
    /// `local`.
    pub scope: String,
    /// `bridge`, `host`, `null`.
    pub driver: String,
    /// No IPv6.
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    /// Its addresses.
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    /// Not internal.
    pub internal: bool,
    /// Not attachable.
    pub attachable: bool,
    /// Not an ingress.
    pub ingress: bool,
    /// `{"Network": ""}`.
    pub config_from: ConfigFrom,
    /// Not config-only.
    pub config_only: bool,
    /// Its running members, by container ID.
    pub containers: BTreeMap<String, NetworkMember>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// `IPAM`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    /// `default`.
    pub driver: String,
    /// None.
    pub options: BTreeMap<String, String>,
    /// The subnet and gateway.
    pub config: Vec<IpamConfig>,
}

/// One `IPAM.Config` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    /// The subnet.
    pub subnet: String,
    /// The gateway (left out when none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gateway: Option<String>,
}

/// `ConfigFrom`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigFrom {
    /// Empty.
    pub network: String,
}

/// One `Containers` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkMember {
    /// The container's name.
    pub name: String,
    /// Empty.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// Its MAC address.
    pub mac_address: String,
    /// `address/prefix`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// Empty.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

impl Engine {
    /// The networks passing Docker's `network ls` filters (`name`, `id`, `driver`,
    /// `label`, `type`, `scope`), refusing unknown ones as Docker does.
    pub fn list_networks(&self, filters: &[String]) -> Result<Vec<NetworkRecord>, Error> {
        let mut parsed = Vec::new();
        for f in filters {
            let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
            if !matches!(k, "name" | "id" | "driver" | "label" | "type" | "scope") {
                return Err(Error::InvalidConfig(format!("Invalid filter '{k}'")));
            }
            parsed.push((k, v));
        }
        Ok(self
            .networks()?
            .into_iter()
            .filter(|r| {
                parsed.iter().all(|(k, v)| match *k {
                    "name" => r.name.contains(v),
                    "id" => r.id.starts_with(v),
                    "driver" => r.driver == *v,
                    "scope" => *v == "local",
                    "type" => match *v {
                        "custom" => !r.is_predefined(),
                        "builtin" => r.is_predefined(),
                        _ => false,
                    },
                    _ => match v.split_once('=') {
                        Some((lk, lv)) => r.labels.get(lk).is_some_and(|x| x == lv),
                        None => r.labels.contains_key(*v),
                    },
                })
            })
            .collect())
    }

    /// A network's `inspect` (by name, ID or unique ID prefix).
    pub fn inspect_network(&self, name: &str) -> Result<NetworkInspect, Error> {
        let r = self.network(name)?;
        self.inspect_network_record(&r)
    }

    /// [`Engine::inspect_network`] of a record already looked up.
    pub fn inspect_network_record(&self, r: &NetworkRecord) -> Result<NetworkInspect, Error> {
        let mut containers = BTreeMap::new();
        for (c, st) in self.network_containers(r)? {
            let Some(ip) = st.ip_address else { continue };
            containers.insert(
                c.id.clone(),
                NetworkMember {
                    name: c.name.clone(),
                    endpoint_id: String::new(),
                    mac_address: st.mac_address.clone(),
                    ipv4_address: format!("{ip}/{}", st.ip_prefix_len),
                    ipv6_address: String::new(),
                },
            );
        }
        let mut options = r.options.clone();
        if r.name == "bridge" {
            options.insert(
                "com.docker.network.bridge.default_bridge".into(),
                "true".into(),
            );
            options.insert("com.docker.network.bridge.name".into(), r.bridge.clone());
        }
        Ok(NetworkInspect {
            name: r.name.clone(),
            id: r.id.clone(),
            created: r.created.clone(),
            scope: "local".into(),
            driver: r.driver.clone(),
            enable_ipv6: false,
            ipam: Ipam {
                driver: "default".into(),
                options: BTreeMap::new(),
                config: r
                    .subnet
                    .map(|s| IpamConfig {
                        subnet: s.to_string(),
                        gateway: r.gateway.map(|g| g.to_string()),
                    })
                    .into_iter()
                    .collect(),
            },
            internal: false,
            attachable: false,
            ingress: false,
            config_from: ConfigFrom {
                network: String::new(),
            },
            config_only: false,
            containers,
            options,
            labels: r.labels.clone(),
        })
    }
}
