//! SECURITY.md's hostile-registry cases against an in-process fake registry: each is
//! refused with a typed error and leaves no image and no unverified blob. Also: a redirect
//! to another host never carries the credentials.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use libimage::content::ContentStore;
use libimage::Digest;
use libregistry::{CredentialStore, Credentials, ErrorKind, PullOptions};

/// A response: status, extra headers, body.
type Resp = (u16, Vec<(String, String)>, Vec<u8>);

/// The requests a fake saw: path and headers.
type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

/// A tiny HTTP/1.1 server answering from a path -> response map; records request headers.
struct Fake {
    host: String,
    seen: Seen,
}

impl Fake {
    fn start(routes: HashMap<String, Resp>) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = l.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                if let Some(n) = headers
                    .get("content-length")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    let mut body = vec![0; n];
                    let _ = r.read_exact(&mut body);
                }
                s2.lock().unwrap().push((path.clone(), headers));
                let key = path.split('?').next().unwrap_or("").to_string();
                let (status, extra, body) = routes.get(&key).cloned().unwrap_or((
                    404,
                    vec![],
                    br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
                        .to_vec(),
                ));
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in extra {
                    head += &format!("{k}: {v}\r\n");
                }
                head += "\r\n";
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
        });
        Fake { host, seen }
    }
}

struct FakeImage {
    layer: Vec<u8>,
    layer_digest: Digest,
    config: Vec<u8>,
    config_digest: Digest,
    manifest: Vec<u8>,
}

fn fake_image(diff_id: Option<&str>) -> FakeImage {
    let layer = small_tar("hostile");
    let layer_digest = Digest::sha256_of(&layer);
    let diff = diff_id
        .map(str::to_string)
        .unwrap_or_else(|| layer_digest.to_string());
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff]}
    }))
    .unwrap();
    let config_digest = Digest::sha256_of(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": config_digest.to_string()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": layer.len(), "digest": layer_digest.to_string()}]
    }))
    .unwrap();
    FakeImage {
        layer,
        layer_digest,
        config,
        config_digest,
        manifest,
    }
}

const MT: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn routes(img: &FakeImage, layer_body: Vec<u8>, manifest_body: Vec<u8>) -> HashMap<String, Resp> {
    let ct = vec![("Content-Type".to_string(), MT.to_string())];
    HashMap::from([
        ("/v2/".to_string(), (200, vec![], b"{}".to_vec())),
        (
            "/v2/app/manifests/latest".to_string(),
            (200, ct.clone(), manifest_body.clone()),
        ),
        (
            format!("/v2/app/manifests/{}", Digest::sha256_of(&img.manifest)),
            (200, ct, manifest_body),
        ),
        (
            format!("/v2/app/blobs/{}", img.config_digest),
            (200, vec![], img.config.clone()),
        ),
        (
            format!("/v2/app/blobs/{}", img.layer_digest),
            (200, vec![], layer_body),
        ),
    ])
}

/// Pulls `name` from the fake into a fresh store; asserts the failure is `kind` and that
/// no image and no blob of `bad` remain, and the ingest area is empty.
fn refused(host: &str, name: &str, kind: ErrorKind, bad: Option<&Digest>) {
    let (tmp, s) = store();
    let e = client(tmp.path(), None)
        .pull(
            &s,
            &reference(&format!("{host}/{name}")),
            &PullOptions::default(),
            &|_| {},
        )
        .unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert!(s.list().unwrap().is_empty(), "no image recorded");
    if let Some(d) = bad {
        assert!(s.content().stat(d).unwrap().is_none(), "no unverified blob");
    }
    let ingest = s.root().join("image/content/ingest");
    let left = std::fs::read_dir(&ingest).map(|r| r.count()).unwrap_or(0);
    assert_eq!(left, 0, "ingest area empty");
}

#[test]
fn wrong_bytes_wrong_size_and_short_layers_are_refused() {
    let img = fake_image(None);
    let mut flipped = img.layer.clone();
    flipped[700] ^= 1;
    let mut long = img.layer.clone();
    long.extend_from_slice(b"extra");
    let short = img.layer[..img.layer.len() - 10].to_vec();
    for body in [flipped, long, short] {
        let f = Fake::start(routes(&img, body, img.manifest.clone()));
        refused(&f.host, "app", ErrorKind::DataLoss, Some(&img.layer_digest));
    }
    // The honest server works, so the cases above failed for their one defect only.
    let f = Fake::start(routes(&img, img.layer.clone(), img.manifest.clone()));
    let (tmp, s) = store();
    client(tmp.path(), None)
        .pull(
            &s,
            &reference(&format!("{}/app", f.host)),
            &PullOptions::default(),
            &|_| {},
        )
        .unwrap();
}

#[test]
fn hostile_manifests_are_refused() {
    let img = fake_image(None);
    // Larger than the 4 MiB cap.
    let mut big = img.manifest.clone();
    big.truncate(big.len() - 1);
    big.extend_from_slice(
        format!(",\"annotations\":{{\"x\":\"{}\"}}}}", "a".repeat(5 << 20)).as_bytes(),
    );
    let f = Fake::start(routes(&img, img.layer.clone(), big));
    refused(&f.host, "app", ErrorKind::DataLoss, None);
    // Ambiguous: both an image manifest's layers and an index's manifests.
    let mut v: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    v["manifests"] = serde_json::json!([]);
    let f = Fake::start(routes(
        &img,
        img.layer.clone(),
        serde_json::to_vec(&v).unwrap(),
    ));
    refused(&f.host, "app", ErrorKind::DataLoss, None);
    // Asked by digest, served other bytes.
    let f = Fake::start(routes(&img, img.layer.clone(), img.manifest.clone()));
    let other = Digest::sha256_of(b"something else");
    let mut r = routes(&img, img.layer.clone(), img.manifest.clone());
    r.insert(
        format!("/v2/app/manifests/{other}"),
        (
            200,
            vec![("Content-Type".into(), MT.into())],
            img.manifest.clone(),
        ),
    );
    drop(f);
    let f = Fake::start(r);
    refused(&f.host, &format!("app@{other}"), ErrorKind::DataLoss, None);
}

#[test]
fn diff_id_mismatch_is_refused() {
    let wrong = Digest::sha256_of(b"not the layer").to_string();
    let img = fake_image(Some(&wrong));
    let f = Fake::start(routes(&img, img.layer.clone(), img.manifest.clone()));
    refused(&f.host, "app", ErrorKind::DataLoss, None);
}

#[test]
fn redirects_to_another_host_drop_credentials() {
    let img = fake_image(None);
    let other = Fake::start(HashMap::from([(
        "/blob".to_string(),
        (200, vec![], img.layer.clone()),
    )]));
    let mut r = routes(&img, vec![], img.manifest.clone());
    r.insert(
        "/v2/".into(),
        (
            401,
            vec![("WWW-Authenticate".into(), "Basic realm=\"fake\"".into())],
            b"{}".to_vec(),
        ),
    );
    r.insert(
        format!("/v2/app/blobs/{}", img.layer_digest),
        (
            307,
            vec![("Location".into(), format!("http://{}/blob", other.host))],
            vec![],
        ),
    );
    let f = Fake::start(r);
    let (tmp, s) = store();
    CredentialStore::new(tmp.path().join("config.json"), vec![])
        .store(
            &f.host,
            &Credentials {
                username: "u".into(),
                password: "secret".into(),
            },
        )
        .unwrap();
    client(tmp.path(), None)
        .pull(
            &s,
            &reference(&format!("{}/app", f.host)),
            &PullOptions::default(),
            &|_| {},
        )
        .unwrap();
    let sent_auth = f
        .seen
        .lock()
        .unwrap()
        .iter()
        .any(|(_, h)| h.contains_key("authorization"));
    assert!(sent_auth, "the registry itself got the credentials");
    let seen = other.seen.lock().unwrap();
    assert!(!seen.is_empty(), "the redirect was followed");
    assert!(
        seen.iter().all(|(_, h)| !h.contains_key("authorization")),
        "{seen:?}"
    );
}

#[test]
fn bearer_token_flow_for_pull_and_login() {
    // /v2/ asks for a bearer token from /token (which wants basic credentials); the
    // registry's other routes accept only that token.
    let img = fake_image(None);
    let token_host = Fake::start(HashMap::from([(
        "/token".to_string(),
        (
            200,
            vec![],
            br#"{"token":"tok-123","expires_in":300}"#.to_vec(),
        ),
    )]));
    let mut r = routes(&img, img.layer.clone(), img.manifest.clone());
    r.insert(
        "/v2/".into(),
        (
            401,
            vec![(
                "WWW-Authenticate".into(),
                format!(
                    "Bearer realm=\"http://{}/token\",service=\"fake\"",
                    token_host.host
                ),
            )],
            b"{}".to_vec(),
        ),
    );
    let f = Fake::start(r);
    let (tmp, s) = store();
    let c = client(tmp.path(), None);
    c.login(
        &f.host,
        &Credentials {
            username: "u".into(),
            password: "pw".into(),
        },
    )
    .unwrap();
    let asked = token_host.seen.lock().unwrap().clone();
    assert!(
        asked.iter().any(|(p, h)| p.contains("service=fake")
            && p.contains("account=u")
            && h.contains_key("authorization")),
        "{asked:?}"
    );
    client(tmp.path(), None)
        .pull(
            &s,
            &reference(&format!("{}/app", f.host)),
            &PullOptions::default(),
            &|_| {},
        )
        .unwrap();
    let seen = f.seen.lock().unwrap();
    let blob_reqs: Vec<_> = seen
        .iter()
        .filter(|(p, _)| p.contains("/blobs/") || p.contains("/manifests/"))
        .collect();
    assert!(!blob_reqs.is_empty());
    assert!(
        blob_reqs
            .iter()
            .all(|(_, h)| h.get("authorization").map(String::as_str) == Some("Bearer tok-123")),
        "{blob_reqs:?}"
    );
}
