//! The Engine API's routing table: method and path (version prefix removed) to handler.

use std::sync::Arc;

use hyper::Method;

use super::http::{ApiError, ApiResult, Req};
use super::{containers, create, exec, images, objects, system, Daemon};

/// Routes one request.
pub async fn route(d: &Arc<Daemon>, req: Req, path: String, version: String) -> ApiResult {
    let m = req.method().clone();
    let segs = super::request::segments(&path);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (&m, s.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => system::ping(&m),
        (&Method::GET, ["version"]) => system::version(d).await,
        (&Method::GET, ["info"]) => system::info(d).await,
        (&Method::GET, ["events"]) => system::events(d, req).await,
        (&Method::GET, ["system", "df"]) => system::df(d).await,
        (&Method::POST, ["auth"]) => system::auth(d, req).await,
        (&Method::GET, ["containers", "json"]) => containers::list(d, req).await,
        (&Method::POST, ["containers", "create"]) => create::create(d, req).await,
        (&Method::POST, ["containers", "prune"]) => containers::prune(d, req).await,
        (_, ["containers", id, rest @ ..]) => containers::route(d, req, m.clone(), id, rest).await,
        (&Method::POST, ["commit"]) => containers::commit(d, req).await,
        (&Method::POST, ["exec", id, "start"]) => exec::start(d, id, req).await,
        (&Method::POST, ["exec", id, "resize"]) => exec::resize(d, id).await,
        (&Method::GET, ["exec", id, "json"]) => exec::inspect(d, id).await,
        (&Method::GET, ["images", "json"]) => images::list(d, req).await,
        (&Method::POST, ["images", "create"]) => images::create(d, req).await,
        (&Method::POST, ["images", "load"]) => images::load(d, req).await,
        (&Method::GET, ["images", "get"]) => images::save_many(d, req).await,
        (&Method::POST, ["images", "prune"]) => images::prune(d, req).await,
        (&Method::GET, ["images", "search"]) => images::search(d, req).await,
        (_, ["images", rest @ ..]) if !rest.is_empty() => {
            images::by_name(d, req, m.clone(), rest).await
        }
        (&Method::GET, ["networks"]) => objects::network_list(d, req).await,
        (&Method::POST, ["networks", "create"]) => objects::network_create(d, req).await,
        (&Method::POST, ["networks", "prune"]) => objects::network_prune(d).await,
        (_, ["networks", id, rest @ ..]) => {
            objects::network_route(d, req, m.clone(), id, rest).await
        }
        (&Method::GET, ["volumes"]) => objects::volume_list(d, req).await,
        (&Method::POST, ["volumes", "create"]) => objects::volume_create(d, req).await,
        (&Method::POST, ["volumes", "prune"]) => objects::volume_prune(d, req, &version).await,
        (_, ["volumes", name]) => objects::volume_route(d, req, m.clone(), name).await,
        (&Method::POST, ["build"]) => super::build::build(d, req).await,
        _ => Err(ApiError::not_found("page not found")),
    }
}
