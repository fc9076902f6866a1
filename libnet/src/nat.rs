//! Forwarding, outbound masquerade and published ports in ministry's own nftables table
//! (`ip ministry`), fed to `nft -f -`. Port rules carry the container ID as their comment,
//! so they are removed by owner. Nothing here touches other tables.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::link::BridgeSpec;

const TABLE: &str = "ip ministry";

/// A published port (`-p`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    /// The host address (`None`: every local address, Docker's `0.0.0.0`).
    pub host_ip: Option<Ipv4Addr>,
    /// The host port.
    pub host_port: u16,
    /// The container port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
}

fn nft(script: &str) -> Result<String> {
    let mut c = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Nft(format!("cannot run nft (apt-get install nftables): {e}")))?;
    c.stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())
        .map_err(|e| Error::Nft(e.to_string()))?;
    let o = c
        .wait_with_output()
        .map_err(|e| Error::Nft(e.to_string()))?;
    if !o.status.success() {
        return Err(Error::Nft(
            String::from_utf8_lossy(&o.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn list(what: &str) -> Option<String> {
    let o = Command::new("nft")
        .args(["-a", "list"])
        .args(what.split(' '))
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn sysctl(path: &str, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| Error::io("write", path, e))
}

/// How a bridge's rules are made (Docker's daemon options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleOptions {
    /// Turn the host's IP forwarding on (`--ip-forward`).
    pub ip_forward: bool,
    /// Masquerade the subnet's outbound traffic (`--ip-masq`).
    pub masquerade: bool,
    /// Let containers on the bridge talk to each other (`--icc`); when false only links
    /// ([`allow_link`]) pass.
    pub icc: bool,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            ip_forward: true,
            masquerade: true,
            icc: true,
        }
    }
}

const BRIDGE_TABLE: &str = "bridge ministry";

/// Makes bridge `b` route: IP forwarding on, `route_localnet` on the bridge (so published
/// ports answer on 127.0.0.1), and ministry's table with forwarding, masquerade of the
/// subnet's outbound traffic, and the port chains; with `icc` off, a drop of the traffic
/// between the bridge's containers in the `bridge ministry` table. Idempotent.
pub fn ensure_bridge_rules(b: &BridgeSpec, o: RuleOptions) -> Result<()> {
    bridge_sysctls(b, o)?;
    let mark = format!("ministry-bridge-{}", b.name);
    // One listing for both tables (each `nft` run costs milliseconds).
    let ruleset = list("ruleset").unwrap_or_default();
    let (table, bt) = split_tables(&ruleset);
    let (br, net) = (&b.name, b.subnet);
    let mut script = String::new();
    if !table.contains(&format!("\"{mark}\"")) {
        if !table.contains("map portmap") {
            script += &format!(
                r#"add table {TABLE}
add chain {TABLE} ports
add chain {TABLE} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}
add chain {TABLE} output {{ type nat hook output priority -100; policy accept; }}
add chain {TABLE} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}
add chain {TABLE} forward {{ type filter hook forward priority filter; policy accept; }}
add map {TABLE} portmap {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; flags interval; }}
add rule {TABLE} ports meta l4proto {{ tcp, udp }} dnat ip to ip daddr . meta l4proto . th dport map @portmap comment "ministry-ports"
add rule {TABLE} prerouting fib daddr type local jump ports comment "ministry-ports"
add rule {TABLE} output fib daddr type local jump ports comment "ministry-ports"
"#
            );
        }
        if o.masquerade {
            script += &format!(
                "add rule {TABLE} postrouting ip saddr {net} oifname != \"{br}\" masquerade comment \"{mark}\"\n"
            );
        }
        script += &format!(
            r#"add rule {TABLE} postrouting ip saddr 127.0.0.0/8 oifname "{br}" masquerade comment "{mark}"
add rule {TABLE} forward iifname "{br}" accept comment "{mark}"
add rule {TABLE} forward oifname "{br}" accept comment "{mark}"
"#
        );
    }
    let has_icc_drop = bt.contains(&format!("\"{mark}\""));
    if o.icc && has_icc_drop {
        // --icc was false before and is true now.
        for l in bt.lines().filter(|l| l.contains(&format!("\"{mark}\""))) {
            if let Some((_, h)) = l.rsplit_once("# handle ") {
                script += &format!("delete rule {BRIDGE_TABLE} forward handle {}\n", h.trim());
            }
        }
    }
    if !o.icc && !has_icc_drop {
        // Bridged frames never reach the ip family's hooks (no br_netfilter): the bridge
        // family sees them. ARP still passes, so links can resolve.
        script += &format!(
            r#"add table {BRIDGE_TABLE}
add chain {BRIDGE_TABLE} forward {{ type filter hook forward priority filter; policy accept; }}
add rule {BRIDGE_TABLE} forward ip saddr {net} ip daddr {net} drop comment "{mark}"
"#
        );
    }
    if !script.is_empty() {
        nft(&script)?;
    }
    Ok(())
}

/// The sysctls a bridge's routing needs: IP forwarding (unless `--ip-forward=false`) and
/// `route_localnet` on the bridge. Part of [`ensure_bridge_rules`].
pub fn bridge_sysctls(b: &BridgeSpec, o: RuleOptions) -> Result<()> {
    if o.ip_forward {
        sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
    }
    sysctl(
        &format!("/proc/sys/net/ipv4/conf/{}/route_localnet", b.name),
        "1",
    )
}

/// The nftables ruleset's generation in this network namespace: the kernel counts every
/// committed change, so an unchanged generation proves rules seen before are still there
/// (without running `nft`, which costs milliseconds). `None` when it cannot be read.
pub fn generation() -> Option<u32> {
    const NFNL_SUBSYS_NFTABLES: u16 = 10;
    const NFT_MSG_GETGEN: u16 = 16;
    const NFT_MSG_NEWGEN: u16 = 15;
    const NFTA_GEN_ID: u16 = 1;
    // SAFETY: plain socket calls on a buffer we own; the fd is closed by OwnedFd.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a fresh socket we own.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let mut req = [0u8; 20];
    req[0..4].copy_from_slice(&20u32.to_ne_bytes());
    req[4..6].copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN).to_ne_bytes());
    req[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0.
    // SAFETY: sending our buffer on our socket (the kernel is the default peer).
    if unsafe { libc::send(raw, req.as_ptr().cast(), req.len(), 0) } != req.len() as isize {
        return None;
    }
    let mut buf = [0u8; 512];
    // SAFETY: receiving into our buffer.
    let n = unsafe { libc::recv(raw, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 20 {
        return None;
    }
    let buf = &buf[..n as usize];
    let len = u32::from_ne_bytes(buf[0..4].try_into().ok()?) as usize;
    let typ = u16::from_ne_bytes(buf[4..6].try_into().ok()?);
    if typ != (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN || len > buf.len() {
        return None;
    }
    let mut at = 20;
    while at + 4 <= len {
        let alen = u16::from_ne_bytes(buf[at..at + 2].try_into().ok()?) as usize;
        let atyp = u16::from_ne_bytes(buf[at + 2..at + 4].try_into().ok()?) & 0x3fff;
        if alen < 4 || at + alen > len {
            return None;
        }
        if atyp == NFTA_GEN_ID && alen >= 8 {
            return Some(u32::from_be_bytes(buf[at + 4..at + 8].try_into().ok()?));
        }
        at += (alen + 3) & !3;
    }
    None
}

/// The texts of ministry's `ip` and `bridge` tables in a ruleset listing.
fn split_tables(ruleset: &str) -> (String, String) {
    let (mut ip, mut br) = (String::new(), String::new());
    let mut cur: Option<&mut String> = None;
    for l in ruleset.lines() {
        if l.starts_with("table ") {
            cur = match l.trim_end_matches(['{', ' ']) {
                x if x.starts_with(&format!("table {TABLE}")) => Some(&mut ip),
                x if x.starts_with(&format!("table {BRIDGE_TABLE}")) => Some(&mut br),
                _ => None,
            };
        }
        if let Some(c) = cur.as_deref_mut() {
            c.push_str(l);
            c.push('\n');
        }
    }
    (ip, br)
}

/// With `icc` off: lets `from` reach `to` on `ports` (`port/proto`) and the answers back,
/// owned by `owner` (the linking container).
pub fn allow_link(owner: &str, from: Ipv4Addr, to: Ipv4Addr, ports: &[String]) -> Result<()> {
    let mut script = String::new();
    for p in ports {
        let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
        let port: u16 = port
            .parse()
            .map_err(|_| Error::Invalid(format!("invalid port {p:?}")))?;
        if proto != "tcp" && proto != "udp" {
            return Err(Error::Invalid(format!("invalid proto: {proto}")));
        }
        script += &format!(
            "insert rule {BRIDGE_TABLE} forward ip saddr {from} ip daddr {to} {proto} dport {port} accept comment \"{owner}\"\n\
             insert rule {BRIDGE_TABLE} forward ip saddr {to} ip daddr {from} {proto} sport {port} accept comment \"{owner}\"\n"
        );
    }
    if script.is_empty() {
        return Ok(());
    }
    nft(&script).map(drop)
}

/// Removes the link rules owned by `owner`.
pub fn remove_links(owner: &str) -> Result<()> {
    delete_owned(BRIDGE_TABLE, &format!("comment \"{owner}\""))
}

fn delete_owned(table: &str, needle: &str) -> Result<()> {
    let Some(text) = list(&format!("table {table}")) else {
        return Ok(());
    };
    let mut chain = "";
    let mut script = String::new();
    for l in text.lines() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("chain ") {
            chain = rest.split_whitespace().next().unwrap_or("");
        } else if t.contains(needle) {
            if let Some((_, h)) = t.rsplit_once("# handle ") {
                script += &format!("delete rule {table} {chain} handle {}\n", h.trim());
            }
        }
    }
    if script.is_empty() {
        return Ok(());
    }
    nft(&script).map(drop)
}

/// Removes the rules [`ensure_bridge_rules`] added for bridge `name` (its network is
/// being removed).
pub fn remove_bridge_rules(name: &str) -> Result<()> {
    let needle = format!("comment \"ministry-bridge-{name}\"");
    delete_owned(TABLE, &needle)?;
    delete_owned(BRIDGE_TABLE, &needle)
}

fn port_key(p: &PortMapping) -> Result<String> {
    if p.proto != "tcp" && p.proto != "udp" {
        return Err(Error::Invalid(format!("invalid proto: {}", p.proto)));
    }
    let addr = p
        .host_ip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "0.0.0.0/0".into());
    Ok(format!("{addr} . {} . {}", p.proto, p.host_port))
}

/// Publishes each mapping to `container_ip`: one element of the `portmap` verdict map
/// (host address . protocol . port : container address . port), commented with `owner`.
/// A host port already published on an overlapping address is Docker's "port is already
/// allocated".
pub fn publish(owner: &str, container_ip: Ipv4Addr, ports: &[PortMapping]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    let mut script = String::new();
    for p in ports {
        script += &format!(
            "add element {TABLE} portmap {{ {} comment \"{owner}\" : {container_ip} . {} }}\n",
            port_key(p)?,
            p.container_port
        );
    }
    nft(&script).map(drop).map_err(|e| match e {
        Error::Nft(m) if m.contains("File exists") || m.contains("conflicting") => {
            let p = &ports[0];
            Error::Exhausted(format!(
                "Bind for {}:{} failed: port is already allocated",
                p.host_ip
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "0.0.0.0".into()),
                p.host_port
            ))
        }
        e => e,
    })
}

/// Removes `owner`'s published `ports` by their keys: one `nft` run and no listing. When
/// some are gone already (a flushed ruleset), falls back to [`unpublish`].
pub fn unpublish_ports(owner: &str, ports: &[PortMapping]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    let mut script = String::new();
    for p in ports {
        script += &format!("delete element {TABLE} portmap {{ {} }}\n", port_key(p)?);
    }
    match nft(&script) {
        Ok(_) => Ok(()),
        Err(_) => unpublish(owner),
    }
}

/// A removal of published ports under way: the kernel takes a grace period (~10 ms) to
/// commit a deletion, which the caller can spend on other work before [`Self::finish`].
#[derive(Debug)]
pub struct PendingUnpublish {
    child: Option<std::process::Child>,
    owner: String,
}

/// Starts removing `owner`'s published `ports` by key (see [`unpublish_ports`]) without
/// waiting for `nft`.
pub fn start_unpublish_ports(owner: &str, ports: &[PortMapping]) -> Result<PendingUnpublish> {
    let mut script = String::new();
    for p in ports {
        script += &format!("delete element {TABLE} portmap {{ {} }}\n", port_key(p)?);
    }
    let child = if script.is_empty() {
        None
    } else {
        let mut c = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Nft(format!("cannot run nft (apt-get install nftables): {e}")))?;
        let mut stdin = c.stdin.take().expect("piped");
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::Nft(e.to_string()))?;
        drop(stdin);
        Some(c)
    };
    Ok(PendingUnpublish {
        child,
        owner: owner.to_string(),
    })
}

impl PendingUnpublish {
    /// Waits for the removal; when some keys were gone already (a flushed ruleset), removes
    /// whatever `owner` still has by listing.
    pub fn finish(mut self) -> Result<()> {
        let Some(c) = self.child.take() else {
            return Ok(());
        };
        match c.wait_with_output() {
            Ok(o) if o.status.success() => Ok(()),
            _ => unpublish(&self.owner),
        }
    }
}

impl Drop for PendingUnpublish {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

/// Removes every published port owned by `owner` (found by listing the map).
pub fn unpublish(owner: &str) -> Result<()> {
    let Some(map) = list(&format!("map {TABLE} portmap")) else {
        return Ok(());
    };
    let needle = format!("comment \"{owner}\"");
    let mut script = String::new();
    // Elements print as `KEY comment "owner" : VALUE`, separated by commas.
    for el in map.split([',', '{', '}']) {
        if let Some((key, _)) = el.split_once(&needle) {
            let key = key.trim();
            if !key.is_empty() {
                script += &format!("delete element {TABLE} portmap {{ {key} }}\n");
            }
        }
    }
    if script.is_empty() {
        return Ok(());
    }
    nft(&script).map(drop)
}

/// Removes ministry's whole tables (when its last network goes).
pub fn remove_table() -> Result<()> {
    for t in [TABLE, BRIDGE_TABLE] {
        if list(&format!("table {t}")).is_some() {
            nft(&format!("delete table {t}\n"))?;
        }
    }
    Ok(())
}

/// Parses Docker's `-p` forms: `[ip:]host:ctr`, `ip::ctr`, `ctr`, each with `/tcp|/udp`,
/// and ranges (`8000-8001:80-81`). A missing host port is 0 (to be chosen).
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(Error::Invalid(format!("invalid proto: {proto}")));
    }
    // Docker's split: the container port last, the host port before it, the rest the IP.
    let parts: Vec<&str> = rest.split(':').collect();
    let n = parts.len();
    let joined = parts[..n.saturating_sub(2)].join(":");
    let (ip, host, ctr) = match parts.as_slice() {
        [c] => (None, "", *c),
        [h, c] => (None, *h, *c),
        _ => (Some(joined.as_str()), parts[n - 2], parts[n - 1]),
    };
    let host_ip = match ip {
        None | Some("") | Some("0.0.0.0") => None,
        Some(i) => Some(
            i.parse::<Ipv4Addr>()
                .map_err(|_| Error::Invalid(format!("invalid IP address: {i}")))?,
        ),
    };
    // Docker's texts: `invalid containerPort: X`, `invalid hostPort: X`.
    let range = |s: &str, what: &str| -> Result<(u16, u16)> {
        let bad = || Error::Invalid(format!("invalid {what}: {s}"));
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: u16 = a.parse().map_err(|_| bad())?;
        let b: u16 = b.parse().map_err(|_| bad())?;
        if a == 0 || b < a {
            return Err(bad());
        }
        Ok((a, b))
    };
    let (c0, c1) = range(ctr, "containerPort")?;
    let hosts: Vec<u16> = if host.is_empty() {
        vec![0; (c1 - c0 + 1) as usize]
    } else {
        let (h0, h1) = range(host, "hostPort")?;
        if h1 - h0 != c1 - c0 {
            return Err(Error::Invalid(format!(
                "invalid ranges specified for container and host Ports: {ctr} and {host}"
            )));
        }
        (h0..=h1).collect()
    };
    Ok((c0..=c1)
        .zip(hosts)
        .map(|(c, h)| PortMapping {
            host_ip,
            host_port: h,
            container_port: c,
            proto: proto.clone(),
        })
        .collect())
}

/// A free port from the kernel's ephemeral range (for `-P` and `-p ctr`).
pub fn free_port(proto: &str) -> Result<u16> {
    let port = if proto == "udp" {
        std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.local_addr())
    } else {
        std::net::TcpListener::bind("0.0.0.0:0").and_then(|s| s.local_addr())
    }
    .map_err(|e| Error::io("bind", "0.0.0.0:0", e))?
    .port();
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_counts_changes() {
        // In a private network namespace of its own (a thread that unshared), so the
        // machine's ruleset is never touched.
        if unsafe { libc::geteuid() } != 0 {
            assert!(std::env::var("CI").is_err(), "needs root in CI");
            return;
        }
        std::thread::spawn(|| {
            // SAFETY: unshare affects only this thread.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            let g0 = generation().expect("generation readable");
            assert_eq!(generation(), Some(g0), "stable without changes");
            nft("add table ip gentest\n").unwrap();
            let g1 = generation().unwrap();
            assert_eq!(g1, g0.wrapping_add(1), "one transaction, one generation");
            nft("add chain ip gentest c\nadd chain ip gentest d\n").unwrap();
            assert_eq!(generation(), Some(g1.wrapping_add(1)));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn publish_forms() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(
            (
                p[0].host_ip,
                p[0].host_port,
                p[0].container_port,
                p[0].proto.as_str()
            ),
            (None, 8080, 80, "tcp")
        );
        let p = parse_publish("127.0.0.1::53/udp").unwrap();
        assert_eq!(
            (p[0].host_ip, p[0].host_port, p[0].proto.as_str()),
            (Some(Ipv4Addr::LOCALHOST), 0, "udp")
        );
        assert_eq!(parse_publish("80").unwrap()[0].host_port, 0);
        let p = parse_publish("8000-8001:80-81").unwrap();
        assert_eq!(
            p.iter()
                .map(|m| (m.host_port, m.container_port))
                .collect::<Vec<_>>(),
            [(8000, 80), (8001, 81)]
        );
        // Docker's texts (checked against Docker 20.10's CLI).
        let err = |s: &str| parse_publish(s).unwrap_err().to_string();
        assert_eq!(err("1.2.3.4:5:6:7"), "invalid IP address: 1.2.3.4:5");
        assert_eq!(err("80:99999"), "invalid containerPort: 99999");
        assert_eq!(err("abc:80"), "invalid hostPort: abc");
        assert_eq!(err("80-70:80"), "invalid hostPort: 80-70");
        assert_eq!(err("80/sctpx"), "invalid proto: sctpx");
        assert!(parse_publish("80/sctp").is_err());
        assert!(parse_publish("8000-8002:80-81").is_err());
    }
}
