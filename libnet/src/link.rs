//! Links through rtnetlink (no `ip`, no `brctl`): the bridge, a container's veth pair, its
//! `eth0`, `lo`, address and default route. Each call runs on a private current-thread
//! runtime; work inside a container's network namespace runs on a scoped thread that
//! joined it with `setns`, so the caller's namespace never changes.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

use futures_util::TryStreamExt;
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{Error, Result};
use crate::subnet::Subnet;

/// A bridge network's link-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// The bridge's name (`ministry0` for the default network).
    pub name: String,
    /// Its subnet; the bridge holds the gateway address.
    pub subnet: Subnet,
    /// The MTU of the bridge and veths. By default, 1500.
    pub mtu: u32,
    /// The bridge's own address, the containers' gateway: by default the subnet's first
    /// address (`--gateway` picks another).
    pub gateway: Ipv4Addr,
}

impl BridgeSpec {
    /// A bridge whose gateway is the subnet's first address.
    pub fn new(name: impl Into<String>, subnet: Subnet, mtu: u32) -> Self {
        BridgeSpec {
            name: name.into(),
            subnet,
            mtu,
            gateway: subnet.gateway(),
        }
    }
}

fn block<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start netlink runtime", "", e))?;
    Ok(rt.block_on(f))
}

async fn connect() -> Result<Handle> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| Error::io("netlink socket", "", e))?;
    tokio::spawn(conn);
    Ok(handle)
}

async fn index_of(h: &Handle, name: &str) -> Result<Option<u32>> {
    match h
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
    {
        Ok(Some(m)) => Ok(Some(m.header.index)),
        Ok(None) => Ok(None),
        Err(rtnetlink::Error::NetlinkError(e))
            if e.code.map(|c| c.get()) == Some(-libc::ENODEV) =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::netlink(format!("find link {name}"), e)),
    }
}

async fn set(h: &Handle, op: &str, msg: rtnetlink::packet_route::link::LinkMessage) -> Result<()> {
    h.link()
        .set(msg)
        .execute()
        .await
        .map_err(|e| Error::netlink(op, e))
}

fn exists_ok(e: rtnetlink::Error) -> std::result::Result<(), rtnetlink::Error> {
    match &e {
        rtnetlink::Error::NetlinkError(m) if m.code.map(|c| c.get()) == Some(-libc::EEXIST) => {
            Ok(())
        }
        _ => Err(e),
    }
}

/// Creates the bridge if it is missing, gives it the gateway address, and brings it up.
pub fn ensure_bridge(b: &BridgeSpec) -> Result<()> {
    block(async {
        let h = connect().await?;
        let idx = match index_of(&h, &b.name).await? {
            Some(i) => i,
            None => {
                // A fixed MAC: otherwise a bridge takes its lowest port's, and changes it
                // when that port goes, leaving containers with a stale ARP entry for the
                // gateway (Docker sets one too).
                h.link()
                    .add(
                        LinkBridge::new(&b.name)
                            .mtu(b.mtu)
                            .address(random_mac()?.to_vec())
                            .build(),
                    )
                    .execute()
                    .await
                    .or_else(exists_ok)
                    .map_err(|e| Error::netlink(format!("create bridge {}", b.name), e))?;
                index_of(&h, &b.name)
                    .await?
                    .ok_or_else(|| Error::netlink("create bridge", "not found after creation"))?
            }
        };
        h.address()
            .add(idx, IpAddr::V4(b.gateway), b.subnet.prefix)
            .execute()
            .await
            .or_else(exists_ok)
            .map_err(|e| Error::netlink(format!("address bridge {}", b.name), e))?;
        set(
            &h,
            "bring the bridge up",
            LinkUnspec::new_with_index(idx).up().build(),
        )
        .await
    })?
}

/// A link's alias (`ip link set NAME alias TEXT`): `None` when there is no such link,
/// `Some(None)` when it has no alias. Engines mark the bridges they own with it.
pub fn link_alias(name: &str) -> Result<Option<Option<String>>> {
    use rtnetlink::packet_route::link::LinkAttribute;
    block(async {
        let h = connect().await?;
        let msg = match h
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_next()
            .await
        {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(None),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.code.map(|c| c.get()) == Some(-libc::ENODEV) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(Error::netlink(format!("find link {name}"), e)),
        };
        Ok(Some(msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfAlias(s) => Some(s.clone()),
            _ => None,
        })))
    })?
}

/// Sets a link's alias.
pub fn set_link_alias(name: &str, alias: &str) -> Result<()> {
    use rtnetlink::packet_route::link::LinkAttribute;
    block(async {
        let h = connect().await?;
        let idx = index_of(&h, name)
            .await?
            .ok_or_else(|| Error::netlink(format!("set alias of {name}"), "no such link"))?;
        let mut msg = LinkUnspec::new_with_index(idx).build();
        msg.attributes
            .push(LinkAttribute::IfAlias(alias.to_string()));
        set(&h, "set link alias", msg).await
    })?
}

/// A random locally administered unicast MAC address.
fn random_mac() -> Result<[u8; 6]> {
    let mut m = [0u8; 6];
    // SAFETY: getrandom writes at most 6 bytes into `m`.
    if unsafe { libc::getrandom(m.as_mut_ptr().cast(), m.len(), 0) } != 6 {
        return Err(Error::io("getrandom", "", std::io::Error::last_os_error()));
    }
    m[0] = (m[0] & 0xfe) | 0x02;
    Ok(m)
}

/// Deletes a link of this namespace if it exists (a bridge, or a veth's host end, which
/// takes its peer with it).
pub fn delete_link(name: &str) -> Result<()> {
    block(async {
        let h = connect().await?;
        if let Some(i) = index_of(&h, name).await? {
            match h.link().del(i).execute().await {
                // Gone meanwhile: a veth dies with its peer's namespace, asynchronously.
                Err(rtnetlink::Error::NetlinkError(m))
                    if m.code.map(|c| c.get()) == Some(-libc::ENODEV) => {}
                r => r.map_err(|e| Error::netlink(format!("delete {name}"), e))?,
            }
        }
        Ok(())
    })?
}

/// The first IPv4 address of link `name` and its prefix (an existing bridge's, for `-b`);
/// `None` when the link is missing or has none.
pub fn ipv4_address(name: &str) -> Result<Option<(Ipv4Addr, u8)>> {
    use rtnetlink::packet_route::address::AddressAttribute;
    block(async {
        let h = connect().await?;
        let Some(idx) = index_of(&h, name).await? else {
            return Ok(None);
        };
        let mut addrs = h.address().get().set_link_index_filter(idx).execute();
        while let Some(m) = addrs
            .try_next()
            .await
            .map_err(|e| Error::netlink(format!("addresses of {name}"), e))?
        {
            for a in &m.attributes {
                if let AddressAttribute::Address(IpAddr::V4(ip)) = a {
                    return Ok(Some((*ip, m.header.prefix_len)));
                }
            }
        }
        Ok(None)
    })?
}

/// Whether a link of that name exists in this namespace.
pub fn link_exists(name: &str) -> Result<bool> {
    block(async { Ok(index_of(&connect().await?, name).await?.is_some()) })?
}

/// Runs `f` on a thread that joined the network namespace at `netns`.
fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let ns = std::fs::File::open(netns).map_err(|e| Error::io("open", netns, e))?;
    std::thread::scope(|sc| {
        sc.spawn(|| {
            // SAFETY: setns on a valid namespace fd; affects only this thread.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(Error::io(
                    "join network namespace",
                    netns,
                    std::io::Error::last_os_error(),
                ));
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(Error::netlink("network namespace thread", "panicked")))
    })
}

/// Brings `lo` up in the network namespace at `netns` (every container gets it, also with
/// `--network none`).
pub fn loopback_up(netns: &Path) -> Result<()> {
    in_netns(netns, || {
        block(async {
            let h = connect().await?;
            let lo = index_of(&h, "lo")
                .await?
                .ok_or_else(|| Error::netlink("find lo", "missing"))?;
            set(
                &h,
                "bring lo up",
                LinkUnspec::new_with_index(lo).up().build(),
            )
            .await
        })?
    })
}

/// Connects the network namespace at `netns` to bridge `b`: a veth pair whose host end
/// `host_if` joins the bridge and whose other end is created right inside the namespace as
/// `ifname` (`eth0`, `eth1`, ...) with `mac`, then given `ip`; with `default_route`, the
/// namespace routes through the bridge's gateway. `lo` comes up too.
pub fn connect_container(
    b: &BridgeSpec,
    netns: &Path,
    host_if: &str,
    ifname: &str,
    ip: Ipv4Addr,
    mac: [u8; 6],
    default_route: bool,
) -> Result<()> {
    use rtnetlink::packet_route::link::{InfoData, InfoVeth};
    let ns = std::fs::File::open(netns).map_err(|e| Error::io("open", netns, e))?;
    block(async {
        let h = connect().await?;
        let bridge = index_of(&h, &b.name)
            .await?
            .ok_or_else(|| Error::netlink(format!("find bridge {}", b.name), "missing"))?;
        // One request: the host end on the bridge and up, the peer born in the container's
        // namespace with its final name, MAC and MTU (no move, no rename). The peer cannot
        // come up in the same request: the kernel opens it before the pair is joined
        // (ENOTCONN).
        let peer = rtnetlink::LinkMessageBuilder::<LinkUnspec>::new()
            .name(ifname.to_string())
            .address(mac.to_vec())
            .mtu(b.mtu)
            .setns_by_fd(ns.as_raw_fd())
            .build();
        h.link()
            .add(
                LinkVeth::new(host_if, ifname)
                    .mtu(b.mtu)
                    .controller(bridge)
                    .up()
                    .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
                    .build(),
            )
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("create veth {host_if}"), e))
    })??;
    let gw = b.gateway;
    let prefix = b.subnet.prefix;
    let ifname = ifname.to_string();
    in_netns(netns, move || {
        block(async move {
            let h = connect().await?;
            let p = index_of(&h, &ifname)
                .await?
                .ok_or_else(|| Error::netlink(format!("find {ifname}"), "missing"))?;
            h.address()
                .add(p, IpAddr::V4(ip), prefix)
                .execute()
                .await
                .map_err(|e| Error::netlink(format!("address {ifname}"), e))?;
            set(
                &h,
                "bring the container's interface up",
                LinkUnspec::new_with_index(p).up().build(),
            )
            .await?;
            let lo = index_of(&h, "lo")
                .await?
                .ok_or_else(|| Error::netlink("find lo", "missing"))?;
            set(
                &h,
                "bring lo up",
                LinkUnspec::new_with_index(lo).up().build(),
            )
            .await?;
            if !default_route {
                return Ok(());
            }
            h.route()
                .add(RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw).build())
                .execute()
                .await
                .map_err(|e| Error::netlink("default route", e))
        })?
    })
}
