//! The HTTP side of the Engine API: versioned paths, Docker's headers, errors as
//! `{"message": ...}` with the status of their kind, query and filter parsing, JSON
//! bodies, and the routing table.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Daemon;

/// The newest API version served (Docker 25's).
pub const API_VERSION: &str = "1.44";
/// The oldest accepted (Docker's minimum).
pub const MIN_API_VERSION: &str = "1.24";
/// The largest JSON request body read (a container's config is a few KiB).
const MAX_JSON_BODY: usize = 4 << 20;

/// A response body: whole, or streamed from a channel.
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;
/// A response.
pub type Resp = Response<Body>;
/// A request.
pub type Req = Request<Incoming>;

/// An API error: Docker's status and message.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Docker's `message`.
    pub message: String,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
        }
    }

    /// 400 with Docker's text.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404 with Docker's text.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// The response Docker sends for it.
    pub fn response(&self) -> Resp {
        if self.status == StatusCode::NOT_MODIFIED {
            return empty(StatusCode::NOT_MODIFIED);
        }
        json(
            self.status,
            &serde_json::json!({ "message": self.message.trim_end_matches('\n') }),
        )
    }
}

impl From<ministry::Error> for ApiError {
    fn from(e: ministry::Error) -> Self {
        ApiError::new(e.kind().http_status(), ministry::error_text(&e))
    }
}

impl From<libimage::Error> for ApiError {
    fn from(e: libimage::Error) -> Self {
        ministry::Error::from(e).into()
    }
}

/// What handlers return.
pub type ApiResult = Result<Resp, ApiError>;

/// A whole body.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

/// A response with a status and no body.
pub fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// 204 No Content.
pub fn no_content() -> ApiResult {
    Ok(empty(StatusCode::NO_CONTENT))
}

/// A JSON response as Go's encoder writes it (one line, newline-terminated).
pub fn json<T: Serialize + ?Sized>(status: StatusCode, v: &T) -> Resp {
    let mut body = serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec());
    body.push(b'\n');
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// 200 with a JSON body.
pub fn ok_json<T: Serialize + ?Sized>(v: &T) -> ApiResult {
    Ok(json(StatusCode::OK, v))
}

/// A request's query: its `key=value` pairs, decoded.
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Parses a request's query string.
    pub fn of(req: &Req) -> Self {
        Query(super::request::query_pairs(req.uri().query().unwrap_or("")))
    }

    /// The first value of `k`.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
    }

    /// Every value of `k`.
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean as Docker's `httputils.BoolValue` reads it: set and not `0`, `false`
    /// or empty.
    pub fn flag(&self, k: &str) -> bool {
        self.get(k).is_some_and(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "no"
            )
        })
    }

    /// A boolean with a default when absent.
    pub fn flag_or(&self, k: &str, default: bool) -> bool {
        if self.get(k).is_some() {
            self.flag(k)
        } else {
            default
        }
    }

    /// An integer; a malformed one is Docker's 400.
    pub fn int(&self, k: &str) -> Result<Option<i64>, ApiError> {
        match self.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad(format!("strconv.Atoi: parsing \"{v}\": invalid syntax"))
            }),
        }
    }

    /// Docker's `filters` parameter (`{"key":{"value":true}}`, or the old
    /// `{"key":["value"]}`) as `key=value` items.
    pub fn filters(&self) -> Result<Vec<String>, ApiError> {
        super::request::parse_filters(self.get("filters").unwrap_or("")).map_err(ApiError::bad)
    }
}

/// Reads a request body whole, at most `limit` bytes.
pub async fn read_body(req: Req, limit: usize) -> Result<Bytes, ApiError> {
    http_body_util::Limited::new(req.into_body(), limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ApiError::bad(format!("reading the request body: {e}")))
}

/// A JSON request body; empty is `None`.
pub async fn read_json<T: DeserializeOwned>(req: Req) -> Result<Option<T>, ApiError> {
    let b = read_body(req, MAX_JSON_BODY).await?;
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&b)
        .map(Some)
        .map_err(|e| ApiError::bad(e.to_string()))
}

/// Runs an engine call on a blocking thread.
pub async fn blocking<T, F>(d: &Arc<Daemon>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Daemon) -> Result<T, ApiError> + Send + 'static,
{
    let d = d.clone();
    tokio::task::spawn_blocking(move || f(&d))
        .await
        .map_err(|e| ApiError::new(500, format!("internal error: {e}")))?
}

use super::request::split_version;
pub use super::request::version_cmp;

/// Serves one request: checks the version, routes, and adds Docker's headers.
pub async fn handle(d: Arc<Daemon>, req: Req) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    let (version, rest) = split_version(&path);
    let method = req.method().clone();
    let mut resp = match version {
        Some(v) if version_cmp(v, API_VERSION).is_gt() => ApiError::bad(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        ))
        .response(),
        Some(v) if version_cmp(v, MIN_API_VERSION).is_lt() => ApiError::bad(format!(
            "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        ))
        .response(),
        _ => {
            let version = version.unwrap_or(API_VERSION).to_string();
            match super::routes::route(&d, req, rest.to_string(), version).await {
                Ok(r) => r,
                Err(e) => e.response(),
            }
        }
    };
    if d.debug {
        eprintln!("{method} {path} -> {}", resp.status().as_u16());
    }
    let h = resp.headers_mut();
    let set = |h: &mut hyper::HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(h, "api-version", API_VERSION.to_string());
    set(h, "docker-experimental", "false".into());
    set(h, "ostype", "linux".into());
    set(
        h,
        "server",
        format!("Ministry/{} (linux)", env!("CARGO_PKG_VERSION")),
    );
    set(h, "builder-version", "1".into());
    Ok(resp)
}
