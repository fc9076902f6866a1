//! A container's cgroup, through cgroups-rs: created by the monitor under a configurable
//! parent, the spec's resources applied (the device allowlist first), the init moved in
//! before `start` can arrive, deleted after the exit.
//!
//! On cgroup v1 (including this machine's hybrid layout) only the resource controllers are
//! used, never `name=systemd`. On v2 cgroups-rs has no device filter: the rules become an
//! eBPF program attached to the cgroup ([`crate::devicefilter`]).

use std::path::Path;

use cgroups_rs::fs::devices::{DevicePermissions, DeviceType};
use cgroups_rs::fs::{hierarchies, Cgroup, DeviceResource, MaxValue, Resources};
use cgroups_rs::CgroupPid;
use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};

/// Where a pure cgroup v2 host mounts its hierarchy.
const V2_ROOT: &str = "/sys/fs/cgroup";

const V1_CONTROLLERS: [&str; 8] = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
];

/// Resource usage of a container (`docker stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// Memory used (without inactive page cache), bytes.
    pub memory_usage: u64,
    /// The memory limit, if one is set.
    pub memory_limit: Option<u64>,
    /// Processes and threads.
    pub pids: u64,
    /// Bytes read from block devices.
    pub blkio_read: u64,
    /// Bytes written to block devices.
    pub blkio_write: u64,
}

/// A container's cgroup.
pub struct ContainerCgroup {
    cg: Cgroup,
    path: String,
}

fn err(op: &str, path: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("cgroup {path}: {op}: {e}"))
}

/// The `oom_kill` count of a cgroup v2 `memory.events` file.
fn oom_kills_of_events(events: &str) -> u64 {
    events
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Translates OCI resources into cgroups-rs resources.
pub fn resources(r: &LinuxResources) -> Resources {
    let mut out = Resources::default();
    for d in r.devices().as_deref().unwrap_or_default() {
        let devtype = match d.typ() {
            Some(oci_spec::runtime::LinuxDeviceType::C) => DeviceType::Char,
            Some(oci_spec::runtime::LinuxDeviceType::B) => DeviceType::Block,
            _ => DeviceType::All,
        };
        let access = d
            .access()
            .as_deref()
            .unwrap_or("rwm")
            .chars()
            .filter_map(|c| match c {
                'r' => Some(DevicePermissions::Read),
                'w' => Some(DevicePermissions::Write),
                'm' => Some(DevicePermissions::MkNod),
                _ => None,
            })
            .collect();
        out.devices.devices.push(DeviceResource {
            allow: d.allow(),
            devtype,
            major: d.major().unwrap_or(-1),
            minor: d.minor().unwrap_or(-1),
            access,
        });
    }
    if let Some(m) = r.memory() {
        out.memory.memory_hard_limit = m.limit();
        out.memory.memory_soft_limit = m.reservation();
        out.memory.memory_swap_limit = m.swap();
    }
    if let Some(p) = r.pids() {
        out.pid.maximum_number_of_processes = Some(if p.limit() > 0 {
            MaxValue::Value(p.limit())
        } else {
            MaxValue::Max
        });
    }
    if let Some(c) = r.cpu() {
        out.cpu.shares = c.shares();
        out.cpu.quota = c.quota();
        out.cpu.period = c.period();
        out.cpu.cpus = c.cpus().clone();
        out.cpu.mems = c.mems().clone();
    }
    if let Some(b) = r.block_io() {
        out.blkio.weight = b.weight();
    }
    out
}

/// Sends SIGKILL to `pid` if it is (still) a member of the cgroup `path`: checked through a
/// pidfd, since a PID read from the member list may have exited and been reused by then.
fn kill_member(pid: i32, path: &str) {
    // SAFETY: pidfd_open returns a new fd we own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    if fd < 0 {
        return;
    }
    let fd = crate::init::owned(fd);
    // Read after the pidfd was opened: while the process it names lives, /proc/PID is it.
    let rel = path.trim_start_matches('/');
    let member = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|s| {
        s.lines()
            .filter_map(|l| l.splitn(3, ':').nth(2))
            .any(|p| p.trim_start_matches('/') == rel)
    });
    if member {
        // SAFETY: a pidfd we own, no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
}

impl ContainerCgroup {
    /// Creates the cgroup `path` (relative to each hierarchy's root) and applies `res`.
    pub fn create(path: &str, res: Option<&LinuxResources>) -> Result<Self> {
        let rel = path.trim_start_matches('/');
        let hier = hierarchies::auto();
        let v2 = hier.v2();
        let cg = if v2 {
            Cgroup::new(hier, rel).map_err(|e| err("create", path, e))?
        } else {
            // Only the controllers this machine mounts, never name=systemd.
            let controllers: Vec<String> = V1_CONTROLLERS
                .iter()
                .filter(|c| Path::new("/sys/fs/cgroup").join(c).is_dir())
                .map(|c| c.to_string())
                .collect();
            Cgroup::new_with_specified_controllers(hier, rel, Some(controllers))
                .map_err(|e| err("create", path, e))?
        };
        let me = ContainerCgroup {
            cg,
            path: path.to_string(),
        };
        if let Some(res) = res {
            let mut r = resources(res);
            let rules = res.devices().clone().unwrap_or_default();
            if v2 && !rules.is_empty() {
                // No devices controller on v2: an eBPF program enforces the same rules.
                r.devices.devices.clear();
                let dir = Path::new(V2_ROOT).join(rel);
                if let Err(e) = crate::devicefilter::attach(&dir, &rules) {
                    let _ = me.delete();
                    return Err(e);
                }
            }
            if let Err(e) = me.cg.apply(&r) {
                let _ = me.delete();
                return Err(err("apply resources", path, e));
            }
        }
        Ok(me)
    }

    /// Applies `res` to the existing cgroup `path` (`docker update`). On cgroup v1 a
    /// memory limit above the current memory+swap limit needs the latter raised first,
    /// so a refused change is retried swap first.
    pub fn update(path: &str, res: &LinuxResources) -> Result<()> {
        let me = Self::load(path);
        let r = resources(res);
        if !r.devices.devices.is_empty() {
            return Err(Error::InvalidArgument(
                "device rules cannot be updated".into(),
            ));
        }
        if me.cg.apply(&r).is_ok() {
            return Ok(());
        }
        let mut swap_first = Resources::default();
        swap_first.memory.memory_swap_limit = r.memory.memory_swap_limit;
        let _ = me.cg.apply(&swap_first);
        me.cg
            .apply(&r)
            .map_err(|e| err("update resources", path, e))
    }

    /// Moves the calling process into the existing cgroup `path` (for `exec`).
    pub fn join(path: &str) -> Result<()> {
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        Self::load(path).add(me)
    }

    /// The freezer of the existing cgroup `path`: `Some(true)` frozen, `Some(false)`
    /// thawed, `None` when the cgroup has no freezer.
    fn freezer(path: &str) -> Cgroup {
        let rel = path.trim_start_matches('/');
        let hier = hierarchies::auto();
        if hier.v2() {
            Cgroup::load(hier, rel)
        } else {
            Cgroup::load_with_specified_controllers(hier, rel, vec!["freezer".to_string()])
        }
    }

    /// Freezes (`true`) or thaws (`false`) every process of the cgroup `path`.
    pub fn set_frozen(path: &str, frozen: bool) -> Result<()> {
        let cg = Self::freezer(path);
        let f = cg
            .controller_of::<cgroups_rs::fs::freezer::FreezerController>()
            .ok_or_else(|| err("freeze", path, "no freezer controller"))?;
        let r = if frozen { f.freeze() } else { f.thaw() };
        r.map_err(|e| err(if frozen { "freeze" } else { "thaw" }, path, e))?;
        // Freezing is asynchronous on v1: wait until the kernel reports it done.
        for _ in 0..500 {
            match f.state() {
                Ok(cgroups_rs::FreezerState::Frozen) if frozen => return Ok(()),
                Ok(cgroups_rs::FreezerState::Thawed) if !frozen => return Ok(()),
                _ => std::thread::sleep(std::time::Duration::from_millis(2)),
            }
        }
        Err(err("freeze", path, "timed out"))
    }

    /// Whether the cgroup `path` is frozen.
    pub fn is_frozen(path: &str) -> bool {
        let cg = Self::freezer(path);
        cg.controller_of::<cgroups_rs::fs::freezer::FreezerController>()
            .and_then(|f| f.state().ok())
            .is_some_and(|s| {
                matches!(
                    s,
                    cgroups_rs::FreezerState::Frozen | cgroups_rs::FreezerState::Freezing
                )
            })
    }

    /// Kills every process of the existing cgroup `path` (thawed first: a frozen process
    /// does not die on v1) and deletes the cgroup: for a container whose monitor is gone.
    pub fn kill_all(path: &str) -> Result<()> {
        let me = Self::load(path);
        if Self::is_frozen(path) {
            Self::set_frozen(path, false)?;
        }
        for _ in 0..200 {
            let pids = me.pids();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                kill_member(pid, path);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        me.delete()
    }

    /// Moves a process (all its threads) into the cgroup.
    pub fn add(&self, pid: i32) -> Result<()> {
        self.cg
            .add_task_by_tgid(CgroupPid::from(pid as u64))
            .map_err(|e| err("add process", &self.path, e))
    }

    /// Deletes the cgroup, waiting (up to 2 s) for the processes still dying in it.
    pub fn delete(&self) -> Result<()> {
        let mut last = None;
        for _ in 0..200 {
            match self.cg.delete() {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err(err(
            "delete",
            &self.path,
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }

    /// How many processes the kernel's OOM killer killed in this cgroup: the memory
    /// controller's `oom_control` on v1; on v2 `memory.events` (which cgroups-rs does not
    /// read: its v2 `oom_control` is always zero).
    pub fn oom_kills(&self) -> u64 {
        if self.cg.v2() {
            let p = Path::new(V2_ROOT)
                .join(self.path.trim_start_matches('/'))
                .join("memory.events");
            return std::fs::read_to_string(p)
                .map(|s| oom_kills_of_events(&s))
                .unwrap_or(0);
        }
        self.cg
            .controller_of::<cgroups_rs::fs::memory::MemController>()
            .map(|m| m.memory_stat().oom_control.oom_kill)
            .unwrap_or(0)
    }

    /// Opens the existing cgroup `path` with every controller this machine has.
    pub fn load(path: &str) -> Self {
        let rel = path.trim_start_matches('/');
        let hier = hierarchies::auto();
        let cg = if hier.v2() {
            Cgroup::load(hier, rel)
        } else {
            let controllers: Vec<String> = V1_CONTROLLERS
                .iter()
                .filter(|c| Path::new("/sys/fs/cgroup").join(c).join(rel).is_dir())
                .map(|c| c.to_string())
                .collect();
            Cgroup::load_with_specified_controllers(hier, rel, controllers)
        };
        ContainerCgroup {
            cg,
            path: path.to_string(),
        }
    }

    /// The processes in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.cg.procs().into_iter().map(|p| p.pid as i32).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Resource usage now.
    pub fn stats(&self) -> Stats {
        use cgroups_rs::fs::{
            blkio::BlkIoController, cpuacct::CpuAcctController, memory::MemController,
            pid::PidController,
        };
        let mut s = Stats::default();
        if let Some(m) = self.cg.controller_of::<MemController>() {
            let mem = m.memory_stat();
            // Docker reports usage minus the inactive page cache.
            s.memory_usage = mem
                .usage_in_bytes
                .saturating_sub(mem.stat.total_inactive_file);
            s.memory_limit = (mem.limit_in_bytes > 0 && mem.limit_in_bytes < i64::MAX / 2)
                .then_some(mem.limit_in_bytes as u64);
        }
        if let Some(c) = self.cg.controller_of::<CpuAcctController>() {
            s.cpu_ns = c.cpuacct().usage;
        }
        if let Some(p) = self.cg.controller_of::<PidController>() {
            s.pids = p.get_pid_current().unwrap_or(0);
        }
        if let Some(b) = self.cg.controller_of::<BlkIoController>() {
            for d in b.blkio().io_service_bytes_recursive {
                s.blkio_read += d.read;
                s.blkio_write += d.write;
            }
        }
        s
    }

    /// The cgroup's path relative to the hierarchy roots.
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_oom_kills_come_from_memory_events() {
        let events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(oom_kills_of_events(events), 1);
        assert_eq!(oom_kills_of_events("low 0\n"), 0);
    }
}
