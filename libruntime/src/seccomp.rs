//! Seccomp: ministry's default profile (equivalent in effect to Docker's: a deny-by-default
//! allowlist returning EPERM, `clone3` returning ENOSYS so libcs fall back to `clone`,
//! namespace-creating `clone` flags and the mount, namespace, module, time, tracing and
//! reboot syscalls only with the matching capability, AF_VSOCK sockets refused, the x86 and
//! x32 sub-ABIs covered), as an OCI `LinuxSeccomp`, and its compilation with libseccomp.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use serde_json::json;

use crate::error::{Error, Result};

/// Syscalls every container may make (names for x86_64 and the 32-bit ABIs; names a
/// kernel or libseccomp does not know are skipped).
const ALLOWED: &str = "
accept accept4 access adjtimex alarm arch_prctl bind brk cachestat capget capset chdir chmod chown chown32
clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close
close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat
faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32
fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64
fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake
futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
getgroups32 getitimer get_mempolicy_home getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get
ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom
recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir
rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget
semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32
setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack
signalfd signalfd4 sigpending sigprocmask sigreturn sigsuspend socketcall socketpair splice stat stat64 statfs
statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname
unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
";

/// Syscalls allowed only with a capability.
const GATED: &[(&str, &str)] = &[
    (
        "CAP_SYS_ADMIN",
        "bpf fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount \
         name_to_handle_at open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns \
         syslog umount umount2 unshare pivot_root",
    ),
    ("CAP_SYS_BOOT", "reboot"),
    ("CAP_SYS_CHROOT", "chroot"),
    ("CAP_SYS_MODULE", "delete_module init_module finit_module"),
    ("CAP_SYS_PACCT", "acct"),
    ("CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"),
    ("CAP_SYS_RAWIO", "iopl ioperm"),
    ("CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64 clock_adjtime clock_adjtime64"),
    ("CAP_SYS_TTY_CONFIG", "vhangup"),
    ("CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node move_pages"),
    ("CAP_SYSLOG", "syslog"),
    ("CAP_BPF", "bpf"),
    ("CAP_PERFMON", "perf_event_open"),
];

/// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
const AF_VSOCK: u64 = 40;

/// The default profile for a container with capabilities `caps` (names like
/// `CAP_SYS_ADMIN`): the profile depends on them, as Docker's does.
pub fn default_profile(caps: &[String]) -> Result<LinuxSeccomp> {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let mut allowed = words(ALLOWED);
    for (cap, calls) in GATED {
        if has(cap) {
            allowed.extend(words(calls));
        }
    }
    allowed.sort();
    allowed.dedup();
    let mut rules = vec![
        json!({"names": allowed, "action": "SCMP_ACT_ALLOW"}),
        // Personalities that only select the Linux ABI or report it.
        json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}),
        json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}),
        json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0x20000, "op": "SCMP_CMP_EQ"}]}),
        json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0x20008, "op": "SCMP_CMP_EQ"}]}),
        json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0xffffffffu64, "op": "SCMP_CMP_EQ"}]}),
        json!({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]}),
        // clone3 passes its flags in memory, which a filter cannot inspect: ENOSYS makes
        // libcs fall back to clone, whose flags are checked.
        json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::ENOSYS}),
    ];
    if has("CAP_SYS_ADMIN") {
        rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW"}));
    } else {
        rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}
        ]}));
    }
    let v = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EPERM,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    });
    serde_json::from_value(v)
        .map_err(|e| Error::InvalidArgument(format!("default seccomp profile: {e}")))
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction> {
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            ScmpAction::Errno(errno.unwrap_or(libc::EPERM as u32) as i32)
        }
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(errno.unwrap_or(libc::EPERM as u32) as u16)
        }
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        other => {
            return Err(Error::InvalidArgument(format!(
                "seccomp action {other:?} is not supported"
            )))
        }
    })
}

fn arch(name: &str) -> Result<ScmpArch> {
    Ok(match name {
        "SCMP_ARCH_X86_64" => ScmpArch::X8664,
        "SCMP_ARCH_X86" => ScmpArch::X86,
        "SCMP_ARCH_X32" => ScmpArch::X32,
        "SCMP_ARCH_AARCH64" => ScmpArch::Aarch64,
        "SCMP_ARCH_ARM" => ScmpArch::Arm,
        other => {
            return Err(Error::InvalidArgument(format!(
                "seccomp architecture {other} is not supported"
            )))
        }
    })
}

fn scmp_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("seccomp {what}: {e}"))
}

/// Compiles an OCI seccomp profile. The filter does not set no_new_privs itself (Docker
/// containers run without it unless asked), so it must be loaded while CAP_SYS_ADMIN is
/// still held, or after no_new_privs was set.
pub fn compile(s: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let default = action(s.default_action(), s.default_errno_ret())?;
    let mut f = ScmpFilterContext::new(default).map_err(|e| scmp_err("filter", e))?;
    f.set_ctl_nnp(false).map_err(|e| scmp_err("nnp", e))?;
    for a in s.architectures().as_deref().unwrap_or_default() {
        let json = serde_json::to_value(a).map_err(|e| scmp_err("architecture", e))?;
        let native = ScmpArch::native();
        let arch = arch(json.as_str().unwrap_or_default())?;
        if arch != native {
            f.add_arch(arch).map_err(|e| scmp_err("architecture", e))?;
        }
    }
    for rule in s.syscalls().as_deref().unwrap_or_default() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue;
        }
        let mut cmps = Vec::new();
        for a in rule.args().as_deref().unwrap_or_default() {
            let op = match a.op() {
                LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
                LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
                LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
                LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
                LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(a.value()),
            };
            let datum = if matches!(a.op(), LinuxSeccompOperator::ScmpCmpMaskedEq) {
                a.value_two().unwrap_or(0)
            } else {
                a.value()
            };
            cmps.push(ScmpArgCompare::new(a.index() as u32, op, datum));
        }
        for name in rule.names() {
            // Names this libseccomp or architecture does not know are skipped, as runc does.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let r = if cmps.is_empty() {
                f.add_rule(act, sc)
            } else {
                f.add_rule_conditional(act, sc, &cmps)
            };
            if let Err(e) = r {
                return Err(scmp_err(&format!("rule for {name}"), e));
            }
        }
    }
    Ok(f)
}

/// Compiles a profile to a raw BPF program (an array of `struct sock_filter`), cached by
/// the SHA-256 of the profile and the libseccomp version: in this process's memory and in
/// `cache_dir` (root-only), so a container start does not pay libseccomp's compilation.
pub fn to_bpf_cached(
    s: &LinuxSeccomp,
    cache_dir: &std::path::Path,
) -> Result<std::sync::Arc<Vec<u8>>> {
    use sha2::Digest as _;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static MEM: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let json = serde_json::to_vec(s).map_err(|e| scmp_err("profile", e))?;
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let key = hex::encode(
        sha2::Sha256::new()
            .chain_update(&json)
            .chain_update(v.as_bytes())
            .finalize(),
    );
    let mem = MEM.get_or_init(Default::default);
    if let Some(b) = mem.lock().expect("not poisoned").get(&key) {
        return Ok(b.clone());
    }
    let file = cache_dir.join(format!("{key}.bpf"));
    let bpf = match std::fs::read(&file) {
        Ok(b) if !b.is_empty() && b.len() % 8 == 0 => b,
        _ => {
            let b = to_bpf(s)?;
            let _ = std::fs::DirBuilder::new().recursive(true).create(cache_dir);
            let tmp = cache_dir.join(format!("{key}.tmp{}", std::process::id()));
            if std::fs::write(&tmp, &b).is_ok() {
                let _ = std::fs::rename(&tmp, &file);
            }
            b
        }
    };
    let bpf = Arc::new(bpf);
    mem.lock().expect("not poisoned").insert(key, bpf.clone());
    Ok(bpf)
}

/// Compiles a profile to a raw BPF program.
pub fn to_bpf(s: &LinuxSeccomp) -> Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let f = compile(s)?;
    // SAFETY: valid C string; the fd returned is owned.
    let fd = unsafe { libc::memfd_create(c"seccomp-bpf".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::io(
            "memfd_create",
            "",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd was just returned by memfd_create.
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    f.export_bpf(&file).map_err(|e| scmp_err("export", e))?;
    file.rewind().map_err(|e| Error::io("rewind", "", e))?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)
        .map_err(|e| Error::io("read", "", e))?;
    Ok(out)
}

/// Loads a raw BPF program as this thread's seccomp filter (applied to all threads; without
/// no_new_privs this needs CAP_SYS_ADMIN).
pub fn load_bpf(bpf: &[u8]) -> Result<()> {
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const u8,
    }
    let prog = SockFprog {
        len: (bpf.len() / 8) as u16,
        filter: bpf.as_ptr(),
    };
    // SAFETY: prog points at a valid program for the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1, /* SECCOMP_SET_MODE_FILTER */
            1, /* TSYNC */
            &prog as *const SockFprog,
        )
    };
    if r != 0 {
        return Err(Error::io(
            "load seccomp filter",
            "",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_depends_on_capabilities() {
        let base: Vec<String> = crate::caps::DOCKER_DEFAULT
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = default_profile(&base).unwrap();
        let allowed: Vec<&String> = p.syscalls().as_ref().unwrap()[0].names().iter().collect();
        assert!(allowed.iter().any(|n| *n == "read") && allowed.iter().any(|n| *n == "chroot"));
        for denied in [
            "mount",
            "unshare",
            "setns",
            "ptrace",
            "reboot",
            "bpf",
            "keyctl",
            "add_key",
            "io_uring_setup",
            "init_module",
            "kexec_load",
            "pivot_root",
        ] {
            assert!(
                !allowed.iter().any(|n| *n == denied),
                "{denied} allowed by default"
            );
        }
        let mut admin = base.clone();
        admin.push("CAP_SYS_ADMIN".into());
        let p = default_profile(&admin).unwrap();
        assert!(p.syscalls().as_ref().unwrap()[0]
            .names()
            .iter()
            .any(|n| n == "mount"));
        compile(&p).unwrap();
    }
}
