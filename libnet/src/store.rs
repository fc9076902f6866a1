//! Network records (`network create`, `ls`, `inspect`, `rm`): one JSON file per network in a
//! directory, changed only under one lock, so two concurrent creates never get the same name
//! or overlapping subnets. The predefined networks (`bridge`, `host`, `none`) are records too,
//! so they have stable IDs like Docker's.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use libimage::fsutil::{write_atomic, LockGuard};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::subnet::Subnet;

/// The names Docker reserves for its predefined networks.
pub const PREDEFINED: [(&str, &str); 3] =
    [("bridge", "bridge"), ("host", "host"), ("none", "null")];

/// A network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkRecord {
    /// Its name.
    pub name: String,
    /// 64 hex characters.
    pub id: String,
    /// Creation time (RFC 3339).
    pub created: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// Its subnet (user-defined bridges; the default bridge's lives in the engine's config).
    #[serde(default)]
    pub subnet: Option<Subnet>,
    /// Its gateway, when not the subnet's first address.
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    /// The Linux bridge (`br-<12 hex>` for user-defined networks).
    #[serde(default)]
    pub bridge: String,
    /// `--label` values.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `--opt` values.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl NetworkRecord {
    /// Whether it is one of Docker's predefined networks.
    pub fn is_predefined(&self) -> bool {
        PREDEFINED.iter().any(|(n, _)| *n == self.name)
    }

    /// Its gateway: the one asked for, else the subnet's first address.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.gateway.or(self.subnet.map(|s| s.gateway()))
    }
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewNetwork {
    /// The name.
    pub name: String,
    /// `--driver` (only `bridge` is supported).
    pub driver: String,
    /// `--subnet`; chosen from Docker's pools when absent.
    pub subnet: Option<String>,
    /// `--gateway`.
    pub gateway: Option<String>,
    /// `--label k=v`.
    pub labels: BTreeMap<String, String>,
    /// `--opt k=v`.
    pub options: BTreeMap<String, String>,
}

/// The network records of one engine.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
}

fn random_id() -> Result<String> {
    let mut b = [0u8; 32];
    // SAFETY: getrandom writes at most `b.len()` bytes into `b`.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(Error::io("getrandom", "", std::io::Error::last_os_error()));
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next().is_some_and(|f| f.is_ascii_alphanumeric())
        && c.all(|x| x.is_ascii_alphanumeric() || "_.-".contains(x))
}

impl NetworkStore {
    /// The records kept in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        NetworkStore { dir: dir.into() }
    }

    fn lock(&self) -> Result<LockGuard> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io("create", &self.dir, e))?;
        Ok(LockGuard::lock(&self.dir.join("networks.lock"))?)
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn read_all(&self) -> Result<Vec<NetworkRecord>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read", &self.dir, e)),
        };
        let mut out = Vec::new();
        for e in rd {
            let p = e.map_err(|e| Error::io("read", &self.dir, e))?.path();
            if p.extension().is_some_and(|x| x == "json") {
                // A file that does not parse is not a network (a stray or foreign file).
                if let Ok(r) = std::fs::read(&p)
                    .map_err(drop)
                    .and_then(|b| serde_json::from_slice::<NetworkRecord>(&b).map_err(drop))
                {
                    out.push(r);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn save(&self, r: &NetworkRecord) -> Result<()> {
        let data = serde_json::to_vec_pretty(r).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(write_atomic(&self.path(&r.id), &data)?)
    }

    /// Every network, the predefined ones first created if missing; sorted by name.
    pub fn list(&self) -> Result<Vec<NetworkRecord>> {
        let all = self.read_all()?;
        if PREDEFINED
            .iter()
            .all(|(n, _)| all.iter().any(|r| r.name == *n))
        {
            return Ok(all);
        }
        let _g = self.lock()?;
        let all = self.read_all()?;
        for (name, driver) in PREDEFINED {
            if !all.iter().any(|r| r.name == name) {
                self.save(&NetworkRecord {
                    name: name.into(),
                    id: random_id()?,
                    created: libimage::time::now(),
                    driver: driver.into(),
                    subnet: None,
                    gateway: None,
                    bridge: String::new(),
                    labels: BTreeMap::new(),
                    options: BTreeMap::new(),
                })?;
            }
        }
        self.read_all()
    }

    /// Finds a network by name, full ID or unique ID prefix (Docker's order).
    pub fn find(&self, name: &str) -> Result<Option<NetworkRecord>> {
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.name == name || r.id == name) {
            return Ok(Some(r.clone()));
        }
        let mut m = all
            .iter()
            .filter(|r| !name.is_empty() && r.id.starts_with(name));
        match (m.next(), m.next()) {
            (Some(r), None) => Ok(Some(r.clone())),
            (Some(_), Some(_)) => Err(Error::Invalid(format!(
                "network {name} is ambiguous (2 matches found based on ID prefix)"
            ))),
            _ => Ok(None),
        }
    }

    /// Creates a bridge network. Its subnet is the one asked for, which must overlap no
    /// other network nor any of `in_use` (the host's routes, the default bridge), or else
    /// the first of Docker's pools that overlaps none of them.
    pub fn create(&self, req: &NewNetwork, in_use: &[Subnet]) -> Result<NetworkRecord> {
        if !valid_name(&req.name) {
            return Err(Error::Invalid(format!(
                "invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        let driver = if req.driver.is_empty() {
            "bridge"
        } else {
            &req.driver
        };
        if driver != "bridge" {
            return Err(Error::Invalid(format!("plugin \"{driver}\" not found")));
        }
        let _g = self.lock()?;
        let all = self.read_all()?;
        if all.iter().any(|r| r.name == req.name) || PREDEFINED.iter().any(|(n, _)| *n == req.name)
        {
            return Err(Error::Exists(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        let mut used: Vec<Subnet> = all.iter().filter_map(|r| r.subnet).collect();
        used.extend_from_slice(in_use);
        let subnet = match &req.subnet {
            Some(s) => {
                let s = Subnet::parse(s)?;
                if all.iter().filter_map(|r| r.subnet).any(|u| u.overlaps(&s)) {
                    return Err(Error::Exists(
                        "Pool overlaps with other one on this address space".into(),
                    ));
                }
                s
            }
            None => crate::subnet::pick_subnet(&used)?,
        };
        let gateway = match &req.gateway {
            Some(g) => {
                let g: Ipv4Addr = g
                    .parse()
                    .map_err(|_| Error::Invalid(format!("invalid gateway address {g:?}")))?;
                if !subnet.contains(g) || g == subnet.network || g == subnet.broadcast() {
                    return Err(Error::Invalid(format!(
                        "no matching subnet for gateway {g}"
                    )));
                }
                Some(g)
            }
            None => None,
        };
        let id = random_id()?;
        let bridge = match req.options.get("com.docker.network.bridge.name") {
            Some(b) if b.is_empty() || b.len() > 15 || b.contains(['/', ' ']) => {
                return Err(Error::Invalid(format!("invalid bridge name {b:?}")))
            }
            Some(b) if all.iter().any(|r| r.bridge == *b) => {
                return Err(Error::Exists(format!("bridge name {b} is in use")))
            }
            Some(b) => b.clone(),
            None => format!("br-{}", &id[..12]),
        };
        let r = NetworkRecord {
            name: req.name.clone(),
            bridge,
            id,
            created: libimage::time::now(),
            driver: "bridge".into(),
            subnet: Some(subnet),
            gateway,
            labels: req.labels.clone(),
            options: req.options.clone(),
        };
        self.save(&r)?;
        Ok(r)
    }

    /// Removes a network's record (the caller checks it has no endpoints and removes its
    /// bridge first).
    pub fn remove(&self, r: &NetworkRecord) -> Result<()> {
        let _g = self.lock()?;
        let p = self.path(&r.id);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", &p, e)),
            _ => Ok(()),
        }
    }

    /// The directory holding the records.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str) -> NewNetwork {
        NewNetwork {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn create_find_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let st = NetworkStore::new(tmp.path());
        let names: Vec<String> = st.list().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["bridge", "host", "none"]);
        let bridge_id = st.find("bridge").unwrap().unwrap().id;
        assert_eq!(st.find("bridge").unwrap().unwrap().id, bridge_id, "stable");
        let default = Subnet::parse("172.17.0.0/16").unwrap();
        let a = st.create(&req("a"), &[default]).unwrap();
        assert_eq!(a.subnet.unwrap().to_string(), "172.18.0.0/16");
        assert_eq!(a.bridge, format!("br-{}", &a.id[..12]));
        let b = st.create(&req("b"), &[default]).unwrap();
        assert_eq!(b.subnet.unwrap().to_string(), "172.19.0.0/16");
        assert_eq!(
            st.create(&req("a"), &[]).unwrap_err().kind(),
            crate::ErrorKind::AlreadyExists
        );
        assert_eq!(
            st.create(&req("host"), &[]).unwrap_err().kind(),
            crate::ErrorKind::AlreadyExists
        );
        assert!(st.create(&req("bad/name"), &[]).is_err());
        let mut c = req("c");
        c.subnet = Some("172.18.5.0/24".into());
        assert!(st
            .create(&c, &[])
            .unwrap_err()
            .to_string()
            .contains("Pool overlaps"));
        c.subnet = Some("10.50.0.0/24".into());
        c.gateway = Some("10.50.0.254".into());
        let c = st.create(&c, &[]).unwrap();
        assert_eq!(c.gateway(), Some(Ipv4Addr::new(10, 50, 0, 254)));
        let mut d = req("d");
        d.subnet = Some("10.60.0.0/24".into());
        d.gateway = Some("10.61.0.1".into());
        assert!(st.create(&d, &[]).is_err());
        assert_eq!(st.find(&a.id[..10]).unwrap().unwrap().name, "a");
        st.remove(&a).unwrap();
        // By full ID: "a" alone may be a prefix of another network's random ID.
        assert!(st.find(&a.id).unwrap().is_none());
        assert!(st.list().unwrap().iter().all(|r| r.name != "a"));
        // Concurrent creates never share a subnet.
        let subnets: Vec<Subnet> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..4)
                .map(|i| {
                    let st = st.clone();
                    sc.spawn(move || st.create(&req(&format!("p{i}")), &[default]).unwrap())
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap().subnet.unwrap())
                .collect()
        });
        for (i, x) in subnets.iter().enumerate() {
            for y in &subnets[i + 1..] {
                assert!(!x.overlaps(y), "{subnets:?}");
            }
        }
    }
}
