//! Exec instances: `POST /containers/{id}/exec` records one (in memory, as Docker keeps
//! them), `POST /exec/{id}/start` runs it (detached, or over an upgraded connection
//! carrying its output and input), `GET /exec/{id}/json` reports it.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use ministry::ExecOptions;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::attach::{pump_input, upgrade_response_for, wants_upgrade};
use super::http::{
    blocking, empty, json as json_resp, ok_json, read_json, ApiError, ApiResult, Req,
};
use super::Daemon;

/// One exec instance.
pub struct ExecEntry {
    /// Its ID.
    pub id: String,
    /// The container's ID.
    pub container: String,
    /// What to run.
    pub opts: ExecOptions,
    /// Attach its stdin, stdout, stderr.
    pub attach: (bool, bool, bool),
    /// The detach keys.
    pub detach_keys: String,
    /// Started once (an exec runs at most once).
    pub started: bool,
    /// Running now.
    pub running: bool,
    /// Its exit code once ended.
    pub exit_code: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ExecBody {
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    detach_keys: String,
    tty: bool,
    env: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    privileged: bool,
    user: String,
    working_dir: String,
    console_size: Option<Vec<u16>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
    tty: bool,
    console_size: Option<Vec<u16>>,
}

fn size(v: &Option<Vec<u16>>) -> Option<(u16, u16)> {
    v.as_ref()
        .filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0)
        .map(|s| (s[0], s[1]))
}

/// `POST /containers/{id}/exec`.
pub async fn create(d: &Arc<Daemon>, id: String, req: Req) -> ApiResult {
    let b: ExecBody = read_json(req)
        .await?
        .ok_or_else(|| ApiError::bad("No exec command specified"))?;
    let cmd = b.cmd.clone().unwrap_or_default();
    if cmd.is_empty() {
        return Err(ApiError::bad("No exec command specified"));
    }
    let cid = blocking(d, move |d| {
        let c = d.engine.container(&id)?;
        let st = d.engine.container_state(&c)?;
        if st.paused {
            return Err(ApiError::new(
                409,
                // Named as the client named it, as Docker's.
                format!("Container {id} is paused, unpause the container before exec"),
            ));
        }
        if st.restarting {
            return Err(ApiError::new(
                409,
                format!(
                    "Container {} is restarting, wait until the container is running",
                    c.id
                ),
            ));
        }
        if !st.running {
            return Err(ApiError::new(
                409,
                format!("Container {} is not running", c.id),
            ));
        }
        Ok(c.id)
    })
    .await?;
    let mut raw = [0u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| ApiError::new(500, e.to_string()))?,
        &mut raw,
    )
    .map_err(|e| ApiError::new(500, e.to_string()))?;
    let exec_id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let entry = ExecEntry {
        id: exec_id.clone(),
        container: cid,
        opts: ExecOptions {
            cmd,
            env: b.env.unwrap_or_default(),
            workdir: (!b.working_dir.is_empty()).then_some(b.working_dir),
            user: (!b.user.is_empty()).then_some(b.user),
            detach: false,
            tty: b.tty,
            console_size: size(&b.console_size),
            privileged: b.privileged,
        },
        attach: (b.attach_stdin, b.attach_stdout, b.attach_stderr),
        detach_keys: b.detach_keys,
        started: false,
        running: false,
        exit_code: None,
    };
    d.execs
        .lock()
        .expect("execs")
        .insert(exec_id.clone(), Arc::new(Mutex::new(entry)));
    Ok(json_resp(StatusCode::CREATED, &json!({"Id": exec_id})))
}

fn entry(d: &Daemon, id: &str) -> Result<Arc<Mutex<ExecEntry>>, ApiError> {
    d.execs
        .lock()
        .expect("execs")
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {id}")))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ApiError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ApiError::new(500, format!("pipe: {e}")))
}

/// `POST /exec/{id}/start`.
pub async fn start(d: &Arc<Daemon>, id: &str, mut req: Req) -> ApiResult {
    let e = entry(d, id)?;
    let (opts, container, attach, keys) = {
        let mut g = e.lock().expect("exec");
        if g.started {
            return Err(ApiError::new(
                409,
                format!("Error: Exec command {id} is already running"),
            ));
        }
        g.started = true;
        g.running = true;
        (
            g.opts.clone(),
            g.container.clone(),
            g.attach,
            g.detach_keys.clone(),
        )
    };
    let upgraded = wants_upgrade(&req);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let b: StartBody = read_json(req).await?.unwrap_or_default();
    let mut opts = opts;
    opts.detach = b.detach;
    opts.tty = opts.tty || b.tty;
    if let Some(s) = size(&b.console_size) {
        opts.console_size = Some(s);
    }
    let finish = {
        let e = e.clone();
        move |code: Option<i32>| {
            let mut g = e.lock().expect("exec");
            g.running = false;
            g.exit_code = code;
        }
    };
    if opts.detach {
        blocking(d, move |d| {
            let r = d
                .engine
                .exec_container(&container, &opts, ministry::ContainerStdio::default());
            finish(r.as_ref().ok().copied());
            r.map(drop).map_err(ApiError::from)
        })
        .await?;
        return Ok(empty(StatusCode::OK));
    }
    let keys = match keys.as_str() {
        "" => vec![16, 17],
        k => crate::cli::containers::attach::parse_detach_keys(k)
            .map_err(|e| ApiError::bad(e.to_string()))?,
    };
    let tty = opts.tty;
    // The exec's stdio: a socket pair with a terminal (one stream both ways), else pipes.
    let (input, outputs, stdio) = if tty {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| ApiError::new(500, format!("socketpair: {e}")))?;
        let theirs = OwnedFd::from(theirs);
        let dup = |f: &OwnedFd| {
            f.try_clone()
                .map_err(|e| ApiError::new(500, format!("dup: {e}")))
        };
        let stdio = ministry::ContainerStdio {
            stdin: Some(dup(&theirs)?.into()),
            stdout: Some(dup(&theirs)?.into()),
            stderr: Some(theirs.into()),
        };
        let _ = ours.set_nonblocking(true);
        let s = tokio::net::UnixStream::from_std(ours)
            .map_err(|e| ApiError::new(500, e.to_string()))?;
        let (r, w) = s.into_split();
        let input: Option<Box<dyn tokio::io::AsyncWrite + Unpin + Send>> = Some(Box::new(w));
        let outputs: Vec<(u8, Box<dyn tokio::io::AsyncRead + Unpin + Send>)> =
            vec![(1, Box::new(r))];
        (input, outputs, stdio)
    } else {
        let (in_r, in_w) = if attach.0 {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        } else {
            (None, None)
        };
        let (o_r, o_w) = pipe()?;
        let (e_r, e_w) = pipe()?;
        let stdio = ministry::ContainerStdio {
            stdin: in_r.map(Into::into),
            stdout: Some(o_w.into()),
            stderr: Some(e_w.into()),
        };
        let input: Option<Box<dyn tokio::io::AsyncWrite + Unpin + Send>> = match in_w {
            Some(w) => Some(Box::new(
                tokio::net::unix::pipe::Sender::from_owned_fd(w)
                    .map_err(|e| ApiError::new(500, e.to_string()))?,
            )),
            None => None,
        };
        let mut outputs: Vec<(u8, Box<dyn tokio::io::AsyncRead + Unpin + Send>)> = Vec::new();
        for (n, fd) in [(1u8, o_r), (2u8, e_r)] {
            outputs.push((
                n,
                Box::new(
                    tokio::net::unix::pipe::Receiver::from_owned_fd(fd)
                        .map_err(|e| ApiError::new(500, e.to_string()))?,
                ),
            ));
        }
        (input, outputs, stdio)
    };
    // Runs now; its exit is recorded when it ends.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    // A failure to run it (no such user, ...) is written on its output, as Docker's.
    let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    {
        let d = d.clone();
        tokio::task::spawn_blocking(move || {
            let r = d.engine.exec_container(&container, &opts, stdio);
            let code = match &r {
                Ok(c) => Some(*c),
                Err(e) => {
                    let _ = fail_tx.send(format!("{}\r\n", ministry::error_text(e)).into_bytes());
                    Some(e.exit_code().unwrap_or(126))
                }
            };
            finish(code);
            let _ = done_tx.send(());
        });
    }
    let want = (attach.1, attach.2);
    let resp = upgrade_response_for(upgraded, tty);
    if !upgraded {
        let (mut a, body) = super::stream::writer_body();
        tokio::spawn(async move {
            drop(input);
            pump_outputs(outputs, &mut a, tty, want).await;
            if let Ok(msg) = fail_rx.await {
                let out = if tty {
                    msg
                } else {
                    super::files::frame(1, &msg)
                };
                let _ = a.write_all(&out).await;
            }
            drop(a);
            let _ = done_rx.await;
        });
        let mut r = hyper::Response::new(body);
        *r.headers_mut() = resp.headers().clone();
        return Ok(r);
    }
    tokio::spawn(async move {
        let Ok(up) = on_upgrade.await else { return };
        let (client_r, mut client_w) = tokio::io::split(TokioIo::new(up));
        // Input: into the pipe (closed at the client's half-close) or the terminal.
        let feeder = input.map(|mut w| {
            tokio::spawn(async move {
                pump_input(client_r, &mut w, &keys).await;
                let _ = w.shutdown().await;
            })
        });
        pump_outputs(outputs, &mut client_w, tty, want).await;
        let _ = done_rx.await;
        if let Ok(msg) = fail_rx.await {
            let out = if tty {
                msg
            } else {
                super::files::frame(1, &msg)
            };
            let _ = client_w.write_all(&out).await;
        }
        if let Some(f) = feeder {
            f.abort();
        }
        let _ = client_w.shutdown().await;
    });
    Ok(resp)
}

/// Copies the exec's outputs to the client (framed without a terminal) until they end.
async fn pump_outputs<W>(
    outputs: Vec<(u8, Box<dyn tokio::io::AsyncRead + Unpin + Send>)>,
    client_w: &mut W,
    tty: bool,
    (stdout, stderr): (bool, bool),
) where
    W: tokio::io::AsyncWrite + Unpin,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(16);
    for (n, mut r) in outputs {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(k) = r.read(&mut buf).await {
                if k == 0 || tx.send((n, buf[..k].to_vec())).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    while let Some((n, data)) = rx.recv().await {
        if !tty && ((n == 1 && !stdout) || (n == 2 && !stderr)) {
            continue;
        }
        let out = if tty {
            data
        } else {
            super::files::frame(n, &data)
        };
        if client_w.write_all(&out).await.is_err() {
            break;
        }
    }
}

/// `POST /exec/{id}/resize`: the size applies at start (`ConsoleSize`); a running exec's
/// terminal keeps it.
pub async fn resize(d: &Arc<Daemon>, id: &str) -> ApiResult {
    entry(d, id)?;
    Ok(empty(StatusCode::OK))
}

/// `GET /exec/{id}/json`.
pub async fn inspect(d: &Arc<Daemon>, id: &str) -> ApiResult {
    let e = entry(d, id)?;
    let g = e.lock().expect("exec");
    ok_json(&json!({
        "CanRemove": false,
        "ContainerID": g.container,
        "DetachKeys": g.detach_keys,
        "ExitCode": g.exit_code,
        "ID": g.id,
        "OpenStderr": g.attach.2,
        "OpenStdin": g.attach.0,
        "OpenStdout": g.attach.1,
        "ProcessConfig": {
            "arguments": g.opts.cmd[1..],
            "entrypoint": g.opts.cmd[0],
            "privileged": g.opts.privileged,
            "tty": g.opts.tty,
            "user": g.opts.user.clone().unwrap_or_default(),
        },
        "Running": g.running,
        "Pid": 0,
    }))
}
