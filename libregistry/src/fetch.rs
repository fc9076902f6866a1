//! Plain HTTP(S) downloads for the builder: `ADD https://...` and remote build contexts
//! (`docker build https://host/ctx.tar.gz`), through the same client, certificates and
//! runtime as registry calls.

use std::io::Write;

use futures_util::StreamExt;

use crate::client::Registry;
use crate::error::{Error, Result};

/// What [`Registry::fetch_url`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Bytes written.
    pub size: u64,
    /// The `Last-Modified` time, as seconds since the epoch (Docker gives `ADD`ed files
    /// this mtime).
    pub last_modified: Option<i64>,
    /// The file name the URL's path ends with (empty for `/`).
    pub name: String,
}

impl Registry {
    /// Downloads `url` into `out`, at most `limit` bytes (more is an error). Anything but
    /// a 2xx answer is an error with Docker's wording (`failed to GET URL with status 404
    /// Not Found: ...`).
    pub fn fetch_url(
        &self,
        url: &str,
        out: &mut (dyn Write + Send),
        limit: u64,
    ) -> Result<Fetched> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| Error::Invalid(format!("invalid URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Invalid(format!("unsupported URL scheme in {url:?}")));
        }
        let host = parsed.host_str().unwrap_or_default().to_string();
        let client = self.http(&host)?;
        let name = parsed
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .unwrap_or_default();
        let url = url.to_string();
        self.runtime().block_on(async move {
            let failed = |e: reqwest::Error| {
                Error::Unavailable(format!("Get \"{url}\": {}", e.without_url()))
            };
            let res = client.get(&url).send().await.map_err(failed)?;
            let status = res.status();
            if !status.is_success() {
                let body = res.text().await.unwrap_or_default();
                let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
                let body: String = body.chars().take(200).collect();
                return Err(Error::Unavailable(format!(
                    "failed to GET {url} with status {status}: {body}"
                )));
            }
            let last_modified = res
                .headers()
                .get(reqwest::header::LAST_MODIFIED)
                .and_then(|v| v.to_str().ok())
                .and_then(http_date);
            let mut size = 0u64;
            let mut body = res.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(failed)?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(Error::BadContent(format!("{url}: more than {limit} bytes")));
                }
                out.write_all(&chunk)
                    .map_err(|e| Error::io("write the download of", &url, e))?;
            }
            Ok(Fetched {
                size,
                last_modified,
                name,
            })
        })
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the epoch.
fn http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<i64> = parts[4]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(super::http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(super::http_date("garbage"), None);
    }
}
