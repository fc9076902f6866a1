//! A container's streams and files over the API: `logs` (multiplexed without a terminal),
//! `stats` (Docker's JSON, streamed each second or one-shot), `export`, and `archive`
//! (GET, HEAD and PUT: what `docker cp` uses), each produced on a blocking thread and
//! streamed.

use std::io::Write;
use std::sync::Arc;

use base64::Engine as _;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::json;

use super::http::{blocking, ApiError, ApiResult, Query, Req, Resp};
use super::stream::{channel, BodyReader, ChannelWriter};
use super::Daemon;

/// A writer that reports, once, that output began (so an error before it can still be
/// the response's status).
struct Started<'a> {
    w: &'a mut ChannelWriter,
    signal: Option<tokio::sync::oneshot::Sender<Option<ApiError>>>,
}

impl Write for Started<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Some(s) = self.signal.take() {
            let _ = s.send(None);
        }
        self.w.write(b)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A response streamed from a blocking producer. An error before the first byte is the
/// response (Docker's status and message); after it, the stream just ends.
pub async fn streamed<F>(
    d: &Arc<Daemon>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    f: F,
) -> ApiResult
where
    F: FnOnce(&Daemon, &mut (dyn Write + Send)) -> Result<(), ApiError> + Send + 'static,
{
    let (mut w, body) = channel();
    let (tx, rx) = tokio::sync::oneshot::channel::<Option<ApiError>>();
    let d = d.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = Started {
            w: &mut w,
            signal: Some(tx),
        };
        let r = f(&d, &mut s);
        if let Some(sig) = s.signal.take() {
            let _ = sig.send(r.err());
        }
    });
    if let Ok(Some(e)) = rx.await {
        return Err(e);
    }
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    Ok(r)
}

/// Docker's 8-byte frame header: stream (1 stdout, 2 stderr), three zeros, length.
pub fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 8);
    f.extend_from_slice(&[stream, 0, 0, 0]);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// Go's RFC 3339 with nanoseconds, as `logs --timestamps` prints times.
fn nano_time(t: &str) -> String {
    t.to_string()
}

/// `GET /containers/{id}/logs`.
pub async fn logs(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let follow = q.flag("follow");
    let stdout = q.flag("stdout");
    let stderr = q.flag("stderr");
    let timestamps = q.flag("timestamps");
    // `--details`: the log's attributes (none here) and a space before each line.
    let details = q.flag("details");
    if !stdout && !stderr {
        return Err(ApiError::bad(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let time = |k: &str| -> Result<Option<u64>, ApiError> {
        match q.get(k).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            Some(v) => {
                let (s, ns) = v.split_once('.').unwrap_or((v, "0"));
                let s: u64 = s
                    .parse()
                    .map_err(|_| ApiError::bad(format!("invalid value for \"{k}\": {v}")))?;
                let ns: u64 = format!("{ns:0<9}")[..9].parse().unwrap_or(0);
                Ok(Some(s * 1_000_000_000 + ns))
            }
        }
    };
    let since = time("since")?;
    let until = time("until")?;
    // Docker reads a tail it cannot parse as "all".
    let tail = q
        .get("tail")
        .and_then(|n| n.parse::<i64>().ok())
        .map(|n| n.max(0) as usize);
    let tty = {
        let id = id.clone();
        blocking(d, move |d| Ok(d.engine.container(&id)?.config.tty)).await?
    };
    let ctype = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    streamed(d, ctype, vec![], move |d, w| {
        let lines = d.engine.logs(
            &id,
            ministry::LogOptions {
                follow,
                since,
                until,
                tail,
            },
        )?;
        // The headers go out even when no line comes.
        w.write_all(&[]).ok();
        for l in lines {
            let l = l?;
            let err = l.stream == "stderr";
            if (err && !stderr) || (!err && !stdout) {
                continue;
            }
            let mut data = Vec::new();
            if timestamps {
                data.extend_from_slice(nano_time(&l.time).as_bytes());
                data.push(b' ');
            }
            if details {
                data.push(b' ');
            }
            data.extend_from_slice(l.log.as_bytes());
            let out = if tty {
                data
            } else {
                frame(if err { 2 } else { 1 }, &data)
            };
            if w.write_all(&out).is_err() {
                break;
            }
        }
        Ok(())
    })
    .await
}

/// The host's CPU time in nanoseconds (`/proc/stat`'s first line), Docker's
/// `system_cpu_usage`.
fn system_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(7)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    ticks * 10_000_000
}

fn online_cpus() -> u64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1)
}

fn now_rfc3339() -> String {
    libimage::time::rfc3339(std::time::SystemTime::now())
}

/// One stats sample in Docker's shape (`precpu` from the previous sample).
fn stats_json(
    name: &str,
    id: &str,
    s: Option<&ministry::Stats>,
    prev: Option<&(ministry::Stats, u64, String)>,
    sys: u64,
) -> serde_json::Value {
    let cpus = online_cpus();
    let cpu = |st: Option<&ministry::Stats>, sys: u64| {
        json!({
            "cpu_usage": {
                "total_usage": st.map(|s| s.cpu_ns).unwrap_or(0),
                "usage_in_kernelmode": 0,
                "usage_in_usermode": 0,
            },
            "system_cpu_usage": sys,
            "online_cpus": if st.is_some() { cpus } else { 0 },
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        })
    };
    let blk = |st: Option<&ministry::Stats>| match st {
        Some(s) => json!({
            "io_service_bytes_recursive": [
                {"major": 0, "minor": 0, "op": "read", "value": s.blkio_read},
                {"major": 0, "minor": 0, "op": "write", "value": s.blkio_write},
            ],
        }),
        None => json!({"io_service_bytes_recursive": null}),
    };
    json!({
        "read": now_rfc3339(),
        "preread": prev.map(|p| p.2.clone()).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "pids_stats": {"current": s.map(|s| s.pids).unwrap_or(0)},
        "blkio_stats": blk(s),
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(s, if s.is_some() { sys } else { 0 }),
        "precpu_stats": cpu(prev.map(|p| &p.0), prev.map(|p| p.1).unwrap_or(0)),
        "memory_stats": match s {
            Some(s) => json!({
                "usage": s.memory_usage,
                "stats": {},
                "limit": s.memory_limit.unwrap_or(0),
            }),
            None => json!({}),
        },
        "name": format!("/{name}"),
        "id": id,
    })
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: a sample a second while streaming;
/// one (with the previous second's as `precpu`, unless `one-shot`) otherwise.
pub async fn stats(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let stream = q.flag_or("stream", true);
    let one_shot = q.flag("one-shot");
    streamed(d, "application/json", vec![], move |d, w| {
        let c = d.engine.container(&id)?;
        let sample = |d: &Daemon| {
            let running = d
                .engine
                .container_state(&c)
                .is_ok_and(|s| s.running || s.paused);
            running
                .then(|| d.engine.container_stats(&c.id).ok())
                .flatten()
        };
        let mut prev: Option<(ministry::Stats, u64, String)> = None;
        if !stream && !one_shot {
            if let Some(s) = sample(d) {
                prev = Some((s, system_cpu_ns(), now_rfc3339()));
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        loop {
            let s = sample(d);
            let sys = system_cpu_ns();
            let v = stats_json(&c.name, &c.id, s.as_ref(), prev.as_ref(), sys);
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.push(b'\n');
            if w.write_all(&b).is_err() || !stream {
                return Ok(());
            }
            prev = s.map(|s| (s, sys, now_rfc3339()));
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    })
    .await
}

/// `GET /containers/{id}/export`: the file system as a tar.
pub async fn export(d: &Arc<Daemon>, id: String) -> ApiResult {
    streamed(d, "application/x-tar", vec![], move |d, w| {
        Ok(d.engine.export_container(&id, w)?)
    })
    .await
}

/// Go's `os.FileMode` bits of a tar header's mode and type (what `docker cp` reads from
/// `X-Docker-Container-Path-Stat`).
fn go_mode(h: &tar::Header) -> u32 {
    let perm = h.mode().unwrap_or(0) & 0o777;
    let t = h.entry_type();
    let kind = if t.is_dir() {
        1 << 31
    } else if t.is_symlink() {
        1 << 27
    } else {
        0
    };
    perm | kind
}

/// The stat header of a path in a container: the first entry of its archive.
fn path_stat(d: &Daemon, id: &str, path: &str) -> Result<String, ApiError> {
    struct FirstHeader(Vec<u8>);
    impl Write for FirstHeader {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let want = 512usize.saturating_sub(self.0.len());
            self.0.extend_from_slice(&b[..want.min(b.len())]);
            if self.0.len() >= 512 {
                return Err(std::io::Error::other("enough"));
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut first = FirstHeader(Vec::new());
    let r = d
        .engine
        .copy_tar_from_container(id, path, &mut first, false);
    if first.0.len() < 512 {
        r?;
        return Err(ApiError::new(500, "empty archive"));
    }
    let h = tar::Header::from_byte_slice(&first.0[..512]);
    let name = std::path::Path::new(path.trim_end_matches("/."))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    let mtime = h.mtime().unwrap_or(0);
    let v = json!({
        "name": name,
        "size": h.size().unwrap_or(0),
        "mode": go_mode(h),
        "mtime": libimage::time::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime)),
        "linkTarget": h.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned()).unwrap_or_default(),
    });
    Ok(base64::engine::general_purpose::STANDARD.encode(v.to_string()))
}

/// `GET|HEAD /containers/{id}/archive?path=`.
pub async fn archive_get(d: &Arc<Daemon>, id: String, q: Query, head: bool) -> ApiResult {
    let path = q
        .get("path")
        .ok_or_else(|| ApiError::bad("bad parameter: path cannot be empty"))?
        .to_string();
    let stat = {
        let (id, path) = (id.clone(), path.clone());
        blocking(d, move |d| path_stat(d, &id, &path)).await?
    };
    if head {
        let mut r: Resp = super::http::empty(StatusCode::OK);
        if let Ok(v) = HeaderValue::from_str(&stat) {
            r.headers_mut().insert("x-docker-container-path-stat", v);
        }
        return Ok(r);
    }
    streamed(
        d,
        "application/x-tar",
        vec![("x-docker-container-path-stat", stat)],
        move |d, w| Ok(d.engine.copy_tar_from_container(&id, &path, w, false)?),
    )
    .await
}

/// `PUT /containers/{id}/archive?path=`: a tar unpacked through the hardened extractor.
pub async fn archive_put(d: &Arc<Daemon>, id: String, q: Query, req: Req) -> ApiResult {
    let path = q
        .get("path")
        .ok_or_else(|| ApiError::bad("bad parameter: path cannot be empty"))?
        .to_string();
    let mut body = BodyReader::new(req.into_body());
    blocking(d, move |d| {
        Ok(d.engine
            .copy_tar_to_container(&id, &mut body, &path, &path)?)
    })
    .await?;
    Ok(super::http::empty(StatusCode::OK))
}
