//! Credentials and the registry's auth challenge.
//!
//! Credentials live in the format of Docker's `config.json` (`{"auths": {"host":
//! {"auth": base64("user:pass")}}}`): ministry's own file is written 0600 in a 0700
//! directory, atomically, under a lock; Docker's own file is read too. Passwords never go
//! into errors, logs or process arguments.

use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::error::{Error, Result};

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lower-cased (`basic`, `bearer`).
    pub scheme: String,
    /// Its parameters (`realm`, `service`, `scope`, ...), keys lower-cased.
    pub params: BTreeMap<String, String>,
}

/// Parses a `WWW-Authenticate` header value (one challenge: `Bearer realm="...",
/// service="...",scope="..."` or `Basic realm="..."`). Quoted values may hold commas and
/// backslash escapes. `None` if it is not a challenge.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = match header.find(char::is_whitespace) {
        Some(i) => (&header[..i], header[i..].trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.insert(key.to_ascii_lowercase(), value);
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

/// Docker Hub's key in `config.json`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The host part of a `config.json` key or a server argument (`https://host:port/v1/` ->
/// `host:port`); Docker Hub's names all become `docker.io`.
pub fn server_host(server: &str) -> String {
    let s = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let host = s.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" | "" => "docker.io".into(),
        _ => host,
    }
}

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub username: String,
    /// The password (never printed: `Debug` hides it).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// ministry's credential file and Docker's, read in that order.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
    also_read: Vec<PathBuf>,
}

fn read_auths(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>> {
    match std::fs::read(path) {
        Ok(b) => {
            let v: serde_json::Value = serde_json::from_slice(&b)
                .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            Ok(v.as_object().cloned().unwrap_or_default())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

impl CredentialStore {
    /// The store in `path` (ministry's `config.json`), also reading `also_read` (Docker's).
    pub fn new(path: impl Into<PathBuf>, also_read: Vec<PathBuf>) -> Self {
        CredentialStore {
            path: path.into(),
            also_read,
        }
    }

    /// The default: `$MINISTRY_CONFIG/config.json` or `~/.ministry/config.json`, also
    /// reading `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub fn default_location() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/root".into());
        let ours = std::env::var_os("MINISTRY_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".ministry"));
        let docker = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".docker"));
        CredentialStore::new(ours.join("config.json"), vec![docker.join("config.json")])
    }

    /// The file written by [`CredentialStore::store`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credentials for a registry host, if any file has them.
    pub fn get(&self, host: &str) -> Result<Option<Credentials>> {
        let want = server_host(host);
        for p in std::iter::once(&self.path).chain(&self.also_read) {
            let cfg = read_auths(p)?;
            let Some(auths) = cfg.get("auths").and_then(|a| a.as_object()) else {
                continue;
            };
            for (k, v) in auths {
                if server_host(k) != want {
                    continue;
                }
                let Some(enc) = v.get("auth").and_then(|a| a.as_str()) else {
                    continue;
                };
                let dec = base64::engine::general_purpose::STANDARD
                    .decode(enc)
                    .map_err(|_| {
                        Error::Invalid(format!("{}: invalid auth for {k}", p.display()))
                    })?;
                let text = String::from_utf8(dec).map_err(|_| {
                    Error::Invalid(format!("{}: invalid auth for {k}", p.display()))
                })?;
                if let Some((u, pw)) = text.split_once(':') {
                    return Ok(Some(Credentials {
                        username: u.into(),
                        password: pw.into(),
                    }));
                }
            }
        }
        Ok(None)
    }

    fn update(
        &self,
        f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> bool,
    ) -> Result<bool> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("create", dir, e))?;
        let _g = libimage::fsutil::LockGuard::lock(&dir.join("config.json.lock"))?;
        let mut cfg = read_auths(&self.path)?;
        if !f(&mut cfg) {
            return Ok(false);
        }
        let data = serde_json::to_vec_pretty(&serde_json::Value::Object(cfg))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let mut data = data;
        data.push(b'\n');
        // Temp file (0600), fsync, rename, fsync of the directory.
        libimage::fsutil::write_atomic(&self.path, &data)?;
        Ok(true)
    }

    /// Stores credentials for `server` (Docker Hub under Docker's key).
    pub fn store(&self, server: &str, c: &Credentials) -> Result<()> {
        let host = server_host(server);
        let key = if host == "docker.io" {
            DOCKER_HUB_KEY.to_string()
        } else {
            host.clone()
        };
        let enc = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.username, c.password));
        self.update(|cfg| {
            let auths = cfg.entry("auths").or_insert_with(|| serde_json::json!({}));
            if !auths.is_object() {
                *auths = serde_json::json!({});
            }
            let auths = auths.as_object_mut().expect("object");
            auths.retain(|k, _| server_host(k) != host);
            auths.insert(key, serde_json::json!({ "auth": enc }));
            true
        })?;
        Ok(())
    }

    /// Removes the credentials for `server` from ministry's file; whether there were any.
    pub fn erase(&self, server: &str) -> Result<bool> {
        let host = server_host(server);
        self.update(|cfg| {
            let Some(auths) = cfg.get_mut("auths").and_then(|a| a.as_object_mut()) else {
                return false;
            };
            let before = auths.len();
            auths.retain(|k, _| server_host(k) != host);
            auths.len() != before
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn challenges() {
        let c = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
        let c = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(
            (c.scheme.as_str(), c.params["realm"].as_str()),
            ("basic", "Registry Realm")
        );
        let c = parse_challenge(r#"Bearer realm=plain, error="a\"b""#).unwrap();
        assert_eq!(
            (c.params["realm"].as_str(), c.params["error"].as_str()),
            ("plain", "a\"b")
        );
        assert!(parse_challenge(r#"Bearer realm="unterminated"#).is_none());
        assert!(parse_challenge("").is_none());
        assert!(parse_challenge("Bearer =x").is_none());
    }

    #[test]
    fn store_get_erase_in_dockers_format() {
        let tmp = tempfile::tempdir().unwrap();
        let docker = tmp.path().join("docker/config.json");
        std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
        std::fs::write(
            &docker,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOmh1YnB3"}},"credsStore":""}"#,
        )
        .unwrap();
        let s = CredentialStore::new(tmp.path().join("m/config.json"), vec![docker]);
        assert_eq!(s.get("docker.io").unwrap().unwrap().username, "hub");
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        s.store("http://127.0.0.1:5000", &c).unwrap();
        assert_eq!(s.get("127.0.0.1:5000").unwrap(), Some(c.clone()));
        let meta = std::fs::metadata(s.path()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dir = std::fs::metadata(s.path().parent().unwrap()).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.path()).unwrap()).unwrap();
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "dTpwOnc=");
        assert!(!format!("{c:?}").contains("p:w"));
        assert!(s.erase("127.0.0.1:5000").unwrap());
        assert!(!s.erase("127.0.0.1:5000").unwrap());
        assert_eq!(s.get("127.0.0.1:5000").unwrap(), None);
    }
}
