//! A container's state file (`<state root>/<id>/state.json`), written atomically by its
//! monitor and read by anyone.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Set up, waiting for `start`.
    Created,
    /// The program runs.
    Running,
    /// The program exited and its restart policy runs it again after a delay.
    Restarting,
    /// The program exited (or never ran).
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Restarting => "restarting",
            Status::Stopped => "stopped",
        })
    }
}

/// The state of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The container's ID.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// The host PID of its init (the user's program once started); 0 when stopped.
    pub pid: i32,
    /// The host PID of its monitor.
    pub monitor_pid: i32,
    /// The exit code once stopped (128+N for signal N).
    pub exit_code: Option<i32>,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_ns: u64,
    /// Start time, nanoseconds since the Unix epoch.
    pub started_ns: Option<u64>,
    /// Exit time, nanoseconds since the Unix epoch.
    pub finished_ns: Option<u64>,
    /// Why the program could not be run, if it could not.
    pub error: Option<String>,
    /// Whether the kernel's OOM killer killed a process of the container (only then).
    #[serde(default)]
    pub oom_killed: bool,
    /// How often the restart policy ran the program again.
    #[serde(default)]
    pub restart_count: u32,
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Reads a state file.
pub fn read(path: &Path) -> Result<State> {
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&data).map_err(|e| Error::State(path.to_path_buf(), e))
}

/// Writes a state file atomically (temp file, fsync, rename).
pub fn write(path: &Path, s: &State) -> Result<()> {
    let data = serde_json::to_vec(s).map_err(|e| Error::State(path.to_path_buf(), e))?;
    Ok(libimage::fsutil::write_atomic(path, &data)?)
}
