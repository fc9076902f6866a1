//! `/networks/...` and `/volumes/...`.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{
    blocking, empty, json as json_resp, no_content, ok_json, read_json, ApiError, ApiResult, Query,
    Req,
};
use super::Daemon;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NetworkCreateBody {
    name: String,
    driver: String,
    #[serde(rename = "IPAM")]
    ipam: Option<IpamBody>,
    options: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
    internal: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpamBody {
    config: Option<Vec<IpamConfigBody>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfigBody {
    subnet: String,
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<EndpointConfigBody>,
    force: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EndpointConfigBody {
    aliases: Option<Vec<String>>,
}

/// `GET /networks`: each network as `inspect` shows it.
pub async fn network_list(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let filters = Query::of(&req).filters()?;
    let v = blocking(d, move |d| {
        let nets = d.engine.list_networks(&filters)?;
        let mut out = Vec::new();
        for n in nets {
            let i = d.engine.inspect_network_record(&n)?;
            let mut v = serde_json::to_value(i).map_err(|e| ApiError::new(500, e.to_string()))?;
            // The list leaves the members out, as Docker's.
            v["Containers"] = json!({});
            out.push(v);
        }
        Ok(out)
    })
    .await?;
    ok_json(&v)
}

/// `POST /networks/create`.
pub async fn network_create(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let b: NetworkCreateBody = read_json(req)
        .await?
        .ok_or_else(|| ApiError::bad("network name is required"))?;
    if b.name.is_empty() {
        return Err(ApiError::bad("network name is required"));
    }
    if b.internal {
        return Err(ApiError::bad("internal networks are not supported yet"));
    }
    if b.enable_ipv6 {
        return Err(ApiError::bad("IPv6 networks are not supported"));
    }
    let cfg = b
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().next())
        .unwrap_or_default();
    if !cfg.ip_range.is_empty() {
        return Err(ApiError::bad("--ip-range is not supported yet"));
    }
    let id = blocking(d, move |d| {
        let r = d
            .engine
            .create_network(&ministry::libnet::store::NewNetwork {
                name: b.name,
                driver: if b.driver.is_empty() {
                    "bridge".into()
                } else {
                    b.driver
                },
                subnet: (!cfg.subnet.is_empty()).then_some(cfg.subnet),
                gateway: (!cfg.gateway.is_empty()).then_some(cfg.gateway),
                labels: b.labels.unwrap_or_default(),
                options: b.options.unwrap_or_default(),
            })?;
        Ok(r.id)
    })
    .await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warning": ""}),
    ))
}

/// `/networks/{id}[/connect|/disconnect]`.
pub async fn network_route(
    d: &Arc<Daemon>,
    req: Req,
    m: Method,
    id: &str,
    rest: &[&str],
) -> ApiResult {
    let id = id.to_string();
    match (m, rest) {
        (Method::GET, []) => {
            let v = blocking(d, move |d| Ok(d.engine.inspect_network(&id)?)).await?;
            ok_json(&v)
        }
        (Method::DELETE, []) => {
            blocking(d, move |d| Ok(d.engine.remove_network(&id).map(drop)?)).await?;
            no_content()
        }
        (Method::POST, ["connect"]) => {
            let b: ConnectBody = read_json(req).await?.unwrap_or_default();
            blocking(d, move |d| {
                let aliases = b
                    .endpoint_config
                    .and_then(|e| e.aliases)
                    .unwrap_or_default();
                Ok(d.engine.connect_network(&id, &b.container, &aliases)?)
            })
            .await?;
            Ok(empty(StatusCode::OK))
        }
        (Method::POST, ["disconnect"]) => {
            let b: ConnectBody = read_json(req).await?.unwrap_or_default();
            let _ = b.force;
            blocking(d, move |d| {
                Ok(d.engine.disconnect_network(&id, &b.container)?)
            })
            .await?;
            Ok(empty(StatusCode::OK))
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// `POST /networks/prune`.
pub async fn network_prune(d: &Arc<Daemon>) -> ApiResult {
    let names = blocking(d, |d| Ok(d.engine.prune_networks()?)).await?;
    ok_json(&json!({"NetworksDeleted": if names.is_empty() { Value::Null } else { json!(names) }}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct VolumeCreateBody {
    name: String,
    driver: String,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// `GET /volumes`.
pub async fn volume_list(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let filters = Query::of(&req).filters()?;
    let v = blocking(d, move |d| Ok(d.engine.list_volumes(&filters)?)).await?;
    ok_json(&json!({"Volumes": v, "Warnings": null}))
}

/// `POST /volumes/create`.
pub async fn volume_create(d: &Arc<Daemon>, req: Req) -> ApiResult {
    let b: VolumeCreateBody = read_json(req).await?.unwrap_or_default();
    let v = blocking(d, move |d| {
        let (v, _) = d.engine.create_volume(&ministry::VolumeCreateOptions {
            name: (!b.name.is_empty()).then_some(b.name),
            driver: (!b.driver.is_empty()).then_some(b.driver),
            labels: b.labels.unwrap_or_default(),
            options: b.driver_opts.unwrap_or_default(),
        })?;
        Ok(v)
    })
    .await?;
    Ok(json_resp(StatusCode::CREATED, &v))
}

/// `/volumes/{name}`: GET and DELETE.
pub async fn volume_route(d: &Arc<Daemon>, req: Req, m: Method, name: &str) -> ApiResult {
    let name = name.to_string();
    let _ = Query::of(&req);
    match m {
        Method::GET => {
            let v = blocking(d, move |d| {
                Ok(d.engine
                    .volumes()
                    .get(&name)
                    .map_err(ministry::Error::from)?)
            })
            .await?;
            ok_json(&v)
        }
        Method::DELETE => {
            blocking(d, move |d| Ok(d.engine.remove_volume(&name)?)).await?;
            no_content()
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}

/// `POST /volumes/prune` (anonymous volumes only unless the `all` filter says so, as
/// API 1.42+).
pub async fn volume_prune(d: &Arc<Daemon>, req: Req, version: &str) -> ApiResult {
    let filters = Query::of(&req).filters()?;
    let all = filters.iter().any(|f| f == "all=true" || f == "all=1")
        || super::http::version_cmp(version, "1.42").is_lt();
    let (names, space) = blocking(d, move |d| Ok(d.engine.prune_volumes(all)?)).await?;
    ok_json(
        &json!({"VolumesDeleted": if names.is_empty() { Value::Null } else { json!(names) }, "SpaceReclaimed": space}),
    )
}
