//! `--user` / the image's `User`: `uid`, `uid:gid`, `name`, `name:group`, resolved against
//! the image's own `/etc/passwd` and `/etc/group` (never the host's, never NSS).

use crate::engine::Error;

/// A resolved user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

/// Resolves `spec` (empty means root) with the image's passwd and group files.
pub fn resolve(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ResolvedUser, Error> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entries: Vec<Vec<&str>> = passwd
        .unwrap_or_default()
        .lines()
        .map(|l| l.split(':').collect())
        .filter(|f: &Vec<&str>| f.len() >= 7)
        .collect();
    let by_name = entries.iter().find(|f| f[0] == user);
    let (uid, mut gid, home) = match (user.parse::<u32>(), by_name) {
        (_, Some(f)) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            f[5].to_string(),
        ),
        (Ok(uid), None) => {
            let e = entries
                .iter()
                .find(|f| f[2].parse::<u32>().ok() == Some(uid));
            (
                uid,
                e.and_then(|f| f[3].parse().ok()).unwrap_or(0),
                e.map(|f| f[5].to_string()).unwrap_or_else(|| "/".into()),
            )
        }
        (Err(_), None) => return Err(Error::UnknownUser(user.to_string())),
    };
    let groups_file: Vec<Vec<&str>> = group
        .unwrap_or_default()
        .lines()
        .map(|l| l.split(':').collect())
        .filter(|f: &Vec<&str>| f.len() >= 4)
        .collect();
    if let Some(g) = grp {
        gid = match (g.parse::<u32>(), groups_file.iter().find(|f| f[0] == g)) {
            (_, Some(f)) => f[2].parse().unwrap_or(0),
            (Ok(n), None) => n,
            (Err(_), None) => {
                return Err(Error::InvalidConfig(format!(
                    "unable to find group {g}: no matching entries in group file"
                )))
            }
        };
    }
    let name = by_name.map(|f| f[0]).unwrap_or(user);
    // The primary group is a supplementary group too, as `id` shows in Docker containers.
    let mut groups: Vec<u32> = std::iter::once(gid)
        .chain(
            groups_file
                .iter()
                .filter(|f| f[3].split(',').any(|m| m == name))
                .filter_map(|f| f[2].parse().ok()),
        )
        .collect();
    groups.sort();
    groups.dedup();
    Ok(ResolvedUser {
        uid,
        gid,
        groups,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nsvc:x:100:101:svc:/srv:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nnogroup:x:65534:\nsvc:x:101:\nextra:x:200:svc,other\n";

    #[test]
    fn resolves_like_docker() {
        assert_eq!(
            resolve("", Some(PASSWD), Some(GROUP)).unwrap(),
            ResolvedUser {
                uid: 0,
                gid: 0,
                groups: vec![0],
                home: "/root".into()
            }
        );
        assert_eq!(
            resolve("svc", Some(PASSWD), Some(GROUP)).unwrap(),
            ResolvedUser {
                uid: 100,
                gid: 101,
                groups: vec![101, 200],
                home: "/srv".into()
            }
        );
        assert_eq!(resolve("1234:5", Some(PASSWD), Some(GROUP)).unwrap().gid, 5);
        assert_eq!(
            resolve("nobody:svc", Some(PASSWD), Some(GROUP))
                .unwrap()
                .gid,
            101
        );
        assert!(resolve("ghost", Some(PASSWD), Some(GROUP))
            .unwrap_err()
            .to_string()
            .contains("unable to find user ghost"));
        assert_eq!(
            resolve("1234", None, None).unwrap(),
            ResolvedUser {
                uid: 1234,
                gid: 0,
                groups: vec![0],
                home: "/".into()
            }
        );
    }
}
