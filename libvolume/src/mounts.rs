//! What a container asks for (`-v`, `--mount`, as Docker parses them) and what it gets (a
//! [`MountPoint`], shown by `inspect` as `Mounts` and turned into an OCI mount).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The kind of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// A host path.
    Bind,
    /// A named or anonymous volume.
    Volume,
    /// A fresh tmpfs.
    Tmpfs,
}

impl MountType {
    fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Volume => "volume",
            MountType::Tmpfs => "tmpfs",
        }
    }
}

/// A parsed `-v` or `--mount` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The kind.
    pub kind: MountType,
    /// A bind's host path, a volume's name (empty: anonymous), nothing for tmpfs.
    pub source: String,
    /// Where in the container.
    pub target: String,
    /// Read-only.
    pub readonly: bool,
    /// The mode text as `inspect` shows it (`ro`, `z`, ...).
    pub mode: String,
    /// Bind propagation (`rprivate` unless given).
    pub propagation: String,
    /// Do not copy the image's content into a new volume.
    pub nocopy: bool,
    /// From `-v` (whose missing bind sources are created, as Docker does), not `--mount`.
    pub from_volume_flag: bool,
    /// tmpfs options (`size=`, `mode=`).
    pub tmpfs_options: Vec<String>,
    /// `volume-label=` values for a volume created by this mount.
    pub volume_labels: BTreeMap<String, String>,
    /// `volume-opt=` values (driver options) for a volume created by this mount.
    pub volume_options: BTreeMap<String, String>,
}

const PROPAGATIONS: [&str; 6] = [
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

fn invalid_spec(raw: &str, kind: MountType, why: &str) -> Error {
    Error::Invalid(format!(
        "invalid volume specification: '{raw}': invalid mount config for type \"{}\": {why}",
        kind.name()
    ))
}

fn check_target(raw: &str, kind: MountType, target: &str) -> Result<()> {
    if !target.starts_with('/') {
        return Err(invalid_spec(
            raw,
            kind,
            &format!("invalid mount path: '{target}' mount path must be absolute"),
        ));
    }
    if Path::new(target).components().count() == 1 {
        return Err(invalid_spec(
            raw,
            kind,
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(())
}

/// The check Docker's client makes of `-v` before asking the daemon: no empty section
/// between colons.
pub fn check_volume_sections(raw: &str) -> Result<()> {
    let parts: Vec<&str> = raw.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) && parts.len() > 1 {
        return Err(Error::Invalid(format!(
            "invalid spec: {raw}: empty section between colons"
        )));
    }
    Ok(())
}

/// Parses `-v` (`--volume`): `/ctr`, `name:/ctr`, `/host:/ctr`, each with an optional
/// `:mode` list (`ro`/`rw`, a propagation, `z`/`Z`, `nocopy`).
pub fn parse_volume_flag(raw: &str) -> Result<MountSpec> {
    check_volume_sections(raw)?;
    let parts: Vec<&str> = raw.split(':').collect();
    let valid_mode = |m: &str| parse_mode(m).is_some();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [a, b] if valid_mode(b) && !b.starts_with('/') => ("", *a, *b),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => {
            return Err(Error::Invalid(format!(
                "invalid volume specification: '{raw}'"
            )))
        }
    };
    let Some((readonly, propagation, nocopy)) = parse_mode(mode) else {
        return Err(Error::Invalid(format!("invalid mode: {mode}")));
    };
    let kind = if source.starts_with('/') {
        MountType::Bind
    } else {
        MountType::Volume
    };
    check_target(raw, kind, target)?;
    if kind == MountType::Volume && !source.is_empty() {
        crate::store::validate_name(source)?;
    }
    let mode = if kind == MountType::Volume && !source.is_empty() && mode.is_empty() {
        "z".to_string()
    } else {
        mode.to_string()
    };
    Ok(MountSpec {
        kind,
        source: source.to_string(),
        target: clean(target),
        readonly,
        mode,
        propagation: match (kind, propagation) {
            (MountType::Bind, None) => "rprivate".into(),
            (_, p) => p.unwrap_or("").into(),
        },
        nocopy,
        from_volume_flag: true,
        tmpfs_options: Vec::new(),
        volume_labels: BTreeMap::new(),
        volume_options: BTreeMap::new(),
    })
}

/// A `-v` mode list: (read-only, propagation, nocopy); `None` if not valid.
fn parse_mode(mode: &str) -> Option<(bool, Option<&str>, bool)> {
    let (mut rw, mut prop, mut nocopy, mut label) = (None, None, false, false);
    if mode.is_empty() {
        return Some((false, None, false));
    }
    for m in mode.split(',') {
        match m {
            "ro" | "rw" if rw.is_none() => rw = Some(m == "ro"),
            "z" | "Z" if !label => label = true,
            "nocopy" if !nocopy => nocopy = true,
            p if PROPAGATIONS.contains(&p) && prop.is_none() => prop = Some(p),
            _ => return None,
        }
    }
    Some((rw.unwrap_or(false), prop, nocopy))
}

fn clean(target: &str) -> String {
    let mut out = String::new();
    for c in Path::new(target).components().skip(1) {
        out.push('/');
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    if out.is_empty() {
        "/".into()
    } else {
        out
    }
}

fn parse_bool(v: Option<&str>, raw: &str, key: &str) -> Result<bool> {
    match v {
        None | Some("1") | Some("true") => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(other) => Err(Error::Invalid(format!(
            "invalid argument \"{raw}\" for \"--mount\" flag: invalid value for {key}: {other}"
        ))),
    }
}

/// Parses `--mount type=bind|volume|tmpfs,source=...,target=...,readonly,...`.
pub fn parse_mount_flag(raw: &str) -> Result<MountSpec> {
    let flag_err = |why: String| {
        Error::Invalid(format!(
            "invalid argument \"{raw}\" for \"--mount\" flag: {why}"
        ))
    };
    let (mut kind, mut source, mut target) = ("volume".to_string(), String::new(), None);
    let (mut readonly, mut propagation, mut nocopy) = (false, None, false);
    let (mut tmpfs, mut labels, mut opts) = (Vec::new(), BTreeMap::new(), BTreeMap::new());
    let mut tmpfs_given = false;
    for field in raw.split(',') {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string).ok_or_else(|| {
                flag_err(format!("invalid field '{field}' must be a key=value pair"))
            })
        };
        match k.as_str() {
            "type" => kind = need(v)?,
            "source" | "src" => source = need(v)?,
            "target" | "destination" | "dst" => target = Some(need(v)?),
            "readonly" | "ro" => readonly = parse_bool(v, raw, &k)?,
            "bind-propagation" => propagation = Some(need(v)?),
            "volume-nocopy" => nocopy = parse_bool(v, raw, &k)?,
            "volume-label" => {
                let l = need(v)?;
                let (a, b) = l.split_once('=').unwrap_or((&l, ""));
                labels.insert(a.to_string(), b.to_string());
            }
            "volume-opt" => {
                let l = need(v)?;
                let (a, b) = l.split_once('=').unwrap_or((&l, ""));
                opts.insert(a.to_string(), b.to_string());
            }
            "volume-driver" => {
                if need(v)? != "local" {
                    return Err(Error::Invalid(format!(
                        "only the local volume driver exists: {field}"
                    )));
                }
            }
            "tmpfs-size" => {
                tmpfs_given = true;
                tmpfs.push(format!("size={}", need(v)?));
            }
            "tmpfs-mode" => {
                tmpfs_given = true;
                tmpfs.push(format!("mode={}", need(v)?));
            }
            "consistency" | "bind-nonrecursive" => {
                need(v)?;
            }
            _ if v.is_none() => {
                return Err(flag_err(format!(
                    "invalid field '{field}' must be a key=value pair"
                )))
            }
            _ => return Err(flag_err(format!("unexpected key '{k}' in '{field}'"))),
        }
    }
    let Some(target) = target else {
        return Err(flag_err("target is required".into()));
    };
    let typed =
        |why: &str| Error::Invalid(format!("invalid mount config for type \"{kind}\": {why}"));
    let kind_t = match kind.as_str() {
        "bind" => MountType::Bind,
        "volume" => MountType::Volume,
        "tmpfs" => MountType::Tmpfs,
        _ => return Err(typed("mount type unknown")),
    };
    if !target.starts_with('/') {
        return Err(typed(&format!(
            "invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    match kind_t {
        MountType::Bind if source.is_empty() => {
            return Err(typed("field Source must not be empty"))
        }
        MountType::Bind if !source.starts_with('/') => {
            return Err(typed(&format!(
                "invalid mount path: '{source}' mount path must be absolute"
            )))
        }
        MountType::Tmpfs if !source.is_empty() => {
            return Err(typed("field Source must not be specified"))
        }
        MountType::Volume if !source.is_empty() => crate::store::validate_name(&source)?,
        _ => {}
    }
    if propagation.is_some() && kind_t != MountType::Bind {
        return Err(typed("field BindOptions must not be specified"));
    }
    if tmpfs_given && kind_t != MountType::Tmpfs {
        return Err(typed("field TmpfsOptions must not be specified"));
    }
    if let Some(p) = &propagation {
        if !PROPAGATIONS.contains(&p.as_str()) {
            return Err(flag_err(format!("invalid propagation mode: {p}")));
        }
    }
    Ok(MountSpec {
        kind: kind_t,
        mode: if kind_t == MountType::Volume && !source.is_empty() {
            "z".into()
        } else {
            String::new()
        },
        source,
        target: clean(&target),
        readonly,
        propagation: match kind_t {
            MountType::Bind => propagation.unwrap_or_else(|| "rprivate".into()),
            _ => String::new(),
        },
        nocopy,
        from_volume_flag: false,
        tmpfs_options: tmpfs,
        volume_labels: labels,
        volume_options: opts,
    })
}

/// A mount a container has: Docker's `Mounts` entry, plus what ministry needs to rebuild it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// The kind.
    #[serde(rename = "Type")]
    pub kind: MountType,
    /// A volume's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The host path (empty for tmpfs).
    pub source: String,
    /// Where in the container.
    pub destination: String,
    /// A volume's driver.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// The mode text (`ro`, `z`, ...).
    pub mode: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Bind propagation.
    pub propagation: String,
    /// tmpfs options (ministry's, not in Docker's shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs_options: Vec<String>,
}

impl MountPoint {
    /// Docker's `Mounts` entry (without ministry's own fields).
    pub fn docker_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("TmpfsOptions");
        }
        v
    }

    /// The OCI mount libruntime performs: a recursive, private (unless asked otherwise) bind
    /// of the source, or a `nosuid,nodev,noexec` tmpfs.
    pub fn to_oci(&self) -> oci_spec::runtime::Mount {
        let mut m = oci_spec::runtime::Mount::default();
        m.set_destination(self.destination.clone().into());
        let rw = if self.rw { "rw" } else { "ro" };
        match self.kind {
            MountType::Tmpfs => {
                m.set_typ(Some("tmpfs".into()));
                m.set_source(Some("tmpfs".into()));
                let mut o: Vec<String> =
                    vec![rw.into(), "nosuid".into(), "nodev".into(), "noexec".into()];
                o.extend(self.tmpfs_options.iter().cloned());
                m.set_options(Some(o));
            }
            MountType::Bind | MountType::Volume => {
                m.set_typ(Some("bind".into()));
                m.set_source(Some(self.source.clone().into()));
                let prop = if self.propagation.is_empty() {
                    "rprivate"
                } else {
                    &self.propagation
                };
                m.set_options(Some(vec!["rbind".into(), rw.into(), prop.into()]));
            }
        }
        m
    }
}

/// Mounts in the order they must be made: parents before what is mounted inside them.
pub fn sort_for_mounting(mounts: &mut [MountPoint]) {
    mounts.sort_by_key(|m| Path::new(&m.destination).components().count());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flag_forms() {
        let v = parse_volume_flag("/anon").unwrap();
        assert_eq!(
            (v.kind, v.source.as_str(), v.target.as_str()),
            (MountType::Volume, "", "/anon")
        );
        let v = parse_volume_flag("data:/x").unwrap();
        assert_eq!(
            (v.kind, v.source.as_str(), v.mode.as_str()),
            (MountType::Volume, "data", "z")
        );
        let v = parse_volume_flag("/h:/x:ro").unwrap();
        assert_eq!(
            (v.kind, v.readonly, v.propagation.as_str()),
            (MountType::Bind, true, "rprivate")
        );
        let v = parse_volume_flag("/h:/x:ro,z,rshared").unwrap();
        assert_eq!(v.propagation, "rshared");
        let v = parse_volume_flag("/x:ro").unwrap();
        assert_eq!(
            (v.kind, v.target.as_str(), v.readonly),
            (MountType::Volume, "/x", true)
        );
        assert!(parse_volume_flag("vv:/x:nocopy").unwrap().nocopy);
        assert_eq!(parse_volume_flag("/h/:/x/y/").unwrap().target, "/x/y");
    }

    #[test]
    fn volume_flag_errors_are_dockers() {
        let e = |s: &str| parse_volume_flag(s).unwrap_err().to_string();
        assert_eq!(e("a:/b:ro:x"), "invalid volume specification: 'a:/b:ro:x'");
        assert_eq!(e(":/x"), "invalid spec: :/x: empty section between colons");
        assert_eq!(
            e("/a:/"),
            "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
        assert_eq!(
            e("/a:rel"),
            "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(e("/t:/x:ro,rw"), "invalid mode: ro,rw");
        assert!(e("bad/name:/x").contains("includes invalid characters for a local volume name"));
    }

    #[test]
    fn mount_flag_forms_and_errors() {
        let m = parse_mount_flag("type=volume,src=vv,dst=/x,readonly,volume-nocopy").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.readonly, m.nocopy),
            (MountType::Volume, "vv", true, true)
        );
        let m = parse_mount_flag("type=bind,src=/tmp,dst=/x,bind-propagation=rshared").unwrap();
        assert_eq!(m.propagation, "rshared");
        let m = parse_mount_flag("type=tmpfs,dst=/x,tmpfs-size=1m,tmpfs-mode=1700").unwrap();
        assert_eq!(m.tmpfs_options, vec!["size=1m", "mode=1700"]);
        let e = |s: &str| parse_mount_flag(s).unwrap_err().to_string();
        assert_eq!(
            e("type=bind,target=/x"),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            e("type=bind,source=/tmp"),
            "invalid argument \"type=bind,source=/tmp\" for \"--mount\" flag: target is required"
        );
        assert_eq!(e("type=volume,target=/x,bogus=1"), "invalid argument \"type=volume,target=/x,bogus=1\" for \"--mount\" flag: unexpected key 'bogus' in 'bogus=1'");
        assert_eq!(e("target"), "invalid argument \"target\" for \"--mount\" flag: invalid field 'target' must be a key=value pair");
        assert_eq!(
            e("type=foo,target=/x"),
            "invalid mount config for type \"foo\": mount type unknown"
        );
        assert_eq!(
            e("type=tmpfs,source=a,target=/x"),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
    }

    #[test]
    fn oci_mounts() {
        let mp = MountPoint {
            kind: MountType::Volume,
            name: "v".into(),
            source: "/var/lib/ministry/volumes/v/_data".into(),
            destination: "/data".into(),
            driver: "local".into(),
            mode: "ro".into(),
            rw: false,
            propagation: String::new(),
            tmpfs_options: vec![],
        };
        let m = mp.to_oci();
        assert_eq!(
            m.options().clone().unwrap(),
            vec!["rbind", "ro", "rprivate"]
        );
        let j = mp.docker_json();
        assert_eq!(
            j.to_string(),
            r#"{"Type":"volume","Name":"v","Source":"/var/lib/ministry/volumes/v/_data","Destination":"/data","Driver":"local","Mode":"ro","RW":false,"Propagation":""}"#
        );
    }
}
