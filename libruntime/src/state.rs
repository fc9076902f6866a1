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
    /// The start time of `pid` (`/proc/PID/stat` field 22, clock ticks since boot): a PID
    /// is trusted (signalled, joined) only while this still matches, so a reused PID never
    /// is. 0 in state files written before it was recorded (the PID alone is checked).
    #[serde(default)]
    pub pid_start: u64,
    /// The start time of `monitor_pid`, likewise.
    #[serde(default)]
    pub monitor_start: u64,
}

/// The start time of process `pid` (`/proc/PID/stat` field 22, clock ticks since boot),
/// or `None` when no such process lives (a zombie counts as gone).
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_time_of_stat(&stat)
}

/// [`start_time`] from the text of a `stat` file: the command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn start_time_of_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // Field 3, the state: a zombie (or dying) process is gone for our purposes.
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    // Fields 4..=21 come before the start time.
    fields.nth(18)?.parse().ok()
}

/// Whether process `pid` is alive and is the one that started at `start` (any process
/// with that PID when `start` is 0, an old state file).
pub fn is_alive(pid: i32, start: u64) -> bool {
    match start_time(pid) {
        Some(s) => start == 0 || s == start,
        None => false,
    }
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
    // Run-time state: a reader sees the old or the new file (rename), and a crash of the
    // machine ends the container anyway, so no fsync (each cost milliseconds per start
    // where the exec root is on a disk).
    Ok(libimage::fsutil::replace_file(path, &data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_parentheses_in_the_name() {
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        assert_eq!(start_time_of_stat(stat), Some(987654));
        let zombie = "4242 (x) Z 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 0 0";
        assert_eq!(start_time_of_stat(zombie), None);
    }

    #[test]
    fn our_own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id() as i32;
        let start = start_time(me).expect("our own stat");
        assert!(is_alive(me, start));
        assert!(is_alive(me, 0));
        assert!(!is_alive(me, start + 1));
        assert!(!is_alive(0, 0));
    }
}
