//! Address leases for one subnet, persisted in a JSON file under a lock, so concurrent
//! creates (several CLI processes) never get the same address.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use libimage::fsutil::{write_atomic, LockGuard};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::subnet::Subnet;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Leases {
    subnet: Option<Subnet>,
    /// Address -> owner (a container ID).
    leases: BTreeMap<Ipv4Addr, String>,
}

/// The leases of one network.
#[derive(Debug, Clone)]
pub struct Ipam {
    path: PathBuf,
    subnet: Subnet,
    gateway: Ipv4Addr,
    range: Option<Subnet>,
}

impl Ipam {
    /// The leases of `subnet`, kept in `path` (its lock beside it).
    pub fn new(path: impl Into<PathBuf>, subnet: Subnet) -> Self {
        Ipam {
            path: path.into(),
            subnet,
            gateway: subnet.gateway(),
            range: None,
        }
    }

    /// Hands out addresses from `range` only (`--fixed-cidr`, a part of the subnet).
    pub fn with_range(mut self, range: Subnet) -> Self {
        self.range = Some(range);
        self
    }

    /// Reserves `gateway` (a network's `--gateway`) instead of the subnet's first address.
    pub fn with_gateway(mut self, gateway: Ipv4Addr) -> Self {
        self.gateway = gateway;
        self
    }

    fn update<T>(&self, f: impl FnOnce(&mut Leases) -> Result<T>) -> Result<T> {
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
        }
        let _g = LockGuard::lock(&self.path.with_extension("lock"))?;
        let mut l: Leases = match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::Invalid(format!("{}: {e}", self.path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Leases::default(),
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        // A subnet change (a new --bip) drops leases outside it.
        if l.subnet != Some(self.subnet) {
            l.leases.retain(|ip, _| self.subnet.contains(*ip));
            l.subnet = Some(self.subnet);
        }
        let r = f(&mut l)?;
        let data = serde_json::to_vec_pretty(&l).map_err(|e| Error::Invalid(e.to_string()))?;
        write_atomic(&self.path, &data)?;
        Ok(r)
    }

    /// The address of `owner`: its existing lease, or the lowest free host address that is
    /// not the gateway.
    pub fn allocate(&self, owner: &str) -> Result<Ipv4Addr> {
        let (subnet, gw, range) = (self.subnet, self.gateway, self.range);
        self.update(|l| {
            if let Some((ip, _)) = l.leases.iter().find(|(_, o)| *o == owner) {
                return Ok(*ip);
            }
            let ip = (1..subnet.size() - 1)
                .map(|n| subnet.nth(n))
                .filter(|ip| range.is_none_or(|r| r.contains(*ip)))
                .find(|ip| *ip != gw && !l.leases.contains_key(ip))
                .ok_or_else(|| {
                    Error::Exhausted(format!("no available IPv4 addresses on network {subnet}"))
                })?;
            l.leases.insert(ip, owner.to_string());
            Ok(ip)
        })
    }

    /// Releases the lease of `owner` (no error if it has none).
    pub fn release(&self, owner: &str) -> Result<()> {
        self.update(|l| {
            l.leases.retain(|_, o| o != owner);
            Ok(())
        })
    }

    /// Every lease (address, owner).
    pub fn leases(&self) -> Result<Vec<(Ipv4Addr, String)>> {
        self.update(|l| Ok(l.leases.iter().map(|(a, o)| (*a, o.clone())).collect()))
    }

    /// Keeps only the leases whose owner `keep` accepts (reconciling after a crash);
    /// returns the owners dropped.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        self.update(|l| {
            let gone: Vec<String> = l.leases.values().filter(|o| !keep(o)).cloned().collect();
            l.leases.retain(|_, o| keep(o));
            Ok(gone)
        })
    }
}

/// Docker's MAC address for an IP: `02:42` followed by the address's four bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// A MAC address as text (`02:42:ac:11:00:02`).
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_unique_persisted_and_released() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Subnet::parse("10.9.0.0/29").unwrap();
        let ipam = Ipam::new(tmp.path().join("ipam/bridge.json"), s);
        let a = ipam.allocate("a").unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(ipam.allocate("a").unwrap(), a, "same owner, same address");
        let got: Vec<_> = std::thread::scope(|sc| {
            let hs: Vec<_> = ["b", "c", "d", "e"]
                .iter()
                .map(|o| {
                    let ipam = Ipam::new(tmp.path().join("ipam/bridge.json"), s);
                    sc.spawn(move || ipam.allocate(o).unwrap())
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut uniq = got.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 4, "{got:?}");
        // .2-.6 are the hosts of a /29 after the gateway: now full.
        assert_eq!(
            ipam.allocate("f").unwrap_err().kind(),
            crate::ErrorKind::Exhausted
        );
        ipam.release("c").unwrap();
        assert!(ipam.allocate("f").is_ok());
        assert_eq!(ipam.leases().unwrap().len(), 5);
        // A network whose gateway is its last host address hands out the first one.
        let g = Ipam::new(tmp.path().join("ipam/n2.json"), s).with_gateway(s.nth(6));
        assert_eq!(g.allocate("x").unwrap(), s.nth(1));
        for o in ["y", "z", "u", "v"] {
            assert_ne!(g.allocate(o).unwrap(), s.nth(6), "never the gateway");
        }
        assert_eq!(
            g.allocate("w").unwrap_err().kind(),
            crate::ErrorKind::Exhausted
        );
        // --fixed-cidr: only the upper half of a /28.
        let s16 = Subnet::parse("10.8.0.0/28").unwrap();
        let f = Ipam::new(tmp.path().join("ipam/f.json"), s16)
            .with_range(Subnet::parse("10.8.0.8/29").unwrap());
        assert_eq!(f.allocate("a").unwrap(), Ipv4Addr::new(10, 8, 0, 8));
        assert_eq!(f.allocate("b").unwrap(), Ipv4Addr::new(10, 8, 0, 9));
        assert_eq!(
            mac_text(&mac_for(Ipv4Addr::new(172, 17, 0, 2))),
            "02:42:ac:11:00:02"
        );
    }
}
