//! The name files every container gets, as Docker writes them.

use std::net::IpAddr;

/// `/etc/hostname`.
pub fn hostname(name: &str) -> String {
    format!("{name}\n")
}

/// `/etc/hosts`: Docker's localhost lines, the container's own address and name (when it
/// has an address), then `--add-host` entries `(name, address)`.
pub fn hosts(own: Option<(&str, &str)>, extra: &[(String, String)]) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for (name, addr) in extra {
        s.push_str(&format!("{addr}\t{name}\n"));
    }
    if let Some((addr, name)) = own {
        s.push_str(&format!("{addr}\t{name}\n"));
    }
    s
}

/// Parses `--add-host name:address` (the address may be IPv6, so the first `:` splits).
pub fn parse_add_host(s: &str) -> Result<(String, String), String> {
    let (name, addr) = s
        .split_once([':', '='])
        .ok_or_else(|| format!("bad format for add-host: {s:?}"))?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    addr.parse::<IpAddr>()
        .map_err(|_| format!("invalid IP address in add-host: {addr:?}"))?;
    if name.is_empty() {
        return Err(format!("bad format for add-host: {s:?}"));
    }
    Ok((name.to_string(), addr.to_string()))
}

fn is_loopback(ns: &str) -> bool {
    ns.parse::<IpAddr>()
        .map(|a| a.is_loopback())
        .unwrap_or(false)
}

/// `/etc/resolv.conf`: from `--dns`, `--dns-search`, `--dns-option` where given, the rest
/// from the host's file; loopback name servers (unreachable from the container) are dropped,
/// and Google's public servers used when none is left, as Docker does.
pub fn resolv_conf(host: &str, dns: &[String], search: &[String], options: &[String]) -> String {
    let mut host_ns = Vec::new();
    let mut host_search = Vec::new();
    let mut host_opts = Vec::new();
    for line in host.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => host_ns.extend(f.next().map(str::to_string)),
            Some("search") | Some("domain") => host_search = f.map(str::to_string).collect(),
            Some("options") => host_opts.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    let mut ns: Vec<String> = if dns.is_empty() {
        host_ns.into_iter().filter(|n| !is_loopback(n)).collect()
    } else {
        dns.to_vec()
    };
    if ns.is_empty() {
        ns = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    let search = if search.is_empty() {
        host_search
    } else {
        search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect()
    };
    let opts = if options.is_empty() {
        host_opts
    } else {
        options.to_vec()
    };
    let mut s = String::new();
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    for n in ns {
        s.push_str(&format!("nameserver {n}\n"));
    }
    if !opts.is_empty() {
        s.push_str(&format!("options {}\n", opts.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_like_docker() {
        assert_eq!(hostname("myhost"), "myhost\n");
        let h = hosts(None, &[("db".into(), "10.0.0.5".into())]);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
        assert!(h.ends_with("ff02::2\tip6-allrouters\n10.0.0.5\tdb\n"));
        assert!(hosts(Some(("172.17.0.2", "abc")), &[]).ends_with("172.17.0.2\tabc\n"));
        assert_eq!(
            parse_add_host("db:10.0.0.5").unwrap(),
            ("db".into(), "10.0.0.5".into())
        );
        assert_eq!(
            parse_add_host("v6:[::1]").unwrap(),
            ("v6".into(), "::1".into())
        );
        assert!(parse_add_host("db:notanip").is_err());
    }

    #[test]
    fn resolv_conf_like_docker() {
        let host =
            "nameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch corp.example\noptions edns0\n";
        assert_eq!(
            resolv_conf(host, &[], &[], &[]),
            "search corp.example\nnameserver 10.255.255.53\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf("nameserver 127.0.0.1\n", &[], &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        assert_eq!(
            resolv_conf(host, &["1.1.1.1".into()], &["example.com".into()], &[]),
            "search example.com\nnameserver 1.1.1.1\noptions edns0\n"
        );
    }
}
