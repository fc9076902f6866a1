//! System endpoints: `/_ping`, `/version`, `/info`, `/events` (a live stream with
//! filters), `/system/df`, `/auth` (login).

use std::sync::Arc;

use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::files::streamed;
use super::http::{
    blocking, full, ok_json, read_json, ApiError, ApiResult, Query, Req, API_VERSION,
    MIN_API_VERSION,
};
use super::Daemon;

/// `GET|HEAD /_ping`: `OK`, with Docker's cache headers.
pub fn ping(m: &Method) -> ApiResult {
    let body = if *m == Method::HEAD { "" } else { "OK" };
    let mut r = Response::new(full(body));
    let h = r.headers_mut();
    h.insert(
        "cache-control",
        "no-cache, no-store, must-revalidate"
            .parse()
            .expect("static"),
    );
    h.insert("pragma", "no-cache".parse().expect("static"));
    h.insert(
        hyper::header::CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("static"),
    );
    *r.status_mut() = StatusCode::OK;
    Ok(r)
}

/// `GET /version`.
pub async fn version(d: &Arc<Daemon>) -> ApiResult {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let v = env!("CARGO_PKG_VERSION");
    let arch = libimage::service::go_arch();
    let _ = d;
    ok_json(&json!({
        "Platform": {"Name": "ministry"},
        "Components": [{"Name": "Engine", "Version": v, "Details": {
            "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Arch": arch,
            "Os": "linux", "KernelVersion": kernel, "Experimental": "false",
            "GitCommit": "", "GoVersion": "",
        }}],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": "",
    }))
}

/// `GET /info`.
pub async fn info(d: &Arc<Daemon>) -> ApiResult {
    let v = blocking(d, |d| {
        let i = d.engine.info()?;
        let mut v = serde_json::to_value(i).map_err(|e| ApiError::new(500, e.to_string()))?;
        // What Docker's clients read besides: the ID, swarm off, runtimes.
        let extra = json!({
            "ID": v["Name"].clone(),
            "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
            "Runtimes": {"libruntime": {"path": "libruntime"}},
            "Warnings": null,
            "ExperimentalBuild": false,
            "Labels": [],
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in e {
                o.entry(k.clone()).or_insert(val.clone());
            }
        }
        Ok(v)
    })
    .await?;
    ok_json(&v)
}

/// Parses Docker's `since`/`until` (`seconds[.nanos]`).
fn event_time(q: &Query, k: &str) -> Result<Option<u64>, ApiError> {
    match q.get(k).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let (s, ns) = v.split_once('.').unwrap_or((v, "0"));
            let s: u64 = s
                .parse()
                .map_err(|_| ApiError::bad(format!("invalid value for {k}: {v}")))?;
            let ns: u64 = format!("{ns:0<9}")[..9].parse().unwrap_or(0);
            Ok(Some(s * 1_000_000_000 + ns))
        }
    }
}

/// An event in the API's shape (with the old `status`/`id`/`from` fields).
pub fn event_json(e: &ministry::Event) -> Value {
    let mut v = json!({
        "Type": e.typ.as_str(),
        "Action": e.action,
        "Actor": {"ID": e.id, "Attributes": e.attributes},
        "scope": "local",
        "time": e.time_nano / 1_000_000_000,
        "timeNano": e.time_nano,
    });
    if e.typ == ministry::EventType::Container || e.typ == ministry::EventType::Image {
        v["status"] = json!(e.action);
        v["id"] = json!(e.id);
        if let Some(img) = e.attributes.get("image") {
            v["from"] = json!(img);
        }
    }
    v
}

/// `GET /events?since=&until=&filters=`: replayed, then live until `until` or the
/// client leaves.
pub async fn events(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let since = event_time(&q, "since")?;
    let until = event_time(&q, "until")?;
    let filters = q.filters()?;
    let filter = ministry::EventFilter::parse(&filters)?;
    streamed(d, "application/json", vec![], move |d, w| {
        let mut stream = d.engine.events(ministry::EventOptions {
            since,
            until,
            filter,
        })?;
        // The headers go out now, before any event (an empty write starts the body).
        if w.write(&[]).is_err() {
            return Ok(());
        }
        loop {
            match stream.next_timeout(std::time::Duration::from_millis(500))? {
                Some(e) => {
                    let mut b = serde_json::to_vec(&event_json(&e)).unwrap_or_default();
                    b.push(b'\n');
                    if w.write_all(&b).is_err() {
                        return Ok(());
                    }
                }
                None if stream.ended() => return Ok(()),
                // An empty write fails once the client is gone.
                None => {
                    if w.write(&[]).is_err() {
                        return Ok(());
                    }
                }
            }
        }
    })
    .await
}

/// `GET /system/df`.
pub async fn df(d: &Arc<Daemon>) -> ApiResult {
    let v = blocking(d, |d| {
        let u = d.engine.disk_usage()?;
        let time = |s: &str| {
            libimage::time::parse_rfc3339(s)
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        let images: Vec<Value> = u
            .images
            .iter()
            .map(|i| {
                json!({
                    "Id": i.image.id.to_string(),
                    "ParentId": "",
                    "RepoTags": i.image.familiar_tags(),
                    "RepoDigests": i.image.repo_digests.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "Created": time(&i.created),
                    "Size": i.size,
                    "SharedSize": i.shared_size,
                    "VirtualSize": i.size,
                    "Labels": {},
                    "Containers": i.containers,
                })
            })
            .collect();
        let containers: Vec<Value> = u
            .containers
            .iter()
            .map(|c| {
                json!({
                    "Id": c.record.id,
                    "Names": [format!("/{}", c.record.name)],
                    "Image": c.record.image,
                    "ImageID": c.record.image_id,
                    "Command": crate::cli::containers::ps::command_line(&c.record),
                    "Created": time(&c.record.created),
                    "State": c.state.status.as_str(),
                    "Status": crate::cli::containers::ps::status_text(&c.state),
                    "SizeRw": c.size_rw,
                    "SizeRootFs": c.size_rw,
                    "Mounts": [],
                    "Labels": {},
                    "Ports": [],
                })
            })
            .collect();
        let volumes: Vec<Value> = u
            .volumes
            .iter()
            .map(|v| {
                let mut j = serde_json::to_value(&v.volume).unwrap_or_default();
                j["UsageData"] = json!({"Size": v.size, "RefCount": v.ref_count});
                j
            })
            .collect();
        Ok(json!({
            "LayersSize": u.layers_size,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }))
    })
    .await?;
    ok_json(&v)
}

/// Docker's `AuthConfig`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuthBody {
    username: String,
    password: String,
    serveraddress: String,
}

/// `POST /auth`: checks the credentials with the registry and keeps them.
pub async fn auth(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let b: AuthBody = read_json(req).await?.unwrap_or_default();
    blocking(d, move |d| {
        let server = if b.serveraddress.is_empty() {
            libregistry::auth::DOCKER_HUB_KEY.to_string()
        } else {
            b.serveraddress
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string()
        };
        d.engine.login(
            &server,
            &ministry::Credentials {
                username: b.username,
                password: b.password,
            },
        )?;
        Ok(())
    })
    .await?;
    ok_json(&json!({"Status": "Login Succeeded", "IdentityToken": ""}))
}
