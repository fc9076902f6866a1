//! `run` and `create`: a writable snapshot on the image, Docker's spec from the image
//! config and the options, and a libruntime container whose root is that snapshot.

use libimage::fsutil::write_atomic;
use libimage::image::ContainerConfig;
use libruntime::{ContainerStdio, CreateOptions};

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
    /// `--entrypoint` (Docker's `Config.Entrypoint`: the CLI's one word, or the API's
    /// list; an empty list clears the image's).
    pub entrypoint: Option<Vec<String>>,
    /// `-e KEY=VALUE`, resolved by the caller (an entry without `=` is left out: the
    /// engine never reads its own process's environment).
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
    /// `--mount type=bind|volume|tmpfs,...` (Docker's `HostConfig.Mounts`), parsed.
    pub mounts: Vec<libvolume::MountSpec>,
    /// `--volumes-from ctr[:ro|:rw]`.
    pub volumes_from: Vec<String>,
    /// `--network`.
    pub network: NetworkMode,
    /// `--network-alias`: more names on a user-defined network.
    pub network_aliases: Vec<String>,
    /// `--link name[:alias]`.
    pub links: Vec<String>,
    /// `--label k=v` (added to the image's labels).
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--init`: a small init (tini, Docker's `docker-init`) as PID 1 that forwards
    /// signals and reaps zombies, the command its child.
    pub init: bool,
    /// `-t`: a pseudo-terminal for the program (its size `(rows, columns)` when known).
    pub tty: bool,
    /// The terminal's size for `-t`.
    pub console_size: Option<(u16, u16)>,
    /// `-p` values (Docker's `PortBindings`; host port 0: chosen at start).
    pub publish: Vec<libnet::nat::PortMapping>,
    /// `-P`: publish every exposed port on a free host port.
    pub publish_all: bool,
    /// `--expose` values (`80`, `80/udp`, `8000-8001`).
    pub expose: Vec<String>,
}

/// Where a container's network namespace comes from (`--network`, Docker's
/// `HostConfig.NetworkMode`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum NetworkMode {
    /// The default bridge (`bridge`, `default`, or nothing given).
    #[default]
    Bridge,
    /// No network but loopback (`none`).
    None,
    /// The host's network namespace (`host`).
    Host,
    /// Another container's network namespace (`container:<name|id>`).
    Container(String),
    /// A user-defined network, by name or ID.
    Network(String),
}

impl NetworkMode {
    /// Parses Docker's `--network` value.
    pub fn parse(s: &str) -> Self {
        match s {
            "" | "default" | "bridge" => NetworkMode::Bridge,
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            m => match m.strip_prefix("container:") {
                Some(c) => NetworkMode::Container(c.to_string()),
                None => NetworkMode::Network(m.to_string()),
            },
        }
    }
}

impl std::fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkMode::Bridge => f.write_str("bridge"),
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::Container(c) => write!(f, "container:{c}"),
            NetworkMode::Network(n) => f.write_str(n),
        }
    }
}

impl From<&str> for NetworkMode {
    fn from(s: &str) -> Self {
        NetworkMode::parse(s)
    }
}

/// The shared init layer of an image whose top snapshot is `top`.
pub(crate) fn init_layer_name(top: Option<&str>) -> String {
    match top {
        Some(t) => format!("init-{}", t.trim_start_matches("sha256:")),
        None => "init-empty".to_string(),
    }
}

pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    // SAFETY: valid buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), N, 0) };
    if n != N as isize {
        return Err(Error::io("getrandom", "", std::io::Error::last_os_error()));
    }
    Ok(b)
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Docker's argument rules: `--entrypoint` replaces the image's entrypoint and drops its
/// Cmd; a command given replaces the image's Cmd.
pub(super) fn command(cfg: &ContainerConfig, o: &RunOptions) -> Vec<String> {
    let (entry, cmd) = match &o.entrypoint {
        Some(e) => (e.clone(), o.cmd.clone()),
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
pub(super) fn config_env(image: &[String], user: &[String]) -> Vec<String> {
    let key = |kv: &str| kv.split('=').next().unwrap_or("").to_string();
    let mut env: Vec<String> = Vec::new();
    for e in user {
        // `KEY` without a value: the caller found none to give it.
        if !e.contains('=') {
            continue;
        }
        let kv = e.clone();
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
pub(super) fn environment(
    cfg: &ContainerConfig,
    o: &RunOptions,
    hostname: &str,
    home: &str,
) -> Vec<String> {
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
    for e in o.env.iter().filter(|e| e.contains('=')) {
        set(e.clone());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

impl Engine {
    /// Gives the record a unique name (the one asked for, or a generated one) and writes
    /// it, under the containers lock.
    pub(super) fn claim_name(
        &self,
        mut record: ContainerRecord,
        name: Option<&str>,
    ) -> Result<ContainerRecord, Error> {
        let _g = self.containers_lock()?;
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
    pub(super) fn init_layer(&self, id: &str, parent: Option<&str>) -> Result<String, Error> {
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
    pub(super) fn name_files(
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
            let mut options = vec!["rbind".to_string(), "rprivate".into()];
            // Docker's network mounts follow the root: read-only with `--read-only`.
            if o.host.read_only {
                options.push("ro".into());
            }
            m.set_options(Some(options));
            mounts.push(m);
        }
        spec.set_mounts(Some(mounts));
        Ok(())
    }

    /// Resolves `--user`/`User` against the image's own `/etc/passwd` and `/etc/group`,
    /// read from `snapshot` without mounting it.
    pub(super) fn resolve_user(
        &self,
        snapshot: &str,
        spec: &str,
    ) -> Result<user::ResolvedUser, Error> {
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
    pub(super) fn create_options(
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
        self.start_container_then(name, stdio, forward, &mut |_| {})
    }

    /// [`Engine::start_container_with`], calling `before_start` with the attach socket
    /// once the container's monitor listens and before its program runs: clients that
    /// connect there (an API `attach` made while the container was stopped) miss none of
    /// the output.
    pub fn start_container_then(
        &self,
        name: &str,
        stdio: ContainerStdio,
        forward: bool,
        before_start: &mut dyn FnMut(&std::path::Path),
    ) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        self.mark_stopped_by_user(&c.id, false);
        let rc = match self.runtime.get(&c.id) {
            Ok(rc) if rc.state()?.status == libruntime::Status::Created => {
                self.attach_pending_networks(&c, rc.state()?.pid as u32)?;
                // Peers created meanwhile and started since see it, and it sees them
                // (hosts files list running peers: a create-all-then-start-all client
                // such as docker-compose otherwise leaves names out).
                self.refresh_user_network_hosts(&c.id)?;
                rc
            }
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
        before_start(&rc.attach_socket());
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
                Err(Error::RemovalInProgress(_)) => {}
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
            entrypoint: ep.map(|e| {
                if e.is_empty() {
                    vec![]
                } else {
                    vec![e.to_string()]
                }
            }),
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
        for e in o.env.iter().filter(|e| e.contains('=')) {
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
        // Docker names the container as it was asked for.
        let paused = |op: &str| {
            Error::Conflict(format!(
                "Container {name} is paused, unpause the container before {op}"
            ))
        };
        if rc.is_paused() {
            return Err(paused("exec"));
        }
        // Docker's exec events: `exec_create: CMD`, `exec_start: CMD`, then (when the
        // caller waits) `exec_die` with the exit code.
        let exec_id = hex(&random_bytes::<32>()?);
        // Docker's text: the program, a space, its arguments (`exec_create: true `).
        let cmdline = format!("{} {}", o.cmd[0], o.cmd[1..].join(" "));
        let id_attr = [("execID", exec_id.clone())];
        self.emit_container(&format!("exec_create: {cmdline}"), &c, &id_attr);
        self.emit_container(&format!("exec_start: {cmdline}"), &c, &id_attr);
        let code = rc.exec(self.runtime.helper(), &p, stdio, o.detach);
        if !o.detach {
            let exit = match &code {
                Ok(c) => Some(*c),
                Err(libruntime::Error::Exec { code, .. }) => Some(*code),
                Err(libruntime::Error::Paused { .. }) => None,
                Err(_) => Some(126),
            };
            if let Some(exit) = exit {
                self.emit_container(
                    "exec_die",
                    &c,
                    &[("execID", exec_id), ("exitCode", exit.to_string())],
                );
            }
        }
        code.map_err(|e| match e {
            libruntime::Error::Paused { op, .. } => paused(op),
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
pub(super) fn publish_ports(
    cfg: &mut ContainerConfig,
    o: &RunOptions,
    mode: &str,
) -> Result<Vec<libnet::nat::PortMapping>, Error> {
    let mut out = Vec::new();
    for p in &o.publish {
        if p.container_port == 0 || (p.proto != "tcp" && p.proto != "udp") {
            return Err(Error::InvalidConfig(format!(
                "invalid port specification: \"{}/{}\"",
                p.container_port, p.proto
            )));
        }
        out.push(p.clone());
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
    if !out.is_empty() && !super::container_network::is_bridged(mode) {
        // Docker ignores published ports outside a bridge network (with a warning).
        eprintln!("WARNING: Published ports are discarded when using host network mode");
        return Ok(Vec::new());
    }
    Ok(out)
}

impl Engine {
    /// Sets the spec's network namespace for `--network` and returns the mode recorded.
    pub(super) fn network_namespace(
        &self,
        spec: &mut oci_spec::runtime::Spec,
        network: &NetworkMode,
    ) -> Result<String, Error> {
        let network = network.to_string();
        let network = network.as_str();
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
    pub(super) fn check_aliases(
        &self,
        mode: &str,
        aliases: &[String],
    ) -> Result<Vec<String>, Error> {
        if aliases.is_empty() {
            return Ok(Vec::new());
        }
        if !super::container_network::is_bridged(mode) || matches!(mode, "bridge" | "default" | "")
        {
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
    pub(super) fn apply_links(
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

    /// Whether a container's program runs, or is about to (created, restarting): the
    /// peers a hosts file lists (containers created together and started in parallel,
    /// as docker-compose does, see each other whatever the order).
    pub(crate) fn is_live_id(&self, id: &str) -> bool {
        self.runtime.get(id).and_then(|r| r.state()).is_ok_and(|s| {
            matches!(
                s.status,
                libruntime::Status::Running
                    | libruntime::Status::Created
                    | libruntime::Status::Restarting
            )
        })
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
    pub(super) fn add_init(&self, spec: &mut oci_spec::runtime::Spec) -> Result<(), Error> {
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
