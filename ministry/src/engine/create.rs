//! Creating a container, in three steps: its OCI spec and Docker config from the image
//! and the options (`container_spec`), its record (`container_record`), and the wiring
//! (name claim, links, saved spec, runtime container, networks: `wire_container`).

use libimage::fsutil::write_atomic;
use libimage::image::ContainerConfig;
use libruntime::{docker_default, ContainerStdio};

use super::containers::ContainerRecord;
use super::run::{command, config_env, environment, hex, publish_ports, random_bytes, RunOptions};
use super::{Engine, Error};

/// What building a container's spec decided, for its record.
pub(super) struct SpecParts {
    network_mode: String,
    publish: Vec<libnet::nat::PortMapping>,
    aliases: Vec<String>,
    mounts: Vec<libvolume::MountPoint>,
}

impl Engine {
    /// Creates a container (`docker create`): a snapshot on the image, the record, and a
    /// runtime container waiting for [`Engine::start_container`]. Its output goes to its
    /// log only (`<root>/containers/<id>/<id>-json.log`, Docker's json-file, read with
    /// [`Engine::logs`]); its stdin is empty.
    pub fn create_container(&self, o: &RunOptions) -> Result<ContainerRecord, Error> {
        self.create_inner(o, ContainerStdio::default(), false)
    }

    /// [`Engine::create_container`] attached to `stdio` (an attached `docker run`): the
    /// program reads `stdio`'s stdin, and its output is logged and also copied to
    /// `stdio`'s stdout and stderr.
    pub fn create_attached(
        &self,
        o: &RunOptions,
        stdio: ContainerStdio,
    ) -> Result<ContainerRecord, Error> {
        self.create_inner(o, stdio, true)
    }

    /// [`Engine::create_container`] with the program's stdin (and stdout/stderr, for
    /// what the log does not take) from `stdio`, its output logged only.
    pub fn create_with_stdio(
        &self,
        o: &RunOptions,
        stdio: ContainerStdio,
    ) -> Result<ContainerRecord, Error> {
        self.create_inner(o, stdio, false)
    }

    /// Creates the container; with `forward` its output is also copied to `stdio`.
    fn create_inner(
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
            let (spec, parts) = self.container_spec(
                o,
                &mut cfg,
                &id,
                &hostname,
                &snapshot,
                &args,
                &mut made_volumes,
            )?;
            let record = container_record(o, &id, &image, &args, cfg, &snapshot, parts);
            self.wire_container(record, o, spec, stdio, forward)
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

    /// The container's OCI spec from the image config and the options (process, user,
    /// terminal, host config, network namespace, name files, mounts), and `cfg` (Docker's
    /// container config) completed as `inspect` shows it. Volumes it had to create are
    /// added to `made_volumes` (removed again if creating the container fails).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn container_spec(
        &self,
        o: &RunOptions,
        cfg: &mut ContainerConfig,
        id: &str,
        hostname: &str,
        snapshot: &str,
        args: &[String],
        made_volumes: &mut Vec<String>,
    ) -> Result<(oci_spec::runtime::Spec, SpecParts), Error> {
        let user_spec = o.user.clone().unwrap_or_else(|| cfg.user.clone());
        let u = self.resolve_user(snapshot, &user_spec)?;
        let env = environment(cfg, o, hostname, &u.home);
        let workdir = o
            .workdir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| cfg.working_dir.clone());
        let dir = self.container_dir(id);
        let rootfs = dir.join("rootfs");
        std::fs::DirBuilder::new()
            .recursive(true)
            .create(&rootfs)
            .map_err(|e| Error::io("create", &rootfs, e))?;
        let mut spec = docker_default(
            rootfs
                .to_str()
                .ok_or_else(|| Error::InvalidConfig("data root is not UTF-8".into()))?,
            args,
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
        if !super::container_network::is_bridged(&network_mode) && network_mode != "none" {
            if let Some(s) = o
                .host
                .sysctls
                .iter()
                .find(|(k, _)| k.starts_with("net."))
                .map(|(k, v)| format!("{k}={v}"))
            {
                return Err(Error::InvalidConfig(format!(
                    "sysctl {s:?} is not allowed with --network {network_mode}: it would change the host's (or another container's) network"
                )));
            }
        }
        let publish = publish_ports(cfg, o, &network_mode)?;
        let aliases = self.check_aliases(&network_mode, &o.network_aliases)?;
        self.name_files(id, hostname, o, &mut spec)?;
        let resolved = self.resolve_mounts(o, cfg, snapshot)?;
        *made_volumes = resolved.made;
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
        spec.set_hostname(Some(hostname.to_string()));
        cfg.hostname = hostname.to_string();
        cfg.env = Some(config_env(cfg.env.as_deref().unwrap_or_default(), &o.env));
        cfg.cmd = Some(if o.cmd.is_empty() {
            cfg.cmd.clone().unwrap_or_default()
        } else {
            o.cmd.clone()
        });
        cfg.image = o.image.clone();
        for (k, v) in &o.labels {
            cfg.labels
                .get_or_insert_with(Default::default)
                .insert(k.clone(), v.clone());
        }
        cfg.working_dir = workdir;
        if let Some(u) = &o.user {
            cfg.user = u.clone();
        }
        if let Some(e) = &o.entrypoint {
            cfg.entrypoint = (!e.is_empty()).then(|| e.clone());
        }
        Ok((
            spec,
            SpecParts {
                network_mode,
                publish,
                aliases,
                mounts: resolved.mounts,
            },
        ))
    }

    /// Claims the container's name and writes its record, adds its links, saves its spec
    /// (to start it again), creates the runtime container and wires its networks.
    pub(super) fn wire_container(
        &self,
        record: ContainerRecord,
        o: &RunOptions,
        mut spec: oci_spec::runtime::Spec,
        stdio: ContainerStdio,
        forward: bool,
    ) -> Result<ContainerRecord, Error> {
        let id = record.id.clone();
        let snapshot = record.snapshot.clone();
        let mut record = self.claim_name(record, o.name.as_deref())?;
        if !o.links.is_empty() {
            self.apply_links(&mut record, &o.links, &mut spec)?;
            let links = record.links.clone();
            self.update_record(&record.id, |r| {
                r.links = links;
                Ok(())
            })?;
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
    }
}

/// The container's record, as `inspect` and later commands read it.
pub(super) fn container_record(
    o: &RunOptions,
    id: &str,
    image: &libimage::image::ImageRecord,
    args: &[String],
    cfg: ContainerConfig,
    snapshot: &str,
    parts: SpecParts,
) -> ContainerRecord {
    ContainerRecord {
        id: id.to_string(),
        name: String::new(),
        image: o.image.clone(),
        image_id: image.id.to_string(),
        created: libimage::time::now(),
        path: args[0].clone(),
        args: args[1..].to_vec(),
        config: cfg,
        snapshot: snapshot.to_string(),
        auto_remove: o.auto_remove,
        restart_policy: o.restart,
        log_max_size: o.log_max_size,
        log_max_files: o.log_max_files.max(1),
        mounts: parts.mounts,
        binds: o
            .volumes
            .iter()
            .filter(|v| libvolume::parse_volume_flag(v).is_ok_and(|s| !s.source.is_empty()))
            .cloned()
            .collect(),
        volumes_from: o.volumes_from.clone(),
        mount_flags: Vec::new(),
        host_mounts: o
            .mounts
            .iter()
            .map(super::inspect::MountView::from)
            .collect(),
        network_mode: parts.network_mode,
        publish: parts.publish,
        network: super::container_network::NetworkState {
            aliases: parts.aliases,
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
    }
}
