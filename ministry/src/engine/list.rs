//! The container list (`docker ps`, `GET /containers/json`): which containers, in
//! which state, passing Docker's filters, computed by the engine.

use super::containers::{ContainerRecord, ContainerState, ContainerStatus};
use super::{Engine, Error};

/// What [`Engine::list_containers`] lists.
#[derive(Debug, Clone, Default)]
pub struct ContainerListOptions {
    /// Stopped ones too (`-a`; implied by `limit` and a `status` filter).
    pub all: bool,
    /// Only the newest this many (`-n`, `-l`).
    pub limit: Option<usize>,
    /// Docker's filters.
    pub filter: ContainerFilter,
}

/// One listed container: its record and its state when listed.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    /// The record.
    pub record: ContainerRecord,
    /// Its state.
    pub state: ContainerState,
}

impl Engine {
    /// The containers `opts` selects, newest first, as `docker ps` lists them.
    pub fn list_containers(
        &self,
        opts: &ContainerListOptions,
    ) -> Result<Vec<ContainerSummary>, Error> {
        let all = opts.all || opts.limit.is_some() || opts.filter.has("status");
        let everything = self.containers()?;
        let mut out = Vec::new();
        for c in &everything {
            if opts.limit.is_some_and(|n| out.len() >= n) {
                break;
            }
            let st = self.container_state(c)?;
            if !all && !st.running && !st.restarting {
                continue;
            }
            if !opts.filter.matches(self, c, &st, &everything)? {
                continue;
            }
            out.push(ContainerSummary {
                record: c.clone(),
                state: st,
            });
        }
        Ok(out)
    }
}

/// `ps --filter` values: the same key ORs, different keys AND (Docker's rule).
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter(pub Vec<(String, Vec<String>)>);

impl ContainerFilter {
    /// Parses `key=value` filters (Docker's keys and refusals).
    pub fn parse(items: &[String]) -> Result<Self, Error> {
        let mut v: Vec<(String, Vec<String>)> = Vec::new();
        for f in items {
            let Some((k, val)) = f.split_once('=') else {
                return Err(Error::InvalidConfig(
                    "bad format of filter (expected name=value)".into(),
                ));
            };
            let k = k.to_ascii_lowercase();
            if !matches!(
                k.as_str(),
                "id" | "name"
                    | "label"
                    | "exited"
                    | "status"
                    | "ancestor"
                    | "before"
                    | "since"
                    | "volume"
                    | "network"
                    | "publish"
                    | "expose"
            ) {
                return Err(Error::InvalidConfig(format!("Invalid filter '{k}'")));
            }
            if k == "status"
                && !matches!(
                    val,
                    "created"
                        | "restarting"
                        | "running"
                        | "removing"
                        | "paused"
                        | "exited"
                        | "dead"
                )
            {
                return Err(Error::InvalidConfig(format!(
                    "Invalid filter 'status={val}'"
                )));
            }
            match v.iter_mut().find(|(x, _)| *x == k) {
                Some((_, vals)) => vals.push(val.to_string()),
                None => v.push((k, vec![val.to_string()])),
            }
        }
        Ok(ContainerFilter(v))
    }

    /// Whether a filter on `k` is given.
    pub fn has(&self, k: &str) -> bool {
        self.0.iter().any(|(x, _)| x == k)
    }

    /// Whether `c` (in state `st`; `all` the containers for `before`/`since`) passes.
    pub fn matches(
        &self,
        engine: &Engine,
        c: &ContainerRecord,
        st: &ContainerState,
        all: &[ContainerRecord],
    ) -> Result<bool, Error> {
        let created_of = |name: &str| -> Result<String, Error> {
            all.iter()
                .find(|x| x.name == name || x.id.starts_with(name))
                .map(|x| x.created.clone())
                .ok_or_else(|| Error::NoSuchContainer(name.to_string()))
        };
        for (k, vals) in &self.0 {
            // Labels are the exception to "one key ORs": each must match (Docker's
            // MatchKVList), as docker-compose relies on (project, service, number).
            if k == "label" {
                let labels = c.config.labels.clone().unwrap_or_default();
                let all_match = vals.iter().all(|v| match v.split_once('=') {
                    Some((lk, lv)) => labels.get(lk).is_some_and(|x| x == lv),
                    None => labels.contains_key(v.as_str()),
                });
                if !all_match {
                    return Ok(false);
                }
                continue;
            }
            let mut any = false;
            for v in vals {
                any |= match k.as_str() {
                    "id" => c.id.starts_with(v.as_str()),
                    "name" => c.name.contains(v.as_str()),
                    "label" => {
                        let labels = c.config.labels.clone().unwrap_or_default();
                        match v.split_once('=') {
                            Some((lk, lv)) => labels.get(lk).is_some_and(|x| x == lv),
                            None => labels.contains_key(v.as_str()),
                        }
                    }
                    "exited" => {
                        st.status == ContainerStatus::Exited
                            && st.exit_code.map(|e| e.to_string()) == Some(v.clone())
                    }
                    "status" => st.status.as_str() == v,
                    "ancestor" => {
                        c.image == *v
                            || c.image_id
                                .trim_start_matches("sha256:")
                                .starts_with(v.trim_start_matches("sha256:"))
                            || engine
                                .images()
                                .resolve(v)
                                .is_ok_and(|d| d.id.to_string() == c.image_id)
                    }
                    "before" => c.created < created_of(v)?,
                    "since" => c.created > created_of(v)?,
                    "volume" => c
                        .mounts
                        .iter()
                        .any(|m| m.name == *v || m.destination == *v || m.source == *v),
                    "network" => Engine::network_names(c).iter().any(|n| n == v),
                    "publish" | "expose" => {
                        let want = if v.contains('/') {
                            v.clone()
                        } else {
                            format!("{v}/tcp")
                        };
                        if k == "publish" {
                            c.network.ports.iter().any(|p| {
                                format!("{}/{}", p.host_port, p.proto) == want
                                    || format!("{}/{}", p.container_port, p.proto) == want
                            })
                        } else {
                            c.config
                                .exposed_ports
                                .clone()
                                .unwrap_or_default()
                                .contains_key(&want)
                        }
                    }
                    _ => false,
                };
            }
            if !any {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
