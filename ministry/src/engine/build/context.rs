//! The build context: a directory read in place, or an archive unpacked (through the
//! hardened extractor) into a private directory removed with the build; the files it
//! offers after `.dockerignore`.

use std::io::Read;
use std::path::{Path, PathBuf};

use libimage::dockerfile::ignore::{self, EntryKind, IgnorePatterns};
use libimage::layer::fsops::Root;

use super::BuildOptions;
use crate::engine::{Engine, Error};

/// Where a build's files come from.
pub enum BuildContext {
    /// A directory, read in place (never copied whole).
    Dir(PathBuf),
    /// A tar archive (plain, gzip, bzip2, xz or zstd), as `docker build - < ctx.tar`, a
    /// remote tarball, or the API's request body.
    Archive(Box<dyn Read + Send>),
    /// No files: only a Dockerfile (`docker build - < Dockerfile`).
    Empty,
    /// An HTTP(S) URL: a tarball (the context) or a text file (the Dockerfile, with an
    /// empty context), as `docker build https://...`.
    Remote(String),
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildContext::Dir(p) => f.debug_tuple("Dir").field(p).finish(),
            BuildContext::Archive(_) => f.write_str("Archive(..)"),
            BuildContext::Empty => f.write_str("Empty"),
            BuildContext::Remote(u) => f.debug_tuple("Remote").field(u).finish(),
        }
    }
}

/// An open context.
pub(super) struct Context {
    /// The context's files.
    pub root: PathBuf,
    /// A private directory to remove at the end (an unpacked archive, or an empty one).
    scratch: Option<PathBuf>,
    /// The files sent (after `.dockerignore`), and `COPY`'s lookups in them.
    pub files: ignore::BuildContext,
    /// The Dockerfile's context-relative name.
    pub dockerfile: String,
    /// The context's size as a tar stream.
    pub size: u64,
}

impl Drop for Context {
    fn drop(&mut self) {
        if let Some(d) = &self.scratch {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The largest remote context downloaded (Docker has no limit; this keeps a wrong URL
/// from filling the disk).
const MAX_REMOTE_CONTEXT: u64 = 8 << 30;

/// Docker's tar size of an entry: a header block and the content padded to blocks.
fn tar_size(kind: EntryKind, len: u64) -> u64 {
    512 + match kind {
        EntryKind::File => len.div_ceil(512) * 512,
        _ => 0,
    }
}

impl Context {
    pub(super) fn open(
        engine: &Engine,
        ctx: BuildContext,
        opts: &BuildOptions,
    ) -> Result<(Self, Option<String>), Error> {
        // A remote context is downloaded first: a tarball is the context, anything else
        // the Dockerfile (Docker's rule).
        let mut remote_dockerfile = None;
        let ctx = match ctx {
            BuildContext::Remote(url) => {
                use std::io::Seek;
                let mut f = super::copy::temp_file(engine.images.root())?;
                engine
                    .fetch_url(&url, &mut f, MAX_REMOTE_CONTEXT)
                    .map_err(|e| {
                        Error::InvalidConfig(format!("unable to prepare context: {}", e.text()))
                    })?;
                f.seek(std::io::SeekFrom::Start(0))
                    .map_err(|e| Error::io("seek", &url, e))?;
                let mut head = [0u8; 512];
                let n = f.read(&mut head).map_err(|e| Error::io("read", &url, e))?;
                f.seek(std::io::SeekFrom::Start(0))
                    .map_err(|e| Error::io("seek", &url, e))?;
                if super::copy::looks_like_archive_head(&head[..n]) {
                    BuildContext::Archive(Box::new(f))
                } else {
                    let mut text = String::new();
                    f.take(16 << 20)
                        .read_to_string(&mut text)
                        .map_err(|e| Error::io("read", &url, e))?;
                    remote_dockerfile = Some(text);
                    BuildContext::Empty
                }
            }
            c => c,
        };
        Self::open_local(engine, ctx, opts).map(|c| (c, remote_dockerfile))
    }

    fn open_local(engine: &Engine, ctx: BuildContext, opts: &BuildOptions) -> Result<Self, Error> {
        let dockerfile = opts
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".to_string());
        let dockerfile = dockerfile.trim_start_matches("./").to_string();
        let (root, scratch) = match ctx {
            BuildContext::Dir(d) => {
                let meta = std::fs::metadata(&d).map_err(|e| {
                    Error::InvalidConfig(format!(
                        "unable to prepare context: path \"{}\" not found: {}",
                        d.display(),
                        super::super::error_text(&e)
                    ))
                })?;
                if !meta.is_dir() {
                    return Err(Error::InvalidConfig(format!(
                        "unable to prepare context: context must be a directory: {}",
                        d.display()
                    )));
                }
                (d, None)
            }
            BuildContext::Archive(r) => {
                let dir = scratch_dir(engine)?;
                let unpacked = (|| -> Result<(), Error> {
                    // apply_layer detects and undoes the compression itself.
                    libimage::layer::apply_layer(r, &dir, &Default::default())?;
                    Ok(())
                })();
                if let Err(e) = unpacked {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
                (dir.clone(), Some(dir))
            }
            BuildContext::Empty | BuildContext::Remote(_) => {
                let dir = scratch_dir(engine)?;
                (dir.clone(), Some(dir))
            }
        };
        let mut c = Context {
            files: ignore::BuildContext::open(&root, &IgnorePatterns::empty(), None).map_err(
                |e| {
                    if let Some(d) = &scratch {
                        let _ = std::fs::remove_dir_all(d);
                    }
                    Error::from(e)
                },
            )?,
            root,
            scratch,
            dockerfile,
            size: 0,
        };
        let ignore = Root::open(&c.root)
            .and_then(|r| r.open_in_root(Path::new(".dockerignore"), libc::O_RDONLY))
            .ok()
            .map(|fd| {
                let mut s = String::new();
                std::fs::File::from(fd).read_to_string(&mut s).map(|_| s)
            })
            .transpose()
            .map_err(|e| Error::io("read", c.root.join(".dockerignore"), e))?;
        if let Some(text) = ignore {
            let patterns = IgnorePatterns::parse(&text)?;
            let dockerfile = opts
                .dockerfile_text
                .is_none()
                .then_some(c.dockerfile.as_str());
            c.files = ignore::BuildContext::open(&c.root, &patterns, dockerfile)?;
        }
        let mut size = 1024;
        for e in c.files.entries() {
            let len = match e.kind {
                EntryKind::File => std::fs::symlink_metadata(c.root.join(&e.rel))
                    .map(|m| m.len())
                    .unwrap_or(0),
                _ => 0,
            };
            size += tar_size(e.kind, len);
        }
        c.size = size;
        Ok(c)
    }

    /// The Dockerfile's text: given by the caller, else read from the context.
    pub(super) fn dockerfile_text(&self, opts: &BuildOptions) -> Result<String, Error> {
        if let Some(t) = &opts.dockerfile_text {
            return Ok(t.clone());
        }
        let missing = || {
            Error::InvalidConfig(format!(
                "Cannot locate specified Dockerfile: {}",
                self.dockerfile
            ))
        };
        let root = Root::open(&self.root).map_err(|e| Error::io("open", &self.root, e))?;
        // Docker's daemon also accepts `dockerfile` when `Dockerfile` is missing.
        let fd = root
            .open_in_root(Path::new(&self.dockerfile), libc::O_RDONLY)
            .or_else(|e| {
                if self.dockerfile == "Dockerfile" {
                    root.open_in_root(Path::new("dockerfile"), libc::O_RDONLY)
                } else {
                    Err(e)
                }
            })
            .map_err(|_| missing())?;
        let mut f = std::fs::File::from(fd);
        if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(missing());
        }
        let mut s = String::new();
        f.by_ref()
            .take(16 << 20)
            .read_to_string(&mut s)
            .map_err(|e| Error::io("read", self.root.join(&self.dockerfile), e))?;
        Ok(s)
    }
}

/// A fresh private directory under the engine's root.
pub(super) fn scratch_dir(engine: &Engine) -> Result<PathBuf, Error> {
    let base = engine.images.root().join("tmp");
    std::fs::create_dir_all(&base).map_err(|e| Error::io("create", &base, e))?;
    let dir = base.join(format!(
        "build-{}",
        crate::engine::run::hex(&crate::engine::run::random_bytes::<8>()?)
    ));
    std::fs::create_dir(&dir).map_err(|e| Error::io("create", &dir, e))?;
    Ok(dir)
}
