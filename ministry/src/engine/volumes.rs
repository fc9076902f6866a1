//! Volumes for containers: `-v`, `--mount`, `--volumes-from` and the image's `VOLUME`s
//! resolved into mount points (volumes created and filled from the image on first use),
//! and the volume commands with Docker's in-use rules.

use libimage::image::ContainerConfig;
use libvolume::{MountPoint, MountSpec, MountType, Volume};

use super::containers::ContainerRecord;
use super::{Engine, Error, RunOptions};

/// What a container's mount flags resolved to.
pub(crate) struct ResolvedMounts {
    /// The container's mounts, in mounting order.
    pub mounts: Vec<MountPoint>,
    /// Anonymous volumes made for it (removed again if the create fails).
    pub made: Vec<String>,
}

/// Docker's `--volumes-from ctr[:ro|:rw]`: (container, read-only override).
fn parse_volumes_from(s: &str) -> Result<(&str, Option<bool>), Error> {
    match s.rsplit_once(':') {
        Some((c, "ro")) => Ok((c, Some(true))),
        Some((c, "rw")) => Ok((c, Some(false))),
        Some((_, m)) => Err(Error::InvalidConfig(format!("invalid mode: {m}"))),
        None => Ok((s, None)),
    }
}

impl Engine {
    /// The volumes passing Docker's `volume ls` filters (`dangling`, `name`, `label`,
    /// `driver`; values of one key OR, keys AND), refusing unknown ones as Docker does.
    pub fn list_volumes(&self, filters: &[String]) -> Result<Vec<libvolume::Volume>, Error> {
        let mut parsed = Vec::new();
        for f in filters {
            let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
            if !matches!(k, "dangling" | "name" | "label" | "driver") {
                return Err(Error::InvalidConfig(format!("Invalid filter '{k}'")));
            }
            if k == "dangling" && !matches!(v, "true" | "false" | "1" | "0") {
                return Err(Error::InvalidConfig(format!(
                    "Invalid filter 'dangling={v}'"
                )));
            }
            parsed.push((k, v));
        }
        let mut vols = Vec::new();
        for v in self.volumes.list()? {
            let mut keep = true;
            for (k, want) in &parsed {
                keep &= match *k {
                    "dangling" => {
                        self.volume_users(&v.name)?.is_empty() == matches!(*want, "true" | "1")
                    }
                    "name" => v.name.contains(want),
                    "driver" => v.driver == *want,
                    _ => match want.split_once('=') {
                        Some((lk, lv)) => v.labels.get(lk).is_some_and(|x| x == lv),
                        None => v.labels.contains_key(*want),
                    },
                };
            }
            if keep {
                vols.push(v);
            }
        }
        Ok(vols)
    }

    /// The volume store.
    pub fn volumes(&self) -> &libvolume::VolumeStore {
        &self.volumes
    }

    /// The IDs of the containers (running or not) that mount a volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .containers()?
            .into_iter()
            .filter(|c| {
                c.mounts
                    .iter()
                    .any(|m| m.kind == MountType::Volume && m.name == name)
            })
            .map(|c| c.id)
            .collect())
    }

    /// Removes a volume unless a container uses it (Docker's `volume rm`).
    pub fn remove_volume(&self, name: &str) -> Result<(), Error> {
        self.volumes.get(name)?;
        let users = self.volume_users(name)?;
        if !users.is_empty() {
            return Err(libvolume::Error::InUse {
                name: name.to_string(),
                users,
            }
            .into());
        }
        self.volumes.remove(name)?;
        self.object_event(
            super::EventType::Volume,
            "destroy",
            name,
            &[("driver", "local")],
        );
        Ok(())
    }

    /// Removes the volumes no container uses: anonymous ones, or all with `all`. Returns
    /// their names and the bytes freed.
    pub fn prune_volumes(&self, all: bool) -> Result<(Vec<String>, u64), Error> {
        let (mut names, mut freed) = (Vec::new(), 0);
        for v in self.volumes.list()? {
            if !(all || v.anonymous) || !self.volume_users(&v.name)?.is_empty() {
                continue;
            }
            let size = self.volumes.size(&v.name).unwrap_or(0);
            match self.volumes.remove(&v.name) {
                Ok(()) => {
                    freed += size;
                    names.push(v.name);
                }
                Err(e) if e.kind() == libvolume::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((names, freed))
    }

    /// Removes the anonymous volumes of a removed container that no other container uses
    /// (`rm -v`, `run --rm`).
    pub(crate) fn remove_anonymous_volumes(&self, c: &ContainerRecord) -> Result<(), Error> {
        for m in c.mounts.iter().filter(|m| m.kind == MountType::Volume) {
            let anonymous = matches!(
                self.volumes.get(&m.name),
                Ok(Volume {
                    anonymous: true,
                    ..
                })
            );
            if anonymous && self.volume_users(&m.name)?.is_empty() {
                match self.volumes.remove(&m.name) {
                    Err(e) if e.kind() != libvolume::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Makes every volume of a container ready (driver-backed ones mounted on the host), as
    /// each start needs after a reboot.
    pub(crate) fn prepare_volumes(&self, c: &ContainerRecord) -> Result<(), Error> {
        for m in c.mounts.iter().filter(|m| m.kind == MountType::Volume) {
            self.volumes.mount(&m.name)?;
        }
        Ok(())
    }

    /// Resolves a new container's mounts: `-v` and `--mount` first, then `--volumes-from`
    /// and the image's `VOLUME`s where those left a destination free. New volumes are
    /// filled from the image's content at their destination (read from `snapshot`) unless
    /// `nocopy` was asked.
    pub(crate) fn resolve_mounts(
        &self,
        o: &RunOptions,
        cfg: &ContainerConfig,
        snapshot: &str,
    ) -> Result<ResolvedMounts, Error> {
        let mut specs: Vec<MountSpec> = Vec::new();
        let parsed = o
            .volumes
            .iter()
            .map(|v| libvolume::parse_volume_flag(v))
            .chain(o.mounts.iter().map(|m| Ok(m.clone())));
        for s in parsed {
            let s = s?;
            if specs.iter().any(|x| x.target == s.target) {
                return Err(Error::InvalidConfig(format!(
                    "Duplicate mount point: {}",
                    s.target
                )));
            }
            specs.push(s);
        }
        let taken = |mounts: &[MountPoint], specs: &[MountSpec], dest: &str| {
            specs.iter().any(|s| s.target == dest) || mounts.iter().any(|m| m.destination == dest)
        };
        let mut out = ResolvedMounts {
            mounts: Vec::new(),
            made: Vec::new(),
        };
        let result = (|| {
            for from in &o.volumes_from {
                let (name, ro) = parse_volumes_from(from)?;
                let other = self.container(name)?;
                for m in other.mounts.iter().filter(|m| m.kind != MountType::Tmpfs) {
                    if taken(&out.mounts, &specs, &m.destination) {
                        continue;
                    }
                    let mut m = m.clone();
                    if let Some(ro) = ro {
                        m.rw = !ro;
                        m.mode = String::new();
                    }
                    if m.kind == MountType::Volume {
                        self.volumes.mount(&m.name)?;
                    }
                    out.mounts.push(m);
                }
            }
            let image_volumes: Vec<String> = cfg
                .volumes
                .as_ref()
                .map(|v| v.keys().cloned().collect())
                .unwrap_or_default();
            for dest in image_volumes {
                if !taken(&out.mounts, &specs, &dest) {
                    specs.push(libvolume::parse_volume_flag(&dest)?);
                }
            }
            for s in &specs {
                let m = self.mount_point(s, snapshot, &mut out.made)?;
                out.mounts.push(m);
            }
            libvolume::sort_for_mounting(&mut out.mounts);
            Ok(())
        })();
        if let Err(e) = result {
            for v in &out.made {
                let _ = self.volumes.remove(v);
            }
            return Err(e);
        }
        Ok(out)
    }

    fn mount_point(
        &self,
        s: &MountSpec,
        snapshot: &str,
        made: &mut Vec<String>,
    ) -> Result<MountPoint, Error> {
        let mut mp = MountPoint {
            kind: s.kind,
            name: String::new(),
            source: String::new(),
            destination: s.target.clone(),
            driver: String::new(),
            mode: s.mode.clone(),
            rw: !s.readonly,
            propagation: s.propagation.clone(),
            tmpfs_options: s.tmpfs_options.clone(),
        };
        match s.kind {
            MountType::Tmpfs => {}
            MountType::Bind => {
                let src = std::path::Path::new(&s.source);
                if std::fs::symlink_metadata(src).is_err() {
                    if !s.from_volume_flag {
                        return Err(Error::InvalidConfig(format!(
                            "invalid mount config for type \"bind\": bind source path does not exist: {}",
                            s.source
                        )));
                    }
                    // Docker's `-v` creates a missing host directory.
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .create(src)
                        .map_err(|e| Error::io("create", src, e))?;
                }
                mp.source = s.source.clone();
            }
            MountType::Volume => {
                let (v, new) = self.volumes.create(&libvolume::CreateOptions {
                    name: (!s.source.is_empty()).then(|| s.source.clone()),
                    driver: None,
                    labels: s.volume_labels.clone(),
                    options: s.volume_options.clone(),
                })?;
                if new {
                    // Docker records a volume that `run` creates, named or anonymous.
                    self.object_event(
                        super::EventType::Volume,
                        "create",
                        &v.name,
                        &[("driver", &v.driver)],
                    );
                }
                if new && v.anonymous {
                    made.push(v.name.clone());
                }
                let src = self.volumes.mount(&v.name)?;
                if !s.nocopy && self.volumes.is_empty(&v.name)? {
                    self.images.copy_dir_out(snapshot, &s.target, &src)?;
                }
                mp.name = v.name;
                mp.driver = v.driver;
                mp.source = src.to_string_lossy().into_owned();
            }
        }
        Ok(mp)
    }
}
