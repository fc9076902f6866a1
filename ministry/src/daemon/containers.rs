//! `/containers/...`: list, inspect, lifecycle (start, stop, restart, kill, pause,
//! unpause, wait, delete), update, rename, resize, top, changes, prune, and `/commit`.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use ministry::{ContainerListOptions, ContainerStatus, Engine};
use serde_json::{json, Value};

use super::http::{
    blocking, empty, no_content, ok_json, read_json, ApiError, ApiResult, Query, Req,
};
use super::Daemon;

/// Routes `/containers/{id}/...`.
pub async fn route(d: &Arc<Daemon>, req: Req, m: Method, id: &str, rest: &[&str]) -> ApiResult {
    let id = id.to_string();
    let q = Query::of(&req);
    match (m, rest) {
        (Method::GET, ["json"]) => inspect(d, id, q).await,
        (Method::POST, ["start"]) => start(d, id).await,
        (Method::POST, ["stop"]) => stop(d, id, q).await,
        (Method::POST, ["restart"]) => restart(d, id, q).await,
        (Method::POST, ["kill"]) => kill(d, id, q).await,
        (Method::POST, ["pause"]) => pause(d, id, true).await,
        (Method::POST, ["unpause"]) => pause(d, id, false).await,
        (Method::POST, ["wait"]) => wait(d, id, q).await,
        (Method::POST, ["resize"]) => resize(d, id, q).await,
        (Method::POST, ["rename"]) => rename(d, id, q).await,
        (Method::POST, ["update"]) => update(d, id, req).await,
        (Method::POST, ["attach"]) => super::attach::attach(d, id, req).await,
        (Method::POST, ["exec"]) => super::exec::create(d, id, req).await,
        (Method::GET, ["top"]) => top(d, id, q).await,
        (Method::GET, ["changes"]) => changes(d, id).await,
        (Method::GET, ["logs"]) => super::files::logs(d, id, q).await,
        (Method::GET, ["stats"]) => super::files::stats(d, id, q).await,
        (Method::GET, ["export"]) => super::files::export(d, id).await,
        (Method::GET | Method::HEAD, ["archive"]) => {
            super::files::archive_get(d, id, q, req.method() == Method::HEAD).await
        }
        (Method::PUT, ["archive"]) => super::files::archive_put(d, id, q, req).await,
        (Method::DELETE, []) => delete(d, id, q).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// The container's state, for handlers deciding Docker's 304s.
fn status_of(e: &Engine, id: &str) -> Result<ContainerStatus, ApiError> {
    let c = e.container(id)?;
    Ok(e.container_state(&c)?.status)
}

/// A container's own layer's size, and that plus its image's (`SizeRw`, `SizeRootFs`).
fn sizes(e: &Engine, c: &ministry::ContainerRecord) -> (u64, u64) {
    let rw = e
        .images()
        .snapshotter()
        .usage(&c.snapshot)
        .map(|u| u.size)
        .unwrap_or(0);
    let image = e
        .images()
        .resolve(&c.image_id)
        .map(|i| i.size())
        .unwrap_or(0);
    (rw, rw + image)
}

/// One container as `GET /containers/json` lists it (Docker's `types.Container`).
fn summary(e: &Engine, s: &ministry::ContainerSummary, size: bool) -> Value {
    let c = &s.record;
    let inspect = e
        .inspect_record(c)
        .ok()
        .and_then(|i| serde_json::to_value(i).ok())
        .unwrap_or(Value::Null);
    let command = crate::cli::containers::ps::command_line(c);
    let created = libimage::time::parse_rfc3339(&c.created)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut ports = Vec::new();
    if let Some(m) = inspect["NetworkSettings"]["Ports"].as_object() {
        for (k, binds) in m {
            let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
            let port: u16 = port.parse().unwrap_or(0);
            match binds.as_array() {
                Some(bs) if !bs.is_empty() => {
                    for b in bs {
                        ports.push(json!({
                            "IP": b["HostIp"].as_str().unwrap_or(""),
                            "PrivatePort": port,
                            "PublicPort": b["HostPort"].as_str().and_then(|p| p.parse::<u16>().ok()).unwrap_or(0),
                            "Type": proto,
                        }));
                    }
                }
                _ => ports.push(json!({"PrivatePort": port, "Type": proto})),
            }
        }
    }
    let mut v = json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": if c.config.image.is_empty() { c.image.clone() } else { c.config.image.clone() },
        "ImageID": c.image_id,
        "Command": command,
        "Created": created,
        "Ports": ports,
        "Labels": inspect["Config"]["Labels"].as_object().cloned().unwrap_or_default(),
        "State": s.state.status.as_str(),
        "Status": crate::cli::containers::ps::status_text(&s.state),
        "HostConfig": {"NetworkMode": inspect["HostConfig"]["NetworkMode"].clone()},
        "NetworkSettings": {"Networks": inspect["NetworkSettings"]["Networks"].clone()},
        "Mounts": inspect["Mounts"].clone(),
    });
    if size {
        let (rw, root) = sizes(e, c);
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(root);
    }
    v
}

/// `GET /containers/json`.
pub async fn list(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let filters = q.filters()?;
    let all = q.flag("all");
    let size = q.flag("size");
    let limit = q.int("limit")?.filter(|n| *n > 0).map(|n| n as usize);
    let v = blocking(d, move |d| {
        let filter = ministry::ContainerFilter::parse(&filters)?;
        let list = d
            .engine
            .list_containers(&ContainerListOptions { all, limit, filter })?;
        Ok(list
            .iter()
            .map(|s| summary(&d.engine, s, size))
            .collect::<Vec<_>>())
    })
    .await?;
    ok_json(&v)
}

/// `GET /containers/{id}/json`.
async fn inspect(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let size = q.flag("size");
    let v = blocking(d, move |d| {
        let i = d.engine.inspect_container(&id)?;
        let mut v = serde_json::to_value(i).map_err(|e| ApiError::new(500, e.to_string()))?;
        if size {
            let c = d.engine.container(&id)?;
            let (rw, root) = sizes(&d.engine, &c);
            v["SizeRw"] = json!(rw);
            v["SizeRootFs"] = json!(root);
        }
        Ok(v)
    })
    .await?;
    ok_json(&v)
}

/// Removes an `--rm` container once its program ends (the daemon's part of Docker's
/// `AutoRemove`), and drops its stdin pipe.
pub fn watch_exit(d: &Arc<Daemon>, id: String) {
    let d = d.clone();
    tokio::task::spawn_blocking(move || {
        let auto = d.engine.container(&id).map(|c| c.auto_remove);
        if let Ok(code) = d.engine.wait_next_exit(&id) {
            let mut exits = d.exits.lock().expect("exits");
            if exits.len() > 10_000 {
                exits.clear();
            }
            exits.insert(id.clone(), code);
        }
        if auto.unwrap_or(false) {
            // Removed by someone else meanwhile (`rm -f`) is fine.
            let _ = d.engine.remove_container_with(&id, true, true);
        }
        if let Ok(c) = d.engine.container(&id) {
            if !d.engine.container_state(&c).is_ok_and(|s| s.running) {
                d.stdins.lock().expect("stdins").remove(&id);
            }
        } else {
            d.stdins.lock().expect("stdins").remove(&id);
        }
    });
}

/// `POST /containers/{id}/start`: 304 when it runs already.
async fn start(d: &Arc<Daemon>, id: String) -> ApiResult {
    let id = blocking(d, move |d| {
        let c = d.engine.container(&id)?;
        let st = d.engine.container_state(&c)?;
        if st.running || st.restarting {
            return Err(ApiError::new(304, "container already started"));
        }
        // A stopped `OpenStdin` container without a terminal gets a fresh stdin pipe.
        let mut stdio = ministry::ContainerStdio::default();
        if st.status != ContainerStatus::Created && c.config.open_stdin && !c.config.tty {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| ApiError::new(500, format!("pipe: {e}")))?;
            stdio.stdin = Some(std::process::Stdio::from(r));
            d.stdins
                .lock()
                .expect("stdins")
                .insert(c.id.clone(), Arc::new(w));
        }
        let waiters = d
            .attach_waiters
            .lock()
            .expect("waiters")
            .remove(&c.id)
            .unwrap_or_default();
        let mut waiters = Some(waiters);
        let started = d
            .engine
            .start_container_then(&c.id, stdio, false, &mut |sock| {
                for w in waiters.take().unwrap_or_default() {
                    if let Ok(s) = std::os::unix::net::UnixStream::connect(sock) {
                        let _ = w.send(s);
                    }
                }
            });
        if let Err(e) = started {
            // An `--rm` container that could not start is removed (a client waiting for
            // `removed` learns so), as Docker's daemon does.
            if c.auto_remove {
                let _ = d.engine.remove_container_with(&c.id, true, true);
                d.stdins.lock().expect("stdins").remove(&c.id);
            }
            return Err(e.into());
        }
        Ok(c.id)
    })
    .await?;
    watch_exit(d, id);
    no_content()
}

/// `POST /containers/{id}/stop?t=`: 304 when it is not running.
async fn stop(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let t = q.int("t")?.or(q.int("timeout")?);
    blocking(d, move |d| {
        let st = status_of(&d.engine, &id)?;
        if !matches!(
            st,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        ) {
            return Err(ApiError::new(304, "container already stopped"));
        }
        d.engine.stop_container(&id, t)?;
        Ok(())
    })
    .await?;
    no_content()
}

/// `POST /containers/{id}/restart?t=`.
async fn restart(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let t = q.int("t")?.or(q.int("timeout")?);
    let id = blocking(d, move |d| {
        let c = d.engine.restart_container(&id, t)?;
        Ok(c.id)
    })
    .await?;
    watch_exit(d, id);
    no_content()
}

/// `POST /containers/{id}/kill?signal=`.
async fn kill(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let sig = q.get("signal").unwrap_or("").to_string();
    blocking(d, move |d| {
        let s = if sig.is_empty() {
            libc::SIGKILL
        } else {
            ministry::parse_signal(&sig)?
        };
        d.engine.kill_container(&id, s).map_err(|e| {
            let e = ApiError::from(e);
            ApiError {
                status: e.status,
                message: format!("Cannot kill container: {id}: {}", e.message),
            }
        })?;
        Ok(())
    })
    .await?;
    no_content()
}

/// `POST /containers/{id}/pause` and `unpause`.
async fn pause(d: &Arc<Daemon>, id: String, on: bool) -> ApiResult {
    blocking(d, move |d| {
        Ok(d.engine.pause_container(&id, on).map(drop)?)
    })
    .await?;
    no_content()
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`: the headers go
/// out at once; the status follows when the condition is met.
async fn wait(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let condition = q.get("condition").unwrap_or("not-running").to_string();
    if !matches!(
        condition.as_str(),
        "" | "not-running" | "next-exit" | "removed"
    ) {
        return Err(ApiError::bad(format!("invalid condition: \"{condition}\"")));
    }
    // Unknown containers fail before the headers go.
    let cid = {
        let id = id.clone();
        blocking(d, move |d| Ok(d.engine.container(&id)?.id)).await?
    };
    let (mut w, body) = super::stream::channel();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        let e = &d2.engine;
        let code = (|| -> Result<i32, ministry::Error> {
            let c = e.container(&cid)?;
            let st = e.container_state(&c)?;
            let running = st.running || st.restarting;
            // The exit the daemon saw, for a container removed meanwhile (`--rm`).
            let seen = |err: ministry::Error| -> Result<i32, ministry::Error> {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                loop {
                    if let Some(c) = d2.exits.lock().expect("exits").get(&cid) {
                        return Ok(*c);
                    }
                    if std::time::Instant::now() > deadline {
                        return Err(err);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            };
            let mut code = st.exit_code.unwrap_or(0);
            if condition == "next-exit" || running || st.status == ContainerStatus::Created {
                code = e.wait_next_exit(&cid).or_else(seen)?;
                if condition != "removed" {
                    return Ok(code);
                }
            } else if condition != "removed" {
                return Ok(code);
            }
            // `removed`: until the record is gone (the `--rm` watcher or a client's rm).
            while e.container(&cid).is_ok() {
                if w.closed() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Ok(code)
        })();
        let v = match code {
            Ok(c) => json!({"StatusCode": c, "Error": null}),
            Err(ministry::Error::NoSuchContainer(_)) => json!({"StatusCode": 0, "Error": null}),
            Err(e) => json!({"StatusCode": -1, "Error": {"Message": ministry::error_text(&e)}}),
        };
        let _ = w.send_json(&v);
    });
    let mut r = hyper::Response::new(body);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// `POST /containers/{id}/resize?h=&w=`.
async fn resize(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let h = q.int("h")?.unwrap_or(0);
    let w = q.int("w")?.unwrap_or(0);
    if !(0..=u16::MAX as i64).contains(&h) || !(0..=u16::MAX as i64).contains(&w) {
        return Err(ApiError::bad("invalid terminal size"));
    }
    blocking(d, move |d| {
        let c = d.engine.container(&id)?;
        if !c.config.tty {
            return Ok(());
        }
        Ok(d.engine.terminal(&id)?.resize(h as u16, w as u16)?)
    })
    .await?;
    Ok(empty(StatusCode::OK))
}

/// `POST /containers/{id}/rename?name=`.
async fn rename(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let name = q
        .get("name")
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    blocking(d, move |d| Ok(d.engine.rename_container(&id, &name)?)).await?;
    no_content()
}

/// Docker's `UpdateConfig` fields ministry applies.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateBody {
    memory: Option<i64>,
    memory_swap: Option<i64>,
    cpu_shares: Option<u64>,
    nano_cpus: Option<i64>,
    cpuset_cpus: Option<String>,
    pids_limit: Option<i64>,
    restart_policy: Option<super::create_body::RestartBody>,
}

/// `POST /containers/{id}/update`.
async fn update(d: &Arc<Daemon>, id: String, req: Req) -> ApiResult {
    let b: UpdateBody = read_json(req).await?.unwrap_or_default();
    blocking(d, move |d| {
        let h = ministry::HostConfig {
            memory: b.memory.filter(|m| *m != 0),
            memory_swap: b.memory_swap.filter(|m| *m != 0),
            cpu_shares: b.cpu_shares.filter(|c| *c != 0),
            cpus: b.nano_cpus.filter(|n| *n != 0).map(|n| n as f64 / 1e9),
            cpuset_cpus: b.cpuset_cpus.filter(|c| !c.is_empty()),
            pids_limit: b.pids_limit.filter(|p| *p != 0),
            ..Default::default()
        };
        if h != ministry::HostConfig::default() {
            d.engine.update_container(&id, &h)?;
        }
        if let Some(r) = b.restart_policy.filter(|r| !r.name.is_empty()) {
            d.engine
                .set_restart_policy(&id, r.policy().map_err(ApiError::bad)?)?;
        }
        Ok(())
    })
    .await?;
    ok_json(&json!({"Warnings": []}))
}

/// `GET /containers/{id}/top?ps_args=`.
async fn top(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let args: Vec<String> = q
        .get("ps_args")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let t = blocking(d, move |d| Ok(d.engine.top(&id, &args)?)).await?;
    ok_json(&t)
}

/// `GET /containers/{id}/changes`: kinds 0 modified, 1 added, 2 deleted.
async fn changes(d: &Arc<Daemon>, id: String) -> ApiResult {
    let v = blocking(d, move |d| {
        let ch = d.engine.container_changes(&id)?;
        Ok(ch
            .iter()
            .map(|c| {
                let kind = match c.kind {
                    libimage::tree::ChangeKind::Modified => 0,
                    libimage::tree::ChangeKind::Added => 1,
                    libimage::tree::ChangeKind::Deleted => 2,
                };
                json!({"Path": c.path.to_string_lossy(), "Kind": kind})
            })
            .collect::<Vec<_>>())
    })
    .await?;
    if v.is_empty() {
        return ok_json(&Value::Null);
    }
    ok_json(&v)
}

/// `DELETE /containers/{id}?force=&v=&link=`.
async fn delete(d: &Arc<Daemon>, id: String, q: Query) -> ApiResult {
    let force = q.flag("force");
    let volumes = q.flag("v");
    let link = q.flag("link");
    blocking(d, move |d| {
        if link {
            return Ok(d.engine.remove_link(&id)?);
        }
        let c = d.engine.remove_container_with(&id, force, volumes)?;
        d.stdins.lock().expect("stdins").remove(&c.id);
        Ok(())
    })
    .await?;
    no_content()
}

/// `POST /containers/prune`.
pub async fn prune(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let filters = q.filters()?;
    let (ids, space) = blocking(d, move |d| {
        if !filters.is_empty() {
            // Only containers passing the filters (Docker's `until` and `label`).
            let filter = ministry::ContainerFilter::parse(&filters)?;
            let list = d.engine.list_containers(&ContainerListOptions {
                all: true,
                limit: None,
                filter,
            })?;
            let mut ids = Vec::new();
            let mut space = 0u64;
            for s in list {
                if s.state.running || s.state.restarting {
                    continue;
                }
                space += d
                    .engine
                    .images()
                    .snapshotter()
                    .usage(&s.record.snapshot)
                    .map(|u| u.size)
                    .unwrap_or(0);
                d.engine.remove_container_with(&s.record.id, false, false)?;
                ids.push(s.record.id);
            }
            return Ok((ids, space));
        }
        Ok(d.engine.prune_containers()?)
    })
    .await?;
    ok_json(
        &json!({"ContainersDeleted": if ids.is_empty() { Value::Null } else { json!(ids) }, "SpaceReclaimed": space}),
    )
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`.
pub async fn commit(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let container = q.get("container").unwrap_or("").to_string();
    let repo = q.get("repo").unwrap_or("").to_string();
    let tag = q.get("tag").unwrap_or("").to_string();
    let comment = q.get("comment").unwrap_or("").to_string();
    let author = q.get("author").unwrap_or("").to_string();
    let pause = q.flag_or("pause", true);
    let changes = q.all("changes");
    let _ = read_json::<Value>(req).await?;
    let id = blocking(d, move |d| {
        let reference = match (repo.is_empty(), tag.is_empty()) {
            (true, _) => None,
            (false, true) => Some(repo.clone()),
            (false, false) => Some(format!("{repo}:{tag}")),
        };
        let img = d.engine.commit_container(
            &container,
            reference.as_deref(),
            &author,
            &comment,
            &changes,
            pause,
        )?;
        Ok(img.id.to_string())
    })
    .await?;
    Ok(super::http::json(StatusCode::CREATED, &json!({"Id": id})))
}
