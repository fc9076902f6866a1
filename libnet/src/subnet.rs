//! IPv4 subnets, and Docker's choice of a bridge subnet that overlaps nothing the host
//! routes.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};

/// An IPv4 subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subnet {
    /// The network address.
    pub network: Ipv4Addr,
    /// The prefix length.
    pub prefix: u8,
}

impl Subnet {
    /// Parses `a.b.c.d/n` (host bits are cleared).
    pub fn parse(s: &str) -> Result<Subnet> {
        let bad = || Error::Invalid(format!("invalid subnet {s:?}"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let ip: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(Error::Invalid(format!(
                "subnet {s:?}: prefix must be 8 to 30"
            )));
        }
        Ok(Subnet {
            network: Ipv4Addr::from(u32::from(ip) & Self::mask_of(prefix)),
            prefix,
        })
    }

    fn mask_of(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        }
    }

    /// The netmask.
    pub fn mask(&self) -> u32 {
        Self::mask_of(self.prefix)
    }

    /// Whether `ip` is in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network)
    }

    /// Whether the two subnets share an address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let m = self.mask() & other.mask();
        u32::from(self.network) & m == u32::from(other.network) & m
    }

    /// The gateway: the first host address (`.1`), as Docker gives its bridge.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// The broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !self.mask())
    }

    /// The n-th address of the subnet.
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + n)
    }

    /// Number of addresses.
    pub fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The IPv4 routes of the calling thread's network namespace (`/proc/net/route`), as
/// subnets: every address the host reaches directly or routes specifically.
pub fn host_routes() -> Result<Vec<Subnet>> {
    let text = std::fs::read_to_string("/proc/thread-self/net/route")
        .map_err(|e| Error::io("read", "/proc/thread-self/net/route", e))?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dst), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
        else {
            continue;
        };
        // The kernel prints the network-order bytes as a native-endian number.
        let (dst, mask) = (
            u32::from_be_bytes(dst.to_ne_bytes()),
            u32::from_be_bytes(mask.to_ne_bytes()),
        );
        if mask == 0 {
            continue; // the default route overlaps everything and is no conflict
        }
        out.push(Subnet {
            network: Ipv4Addr::from(dst & mask),
            prefix: mask.count_ones() as u8,
        });
    }
    Ok(out)
}

/// Docker's candidates for the default bridge: 172.17-31.0.0/16, then 192.168.x.0/20.
pub fn candidates() -> Vec<Subnet> {
    let mut v: Vec<Subnet> = (17..=31)
        .map(|b| Subnet {
            network: Ipv4Addr::new(172, b, 0, 0),
            prefix: 16,
        })
        .collect();
    v.extend((0..=240).step_by(16).map(|c| Subnet {
        network: Ipv4Addr::new(192, 168, c, 0),
        prefix: 20,
    }));
    v
}

/// The first candidate that overlaps none of `used`.
pub fn pick_subnet(used: &[Subnet]) -> Result<Subnet> {
    candidates()
        .into_iter()
        .find(|c| !used.iter().any(|u| u.overlaps(c)))
        .ok_or_else(|| Error::Exhausted("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        let s = Subnet::parse("172.17.5.9/16").unwrap();
        assert_eq!(s.to_string(), "172.17.0.0/16");
        assert_eq!(s.gateway(), Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(s.broadcast(), Ipv4Addr::new(172, 17, 255, 255));
        assert!(s.contains(Ipv4Addr::new(172, 17, 200, 1)));
        assert!(!s.contains(Ipv4Addr::new(172, 18, 0, 1)));
        assert!(s.overlaps(&Subnet::parse("172.16.0.0/12").unwrap()));
        assert!(!s.overlaps(&Subnet::parse("172.18.0.0/16").unwrap()));
        assert!(Subnet::parse("10.0.0.0").is_err());
        assert!(Subnet::parse("10.0.0.0/31").is_err());
        let used = [
            Subnet::parse("172.17.0.0/16").unwrap(),
            Subnet::parse("172.18.3.0/24").unwrap(),
        ];
        assert_eq!(pick_subnet(&used).unwrap().to_string(), "172.19.0.0/16");
        assert!(!host_routes().unwrap().iter().any(|r| r.prefix == 0));
    }
}
