//! The last steps of a container's init, after its root is set up and `start` arrived:
//! rlimits, OOM score, user and groups, capabilities, no_new_privs, working directory,
//! file descriptors, and `execve` of the user's program.

use std::collections::HashSet;
use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability};
use oci_spec::runtime::Process;

use crate::error::{Error, Result};

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidArgument(format!("NUL byte in {s:?}")))
}

fn check(r: libc::c_int, op: &'static str) -> Result<()> {
    if r < 0 {
        Err(Error::io(op, "", io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

/// Lowers (or keeps) rlimits; never raises a hard limit above the current one (this
/// machine has no CAP_SYS_RESOURCE: raising would fail, and Podman fails here for that).
fn set_rlimits(p: &Process) -> Result<()> {
    for r in p.rlimits().as_deref().unwrap_or_default() {
        let res = match r.typ() {
            oci_spec::runtime::PosixRlimitType::RlimitNofile => libc::RLIMIT_NOFILE,
            oci_spec::runtime::PosixRlimitType::RlimitNproc => libc::RLIMIT_NPROC,
            oci_spec::runtime::PosixRlimitType::RlimitCore => libc::RLIMIT_CORE,
            oci_spec::runtime::PosixRlimitType::RlimitStack => libc::RLIMIT_STACK,
            oci_spec::runtime::PosixRlimitType::RlimitMemlock => libc::RLIMIT_MEMLOCK,
            oci_spec::runtime::PosixRlimitType::RlimitFsize => libc::RLIMIT_FSIZE,
            oci_spec::runtime::PosixRlimitType::RlimitCpu => libc::RLIMIT_CPU,
            oci_spec::runtime::PosixRlimitType::RlimitAs => libc::RLIMIT_AS,
            oci_spec::runtime::PosixRlimitType::RlimitData => libc::RLIMIT_DATA,
            oci_spec::runtime::PosixRlimitType::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
            oci_spec::runtime::PosixRlimitType::RlimitNice => libc::RLIMIT_NICE,
            oci_spec::runtime::PosixRlimitType::RlimitRtprio => libc::RLIMIT_RTPRIO,
            oci_spec::runtime::PosixRlimitType::RlimitRttime => libc::RLIMIT_RTTIME,
            oci_spec::runtime::PosixRlimitType::RlimitSigpending => libc::RLIMIT_SIGPENDING,
            oci_spec::runtime::PosixRlimitType::RlimitLocks => libc::RLIMIT_LOCKS,
            oci_spec::runtime::PosixRlimitType::RlimitRss => libc::RLIMIT_RSS,
        };
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid out pointer.
        check(unsafe { libc::getrlimit(res, &mut cur) }, "getrlimit")?;
        let hard = r.hard().min(cur.rlim_max);
        let soft = r.soft().min(hard);
        let new = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: valid pointer.
        check(unsafe { libc::setrlimit(res, &new) }, "setrlimit")?;
    }
    Ok(())
}

fn cap_set(names: &Option<HashSet<oci_spec::runtime::Capability>>) -> Result<HashSet<Capability>> {
    let mut out = HashSet::new();
    for c in names.iter().flatten() {
        let name = c.to_string();
        out.insert(crate::caps::parse(&name)?);
    }
    Ok(out)
}

/// Sets user, groups and capabilities exactly as the spec says: the bounding set is
/// dropped to the spec's while still root, the IDs are switched keeping capabilities, then
/// permitted, effective, inheritable and ambient are set (an empty inheritable set:
/// CVE-2022-24769).
fn set_user_and_caps(p: &Process) -> Result<()> {
    let caps = p.capabilities().as_ref();
    let bounding = cap_set(&caps.and_then(|c| c.bounding().clone()))?;
    for c in caps::all() {
        if !bounding.contains(&c) && caps::has_cap(None, CapSet::Bounding, c).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, c)
                .map_err(|e| Error::InvalidArgument(format!("drop {c}: {e}")))?;
        }
    }
    let u = p.user();
    let groups: Vec<libc::gid_t> = u.additional_gids().clone().unwrap_or_default();
    // SAFETY: prctl/setgroups/setresgid/setresuid with valid arguments.
    unsafe {
        check(
            libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0),
            "prctl(PR_SET_KEEPCAPS)",
        )?;
        check(libc::setgroups(groups.len(), groups.as_ptr()), "setgroups")?;
        check(libc::setresgid(u.gid(), u.gid(), u.gid()), "setresgid")?;
        check(libc::setresuid(u.uid(), u.uid(), u.uid()), "setresuid")?;
        check(
            libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0),
            "prctl(PR_SET_KEEPCAPS)",
        )?;
    }
    let set =
        |which: CapSet, names: &Option<HashSet<oci_spec::runtime::Capability>>| -> Result<()> {
            let s = cap_set(names)?;
            caps::set(None, which, &s)
                .map_err(|e| Error::InvalidArgument(format!("set {which:?} capabilities: {e}")))
        };
    let none = None;
    // Effective first: capset requires effective to stay within permitted at each step.
    set(
        CapSet::Effective,
        caps.map(|c| c.effective()).unwrap_or(&none),
    )?;
    set(
        CapSet::Permitted,
        caps.map(|c| c.permitted()).unwrap_or(&none),
    )?;
    set(
        CapSet::Inheritable,
        caps.map(|c| c.inheritable()).unwrap_or(&none),
    )?;
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| Error::InvalidArgument(format!("clear ambient: {e}")))?;
    for c in cap_set(&caps.and_then(|c| c.ambient().clone()))? {
        caps::raise(None, CapSet::Ambient, c)
            .map_err(|e| Error::InvalidArgument(format!("raise ambient {c}: {e}")))?;
    }
    Ok(())
}

/// Finds `prog` on the container's PATH (from the spec's environment), as the shell would;
/// never consults the host.
fn find_program(prog: &str, env: &[String]) -> std::result::Result<PathBuf, (i32, String)> {
    if prog.contains('/') {
        return Ok(PathBuf::from(prog));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = Path::new(dir).join(prog);
        let Ok(c) = CString::new(cand.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: valid C string.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 && cand.is_file() {
            return Ok(cand);
        }
        if cand.exists() {
            denied = Some(cand);
        }
    }
    match denied {
        Some(p) => Err((
            126,
            format!("exec: {:?}: permission denied ({})", prog, p.display()),
        )),
        None => Err((
            127,
            format!("exec: {prog:?}: executable file not found in $PATH"),
        )),
    }
}

/// The outcome of a failed exec: Docker's exit code (126 or 127) and message.
pub struct ExecFailure {
    /// 126 (cannot execute) or 127 (not found).
    pub code: i32,
    /// What happened, as Docker says it.
    pub message: String,
}

/// Finishes the process setup and executes the program. Returns only on failure.
///
/// The seccomp filter (if any, a compiled BPF program) is loaded while
/// CAP_SYS_ADMIN is still held (just before the user and capabilities switch), unless
/// no_new_privs is asked for, in which case it is loaded last, after no_new_privs.
pub fn finish_and_exec(
    p: &Process,
    seccomp: Option<&[u8]>,
) -> std::result::Result<std::convert::Infallible, ExecFailure> {
    let fail = |e: Error| ExecFailure {
        code: 126,
        message: e.to_string(),
    };
    set_rlimits(p).map_err(fail)?;
    if let Some(adj) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| fail(Error::io("write", "/proc/self/oom_score_adj", e)))?;
    }
    // The working directory is created if missing, as Docker does (while still root).
    let cwd = p.cwd();
    std::fs::create_dir_all(cwd)
        .map_err(|e| fail(Error::io("create working directory", cwd, e)))?;
    let nnp = p.no_new_privileges().unwrap_or(false);
    if let (Some(bpf), false) = (seccomp, nnp) {
        crate::seccomp::load_bpf(bpf).map_err(fail)?;
    }
    set_user_and_caps(p).map_err(fail)?;
    std::env::set_current_dir(cwd).map_err(|e| fail(Error::io("chdir", cwd, e)))?;
    // CVE-2024-21626: the working directory must be inside the new root, not reached
    // through a leaked host fd.
    match std::env::current_dir() {
        Ok(d) if d.is_absolute() && !d.to_string_lossy().starts_with("(unreachable)") => {}
        _ => {
            return Err(ExecFailure {
                code: 126,
                message: format!(
                    "working directory {} is outside the container",
                    cwd.display()
                ),
            })
        }
    }
    if p.no_new_privileges().unwrap_or(false) {
        // SAFETY: prctl with valid arguments.
        check(
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
            "prctl(PR_SET_NO_NEW_PRIVS)",
        )
        .map_err(fail)?;
        if let Some(bpf) = seccomp {
            crate::seccomp::load_bpf(bpf).map_err(fail)?;
        }
    }
    let args = p.args().clone().unwrap_or_default();
    let env = p.env().clone().unwrap_or_default();
    let Some(prog) = args.first() else {
        return Err(ExecFailure {
            code: 126,
            message: "no command given".into(),
        });
    };
    let path = find_program(prog, &env).map_err(|(code, message)| ExecFailure { code, message })?;
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| ExecFailure {
        code: 126,
        message: "NUL in path".into(),
    })?;
    let c_args = args
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>>>()
        .map_err(fail)?;
    let c_env = env
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>>>()
        .map_err(fail)?;
    let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = c_env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // Nothing of ours beyond stdio may reach the program (CVE-2024-21626): every other fd
    // is marked close-on-exec (the error pipe closes at exec, telling the monitor it ran).
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings.
    unsafe { libc::execve(c_path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let e = io::Error::last_os_error();
    let code = if e.raw_os_error() == Some(libc::ENOENT) {
        127
    } else {
        126
    };
    // runc's words: `exec: "/x": stat /x: no such file or directory`, `exec: "/etc":
    // permission denied`.
    let text = e.to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    let message = if code == 127 {
        format!("exec: {prog:?}: stat {}: {text}", path.display())
    } else {
        format!("exec: {prog:?}: {text}")
    };
    Err(ExecFailure { code, message })
}
