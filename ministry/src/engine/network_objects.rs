//! User-defined networks (`network create`, `ls`, `rm`, `prune`) over libnet's records: a
//! network's bridge is created when its first container attaches and removed with it.

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
