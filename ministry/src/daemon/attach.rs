//! `POST /containers/{id}/attach`: an HTTP upgrade (`101 UPGRADED`) after which the
//! connection carries the container's output (raw with a terminal, else Docker's 8-byte
//! frames) and, with `stdin=1`, what the client sends: typed into the terminal, or
//! written into the stdin pipe the daemon keeps; the client's half-close ends stdin for
//! `StdinOnce` containers. The detach keys (Ctrl-P Ctrl-Q) end the attachment only.
//!
//! The output comes from the container's monitor (its attach socket); attaching to a
//! stopped container waits for its next start, connected before its program runs.

use std::sync::Arc;

use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::http::{blocking, full, ApiError, ApiResult, Query, Req, Resp};
use super::Daemon;

/// Whether the client asked to upgrade the connection (`Upgrade: tcp`).
pub fn wants_upgrade(req: &Req) -> bool {
    req.headers()
        .get(UPGRADE)
        .is_some_and(|v| v.to_str().is_ok_and(|s| s.eq_ignore_ascii_case("tcp")))
}

/// The response that upgrades the connection (or, for a client that did not ask for an
/// upgrade, a plain streamed 200).
pub fn upgrade_response(req: &Req, tty: bool) -> (Resp, bool) {
    let wants = wants_upgrade(req);
    (upgrade_response_for(wants, tty), wants)
}

/// [`upgrade_response`] once the request is consumed.
pub fn upgrade_response_for(wants: bool, tty: bool) -> Resp {
    let ctype = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let mut r = Response::new(full(bytes::Bytes::new()));
    if wants {
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        r.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        r.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("tcp"));
    }
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

/// Reads the monitor's frames (`[stream][length u32 BE][bytes]`) and writes the wanted
/// streams to the client, raw or framed; returns when the monitor closes (the program
/// ended) or the client is gone.
pub async fn pump_monitor<R, W>(mut from: R, to: &mut W, tty: bool, stdout: bool, stderr: bool)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut head = [0u8; 5];
    while from.read_exact(&mut head).await.is_ok() {
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut data = vec![0u8; len];
        if from.read_exact(&mut data).await.is_err() {
            break;
        }
        let err = head[0] == 2;
        if (err && !stderr) || (!err && !stdout) {
            continue;
        }
        let out = if tty {
            data
        } else {
            super::files::frame(if err { 2 } else { 1 }, &data)
        };
        if to.write_all(&out).await.is_err() || to.flush().await.is_err() {
            break;
        }
    }
}

/// Copies the client's input into `to` until the client half-closes (returns `false`)
/// or types the detach keys (returns `true`).
pub async fn pump_input<R, W>(mut from: R, to: &mut W, keys: &[u8]) -> bool
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 32 * 1024];
    let mut matched = 0usize;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(n) if n > 0 => n,
            _ => return false,
        };
        let mut out = Vec::with_capacity(n);
        for &b in &buf[..n] {
            if !keys.is_empty() && b == keys[matched] {
                matched += 1;
                if matched == keys.len() {
                    let _ = to.write_all(&out).await;
                    return true;
                }
                continue;
            }
            out.extend_from_slice(&keys[..matched]);
            matched = 0;
            out.push(b);
        }
        if to.write_all(&out).await.is_err() {
            return false;
        }
    }
}

/// The detach keys of a request (Docker's default: Ctrl-P Ctrl-Q).
pub fn detach_keys(q: &Query) -> Result<Vec<u8>, ApiError> {
    match q.get("detachKeys").filter(|k| !k.is_empty()) {
        None => Ok(vec![16, 17]),
        Some(k) => crate::cli::containers::attach::parse_detach_keys(k)
            .map_err(|e| ApiError::bad(e.to_string())),
    }
}

/// A pipe's writing end, duplicated for async writes.
fn async_pipe(fd: &std::os::fd::OwnedFd) -> Option<tokio::net::unix::pipe::Sender> {
    let dup = fd.try_clone().ok()?;
    tokio::net::unix::pipe::Sender::from_owned_fd(dup).ok()
}

/// `POST /containers/{id}/attach?stream=&stdin=&stdout=&stderr=&logs=&detachKeys=`.
pub async fn attach(d: &Arc<Daemon>, id: String, mut req: Req) -> ApiResult {
    let q = Query::of(&req);
    let (stdin, stdout, stderr) = (q.flag("stdin"), q.flag("stdout"), q.flag("stderr"));
    let (stream, logs) = (q.flag("stream"), q.flag("logs"));
    let keys = detach_keys(&q)?;
    let (cid, tty, stdin_once, sock) = blocking(d, move |d| {
        let c = d.engine.container(&id)?;
        let st = d.engine.container_state(&c)?;
        let live = st.running || st.status == ministry::ContainerStatus::Created;
        let sock = if live {
            d.engine.attach_socket(&c.id).ok()
        } else {
            None
        };
        Ok((c.id, c.config.tty, c.config.stdin_once, sock))
    })
    .await?;
    // The past output first (`logs=1`).
    let mut backlog = Vec::new();
    if logs {
        let cid = cid.clone();
        backlog = blocking(d, move |d| {
            let mut out = Vec::new();
            for l in d.engine.logs(&cid, ministry::LogOptions::default())? {
                let l = l?;
                let err = l.stream == "stderr";
                if (err && !stderr) || (!err && !stdout) {
                    continue;
                }
                if tty {
                    out.extend_from_slice(l.log.as_bytes());
                } else {
                    out.extend(super::files::frame(
                        if err { 2 } else { 1 },
                        l.log.as_bytes(),
                    ));
                }
            }
            Ok(out)
        })
        .await?;
    }
    // Connect now (created or running), else when it next starts.
    let monitor: Option<tokio::sync::oneshot::Receiver<std::os::unix::net::UnixStream>> = if !stream
    {
        None
    } else {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match sock
            .as_ref()
            .and_then(|p| std::os::unix::net::UnixStream::connect(p).ok())
        {
            Some(s) => {
                let _ = tx.send(s);
            }
            None => d
                .attach_waiters
                .lock()
                .expect("waiters")
                .entry(cid.clone())
                .or_default()
                .push(tx),
        }
        Some(rx)
    };
    let (resp, upgraded) = upgrade_response(&req, tty);
    if !upgraded {
        // No upgrade asked: the output as the response body, no input.
        let (mut w, body) = super::stream::writer_body();
        tokio::spawn(async move {
            if w.write_all(&backlog).await.is_err() {
                return;
            }
            let Some(rx) = monitor else { return };
            let Ok(s) = rx.await else { return };
            let _ = s.set_nonblocking(true);
            let Ok(s) = tokio::net::UnixStream::from_std(s) else {
                return;
            };
            pump_monitor(s, &mut w, tty, stdout, stderr).await;
        });
        let mut r = Response::new(body);
        *r.headers_mut() = resp.headers().clone();
        return Ok(r);
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let d = d.clone();
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        let (client_r, mut client_w) = tokio::io::split(TokioIo::new(up));
        if !backlog.is_empty() {
            let _ = client_w.write_all(&backlog).await;
        }
        let Some(rx) = monitor else {
            let _ = client_w.shutdown().await;
            return;
        };
        let Ok(s) = rx.await else { return };
        let _ = s.set_nonblocking(true);
        let Ok(s) = tokio::net::UnixStream::from_std(s) else {
            return;
        };
        let (mon_r, mon_w) = s.into_split();
        let mut mon_w_slot = Some(mon_w);
        // The monitor connection's writing half stays open while output flows (a
        // client that closes it is gone for the monitor); the input task returns it.
        let input = if !stdin {
            None
        } else {
            let mut mon_w = mon_w_slot.take().expect("taken once");
            let stdin_pipe = d.stdins.lock().expect("stdins").get(&cid).cloned();
            let d2 = d.clone();
            let cid2 = cid.clone();
            Some(tokio::spawn(async move {
                let detached = if tty {
                    if mon_w.write_all(b"i").await.is_err() {
                        return (false, mon_w);
                    }
                    pump_input(client_r, &mut mon_w, &keys).await
                } else if let Some(mut p) = stdin_pipe.as_deref().and_then(async_pipe) {
                    let detached = pump_input(client_r, &mut p, &keys).await;
                    if !detached && stdin_once {
                        // The client closed its input: the program sees end-of-file.
                        d2.stdins.lock().expect("stdins").remove(&cid2);
                    }
                    detached
                } else {
                    // Input for a container without open stdin goes nowhere.
                    pump_input(client_r, &mut tokio::io::sink(), &keys).await
                };
                (detached, mon_w)
            }))
        };
        let output = pump_monitor(mon_r, &mut client_w, tty, stdout, stderr);
        let mut _keep = None;
        match input {
            Some(mut inp) => {
                tokio::pin!(output);
                tokio::select! {
                    _ = &mut output => { inp.abort(); }
                    r = &mut inp => match r {
                        // Detached: the container goes on; the connection ends.
                        Ok((true, _)) => {}
                        Ok((false, w)) => {
                            _keep = Some(w);
                            output.await;
                        }
                        Err(_) => output.await,
                    }
                }
            }
            None => {
                _keep = mon_w_slot.take();
                output.await
            }
        }
        let _ = client_w.shutdown().await;
    });
    Ok(resp)
}
