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

impl Engine {
    /// The host PIDs of a running container's processes (`docker top`); Docker's refusal
    /// for one that is not running or is restarting.
    pub fn container_processes(&self, name: &str) -> Result<Vec<i32>, Error> {
        let (_, rc) = self.running_container(name)?;
        Ok(rc.processes()?)
    }

    /// One sample of a container's resource use (`docker stats`).
    pub fn container_stats(&self, name: &str) -> Result<Stats, Error> {
        let c = self.container(name)?;
        Ok(self.runtime.get(&c.id)?.stats()?)
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
