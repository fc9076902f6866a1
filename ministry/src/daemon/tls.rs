//! TLS for TCP sockets (`--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`,
//! `--tlskey`), with rustls: `--tlsverify` is mutual TLS, so a client without a
//! certificate signed by the CA is refused at the handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use ministry::DaemonConfig;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Docker's default certificate directory (`~/.docker`, or `DOCKER_CERT_PATH`).
fn default_cert(name: &str) -> PathBuf {
    let dir = std::env::var_os("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".docker")
        });
    dir.join(name)
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let v: Vec<_> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("Could not load X509 key pair: open {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("Could not load X509 key pair from {}", path.display()))?;
    if v.is_empty() {
        bail!(
            "Could not load X509 key pair: no certificate in {}",
            path.display()
        );
    }
    Ok(v)
}

/// The TLS acceptor the options ask for (`None`: plain TCP).
pub fn settings(cfg: &DaemonConfig) -> Result<Option<tokio_rustls::TlsAcceptor>> {
    let verify = cfg.tlsverify.unwrap_or(false);
    if !verify && !cfg.tls.unwrap_or(false) {
        return Ok(None);
    }
    let cert = cfg
        .tlscert
        .clone()
        .unwrap_or_else(|| default_cert("cert.pem"));
    let key = cfg
        .tlskey
        .clone()
        .unwrap_or_else(|| default_cert("key.pem"));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = certs(&cert)?;
    let key = PrivateKeyDer::from_pem_file(&key)
        .with_context(|| format!("Could not load X509 key pair: {}", key.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let config = if verify {
        let ca = cfg
            .tlscacert
            .clone()
            .unwrap_or_else(|| default_cert("ca.pem"));
        let mut roots = rustls::RootCertStore::empty();
        for c in certs(&ca)? {
            roots.add(c).with_context(|| {
                format!(
                    "failed to append certificates from PEM file: {}",
                    ca.display()
                )
            })?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("client certificate verifier")?;
        builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
    } else {
        builder.with_no_client_auth().with_single_cert(chain, key)
    }
    .context("Could not load X509 key pair")?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}
