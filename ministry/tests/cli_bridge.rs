//! Bridge networking, entirely inside a private network namespace the test creates (the
//! engine runs in it): addresses, MACs, hosts files, container-to-container traffic,
//! published ports from the test host (also 127.0.0.1) and from other containers, the
//! network modes, and nothing left after `rm`.

mod common;

use std::process::Command;

use common::*;

/// Runs `args` in the test's network namespace (the "test host") and returns stdout.
fn on_host(m: &Ministry, args: &[&str]) -> String {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    m.enter(&mut c);
    sh(&mut c)
}

/// Whether `veth` is gone from the test host within 3 s: the kernel deletes a veth pair
/// asynchronously once the container's network namespace dies.
fn veth_gone(m: &Ministry, veth: &str) -> bool {
    for _ in 0..60 {
        if !on_host(m, &["cat", "/proc/net/dev"]).contains(veth) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

const WEB: &str = "mkdir /www && echo hello-web > /www/index.html && exec httpd -f -p 80 -h /www";

fn wait_http(m: &Ministry, url: &str) -> String {
    for _ in 0..50 {
        // (busybox-static's wget crashes with -T; timeout(1) bounds it instead.)
        let mut c = Command::new("timeout");
        c.args(["3", "busybox", "wget", "-qO-", url]);
        m.enter(&mut c);
        let o = c.output().unwrap();
        if o.status.success() {
            return String::from_utf8(o.stdout).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "{url} never answered; rules:\n{}",
        String::from_utf8_lossy(&{
            let mut c = Command::new("nft");
            c.args(["list", "ruleset"]);
            m.enter(&mut c);
            c.output().unwrap().stdout
        })
    );
}

#[test]
fn default_bridge_addresses_hosts_and_traffic() {
    let m = Ministry::new();
    m.busybox("busybox");
    let a = m
        .ok(&["run", "-d", "--name", "alpha", "busybox", "sleep", "60"])
        .trim()
        .to_string();
    let ip_a = m
        .ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "alpha"])
        .trim()
        .to_string();
    assert_eq!(
        ip_a, "172.17.0.2",
        "the first free address of Docker's first pool"
    );
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}} {{.HostConfig.NetworkMode}}", "alpha"]),
        "172.17.0.1 16 02:42:ac:11:00:02 bridge\n"
    );
    let out = m.ok(&[
        "run", "--rm", "busybox", "sh", "-c",
        "tail -1 /etc/hosts; cat /sys/class/net/eth0/address; cat /sys/class/net/lo/flags; ping -c1 -W2 172.17.0.2 >/dev/null && echo reached",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("172.17.0.3\t"), "{out}");
    assert_eq!(lines[1], "02:42:ac:11:00:03");
    assert_eq!(lines[2], "0x9", "lo is up");
    assert_eq!(lines[3], "reached");
    // The test host reaches the container, the container its gateway.
    on_host(&m, &["busybox", "ping", "-c1", "-W2", &ip_a]);
    m.ok(&["exec", &a, "ping", "-c1", "-W2", "172.17.0.1"]);
    // Concurrent creates never share an address.
    let ids: Vec<String> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                sc.spawn(|| {
                    m.ok(&["run", "-d", "busybox", "sleep", "60"])
                        .trim()
                        .to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ips: Vec<String> = ids
        .iter()
        .map(|id| {
            m.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", id])
                .trim()
                .to_string()
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 4, "{ips:?}");
    assert!(!ips.contains(&ip_a));
}

#[test]
fn published_ports_from_host_loopback_and_other_containers() {
    let m = Ministry::new();
    m.busybox("busybox");
    m.ok(&[
        "run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c", WEB,
    ]);
    assert_eq!(m.ok(&["port", "web"]), "80/tcp -> 0.0.0.0:8080\n");
    assert_eq!(m.ok(&["port", "web", "80/tcp"]), "0.0.0.0:8080\n");
    assert_eq!(
        m.ok(&["inspect", "-f", "{{json .HostConfig.PortBindings}}", "web"]),
        "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}\n"
    );
    assert_eq!(wait_http(&m, "http://127.0.0.1:8080/"), "hello-web\n");
    // From another container, through the gateway's published port and directly.
    let ip = m
        .ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"])
        .trim()
        .to_string();
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            &format!("wget -qO- http://172.17.0.1:8080/ && wget -qO- http://{ip}/")
        ]),
        "hello-web\nhello-web\n"
    );
    // -P with --expose: a port from the ephemeral range; 127.0.0.1-only binding.
    m.ok(&[
        "run", "-d", "--name", "auto", "-P", "--expose", "80", "busybox", "sh", "-c", WEB,
    ]);
    let p = m.ok(&["port", "auto", "80"]);
    let port: u16 = p.trim().rsplit(':').next().unwrap().parse().unwrap();
    assert!(port >= 1024, "{p}");
    assert_eq!(
        wait_http(&m, &format!("http://127.0.0.1:{port}/")),
        "hello-web\n"
    );
    m.ok(&[
        "run",
        "-d",
        "--name",
        "local",
        "-p",
        "127.0.0.1:9090:80",
        "busybox",
        "sh",
        "-c",
        WEB,
    ]);
    assert_eq!(wait_http(&m, "http://127.0.0.1:9090/"), "hello-web\n");
    let (code, _, err) = {
        let o = m.run(&["port", "web", "81"]);
        (
            o.status.code(),
            (),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(1));
    assert!(
        err.contains("No public port '81' published for web"),
        "{err}"
    );
    // A host port already published: Docker's refusal, and the failed container is gone.
    let o = m.run(&[
        "run", "-d", "--name", "dup", "-p", "8080:80", "busybox", "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Bind for 0.0.0.0:8080 failed: port is already allocated"),
        "{err}"
    );
    assert_eq!(m.ok(&["ps", "-aq", "-f", "name=dup"]), "");
    assert_eq!(
        wait_http(&m, "http://127.0.0.1:8080/"),
        "hello-web\n",
        "the first one still serves"
    );
    // Someone flushes the ruleset behind the engine's back: the next container's wiring
    // notices (the ruleset generation moved) and puts the rules back.
    on_host(&m, &["nft", "flush", "ruleset"]);
    m.ok(&[
        "run", "-d", "--name", "again", "-p", "8090:80", "busybox", "sh", "-c", WEB,
    ]);
    assert_eq!(wait_http(&m, "http://127.0.0.1:8090/"), "hello-web\n");
    // Bad -p: Docker's message, exit 125.
    let o = m.run(&["run", "--rm", "-p", "1.2.3.4:5:6:7", "busybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid IP address: 1.2.3.4:5"));
}

#[test]
fn network_modes() {
    let m = Ministry::new();
    m.busybox("busybox");
    // none: only lo, up.
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "ls /sys/class/net; cat /sys/class/net/lo/flags"
        ]),
        "lo\n0x9\n"
    );
    // container:<name>: the other container's interfaces and address.
    m.ok(&["run", "-d", "--name", "owner", "busybox", "sleep", "60"]);
    let ip = m
        .ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "owner"])
        .trim()
        .to_string();
    let out = m.ok(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "cat",
        "/proc/net/fib_trie",
    ]);
    assert!(out.contains(&ip), "{out}");
    // host: the test host's interfaces (its bridge included).
    let out = m.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "cat",
        "/proc/net/dev",
    ]);
    assert!(out.contains("ministry0:"), "{out}");
    let o = m.run(&["run", "--rm", "--network", "nosuchnet", "busybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("network nosuchnet not found"));
}

#[test]
fn nothing_left_after_rm() {
    let m = Ministry::new();
    m.busybox("busybox");
    let id = m
        .ok(&["run", "-d", "-p", "8081:80", "busybox", "sleep", "60"])
        .trim()
        .to_string();
    let veth = format!("veth{}", &id[..8]);
    assert!(on_host(&m, &["cat", "/proc/net/dev"]).contains(&veth));
    assert!(on_host(&m, &["nft", "list", "table", "ip", "ministry"]).contains(&id));
    m.ok(&["rm", "-f", &id]);
    assert!(
        veth_gone(&m, &veth),
        "veth removed (with its namespace, by the kernel)"
    );
    assert!(
        !on_host(&m, &["nft", "list", "table", "ip", "ministry"]).contains(&id),
        "port rule removed"
    );
    let leases =
        std::fs::read_to_string(m.root.path().join("data/network/ministry0.leases.json")).unwrap();
    assert!(!leases.contains(&id), "lease released: {leases}");
    // An engine killed midway through a removal (record gone, lease, rule and veth left):
    // the next container's wiring reconciles.
    let id = m
        .ok(&["run", "-d", "-p", "8083:80", "busybox", "sleep", "60"])
        .trim()
        .to_string();
    let veth = format!("veth{}", &id[..8]);
    m.ok(&["kill", &id]);
    std::fs::remove_dir_all(m.root.path().join("data/containers").join(&id)).unwrap();
    m.ok(&["run", "--rm", "busybox", "true"]);
    let leases =
        std::fs::read_to_string(m.root.path().join("data/network/ministry0.leases.json")).unwrap();
    assert!(!leases.contains(&id), "stale lease dropped: {leases}");
    assert!(
        !on_host(&m, &["nft", "list", "table", "ip", "ministry"]).contains(&id),
        "stale rule dropped"
    );
    assert!(veth_gone(&m, &veth), "stale veth gone");
    // A stopped container's address comes back on restart when nobody took it.
    let id = m
        .ok(&["run", "-d", "busybox", "sleep", "60"])
        .trim()
        .to_string();
    let ip = m.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &id]);
    m.ok(&["stop", "-t", "0", &id]);
    m.ok(&["start", &id]);
    assert_eq!(
        m.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &id]),
        ip
    );
    m.ok(&["exec", &id, "ping", "-c1", "-W2", "172.17.0.1"]);
}

#[test]
fn engines_on_two_data_roots_never_share_a_bridge() {
    let a = Ministry::new();
    let b = a.sibling();
    a.busybox("busybox");
    b.busybox("busybox");
    a.ok(&["run", "-d", "--name", "one", "busybox", "sleep", "60"]);
    b.ok(&["run", "-d", "--name", "one", "busybox", "sleep", "60"]);
    let ip = |m: &Ministry| {
        m.ok(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}",
            "one",
        ])
        .trim()
        .to_string()
    };
    let (ia, ib) = (ip(&a), ip(&b));
    assert_ne!(ia.split(' ').next(), ib.split(' ').next(), "{ia} / {ib}");
    // The second engine made a bridge of its own, named after its data root.
    let links = on_host(&a, &["ip", "-o", "link", "show", "type", "bridge"]);
    assert!(links.contains("ministry0"), "{links}");
    let theirs: Vec<&str> = links
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter(|n| n.starts_with("mst-"))
        .collect();
    assert_eq!(theirs.len(), 1, "{links}");
    // Each container reaches its own gateway; removing one engine's container leaves the
    // other's address and traffic alone.
    let gw_b = ib.split(' ').nth(1).unwrap().to_string();
    b.ok(&["exec", "one", "ping", "-c", "1", "-W", "2", &gw_b]);
    a.ok(&["rm", "-f", "one"]);
    b.ok(&["exec", "one", "ping", "-c", "1", "-W", "2", &gw_b]);
    assert_eq!(ip(&b), ib);
    // The choice is remembered: a later run on either root uses the same bridge.
    a.ok(&["run", "-d", "--name", "two", "busybox", "sleep", "60"]);
    let ia2 = ip_of(&a, "two");
    assert_eq!(
        ia2.rsplit_once('.').map(|x| x.0),
        ia.split(' ').next().unwrap().rsplit_once('.').map(|x| x.0)
    );
}

fn ip_of(m: &Ministry, name: &str) -> String {
    m.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name])
        .trim()
        .to_string()
}
