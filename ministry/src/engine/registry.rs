//! Pull, push, login and search through libregistry, on the engine's image store.
//!
//! libregistry is synchronous and runs oci-client's HTTP on a small tokio runtime of its
//! own. Blocking on a runtime from inside another one panics, so every call here runs
//! on a thread of its own (which has no runtime context): these methods block the caller
//! and are safe to call from anywhere, including a tokio worker through
//! `spawn_blocking` or even directly.

use libregistry::{Credentials, Progress, PullOptions, Pulled, Pushed, Registry, SearchResult};

use super::{Engine, Error};

/// Runs `f` on a scoped thread outside any async runtime context and returns its result
/// (a panic in `f` is resumed in the caller).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    })
}

impl Engine {
    /// A registry client with the engine's registry options (insecure registries,
    /// mirrors, certificates, credentials). It runs its own small tokio runtime, made per
    /// call so that commands that never talk to a registry start no threads.
    ///
    /// Blocking, and not for async contexts: its calls block on that runtime, which
    /// panics inside another runtime. Prefer the engine's own methods ([`Engine::pull_image`],
    /// [`Engine::push_image`], [`Engine::login`], [`Engine::search`], [`Engine::list_tags`]),
    /// which are safe anywhere.
    pub fn registry(&self) -> Result<Registry, Error> {
        Ok(Registry::new(self.config.registry.clone())?)
    }

    /// Pulls an image (`docker pull`); `name` gets Docker's defaults (`docker.io`,
    /// `library/`, `latest`). Blocking; safe from async code (see the module's doc).
    pub fn pull_image(
        &self,
        name: &str,
        opts: &PullOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pulled, Error> {
        let r = libimage::Reference::parse(name)?;
        let pulled = off_runtime(|| -> Result<Pulled, Error> {
            Ok(self.registry()?.pull(&self.images, &r, opts, progress)?)
        })?;
        self.image_event("pull", &r.to_string());
        Ok(pulled)
    }

    /// Downloads `url` (HTTP or HTTPS, the registry client's certificates and proxies)
    /// into `out`, at most `limit` bytes: `ADD https://...` and remote build contexts.
    /// Blocking; safe from async code.
    pub fn fetch_url(
        &self,
        url: &str,
        out: &mut (dyn std::io::Write + Send),
        limit: u64,
    ) -> Result<libregistry::Fetched, Error> {
        off_runtime(|| -> Result<libregistry::Fetched, Error> {
            Ok(self.registry()?.fetch_url(url, out, limit)?)
        })
    }

    /// Pushes a local image to the registry its name points at (`docker push`).
    /// Blocking; safe from async code.
    pub fn push_image(
        &self,
        name: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pushed, Error> {
        let r = libimage::Reference::parse(name)?;
        let pushed = off_runtime(|| -> Result<Pushed, Error> {
            Ok(self.registry()?.push(&self.images, &r, progress)?)
        })?;
        self.image_event("push", &r.to_string());
        Ok(pushed)
    }

    /// Checks credentials against a registry and stores them (`docker login`).
    /// Blocking; safe from async code.
    pub fn login(&self, server: &str, credentials: &Credentials) -> Result<(), Error> {
        off_runtime(|| Ok(self.registry()?.login(server, credentials)?))
    }

    /// Forgets a registry's credentials (`docker logout`); whether there were any.
    pub fn logout(&self, server: &str) -> Result<bool, Error> {
        off_runtime(|| Ok(self.registry()?.logout(server)?))
    }

    /// Searches a registry's catalog (`docker search`). Blocking; safe from async code.
    pub fn search(&self, host: &str, term: &str, limit: usize) -> Result<Vec<SearchResult>, Error> {
        off_runtime(|| Ok(self.registry()?.search(host, term, limit)?))
    }

    /// The tags of a repository (`pull -a`). Blocking; safe from async code.
    pub fn list_tags(&self, repository: &libimage::Reference) -> Result<Vec<String>, Error> {
        off_runtime(|| Ok(self.registry()?.list_tags(repository)?))
    }
}
