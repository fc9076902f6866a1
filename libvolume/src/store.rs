//! The local volume driver's store: `<dir>/<name>/_data` holds a volume's content (Docker's
//! layout), `<dir>/<name>/volume.json` its record. A volume appears whole or not at all: it
//! is made under a temporary name and renamed into place, and removed by renaming it away
//! first. Creates and removes take a store-wide `flock`, so concurrent CLI invocations agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libimage::fsutil::{write_atomic, LockGuard};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mountinfo;

/// A volume, serialised in the shape of `docker volume inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// Creation time (RFC 3339, seconds).
    pub created_at: String,
    /// Always `local`.
    pub driver: String,
    /// `--label` values (`null` when none, as Docker prints it).
    #[serde(with = "null_if_empty")]
    pub labels: BTreeMap<String, String>,
    /// Where the content is on the host.
    pub mountpoint: PathBuf,
    /// The name (64 hex characters for an anonymous volume).
    pub name: String,
    /// Driver options (`type`, `device`, `o`), `null` when none.
    #[serde(with = "null_if_empty")]
    pub options: BTreeMap<String, String>,
    /// Always `local`.
    pub scope: String,
    /// Made for a container's `-v /path` or an image's `VOLUME` (not shown by Docker; `rm
    /// -v` and `volume prune` remove only these).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
}

mod null_if_empty {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
        if m.is_empty() {
            s.serialize_none()
        } else {
            m.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
    }
}

/// What `volume create` takes.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The name; none makes an anonymous volume with a random 64-hex name.
    pub name: Option<String>,
    /// The driver; only `local` (the default) exists.
    pub driver: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The local driver's options: `type` (a file system type, `tmpfs`, or `none` with
    /// `o=bind`), `device`, `o` (mount options).
    pub options: BTreeMap<String, String>,
}

/// Docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !name.chars().all(ok_char) {
        return Err(Error::Invalid(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    if name.len() < 2 {
        return Err(Error::Invalid(format!(
            "create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )));
    }
    Ok(())
}

fn random_name() -> Result<String> {
    let mut b = [0u8; 32];
    // SAFETY: valid buffer of that length.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(Error::io("getrandom", "", std::io::Error::last_os_error()));
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn seconds_rfc3339(nanos: &str) -> String {
    match nanos.split_once('.') {
        Some((s, _)) => format!("{s}Z"),
        None => nanos.to_string(),
    }
}

/// The local driver's options, checked: (type, device, mount flags, mount data).
struct DriverMount {
    typ: String,
    device: String,
    flags: libc::c_ulong,
    data: String,
}

fn driver_mount(name: &str, opts: &BTreeMap<String, String>) -> Result<Option<DriverMount>> {
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o") {
            return Err(Error::Invalid(format!(
                "create {name}: invalid option key: {k:?}"
            )));
        }
    }
    let Some(typ) = opts.get("type").filter(|t| !t.is_empty()) else {
        if opts.contains_key("device") || opts.contains_key("o") {
            return Err(Error::Invalid(format!(
                "create {name}: missing required option: \"type\""
            )));
        }
        return Ok(None);
    };
    let device = opts.get("device").cloned().unwrap_or_default();
    if device.is_empty() {
        return Err(Error::Invalid(format!(
            "create {name}: missing required option: \"device\""
        )));
    }
    let (mut flags, mut data) = (0, Vec::new());
    for o in opts.get("o").map(String::as_str).unwrap_or("").split(',') {
        match o {
            "" | "rw" => {}
            "ro" => flags |= libc::MS_RDONLY,
            "nosuid" => flags |= libc::MS_NOSUID,
            "nodev" => flags |= libc::MS_NODEV,
            "noexec" => flags |= libc::MS_NOEXEC,
            "bind" => flags |= libc::MS_BIND,
            "rbind" => flags |= libc::MS_BIND | libc::MS_REC,
            other => data.push(other),
        }
    }
    if typ == "none" && flags & libc::MS_BIND == 0 {
        return Err(Error::Invalid(format!(
            "create {name}: type \"none\" needs o=bind"
        )));
    }
    if flags & libc::MS_BIND != 0 && !Path::new(&device).is_absolute() {
        return Err(Error::Invalid(format!(
            "create {name}: bind device must be an absolute path: {device}"
        )));
    }
    Ok(Some(DriverMount {
        typ: typ.clone(),
        device,
        flags,
        data: data.join(","),
    }))
}

/// The volumes of one data root.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
}

impl VolumeStore {
    /// Opens (creating) the store in `dir` (Docker's is `<data-root>/volumes`).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::DirBuilder::new()
            .recursive(true)
            .create(&dir)
            .map_err(|e| Error::io("create", &dir, e))?;
        let store = VolumeStore { dir };
        store.clean_leftovers()?;
        Ok(store)
    }

    /// Removes what a create or remove killed midway left (both work under the lock, so
    /// nothing found under it is in progress).
    fn clean_leftovers(&self) -> Result<()> {
        let _g = self.lock()?;
        for e in std::fs::read_dir(&self.dir).map_err(|e| Error::io("read", &self.dir, e))? {
            let e = e.map_err(|e| Error::io("read", &self.dir, e))?;
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(".creating-") || n.starts_with(".removing-") {
                std::fs::remove_dir_all(e.path())
                    .map_err(|err| Error::io("remove", e.path(), err))?;
            }
        }
        Ok(())
    }

    fn lock(&self) -> Result<LockGuard> {
        Ok(LockGuard::lock(&self.dir.join(".lock"))?)
    }

    fn record(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("volume.json")
    }

    /// Where a volume's content lives (whether or not it exists).
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("_data")
    }

    /// Creates a volume, or returns the existing one of that name (as Docker does); the
    /// flag tells whether it was made now.
    pub fn create(&self, o: &CreateOptions) -> Result<(Volume, bool)> {
        let anonymous = o.name.as_deref().is_none_or(str::is_empty);
        let name = match &o.name {
            Some(n) if !n.is_empty() => {
                validate_name(n)?;
                n.clone()
            }
            _ => random_name()?,
        };
        let driver = o.driver.clone().unwrap_or_else(|| "local".into());
        if driver != "local" {
            return Err(Error::Invalid(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        driver_mount(&name, &o.options)?;
        let _g = self.lock()?;
        if let Ok(v) = self.get(&name) {
            return Ok((v, false));
        }
        let tmp = self.dir.join(format!(".creating-{}", random_name()?));
        let made = (|| {
            let data = tmp.join("_data");
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(&data)
                .map_err(|e| Error::io("create", &data, e))?;
            let v = Volume {
                created_at: seconds_rfc3339(&libimage::time::now()),
                driver,
                labels: o.labels.clone(),
                mountpoint: self.data_path(&name),
                name: name.clone(),
                options: o.options.clone(),
                scope: "local".into(),
                anonymous,
            };
            let json = serde_json::to_vec_pretty(&v).map_err(|e| Error::Invalid(e.to_string()))?;
            write_atomic(&tmp.join("volume.json"), &json)?;
            let dest = self.dir.join(&name);
            std::fs::rename(&tmp, &dest).map_err(|e| Error::io("rename", &dest, e))?;
            Ok(v)
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        made.map(|v| (v, true))
    }

    /// The volume of that name.
    pub fn get(&self, name: &str) -> Result<Volume> {
        if name.is_empty() || name.starts_with('.') || name.contains('/') {
            return Err(Error::NotFound(name.to_string()));
        }
        let path = self.record(name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(name.to_string()))
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let mut v: Volume = serde_json::from_slice(&data)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        v.mountpoint = self.data_path(name);
        Ok(v)
    }

    /// Every volume, sorted by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(|e| Error::io("read", &self.dir, e))? {
            let e = e.map_err(|e| Error::io("read", &self.dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if let Ok(v) = self.get(&name) {
                out.push(v);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Makes a volume ready to be bind-mounted into a container and returns the host path
    /// to bind: for a volume with driver options, its device (tmpfs, a bind of a host
    /// directory, a block device) is mounted on `_data` first, once.
    pub fn mount(&self, name: &str) -> Result<PathBuf> {
        let v = self.get(name)?;
        let data = self.data_path(name);
        let Some(m) = driver_mount(name, &v.options)? else {
            return Ok(data);
        };
        let _g = self.lock()?;
        if mountinfo::is_mount_point(&data)? {
            return Ok(data);
        }
        let c = |s: &str| {
            std::ffi::CString::new(s).map_err(|_| Error::Invalid(format!("NUL in {s:?}")))
        };
        let (dev, target, typ, opts) = (
            c(&m.device)?,
            c(data
                .to_str()
                .ok_or_else(|| Error::Invalid("path is not UTF-8".into()))?)?,
            c(&m.typ)?,
            c(&m.data)?,
        );
        let data_ptr = if m.data.is_empty() {
            std::ptr::null()
        } else {
            opts.as_ptr().cast()
        };
        // SAFETY: valid NUL-terminated strings for the call's duration.
        let r = unsafe {
            libc::mount(
                dev.as_ptr(),
                target.as_ptr(),
                typ.as_ptr(),
                m.flags,
                data_ptr,
            )
        };
        if r != 0 {
            return Err(Error::io(
                "mount volume",
                &data,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(data)
    }

    /// Whether a volume holds nothing yet (Docker copies the image's content into an empty
    /// volume on first use).
    pub fn is_empty(&self, name: &str) -> Result<bool> {
        let data = self.mount(name)?;
        let mut rd = std::fs::read_dir(&data).map_err(|e| Error::io("read", &data, e))?;
        Ok(rd.next().is_none())
    }

    /// The bytes a volume's files use (for `system df`).
    pub fn size(&self, name: &str) -> Result<u64> {
        fn walk(p: &Path) -> u64 {
            let Ok(rd) = std::fs::read_dir(p) else {
                return 0;
            };
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
                    _ => 0,
                })
                .sum()
        }
        self.get(name)?;
        Ok(walk(&self.data_path(name)))
    }

    /// Removes a volume and its content (unmounting its device). Whether containers still
    /// use it is the caller's check.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.get(name)?;
        let _g = self.lock()?;
        let data = self.data_path(name);
        if mountinfo::is_mount_point(&data)? {
            let p = std::ffi::CString::new(data.as_os_str().as_encoded_bytes())
                .map_err(|_| Error::Invalid("NUL in path".into()))?;
            // SAFETY: valid NUL-terminated path.
            if unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) } != 0 {
                return Err(Error::io(
                    "unmount volume",
                    &data,
                    std::io::Error::last_os_error(),
                ));
            }
        }
        let gone = self.dir.join(format!(".removing-{}", random_name()?));
        let src = self.dir.join(name);
        match std::fs::rename(&src, &gone) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(name.to_string()))
            }
            Err(e) => return Err(Error::io("rename", &src, e)),
        }
        std::fs::remove_dir_all(&gone).map_err(|e| Error::io("remove", &gone, e))
    }
}
