//! The steps of a build: stages in order (only those the target needs), each instruction
//! expanded with the stage's variables, looked up in the cache, else executed and
//! committed as the next image.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use libimage::dockerfile::ignore;
use libimage::dockerfile::{
    Command, CopySpec, Dockerfile, Healthcheck, Instruction, InstructionKind, ShellLex,
};
use libimage::image::{ContainerConfig, ImageRecord};
use libimage::service::{CommitOptions, DeriveOptions};
use libimage::tree::Layers;
use serde_json::json;

use super::context::Context;
use super::copy::{temp_file, CopyInput};
use super::stage::{go_duration, go_list, go_quoted_list, Stage};
use super::{cache, run_step, short, BuildEvent, BuildOptions};
use crate::engine::{Engine, Error};

/// A stage of the Dockerfile: its `FROM` and the instructions up to the next.
struct StageDef {
    /// Index of its `FROM` in the file's instructions.
    from: usize,
    /// One past its last instruction.
    end: usize,
    /// `AS name`, lowercased.
    name: Option<String>,
}

pub(super) struct Builder<'a> {
    engine: &'a Engine,
    opts: &'a BuildOptions,
    ctx: &'a Context,
    file: &'a Dockerfile,
    progress: &'a mut dyn FnMut(BuildEvent),
    lex: ShellLex,
    /// `ARG`s before the first `FROM`.
    meta_args: BTreeMap<String, Option<String>>,
    /// Build args some `ARG` declared.
    used_args: BTreeSet<String>,
    stages: Vec<StageDef>,
    /// Each stage's final image once built (`Some(None)`: scratch with no step).
    results: Vec<Option<Option<ImageRecord>>>,
    step: usize,
    total: usize,
    /// `SOURCE_DATE_EPOCH`.
    epoch: Option<i64>,
    /// `MAINTAINER` of the current stage.
    author: String,
    /// Whether the current stage set `CMD` (an `ENTRYPOINT` then keeps it).
    cmd_set: bool,
    /// `ONBUILD` triggers running: their steps print no result lines of their own.
    quiet_steps: bool,
}

fn build_err(message: impl Into<String>) -> Error {
    Error::Build {
        message: message.into(),
        code: 1,
    }
}

impl<'a> Builder<'a> {
    pub(super) fn new(
        engine: &'a Engine,
        opts: &'a BuildOptions,
        ctx: &'a Context,
        file: &'a Dockerfile,
        progress: &'a mut dyn FnMut(BuildEvent),
    ) -> Result<Self, Error> {
        let mut stages: Vec<StageDef> = Vec::new();
        for (i, ins) in file.instructions.iter().enumerate() {
            match &ins.kind {
                InstructionKind::From { alias, .. } => {
                    if let Some(last) = stages.last_mut() {
                        last.end = i;
                    }
                    stages.push(StageDef {
                        from: i,
                        end: file.instructions.len(),
                        name: alias.as_ref().map(|a| a.to_ascii_lowercase()),
                    });
                }
                InstructionKind::Arg(_) if stages.is_empty() => {}
                _ if stages.is_empty() => {
                    return Err(build_err(format!(
                        "Please provide a source image with `from` prior to {}",
                        ins.original
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_lowercase()
                    )))
                }
                _ => {}
            }
        }
        if stages.is_empty() {
            return Err(build_err(if file.instructions.is_empty() {
                "the Dockerfile (Dockerfile) cannot be empty".to_string()
            } else {
                "No image was generated. Is your Dockerfile empty?".to_string()
            }));
        }
        let epoch = opts
            .build_args
            .get("SOURCE_DATE_EPOCH")
            .cloned()
            .flatten()
            .or_else(|| std::env::var("SOURCE_DATE_EPOCH").ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let n = stages.len();
        Ok(Builder {
            engine,
            opts,
            ctx,
            file,
            progress,
            lex: ShellLex::new(file.escape),
            meta_args: BTreeMap::new(),
            used_args: BTreeSet::new(),
            stages,
            results: (0..n).map(|_| None).collect(),
            step: 0,
            total: 0,
            epoch,
            author: String::new(),
            cmd_set: false,
            quiet_steps: false,
        })
    }

    /// Build args given that no `ARG` declared (Docker's warning), proxy args excepted.
    pub(super) fn unused_build_args(&self) -> Vec<String> {
        self.opts
            .build_args
            .keys()
            .filter(|k| {
                !self.used_args.contains(*k)
                    && !super::stage::PROXY_ARGS.contains(&k.as_str())
                    && k.as_str() != "SOURCE_DATE_EPOCH"
            })
            .cloned()
            .collect()
    }

    fn stage_index(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = self.stages[..before]
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(i);
        }
        name.parse::<usize>().ok().filter(|i| *i < before)
    }

    /// The stages `target` needs, through `FROM stage` and `COPY --from=stage`.
    fn needed(&self, target: usize) -> BTreeSet<usize> {
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(s) = todo.pop() {
            if !need.insert(s) {
                continue;
            }
            let def = &self.stages[s];
            for ins in &self.file.instructions[def.from..def.end] {
                let dep = match &ins.kind {
                    InstructionKind::From { image, .. } => Some(image.as_str()),
                    InstructionKind::Copy(c) => c.from.as_deref(),
                    _ => None,
                };
                if let Some(i) = dep.and_then(|d| self.stage_index(d, s)) {
                    todo.push(i);
                }
            }
        }
        need
    }

    pub(super) fn run(&mut self) -> Result<ImageRecord, Error> {
        let target = match &self.opts.target {
            Some(t) => self
                .stages
                .iter()
                .position(|s| s.name.as_deref() == Some(t.to_ascii_lowercase().as_str()))
                .ok_or_else(|| {
                    build_err(format!("failed to reach build target {t} in Dockerfile"))
                })?,
            None => self.stages.len() - 1,
        };
        let need = self.needed(target);
        let first_from = self.stages[0].from;
        self.total = first_from
            + need
                .iter()
                .map(|&s| self.stages[s].end - self.stages[s].from)
                .sum::<usize>()
            + self.opts.labels.len();
        // The meta ARGs: steps without an image.
        for ins in &self.file.instructions[..first_from] {
            self.step_header(ins);
            if let InstructionKind::Arg(args) = &ins.kind {
                for (name, default) in args {
                    let meta = &self.meta_args;
                    let lookup = |n: &str| meta.get(n).cloned().flatten();
                    let default = default
                        .as_ref()
                        .map(|d| self.lex.process_word(d, &lookup))
                        .transpose()
                        .map_err(|e| build_err(e.to_string()))?;
                    let value = match self.opts.build_args.get(name) {
                        Some(Some(v)) => Some(v.clone()),
                        _ => default,
                    };
                    self.used_args.insert(name.clone());
                    self.meta_args.insert(name.clone(), value);
                }
            }
        }
        for s in 0..=target {
            if !need.contains(&s) {
                continue;
            }
            let img = self.build_stage(s, s == target)?;
            self.results[s] = Some(img);
        }
        match self.results[target].clone().flatten() {
            Some(img) => Ok(img),
            None => Err(build_err(
                "No image was generated. Is your Dockerfile empty?",
            )),
        }
    }

    fn step_header(&mut self, ins: &Instruction) {
        self.step += 1;
        (self.progress)(BuildEvent::Step {
            n: self.step,
            total: self.total,
            text: ins.original.clone(),
        });
    }

    fn build_stage(&mut self, s: usize, last: bool) -> Result<Option<ImageRecord>, Error> {
        let (from, end) = (self.stages[s].from, self.stages[s].end);
        let file = self.file;
        self.author.clear();
        self.cmd_set = false;
        let mut st = self.begin_stage(&file.instructions[from], s)?;
        for ins in &file.instructions[from + 1..end] {
            self.step_header(ins);
            self.dispatch(&mut st, ins, s)?;
        }
        if last {
            // Docker's builder adds one `LABEL k=v` step per `--label`, in key order.
            for (k, v) in &self.opts.labels {
                self.step += 1;
                (self.progress)(BuildEvent::Step {
                    n: self.step,
                    total: self.total,
                    text: format!("LABEL {k}={v}"),
                });
                self.label(&mut st, &[(k.clone(), v.clone())])?;
            }
        }
        Ok(st.image)
    }

    /// `FROM`: the base (an earlier stage, `scratch`, a local image, or pulled), its
    /// `ONBUILD` triggers run.
    fn begin_stage(&mut self, ins: &Instruction, s: usize) -> Result<Stage, Error> {
        if let Some(n) = &self.stages[s].name {
            if self.stages[..s].iter().any(|x| x.name.as_ref() == Some(n)) {
                return Err(build_err("a stage name already used"));
            }
        }
        self.step_header(ins);
        let InstructionKind::From { image, .. } = &ins.kind else {
            return Err(build_err("a stage must begin with FROM"));
        };
        let meta = self.meta_args.clone();
        let lookup = |n: &str| meta.get(n).cloned().flatten();
        let name = self
            .lex
            .process_word(image, &lookup)
            .map_err(|e| build_err(e.to_string()))?;
        if name.is_empty() {
            return Err(build_err(format!(
                "base name ({image}) should not be blank"
            )));
        }
        let base = if name.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some(i) = self.stage_index(&name, s) {
            self.results[i].clone().flatten()
        } else {
            Some(self.base_image(&name)?)
        };
        let base_id = base.as_ref().map(|b| short(&b.id)).unwrap_or_default();
        let config = match &base {
            Some(b) => ContainerConfig::from_image_config(self.engine.images.config(b)?.raw())?,
            None => ContainerConfig::default(),
        };
        let mut st = Stage {
            image: base,
            config,
            args: BTreeMap::new(),
        };
        // Docker's builder gives every stage a PATH (the default one when the base has none).
        let env = st.config.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(
                0,
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            );
        }
        let triggers = st.config.on_build.take().unwrap_or_default();
        if triggers.is_empty() {
            (self.progress)(BuildEvent::StepImage(base_id));
        } else {
            // Docker: the triggers run as part of FROM; one result line after them all.
            (self.progress)(BuildEvent::Triggers(triggers.len()));
            self.quiet_steps = true;
            let ran = (|| -> Result<(), Error> {
                for t in &triggers {
                    let parsed = libimage::dockerfile::parse_trigger(t)
                        .map_err(|e| build_err(e.to_string()))?;
                    for ins in &parsed {
                        self.dispatch(&mut st, ins, s)?;
                    }
                }
                Ok(())
            })();
            self.quiet_steps = false;
            ran?;
            (self.progress)(BuildEvent::StepImage(
                st.image.as_ref().map(|b| short(&b.id)).unwrap_or_default(),
            ));
        }
        Ok(st)
    }

    /// A named base image: local, else (or with `--pull`) pulled.
    fn base_image(&mut self, name: &str) -> Result<ImageRecord, Error> {
        let local = self.engine.images.resolve(name);
        if local.is_ok() && !self.opts.pull {
            return Ok(local?);
        }
        let pulled = self
            .engine
            .pull_image(name, &Default::default(), &|_| {})
            .map(drop);
        let _ = local;
        // `--pull` fails when the registry cannot give the image, local copy or not (as
        // Docker's).
        pulled?;
        Ok(self.engine.images.resolve(name)?)
    }

    fn expand(&self, st: &Stage, ins: &Instruction) -> Result<Instruction, Error> {
        let args = &self.opts.build_args;
        let lookup = |n: &str| st.lookup(n, args);
        ins.expand(&self.lex, &lookup)
            .map_err(|e| build_err(e.to_string()))
    }

    fn dispatch(&mut self, st: &mut Stage, ins: &Instruction, s: usize) -> Result<(), Error> {
        let ins = self.expand(st, ins)?;
        match &ins.kind {
            InstructionKind::From { .. } => Err(build_err("FROM inside a stage")),
            InstructionKind::Run {
                command,
                heredocs,
                flags,
            } => {
                if flags.iter().any(|(k, _)| k == "mount") {
                    return Err(build_err(
                        "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled",
                    ));
                }
                self.run_step(st, command, heredocs)
            }
            InstructionKind::Cmd(c) => {
                st.config.cmd = Some(self.command_words(st, c));
                self.cmd_set = true;
                let text = format!(
                    "CMD {}",
                    go_quoted_list(st.config.cmd.as_deref().unwrap_or_default())
                );
                self.commit_meta(st, st.nop(&text))
            }
            InstructionKind::Entrypoint(c) => {
                st.config.entrypoint = Some(self.command_words(st, c));
                if !self.cmd_set {
                    st.config.cmd = None;
                }
                let text = format!(
                    "ENTRYPOINT {}",
                    go_quoted_list(st.config.entrypoint.as_deref().unwrap_or_default())
                );
                self.commit_meta(st, st.nop(&text))
            }
            InstructionKind::Env(pairs) => {
                let env = st.config.env.get_or_insert_with(Vec::new);
                for (k, v) in pairs {
                    // Docker replaces a variable where it is, or appends a new one.
                    let kv = format!("{k}={v}");
                    match env
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(slot) => *slot = kv,
                        None => env.push(kv),
                    }
                }
                let text = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.commit_meta(st, st.nop(&format!("ENV {text}")))
            }
            InstructionKind::Label(pairs) => self.label(st, pairs),
            InstructionKind::Arg(args) => {
                let mut texts = Vec::new();
                for (name, default) in args {
                    let value = match self.opts.build_args.get(name) {
                        Some(Some(v)) => Some(v.clone()),
                        _ => default
                            .clone()
                            .or_else(|| self.meta_args.get(name).cloned().flatten()),
                    };
                    self.used_args.insert(name.clone());
                    st.args.insert(name.clone(), value);
                    texts.push(match default {
                        Some(d) => format!("{name}={d}"),
                        None => name.clone(),
                    });
                }
                self.commit_meta(st, st.nop(&format!("ARG {}", texts.join(" "))))
            }
            InstructionKind::Copy(spec) => self.copy(st, spec, "COPY", s),
            InstructionKind::Add(spec) => self.copy(st, spec, "ADD", s),
            InstructionKind::Workdir(w) => self.workdir(st, w),
            InstructionKind::User(u) => {
                st.config.user = u.clone();
                self.commit_meta(st, st.nop(&format!("USER {u}")))
            }
            InstructionKind::Expose(ports) => {
                let mut specs = Vec::new();
                for p in ports {
                    specs.extend(expose_ports(p)?);
                }
                let map = st.config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for p in specs {
                    map.insert(p, json!({}));
                }
                self.commit_meta(st, st.nop(&format!("EXPOSE {}", ports.join(" "))))
            }
            InstructionKind::Volume(vols) => {
                let map = st.config.volumes.get_or_insert_with(BTreeMap::new);
                for v in vols {
                    if v.trim().is_empty() {
                        return Err(build_err("VOLUME specified can not be an empty string"));
                    }
                    map.insert(v.clone(), json!({}));
                }
                self.commit_meta(st, st.nop(&format!("VOLUME {}", go_list(vols))))
            }
            InstructionKind::Onbuild(trigger) => {
                let text = trigger.original.clone();
                st.config
                    .on_build
                    .get_or_insert_with(Vec::new)
                    .push(text.clone());
                self.commit_meta(st, st.nop(&format!("ONBUILD {text}")))
            }
            InstructionKind::Shell(sh) => {
                st.config.shell = Some(sh.clone());
                self.commit_meta(st, st.nop(&format!("SHELL {}", go_list(sh))))
            }
            InstructionKind::Stopsignal(sig) => {
                crate::engine::parse_signal(sig)?;
                st.config.stop_signal = Some(sig.clone());
                self.commit_meta(st, st.nop(&format!("STOPSIGNAL {sig}")))
            }
            InstructionKind::Maintainer(m) => {
                self.author = m.clone();
                self.commit_meta(st, st.nop(&format!("MAINTAINER {m}")))
            }
            InstructionKind::Healthcheck(h) => self.healthcheck(st, h),
        }
    }

    /// Shell form through the stage's shell; exec form as written.
    fn command_words(&self, st: &Stage, c: &Command) -> Vec<String> {
        match c {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let mut v = st.shell();
                // A bare `RUN`: the shell with nothing to run, as Docker does.
                if !s.is_empty() {
                    v.push(s.clone());
                }
                v
            }
        }
    }

    fn created(&self) -> Option<String> {
        self.epoch.map(|e| {
            libimage::time::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(e.max(0) as u64),
            )
        })
    }

    fn config_key(st: &Stage) -> String {
        serde_json::to_string(&st.config).unwrap_or_default()
    }

    /// The cache's image for `key`, reported as a cache hit.
    fn cached(&mut self, st: &mut Stage, key: &str) -> bool {
        if self.opts.no_cache {
            return false;
        }
        match cache::lookup(self.engine, key) {
            Some(img) => {
                if !self.quiet_steps {
                    (self.progress)(BuildEvent::Cached);
                    (self.progress)(BuildEvent::StepImage(short(&img.id)));
                }
                st.image = Some(img);
                true
            }
            None => false,
        }
    }

    fn stepped(&mut self, st: &mut Stage, key: &str, img: ImageRecord) -> Result<(), Error> {
        cache::store(self.engine, key, &img.id)?;
        if !self.quiet_steps {
            (self.progress)(BuildEvent::StepImage(short(&img.id)));
        }
        st.image = Some(img);
        Ok(())
    }

    /// The step's image: the stage's config on its image, with `layer` (if any) and a
    /// history entry; remembered under `key` and reported.
    fn derive_step(
        &mut self,
        st: &mut Stage,
        key: &str,
        layer: Option<std::fs::File>,
        created_by: String,
    ) -> Result<(), Error> {
        let img = self.engine.images.derive(
            st.image.as_ref(),
            DeriveOptions {
                config: step_config(st),
                layer,
                created_by,
                author: self.author.clone(),
                created: self.created(),
                record_parent: true,
                ..Default::default()
            },
        )?;
        self.stepped(st, key, img)
    }

    /// A step that changes only the config: an image without a new layer.
    fn commit_meta(&mut self, st: &mut Stage, created_by: String) -> Result<(), Error> {
        let key = cache::key(
            &st.image_id(),
            &["meta", &created_by, &Self::config_key(st), &self.author],
        );
        if self.cached(st, &key) {
            return Ok(());
        }
        self.derive_step(st, &key, None, created_by)
    }

    fn label(&mut self, st: &mut Stage, pairs: &[(String, String)]) -> Result<(), Error> {
        let labels = st.config.labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in pairs {
            labels.insert(k.clone(), v.clone());
        }
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        self.commit_meta(st, st.nop(&format!("LABEL {text}")))
    }

    fn healthcheck(&mut self, st: &mut Stage, h: &Healthcheck) -> Result<(), Error> {
        let (value, text) = match h {
            Healthcheck::None => (
                json!({"Test": ["NONE"]}),
                "&{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}".to_string(),
            ),
            Healthcheck::Check {
                test,
                interval,
                timeout,
                start_period,
                retries,
            } => {
                let test: Vec<String> = match test {
                    Command::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
                    Command::Exec(v) => std::iter::once("CMD".to_string())
                        .chain(v.iter().cloned())
                        .collect(),
                };
                let mut v = json!({"Test": test});
                let dur = |d: &Option<std::time::Duration>| d.unwrap_or_default();
                for (k, d) in [
                    ("Interval", interval),
                    ("Timeout", timeout),
                    ("StartPeriod", start_period),
                ] {
                    if let Some(d) = d.filter(|d| !d.is_zero()) {
                        v[k] = json!(d.as_nanos() as u64);
                    }
                }
                if let Some(r) = retries.filter(|r| *r > 0) {
                    v["Retries"] = json!(r);
                }
                let text = format!(
                    "&{{{} \"{}\" \"{}\" \"{}\" '\\x{:02x}'}}",
                    go_quoted_list(&test),
                    go_duration(dur(interval)),
                    go_duration(dur(timeout)),
                    go_duration(dur(start_period)),
                    retries.unwrap_or(0).min(255)
                );
                (v, text)
            }
        };
        if let Some(old) = st.config.healthcheck.as_ref() {
            let test: Vec<String> = old["Test"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (self.progress)(BuildEvent::Output(
                format!(
                    "Note: overriding previous HEALTHCHECK: {}\n",
                    go_list(&test)
                )
                .into_bytes(),
            ));
        }
        st.config.healthcheck = Some(value);
        self.commit_meta(st, st.nop(&format!("HEALTHCHECK {text}")))
    }

    /// `WORKDIR`: relative paths chain; a directory the image lacks is made in the step's
    /// layer, as Docker's builder does.
    fn workdir(&mut self, st: &mut Stage, w: &str) -> Result<(), Error> {
        let dir = if w.starts_with('/') {
            PathBuf::from(w)
        } else {
            let cur = if st.config.working_dir.is_empty() {
                "/".to_string()
            } else {
                st.config.working_dir.clone()
            };
            Path::new(&cur).join(w)
        };
        let dir = clean_abs(&dir);
        st.config.working_dir = dir.clone();
        let created_by = st.nop1(&format!("WORKDIR {dir}"));
        let rel = PathBuf::from(dir.trim_start_matches('/'));
        let exists = match self.image_layers(st.image.as_ref())? {
            Some(l) if !rel.as_os_str().is_empty() => l.stat(&rel, 0)?.is_some(),
            _ => rel.as_os_str().is_empty(),
        };
        if exists {
            return self.commit_meta(st, created_by);
        }
        let key = cache::key(
            &st.image_id(),
            &["workdir", &created_by, &Self::config_key(st)],
        );
        if self.cached(st, &key) {
            return Ok(());
        }
        let base = self.image_layers(st.image.as_ref())?;
        let mut tar = tar::Builder::new(temp_file(self.engine.images.root())?);
        let mut path = PathBuf::new();
        let mtime = self.epoch.unwrap_or_else(now_secs).max(0) as u64;
        for c in rel.components() {
            path.push(c);
            let mut hd = tar::Header::new_gnu();
            hd.set_entry_type(tar::EntryType::Directory);
            hd.set_size(0);
            match base
                .as_ref()
                .map(|b| b.stat(&path, 0))
                .transpose()?
                .flatten()
            {
                Some(s) => {
                    hd.set_mode(s.st_mode & 0o7777);
                    hd.set_uid(s.st_uid.into());
                    hd.set_gid(s.st_gid.into());
                    hd.set_mtime(s.st_mtime.max(0) as u64);
                }
                None => {
                    hd.set_mode(0o755);
                    hd.set_uid(0);
                    hd.set_gid(0);
                    hd.set_mtime(mtime);
                }
            }
            let mut name = path.clone().into_os_string();
            name.push("/");
            tar.append_data(&mut hd, Path::new(&name), std::io::empty())
                .map_err(|e| Error::io("write", "layer", e))?;
        }
        let layer = tar
            .into_inner()
            .map_err(|e| Error::io("write", "layer", e))?;
        self.derive_step(st, &key, Some(layer), created_by)
    }

    /// The merged tree of an image, to read without mounting.
    fn image_layers(&self, img: Option<&ImageRecord>) -> Result<Option<Layers>, Error> {
        let Some(top) = img.and_then(|i| self.engine.images.top_snapshot(i)) else {
            return Ok(None);
        };
        let sn = self.engine.images.snapshotter();
        let dirs = sn.layer_dirs(&top)?;
        Ok(Some(Layers::open(&dirs, sn.layered())?))
    }

    /// `RUN`: in a container, committed; the cache keyed by the command, the build args it
    /// sees and the config.
    fn run_step(
        &mut self,
        st: &mut Stage,
        command: &Command,
        heredocs: &[libimage::dockerfile::Heredoc],
    ) -> Result<(), Error> {
        let cmd = match (command, heredocs) {
            (Command::Shell(s), [h]) if s.trim().starts_with("<<") && !s.trim().contains(' ') => {
                // `RUN <<EOF`: the document is the script.
                let mut v = st.shell();
                v.push(h.chomped());
                v
            }
            (Command::Shell(s), hs) if !hs.is_empty() => {
                // The shell reads the documents itself.
                let mut script = s.clone();
                for h in hs {
                    script.push('\n');
                    script.push_str(&h.content);
                    if !h.content.ends_with('\n') {
                        script.push('\n');
                    }
                    script.push_str(&h.name);
                }
                let mut v = st.shell();
                v.push(script);
                v
            }
            (c, _) => self.command_words(st, c),
        };
        let args = st.run_args(&self.opts.build_args);
        let visible: Vec<&(String, String)> = args
            .iter()
            .filter(|(k, _)| !super::stage::PROXY_ARGS.contains(&k.as_str()))
            .collect();
        let mut created_by = cmd.join(" ");
        if !visible.is_empty() {
            let mut kv: Vec<String> = visible.iter().map(|(k, v)| format!("{k}={v}")).collect();
            kv.sort();
            created_by = format!("|{} {} {created_by}", kv.len(), kv.join(" "));
        }
        let env: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        // Proxy args reach the command but not the cache key (Docker's rule).
        let keyed: Vec<String> = visible.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = cache::key(
            &st.image_id(),
            &[
                "run",
                &created_by,
                &keyed.join("\n"),
                &Self::config_key(st),
                &self.author,
            ],
        );
        if self.cached(st, &key) {
            return Ok(());
        }
        let Some(base) = st.image.clone() else {
            return Err(build_err(format!(
                "The command '{}' cannot run: the stage has no files (FROM scratch)",
                cmd.join(" ")
            )));
        };
        let (c, code) = run_step::run_container(
            self.engine,
            self.opts,
            &base.id.to_string(),
            &st.config,
            cmd.clone(),
            env,
            self.progress,
        )?;
        let remove = |b: &mut Self| {
            (b.progress)(BuildEvent::Removed(run_step::short_id(&c.id)));
            b.engine.remove_container(&c.id, true).map(drop)
        };
        if code != 0 {
            if self.opts.force_remove {
                let _ = remove(self);
            }
            return Err(Error::Build {
                message: format!(
                    "The command '{}' returned a non-zero code: {code}",
                    cmd.join(" ")
                ),
                code,
            });
        }
        let img = self.engine.images.commit(
            &c.snapshot,
            &base,
            &CommitOptions {
                config: step_config(st),
                author: self.author.clone(),
                container: c.id.clone(),
                created_by,
                record_parent: true,
                created: self.created(),
                epoch: self.epoch.map(|e| e.max(0) as u64),
                ..Default::default()
            },
        );
        if self.opts.remove || self.opts.force_remove || img.is_err() {
            remove(self)?;
        }
        self.stepped(st, &key, img?)
    }

    /// `COPY`/`ADD`.
    fn copy(
        &mut self,
        st: &mut Stage,
        spec: &CopySpec,
        verb: &'static str,
        s: usize,
    ) -> Result<(), Error> {
        if !spec.heredocs.is_empty() {
            return self.copy_heredocs(st, spec, verb);
        }
        let is_url = |s: &String| s.starts_with("http://") || s.starts_with("https://");
        let urls = verb == "ADD" && spec.sources.iter().any(is_url);
        if urls && !spec.sources.iter().all(is_url) {
            return Err(build_err(
                "ADD failed: URLs and local files in one ADD are not supported yet; use two ADD instructions",
            ));
        }
        if verb == "ADD" && spec.from.is_some() {
            return Err(build_err("ADD does not support the --from flag"));
        }
        let image_fs;
        let ctx: &'a Context = self.ctx;
        let ctx_fs;
        type Sources = Vec<(PathBuf, std::ffi::OsString)>;
        let downloads;
        let (fs, include, sources): (&Layers, Option<&ignore::BuildContext>, Sources) =
            match &spec.from {
                None if urls => {
                    let (dir, srcs) = self.download(spec, &self.dest_path(st, &spec.dest))?;
                    ctx_fs = Layers::open(std::slice::from_ref(&dir.0), false)?;
                    downloads = dir;
                    let _ = &downloads;
                    (&ctx_fs, None, srcs)
                }
                None => {
                    let failed = |e: libimage::Error| {
                        build_err(format!(
                            "{verb} failed: {}",
                            strip_verb(&e.to_string(), verb)
                        ))
                    };
                    let mut srcs = Vec::new();
                    for src in &spec.sources {
                        for name in ctx.files.resolve_sources(src).map_err(failed)? {
                            // What a name stands for, its links followed inside the
                            // context (Docker's FollowSymlinkInScope).
                            let at = ctx.files.resolve(&name).map_err(failed)?;
                            let base = Path::new(&name)
                                .file_name()
                                .map(|n| n.to_os_string())
                                .unwrap_or_default();
                            srcs.push((rel_path(&at), base));
                        }
                    }
                    if srcs.is_empty() {
                        return Err(build_err(format!(
                            "{verb} failed: no source files were specified"
                        )));
                    }
                    ctx_fs = Layers::open(std::slice::from_ref(&ctx.root), false)?;
                    (&ctx_fs, Some(&ctx.files), srcs)
                }
                Some(from) => {
                    let img = match self.stage_index(from, s) {
                        Some(i) => self.results[i].clone().flatten(),
                        None => Some(self.base_image(from)?),
                    };
                    image_fs = self.image_layers(img.as_ref())?;
                    let Some(fs) = image_fs.as_ref() else {
                        return Err(build_err(format!(
                            "{verb} failed: stat {}: file does not exist",
                            spec.sources.first().map(String::as_str).unwrap_or("")
                        )));
                    };
                    let srcs = spec
                        .sources
                        .iter()
                        .map(|p| {
                            let at = rel_path(
                                clean_abs(Path::new(&format!("/{p}"))).trim_start_matches('/'),
                            );
                            let base = at.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                            (at, base)
                        })
                        .collect();
                    (fs, None, srcs)
                }
            };
        let dest = self.dest_path(st, &spec.dest);
        let base_layers = self.image_layers(st.image.as_ref())?;
        let owner = match &spec.chown {
            Some(c) => Some(self.chown(base_layers.as_ref(), c)?),
            None => None,
        };
        let chmod = match &spec.chmod {
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| build_err(format!("invalid chmod parameter {m}")))?,
            ),
            None => None,
        };
        let input = CopyInput {
            fs,
            sources,
            include,
            dest: dest.clone(),
            owner,
            chmod,
            unpack: verb == "ADD" && !urls,
            epoch: self.epoch,
            base: base_layers.as_ref(),
            verb,
        };
        let plan = input.plan()?;
        // Docker's text: the destination as written, `--chown=` glued to the source kind.
        let chown_text = spec
            .chown
            .as_ref()
            .map(|c| format!("--chown={c}"))
            .unwrap_or_default();
        let created_by = st.nop1(&format!(
            "{verb} {chown_text}{}:{} in {} ",
            plan.kind, plan.hash, spec.dest
        ));
        let key = cache::key(
            &st.image_id(),
            &[
                "copy",
                &created_by,
                &format!("{owner:?} {chmod:?}"),
                &Self::config_key(st),
                &self.author,
            ],
        );
        if self.cached(st, &key) {
            return Ok(());
        }
        let layer = input.write(&plan, temp_file(self.engine.images.root())?)?;
        self.derive_step(st, &key, Some(layer), created_by)
    }

    /// `COPY <<EOF /file`: each document becomes a file (mode 0644, root).
    fn copy_heredocs(
        &mut self,
        st: &mut Stage,
        spec: &CopySpec,
        verb: &'static str,
    ) -> Result<(), Error> {
        let dest = self.dest_path(st, &spec.dest);
        let dir = dest.ends_with('/') || spec.heredocs.len() > 1;
        let mtime = self.epoch.unwrap_or(0).max(0) as u64;
        let mut tar = tar::Builder::new(temp_file(self.engine.images.root())?);
        let base_layers = self.image_layers(st.image.as_ref())?;
        let owner = match &spec.chown {
            Some(c) => self.chown(base_layers.as_ref(), c)?,
            None => (0, 0),
        };
        let mode = match &spec.chmod {
            Some(m) => u32::from_str_radix(m, 8)
                .map_err(|_| build_err(format!("invalid chmod parameter {m}")))?,
            None => 0o644,
        };
        let mut parents = BTreeSet::new();
        let mut hash = sha2::Sha256::default();
        for h in &spec.heredocs {
            let path = if dir {
                Path::new(dest.trim_start_matches('/')).join(&h.name)
            } else {
                PathBuf::from(dest.trim_start_matches('/'))
            };
            for p in path
                .ancestors()
                .skip(1)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                if p.as_os_str().is_empty() || !parents.insert(p.to_path_buf()) {
                    continue;
                }
                if base_layers
                    .as_ref()
                    .map(|b| b.stat(p, 0))
                    .transpose()?
                    .flatten()
                    .is_some()
                {
                    continue;
                }
                let mut hd = tar::Header::new_gnu();
                hd.set_entry_type(tar::EntryType::Directory);
                hd.set_mode(0o755);
                hd.set_size(0);
                hd.set_mtime(mtime);
                let mut name = p.to_path_buf().into_os_string();
                name.push("/");
                tar.append_data(&mut hd, Path::new(&name), std::io::empty())
                    .map_err(|e| Error::io("write", "layer", e))?;
            }
            let mut hd = tar::Header::new_gnu();
            hd.set_entry_type(tar::EntryType::Regular);
            hd.set_mode(mode);
            hd.set_uid(owner.0.into());
            hd.set_gid(owner.1.into());
            hd.set_mtime(mtime);
            hd.set_size(h.content.len() as u64);
            tar.append_data(&mut hd, &path, h.content.as_bytes())
                .map_err(|e| Error::io("write", "layer", e))?;
            sha2::Digest::update(&mut hash, path.as_os_str().as_encoded_bytes());
            sha2::Digest::update(&mut hash, h.content.as_bytes());
        }
        let hash = hex::encode(sha2::Digest::finalize(hash));
        let created_by = st.nop1(&format!("{verb} heredoc:{hash} in {dest} "));
        let key = cache::key(
            &st.image_id(),
            &[
                "heredoc",
                &created_by,
                &format!("{owner:?} {mode}"),
                &Self::config_key(st),
            ],
        );
        if self.cached(st, &key) {
            return Ok(());
        }
        let layer = tar
            .into_inner()
            .map_err(|e| Error::io("write", "layer", e))?;
        self.derive_step(st, &key, Some(layer), created_by)
    }

    /// `ADD URL... DEST`: each URL downloaded into a private directory (mode 0600, its
    /// `Last-Modified` time), named as Docker names it (the URL's last path segment).
    fn download(
        &self,
        spec: &CopySpec,
        dest: &str,
    ) -> Result<(Scratch, Vec<(PathBuf, std::ffi::OsString)>), Error> {
        use std::os::unix::fs::PermissionsExt;
        let dir = Scratch(super::context::scratch_dir(self.engine)?);
        let mut srcs = Vec::new();
        for (i, url) in spec.sources.iter().enumerate() {
            let path = dir.0.join(i.to_string());
            let mut f = std::fs::File::create(&path).map_err(|e| Error::io("create", &path, e))?;
            let got = self
                .engine
                .fetch_url(url, &mut f, MAX_DOWNLOAD)
                .map_err(|e| build_err(format!("ADD failed: {}", e.text())))?;
            if got.name.is_empty() && dest.ends_with('/') {
                return Err(build_err(format!(
                    "cannot determine filename for source {url}"
                )));
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io("chmod", &path, e))?;
            let mtime = got.last_modified.unwrap_or_else(now_secs);
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime.max(0) as u64);
            f.set_modified(t)
                .map_err(|e| Error::io("set the time of", &path, e))?;
            srcs.push((PathBuf::from(i.to_string()), got.name.into()));
        }
        Ok((dir, srcs))
    }

    /// A destination: absolute, or under `WORKDIR`; a trailing `/` kept.
    fn dest_path(&self, st: &Stage, dest: &str) -> String {
        let trailing = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
        let abs = if dest.starts_with('/') {
            PathBuf::from(dest)
        } else {
            let wd = if st.config.working_dir.is_empty() {
                "/"
            } else {
                st.config.working_dir.as_str()
            };
            Path::new(wd).join(dest)
        };
        let mut s = clean_abs(&abs);
        if trailing && !s.ends_with('/') {
            s.push('/');
        }
        s
    }

    /// `--chown=user[:group]`: names from the image's passwd and group; a user alone
    /// means the group of the same name or number (Docker's rule).
    fn chown(&self, base: Option<&Layers>, spec: &str) -> Result<(u32, u32), Error> {
        let read = |f: &str| -> Result<Option<String>, Error> {
            Ok(match base {
                Some(b) => b
                    .read_file(Path::new(f), 4 << 20)?
                    .map(|v| String::from_utf8_lossy(&v).into_owned()),
                None => None,
            })
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (u, g) = match parts.as_slice() {
            [u] => (*u, None),
            [u, g] => (*u, Some(*g)),
            _ => {
                return Err(build_err(format!(
                    "unable to convert uid/gid chown string to host mapping: invalid chown string format: {spec}"
                )))
            }
        };
        let lookup = |name: &str, file: &str, what: &str| -> Result<u32, Error> {
            if let Ok(n) = name.parse::<u32>() {
                return Ok(n);
            }
            let text = read(file)?.unwrap_or_default();
            let kind = if what == "uid" { "user" } else { "group" };
            text.lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() > 2 && f[0] == name).then(|| f[2].parse::<u32>().ok()).flatten()
                })
                .next()
                .ok_or_else(|| {
                    build_err(format!(
                        "unable to convert uid/gid chown string to host mapping: can't find {what} for {kind} {name}: no such {kind}: {name}"
                    ))
                })
        };
        let uid = lookup(u, "etc/passwd", "uid")?;
        // A user alone: the group of the same name (or number), as Docker's builder.
        let gid = lookup(g.unwrap_or(u), "etc/group", "gid")?;
        Ok((uid, gid))
    }
}

/// The config a step's image records: the stage's, with `Image` naming the parent, as
/// Docker's builder writes it.
fn step_config(st: &Stage) -> ContainerConfig {
    let mut c = st.config.clone();
    c.image = st.image_id();
    c
}

/// The largest file `ADD` downloads.
const MAX_DOWNLOAD: u64 = 8 << 30;

/// A private directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `path` made absolute and clean (`.`/`..` resolved lexically, never above `/`).
fn clean_abs(path: &Path) -> String {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::Normal(n) => parts.push(n),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let mut s = String::from("/");
    s.push_str(
        &parts
            .iter()
            .map(|p| p.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    );
    s
}

/// `EXPOSE` values as Docker stores them: `80` is `80/tcp`, a range `1000-1002/udp`
/// each of its ports; anything else is Docker's `Invalid containerPort` error.
fn expose_ports(p: &str) -> Result<Vec<String>, Error> {
    let (ports, proto) = match p.split_once('/') {
        Some((a, b)) => (a, b.to_ascii_lowercase()),
        None => (p, "tcp".to_string()),
    };
    let bad = || build_err(format!("Invalid containerPort: {ports}"));
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let n = ports.parse::<u16>().map_err(|_| bad())?;
            (n, n)
        }
    };
    if hi < lo {
        return Err(build_err(format!(
            "Invalid range specified for the Port: {ports}"
        )));
    }
    Ok((lo..=hi).map(|n| format!("{n}/{proto}")).collect())
}

/// A context-relative path as the layer walker takes it (`.` and empty: the root).
fn rel_path(p: &str) -> PathBuf {
    let p = p.trim_start_matches("./").trim_start_matches('/');
    if p == "." {
        PathBuf::new()
    } else {
        PathBuf::from(p)
    }
}

/// libimage's source errors start with the verb already; keep one.
fn strip_verb(msg: &str, verb: &str) -> String {
    msg.strip_prefix(&format!("{verb} failed: "))
        .unwrap_or(msg)
        .to_string()
}
