//! `POST /containers/create`: the body translated by [`super::create_body`]; an image
//! that is not there is Docker's 404 "No such image", which makes the docker CLI pull it
//! and try again.

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::json;

use super::http::{blocking, json as json_resp, read_body, ApiError, ApiResult, Query, Req};
use super::Daemon;

/// `POST /containers/create?name=`.
pub async fn create(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let q = Query::of(&req);
    let name = q
        .get("name")
        .filter(|n| !n.is_empty())
        .map(|n| n.trim_start_matches('/').to_string());
    let body = read_body(req, 4 << 20).await?;
    let (o, open_stdin) = super::create_body::parse(&body, name)
        .map_err(ApiError::bad)?
        .ok_or_else(|| ApiError::bad("config cannot be empty in order to create a container"))?;
    let d2 = d.clone();
    let id = blocking(d, move |d| {
        if let Err(e) = d.engine.images().resolve(&o.image) {
            if e.kind() == libimage::ErrorKind::NotFound {
                let shown = libimage::Reference::parse(&o.image)
                    .map(|r| r.familiar())
                    .unwrap_or(o.image.clone());
                return Err(ApiError::not_found(format!("No such image: {shown}")));
            }
            return Err(e.into());
        }
        // `OpenStdin` without a terminal: the program's stdin is a pipe whose writing
        // end the daemon keeps for attach clients.
        let mut stdio = ministry::ContainerStdio::default();
        let mut keep = None;
        if open_stdin {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| ApiError::new(500, format!("pipe: {e}")))?;
            stdio.stdin = Some(std::process::Stdio::from(r));
            keep = Some(w);
        }
        // Only a missing image is a 404 here (the docker CLI pulls on a 404).
        let c = d.engine.create_with_stdio(&o, stdio).map_err(|e| {
            let e = ApiError::from(e);
            if e.status == hyper::StatusCode::NOT_FOUND {
                ApiError::bad(e.message)
            } else {
                e
            }
        })?;
        if let Some(w) = keep {
            d2.stdins
                .lock()
                .expect("stdins")
                .insert(c.id.clone(), Arc::new(w));
        }
        Ok(c.id)
    })
    .await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": []}),
    ))
}
