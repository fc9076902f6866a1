//! Pull and push through libregistry, on the engine's image store.

use libregistry::{Progress, PullOptions, Pulled, Pushed, Registry};

use super::{Engine, Error};

impl Engine {
    /// A registry client with the engine's registry options (insecure registries,
    /// mirrors, certificates, credentials). It runs its own small tokio runtime, made per
    /// call so that commands that never talk to a registry start no threads.
    pub fn registry(&self) -> Result<Registry, Error> {
        Ok(Registry::new(self.config.registry.clone())?)
    }

    /// Pulls an image (`docker pull`); `name` gets Docker's defaults (`docker.io`,
    /// `library/`, `latest`).
    pub fn pull_image(
        &self,
        name: &str,
        opts: &PullOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pulled, Error> {
        let r = libimage::Reference::parse(name)?;
        let pulled = self.registry()?.pull(&self.images, &r, opts, progress)?;
        self.image_event("pull", &r.to_string());
        Ok(pulled)
    }

    /// Pushes a local image to the registry its name points at (`docker push`).
    pub fn push_image(
        &self,
        name: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Pushed, Error> {
        let r = libimage::Reference::parse(name)?;
        let pushed = self.registry()?.push(&self.images, &r, progress)?;
        self.image_event("push", &r.to_string());
        Ok(pushed)
    }
}
