//! The build cache: which image a step made from a parent image, an instruction and (for
//! `COPY`/`ADD`) the content it copied. One small file per key under
//! `<root>/image/build-cache/`, holding the image ID; an entry whose image is gone is a
//! miss (and is removed by `builder prune`).

use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use crate::engine::{Engine, Error};

/// A cache key: the parent image and everything that decides the step's result.
pub(super) fn key(parent: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(parent.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

fn dir(engine: &Engine) -> PathBuf {
    engine.images.root().join("image").join("build-cache")
}

/// The image a step with this key made before, if it still exists.
pub(super) fn lookup(engine: &Engine, key: &str) -> Option<libimage::image::ImageRecord> {
    let id = std::fs::read_to_string(dir(engine).join(key)).ok()?;
    engine.images.resolve(id.trim()).ok()
}

/// Remembers the image a step made.
pub(super) fn store(engine: &Engine, key: &str, image: &libimage::Digest) -> Result<(), Error> {
    let d = dir(engine);
    std::fs::create_dir_all(&d).map_err(|e| Error::io("create", &d, e))?;
    libimage::fsutil::write_atomic(&d.join(key), image.to_string().as_bytes())?;
    Ok(())
}

impl Engine {
    /// Removes the build cache entries whose image is gone; with `all`, every entry
    /// (`builder prune -a`). Returns how many were removed.
    pub fn prune_build_cache(&self, all: bool) -> Result<usize, Error> {
        let d = dir(self);
        let Ok(rd) = std::fs::read_dir(&d) else {
            return Ok(0);
        };
        let mut n = 0;
        for e in rd.flatten() {
            let stale = all
                || std::fs::read_to_string(e.path())
                    .ok()
                    .is_none_or(|id| self.images.resolve(id.trim()).is_err());
            if stale && std::fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}
