//! `POST /build`: the request body is the context (a tar, maybe compressed); the query
//! carries `docker build`'s flags; the engine's build events go back as Docker's JSON
//! stream (`{"stream": ...}`, `{"aux": {"ID": ...}}`, `{"errorDetail": ...}`), so
//! `DOCKER_BUILDKIT=0 docker build` works against ministry's daemon.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::files::streamed;
use super::http::{ApiError, ApiResult, Query, Req};
use super::stream::BodyReader;
use super::Daemon;
use ministry::{BuildContext, BuildEvent, BuildOptions, NetworkMode};

/// A JSON map query value (`buildargs`, `labels`).
fn json_map(q: &Query, k: &str) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    match q.get(k).filter(|v| !v.is_empty()) {
        None => Ok(BTreeMap::new()),
        Some(v) => {
            serde_json::from_str(v).map_err(|e| ApiError::bad(format!("invalid {k} value: {e}")))
        }
    }
}

/// The build's options from the query (Docker's names).
fn options(q: &Query) -> Result<BuildOptions, ApiError> {
    let mut o = BuildOptions {
        tags: q.all("t"),
        dockerfile: q
            .get("dockerfile")
            .filter(|f| !f.is_empty())
            .map(str::to_string),
        no_cache: q.flag("nocache"),
        remove: q.flag_or("rm", true),
        force_remove: q.flag("forcerm"),
        pull: q.flag("pull"),
        target: q
            .get("target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        platform: q
            .get("platform")
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        network: NetworkMode::parse(q.get("networkmode").unwrap_or("default")),
        build_args: json_map(q, "buildargs")?,
        ..Default::default()
    };
    o.labels = json_map(q, "labels")?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    o.add_hosts = q
        .all("extrahosts")
        .into_iter()
        .flat_map(|h| h.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|h| !h.is_empty())
        .collect();
    o.host.memory = q.int("memory")?.filter(|m| *m > 0);
    o.host.cpu_shares = q.int("cpushares")?.filter(|c| *c > 0).map(|c| c as u64);
    o.host.shm_size = q.int("shmsize")?.filter(|s| *s > 0).map(|s| s as u64);
    if let Some(u) = q.get("ulimits").filter(|u| !u.is_empty() && *u != "null") {
        let list: Vec<Value> =
            serde_json::from_str(u).map_err(|e| ApiError::bad(format!("invalid ulimits: {e}")))?;
        for l in list {
            let name = l["Name"].as_str().unwrap_or_default();
            let spec = format!(
                "{name}={}:{}",
                l["Soft"].as_i64().unwrap_or(0),
                l["Hard"].as_i64().unwrap_or(0)
            );
            o.host
                .ulimits
                .push(ministry::parse_ulimit(&spec).map_err(ApiError::bad)?);
        }
    }
    Ok(o)
}

fn line(v: Value) -> Vec<u8> {
    let mut b = serde_json::to_vec(&v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// `POST /build`.
pub async fn build(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let opts = options(&q)?;
    let quiet = q.flag("q");
    let remote = q
        .get("remote")
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
        .map(str::to_string);
    if let Some(r) = q
        .get("remote")
        .filter(|r| !r.is_empty() && remote.is_none())
    {
        return Err(ApiError::bad(format!(
            "unable to prepare context: only HTTP(S) remote contexts are supported: {r}"
        )));
    }
    let mut body = BodyReader::new(req.into_body());
    streamed(d, "application/json", vec![], move |d, w| {
        // An empty body (`docker build - < Dockerfile` sends the Dockerfile as a
        // one-file tar, so this is only a bare API call) is an empty context.
        let mut head = [0u8; 1];
        let n = std::io::Read::read(&mut body, &mut head).unwrap_or(0);
        let context = if let Some(url) = remote {
            BuildContext::Remote(url)
        } else if n == 0 {
            BuildContext::Empty
        } else {
            let head = head[..n].to_vec();
            BuildContext::Archive(Box::new(std::io::Read::chain(
                std::io::Cursor::new(head),
                body,
            )))
        };
        let mut started = false;
        let mut send = |v: Value| {
            let _ = w.write_all(&line(v));
            let _ = w.flush();
        };
        let result = d.engine.build(&opts, context, &mut |ev| {
            let text = match ev {
                BuildEvent::Context(_) => return,
                BuildEvent::Output(b) => String::from_utf8_lossy(&b).into_owned(),
                ev => ev.classic_line().unwrap_or_default(),
            };
            started = true;
            if !quiet {
                send(json!({ "stream": text }));
            }
        });
        match result {
            Ok(img) => {
                send(json!({"aux": {"ID": img.id.to_string()}}));
                if quiet {
                    send(json!({"stream": format!("{}\n", img.id)}));
                }
            }
            // Before any step (a Dockerfile that does not parse, a missing one): the
            // response is the error, as Docker's.
            Err(e) if !started => return Err(e.into()),
            Err(e) => {
                let code = match &e {
                    ministry::Error::Build { code, .. } => *code,
                    _ => 1,
                };
                let msg = e.text();
                send(json!({"errorDetail": {"code": code, "message": msg}, "error": msg}));
            }
        }
        Ok(())
    })
    .await
}
