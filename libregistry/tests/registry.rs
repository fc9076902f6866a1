//! Pull, push, login against the real CNCF Distribution registry: plain, with htpasswd
//! basic auth, with TLS; interoperability with skopeo (identical digests both ways); an
//! index with platform selection.

mod common;

use std::process::Command;

use common::*;
use libregistry::{Credentials, ErrorKind, LayerState, Progress, PullOptions};

fn no_progress(_: Progress) {}

#[test]
fn push_then_pull_round_trip_keeps_ids_and_digests() {
    let reg = RegistryServer::start(Setup::default());
    let (tmp, src) = store();
    let name = format!("{}/app:v1", reg.host);
    let img = small_image(&src, &name, "round-trip");
    let c = client(tmp.path(), None);
    let events = std::sync::Mutex::new(Vec::new());
    let pushed = c
        .push(&src, &reference(&name), &|p| events.lock().unwrap().push(p))
        .unwrap();
    assert_eq!(pushed.tag, "v1");
    assert_eq!(pushed.digest, img.manifest);
    assert!(events.lock().unwrap().iter().any(|e| matches!(
        e,
        Progress::Layer {
            state: LayerState::Pushed,
            ..
        }
    )));
    // Pushing again uploads nothing (HEAD first).
    let events = std::sync::Mutex::new(Vec::new());
    c.push(&src, &reference(&name), &|p| events.lock().unwrap().push(p))
        .unwrap();
    let ev = events.into_inner().unwrap();
    assert!(
        ev.iter().all(|e| !matches!(
            e,
            Progress::Layer {
                state: LayerState::Pushed,
                ..
            }
        )),
        "{ev:?}"
    );
    assert!(ev.iter().any(|e| matches!(
        e,
        Progress::Layer {
            state: LayerState::AlreadyExists,
            ..
        }
    )));
    // After a push the local image knows its repo digest.
    let rec = src.resolve(&name).unwrap();
    assert!(
        rec.repo_digests
            .iter()
            .any(|d| d.ends_with(&img.manifest.to_string())),
        "{:?}",
        rec.repo_digests
    );

    // A fresh store pulls the same image: same ID, same manifest digest, tag and digest.
    let (tmp2, dst) = store();
    let c2 = client(tmp2.path(), None);
    let pulled = c2
        .pull(
            &dst,
            &reference(&name),
            &PullOptions::default(),
            &no_progress,
        )
        .unwrap();
    assert_eq!(pulled.image.id, img.id);
    assert_eq!(pulled.digest, img.manifest);
    assert!(pulled.updated);
    assert_eq!(dst.resolve(&name).unwrap().id, img.id);
    let by_digest = format!("{}/app@{}", reg.host, img.manifest);
    assert_eq!(dst.resolve(&by_digest).unwrap().id, img.id);
    // The unpacked tree is the imported one.
    let mut out = Vec::new();
    dst.export_image(&pulled.image, &mut out).unwrap();
    let mut ar = tar::Archive::new(&out[..]);
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"etc/seed".to_string()), "{names:?}");
    // Pulling again: up to date, nothing downloaded.
    let events = std::sync::Mutex::new(Vec::new());
    let again = c2
        .pull(&dst, &reference(&name), &PullOptions::default(), &|p| {
            events.lock().unwrap().push(p)
        })
        .unwrap();
    assert!(!again.updated);
    assert!(events.into_inner().unwrap().iter().all(|e| !matches!(
        e,
        Progress::Layer {
            state: LayerState::Downloading,
            ..
        }
    )));
    // Pull by digest.
    let (tmp3, d3) = store();
    let p = client(tmp3.path(), None)
        .pull(
            &d3,
            &reference(&by_digest),
            &PullOptions::default(),
            &no_progress,
        )
        .unwrap();
    assert_eq!(p.image.id, img.id);
    assert!(p.image.repo_tags.is_empty());

    // Missing things: Docker's message, typed.
    let e = c2
        .pull(
            &dst,
            &reference(&format!("{}/nosuch", reg.host)),
            &PullOptions::default(),
            &no_progress,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        format!(
            "manifest for {}/nosuch:latest not found: manifest unknown: manifest unknown",
            reg.host
        )
    );
    let e = c2
        .push(
            &dst,
            &reference(&format!("{}/other", reg.host)),
            &no_progress,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "An image does not exist locally with the tag: {}/other",
            reg.host
        )
    );
}

#[test]
fn cross_repository_mount_on_push() {
    let reg = RegistryServer::start(Setup::default());
    let (tmp, s) = store();
    let a = format!("{}/a/one:latest", reg.host);
    small_image(&s, &a, "mount");
    let c = client(tmp.path(), None);
    c.push(&s, &reference(&a), &no_progress).unwrap();
    let b = format!("{}/b/two:latest", reg.host);
    s.tag(&a, &reference(&b)).unwrap();
    let events = std::sync::Mutex::new(Vec::new());
    c.push(&s, &reference(&b), &|p| events.lock().unwrap().push(p))
        .unwrap();
    let ev = events.into_inner().unwrap();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Progress::Layer {
                state: LayerState::Mounted,
                ..
            }
        )),
        "{ev:?}"
    );
}

#[test]
fn basic_auth_login_and_credentials() {
    let reg = RegistryServer::start(Setup {
        basic_auth: Some(("alice", "s3cret")),
        ..Default::default()
    });
    let (tmp, s) = store();
    let name = format!("{}/private:1", reg.host);
    small_image(&s, &name, "auth");
    let c = client(tmp.path(), None);
    let e = c.push(&s, &reference(&name), &no_progress).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e} / {e:?}");
    let bad = Credentials {
        username: "alice".into(),
        password: "wrong".into(),
    };
    let e = c.login(&reg.host, &bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(
        e.to_string(),
        format!(
            "login attempt to http://{}/v2/ failed with status: 401 Unauthorized",
            reg.host
        )
    );
    assert!(!e.to_string().contains("wrong"), "no password in errors");
    assert!(
        !tmp.path().join("config.json").exists(),
        "nothing stored on a failed login"
    );
    let good = Credentials {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    c.login(&reg.host, &good).unwrap();
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["auths"][&reg.host]["auth"], "YWxpY2U6czNjcmV0");
    // A new client reads the stored credentials.
    let c = client(tmp.path(), None);
    c.push(&s, &reference(&name), &no_progress).unwrap();
    let (tmp2, d) = store();
    std::fs::copy(
        tmp.path().join("config.json"),
        tmp2.path().join("config.json"),
    )
    .unwrap();
    client(tmp2.path(), None)
        .pull(&d, &reference(&name), &PullOptions::default(), &no_progress)
        .unwrap();
    let (tmp3, d3) = store();
    let e = client(tmp3.path(), None)
        .pull(
            &d3,
            &reference(&name),
            &PullOptions::default(),
            &no_progress,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(c.logout(&reg.host).unwrap());
    assert!(!c.logout(&reg.host).unwrap());
}

#[test]
fn tls_registry_with_certs_d() {
    let reg = RegistryServer::start(Setup {
        tls: true,
        ..Default::default()
    });
    let (tmp, s) = store();
    let name = format!("{}/secure:1", reg.host);
    let img = small_image(&s, &name, "tls");
    let c = client(tmp.path(), Some(reg.certs_dir()));
    assert_eq!(c.scheme(&reg.host), "https");
    c.push(&s, &reference(&name), &no_progress).unwrap();
    let (tmp2, d) = store();
    let p = client(tmp2.path(), Some(reg.certs_dir()))
        .pull(&d, &reference(&name), &PullOptions::default(), &no_progress)
        .unwrap();
    assert_eq!(p.image.id, img.id);
    // Without the CA the certificate is not trusted (and plain HTTP is not answered).
    let (tmp3, d3) = store();
    assert!(client(tmp3.path(), None)
        .pull(
            &d3,
            &reference(&name),
            &PullOptions::default(),
            &no_progress
        )
        .is_err());
}

#[test]
fn skopeo_interoperability_identical_digests() {
    require_tool("skopeo");
    let reg = RegistryServer::start(Setup::default());
    let (tmp, s) = store();
    // ministry push -> skopeo inspect: the same manifest digest.
    let name = format!("{}/fromministry:1", reg.host);
    let img = small_image(&s, &name, "skopeo");
    client(tmp.path(), None)
        .push(&s, &reference(&name), &no_progress)
        .unwrap();
    let out = sh(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{name}"),
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], img.manifest.to_string());
    // skopeo copy (an OCI image with gzip layers made by skopeo from a docker-archive) ->
    // ministry pull: the digest skopeo reports.
    let archive = tmp.path().join("img.tar");
    let mut f = std::fs::File::create(&archive).unwrap();
    s.save(
        std::slice::from_ref(&name),
        libimage::service::SaveFormat::Docker,
        &mut f,
    )
    .unwrap();
    drop(f);
    let dest = format!("{}/fromskopeo:2", reg.host);
    sh(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        "--format",
        "oci",
        "--dest-compress",
        &format!("docker-archive:{}", archive.display()),
        &format!("docker://{dest}"),
    ]));
    let out = sh(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (tmp2, d) = store();
    let p = client(tmp2.path(), None)
        .pull(&d, &reference(&dest), &PullOptions::default(), &no_progress)
        .unwrap();
    assert_eq!(p.digest.to_string(), v["Digest"].as_str().unwrap());
    // skopeo rewrote the config for OCI, so the ID is that of skopeo's config blob.
    assert_eq!(
        p.image.id.to_string(),
        v["Config"]["Digest"]
            .as_str()
            .unwrap_or(&p.image.id.to_string())
    );
}

#[test]
fn index_platform_selection() {
    require_tool("skopeo");
    let reg = RegistryServer::start(Setup::default());
    let (tmp, s) = store();
    let c = client(tmp.path(), None);
    // Two single-platform images, then an OCI index over both, pushed with skopeo's
    // help for the index (oci layout directory).
    let amd = format!("{}/multi:amd64", reg.host);
    let arm = format!("{}/multi:arm64", reg.host);
    let a = small_image(&s, &amd, "amd64");
    let b = s
        .import(
            &mut &small_tar("arm64")[..],
            &libimage::service::ImportOptions {
                reference: Some(reference(&arm)),
                architecture: "arm64".into(),
                ..Default::default()
            },
        )
        .unwrap();
    c.push(&s, &reference(&amd), &no_progress).unwrap();
    c.push(&s, &reference(&arm), &no_progress).unwrap();
    let desc = |i: &libimage::image::ImageRecord, arch: &str| serde_json::json!({"mediaType": i.manifest_media_type, "digest": i.manifest.to_string(), "size": i.manifest_size, "platform": {"architecture": arch, "os": "linux"}});
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [desc(&b, "arm64"), desc(&a, "amd64")]});
    let body = serde_json::to_vec(&index).unwrap();
    let url = format!("http://{}/v2/multi/manifests/latest", reg.host);
    let st = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.index.v1+json",
            "--data-binary",
            "@-",
            &url,
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(&body)?;
            ch.wait()
        })
        .unwrap();
    assert!(st.success());
    let latest = format!("{}/multi:latest", reg.host);
    let (t1, d1) = store();
    let p = client(t1.path(), None)
        .pull(
            &d1,
            &reference(&latest),
            &PullOptions::default(),
            &no_progress,
        )
        .unwrap();
    assert_eq!(p.image.id, a.id, "linux/amd64 by default");
    assert_eq!(
        p.digest,
        libimage::Digest::sha256_of(&body),
        "the reference's digest is the index's"
    );
    let (t2, d2) = store();
    let p = client(t2.path(), None)
        .pull(
            &d2,
            &reference(&latest),
            &PullOptions {
                platform: Some("linux/arm64".into()),
            },
            &no_progress,
        )
        .unwrap();
    assert_eq!(p.image.id, b.id);
    let (t3, d3) = store();
    let e = client(t3.path(), None)
        .pull(
            &d3,
            &reference(&latest),
            &PullOptions {
                platform: Some("linux/s390x".into()),
            },
            &no_progress,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no matching manifest for linux/s390x in the manifest list entries"
    );
}

#[test]
fn mirrors_are_tried_first() {
    let mirror = RegistryServer::start(Setup::default());
    let (tmp, s) = store();
    // The mirror holds docker.io's library/mirrored (there is no internet here: the pull
    // can only succeed through the mirror).
    let on_mirror = format!("{}/library/mirrored:latest", mirror.host);
    let img = small_image(&s, &on_mirror, "mirror");
    client(tmp.path(), None)
        .push(&s, &reference(&on_mirror), &no_progress)
        .unwrap();
    let (tmp2, d) = store();
    let c = libregistry::Registry::new(libregistry::RegistryOptions {
        credentials: libregistry::CredentialStore::new(tmp2.path().join("c.json"), vec![]),
        mirrors: [(
            "docker.io".to_string(),
            vec![format!("http://{}", mirror.host)],
        )]
        .into(),
        ..Default::default()
    })
    .unwrap();
    let p = c
        .pull(
            &d,
            &reference("mirrored"),
            &PullOptions::default(),
            &no_progress,
        )
        .unwrap();
    assert_eq!(p.image.id, img.id);
    assert_eq!(
        d.resolve("mirrored:latest").unwrap().id,
        img.id,
        "recorded under docker.io's name"
    );
}
