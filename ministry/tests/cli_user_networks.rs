//! User-defined networks (`network create/ls/inspect/connect/disconnect/rm/prune`, name and
//! alias resolution between members) and legacy links (`--link`: Docker's variables, hosts
//! entries refreshed when the target restarts, `rm -l`), all inside a private network
//! namespace the test creates.

mod common;

use std::process::Command;

use common::*;

fn on_host(m: &Ministry, args: &[&str]) -> String {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    m.enter(&mut c);
    sh(&mut c)
}

fn fails(m: &Ministry, args: &[&str]) -> (i32, String) {
    let o = m.run(args);
    assert!(!o.status.success(), "{args:?} succeeded");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn inspect(m: &Ministry, f: &str, what: &str) -> String {
    m.ok(&["inspect", "-f", f, what]).trim().to_string()
}

#[test]
fn user_defined_networks() {
    let m = Ministry::new();
    m.busybox("busybox");
    let n1 = m.ok(&["network", "create", "n1"]).trim().to_string();
    assert_eq!(n1.len(), 64, "{n1}");
    m.ok(&[
        "network",
        "create",
        "--subnet",
        "10.50.0.0/24",
        "--gateway",
        "10.50.0.254",
        "n2",
    ]);
    let (code, err) = fails(&m, &["network", "create", "n1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Error response from daemon: network with name n1 already exists"),
        "{err}"
    );
    let (_, err) = fails(&m, &["network", "create", "--subnet", "10.50.0.0/25", "n3"]);
    assert!(
        err.contains("Pool overlaps with other one on this address space"),
        "{err}"
    );
    let ls = m.ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ]);
    assert_eq!(
        ls,
        "bridge bridge local\nhost host local\nn1 bridge local\nn2 bridge local\nnone null local\n"
    );
    assert!(m
        .ok(&["network", "ls"])
        .starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"));
    assert_eq!(
        m.ok(&["network", "ls", "-q", "--no-trunc", "-f", "name=n1"])
            .trim(),
        n1
    );
    assert_eq!(
        m.ok(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}",
            "n2"
        ]),
        "10.50.0.0/24 10.50.0.254\n"
    );
    // The auto-chosen subnet is the next free pool after the default bridge's.
    let sub1 = m.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        "n1",
    ]);
    assert_eq!(sub1, "172.18.0.0/16\n");

    // Members resolve each other by name, alias and short ID.
    let a1 = m
        .ok(&[
            "run",
            "-d",
            "--name",
            "ax1",
            "--network",
            "n1",
            "--network-alias",
            "alpha",
            "busybox",
            "sleep",
            "120",
        ])
        .trim()
        .to_string();
    assert_eq!(inspect(&m, "{{.HostConfig.NetworkMode}}", "ax1"), "n1");
    assert_eq!(
        inspect(
            &m,
            "{{with index .NetworkSettings.Networks \"n1\"}}{{.IPAddress}} {{.Gateway}}{{end}}",
            "ax1"
        ),
        "172.18.0.2 172.18.0.1"
    );
    assert_eq!(
        inspect(&m, "{{.NetworkSettings.IPAddress}}", "ax1"),
        "",
        "Docker leaves it empty off the default bridge"
    );
    let out = m.ok(&[
        "run",
        "--rm",
        "--name",
        "bx1",
        "--network",
        "n1",
        "busybox",
        "sh",
        "-c",
        &format!(
            "for h in ax1 alpha {}; do ping -c1 -W2 $h >/dev/null && echo ok $h; done",
            &a1[..12]
        ),
    ]);
    assert_eq!(out, format!("ok ax1\nok alpha\nok {}\n", &a1[..12]));
    // A member started later shows up in the earlier one's /etc/hosts.
    m.ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "n1",
        "busybox",
        "sleep",
        "120",
    ]);
    let hosts = m.ok(&["exec", "ax1", "cat", "/etc/hosts"]);
    assert!(hosts.contains("172.18.0.3\tlate "), "{hosts}");
    m.ok(&["exec", "ax1", "ping", "-c1", "-W2", "late"]);
    // Not on the default bridge: names of n1 are unknown there.
    let o = m.run(&["run", "--rm", "busybox", "ping", "-c1", "-W1", "ax1"]);
    assert!(!o.status.success());
    let inspect_n1 = m.ok(&["network", "inspect", "n1"]);
    assert!(inspect_n1.contains(&format!("\"{a1}\"")), "{inspect_n1}");
    assert!(
        inspect_n1.contains("\"IPv4Address\": \"172.18.0.2/16\""),
        "{inspect_n1}"
    );

    // connect: a second interface, reachable by its alias there.
    m.ok(&["network", "connect", "--alias", "z", "n2", "ax1"]);
    let addrs = m.ok(&["exec", "ax1", "ip", "-o", "-4", "addr"]);
    assert!(addrs.contains("eth1    inet 10.50.0.1/24"), "{addrs}");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "n2",
            "busybox",
            "sh",
            "-c",
            "ping -c1 -W2 z >/dev/null && echo ok"
        ]),
        "ok\n"
    );
    let (_, err) = fails(&m, &["network", "connect", "n2", "ax1"]);
    assert!(
        err.contains("endpoint with name ax1 already exists in network n2"),
        "{err}"
    );
    let (code, err) = fails(&m, &["network", "rm", "n1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "error while removing network: network n1 id {n1} has active endpoints"
        )),
        "{err}"
    );
    let (_, err) = fails(&m, &["network", "rm", "bridge"]);
    assert!(
        err.contains("bridge is a pre-defined network and cannot be removed"),
        "{err}"
    );
    let (_, err) = fails(&m, &["network", "rm", "nope"]);
    assert!(err.contains("network nope not found"), "{err}");
    let (_, err) = fails(&m, &["run", "--rm", "--network", "nope", "busybox", "true"]);
    assert!(err.contains("network nope not found"), "{err}");
    let (_, err) = fails(
        &m,
        &["run", "--rm", "--network-alias", "x", "busybox", "true"],
    );
    assert!(
        err.contains(
            "network-scoped alias is supported only for containers in user defined networks"
        ),
        "{err}"
    );

    // disconnect: the interface goes, and so does its lease.
    m.ok(&["network", "disconnect", "n2", "ax1"]);
    let addrs = m.ok(&["exec", "ax1", "ip", "-o", "-4", "addr"]);
    assert!(!addrs.contains("10.50.0."), "{addrs}");
    assert_eq!(
        m.ok(&[
            "run",
            "--rm",
            "--network",
            "n2",
            "busybox",
            "sh",
            "-c",
            "ip -o -4 addr show eth0 | grep -o '10.50.0.[0-9]*/'"
        ]),
        "10.50.0.1/\n",
        "the address came back to the pool"
    );

    // rm, then the networks go, with their bridges and rules.
    let bridges = on_host(&m, &["ip", "-o", "link", "show", "type", "bridge"]);
    assert_eq!(bridges.matches(" br-").count(), 2, "{bridges}");
    m.ok(&["rm", "-f", "ax1", "late"]);
    m.ok(&["network", "rm", "n1"]);
    assert_eq!(
        m.ok(&["network", "prune", "-f"]),
        "Deleted Networks:\nn2\n\n"
    );
    assert_eq!(
        m.ok(&["network", "ls", "--format", "{{.Name}}"]),
        "bridge\nhost\nnone\n"
    );
    let bridges = on_host(&m, &["ip", "-o", "link", "show", "type", "bridge"]);
    assert!(!bridges.contains(" br-"), "{bridges}");
    let rules = on_host(&m, &["nft", "list", "ruleset"]);
    assert!(!rules.contains("br-"), "{rules}");
    // The kernel deletes the veths with the containers' namespaces, asynchronously.
    let mut veths = String::new();
    for _ in 0..60 {
        veths = on_host(&m, &["ip", "-o", "link", "show", "type", "veth"]);
        if veths.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(veths.trim(), "", "no veth left");
}

#[test]
fn links_set_docker_variables_and_follow_restarts() {
    let m = Ministry::new();
    m.busybox("busybox");
    let db = m
        .ok(&[
            "run", "-d", "--name", "pgdb", "-e", "PASS=x", "--expose", "5432", "--expose",
            "53/udp", "busybox", "sleep", "120",
        ])
        .trim()
        .to_string();
    let ip = inspect(&m, "{{.NetworkSettings.IPAddress}}", "pgdb");
    let env = m.ok(&[
        "run",
        "--rm",
        "--name",
        "web",
        "--link",
        "pgdb:my-db",
        "busybox",
        "sh",
        "-c",
        "env | grep ^MY_DB | sort",
    ]);
    let want: String = [
        "MY_DB_ENV_PASS=x".to_string(),
        "MY_DB_NAME=/web/my-db".into(),
        format!("MY_DB_PORT=udp://{ip}:53"),
        format!("MY_DB_PORT_53_UDP=udp://{ip}:53"),
        format!("MY_DB_PORT_53_UDP_ADDR={ip}"),
        "MY_DB_PORT_53_UDP_PORT=53".into(),
        "MY_DB_PORT_53_UDP_PROTO=udp".into(),
        format!("MY_DB_PORT_5432_TCP=tcp://{ip}:5432"),
        format!("MY_DB_PORT_5432_TCP_ADDR={ip}"),
        "MY_DB_PORT_5432_TCP_PORT=5432".into(),
        "MY_DB_PORT_5432_TCP_PROTO=tcp".into(),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect();
    assert_eq!(env, want);

    m.ok(&[
        "run", "-d", "--name", "app", "--link", "pgdb", "busybox", "sleep", "120",
    ]);
    assert_eq!(
        inspect(&m, "{{json .HostConfig.Links}}", "app"),
        "[\"/pgdb:/app/pgdb\"]"
    );
    let hosts = m.ok(&["exec", "app", "cat", "/etc/hosts"]);
    assert!(
        hosts.contains(&format!("{ip}\tpgdb {}\n", &db[..12])),
        "{hosts}"
    );
    m.ok(&["exec", "app", "ping", "-c1", "-W2", "pgdb"]);

    // The target stops, another container takes its address, the target comes back
    // elsewhere: the linking container's entry follows.
    m.ok(&["stop", "-t", "0", "pgdb"]);
    m.ok(&["run", "-d", "--name", "squatter", "busybox", "sleep", "120"]);
    assert_eq!(
        inspect(&m, "{{.NetworkSettings.IPAddress}}", "squatter"),
        ip,
        "the stopped target's address was released"
    );
    m.ok(&["start", "pgdb"]);
    let ip2 = inspect(&m, "{{.NetworkSettings.IPAddress}}", "pgdb");
    assert_ne!(ip2, ip);
    let hosts = m.ok(&["exec", "app", "cat", "/etc/hosts"]);
    assert!(
        hosts.contains(&format!("{ip2}\tpgdb {}\n", &db[..12])),
        "{hosts}"
    );
    m.ok(&["exec", "app", "ping", "-c1", "-W2", "pgdb"]);

    // rm -l drops the entry.
    assert_eq!(m.ok(&["rm", "-l", "/app/pgdb"]), "/app/pgdb\n");
    let hosts = m.ok(&["exec", "app", "cat", "/etc/hosts"]);
    assert!(!hosts.contains("\tpgdb "), "{hosts}");
    assert_eq!(inspect(&m, "{{json .HostConfig.Links}}", "app"), "null");

    // Docker's errors for a missing or stopped target.
    let (code, err) = fails(&m, &["run", "--rm", "--link", "nope", "busybox", "true"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("could not get container for nope: No such container: nope"),
        "{err}"
    );
    m.ok(&["stop", "-t", "0", "pgdb"]);
    let (_, err) = fails(
        &m,
        &[
            "run", "--rm", "--name", "w2", "--link", "pgdb", "busybox", "true",
        ],
    );
    assert!(
        err.contains("Cannot link to a non running container: /pgdb AS /w2/pgdb"),
        "{err}"
    );
}

#[test]
fn daemon_network_options_from_flags_and_daemon_json() {
    let m = Ministry::new();
    m.busybox("busybox");
    let conf = m.root.path().join("daemon.json");
    std::fs::write(
        &conf,
        r#"{"bip": "10.77.0.1/24", "fixed-cidr": "10.77.0.128/25", "mtu": 1400,
            "dns": ["9.9.9.9"], "dns-search": ["corp.example"], "ip": "127.0.0.1"}"#,
    )
    .unwrap();
    let out = m.ok(&[
        "run", "--rm", "busybox", "sh", "-c",
        "ip -o -4 addr show eth0 | grep -o 'inet [0-9./]*'; cat /sys/class/net/eth0/mtu; ip route | grep default; grep -v '^#' /etc/resolv.conf",
    ]);
    assert_eq!(
        out,
        "inet 10.77.0.128/24\n1400\ndefault via 10.77.0.1 dev eth0 \nsearch corp.example\nnameserver 9.9.9.9\n"
    );
    // --ip: published ports bind the daemon's default address.
    m.ok(&[
        "run", "-d", "--name", "pub", "-p", "8080:80", "busybox", "sleep", "60",
    ]);
    assert_eq!(m.ok(&["port", "pub"]), "80/tcp -> 127.0.0.1:8080\n");
    m.ok(&["rm", "-f", "pub"]);
    // An option both as a flag and in the file: Docker's refusal.
    let o = m.run(&["--mtu", "1300", "ps"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the following directives are specified both as a flag and in the configuration file: mtu"), "{err}");
    std::fs::write(&conf, "{\"mtu\": \"big\"}").unwrap();
    assert!(
        !m.run(&["ps"]).status.success(),
        "a bad daemon.json is an error"
    );
    std::fs::remove_file(&conf).unwrap();

    // -b: an existing bridge with its own address, used as it is.
    on_host(&m, &["ip", "link", "add", "br9", "type", "bridge"]);
    on_host(&m, &["ip", "addr", "add", "10.88.0.1/24", "dev", "br9"]);
    on_host(&m, &["ip", "link", "set", "br9", "up"]);
    let out = m.ok(&["-b", "br9", "run", "--rm", "busybox", "sh", "-c", "ip -o -4 addr show eth0 | grep -o 'inet [0-9./]*'; ping -c1 -W2 10.88.0.1 >/dev/null && echo gw"]);
    assert_eq!(out, "inet 10.88.0.2/24\ngw\n");
    let o = m.run(&["-b", "nobr", "run", "--rm", "busybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("bridge device with non default name nobr must be created manually"));
    // --iptables=false: no rules, so no published ports.
    let o = m.run(&[
        "--iptables=false",
        "run",
        "--rm",
        "-p",
        "80",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn icc_false_isolates_containers_except_links() {
    let m = Ministry::new();
    m.busybox("busybox");
    let web = "mkdir /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www";
    m.ok(&[
        "--icc=false",
        "run",
        "-d",
        "--name",
        "web",
        "--expose",
        "80",
        "busybox",
        "sh",
        "-c",
        web,
    ]);
    let ip = inspect(&m, "{{.NetworkSettings.IPAddress}}", "web");
    // The test host still reaches it (only container-to-container traffic is cut).
    for _ in 0..50 {
        let mut c = Command::new("timeout");
        c.args(["3", "busybox", "wget", "-qO-", &format!("http://{ip}/")]);
        m.enter(&mut c);
        if c.output().unwrap().status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let fetch = format!("timeout 3 wget -qO- http://{ip}/ || echo blocked");
    assert_eq!(
        m.ok(&["--icc=false", "run", "--rm", "busybox", "sh", "-c", &fetch]),
        "blocked\n"
    );
    assert_eq!(
        m.ok(&[
            "--icc=false",
            "run",
            "--rm",
            "--link",
            "web",
            "busybox",
            "sh",
            "-c",
            &fetch
        ]),
        "hi\n",
        "a link opens the target's exposed ports"
    );
    // Back to --icc=true: the drop goes.
    assert_eq!(
        m.ok(&["run", "--rm", "busybox", "sh", "-c", &fetch]),
        "hi\n"
    );
    m.ok(&["rm", "-f", "web"]);
    let rules = on_host(&m, &["nft", "list", "table", "bridge", "ministry"]);
    assert!(
        !rules.contains("accept comment"),
        "no link rule left: {rules}"
    );
}
