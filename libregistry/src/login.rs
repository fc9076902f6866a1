//! `login` (credentials verified against the registry before they are stored), `logout`,
//! and `search` (a private registry's `/v2/_catalog`, filtered).

use crate::auth::{parse_challenge, server_host, Credentials};
use crate::client::Registry;
use crate::error::{Error, Result};

/// One `search` result, in the shape of Docker's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchResult {
    /// The repository.
    pub name: String,
    /// Its description (a catalog has none).
    pub description: String,
    /// Stars (a catalog has none).
    pub star_count: u32,
    /// Whether it is an official image.
    pub is_official: bool,
    /// Whether it is an automated build.
    pub is_automated: bool,
}

fn api_host(host: &str) -> &str {
    if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    }
}

impl Registry {
    /// Checks `c` against `server` (`/v2/` and its challenge: basic auth directly, a bearer
    /// realm by asking it for a token) and stores them on success.
    pub fn login(&self, server: &str, c: &Credentials) -> Result<()> {
        let host = server_host(server);
        let url = format!("{}://{}/v2/", self.scheme(&host), api_host(&host));
        let http = self.http(&host)?;
        let net =
            |e: reqwest::Error| Error::Unavailable(format!("Get \"{url}\": {}", e.without_url()));
        self.runtime().block_on(async {
            let res = http.get(&url).send().await.map_err(net)?;
            if res.status().is_success() {
                return Ok(());
            }
            if res.status() != reqwest::StatusCode::UNAUTHORIZED {
                return Err(Error::Unavailable(format!(
                    "login attempt to {url} failed with status: {}",
                    res.status()
                )));
            }
            let challenge = res
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_challenge)
                .ok_or_else(|| {
                    Error::Unavailable(format!("{url}: 401 without a valid challenge"))
                })?;
            let (check_url, status) = match challenge.scheme.as_str() {
                "basic" => {
                    let r = http
                        .get(&url)
                        .basic_auth(&c.username, Some(&c.password))
                        .send()
                        .await
                        .map_err(net)?;
                    (url.clone(), r.status())
                }
                "bearer" => {
                    let realm = challenge.params.get("realm").ok_or_else(|| {
                        Error::Unavailable(format!("{url}: bearer challenge without realm"))
                    })?;
                    let mut u = reqwest::Url::parse(realm).map_err(|e| {
                        Error::Unavailable(format!("{url}: bad realm {realm:?}: {e}"))
                    })?;
                    if let Some(s) = challenge.params.get("service") {
                        u.query_pairs_mut().append_pair("service", s);
                    }
                    u.query_pairs_mut().append_pair("account", &c.username);
                    let r = http
                        .get(u.clone())
                        .basic_auth(&c.username, Some(&c.password))
                        .send()
                        .await
                        .map_err(net)?;
                    (u.to_string(), r.status())
                }
                other => {
                    return Err(Error::Unavailable(format!(
                        "{url}: unsupported auth scheme {other}"
                    )))
                }
            };
            if status.is_success() {
                Ok(())
            } else if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                Err(Error::Unauthorized(format!(
                    "login attempt to {check_url} failed with status: {status}"
                )))
            } else {
                Err(Error::Unavailable(format!(
                    "login attempt to {check_url} failed with status: {status}"
                )))
            }
        })?;
        self.options().credentials.store(server, c)
    }

    /// Forgets the stored credentials for `server`; whether there were any.
    pub fn logout(&self, server: &str) -> Result<bool> {
        self.options().credentials.erase(server)
    }

    /// The tags of a repository (for `pull --all-tags`), sorted.
    pub fn list_tags(&self, repository: &libimage::Reference) -> Result<Vec<String>> {
        let host = repository.domain();
        let client = self.oci(host)?;
        let auth = self.auth(host)?;
        let r: oci_client::Reference = format!("{host}/{}:latest", repository.path())
            .parse()
            .map_err(|e| Error::Invalid(format!("invalid repository: {e}")))?;
        let mut tags = self
            .runtime()
            .block_on(client.list_tags(&r, &auth, None, None))
            .map_err(|e| Error::from_oci(e, &repository.familiar_repository()))?
            .tags;
        tags.sort();
        Ok(tags)
    }

    /// Repositories of the registry `host` whose name contains `term`, from its catalog.
    pub fn search(&self, host: &str, term: &str, limit: usize) -> Result<Vec<SearchResult>> {
        let client = self.oci(host)?;
        let auth = self.auth(host)?;
        let r: oci_client::Reference = format!("{host}/catalog:latest")
            .parse()
            .map_err(|e| Error::Invalid(format!("invalid registry {host}: {e}")))?;
        let mut out = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .runtime()
                .block_on(client.catalog(&r, &auth, Some(100), last.as_deref()))
                .map_err(|e| Error::from_oci(e, &format!("catalog of {host}")))?;
            let n = page.repositories.len();
            for name in page.repositories {
                if name.contains(term) && out.len() < limit {
                    out.push(SearchResult {
                        name: format!("{host}/{name}"),
                        description: String::new(),
                        star_count: 0,
                        is_official: false,
                        is_automated: false,
                    });
                }
                last = Some(name);
            }
            if n < 100 || out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}
