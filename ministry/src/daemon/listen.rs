//! The daemon's sockets: `-H` values parsed as dockerd parses them, unix sockets made
//! 0660 with the `-G` group, TCP with or without TLS, systemd's `fd://`; and the
//! connection loop that serves HTTP/1.1 with upgrades (attach, exec).

use std::os::fd::FromRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::Daemon;

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A unix socket's path.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(String),
    /// Sockets systemd passed (`fd://`, `fd://N`).
    Fd(Option<i32>),
}

/// Parses a `-H` value (`unix:///p`, `tcp://h:p`, `fd://`, a bare path or `h:p`).
pub fn parse_host(h: &str) -> Result<Host> {
    let h = h.trim();
    if let Some(p) = h.strip_prefix("unix://") {
        if p.is_empty() {
            return Ok(Host::Unix(PathBuf::from("/run/ministry.sock")));
        }
        return Ok(Host::Unix(PathBuf::from(p)));
    }
    if let Some(a) = h.strip_prefix("tcp://") {
        let a = a.trim_end_matches('/');
        let (host, port) = a
            .rsplit_once(':')
            .ok_or_else(|| anyhow::anyhow!("Invalid bind address format: {h}"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow::anyhow!("Invalid bind address format: {h}"))?;
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        return Ok(Host::Tcp(format!("{host}:{port}")));
    }
    if let Some(n) = h.strip_prefix("fd://") {
        return Ok(Host::Fd(if n.is_empty() {
            None
        } else {
            Some(n.parse().map_err(|_| anyhow::anyhow!("invalid fd: {h}"))?)
        }));
    }
    if h.starts_with('/') {
        return Ok(Host::Unix(PathBuf::from(h)));
    }
    if h.contains("://") {
        bail!("Invalid bind address format: {h}");
    }
    parse_host(&format!("tcp://{h}"))
}

/// A bound socket.
pub enum Listener {
    /// A unix socket (and its path).
    Unix(tokio::net::UnixListener, String),
    /// A TCP socket, with TLS when set.
    Tcp(
        tokio::net::TcpListener,
        Option<tokio_rustls::TlsAcceptor>,
        String,
    ),
}

impl Listener {
    /// How the log names it.
    pub fn describe(&self) -> String {
        match self {
            Listener::Unix(_, p) => p.clone(),
            Listener::Tcp(_, Some(_), a) => format!("{a} (TLS)"),
            Listener::Tcp(_, None, a) => a.clone(),
        }
    }
}

/// The unix socket's group: `-G`, else `docker` when it exists, else root's.
fn socket_group(group: Option<&str>) -> Result<nix::unistd::Gid> {
    use nix::unistd::Group;
    match group {
        Some(g) => {
            if let Ok(n) = g.parse::<u32>() {
                return Ok(nix::unistd::Gid::from_raw(n));
            }
            match Group::from_name(g) {
                Ok(Some(gr)) => Ok(gr.gid),
                _ => bail!("can't create unix socket: group {g} not found"),
            }
        }
        None => Ok(Group::from_name("docker")
            .ok()
            .flatten()
            .map(|g| g.gid)
            .unwrap_or_else(|| nix::unistd::Gid::from_raw(0))),
    }
}

fn bind_unix(path: &std::path::Path, group: Option<&str>) -> Result<tokio::net::UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "can't listen on {}: another daemon is serving it",
                path.display()
            );
        }
        std::fs::remove_file(path).with_context(|| format!("remove {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let gid = socket_group(group)?;
    let l = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("can't create unix socket {}", path.display()))?;
    // 0660, root and the group: access to this socket is root on this machine.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(0)), Some(gid))
        .with_context(|| format!("chown {}", path.display()))?;
    l.set_nonblocking(true)?;
    Ok(tokio::net::UnixListener::from_std(l)?)
}

/// Binds every `-H` value.
pub fn bind_all(
    hosts: &[String],
    group: Option<&str>,
    tls: Option<&tokio_rustls::TlsAcceptor>,
) -> Result<Vec<Listener>> {
    let mut out = Vec::new();
    for h in hosts {
        match parse_host(h)? {
            Host::Unix(p) => out.push(Listener::Unix(
                bind_unix(&p, group)?,
                format!("{}", p.display()),
            )),
            Host::Tcp(a) => {
                if tls.is_none() {
                    eprintln!(
                        "WARNING: API is accessible on http://{a} without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/"
                    );
                }
                let l = std::net::TcpListener::bind(&a)
                    .with_context(|| format!("failed to listen on tcp://{a}"))?;
                l.set_nonblocking(true)?;
                let shown = l.local_addr().map(|x| x.to_string()).unwrap_or(a);
                out.push(Listener::Tcp(
                    tokio::net::TcpListener::from_std(l)?,
                    tls.cloned(),
                    shown,
                ));
            }
            Host::Fd(which) => {
                let pid_ok = std::env::var("LISTEN_PID")
                    .ok()
                    .and_then(|p| p.parse::<u32>().ok())
                    == Some(std::process::id());
                let n: i32 = std::env::var("LISTEN_FDS")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                if !pid_ok || n == 0 {
                    bail!("no sockets found via socket activation: make sure the service was started by systemd");
                }
                for fd in 3..3 + n {
                    if which.is_some_and(|w| w != fd) {
                        continue;
                    }
                    // SAFETY: systemd passed these descriptors to this process (LISTEN_PID
                    // checked); each is owned here from now on.
                    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
                    let addr = nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(
                        std::os::fd::AsRawFd::as_raw_fd(&owned),
                    )?;
                    if addr.as_unix_addr().is_some() {
                        let l = std::os::unix::net::UnixListener::from(owned);
                        l.set_nonblocking(true)?;
                        out.push(Listener::Unix(
                            tokio::net::UnixListener::from_std(l)?,
                            format!("fd://{fd}"),
                        ));
                    } else {
                        let l = std::net::TcpListener::from(owned);
                        l.set_nonblocking(true)?;
                        out.push(Listener::Tcp(
                            tokio::net::TcpListener::from_std(l)?,
                            tls.cloned(),
                            format!("fd://{fd}"),
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Accepts connections forever, each served on its own task.
pub async fn accept_loop(d: Arc<Daemon>, l: Listener) {
    match l {
        Listener::Unix(l, _) => loop {
            match l.accept().await {
                Ok((s, _)) => {
                    tokio::spawn(serve_conn(d.clone(), s));
                }
                Err(e) => {
                    eprintln!("ministry daemon: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        },
        Listener::Tcp(l, tls, _) => {
            loop {
                match l.accept().await {
                    Ok((s, peer)) => {
                        let _ = s.set_nodelay(true);
                        let d = d.clone();
                        match tls.clone() {
                            Some(acc) => {
                                tokio::spawn(async move {
                                    match acc.accept(s).await {
                                        Ok(t) => serve_conn(d, t).await,
                                        Err(e) => {
                                            if d.debug {
                                                eprintln!("ministry daemon: TLS handshake with {peer}: {e}");
                                            }
                                        }
                                    }
                                });
                            }
                            None => {
                                tokio::spawn(serve_conn(d, s));
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("ministry daemon: accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}

/// Serves HTTP/1.1 on one connection (headers bounded; upgrades for attach and exec).
async fn serve_conn<I>(d: Arc<Daemon>, io: I)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req| super::http::handle(d.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_dockerd_parses_them() {
        assert_eq!(
            parse_host("unix:///tmp/x.sock").unwrap(),
            Host::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            parse_host("tcp://0.0.0.0:2375").unwrap(),
            Host::Tcp("0.0.0.0:2375".into())
        );
        assert_eq!(
            parse_host("tcp://:2376").unwrap(),
            Host::Tcp("127.0.0.1:2376".into())
        );
        assert_eq!(parse_host("fd://").unwrap(), Host::Fd(None));
        assert_eq!(parse_host("/x.sock").unwrap(), Host::Unix("/x.sock".into()));
        assert_eq!(
            parse_host("127.0.0.1:99").unwrap(),
            Host::Tcp("127.0.0.1:99".into())
        );
        assert!(parse_host("tcp://nope").is_err());
        assert!(parse_host("udp://x:1").is_err());
    }
}
