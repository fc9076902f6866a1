//! Capability names and Docker's default set.

use caps::Capability;

use crate::error::{Error, Result};

/// Docker's default capabilities (SECURITY.md: exactly these 14).
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Parses `NET_ADMIN`, `cap_net_admin` or `CAP_NET_ADMIN`.
pub fn parse(name: &str) -> Result<Capability> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    full.parse::<Capability>()
        .map_err(|_| Error::InvalidArgument(format!("invalid capability: {name}")))
}

/// Every capability this machine's bounding set allows (what `--privileged` gets: a
/// machine without CAP_SYS_RESOURCE, like this one, must still run privileged containers).
pub fn all_available() -> Vec<String> {
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_default();
    let mut v: Vec<String> = bounding.iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

/// Docker's `--cap-add`/`--cap-drop` applied to `base` (names with or without `CAP_`,
/// and `ALL`).
pub fn adjust(base: &[String], add: &[String], drop: &[String]) -> Result<Vec<String>> {
    let all = |v: &[String]| v.iter().any(|c| c.eq_ignore_ascii_case("ALL"));
    let mut set: Vec<String> = if all(drop) { Vec::new() } else { base.to_vec() };
    if all(add) {
        set = all_available();
    } else {
        for a in add {
            let c = parse(a)?.to_string();
            if !set.contains(&c) {
                set.push(c);
            }
        }
    }
    if !all(drop) {
        for d in drop {
            let c = parse(d)?.to_string();
            set.retain(|x| *x != c);
        }
    }
    set.sort();
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_adjustments() {
        assert_eq!(parse("net_admin").unwrap(), Capability::CAP_NET_ADMIN);
        assert_eq!(parse("CAP_KILL").unwrap(), Capability::CAP_KILL);
        assert!(parse("NOPE").is_err());
        let base: Vec<String> = DOCKER_DEFAULT.iter().map(|s| s.to_string()).collect();
        let v = adjust(&base, &["NET_ADMIN".into()], &["chown".into()]).unwrap();
        assert!(v.contains(&"CAP_NET_ADMIN".to_string()) && !v.contains(&"CAP_CHOWN".to_string()));
        assert_eq!(
            adjust(&base, &["KILL".into()], &["ALL".into()]).unwrap(),
            vec!["CAP_KILL".to_string()]
        );
    }
}
