//! `run` and `create`: a writable snapshot on the image, Docker's spec from the image
//! config and the options, and a libruntime container whose root is that snapshot.

use libimage::fsutil::{write_atomic, LockGuard};
use libimage::image::ContainerConfig;
use libruntime::{docker_default, ContainerStdio, CreateOptions};

use super::containers::ContainerRecord;
use super::{names, user, Engine, Error};

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What `run`/`create` take (Docker's flags).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The image.
    pub image: String,
    /// The command (overrides the image's `Cmd`).
    pub cmd: Vec<String>,
    /// `--entrypoint` (an empty string clears the image's).
    pub entrypoint: Option<String>,
    /// `-e KEY=VALUE` (or `-e KEY`, taken from this process's environment if set).
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `--name`.
    pub name: Option<String>,
    /// `-h`.
    pub hostname: Option<String>,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--restart` (not with `--rm`).
    pub restart: libruntime::RestartPolicy,
    /// `--log-opt max-size=` in bytes. By default, unlimited.
    pub log_max_size: Option<u64>,
    /// `--log-opt max-file=`. By default, 1.
    pub log_max_files: u32,
    /// Capabilities, security options, limits, tmpfs, read-only root.
    pub host: super::HostConfig,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `--stop-timeout` (seconds `stop` waits by default).
    pub stop_timeout: Option<i64>,
    /// `-i`: the program's stdin stays open (`Config.OpenStdin`).
    pub open_stdin: bool,
    /// `-i` of an attached `run` or of `create` (`Config.AttachStdin`, `StdinOnce`).
    pub attach_stdin: bool,
    /// `--add-host name:address`.
    pub add_host: Vec<String>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_option: Vec<String>,
    /// `-v` (`--volume`): `/ctr`, `name:/ctr`, `/host:/ctr`, with `:ro` and other modes.
    pub volumes: Vec<String>,
    /// `--mount type=bind|volume|tmpfs,...`.
    pub mounts: Vec<String>,
    /// `--volumes-from ctr[:ro|:rw]`.
    pub volumes_from: Vec<String>,
    /// `--network`: `bridge` (the default when empty), `none`, `host`,
    /// `container:<name|id>`, or a user-defined network's name or ID.
    pub network: String,
    /// `--network-alias`: more names on a user-defined network.
    pub network_aliases: Vec<String>,
    /// `--link name[:alias]`.
    pub links: Vec<String>,
    /// `--label k=v` (added to the image's labels).
    pub labels: Vec<String>,
    /// `--init`: a small init (tini, Docker's `docker-init`) as PID 1 that forwards
    /// signals and reaps zombies, the command its child.
    pub init: bool,
    /// `-t`: a pseudo-terminal for the program (its size `(rows, columns)` when known).
    pub tty: bool,
    /// The terminal's size for `-t`.
    pub console_size: Option<(u16, u16)>,
    /// `-p` values.
    pub publish: Vec<String>,
    /// `-P`: publish every exposed port on a free host port.
    pub publish_all: bool,
    /// `--expose` values (`80`, `80/udp`, `8000-8001`).
    pub expose: Vec<String>,
}

/// The shared init layer of an image whose top snapshot is `top`.
pub(crate) fn init_layer_name(top: Option<&str>) -> String {
    match top {
        Some(t) => format!("init-{}", t.trim_start_matches("sha256:")),
        None => "init-empty".to_string(),
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    // SAFETY: valid buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), N, 0) };
    if n != N as isize {
        return Err(Error::io("getrandom", "", std::io::Error::last_os_error()));
    }
    Ok(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Docker's argument rules: `--entrypoint` replaces the image's entrypoint and drops its
/// Cmd; a command given replaces the image's Cmd.
fn command(cfg: &ContainerConfig, o: &RunOptions) -> Vec<String> {
    let (entry, cmd) = match &o.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), o.cmd.clone()),
        Some(e) => (vec![e.clone()], o.cmd.clone()),
        None => (
            cfg.entrypoint.clone().unwrap_or_default(),
            if o.cmd.is_empty() {
                cfg.cmd.clone().unwrap_or_default()
            } else {
                o.cmd.clone()
            },
        ),
    };
    entry.into_iter().chain(cmd).collect()
}

/// `Config.Env` as Docker records it: the user's variables, then the image's that the
/// user did not set (no HOSTNAME, no HOME: those are the process's only).
fn config_env(image: &[String], user: &[String]) -> Vec<String> {
    let key = |kv: &str| kv.split('=').next().unwrap_or("").to_string();
    let mut env: Vec<String> = Vec::new();
    for e in user {
        let kv = match e.split_once('=') {
            Some(_) => e.clone(),
            None => match std::env::var(e) {
                Ok(v) => format!("{e}={v}"),
                Err(_) => continue,
            },
        };
        match env.iter_mut().find(|x| key(x) == key(&kv)) {
            Some(slot) => *slot = kv,
            None => env.push(kv),
        }
    }
    for e in image {
        if !env.iter().any(|x| key(x) == key(e)) {
            env.push(e.clone());
        }
    }
    env
}

/// Docker's environment: PATH (the image's, the user's, or the default) first, HOSTNAME,
/// the image's and the user's variables (the user's win), HOME last if unset.
fn environment(cfg: &ContainerConfig, o: &RunOptions, hostname: &str, home: &str) -> Vec<String> {
    let mut env: Vec<String> = Vec::new();
    let mut set = |kv: String| {
        let key = kv.split('=').next().unwrap_or("").to_string();
        match env
            .iter_mut()
            .find(|e| e.split('=').next() == Some(key.as_str()))
        {
            Some(slot) => *slot = kv,
            None => env.push(kv),
        }
    };
    set(DEFAULT_PATH.into());
    set(format!("HOSTNAME={hostname}"));
    for e in cfg.env.clone().unwrap_or_default() {
        set(e);
    }
    for e in &o.env {
        match e.split_once('=') {
            Some(_) => set(e.clone()),
            None => {
                if let Ok(v) = std::env::var(e) {
                    set(format!("{e}={v}"));
                }
            }
        }
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

impl Engine {
    /// Creates a container (`docker create`): a snapshot on the image, the record, and a
    /// runtime container waiting for start with `stdio`.
    ///
    /// The container's output is logged to `<root>/containers/<id>/<id>-json.log` (Docker's
    /// json-file); with `forward` it is also copied to `stdio`'s stdout and stderr.
    pub fn create_container(
        &self,
        o: &RunOptions,
        stdio: ContainerStdio,
        forward: bool,
    ) -> Result<ContainerRecord, Error> {
        let image = self.images.resolve(&o.image).map_err(|e| match e.kind() {
            libimage::ErrorKind::NotFound => Error::InvalidConfig(format!(
                "Unable to find image '{}' locally",
                libimage::Reference::parse(&o.image)
                    .map(|r| r.familiar())
                    .unwrap_or(o.image.clone())
            )),
            _ => e.into(),
        })?;
        if o.auto_remove && o.restart != libruntime::RestartPolicy::No {
            return Err(Error::InvalidConfig(
                "can't create 'AutoRemove' container with restart policy".into(),
            ));
        }
        if let Some(w) = o
            .workdir
            .as_ref()
            .filter(|w| !w.is_empty() && !w.starts_with('/'))
        {
            return Err(Error::InvalidConfig(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            )));
        }
        let img_cfg = self.images.config(&image)?;
        let mut cfg = ContainerConfig::from_image_config(img_cfg.raw())?;
        let args = command(&cfg, o);
        if args.is_empty() {
            return Err(Error::InvalidConfig("No command specified".into()));
        }
        let id = hex(&random_bytes::<32>()?);
        let hostname = o.hostname.clone().unwrap_or_else(|| id[..12].to_string());
        let snapshot = format!("ctr-{id}");
        let top = self.images.top_snapshot(&image);
        let init = self.init_layer(&id, top.as_deref())?;
        self.images.snapshotter().prepare(&snapshot, Some(&init))?;
        let mut made_volumes = Vec::new();
        let result = (|| {
            let user_spec = o.user.clone().unwrap_or_else(|| cfg.user.clone());
            let u = self.resolve_user(&snapshot, &user_spec)?;
            let env = environment(&cfg, o, &hostname, &u.home);
            let workdir = o
                .workdir
                .clone()
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| cfg.working_dir.clone());
            let dir = self.container_dir(&id);
            let rootfs = dir.join("rootfs");
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(&rootfs)
                .map_err(|e| Error::io("create", &rootfs, e))?;
            let mut spec = docker_default(
                rootfs
                    .to_str()
                    .ok_or_else(|| Error::InvalidConfig("data root is not UTF-8".into()))?,
                &args,
            )?;
            let mut process = spec.process().clone().unwrap_or_default();
            process.set_env(Some(env.clone()));
            process.set_cwd(if workdir.is_empty() {
                "/".into()
            } else {
                workdir.clone().into()
            });
            spec.set_process(Some(process));
            if o.init {
                self.add_init(&mut spec)?;
            }
            cfg.open_stdin = o.open_stdin;
            cfg.attach_stdin = o.open_stdin && o.attach_stdin;
            cfg.stdin_once = cfg.attach_stdin;
            if o.tty {
                let mut p = spec.process().clone().unwrap_or_default();
                p.set_terminal(Some(true));
                if let Some((rows, cols)) = o.console_size {
                    let b = oci_spec::runtime::BoxBuilder::default()
                        .height(rows as u64)
                        .width(cols as u64)
                        .build()
                        .map_err(|e| Error::InvalidConfig(e.to_string()))?;
                    p.set_console_size(Some(b));
                }
                // Docker gives a terminal's program TERM=xterm (unless set).
                let mut env = p.env().clone().unwrap_or_default();
                if !env.iter().any(|e| e.starts_with("TERM=")) {
                    env.push("TERM=xterm".into());
                }
                p.set_env(Some(env));
                spec.set_process(Some(p));
                cfg.tty = true;
            }
            super::hostconfig::apply(&mut spec, &o.host)?;
            let network_mode = self.network_namespace(&mut spec, &o.network)?;
            if !super::network::is_bridged(&network_mode) && network_mode != "none" {
                if let Some(s) = o.host.sysctls.iter().find(|s| s.starts_with("net.")) {
                    return Err(Error::InvalidConfig(format!(
                        "sysctl {s:?} is not allowed with --network {network_mode}: it would change the host's (or another container's) network"
                    )));
                }
            }
            let publish = publish_ports(&mut cfg, o, &network_mode)?;
            let aliases = self.check_aliases(&network_mode, &o.network_aliases)?;
            self.name_files(&id, &hostname, o, &mut spec)?;
            let resolved = self.resolve_mounts(o, &cfg, &snapshot)?;
            made_volumes = resolved.made;
            let mut mounts = spec.mounts().clone().unwrap_or_default();
            // A user's mount replaces the engine's at the same place (`-v x:/etc/hosts`).
            mounts.retain(|m| {
                !resolved
                    .mounts
                    .iter()
                    .any(|u| m.destination() == std::path::Path::new(&u.destination))
            });
            mounts.extend(resolved.mounts.iter().map(|m| m.to_oci()));
            spec.set_mounts(Some(mounts));
            for m in &resolved.mounts {
                let anonymous_flag = o.volumes.iter().any(|v| {
                    libvolume::parse_volume_flag(v)
                        .is_ok_and(|s| s.source.is_empty() && s.target == m.destination)
                });
                if anonymous_flag {
                    cfg.volumes
                        .get_or_insert_with(Default::default)
                        .insert(m.destination.clone(), serde_json::json!({}));
                }
            }
            libruntime::spec::set_user(&mut spec, u.uid, u.gid, u.groups.clone())?;
            if o.stop_timeout.is_some() {
                cfg.stop_timeout = o.stop_timeout;
            }
            if let Some(sig) = &o.stop_signal {
                super::containers::parse_signal(sig)?;
                cfg.stop_signal = Some(sig.clone());
            }
            spec.set_hostname(Some(hostname.clone()));
            cfg.hostname = hostname.clone();
            cfg.env = Some(config_env(cfg.env.as_deref().unwrap_or_default(), &o.env));
            cfg.cmd = Some(if o.cmd.is_empty() {
                cfg.cmd.clone().unwrap_or_default()
            } else {
                o.cmd.clone()
            });
            cfg.image = o.image.clone();
            for l in &o.labels {
                let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                cfg.labels
                    .get_or_insert_with(Default::default)
                    .insert(k.to_string(), v.to_string());
            }
            cfg.working_dir = workdir;
            if let Some(u) = &o.user {
                cfg.user = u.clone();
            }
            if let Some(e) = &o.entrypoint {
                cfg.entrypoint = (!e.is_empty()).then(|| vec![e.clone()]);
            }
            let record = ContainerRecord {
                id: id.clone(),
                name: String::new(),
                image: o.image.clone(),
                image_id: image.id.to_string(),
                created: libimage::time::now(),
                path: args[0].clone(),
                args: args[1..].to_vec(),
                config: cfg.clone(),
                snapshot: snapshot.clone(),
                auto_remove: o.auto_remove,
                restart_policy: o.restart,
                log_max_size: o.log_max_size,
                log_max_files: o.log_max_files.max(1),
                mounts: resolved.mounts,
                binds: o
                    .volumes
                    .iter()
                    .filter(|v| libvolume::parse_volume_flag(v).is_ok_and(|s| !s.source.is_empty()))
                    .cloned()
                    .collect(),
                volumes_from: o.volumes_from.clone(),
                mount_flags: o.mounts.clone(),
                network_mode,
                publish,
                network: super::network::NetworkState {
                    aliases,
                    ..Default::default()
                },
                extra_networks: Default::default(),
                links: Vec::new(),
                devices: o.host.devices.clone(),
                init: o.init,
                host: o.host.clone(),
                extra_hosts: o.add_host.clone(),
                dns: o.dns.clone(),
                dns_search: o.dns_search.clone(),
                dns_options: o.dns_option.clone(),
            };
            let mut record = self.claim_name(record, o.name.as_deref())?;
            if !o.links.is_empty() {
                self.apply_links(&mut record, &o.links, &mut spec)?;
                self.save_record(&record)?;
            }
            let root_mounts = self.images.snapshotter().mounts(&snapshot)?;
            let spec_path = self.container_dir(&id).join("spec.json");
            let spec_json =
                serde_json::to_vec(&spec).map_err(|e| Error::InvalidConfig(e.to_string()))?;
            write_atomic(&spec_path, &spec_json)?;
            let rc = self.runtime.create(
                &id,
                &spec,
                self.create_options(&record, root_mounts, stdio, forward),
            )?;
            let mut record = record;
            if let Err(e) = rc
                .state()
                .map_err(Error::from)
                .and_then(|st| self.attach_network(&mut record, st.pid as u32))
            {
                let _ = rc.delete(true);
                let _ = self.detach_network(&record, None);
                return Err(e);
            }
            Ok(record)
        })();
        if result.is_err() {
            let _ = self.images.snapshotter().remove(&snapshot);
            let _ = std::fs::remove_dir_all(self.container_dir(&id));
            for v in &made_volumes {
                let _ = self.volumes.remove(v);
            }
        }
        if let Ok(c) = &result {
            self.emit_container("create", c, &[]);
        }
        result
    }

    /// Gives the record a unique name (the one asked for, or a generated one) and writes
    /// it, under the containers lock.
    fn claim_name(
        &self,
        mut record: ContainerRecord,
        name: Option<&str>,
    ) -> Result<ContainerRecord, Error> {
        let _g = LockGuard::lock(&self.config.root.join("containers.lock"))?;
        let existing = self.containers()?;
        let taken = |n: &str| existing.iter().find(|c| c.name == n).map(|c| c.id.clone());
        record.name = match name {
            Some(n) => {
                let n = n.strip_prefix('/').unwrap_or(n);
                if !names::valid(n) {
                    return Err(Error::InvalidConfig(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    )));
                }
                if let Some(other) = taken(n) {
                    return Err(Error::Conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
                n.to_string()
            }
            None => {
                let r = u16::from_le_bytes(random_bytes::<2>()?);
                (0..)
                    .map(|i| names::generate(r, i))
                    .find(|n| taken(n).is_none())
                    .expect("unbounded")
            }
        };
        let path = self.container_dir(&record.id).join("config.v2.json");
        let data =
            serde_json::to_vec_pretty(&record).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        write_atomic(&path, &data)?;
        Ok(record)
    }

    /// Docker's init layer: a committed snapshot between the image and the container that
    /// holds the mount points the engine adds (`/etc/hostname`, `/etc/hosts`,
    /// `/etc/resolv.conf`), so they never show up as the container's own changes.
    /// Its content is the same for every container of an image, so one is shared per image
    /// top layer, made on first use and removed with the image.
    fn init_layer(&self, id: &str, parent: Option<&str>) -> Result<String, Error> {
        let sn = self.images.snapshotter();
        let name = init_layer_name(parent);
        if sn.stat(&name).is_ok() {
            return Ok(name);
        }
        let key = format!("{name}-active-{id}");
        sn.prepare(&key, parent)?;
        let made = (|| -> Result<(), Error> {
            let (dir, _) = sn.apply_dir(&key)?;
            let etc = dir.join("etc");
            // Only create what the image lacks (a copy snapshot already holds the image).
            if std::fs::symlink_metadata(&etc).is_err() {
                std::fs::create_dir(&etc).map_err(|e| Error::io("create", &etc, e))?;
            }
            for f in ["hostname", "hosts", "resolv.conf"] {
                let p = etc.join(f);
                if std::fs::symlink_metadata(&p).is_err() {
                    std::fs::write(&p, b"").map_err(|e| Error::io("create", &p, e))?;
                }
            }
            match sn.commit(&name, &key) {
                // Another container made it meanwhile: use theirs.
                Err(e) if e.kind() == libimage::ErrorKind::AlreadyExists => {
                    sn.remove(&key)?;
                    Ok(())
                }
                r => r.map_err(Into::into),
            }
        })();
        if let Err(e) = made {
            let _ = sn.remove(&key);
            return Err(e);
        }
        Ok(name)
    }

    /// Writes the container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` (libnet's
    /// formats) into its directory and bind-mounts them, as Docker does.
    fn name_files(
        &self,
        id: &str,
        hostname: &str,
        o: &RunOptions,
        spec: &mut oci_spec::runtime::Spec,
    ) -> Result<(), Error> {
        let dir = self.container_dir(id);
        let extra = o
            .add_host
            .iter()
            .map(|h| libnet::files::parse_add_host(h).map_err(Error::InvalidConfig))
            .collect::<Result<Vec<_>, _>>()?;
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let hosts = libnet::files::hosts(None, &extra);
        let base = dir.join("hosts.base");
        std::fs::write(&base, &hosts).map_err(|e| Error::io("write", &base, e))?;
        let files = [
            ("hostname", libnet::files::hostname(hostname)),
            ("hosts", hosts),
            (
                "resolv.conf",
                libnet::files::resolv_conf(
                    &host_resolv,
                    or_default(&o.dns, &self.config.dns),
                    or_default(&o.dns_search, &self.config.dns_search),
                    or_default(&o.dns_option, &self.config.dns_options),
                ),
            ),
        ];
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::write(&path, content).map_err(|e| Error::io("write", &path, e))?;
            let mut m = oci_spec::runtime::Mount::default();
            m.set_destination(std::path::Path::new("/etc").join(name));
            m.set_typ(Some("bind".into()));
            m.set_source(Some(path));
            m.set_options(Some(vec!["rbind".into(), "rprivate".into()]));
            mounts.push(m);
        }
        spec.set_mounts(Some(mounts));
        Ok(())
    }

    /// Resolves `--user`/`User` against the image's own `/etc/passwd` and `/etc/group`,
    /// read from `snapshot` without mounting it.
    fn resolve_user(&self, snapshot: &str, spec: &str) -> Result<user::ResolvedUser, Error> {
        let read = |f: &str| -> Result<Option<String>, Error> {
            Ok(self
                .images
                .read_snapshot_file(snapshot, f)?
                .map(|b| String::from_utf8_lossy(&b).into_owned()))
        };
        user::resolve(
            spec,
            read("/etc/passwd")?.as_deref(),
            read("/etc/group")?.as_deref(),
        )
    }

    /// Runtime options for a container: its snapshot's mounts as root, its log.
    fn create_options(
        &self,
        c: &ContainerRecord,
        root_mounts: Vec<oci_spec::runtime::Mount>,
        stdio: ContainerStdio,
        forward: bool,
    ) -> CreateOptions {
        let log = libruntime::logs::LogConfig {
            path: self.log_path(&c.id),
            max_size: c.log_max_size,
            max_files: c.log_max_files.max(1),
            forward,
        };
        CreateOptions {
            root_mounts,
            stdio,
            cgroup_parent: Some(self.config.cgroup_parent.clone()),
            log: Some(log),
            exit_log: Some(libruntime::ExitLog {
                path: self.events_path(),
                attributes: super::events::container_attributes(c),
            }),
            restart: c.restart_policy,
        }
    }

    /// Docker's log file of a container.
    pub fn log_path(&self, id: &str) -> std::path::PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }

    /// Starts a container: a created one goes on; a stopped one gets a fresh runtime
    /// container (new monitor) from its saved spec, as `docker start` restarts it.
    pub fn start_container(&self, name: &str) -> Result<ContainerRecord, Error> {
        self.start_container_with(name, ContainerStdio::default(), false)
    }

    /// [`Engine::start_container`] with the stdio a restarted container's monitor gets.
    pub fn start_container_with(
        &self,
        name: &str,
        stdio: ContainerStdio,
        forward: bool,
    ) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        let rc = match self.runtime.get(&c.id) {
            Ok(rc) if rc.state()?.status == libruntime::Status::Created => rc,
            Ok(rc)
                if matches!(
                    rc.state()?.status,
                    libruntime::Status::Running | libruntime::Status::Restarting
                ) =>
            {
                return Ok(c)
            }
            other => {
                if let Ok(rc) = other {
                    rc.delete(false)?;
                }
                let spec_path = self.container_dir(&c.id).join("spec.json");
                let data =
                    std::fs::read(&spec_path).map_err(|e| Error::io("read", &spec_path, e))?;
                let spec: oci_spec::runtime::Spec = serde_json::from_slice(&data)
                    .map_err(|e| Error::InvalidConfig(e.to_string()))?;
                let root_mounts = self.images.snapshotter().mounts(&c.snapshot)?;
                self.prepare_volumes(&c)?;
                let rc = self.runtime.create(
                    &c.id,
                    &spec,
                    self.create_options(&c, root_mounts, stdio, forward),
                )?;
                let mut c2 = c.clone();
                let pid = rc.state()?.pid as u32;
                if let Err(e) = self.attach_network(&mut c2, pid) {
                    let _ = rc.delete(true);
                    return Err(e);
                }
                rc
            }
        };
        // The monitor writes the `start` event (before the program can exit).
        rc.start()?;
        Ok(c)
    }

    /// Restarts a container (`docker restart`): stops it if it runs (within `timeout`
    /// seconds, as [`Engine::stop_container`]), starts it, and records `restart`.
    pub fn restart_container(
        &self,
        name: &str,
        timeout: Option<i64>,
    ) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        self.stop_container(&c.id, timeout)?;
        self.start_container(&c.id)?;
        self.emit_container("restart", &c, &[]);
        Ok(c)
    }

    /// Waits for a container to stop; returns its exit code (and removes it if it was
    /// created with `--rm`).
    pub fn wait_container(&self, name: &str) -> Result<i32, Error> {
        let c = self.container(name)?;
        let code = self.runtime.get(&c.id)?.wait()?;
        if c.auto_remove {
            match self.remove_container_with(&c.id, true, true) {
                // Removed by someone else meanwhile (`rm -f` while it ran), as Docker's
                // run reports only the exit then.
                Err(Error::NoSuchContainer(_)) => {}
                Err(Error::Conflict(m)) if m.starts_with("removal of container") => {}
                r => {
                    r?;
                }
            }
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_and_environment_follow_docker() {
        let cfg = ContainerConfig {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: Some(vec!["default".into()]),
            env: Some(vec!["PATH=/img/bin".into(), "A=1".into()]),
            ..Default::default()
        };
        let o = |cmd: &[&str], ep: Option<&str>| RunOptions {
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            entrypoint: ep.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(command(&cfg, &o(&[], None)), vec!["/entry", "default"]);
        assert_eq!(command(&cfg, &o(&["x"], None)), vec!["/entry", "x"]);
        assert_eq!(command(&cfg, &o(&["x"], Some("sh"))), vec!["sh", "x"]);
        assert_eq!(command(&cfg, &o(&[], Some("sh"))), vec!["sh"]);
        assert_eq!(command(&cfg, &o(&["x"], Some(""))), vec!["x"]);
        let mut opts = o(&[], None);
        opts.env = vec!["A=2".into(), "FOO=bar".into()];
        assert_eq!(
            environment(&cfg, &opts, "abc", "/root"),
            vec![
                "PATH=/img/bin",
                "HOSTNAME=abc",
                "A=2",
                "FOO=bar",
                "HOME=/root"
            ]
        );
    }
}

/// What `exec` takes (Docker's flags).
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The program and its arguments.
    pub cmd: Vec<String>,
    /// `-e` (added to the container's environment).
    pub env: Vec<String>,
    /// `-w` (by default, the container's working directory).
    pub workdir: Option<String>,
    /// `-u` (by default, the container's user).
    pub user: Option<String>,
    /// `-d`: do not wait.
    pub detach: bool,
    /// `-t`: a pseudo-terminal.
    pub tty: bool,
    /// The terminal's size `(rows, columns)` for `-t`.
    pub console_size: Option<(u16, u16)>,
    /// `--privileged`: every capability this machine allows (bounding set; also effective
    /// and permitted for root).
    pub privileged: bool,
}

impl Engine {
    /// Runs a process in a running container (`docker exec`); returns its exit code.
    pub fn exec_container(
        &self,
        name: &str,
        o: &ExecOptions,
        stdio: ContainerStdio,
    ) -> Result<i32, Error> {
        let (c, rc) = self.running_container(name)?;
        if o.cmd.is_empty() {
            return Err(Error::InvalidConfig("No exec command specified".into()));
        }
        let mut spec = rc.spec()?;
        let mut p = spec.process().clone().unwrap_or_default();
        p.set_args(Some(o.cmd.clone()));
        let mut env = p.env().clone().unwrap_or_default();
        for e in &o.env {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        if o.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        p.set_env(Some(env));
        if let Some(w) = o.workdir.as_ref().filter(|w| !w.is_empty()) {
            p.set_cwd(w.into());
        }
        p.set_terminal(Some(o.tty));
        p.set_console_size(match o.console_size {
            Some((rows, cols)) if o.tty => Some(
                oci_spec::runtime::BoxBuilder::default()
                    .height(rows as u64)
                    .width(cols as u64)
                    .build()
                    .map_err(|e| Error::InvalidConfig(e.to_string()))?,
            ),
            _ => None,
        });
        spec.set_process(Some(p));
        if let Some(u) = &o.user {
            let r = self.resolve_user(&c.snapshot, u)?;
            libruntime::spec::set_user(&mut spec, r.uid, r.gid, r.groups)?;
        }
        let mut p = spec.process().clone().unwrap_or_default();
        if o.privileged {
            let all: Vec<String> = libruntime::caps::all_available();
            let mut caps = serde_json::to_value(p.capabilities().clone().unwrap_or_default())
                .map_err(|e| Error::InvalidConfig(e.to_string()))?;
            caps["bounding"] = serde_json::json!(all);
            if p.user().uid() == 0 {
                caps["effective"] = serde_json::json!(all);
                caps["permitted"] = serde_json::json!(all);
            }
            p.set_capabilities(Some(
                serde_json::from_value(caps).map_err(|e| Error::InvalidConfig(e.to_string()))?,
            ));
        }
        rc.exec(self.runtime.helper(), &p, stdio, o.detach)
            .map_err(|e| match e {
                // Docker names the container as it was asked for.
                libruntime::Error::Paused { op, .. } => Error::Conflict(format!(
                    "Container {name} is paused, unpause the container before {op}"
                )),
                e => e.into(),
            })
    }
}

/// `--expose` values (`80`, `80/udp`, `8000-8001/tcp`) as Docker's `port/proto` keys.
fn expose_keys(v: &str) -> Result<Vec<String>, Error> {
    let (ports, proto) = v.split_once('/').unwrap_or((v, "tcp"));
    let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
    let bad = || Error::InvalidConfig(format!("invalid range format for --expose: {v}"));
    let (a, b): (u16, u16) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if b < a {
        return Err(bad());
    }
    Ok((a..=b).map(|p| format!("{p}/{proto}")).collect())
}

/// The ports to publish: `-p` values, and with `-P` every exposed port (the image's
/// `EXPOSE`s and `--expose`) on a free host port; exposed ports go into the config.
fn publish_ports(
    cfg: &mut ContainerConfig,
    o: &RunOptions,
    mode: &str,
) -> Result<Vec<libnet::nat::PortMapping>, Error> {
    let mut out = Vec::new();
    for p in &o.publish {
        out.extend(libnet::nat::parse_publish(p)?);
    }
    for e in &o.expose {
        for k in expose_keys(e)? {
            cfg.exposed_ports
                .get_or_insert_with(Default::default)
                .insert(k, serde_json::json!({}));
        }
    }
    for m in &out {
        cfg.exposed_ports
            .get_or_insert_with(Default::default)
            .insert(
                format!("{}/{}", m.container_port, m.proto),
                serde_json::json!({}),
            );
    }
    if o.publish_all {
        for k in cfg.exposed_ports.clone().unwrap_or_default().keys() {
            let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if !out
                .iter()
                .any(|m| m.container_port == port && m.proto == proto)
            {
                out.push(libnet::nat::PortMapping {
                    host_ip: None,
                    host_port: 0,
                    container_port: port,
                    proto: proto.to_string(),
                });
            }
        }
    }
    if !out.is_empty() && !super::network::is_bridged(mode) {
        // Docker ignores published ports outside a bridge network (with a warning).
        eprintln!("WARNING: Published ports are discarded when using host network mode");
        return Ok(Vec::new());
    }
    Ok(out)
}

impl Engine {
    /// Sets the spec's network namespace for `--network` and returns the mode recorded.
    fn network_namespace(
        &self,
        spec: &mut oci_spec::runtime::Spec,
        network: &str,
    ) -> Result<String, Error> {
        let mode = match network {
            "" | "default" | "bridge" => "bridge".to_string(),
            "none" | "host" => network.to_string(),
            m if m.starts_with("container:") => {
                let other = self.container(&m["container:".len()..])?;
                let (_, rc) = self.running_container(&other.id)?;
                let pid = rc.state()?.pid;
                let mut linux = spec.linux().clone().unwrap_or_default();
                let ns: Vec<oci_spec::runtime::LinuxNamespace> = linux
                    .namespaces()
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|mut n| {
                        if n.typ() == oci_spec::runtime::LinuxNamespaceType::Network {
                            n.set_path(Some(format!("/proc/{pid}/ns/net").into()));
                        }
                        n
                    })
                    .collect();
                linux.set_namespaces(Some(ns));
                spec.set_linux(Some(linux));
                return Ok(format!("container:{}", other.id));
            }
            other => {
                // A user-defined network, recorded by name as Docker does.
                let r = self
                    .network_store()
                    .find(other)?
                    .ok_or_else(|| Error::NoSuchNetwork(other.to_string()))?;
                r.name
            }
        };
        if mode == "host" {
            let mut linux = spec.linux().clone().unwrap_or_default();
            let ns: Vec<_> = linux
                .namespaces()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|n| n.typ() != oci_spec::runtime::LinuxNamespaceType::Network)
                .collect();
            linux.set_namespaces(Some(ns));
            spec.set_linux(Some(linux));
        }
        Ok(mode)
    }
}

impl Engine {
    /// `--network-alias` is only for user-defined networks (Docker's rule).
    fn check_aliases(&self, mode: &str, aliases: &[String]) -> Result<Vec<String>, Error> {
        if aliases.is_empty() {
            return Ok(Vec::new());
        }
        if !super::network::is_bridged(mode) || matches!(mode, "bridge" | "default" | "") {
            return Err(Error::InvalidConfig(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
        Ok(aliases.to_vec())
    }

    /// `--link`: each target must run; the link's variables join the environment (of the
    /// spec and of the recorded config) and the link is recorded as Docker does
    /// (`/target:/name/alias`) for the hosts file written at start.
    fn apply_links(
        &self,
        record: &mut ContainerRecord,
        links: &[String],
        spec: &mut oci_spec::runtime::Spec,
    ) -> Result<(), Error> {
        let mut env = Vec::new();
        for l in links {
            let (target, alias) = libnet::links::parse_link(l).map_err(Error::InvalidConfig)?;
            let t = self.container(&target).map_err(|e| match e {
                Error::NoSuchContainer(_) => Error::InvalidConfig(format!(
                    "could not get container for {target}: No such container: {target}"
                )),
                e => e,
            })?;
            let ip = Engine::endpoints(&t)
                .into_iter()
                .find_map(|(_, s)| s.ip_address);
            let running = self.is_running_id(&t.id);
            let (Some(ip), true) = (ip, running) else {
                return Err(Error::Conflict(format!(
                    "Cannot link to a non running container: /{} AS /{}/{alias}",
                    t.name, record.name
                )));
            };
            let exposed: Vec<String> = t
                .config
                .exposed_ports
                .clone()
                .unwrap_or_default()
                .into_keys()
                .collect();
            let tenv = t.config.env.clone().unwrap_or_default();
            env.extend(libnet::links::link_env(
                &record.name,
                &libnet::links::LinkTarget {
                    name: &t.name,
                    alias: &alias,
                    ip,
                    exposed,
                    env: &tenv,
                },
            ));
            record
                .links
                .push(format!("/{}:/{}/{alias}", t.name, record.name));
        }
        let mut process = spec.process().clone().unwrap_or_default();
        let mut all = process.env().clone().unwrap_or_default();
        all.extend(env.iter().cloned());
        process.set_env(Some(all));
        spec.set_process(Some(process));
        record
            .config
            .env
            .get_or_insert_with(Default::default)
            .extend(env);
        Ok(())
    }

    pub(crate) fn is_running_id(&self, id: &str) -> bool {
        self.runtime
            .get(id)
            .and_then(|r| r.state())
            .is_ok_and(|s| s.status == libruntime::Status::Running)
    }
}

/// The container's own values, else the daemon's defaults.
fn or_default<'a>(own: &'a [String], daemon: &'a [String]) -> &'a [String] {
    if own.is_empty() {
        daemon
    } else {
        own
    }
}

/// Where Docker's `docker-init` (tini, statically linked) is looked for.
const INIT_CANDIDATES: [&str; 3] = [
    "/usr/bin/docker-init",
    "/usr/bin/tini-static",
    "/usr/local/bin/docker-init",
];

impl Engine {
    /// `--init`: the init binary bind-mounted read-only at `/sbin/docker-init` and
    /// put before the command, as Docker does.
    fn add_init(&self, spec: &mut oci_spec::runtime::Spec) -> Result<(), Error> {
        let path = match &self.config.init_path {
            Some(p) => p.clone(),
            None => INIT_CANDIDATES
                .iter()
                .map(std::path::PathBuf::from)
                .find(|p| p.exists())
                .ok_or_else(|| {
                    Error::InvalidConfig(
                        "docker-init binary not found (apt-get install tini, or set init-path in daemon.json)"
                            .into(),
                    )
                })?,
        };
        let path = std::fs::canonicalize(&path).map_err(|e| Error::io("find init", &path, e))?;
        let mut process = spec.process().clone().unwrap_or_default();
        let mut args = vec!["/sbin/docker-init".to_string(), "--".to_string()];
        args.extend(process.args().clone().unwrap_or_default());
        process.set_args(Some(args));
        spec.set_process(Some(process));
        let mut m = oci_spec::runtime::Mount::default();
        m.set_destination("/sbin/docker-init".into());
        m.set_typ(Some("bind".into()));
        m.set_source(Some(path));
        m.set_options(Some(vec!["rbind".into(), "ro".into(), "rprivate".into()]));
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.push(m);
        spec.set_mounts(Some(mounts));
        Ok(())
    }
}
