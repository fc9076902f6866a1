//! Container records (`<root>/containers/<id>/config.v2.json`, as Docker names it), lookup
//! by name, full ID or unique ID prefix, and state from the runtime.

use std::path::PathBuf;

use libimage::image::ContainerConfig;
use serde::{Deserialize, Serialize};

use super::{Engine, Error};

/// What the engine records about a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRecord {
    /// 64 hex characters.
    pub id: String,
    /// The name, without Docker's leading `/`.
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// The image's ID.
    pub image_id: String,
    /// Creation time (RFC 3339).
    pub created: String,
    /// The program.
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Docker's container config (what `inspect` shows as `Config`).
    pub config: ContainerConfig,
    /// The snapshot holding the container's writable layer.
    pub snapshot: String,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--log-opt max-size`.
    #[serde(default)]
    pub log_max_size: Option<u64>,
    /// `--log-opt max-file`.
    #[serde(default)]
    pub log_max_files: u32,
    /// Its mounts (volumes, binds, tmpfs), as `inspect` shows them.
    #[serde(default)]
    pub mounts: Vec<libvolume::MountPoint>,
    /// The `-v` values that name a source (`HostConfig.Binds`).
    #[serde(default)]
    pub binds: Vec<String>,
    /// `--volumes-from` values.
    #[serde(default)]
    pub volumes_from: Vec<String>,
    /// `--mount` values as text (records written before `host_mounts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_flags: Vec<String>,
    /// `--mount`s, as `HostConfig.Mounts` shows them.
    #[serde(default)]
    pub host_mounts: Vec<super::MountView>,
    /// `--network`: `bridge`, `none`, `host` or `container:<name|id>`.
    #[serde(default)]
    pub network_mode: String,
    /// The ports asked for (`-p`, `-P`); host port 0 is chosen at start.
    #[serde(default)]
    pub publish: Vec<libnet::nat::PortMapping>,
    /// What its primary network gave it.
    #[serde(default)]
    pub network: super::container_network::NetworkState,
    /// The other networks it is connected to (`network connect`), by name.
    #[serde(default)]
    pub extra_networks: std::collections::BTreeMap<String, super::container_network::NetworkState>,
    /// Its links, as Docker records them (`/target:/name/alias`).
    #[serde(default)]
    pub links: Vec<String>,
    /// `--device` values.
    #[serde(default, deserialize_with = "super::hostconfig::compat::devices")]
    pub devices: Vec<super::DeviceMapping>,
    /// `--init`.
    #[serde(default)]
    pub init: bool,
    /// `--restart`.
    #[serde(default)]
    pub restart_policy: libruntime::RestartPolicy,
    /// The host-config flags of `run`/`create` (capabilities, security options, tmpfs,
    /// ulimits, ...), as `inspect` shows them.
    #[serde(default)]
    pub host: super::HostConfig,
    /// `--add-host`.
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    /// `--dns`.
    #[serde(default)]
    pub dns: Vec<String>,
    /// `--dns-search`.
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    #[serde(default)]
    pub dns_options: Vec<String>,
}

/// A container [`Engine::restart_policy_sweep`] started again (its ID), or failed to.
pub type Restarted = (String, Result<(), Error>);

/// A file's identity and version: replaced (new inode) or rewritten (size, times) files
/// differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileKey {
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileKey {
    fn of(path: &std::path::Path) -> Option<FileKey> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileKey {
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            ctime_ns: m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128,
        })
    }

    /// Whether the file was last changed long enough ago that a later change cannot
    /// carry the same key: file times advance in clock ticks (milliseconds), and a
    /// replaced file's inode number can be reused at once, so a file changed within the
    /// last 100 ms is read again rather than trusted.
    fn settled(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        now - self.mtime_ns.max(self.ctime_ns) > 100_000_000
    }
}

/// What [`Engine`] keeps parsed (see its `parsed` field).
#[derive(Default)]
pub(crate) struct ParsedCache {
    records: std::collections::HashMap<PathBuf, (FileKey, ContainerRecord)>,
    resources: std::collections::HashMap<String, (FileKey, serde_json::Value)>,
}

/// A container's status, as Docker names it (`State.Status`, `ps --filter status=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// Created, never started (or its program could not start).
    Created,
    /// Its program runs.
    Running,
    /// Its program runs, frozen.
    Paused,
    /// Its restart policy will run it again after a delay.
    Restarting,
    /// Being removed.
    Removing,
    /// Its program ended.
    Exited,
    /// Could not be removed completely.
    Dead,
}

impl ContainerStatus {
    /// Docker's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Restarting => "restarting",
            ContainerStatus::Removing => "removing",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Dead => "dead",
        }
    }

    /// Parses Docker's word (as `ps --filter status=` takes it).
    pub fn parse(s: &str) -> Option<Self> {
        [
            ContainerStatus::Created,
            ContainerStatus::Running,
            ContainerStatus::Paused,
            ContainerStatus::Restarting,
            ContainerStatus::Removing,
            ContainerStatus::Exited,
            ContainerStatus::Dead,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state `ps` and `inspect` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// Docker's status.
    pub status: ContainerStatus,
    /// Whether the program runs (also while paused, as Docker says).
    pub running: bool,
    /// Whether it is paused (frozen).
    pub paused: bool,
    /// Whether its restart policy runs it again after a delay (Docker counts it as
    /// running then; `running` here says whether a program runs).
    pub restarting: bool,
    /// How often its restart policy ran it again since its last start.
    pub restart_count: u32,
    /// Whether the OOM killer killed a process of it.
    pub oom_killed: bool,
    /// Its exit code once exited.
    pub exit_code: Option<i32>,
    /// Why it could not run.
    pub error: Option<String>,
    /// The host PID of its main process while it runs, else 0.
    pub pid: i32,
    /// When its program last started (nanoseconds since the epoch).
    pub started_ns: Option<u64>,
    /// When its program last ended.
    pub finished_ns: Option<u64>,
}

impl Engine {
    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.config.root.join("containers").join(id)
    }

    /// A container's record from its file, parsed again only when the file changed.
    fn record_at(&self, path: &std::path::Path) -> Option<ContainerRecord> {
        let key = FileKey::of(path)?;
        let settled = key.settled();
        if settled {
            if let Some((k, r)) = self.parsed.lock().expect("cache").records.get(path) {
                if *k == key {
                    return Some(r.clone());
                }
            }
        }
        let data = std::fs::read(path).ok()?;
        let r = serde_json::from_slice::<ContainerRecord>(&data).ok()?;
        // Kept only if the file is still the one read.
        if settled && FileKey::of(path) == Some(key) {
            self.parsed
                .lock()
                .expect("cache")
                .records
                .insert(path.to_path_buf(), (key, r.clone()));
        }
        Some(r)
    }

    /// Every container record.
    pub fn containers(&self) -> Result<Vec<ContainerRecord>, Error> {
        let dir = self.config.root.join("containers");
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io("read", &dir, e))? {
            let e = e.map_err(|e| Error::io("read", &dir, e))?;
            let path = e.path().join("config.v2.json");
            if let Some(r) = self.record_at(&path) {
                out.push(r);
                seen.insert(path);
            }
        }
        // Forget removed containers.
        self.parsed
            .lock()
            .expect("cache")
            .records
            .retain(|p, _| seen.contains(p));
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// Finds a container by name, full ID or unique ID prefix.
    pub fn container(&self, name: &str) -> Result<ContainerRecord, Error> {
        let name = name.strip_prefix('/').unwrap_or(name);
        // A full ID: its record alone.
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Some(r) = self.record_at(&self.container_dir(name).join("config.v2.json")) {
                return Ok(r);
            }
        }
        let all = self.containers()?;
        if let Some(c) = all.iter().find(|c| c.id == name || c.name == name) {
            return Ok(c.clone());
        }
        let mut m = all
            .iter()
            .filter(|c| !name.is_empty() && c.id.starts_with(name));
        match (m.next(), m.next()) {
            (Some(c), None) => Ok(c.clone()),
            (Some(_), Some(_)) => Err(Error::Conflict(format!(
                "multiple IDs found with provided prefix: {name}"
            ))),
            _ => Err(Error::NoSuchContainer(name.to_string())),
        }
    }

    /// A container's state from its runtime record.
    pub fn container_state(&self, c: &ContainerRecord) -> Result<ContainerState, Error> {
        match self.runtime.get(&c.id).and_then(|r| r.state()) {
            Ok(s) => {
                let running = s.status == libruntime::Status::Running;
                let paused = running
                    && self
                        .runtime
                        .get(&c.id)
                        .map(|r| r.is_paused())
                        .unwrap_or(false);
                Ok(ContainerState {
                    status: match s.status {
                        libruntime::Status::Created => ContainerStatus::Created,
                        libruntime::Status::Running if paused => ContainerStatus::Paused,
                        libruntime::Status::Running => ContainerStatus::Running,
                        libruntime::Status::Restarting => ContainerStatus::Restarting,
                        libruntime::Status::Stopped => ContainerStatus::Exited,
                    },
                    running,
                    paused,
                    restarting: s.status == libruntime::Status::Restarting,
                    restart_count: s.restart_count,
                    oom_killed: s.oom_killed,
                    exit_code: s.exit_code,
                    error: s.error,
                    pid: if running { s.pid } else { 0 },
                    started_ns: s.started_ns,
                    finished_ns: s.finished_ns,
                })
            }
            // Run-time state is gone (a reboot): the container is exited.
            Err(_) => Ok(ContainerState {
                status: ContainerStatus::Exited,
                running: false,
                paused: false,
                restarting: false,
                restart_count: 0,
                oom_killed: false,
                exit_code: None,
                error: None,
                pid: 0,
                started_ns: None,
                finished_ns: None,
            }),
        }
    }

    /// Pauses (`true`) or unpauses a running container, with Docker's messages.
    pub fn pause_container(&self, name: &str, pause: bool) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        let st = self.container_state(&c)?;
        // Docker checks "paused" first when unpausing.
        if !pause && !st.paused {
            return Err(Error::Conflict(format!("Container {} is not paused", c.id)));
        }
        if st.restarting {
            return Err(Error::Conflict(format!(
                "Container {} is restarting, wait until the container is running",
                c.id
            )));
        }
        if !st.running {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        if pause && st.paused {
            return Err(Error::Conflict(format!(
                "Container {} is already paused",
                c.id
            )));
        }
        if !pause && !st.paused {
            return Err(Error::Conflict(format!("Container {} is not paused", c.id)));
        }
        let rc = self.runtime.get(&c.id)?;
        if pause {
            rc.pause()?;
        } else {
            rc.resume()?;
        }
        self.emit_container(if pause { "pause" } else { "unpause" }, &c, &[]);
        Ok(c)
    }

    /// What changed in a container's file system (`docker diff`), sorted by path.
    pub fn container_changes(&self, name: &str) -> Result<Vec<libimage::tree::Change>, Error> {
        let c = self.container(name)?;
        Ok(self.images.changes(&c.snapshot)?)
    }

    /// Writes a container's file system as a tar stream (`docker export`).
    pub fn export_container(&self, name: &str, out: &mut dyn std::io::Write) -> Result<(), Error> {
        let c = self.container(name)?;
        Ok(self.images.export_snapshot(&c.snapshot, out)?)
    }

    /// Renames a container (`docker rename`), with Docker's checks.
    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<(), Error> {
        let _g = self.containers_lock()?;
        let mut c = self.container(name)?;
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
        if !super::names::valid(new_name) {
            return Err(Error::InvalidConfig(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if c.name == new_name {
            return Err(Error::InvalidConfig(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        if let Some(other) = self.containers()?.iter().find(|x| x.name == new_name) {
            return Err(Error::Conflict(format!(
                "Error when allocating new name: Conflict. The container name \"/{new_name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                other.id
            )));
        }
        let old = std::mem::replace(&mut c.name, new_name.to_string());
        self.write_record(&c)?;
        self.emit_container("rename", &c, &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// Writes a container's record as it is (crash-consistently). Only for a caller that
    /// holds the containers lock (see [`Engine::update_record`]).
    pub(crate) fn write_record(&self, c: &ContainerRecord) -> Result<(), Error> {
        let path = self.container_dir(&c.id).join("config.v2.json");
        let data = serde_json::to_vec_pretty(c).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        libimage::fsutil::write_atomic(&path, &data)?;
        Ok(())
    }

    /// The containers lock: serialises every change of container records (names, and
    /// every read-modify-write) across the threads and processes on this data root.
    pub(crate) fn containers_lock(&self) -> Result<libimage::fsutil::LockGuard, Error> {
        Ok(libimage::fsutil::LockGuard::lock(
            &self.config.root.join("containers.lock"),
        )?)
    }

    /// The one way to change a stored container record: under the containers lock, the
    /// record is read afresh, `change` edits it, and it is written back atomically, so two
    /// processes changing one container never lose each other's update. Returns the
    /// record as written. (Lock order: the network lock, when held, comes first.)
    pub(crate) fn update_record<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord) -> Result<T, Error>,
    ) -> Result<(ContainerRecord, T), Error> {
        let _g = self.containers_lock()?;
        let mut c = self.record_by_id(id)?;
        let out = change(&mut c)?;
        self.write_record(&c)?;
        Ok((c, out))
    }

    /// The stored record of the container with exactly this ID.
    pub(crate) fn record_by_id(&self, id: &str) -> Result<ContainerRecord, Error> {
        let path = self.container_dir(id).join("config.v2.json");
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoSuchContainer(id.to_string()))
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        serde_json::from_slice(&data)
            .map_err(|e| Error::InvalidConfig(format!("{}: {e}", path.display())))
    }

    /// A container that must be running, with its runtime handle (Docker's "is not
    /// running" otherwise).
    pub(crate) fn running_container(
        &self,
        name: &str,
    ) -> Result<(ContainerRecord, libruntime::Container), Error> {
        let c = self.container(name)?;
        let not_running = || Error::Conflict(format!("Container {} is not running", c.id));
        let rc = self.runtime.get(&c.id).map_err(|_| not_running())?;
        match rc.state()?.status {
            libruntime::Status::Running => {}
            libruntime::Status::Restarting => {
                return Err(Error::Conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    c.id
                )))
            }
            _ => return Err(not_running()),
        }
        Ok((c, rc))
    }

    /// Records (or clears) that the user stopped a container (Docker's
    /// `HasBeenManuallyStopped`): an `unless-stopped` container so stopped is not started
    /// again when the daemon starts.
    pub(crate) fn mark_stopped_by_user(&self, id: &str, stopped: bool) {
        let marker = self.container_dir(id).join("stopped-by-user");
        if stopped {
            let _ = std::fs::write(marker, b"");
        } else {
            let _ = std::fs::remove_file(marker);
        }
    }

    /// Starts again the containers whose restart policy says so and whose program is not
    /// running, as Docker's daemon does when it starts (after a reboot, or after their
    /// monitors were killed): `always` ones, `unless-stopped` ones the user did not stop,
    /// and `on-failure` ones that failed. Returns the IDs started, and the failures.
    pub fn restart_policy_sweep(&self) -> Result<Vec<Restarted>, Error> {
        let mut out = Vec::new();
        for c in self.containers()? {
            let st = self.container_state(&c)?;
            if st.running || st.restarting || st.status != ContainerStatus::Exited {
                continue;
            }
            let by_user = self.container_dir(&c.id).join("stopped-by-user").exists();
            let again = match &c.restart_policy {
                libruntime::RestartPolicy::Always => true,
                libruntime::RestartPolicy::UnlessStopped => !by_user,
                libruntime::RestartPolicy::OnFailure { .. } => {
                    !by_user && st.exit_code.unwrap_or(0) != 0
                }
                _ => false,
            };
            if again {
                let r = self.start_container(&c.id).map(|_| ());
                out.push((c.id.clone(), r));
            }
        }
        Ok(out)
    }

    /// Sends a signal to a running container (`docker kill`).
    /// A signal that stops it (SIGKILL, its stop signal) is a stop on purpose: its restart
    /// policy ends; a restarting container just stops, as Docker's does.
    pub fn kill_container(&self, name: &str, signal: i32) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        if let Ok(rc) = self.runtime.get(&c.id) {
            if rc.state()?.status == libruntime::Status::Restarting {
                rc.cancel_restart()?;
                wait_stopped(&rc)?;
                self.emit_container("kill", &c, &[("signal", signal.to_string())]);
                return Ok(c);
            }
        }
        let (c, rc) = self.running_container(name)?;
        if signal == libc::SIGKILL || Some(signal) == self.stop_signal(&c)? {
            rc.cancel_restart()?;
            self.mark_stopped_by_user(&c.id, true);
        }
        rc.kill(signal)?;
        self.emit_container("kill", &c, &[("signal", signal.to_string())]);
        Ok(c)
    }

    /// Stops a container (`docker stop`): its stop signal (SIGTERM by default), then SIGKILL
    /// after `timeout` seconds (by default its `--stop-timeout`, else 10; negative waits
    /// for ever). Stopping a stopped container is not an error.
    pub fn stop_container(
        &self,
        name: &str,
        timeout: Option<i64>,
    ) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        self.mark_stopped_by_user(&c.id, true);
        let timeout = match timeout.or(c.config.stop_timeout).unwrap_or(10) {
            t if t < 0 => None,
            t => Some(t as u64),
        };
        let Ok(rc) = self.runtime.get(&c.id) else {
            return Ok(c);
        };
        match rc.state()?.status {
            libruntime::Status::Running => {}
            libruntime::Status::Restarting => {
                rc.cancel_restart()?;
                wait_stopped(&rc)?;
                self.emit_container("stop", &c, &[]);
                return Ok(c);
            }
            _ => return Ok(c),
        }
        let sig = self.stop_signal(&c)?.unwrap_or(libc::SIGTERM);
        rc.cancel_restart()?;
        let _ = rc.kill(sig);
        self.emit_container("kill", &c, &[("signal", sig.to_string())]);
        let deadline =
            timeout.map(|t| std::time::Instant::now() + std::time::Duration::from_secs(t));
        while deadline.is_none_or(|d| std::time::Instant::now() < d) {
            if rc.state()?.status == libruntime::Status::Stopped {
                self.emit_container("stop", &c, &[]);
                return Ok(c);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = rc.kill(libc::SIGKILL);
        self.emit_container("kill", &c, &[("signal", libc::SIGKILL.to_string())]);
        rc.wait()?;
        self.emit_container("stop", &c, &[]);
        Ok(c)
    }

    /// Removes a container: its runtime state (killing it with `force`), its snapshot and
    /// its record. Refuses a running container without `force`, with Docker's message.
    pub fn remove_container(&self, name: &str, force: bool) -> Result<ContainerRecord, Error> {
        self.remove_container_with(name, force, false)
    }

    /// [`Engine::remove_container`], with `volumes` also removing its anonymous volumes
    /// that no other container uses (`rm -v`).
    pub fn remove_container_with(
        &self,
        name: &str,
        force: bool,
        volumes: bool,
    ) -> Result<ContainerRecord, Error> {
        let c = self.container(name)?;
        // One removal at a time; the others get Docker's answer.
        let _removing = removal_lock(&self.container_dir(&c.id), name)?;
        if let Ok(rc) = self.runtime.get(&c.id) {
            let st = rc.state()?;
            let what = match st.status {
                libruntime::Status::Running => "running",
                libruntime::Status::Restarting => "restarting",
                _ => "",
            };
            if !what.is_empty() && !force {
                return Err(Error::Conflict(format!(
                    "You cannot remove a {what} container {}. Stop the container before attempting removal or force remove",
                    c.id
                )));
            }
            rc.delete(force)?;
        }
        // The port rules' removal runs while the snapshot goes.
        let pending = self.begin_unpublish(&c)?;
        match self.images.snapshotter().remove(&c.snapshot) {
            Ok(()) => {}
            Err(e) if e.kind() == libimage::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = self.detach_network(&c, pending);
                return Err(e.into());
            }
        }
        self.detach_network(&c, pending)?;
        let dir = self.container_dir(&c.id);
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", &dir, e))?;
        self.emit_container("destroy", &c, &[]);
        if volumes {
            self.remove_anonymous_volumes(&c)?;
        }
        Ok(c)
    }
}

/// An exclusive `flock` on a container's directory while it is removed (it goes with
/// the directory): a second removal is refused at once, as Docker refuses it, and one
/// that finds the directory removed meanwhile finds no container.
fn removal_lock(dir: &std::path::Path, name: &str) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::MetadataExt;
    let f = match std::fs::File::open(dir) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoSuchContainer(name.to_string()))
        }
        Err(e) => return Err(Error::io("open", dir, e)),
    };
    // SAFETY: flock on an fd we own; released when it closes.
    if unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    } != 0
    {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(Error::RemovalInProgress(name.to_string()));
        }
        return Err(Error::io("lock", dir, e));
    }
    // The previous holder removed it: no links left.
    if f.metadata().map_err(|e| Error::io("stat", dir, e))?.nlink() == 0 {
        return Err(Error::NoSuchContainer(name.to_string()));
    }
    Ok(f)
}

/// Waits until a container whose restart was cancelled has stopped.
fn wait_stopped(rc: &libruntime::Container) -> Result<(), Error> {
    while rc.state()?.status != libruntime::Status::Stopped {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

/// Parses `SIGTERM`, `TERM`, `term` or `15`.
pub fn parse_signal(s: &str) -> Result<i32, Error> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "CHLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return Err(Error::InvalidConfig(format!("Invalid signal: {s}"))),
    };
    Ok(n)
}

impl Engine {
    /// Commits a container's changes as a new image (`docker commit`): its writable layer
    /// on its image, its config with `changes` applied. With `pause`, a running container
    /// is frozen meanwhile (Docker's default), so the layer is consistent.
    pub fn commit_container(
        &self,
        name: &str,
        reference: Option<&str>,
        author: &str,
        message: &str,
        changes: &[String],
        pause: bool,
    ) -> Result<libimage::image::ImageRecord, Error> {
        let c = self.container(name)?;
        let reference = reference
            .map(libimage::reference::Reference::parse)
            .transpose()?;
        let base = self.images.resolve(&c.image_id)?;
        let rc = self.runtime.get(&c.id).ok().filter(|r| {
            r.state()
                .is_ok_and(|s| s.status == libruntime::Status::Running)
        });
        // Frozen only while this process lives: a commit killed meanwhile leaves the
        // container to be thawed by the next command that looks at it.
        let froze = match &rc {
            Some(r) if pause && !r.is_paused() => {
                r.pause_while_alive()?;
                true
            }
            _ => false,
        };
        if froze
            && std::env::var_os("MINISTRY_FAILPOINT").is_some_and(|v| v == "commit-after-pause")
        {
            // Test hook: wait here, the container frozen, to be killed.
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
        let created_by = std::iter::once(c.path.clone())
            .chain(c.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let result = self.images.commit(
            &c.snapshot,
            &base,
            &libimage::service::CommitOptions {
                reference,
                author: author.to_string(),
                comment: message.to_string(),
                config: c.config.clone(),
                changes: changes.to_vec(),
                container: c.id.clone(),
                created_by,
                ..Default::default()
            },
        );
        if froze {
            if let Some(r) = &rc {
                r.resume()?;
            }
        }
        let img = result?;
        self.emit_container(
            "commit",
            &c,
            &[
                ("comment", message.to_string()),
                ("imageID", img.id.to_string()),
            ],
        );
        Ok(img)
    }
}

impl Engine {
    /// A container's `linux.resources` (from its saved spec).
    pub fn container_resources(&self, c: &ContainerRecord) -> serde_json::Value {
        let path = self.container_dir(&c.id).join("spec.json");
        let Some(key) = FileKey::of(&path) else {
            return serde_json::Value::Null;
        };
        if let Some((k, v)) = self.parsed.lock().expect("cache").resources.get(&c.id) {
            if *k == key && key.settled() {
                return v.clone();
            }
        }
        let v = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map(|v| v["linux"]["resources"].clone())
            .unwrap_or(serde_json::Value::Null);
        let mut cache = self.parsed.lock().expect("cache");
        if cache.resources.len() > 4096 {
            cache.resources.clear();
        }
        cache.resources.insert(c.id.clone(), (key, v.clone()));
        v
    }

    /// The signal `stop` sends first (`--stop-signal`, the image's `StopSignal`), if set.
    fn stop_signal(&self, c: &ContainerRecord) -> Result<Option<i32>, Error> {
        c.config
            .stop_signal
            .as_deref()
            .map(parse_signal)
            .transpose()
    }

    /// Replaces a container's restart policy (`docker update --restart`): recorded for its
    /// next starts, and applied by its monitor at the program's next exit.
    pub fn set_restart_policy(
        &self,
        name: &str,
        policy: libruntime::RestartPolicy,
    ) -> Result<(), Error> {
        let id = self.container(name)?.id;
        let (c, ()) = self.update_record(&id, |c| {
            if c.auto_remove && policy != libruntime::RestartPolicy::No {
                return Err(Error::InvalidConfig(format!(
                    "Cannot update container {}: Restart policy cannot be updated because AutoRemove is enabled for the container",
                    c.id
                )));
            }
            c.restart_policy = policy;
            Ok(())
        })?;
        if let Ok(rc) = self.runtime.get(&c.id) {
            if rc.state()?.status != libruntime::Status::Stopped {
                rc.set_restart_policy(policy)?;
            }
        }
        Ok(())
    }

    /// Changes a container's resource limits (`docker update`: `-m`, `--memory-swap`,
    /// `--cpus`, `-c`, `--cpuset-cpus`, `--pids-limit`): saved for its next starts and
    /// applied to its cgroup now if it runs.
    pub fn update_container(&self, name: &str, h: &super::HostConfig) -> Result<(), Error> {
        let c = self.container(name)?;
        // The saved spec is read, changed and written under the containers lock, so two
        // updates at once never lose one.
        let _g = self.containers_lock()?;
        let spec_path = self.container_dir(&c.id).join("spec.json");
        let data = std::fs::read(&spec_path).map_err(|e| Error::io("read", &spec_path, e))?;
        let mut spec: serde_json::Value =
            serde_json::from_slice(&data).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut res = spec["linux"]["resources"].clone();
        if res.is_null() {
            res = serde_json::json!({});
        }
        // A new memory limit without a swap limit keeps the swap limit, which it must not
        // exceed (none set counts as exceeded), as Docker's daemon rules.
        let mut h = h.clone();
        if let (Some(m), None) = (h.memory, h.memory_swap) {
            let swap = res["memory"]["swap"].as_i64().unwrap_or(0);
            if m > 0 && (swap == 0 || (swap > 0 && m > swap)) {
                return Err(Error::InvalidConfig(format!(
                    "Cannot update container {}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
                    c.id
                )));
            }
            h.memory_swap = Some(swap);
        }
        super::hostconfig::set_resources(&mut res, &h)?;
        // The device allowlist does not change with `update`.
        let mut changed = res.clone();
        if let Some(o) = changed.as_object_mut() {
            o.remove("devices");
        }
        let typed: oci_spec::runtime::LinuxResources =
            serde_json::from_value(changed).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        if self.is_running_id(&c.id) {
            self.runtime.get(&c.id)?.update(&typed)?;
        }
        spec["linux"]["resources"] = res;
        let data = serde_json::to_vec(&spec).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        libimage::fsutil::write_atomic(&spec_path, &data)?;
        self.emit_container("update", &c, &[]);
        Ok(())
    }
}
