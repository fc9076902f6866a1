//! `build`: images from a Dockerfile and a context, as Docker's classic builder makes them
//! (one image per step, each step's image the parent of the next, a cache of steps keyed
//! by parent, instruction and copied content), streaming typed progress.
//!
//! Parsing and `.dockerignore` rules are libimage's ([`libimage::dockerfile`]); this module
//! runs the steps: `RUN` in a container of the engine, `COPY`/`ADD` as a layer written
//! straight from the context (no container, no mount), metadata steps as config-only
//! images.

mod cache;
mod context;
mod copy;
mod dispatch;
mod run_step;
mod stage;

use std::collections::BTreeMap;

pub use context::BuildContext;

use super::{Engine, Error, NetworkMode};

/// What `build` takes (Docker's `docker build` flags, the API's `POST /build` query).
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// `-t`: names for the final image.
    pub tags: Vec<String>,
    /// `-f`: the Dockerfile's path inside the context (default `Dockerfile`).
    pub dockerfile: Option<String>,
    /// The Dockerfile's text when it does not come from the context (`-f -`, or a
    /// Dockerfile outside the context, read by the caller).
    pub dockerfile_text: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--rm` (default on): remove a step's container once the step succeeded.
    pub remove: bool,
    /// `--force-rm`: remove a step's container even when the step failed.
    pub force_remove: bool,
    /// `--build-arg NAME=VALUE` (a `None` value: the caller found none for `NAME`).
    pub build_args: BTreeMap<String, Option<String>>,
    /// `--label`: labels of the final image.
    pub labels: BTreeMap<String, String>,
    /// `--target`: the stage to build (default the last).
    pub target: Option<String>,
    /// `--pull`: always pull the `FROM` images (else only missing ones).
    pub pull: bool,
    /// `--network` of `RUN` steps (default the bridge).
    pub network: NetworkMode,
    /// `--add-host` of `RUN` steps.
    pub add_hosts: Vec<String>,
    /// `-m`, `--cpu-shares`, `--ulimit`, `--shm-size` of `RUN` steps.
    pub host: super::HostConfig,
    /// `--platform`: only this machine's (`linux/amd64` here) is built.
    pub platform: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            tags: Vec::new(),
            dockerfile: None,
            dockerfile_text: None,
            no_cache: false,
            remove: true,
            force_remove: false,
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            target: None,
            pull: false,
            network: NetworkMode::Bridge,
            add_hosts: Vec::new(),
            host: Default::default(),
            platform: None,
        }
    }
}

/// What a build reports as it goes, in order (the CLI prints them as Docker's classic
/// builder does; the daemon sends them as Docker's JSON stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// The context's size in bytes, as a tar stream (`Sending build context ...`).
    Context(u64),
    /// A step begins: `Step {n}/{total} : {text}`.
    Step {
        /// 1-based step number.
        n: usize,
        /// Steps in the stages built.
        total: usize,
        /// The instruction as written (continuations joined).
        text: String,
    },
    /// The step's result came from the cache (` ---> Using cache`).
    Cached,
    /// The step runs in this container (` ---> Running in {id}`).
    RunningIn(String),
    /// Output of a step's program.
    Output(Vec<u8>),
    /// A step's container is removed (`Removing intermediate container {id}`).
    Removed(String),
    /// The step's image (` ---> {short id}`).
    StepImage(String),
    /// `# Executing {n} build trigger(s)`.
    Triggers(usize),
    /// A warning (`[Warning] ...`).
    Warning(String),
    /// The final image (`Successfully built {short id}`).
    Built(String),
    /// A name given to it (`Successfully tagged {name}`).
    Tagged(String),
}

impl BuildEvent {
    /// The line Docker's classic builder prints for this event (with its newline);
    /// `None` for the context's size and a program's output, which callers render
    /// themselves.
    pub fn classic_line(&self) -> Option<String> {
        Some(match self {
            BuildEvent::Context(_) | BuildEvent::Output(_) => return None,
            BuildEvent::Step { n, total, text } => format!("Step {n}/{total} : {text}\n"),
            BuildEvent::Cached => " ---> Using cache\n".into(),
            BuildEvent::RunningIn(id) => format!(" ---> Running in {id}\n"),
            BuildEvent::Removed(id) => format!("Removing intermediate container {id}\n"),
            BuildEvent::StepImage(id) => format!(" ---> {id}\n"),
            BuildEvent::Triggers(n) => format!(
                "# Executing {n} build trigger{}\n",
                if *n == 1 { "" } else { "s" }
            ),
            BuildEvent::Warning(w) => format!("[Warning] {w}\n"),
            BuildEvent::Built(id) => format!("Successfully built {id}\n"),
            BuildEvent::Tagged(t) => format!("Successfully tagged {t}\n"),
        })
    }
}

impl Engine {
    /// Builds an image from `context` and its Dockerfile, reporting each step to
    /// `progress`. Returns the final image (tagged with `opts.tags`). A failing step
    /// tags nothing; its container is left for inspection unless `force_remove`.
    pub fn build(
        &self,
        opts: &BuildOptions,
        context: BuildContext,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<libimage::image::ImageRecord, Error> {
        if let Some(p) = &opts.platform {
            let here = format!("linux/{}", libimage::service::go_arch());
            if !p.is_empty() && p != &here && p != "linux" {
                return Err(Error::InvalidConfig(format!(
                    "\"{p}\": only {here} images can be built on this machine"
                )));
            }
        }
        let tags = opts
            .tags
            .iter()
            .map(|t| {
                libimage::Reference::parse(t).map_err(|e| {
                    Error::InvalidConfig(format!(
                        "invalid argument \"{t}\" for \"-t, --tag\" flag: {e}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (ctx, remote_dockerfile) = context::Context::open(self, context, opts)?;
        progress(BuildEvent::Context(ctx.size));
        let text = match remote_dockerfile {
            Some(t) => t,
            None => ctx.dockerfile_text(opts)?,
        };
        if text.trim().is_empty() {
            return Err(Error::Build {
                message: format!(
                    "the Dockerfile ({}) cannot be empty",
                    opts.dockerfile.as_deref().unwrap_or("Dockerfile")
                ),
                code: 1,
            });
        }
        let file = libimage::dockerfile::parse(&text).map_err(|e| Error::Build {
            message: e.to_string(),
            code: 1,
        })?;
        for w in &file.warnings {
            progress(BuildEvent::Warning(w.clone()));
        }
        let mut b = dispatch::Builder::new(self, opts, &ctx, &file, progress)?;
        let img = b.run()?;
        let unused = b.unused_build_args();
        drop(b);
        if !unused.is_empty() {
            progress(BuildEvent::Warning(format!(
                "One or more build-args [{}] were not consumed",
                unused.join(" ")
            )));
        }
        progress(BuildEvent::Built(short(&img.id)));
        let mut img = img;
        for t in &tags {
            img = self.images.tag(&img.id.to_string(), t)?;
            self.image_event("tag", &t.to_string());
            progress(BuildEvent::Tagged(t.familiar()));
        }
        Ok(img)
    }
}

/// Docker's short image ID (12 hex digits).
pub(crate) fn short(id: &libimage::Digest) -> String {
    id.hex().chars().take(12).collect()
}
