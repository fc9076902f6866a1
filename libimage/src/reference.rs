//! Image references (`busybox`, `host:5000/a/b:tag`, `name@sha256:...`), parsed and
//! normalised exactly as Docker does (the grammar of distribution/reference).

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The registry that short names belong to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A fully normalised image reference: domain, repository path, and a tag and/or a digest.
///
/// `Reference::parse("busybox")` is `docker.io/library/busybox:latest`; [`Reference::familiar`]
/// gives back the short form Docker prints (`busybox:latest`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    Error::InvalidReference {
        input: input.to_string(),
        reason: reason.into(),
    }
}

fn format_err(input: &str) -> Error {
    invalid(input, "invalid reference format")
}

fn is_alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        // A separator run, which must be followed by an alphanumeric.
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Like a path component but allowing upper case, to tell "must be lowercase" apart from
/// other errors.
fn valid_path_component_any_case(c: &str) -> bool {
    valid_path_component(&c.to_ascii_lowercase())
}

fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
}

fn valid_domain(d: &str) -> bool {
    // host [':' port]
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        // [IPv6]:port
        let Some(end) = rest.find(']') else {
            return false;
        };
        let addr = &rest[..end];
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        let after = &rest[end + 1..];
        if after.is_empty() {
            return true;
        }
        let Some(port) = after.strip_prefix(':') else {
            return false;
        };
        ("x", Some(port))
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty() && host.split('.').all(valid_domain_component)
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

impl Reference {
    /// Parses and normalises a reference the way `docker pull NAME` does.
    pub fn parse(input: &str) -> Result<Self> {
        if input.is_empty() {
            return Err(format_err(input));
        }
        if input.len() == 64 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                input,
                format!(
                    "invalid repository name ({input}), cannot specify 64-byte hexadecimal strings"
                ),
            ));
        }
        // Split off the digest, then the tag (a ':' after the last '/').
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                let digest = Digest::parse(d).map_err(|_| format_err(input))?;
                (r, Some(digest))
            }
            None => (input, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(format_err(input));
            }
        }
        if name.is_empty() {
            return Err(format_err(input));
        }
        // Domain: the first component if it looks like a host (has '.', ':' or is localhost,
        // or has upper case letters, which a path never may).
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        let domain = if domain == LEGACY_DEFAULT_DOMAIN {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_REPO_PREFIX}{path}")
        } else {
            path
        };
        if !valid_domain(&domain) {
            return Err(format_err(input));
        }
        let components: Vec<&str> = path.split('/').collect();
        if !components.iter().all(|c| valid_path_component(c)) {
            if components.iter().all(|c| valid_path_component_any_case(c)) {
                return Err(invalid(
                    input,
                    format!("invalid reference format: repository name ({path}) must be lowercase"),
                ));
            }
            return Err(format_err(input));
        }
        // Docker checks the length of the normalised name (`docker.io/library/x`), not of
        // the text as typed.
        let full_len = domain.len() + 1 + path.len();
        if full_len > NAME_TOTAL_LENGTH_MAX {
            return Err(invalid(
                input,
                format!("invalid reference format: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"),
            ));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_string()),
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// Parses a reference that must carry a tag or digest as given, without adding `latest`
    /// (as `docker tag SOURCE TARGET` does for the target when no tag is given, it still
    /// means `latest`; this is the same as [`Reference::parse`] and exists for clarity).
    pub fn with_tag(&self, tag: &str) -> Result<Self> {
        if !valid_tag(tag) {
            return Err(format_err(tag));
        }
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to `digest`, without a tag.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The registry host (and port), e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The repository name, fully qualified: `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name in Docker's familiar form: `busybox`, `me/app`, `host:5000/x`.
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix(OFFICIAL_REPO_PREFIX)
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.repository()
        }
    }

    /// The familiar form with tag and digest: `busybox:latest`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_repository();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("me/app"), "docker.io/me/app:latest");
        assert_eq!(full("index.docker.io/me/app"), "docker.io/me/app:latest");
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("localhost/x"), "localhost/x:latest");
        assert_eq!(full("localhost:5000/a/b:tag"), "localhost:5000/a/b:tag");
        assert_eq!(
            full("127.0.0.1:5000/a/b/c:v1.0-rc_1"),
            "127.0.0.1:5000/a/b/c:v1.0-rc_1"
        );
        assert_eq!(
            full(&format!("busybox@{D}")),
            format!("docker.io/library/busybox@{D}")
        );
        assert_eq!(
            full(&format!("busybox:1@{D}")),
            format!("docker.io/library/busybox:1@{D}")
        );
        assert_eq!(full("[::1]:5000/x"), "[::1]:5000/x:latest");
        assert_eq!(full("a__b/c-d--e.f_g"), "docker.io/a__b/c-d--e.f_g:latest");
    }

    #[test]
    fn familiar_forms() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(r.familiar_repository(), "busybox");
        assert_eq!(Reference::parse("me/app:1").unwrap().familiar(), "me/app:1");
        assert_eq!(
            Reference::parse("localhost:5000/x").unwrap().familiar(),
            "localhost:5000/x:latest"
        );
        let r = Reference::parse(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.familiar(), format!("busybox@{D}"));
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in [
            "",
            ":",
            "busybox:",
            "/busybox",
            "busybox/",
            "a//b",
            "-busybox",
            "busybox-",
            "a...b",
            "a___b",
            "busybox:tag with space",
            "busybox:-tag",
            "busybox@sha256:abc",
            "busybox@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "host:port/x",
            "ho_st:5000/x",
            "x@",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = "a".repeat(256);
        let e = Reference::parse(&long).unwrap_err().to_string();
        assert!(e.contains("must not be more than 255 characters"), "{e}");
        let tag = format!("busybox:{}", "t".repeat(129));
        assert!(Reference::parse(&tag).is_err());
    }

    /// Found by the `reference` fuzz target: a short name under 255 characters whose
    /// normalised form is longer was accepted, and its own full form then rejected.
    #[test]
    fn r_fuzz_length_limit_applies_to_the_normalised_name() {
        let name = "a".repeat(240);
        assert!(
            Reference::parse(&name).is_err(),
            "docker.io/library/ + 240 > 255"
        );
        let ok = "a".repeat(255 - "docker.io/library/".len());
        let r = Reference::parse(&ok).unwrap();
        assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
    }

    #[test]
    fn upper_case_is_reported_like_docker() {
        let e = Reference::parse("Busybox").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        let e = Reference::parse("me/App").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid reference format: repository name (me/App) must be lowercase"
        );
        // Upper case in the first component makes it a domain, as in Docker.
        assert_eq!(full("Host/app"), "Host/app:latest");
    }
}
