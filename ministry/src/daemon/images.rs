//! `/images/...`: list, pull (`create?fromImage`) and import (`create?fromSrc=-`) with
//! Docker's JSON progress stream, push, inspect, history, tag, delete, prune, search,
//! save (`get`) and load.

use std::sync::{Arc, Mutex};

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::files::streamed;
use super::http::{blocking, empty, ok_json, ApiError, ApiResult, Query, Req};
use super::stream::BodyReader;
use super::Daemon;

fn unix_time(rfc3339: &str) -> u64 {
    libimage::time::parse_rfc3339(rfc3339)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Routes `/images/{name...}/{op}` (names hold slashes) and `DELETE /images/{name...}`.
pub async fn by_name(d: &Arc<Daemon>, req: Req, m: Method, rest: &[&str]) -> ApiResult {
    let q = Query::of(&req);
    if m == Method::DELETE {
        return delete(d, rest.join("/"), q).await;
    }
    let Some((op, name)) = rest.split_last() else {
        return Err(ApiError::not_found("page not found"));
    };
    let name = name.join("/");
    match (m, *op) {
        (Method::GET, "json") => inspect(d, name).await,
        (Method::GET, "history") => history(d, name).await,
        (Method::GET, "get") => save(d, vec![name]).await,
        (Method::POST, "push") => push(d, name, q).await,
        (Method::POST, "tag") => tag(d, name, q).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// `GET /images/json`.
pub async fn list(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let mut filters = q.filters()?;
    let all = q.flag("all");
    // The old `filter=` parameter is a reference filter.
    if let Some(f) = q.get("filter").filter(|f| !f.is_empty()) {
        filters.push(format!("reference={f}"));
    }
    let v = blocking(d, move |d| {
        let list = d.engine.list_images(&filters, None, all)?;
        Ok(list
            .iter()
            .map(|s| {
                let img = &s.image;
                let labels = d
                    .engine
                    .images()
                    .config(img)
                    .ok()
                    .map(|c| c.raw()["config"]["Labels"].clone())
                    .filter(|l| !l.is_null())
                    .unwrap_or_else(|| json!({}));
                // Only the names the reference filter kept (Docker's daemon does so).
                let tags: Vec<String> = s
                    .names
                    .iter()
                    .map(|(repo, tag)| format!("{repo}:{tag}"))
                    .collect();
                let digests: Vec<String> = img.repo_digests.iter().map(|r| r.to_string()).collect();
                json!({
                    "Containers": -1,
                    "Created": unix_time(&s.created),
                    "Id": img.id.to_string(),
                    "Labels": labels,
                    "ParentId": "",
                    "RepoDigests": digests,
                    "RepoTags": tags,
                    "SharedSize": -1,
                    "Size": img.size(),
                    "VirtualSize": img.size(),
                })
            })
            .collect::<Vec<Value>>())
    })
    .await?;
    ok_json(&v)
}

/// `GET /images/{name}/json`.
async fn inspect(d: &Arc<Daemon>, name: String) -> ApiResult {
    let v = blocking(d, move |d| {
        // Docker 20.10's text for a missing image here names the reference in full too.
        let img = resolve(d, &name).map_err(|e| {
            if e.status == StatusCode::NOT_FOUND {
                let full = libimage::Reference::parse(&name)
                    .map(|r| r.familiar())
                    .unwrap_or_else(|_| name.clone());
                ApiError::not_found(format!("no such image: {name}: No such image: {full}"))
            } else {
                e
            }
        })?;
        let i = d.engine.images().inspect(&img)?;
        serde_json::to_value(i).map_err(|e| ApiError::new(500, e.to_string()))
    })
    .await?;
    ok_json(&v)
}

/// An image by name or ID, with Docker's 404 text.
fn resolve(d: &Daemon, name: &str) -> Result<libimage::image::ImageRecord, ApiError> {
    d.engine.images().resolve(name).map_err(|e| {
        if e.kind() == libimage::ErrorKind::NotFound {
            ApiError::not_found(format!("No such image: {name}"))
        } else {
            e.into()
        }
    })
}

/// `GET /images/{name}/history`.
async fn history(d: &Arc<Daemon>, name: String) -> ApiResult {
    let v = blocking(d, move |d| {
        let img = resolve(d, &name)?;
        let h = d.engine.images().history(&img)?;
        Ok(h.iter()
            .map(|r| {
                json!({
                    "Comment": r.comment,
                    "Created": unix_time(&r.created),
                    "CreatedBy": r.created_by,
                    "Id": r.id,
                    "Size": r.size,
                    "Tags": if r.tags.is_empty() { Value::Null } else { json!(r.tags) },
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    ok_json(&v)
}

/// `POST /images/{name}/tag?repo=&tag=`.
async fn tag(d: &Arc<Daemon>, name: String, q: Query) -> ApiResult {
    let repo = q.get("repo").unwrap_or("").to_string();
    let tag = q.get("tag").unwrap_or("").to_string();
    blocking(d, move |d| {
        resolve(d, &name)?;
        let target = if tag.is_empty() {
            repo.clone()
        } else {
            format!("{repo}:{tag}")
        };
        let r = libimage::Reference::parse(&target)?;
        d.engine.tag_image(&name, &r)?;
        Ok(())
    })
    .await?;
    Ok(super::http::empty(StatusCode::CREATED))
}

/// `DELETE /images/{name}?force=&noprune=`: Docker's `Untagged`/`Deleted` list.
async fn delete(d: &Arc<Daemon>, name: String, q: Query) -> ApiResult {
    let force = q.flag("force");
    let v = blocking(d, move |d| {
        resolve(d, &name)?;
        let events = d.engine.remove_image(&name, force)?;
        Ok(events
            .iter()
            .map(|e| match e {
                libimage::service::RemoveEvent::Untagged(n) => json!({"Untagged": n}),
                libimage::service::RemoveEvent::Deleted(id)
                | libimage::service::RemoveEvent::DeletedLayer(id) => {
                    json!({"Deleted": id.to_string()})
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    ok_json(&v)
}

/// `POST /images/prune`.
pub async fn prune(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let all = q
        .filters()?
        .iter()
        .any(|f| f == "dangling=false" || f == "dangling=0");
    let v = blocking(d, move |d| {
        let (events, space) = d.engine.prune_images(all)?;
        let deleted: Vec<Value> = events
            .iter()
            .map(|e| match e {
                libimage::service::RemoveEvent::Untagged(n) => json!({"Untagged": n}),
                libimage::service::RemoveEvent::Deleted(id)
                | libimage::service::RemoveEvent::DeletedLayer(id) => {
                    json!({"Deleted": id.to_string()})
                }
            })
            .collect();
        Ok(json!({
            "ImagesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
            "SpaceReclaimed": space,
        }))
    })
    .await?;
    ok_json(&v)
}

/// `GET /images/search?term=&limit=`.
pub async fn search(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let term = q.get("term").unwrap_or("").to_string();
    let limit = q.int("limit")?.unwrap_or(25).clamp(1, 100) as usize;
    let v = blocking(d, move |d| {
        let (host, t) = match term.split_once('/') {
            Some((h, t)) if h.contains(['.', ':']) || h == "localhost" => {
                (h.to_string(), t.to_string())
            }
            _ => ("docker.io".to_string(), term.clone()),
        };
        let r = d.engine.search(&host, &t, limit)?;
        Ok(r.iter()
            .map(|s| {
                json!({
                    "description": s.description,
                    "is_automated": s.is_automated,
                    "is_official": s.is_official,
                    "name": s.name,
                    "star_count": s.star_count,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    ok_json(&v)
}

fn short(d: &libimage::Digest) -> String {
    d.to_string()
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

/// Docker's progress bar text (`[==>   ]  1.2MB/3.4MB`).
fn bar(done: u64, total: u64) -> String {
    if total == 0 {
        return String::new();
    }
    let width = 50u64;
    let filled = (done.min(total) * width / total) as usize;
    let mut b = "=".repeat(filled);
    if filled < width as usize {
        b.push('>');
        b.push_str(&" ".repeat(width as usize - filled - 1));
    }
    format!(
        "[{b}] {:>8}/{}",
        crate::cli::output::human_size(done),
        crate::cli::output::human_size(total)
    )
}

/// `POST /images/create`: a pull (`fromImage`, `tag`) or an import (`fromSrc=-`, the
/// body; or a URL), streaming Docker's JSON progress messages.
pub async fn create(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    if let Some(src) = q.get("fromSrc").map(str::to_string) {
        return import(d, q, src, req).await;
    }
    let image = q.get("fromImage").unwrap_or("").to_string();
    if image.is_empty() {
        return Err(ApiError::bad("fromImage or fromSrc is required"));
    }
    let tag = q.get("tag").unwrap_or("").to_string();
    let platform = q
        .get("platform")
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let name = if tag.is_empty() {
        image.clone()
    } else if tag.starts_with("sha256:") {
        format!("{image}@{tag}")
    } else {
        format!("{image}:{tag}")
    };
    let r = libimage::Reference::parse(&name)
        .map_err(|e| ApiError::bad(ministry::error_text(&ministry::Error::from(e))))?;
    streamed(d, "application/json", vec![], move |d, w| {
        let what = r
            .tag()
            .map(str::to_string)
            .or_else(|| r.digest().map(|x| x.to_string()))
            .unwrap_or_default();
        let out = Mutex::new(w);
        let send = |v: Value| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.push(b'\n');
            let _ = std::io::Write::write_all(&mut *out.lock().expect("out"), &b);
        };
        let header = Mutex::new(Some(json!({"status": format!("Pulling from {}", r.path()), "id": what})));
        let present = Mutex::new(std::collections::HashSet::<libimage::Digest>::new());
        let progress = |p: libregistry::Progress| {
            if let Some(h) = header.lock().expect("lock").take() {
                send(h);
            }
            let libregistry::Progress::Layer {
                digest,
                state,
                done,
                total,
            } = p
            else {
                return;
            };
            use libregistry::LayerState as S;
            if state == S::AlreadyExists {
                present.lock().expect("lock").insert(digest.clone());
            } else if present.lock().expect("lock").contains(&digest) {
                return;
            }
            let id = short(&digest);
            let v = match state {
                S::AlreadyExists => json!({"status": "Already exists", "progressDetail": {}, "id": id}),
                S::Downloading if done == 0 => {
                    json!({"status": "Pulling fs layer", "progressDetail": {}, "id": id})
                }
                S::Downloading => json!({"status": "Downloading", "progressDetail": {"current": done, "total": total}, "progress": bar(done, total), "id": id}),
                S::DownloadComplete => json!({"status": "Download complete", "progressDetail": {}, "id": id}),
                S::Extracting => json!({"status": "Extracting", "progressDetail": {"current": done, "total": total}, "progress": bar(done, total), "id": id}),
                S::PullComplete => json!({"status": "Pull complete", "progressDetail": {}, "id": id}),
                _ => return,
            };
            send(v);
        };
        let pulled = d.engine.pull_image(
            &name,
            &ministry::PullOptions { platform },
            &progress,
        );
        match pulled {
            Ok(p) => {
                send(json!({"status": format!("Digest: {}", p.digest)}));
                send(json!({"status": format!(
                    "Status: {} for {}",
                    if p.updated { "Downloaded newer image" } else { "Image is up to date" },
                    r.familiar()
                )}));
                Ok(())
            }
            Err(e) => {
                let started = header.lock().expect("lock").is_none();
                let api: ApiError = e.into();
                if !started {
                    // Nothing sent yet: the failure is the response.
                    return Err(api);
                }
                send(json!({"errorDetail": {"message": api.message}, "error": api.message}));
                Ok(())
            }
        }
    })
    .await
}

/// `POST /images/create?fromSrc=-&repo=&tag=&changes=&message=`: a tarball becomes an
/// image.
async fn import(d: &Arc<Daemon>, q: Query, src: String, req: Req) -> ApiResult {
    if src != "-" {
        return Err(ApiError::bad(format!(
            "importing from a URL is not supported: {src}"
        )));
    }
    let repo = q.get("repo").unwrap_or("").to_string();
    let tag = q.get("tag").unwrap_or("").to_string();
    let changes = q.all("changes");
    let message = q.get("message").unwrap_or("").to_string();
    let reference = if repo.is_empty() {
        None
    } else {
        let n = if tag.is_empty() {
            repo
        } else {
            format!("{repo}:{tag}")
        };
        Some(libimage::Reference::parse(&n)?)
    };
    let mut body = BodyReader::new(req.into_body());
    streamed(d, "application/json", vec![], move |d, w| {
        let mut opts = ministry::ImportOptions {
            reference,
            changes,
            ..Default::default()
        };
        if !message.is_empty() {
            opts.comment = message;
        }
        let rec = d.engine.import_image(&mut body, &opts)?;
        let mut b = serde_json::to_vec(&json!({"status": rec.id.to_string()})).unwrap_or_default();
        b.push(b'\n');
        let _ = std::io::Write::write_all(w, &b);
        Ok(())
    })
    .await
}

/// `POST /images/{name}/push?tag=`.
async fn push(d: &Arc<Daemon>, name: String, q: Query) -> ApiResult {
    let tag = q.get("tag").unwrap_or("").to_string();
    let full = if tag.is_empty() {
        name.clone()
    } else {
        format!("{name}:{tag}")
    };
    {
        let full = full.clone();
        blocking(d, move |d| resolve(d, &full).map(drop)).await?;
    }
    streamed(d, "application/json", vec![], move |d, w| {
        let r = libimage::Reference::parse(&full)?;
        let diff_ids: std::collections::HashMap<libimage::Digest, libimage::Digest> = d
            .engine
            .images()
            .resolve(&r.to_string())
            .map(|i| {
                i.layers
                    .iter()
                    .map(|l| (l.blob.clone(), l.diff_id.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let out = Mutex::new(w);
        let send = |v: Value| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.push(b'\n');
            let _ = std::io::Write::write_all(&mut *out.lock().expect("out"), &b);
        };
        send(json!({"status": format!("The push refers to repository [{}]", r.familiar_repository())}));
        let progress = |p: libregistry::Progress| {
            let libregistry::Progress::Layer {
                digest,
                state,
                done,
                total,
            } = p
            else {
                return;
            };
            use libregistry::LayerState as S;
            let id = short(diff_ids.get(&digest).unwrap_or(&digest));
            let v = match state {
                S::Pushing if done == 0 => json!({"status": "Preparing", "progressDetail": {}, "id": id}),
                S::Pushing => json!({"status": "Pushing", "progressDetail": {"current": done, "total": total}, "progress": bar(done, total), "id": id}),
                S::Pushed => json!({"status": "Pushed", "progressDetail": {}, "id": id}),
                S::AlreadyExists => json!({"status": "Layer already exists", "progressDetail": {}, "id": id}),
                S::Mounted => json!({"status": "Mounted from another repository", "progressDetail": {}, "id": id}),
                _ => return,
            };
            send(v);
        };
        match d.engine.push_image(&full, &progress) {
            Ok(p) => {
                send(json!({"status": format!("{}: digest: {} size: {}", p.tag, p.digest, p.size)}));
                send(json!({"progressDetail": {}, "aux": {"Tag": p.tag, "Digest": p.digest.to_string(), "Size": p.size}}));
            }
            Err(e) => {
                let api: ApiError = e.into();
                send(json!({"errorDetail": {"message": api.message}, "error": api.message}));
            }
        }
        Ok(())
    })
    .await
}

/// `GET /images/get?names=` (and `/images/{name}/get`): `docker save`'s archive.
pub async fn save(d: &Arc<Daemon>, names: Vec<String>) -> ApiResult {
    {
        let names = names.clone();
        blocking(d, move |d| {
            for n in &names {
                resolve(d, n)?;
            }
            Ok(())
        })
        .await?;
    }
    streamed(d, "application/x-tar", vec![], move |d, w| {
        Ok(d.engine.save_images(&names, w)?)
    })
    .await
}

/// `GET /images/get?names=a&names=b`.
pub async fn save_many(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let names = Query::of(&req).all("names");
    save(d, names).await
}

/// `POST /images/load?quiet=`: the loaded images as JSON stream lines.
pub async fn load(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let mut body = BodyReader::new(req.into_body());
    let loaded = blocking(d, move |d| Ok(d.engine.load_images(&mut body)?)).await?;
    let mut out = Vec::new();
    for l in loaded {
        let v = json!({"stream": format!("{l}\n")});
        out.extend(serde_json::to_vec(&v).unwrap_or_default());
        out.push(b'\n');
    }
    let mut r = hyper::Response::new(super::http::full(out));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    let _ = empty;
    Ok(r)
}
