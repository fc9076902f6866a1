//! Push: the layers the registry lacks (HEAD first; a cross-repository mount where the
//! image came from another repository of the same registry; else a streamed upload), the
//! config, then the exact manifest bytes of the local store, so the digest is the same
//! everywhere.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use libimage::content::ContentStore;
use libimage::image::MAX_MANIFEST_SIZE;
use libimage::service::ImageService;
use libimage::{Digest, Reference};
use oci_client::RegistryOperation;

use crate::client::Registry;
use crate::error::{Error, Result};
use crate::progress::{LayerState, Progress};

/// What a push did: Docker's closing line is `{tag}: digest: {digest} size: {size}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The tag pushed.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest's size in bytes.
    pub size: u64,
}

const CHUNK: usize = 1 << 20;

impl Registry {
    /// Uploads one local blob, streamed from the content store.
    fn upload_blob(
        &self,
        client: &oci_client::Client,
        r: &oci_client::Reference,
        images: &ImageService,
        digest: &Digest,
        size: u64,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<()> {
        let mut file = images.content().open(digest)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<oci_client::errors::Result<bytes::Bytes>>(4);
        let stream =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
            );
        std::thread::scope(|sc| {
            sc.spawn(move || {
                let mut done = 0u64;
                loop {
                    let mut buf = vec![0u8; CHUNK];
                    match file.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            buf.truncate(n);
                            done += n as u64;
                            if tx.blocking_send(Ok(bytes::Bytes::from(buf))).is_err() {
                                break;
                            }
                            on_bytes(done);
                        }
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e.into()));
                            break;
                        }
                    }
                }
            });
            self.runtime()
                .block_on(client.push_blob_stream(r, stream, &digest.to_string(), Some(size)))
                .map(drop)
                .map_err(|e| Error::from_oci(e, &format!("upload of {digest}")))
        })
    }

    /// Pushes the image `reference` names (it must be tagged so locally).
    pub fn push(
        &self,
        images: &ImageService,
        reference: &Reference,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pushed> {
        let image = images
            .resolve(&reference.to_string())
            .map_err(|e| match e.kind() {
                libimage::ErrorKind::NotFound => Error::NotFound(format!(
                    "An image does not exist locally with the tag: {}",
                    reference.familiar_repository()
                )),
                _ => Error::Store(e),
            })?;
        let host = reference.domain();
        let tag = reference.tag().unwrap_or("latest").to_string();
        let client = self.oci(host)?;
        let auth = self.auth(host)?;
        let oref: oci_client::Reference = format!("{host}/{}:{tag}", reference.path())
            .parse()
            .map_err(|e| Error::Invalid(format!("invalid reference: {e}")))?;
        self.runtime()
            .block_on(client.auth(&oref, &auth, RegistryOperation::Push))
            .map_err(|e| Error::from_oci(e, &reference.familiar()))?;
        // Repositories of the same registry this image is known in (mount sources).
        let sources: Vec<oci_client::Reference> = image
            .repo_digests
            .iter()
            .filter_map(|d| Reference::parse(d).ok())
            .filter(|r| r.domain() == host && r.path() != reference.path())
            .filter_map(|r| format!("{host}/{}:latest", r.path()).parse().ok())
            .collect();

        let mut blobs: Vec<(Digest, u64, bool)> = image
            .layers
            .iter()
            .map(|l| (l.blob.clone(), l.blob_size, true))
            .collect();
        blobs.push((image.id.clone(), image.config_size, false));
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let workers = self.options().max_concurrent.max(1).min(blobs.len());
        std::thread::scope(|sc| {
            for _ in 0..workers {
                let (client, oref, blobs, next, failed, first_error, sources) = (
                    &client,
                    &oref,
                    &blobs,
                    &next,
                    &failed,
                    &first_error,
                    &sources,
                );
                sc.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= blobs.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let (d, size, is_layer) = blobs[i].clone();
                    let report = |state, done| {
                        if is_layer {
                            progress(Progress::Layer {
                                digest: d.clone(),
                                state,
                                done,
                                total: size,
                            });
                        }
                    };
                    let r = (|| -> Result<()> {
                        let exists = |c: &oci_client::Client| {
                            self.runtime()
                                .block_on(c.blob_exists(oref, &d.to_string()))
                                .map_err(|e| Error::from_oci(e, &format!("blob {d}")))
                        };
                        if exists(client)? {
                            report(LayerState::AlreadyExists, size);
                            return Ok(());
                        }
                        for src in sources {
                            let mounted = self
                                .runtime()
                                .block_on(client.mount_blob(oref, src, &d.to_string()))
                                .is_ok();
                            if mounted && exists(client)? {
                                report(LayerState::Mounted, size);
                                return Ok(());
                            }
                        }
                        report(LayerState::Pushing, 0);
                        self.upload_blob(client, oref, images, &d, size, &|n| {
                            report(LayerState::Pushing, n)
                        })?;
                        report(LayerState::Pushed, size);
                        Ok(())
                    })();
                    if let Err(e) = r {
                        failed.store(true, Ordering::SeqCst);
                        first_error.lock().expect("lock").get_or_insert(e);
                        break;
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().expect("lock") {
            return Err(e);
        }
        let bytes = images
            .content()
            .read_all(&image.manifest, MAX_MANIFEST_SIZE)?;
        let media_type = image
            .manifest_media_type
            .parse()
            .map_err(|_| Error::Invalid(format!("bad media type {}", image.manifest_media_type)))?;
        self.runtime()
            .block_on(client.push_manifest_raw(&oref, bytes.clone(), media_type))
            .map_err(|e| Error::from_oci(e, &reference.familiar()))?;
        // Record `repo@digest` locally, as Docker does after a push.
        images.add_image(
            &image.manifest,
            Some(&image.manifest_media_type),
            &[],
            Some(reference),
        )?;
        Ok(Pushed {
            tag,
            digest: image.manifest.clone(),
            size: bytes.len() as u64,
        })
    }
}
