//! Legacy links (`--link name:alias`): the environment variables Docker sets in the linking
//! container and the hosts entry naming the target.

use std::net::Ipv4Addr;

/// A link to set up: the target's name and address, its exposed ports and environment.
#[derive(Debug, Clone)]
pub struct LinkTarget<'a> {
    /// The target's name (without `/`).
    pub name: &'a str,
    /// The alias it is known by (the name when no alias was given).
    pub alias: &'a str,
    /// The target's address.
    pub ip: Ipv4Addr,
    /// Its exposed ports, `port/proto`.
    pub exposed: Vec<String>,
    /// Its configured environment, `K=V`.
    pub env: &'a [String],
}

/// Parses `--link name[:alias]` into `(name, alias)`.
pub fn parse_link(s: &str) -> Result<(String, String), String> {
    let (name, alias) = match s.split_once(':') {
        Some((n, a)) => (n, a),
        None => (s, s),
    };
    let name = name.trim_start_matches('/');
    let alias = alias.trim_start_matches('/');
    if name.is_empty() || alias.is_empty() {
        return Err(format!("invalid link format: {s:?}"));
    }
    Ok((name.to_string(), alias.to_string()))
}

/// The variables Docker sets for a link from the container named `from`:
/// `ALIAS_NAME=/from/alias`, `ALIAS_PORT` (the lowest exposed port), and per port
/// `ALIAS_PORT_<port>_<PROTO>` with `_ADDR`, `_PORT`, `_PROTO`; then `ALIAS_ENV_<K>` for the
/// target's environment except `HOME` and `PATH`.
pub fn link_env(from: &str, t: &LinkTarget<'_>) -> Vec<String> {
    let prefix: String = t
        .alias
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut ports: Vec<(u16, String)> = t
        .exposed
        .iter()
        .filter_map(|k| {
            let (p, proto) = k.split_once('/').unwrap_or((k, "tcp"));
            Some((p.parse().ok()?, proto.to_string()))
        })
        .collect();
    // Docker's order: by number, tcp before udp.
    ports.sort_by(|a, b| a.0.cmp(&b.0).then((a.1 != "tcp").cmp(&(b.1 != "tcp"))));
    let ip = t.ip;
    let mut env = vec![format!("{prefix}_NAME=/{from}/{}", t.alias)];
    if let Some((p, proto)) = ports.first() {
        env.push(format!("{prefix}_PORT={proto}://{ip}:{p}"));
    }
    for (p, proto) in &ports {
        let k = format!("{prefix}_PORT_{p}_{}", proto.to_ascii_uppercase());
        env.push(format!("{k}={proto}://{ip}:{p}"));
        env.push(format!("{k}_ADDR={ip}"));
        env.push(format!("{k}_PORT={p}"));
        env.push(format!("{k}_PROTO={proto}"));
    }
    for kv in t.env {
        if let Some((k, v)) = kv.split_once('=') {
            if k != "HOME" && k != "PATH" {
                env.push(format!("{prefix}_ENV_{k}={v}"));
            }
        }
    }
    env
}

/// The hosts line naming a link's target: `ip alias short-id name` (the name only when it
/// differs from the alias), as Docker writes it.
pub fn hosts_line(ip: Ipv4Addr, alias: &str, id: &str, name: &str) -> String {
    let short = &id[..id.len().min(12)];
    if alias == name {
        format!("{ip}\t{alias} {short}\n")
    } else {
        format!("{ip}\t{alias} {short} {name}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_link_variables() {
        // Compared with Docker 20.10: `docker run --link db:my-db` to a container run with
        // `-e FOO=bar -e PASS=x --expose 5432 --expose 53/udp` (image ENV PATH=/bin).
        let env = ["PATH=/bin".to_string(), "FOO=bar".into(), "PASS=x".into()];
        let t = LinkTarget {
            name: "db",
            alias: "my-db",
            ip: Ipv4Addr::new(172, 17, 0, 2),
            exposed: vec!["5432/tcp".into(), "53/udp".into()],
            env: &env,
        };
        let mut got = link_env("wizardly_cohen", &t);
        got.sort();
        let want = [
            "MY_DB_ENV_FOO=bar",
            "MY_DB_ENV_PASS=x",
            "MY_DB_NAME=/wizardly_cohen/my-db",
            "MY_DB_PORT=udp://172.17.0.2:53",
            "MY_DB_PORT_53_UDP=udp://172.17.0.2:53",
            "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
            "MY_DB_PORT_53_UDP_PORT=53",
            "MY_DB_PORT_53_UDP_PROTO=udp",
            "MY_DB_PORT_5432_TCP=tcp://172.17.0.2:5432",
            "MY_DB_PORT_5432_TCP_ADDR=172.17.0.2",
            "MY_DB_PORT_5432_TCP_PORT=5432",
            "MY_DB_PORT_5432_TCP_PROTO=tcp",
        ];
        assert_eq!(got, want);
        assert_eq!(
            hosts_line(t.ip, "my-db", "50fd314ed2d73f0780c9", "db"),
            "172.17.0.2\tmy-db 50fd314ed2d7 db\n"
        );
        assert_eq!(parse_link("db").unwrap(), ("db".into(), "db".into()));
        assert_eq!(parse_link("/db:x").unwrap(), ("db".into(), "x".into()));
        assert!(parse_link(":x").is_err());
    }
}
