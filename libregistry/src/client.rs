//! The registry client: which protocol and certificates each registry gets (Docker's
//! rules), credentials, mirrors, and the tokio runtime the network calls run on.
//!
//! The API is synchronous: a [`Registry`] owns a small multi-threaded tokio runtime for
//! oci-client's HTTP calls; blob streams are read from plain threads through
//! [`StreamReader`], so the (blocking) content store and layer extractor never run on the
//! runtime. Container processes are never forked from here (libruntime spawns a fresh
//! helper).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;

use crate::auth::{server_host, CredentialStore};
use crate::error::{Error, Result};

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host:port`) reached over plain HTTP. Loopback registries always are
    /// (Docker's rule).
    pub insecure_registries: Vec<String>,
    /// Mirrors per registry host (`docker.io` for Docker's `--registry-mirror`), as URLs
    /// (`http://127.0.0.1:5001`) or hosts; tried in order before the registry itself.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// Directories holding `<host:port>/ca.crt` (and other `*.crt`) files to trust, like
    /// Docker's `/etc/docker/certs.d`.
    pub certs_dirs: Vec<PathBuf>,
    /// Where credentials are read and stored.
    pub credentials: CredentialStore,
    /// Blobs downloaded or uploaded at once. By default, 3 (Docker's default).
    pub max_concurrent: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure_registries: Vec::new(),
            mirrors: BTreeMap::new(),
            certs_dirs: vec![
                PathBuf::from("/etc/ministry/certs.d"),
                PathBuf::from("/etc/docker/certs.d"),
            ],
            credentials: CredentialStore::default_location(),
            max_concurrent: 3,
        }
    }
}

/// Whether `host` (with optional port) names a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    if h == "localhost" || h == "::1" {
        return true;
    }
    h.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|a| a.is_loopback())
}

/// A registry client.
pub struct Registry {
    options: RegistryOptions,
    rt: tokio::runtime::Runtime,
    schemes: std::sync::Mutex<BTreeMap<String, &'static str>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("options", &self.options)
            .finish()
    }
}

impl Registry {
    /// A client with these options.
    pub fn new(options: RegistryOptions) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ministry-registry")
            .enable_all()
            .build()
            .map_err(|e| Error::io("start tokio runtime", "", e))?;
        Ok(Registry {
            options,
            rt,
            schemes: Default::default(),
        })
    }

    /// The options.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    pub(crate) fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    /// Whether `host` is reached over plain HTTP.
    pub fn is_insecure(&self, host: &str) -> bool {
        is_loopback(host)
            || self
                .options
                .insecure_registries
                .iter()
                .any(|r| server_host(r) == host.to_ascii_lowercase())
    }

    /// `http` or `https` for `host`. A secure registry is always HTTPS; an insecure one
    /// (loopback or listed) is tried with HTTPS first and falls back to plain HTTP, as
    /// Docker does. The answer is remembered per host.
    pub fn scheme(&self, host: &str) -> &'static str {
        if !self.is_insecure(host) {
            return "https";
        }
        if let Some(s) = self.schemes.lock().expect("lock").get(host) {
            return s;
        }
        let probe = self.http(host).ok().map(|c| {
            let url = format!("https://{host}/v2/");
            self.rt.block_on(async move {
                c.get(url)
                    .timeout(std::time::Duration::from_secs(5))
                    .send()
                    .await
                    .is_ok()
            })
        });
        let s = if probe == Some(true) { "https" } else { "http" };
        self.schemes
            .lock()
            .expect("lock")
            .insert(host.to_string(), s);
        s
    }

    /// Extra CA certificates for `host` from the certs directories.
    pub(crate) fn certificates(&self, host: &str) -> Result<Vec<Certificate>> {
        let mut out = Vec::new();
        for d in &self.options.certs_dirs {
            let dir = d.join(host);
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "crt") {
                    let data = std::fs::read(&p).map_err(|e| Error::io("read", &p, e))?;
                    out.push(Certificate {
                        encoding: CertificateEncoding::Pem,
                        data,
                    });
                }
            }
        }
        Ok(out)
    }

    /// An oci-client for `host` (its protocol, certificates, monolithic pushes).
    pub(crate) fn oci(&self, host: &str) -> Result<oci_client::Client> {
        let protocol = if self.scheme(host) == "http" {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        Ok(oci_client::Client::new(ClientConfig {
            protocol,
            extra_root_certificates: self.certificates(host)?,
            use_monolithic_push: true,
            platform_resolver: None,
            max_concurrent_download: self.options.max_concurrent,
            max_concurrent_upload: self.options.max_concurrent,
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            read_timeout: Some(std::time::Duration::from_secs(120)),
            ..Default::default()
        }))
    }

    /// The credentials for `host` as oci-client takes them.
    pub(crate) fn auth(&self, host: &str) -> Result<RegistryAuth> {
        Ok(match self.options.credentials.get(host)? {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        })
    }

    /// The hosts to try for `host`: its mirrors, then itself.
    pub(crate) fn endpoints(&self, host: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .options
            .mirrors
            .get(host)
            .map(|m| m.iter().map(|u| server_host(u)).collect())
            .unwrap_or_default();
        v.push(host.to_string());
        v
    }

    /// A plain HTTP client trusting the extra certificates of `host` (login, search).
    pub(crate) fn http(&self, host: &str) -> Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(30))
            // Credentials never follow a redirect to another host.
            .redirect(reqwest::redirect::Policy::limited(5));
        for c in self.certificates(host)? {
            let cert = reqwest::Certificate::from_pem(&c.data)
                .map_err(|e| Error::Invalid(format!("certificate for {host}: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build()
            .map_err(|e| Error::Unavailable(format!("http client: {e}")))
    }
}

/// Turns an async byte stream into a blocking [`Read`], pulling chunks through the
/// runtime's handle from a plain thread.
pub(crate) struct StreamReader<'a> {
    handle: tokio::runtime::Handle,
    stream: futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
    buf: bytes::Bytes,
    /// Bytes read so far, for progress.
    pub done: u64,
    /// The stream's own error, if it failed (not the consumer's).
    pub failed: Option<String>,
    /// Whether that failure was the content's (oci-client's digest check), not the
    /// transport's.
    pub failed_content: bool,
    /// Where every byte read is also sent (a streamed unpack); dropped when the receiver
    /// is gone.
    pub tee: Option<std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>>,
    on_chunk: Box<dyn FnMut(u64) + Send + 'a>,
}

impl<'a> StreamReader<'a> {
    pub(crate) fn new(
        handle: tokio::runtime::Handle,
        stream: futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
        on_chunk: Box<dyn FnMut(u64) + Send + 'a>,
    ) -> Self {
        StreamReader {
            handle,
            stream,
            buf: bytes::Bytes::new(),
            done: 0,
            failed: None,
            failed_content: false,
            tee: None,
            on_chunk,
        }
    }
}

impl Read for StreamReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(b)) => self.buf = b,
                Some(Err(e)) => {
                    self.failed = Some(e.to_string());
                    self.failed_content = is_digest_error(&e);
                    if let Some(t) = self.tee.take() {
                        let _ = t.send(Err(std::io::Error::other(e.to_string())));
                    }
                    return Err(e);
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        let _ = self.buf.split_to(n);
        if let Some(t) = &self.tee {
            if t.send(Ok(out[..n].to_vec())).is_err() {
                self.tee = None;
            }
        }
        self.done += n as u64;
        (self.on_chunk)(self.done);
        Ok(n)
    }
}

/// Whether an I/O error from a blob stream is oci-client's digest check (possibly
/// wrapped in further I/O errors on the way).
fn is_digest_error(e: &std::io::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + Send + Sync + 'static)> = e.get_ref();
    while let Some(inner) = cur {
        if inner.is::<oci_client::errors::DigestError>() {
            return true;
        }
        cur = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_insecure_rule() {
        for h in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1:5000", "registry.example.com", "docker.io"] {
            assert!(!is_loopback(h), "{h}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let r = Registry::new(RegistryOptions {
            insecure_registries: vec!["10.0.0.1:5000".into()],
            credentials: CredentialStore::new(tmp.path().join("c.json"), vec![]),
            ..Default::default()
        })
        .unwrap();
        assert!(r.is_insecure("10.0.0.1:5000") && r.is_insecure("127.0.0.1:1"));
        assert!(!r.is_insecure("10.0.0.1:5001"));
        assert_eq!(r.scheme("10.0.0.1:5001"), "https");
        // Nothing listens on port 1: HTTPS fails, plain HTTP is used.
        assert_eq!(r.scheme("127.0.0.1:1"), "http");
    }
}
