//! What runs in a container, seen from outside: its processes (`top`), resource use
//! (`stats`), its main PID, its terminal's size, its attach socket, and waiting for an
//! exit; each with Docker's refusals for a container in the wrong state.

use std::path::PathBuf;

pub use libruntime::cgroup::Stats;

use super::{Engine, Error};

/// A running container's terminal, to follow the caller's window size from another
/// thread ([`Engine::terminal`]).
pub struct ContainerTerminal(libruntime::Container);

impl ContainerTerminal {
    /// Sets the terminal's size.
    pub fn resize(&self, rows: u16, cols: u16) -> Result<(), Error> {
        Ok(self.0.resize(rows, cols)?)
    }
}

/// `docker top`'s answer (`Titles`, `Processes`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerTop {
    /// The `ps` columns.
    pub titles: Vec<String>,
    /// One row per process of the container.
    pub processes: Vec<Vec<String>>,
}

/// The host's memory in bytes (`MemTotal`).
fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

impl Engine {
    /// The host PIDs of a running container's processes (`docker top`); Docker's refusal
    /// for one that is not running or is restarting.
    pub fn container_processes(&self, name: &str) -> Result<Vec<i32>, Error> {
        let (_, rc) = self.running_container(name)?;
        Ok(rc.processes()?)
    }

    /// A running container's processes as the host's `ps` shows them (`docker top`,
    /// `GET /containers/{id}/top`): `ps` run with `ps_args` (default `-ef`), its rows
    /// kept to the container's PIDs, the command column whole.
    pub fn top(&self, name: &str, ps_args: &[String]) -> Result<ContainerTop, Error> {
        let pids = self.container_processes(name)?;
        let args: Vec<String> = if ps_args.is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.to_vec()
        };
        let out = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(|e| Error::io("run", "ps", e))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(Error::InvalidConfig(format!(
                "ps: {}",
                err.lines().next().unwrap_or("").trim()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let titles: Vec<String> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let pid_col = titles
            .iter()
            .position(|h| h == "PID")
            .ok_or_else(|| Error::InvalidConfig("Couldn't find PID field in ps output".into()))?;
        let mut processes = Vec::new();
        for l in lines {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < titles.len() {
                continue;
            }
            if f[pid_col].parse::<i32>().is_ok_and(|p| pids.contains(&p)) {
                // The last column (the command) keeps its spaces.
                let mut row: Vec<String> = f[..titles.len() - 1]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                row.push(f[titles.len() - 1..].join(" "));
                processes.push(row);
            }
        }
        Ok(ContainerTop { titles, processes })
    }

    /// Removes every stopped container (not running, paused or restarting: `docker
    /// container prune`); returns their IDs and the bytes their own layers held.
    pub fn prune_containers(&self) -> Result<(Vec<String>, u64), Error> {
        let mut reclaimed = 0u64;
        let mut removed = Vec::new();
        for c in self.containers()? {
            let st = self.container_state(&c)?;
            if st.running || st.restarting {
                continue;
            }
            reclaimed += self
                .images
                .snapshotter()
                .usage(&c.snapshot)
                .map(|u| u.size)
                .unwrap_or(0);
            self.remove_container_with(&c.id, false, false)?;
            removed.push(c.id);
        }
        Ok((removed, reclaimed))
    }

    /// One sample of a container's resource use (`docker stats`). Without a memory
    /// limit, the limit reported is the host's memory, as Docker's.
    pub fn container_stats(&self, name: &str) -> Result<Stats, Error> {
        let c = self.container(name)?;
        let mut s = self.runtime.get(&c.id)?.stats()?;
        if s.memory_limit.is_none() {
            s.memory_limit = Some(host_memory());
        }
        Ok(s)
    }

    /// The host PID of a running container's main process.
    pub fn container_pid(&self, name: &str) -> Result<i32, Error> {
        let (_, rc) = self.running_container(name)?;
        Ok(rc.state()?.pid)
    }

    /// Waits for a container's next exit (`docker wait`) and returns its code; unlike
    /// [`Engine::wait_container`] it never removes an `--rm` container.
    pub fn wait_next_exit(&self, name: &str) -> Result<i32, Error> {
        let c = self.container(name)?;
        Ok(self.runtime.get(&c.id)?.wait()?)
    }

    /// The attach socket of a running container (its monitor's): output from the time a
    /// client connects, input and window sizes from it (see libruntime's attach).
    pub fn attach_socket(&self, name: &str) -> Result<PathBuf, Error> {
        let c = self.container(name)?;
        let rc = self
            .runtime
            .get(&c.id)
            .map_err(|_| Error::Conflict(format!("Container {} is not running", c.id)))?;
        if rc.state()?.status != libruntime::Status::Running {
            return Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        Ok(rc.attach_socket())
    }

    /// A running container's terminal (for `-t` containers), to resize it.
    pub fn terminal(&self, name: &str) -> Result<ContainerTerminal, Error> {
        let (_, rc) = self.running_container(name)?;
        Ok(ContainerTerminal(rc))
    }

    /// Ends the monitor of a created container that never ran, so that starting it makes
    /// a new one (with the caller's stdin: `start -i`).
    pub fn discard_created(&self, name: &str) -> Result<(), Error> {
        let c = self.container(name)?;
        let rc = self.runtime.get(&c.id)?;
        if rc.state()?.status != libruntime::Status::Created {
            return Err(Error::Conflict(format!(
                "container {} is not in the created state",
                c.id
            )));
        }
        Ok(rc.delete(true)?)
    }
}
