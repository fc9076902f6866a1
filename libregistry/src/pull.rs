//! Pull: resolve the reference to one manifest digest, then download the config and the
//! layers concurrently (bounded) straight into the content store, which verifies digest and
//! size while the bytes stream in; layers are unpacked in order as soon as each one and the
//! ones below it are in, while later ones still download. Nothing unverified is ever
//! visible: a blob enters the store only whole and verified, and the image is recorded
//! last.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use futures_util::TryStreamExt;
use libimage::content::{ContentStore, Expected};
use libimage::image::{
    parse_document, Document, ImageConfig, ImageRecord, MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE,
};
use libimage::service::ImageService;
use libimage::{Digest, Reference};

use crate::client::{Registry, StreamReader};
use crate::error::{Error, Result};
use crate::progress::{LayerState, Progress};

/// From the download workers to the unpacker.
enum Msg {
    /// Layer i is in the store.
    Done(usize),
    /// Layer i's bytes, as they download.
    Stream(usize, mpsc::Receiver<std::io::Result<Vec<u8>>>),
}

/// Reads what a download tees into a channel; ends when the sender is dropped.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<std::io::Result<Vec<u8>>>) -> Self {
        ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What [`Registry::pull`] takes besides the reference.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]` to select from an index. By default, `linux/amd64`.
    pub platform: Option<String>,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The image as recorded.
    pub image: ImageRecord,
    /// The digest the reference resolved to (the index's for a multi-platform image).
    pub digest: Digest,
    /// Whether the reference named another image (or none) before.
    pub updated: bool,
}

const ACCEPTED: [&str; 4] = [
    libimage::image::OCI_MANIFEST,
    libimage::image::DOCKER_MANIFEST,
    libimage::image::OCI_INDEX,
    libimage::image::DOCKER_MANIFEST_LIST,
];

fn oci_ref(host: &str, r: &Reference, digest: Option<&Digest>) -> Result<oci_client::Reference> {
    let s = match (digest.or(r.digest()), r.tag()) {
        (Some(d), _) => format!("{host}/{}@{d}", r.path()),
        (None, Some(t)) => format!("{host}/{}:{t}", r.path()),
        (None, None) => format!("{host}/{}:latest", r.path()),
    };
    s.parse()
        .map_err(|e| Error::Invalid(format!("invalid reference {s}: {e}")))
}

/// Splits `os/arch[/variant]`.
fn parse_platform(p: Option<&str>) -> Result<(String, String, Option<String>)> {
    let p = p.unwrap_or("linux/amd64");
    let parts: Vec<&str> = p.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => {
            Ok((os.to_string(), arch.to_string(), None))
        }
        [os, arch, v] if !os.is_empty() && !arch.is_empty() => {
            Ok((os.to_string(), arch.to_string(), Some(v.to_string())))
        }
        _ => Err(Error::Invalid(format!(
            "invalid platform {p:?}: expected os/arch[/variant]"
        ))),
    }
}

impl Registry {
    /// Fetches a manifest or index by tag or digest, verifying its size cap and (when
    /// asked by digest) its digest; returns its bytes, digest and parsed form.
    fn fetch_document(
        &self,
        client: &oci_client::Client,
        auth: &oci_client::secrets::RegistryAuth,
        r: &oci_client::Reference,
        want: Option<(&Digest, Option<u64>)>,
        what: &str,
    ) -> Result<(Vec<u8>, Digest, Document)> {
        let (bytes, _) = self
            .runtime()
            .block_on(client.pull_manifest_raw(r, auth, &ACCEPTED))
            .map_err(|e| Error::from_oci(e, what))?;
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(Error::BadContent(format!(
                "{what}: manifest larger than {MAX_MANIFEST_SIZE} bytes"
            )));
        }
        let digest = Digest::sha256_of(&bytes);
        if let Some((d, size)) = want {
            if *d != digest {
                return Err(Error::BadContent(format!(
                    "{what}: manifest digest mismatch: expected {d}, got {digest}"
                )));
            }
            if size.is_some_and(|s| s != bytes.len() as u64) {
                return Err(Error::BadContent(format!(
                    "{what}: manifest size mismatch: expected {}, got {}",
                    size.unwrap_or(0),
                    bytes.len()
                )));
            }
        }
        let doc =
            parse_document(&bytes, None).map_err(|e| Error::BadContent(format!("{what}: {e}")))?;
        Ok((bytes.to_vec(), digest, doc))
    }

    /// Streams one blob into the content store, verified against `expected`.
    fn fetch_blob<'a>(
        &self,
        (client, r): (&oci_client::Client, &oci_client::Reference),
        images: &ImageService,
        digest: &Digest,
        size: u64,
        tee: Option<mpsc::SyncSender<std::io::Result<Vec<u8>>>>,
        on_bytes: Box<dyn FnMut(u64) + Send + 'a>,
    ) -> Result<()> {
        let d = digest.to_string();
        // A ranged request from byte 0: oci-client then leaves the digest to us (the
        // content store verifies digest and size while writing), so the bytes are hashed
        // once, not twice. A registry that ignores ranges answers in full and oci-client
        // verifies as well.
        let stream = match self
            .runtime()
            .block_on(client.pull_blob_stream_partial(r, d.as_str(), 0, None))
            .map_err(|e| Error::from_oci(e, &format!("blob {d}")))?
        {
            oci_client::client::BlobResponse::Full(s)
            | oci_client::client::BlobResponse::Partial(s) => s,
        };
        let s = stream.stream.map_err(std::io::Error::other);
        let mut reader = StreamReader::new(self.runtime().handle().clone(), Box::pin(s), on_bytes);
        reader.tee = tee;
        let r = images
            .content()
            .ingest(&mut reader, &Expected::exact(digest.clone(), size));
        if let (Err(_), Some(msg)) = (&r, &reader.failed) {
            // The download broke, not the store: oci-client's own digest check, or the
            // connection.
            return Err(if reader.failed_content {
                Error::BadContent(format!("blob {d}: {msg}"))
            } else {
                Error::Unavailable(format!("blob {d}: {msg}"))
            });
        }
        r.map_err(|e| match e.kind() {
            libimage::ErrorKind::DataLoss | libimage::ErrorKind::ResourceExhausted => {
                Error::BadContent(format!("blob {d}: {e}"))
            }
            _ => Error::Store(e),
        })?;
        Ok(())
    }

    /// Pulls `reference` into `images`, reporting progress; the image is recorded under the
    /// reference's tag (if it has one) and `repo@digest`.
    pub fn pull(
        &self,
        images: &ImageService,
        reference: &Reference,
        opts: &PullOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pulled> {
        let platform = parse_platform(opts.platform.as_deref())?;
        let before = images.resolve(&reference.to_string()).ok().map(|i| i.id);
        let what = reference.familiar();
        let mut last_err = None;
        for host in self.endpoints(reference.domain()) {
            match self.pull_from(&host, images, reference, &platform, progress) {
                Ok((image, digest)) => {
                    return Ok(Pulled {
                        updated: before.as_ref() != Some(&image.id),
                        image,
                        digest,
                    })
                }
                // A mirror that fails is skipped; the registry's own answer is final.
                Err(e) if host != reference.domain() => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::NotFound(format!("manifest for {what} not found"))))
    }

    fn pull_from(
        &self,
        host: &str,
        images: &ImageService,
        reference: &Reference,
        platform: &(String, String, Option<String>),
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(ImageRecord, Digest)> {
        let what = reference.familiar();
        let client = self.oci(host)?;
        let auth = self.auth(reference.domain())?;
        let top_ref = oci_ref(host, reference, None)?;
        let want = reference.digest().map(|d| (d, None));
        let (bytes, top_digest, doc) =
            self.fetch_document(&client, &auth, &top_ref, want, &what)?;
        progress(Progress::Resolved {
            digest: top_digest.clone(),
        });
        let (bytes, digest, manifest, media_type) = match doc {
            Document::Manifest(m, t) => (bytes, top_digest.clone(), m, t),
            Document::Index(idx, _) => {
                let (os, arch, variant) = platform;
                let matches: Vec<_> = idx
                    .manifests()
                    .iter()
                    .filter(|d| {
                        d.platform().as_ref().is_some_and(|p| {
                            p.os().to_string() == *os
                                && p.architecture().to_string() == *arch
                                && (variant.is_none()
                                    || p.variant().as_deref() == variant.as_deref())
                        })
                    })
                    .collect();
                let Some(desc) = matches.first() else {
                    return Err(Error::NotFound(format!(
                        "no matching manifest for {os}/{arch} in the manifest list entries"
                    )));
                };
                let d = Digest::parse(desc.digest().as_ref())?;
                let r = oci_ref(host, reference, Some(&d))?;
                let (b, dg, doc) =
                    self.fetch_document(&client, &auth, &r, Some((&d, Some(desc.size()))), &what)?;
                match doc {
                    Document::Manifest(m, t) => (b, dg, m, t),
                    Document::Index(..) => {
                        return Err(Error::BadContent(format!(
                            "{what}: an index entry for {os}/{arch} is itself an index"
                        )))
                    }
                }
            }
        };
        let content = images.content();
        content.ingest(
            &mut &bytes[..],
            &Expected::exact(digest.clone(), bytes.len() as u64),
        )?;

        // The config: small, fetched first (its diff_ids drive unpacking).
        let cfg = manifest.config();
        let cfg_digest = Digest::parse(cfg.digest().as_ref())?;
        if cfg.size() > MAX_CONFIG_SIZE {
            return Err(Error::BadContent(format!(
                "{what}: config larger than {MAX_CONFIG_SIZE} bytes"
            )));
        }
        if content.stat(&cfg_digest)?.is_none() {
            self.fetch_blob(
                (&client, &top_ref),
                images,
                &cfg_digest,
                cfg.size(),
                None,
                Box::new(|_| {}),
            )?;
        }
        let config = ImageConfig::parse(&content.read_all(&cfg_digest, MAX_CONFIG_SIZE)?)
            .map_err(|e| Error::BadContent(format!("{what}: {e}")))?;
        let layers = manifest.layers();
        if config.diff_ids().len() != layers.len() {
            return Err(Error::BadContent(format!(
                "{what}: manifest has {} layers but the config has {} diff_ids",
                layers.len(),
                config.diff_ids().len()
            )));
        }
        let chain_ids = config.chain_ids();
        let blobs: Vec<(Digest, u64)> = layers
            .iter()
            .map(|l| Ok((Digest::parse(l.digest().as_ref())?, l.size())))
            .collect::<Result<_>>()?;

        // Download (bounded workers) and unpack in order (one thread), overlapping. A layer
        // whose download starts when every layer below it is unpacked is also streamed
        // straight into the extractor while it downloads (its tree is checked against its
        // diff_id there, its blob against its digest by the store).
        let next = AtomicUsize::new(0);
        let unpacked = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let mut stream_error: Option<Error> = None;
        let (done_tx, done_rx) = mpsc::channel::<Msg>();
        let workers = self.options().max_concurrent.max(1).min(blobs.len().max(1));
        let unpack_error = |d: &Digest, e: libimage::Error| match e.kind() {
            libimage::ErrorKind::DataLoss => Error::BadContent(format!("{what}: layer {d}: {e}")),
            _ => Error::Store(e),
        };
        std::thread::scope(|sc| {
            for _ in 0..workers {
                let done_tx = done_tx.clone();
                let (client, top_ref, blobs, next, failed, first_error, unpacked) = (
                    &client,
                    &top_ref,
                    &blobs,
                    &next,
                    &failed,
                    &first_error,
                    &unpacked,
                );
                sc.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= blobs.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let (d, size) = blobs[i].clone();
                    let layer = |state, done| Progress::Layer {
                        digest: d.clone(),
                        state,
                        done,
                        total: size,
                    };
                    let r = if matches!(content.stat(&d), Ok(Some(_))) {
                        progress(layer(LayerState::AlreadyExists, 0));
                        Ok(())
                    } else {
                        progress(layer(LayerState::Downloading, 0));
                        let tee = (unpacked.load(Ordering::SeqCst) == i).then(|| {
                            let (tx, rx) = mpsc::sync_channel(32);
                            let _ = done_tx.send(Msg::Stream(i, rx));
                            tx
                        });
                        let pd = d.clone();
                        let r = self.fetch_blob(
                            (client, top_ref),
                            images,
                            &d,
                            size,
                            tee,
                            Box::new(move |n| {
                                progress(Progress::Layer {
                                    digest: pd.clone(),
                                    state: LayerState::Downloading,
                                    done: n,
                                    total: size,
                                })
                            }),
                        );
                        if r.is_ok() {
                            progress(layer(LayerState::DownloadComplete, size));
                        }
                        r
                    };
                    match r {
                        Ok(()) => {
                            let _ = done_tx.send(Msg::Done(i));
                        }
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            first_error.lock().expect("lock").get_or_insert(e);
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut ready = vec![false; blobs.len()];
            let mut k = 0;
            for msg in done_rx.iter() {
                match msg {
                    Msg::Stream(i, rx) => {
                        debug_assert_eq!(i, k);
                        let d = &blobs[i].0;
                        progress(Progress::Layer {
                            digest: d.clone(),
                            state: LayerState::Extracting,
                            done: 0,
                            total: blobs[i].1,
                        });
                        let parent = (i > 0).then(|| &chain_ids[i - 1]);
                        if let Err(e) = images.unpack_layer_from(
                            ChannelReader::new(rx),
                            &config.diff_ids()[i],
                            &chain_ids[i],
                            parent,
                        ) {
                            // Kept for the report; once the download itself succeeds the
                            // layer is unpacked again from the store (a concurrent pull
                            // may have stored the blob, so nothing was streamed).
                            stream_error = Some(unpack_error(d, e));
                        } else {
                            progress(Progress::Layer {
                                digest: d.clone(),
                                state: LayerState::PullComplete,
                                done: blobs[i].1,
                                total: blobs[i].1,
                            });
                            k += 1;
                            unpacked.store(k, Ordering::SeqCst);
                        }
                    }
                    Msg::Done(i) => ready[i] = true,
                }
                // Unpack layer k from the store once it and all below it are in.
                while k < blobs.len() && ready[k] {
                    let (d, size) = &blobs[k];
                    progress(Progress::Layer {
                        digest: d.clone(),
                        state: LayerState::Extracting,
                        done: *size,
                        total: *size,
                    });
                    let parent = (k > 0).then(|| &chain_ids[k - 1]);
                    if let Err(e) =
                        images.unpack_layer(d, &config.diff_ids()[k], &chain_ids[k], parent)
                    {
                        failed.store(true, Ordering::SeqCst);
                        first_error
                            .lock()
                            .expect("lock")
                            .get_or_insert(unpack_error(d, e));
                        return;
                    }
                    progress(Progress::Layer {
                        digest: d.clone(),
                        state: LayerState::PullComplete,
                        done: *size,
                        total: *size,
                    });
                    stream_error = None;
                    k += 1;
                    unpacked.store(k, Ordering::SeqCst);
                }
            }
        });
        // A download's own failure explains a streamed unpack's failure better.
        let incomplete = unpacked.load(Ordering::SeqCst) < blobs.len();
        if let Some(e) = first_error
            .lock()
            .expect("lock")
            .take()
            .or(stream_error.filter(|_| incomplete))
        {
            return Err(e);
        }
        let tags: Vec<Reference> = reference
            .tag()
            .map(|_| reference.clone())
            .into_iter()
            .collect();
        let image = images.add_image(&digest, Some(&media_type), &tags, Some(reference))?;
        Ok((image, top_digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        assert_eq!(
            parse_platform(None).unwrap(),
            ("linux".into(), "amd64".into(), None)
        );
        assert_eq!(
            parse_platform(Some("linux/arm/v7")).unwrap(),
            ("linux".into(), "arm".into(), Some("v7".into()))
        );
        assert!(parse_platform(Some("linux")).is_err());
        assert!(parse_platform(Some("/amd64")).is_err());
    }
}
