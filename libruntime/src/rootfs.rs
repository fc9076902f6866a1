//! Building a container's root: the given root mounts (an overlay from libimage, or a bind
//! of a directory), the spec's mounts onto targets resolved inside the root, device nodes,
//! `pivot_root`, masked and read-only paths, hostname.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};

use crate::error::{Error, Result};
use crate::syscall::{Syscall, TargetKind};

/// Mount flags and data parsed from OCI mount options.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// `MS_*` flags.
    pub flags: libc::c_ulong,
    /// Propagation flags applied with a second mount call.
    pub propagation: libc::c_ulong,
    /// File-system specific options (`mode=755,size=65536k`).
    pub data: String,
    /// A bind mount.
    pub bind: bool,
}

/// Parses OCI/fstab mount options.
pub fn parse_options(opts: &[String]) -> MountOptions {
    let mut m = MountOptions::default();
    let mut data = Vec::new();
    for o in opts {
        let (set, clear): (libc::c_ulong, libc::c_ulong) = match o.as_str() {
            "ro" => (libc::MS_RDONLY, 0),
            "rw" => (0, libc::MS_RDONLY),
            "nosuid" => (libc::MS_NOSUID, 0),
            "suid" => (0, libc::MS_NOSUID),
            "nodev" => (libc::MS_NODEV, 0),
            "dev" => (0, libc::MS_NODEV),
            "noexec" => (libc::MS_NOEXEC, 0),
            "exec" => (0, libc::MS_NOEXEC),
            "sync" => (libc::MS_SYNCHRONOUS, 0),
            "async" => (0, libc::MS_SYNCHRONOUS),
            "dirsync" => (libc::MS_DIRSYNC, 0),
            "noatime" => (libc::MS_NOATIME, 0),
            "atime" => (0, libc::MS_NOATIME),
            "nodiratime" => (libc::MS_NODIRATIME, 0),
            "diratime" => (0, libc::MS_NODIRATIME),
            "relatime" => (libc::MS_RELATIME, 0),
            "norelatime" => (0, libc::MS_RELATIME),
            "strictatime" => (libc::MS_STRICTATIME, 0),
            "nostrictatime" => (0, libc::MS_STRICTATIME),
            "bind" => {
                m.bind = true;
                (libc::MS_BIND, 0)
            }
            "rbind" => {
                m.bind = true;
                (libc::MS_BIND | libc::MS_REC, 0)
            }
            "private" => {
                m.propagation |= libc::MS_PRIVATE;
                (0, 0)
            }
            "rprivate" => {
                m.propagation |= libc::MS_PRIVATE | libc::MS_REC;
                (0, 0)
            }
            "shared" => {
                m.propagation |= libc::MS_SHARED;
                (0, 0)
            }
            "rshared" => {
                m.propagation |= libc::MS_SHARED | libc::MS_REC;
                (0, 0)
            }
            "slave" => {
                m.propagation |= libc::MS_SLAVE;
                (0, 0)
            }
            "rslave" => {
                m.propagation |= libc::MS_SLAVE | libc::MS_REC;
                (0, 0)
            }
            other => {
                data.push(other.to_string());
                (0, 0)
            }
        };
        m.flags = (m.flags | set) & !clear;
    }
    m.data = data.join(",");
    m
}

/// Special targets an image must not replace with a symlink (SECURITY.md).
fn refuses_symlink(dest: &Path) -> bool {
    [
        "/proc",
        "/sys",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
    ]
    .iter()
    .any(|p| dest == Path::new(p))
}

fn mount_one(sys: &dyn Syscall, rootfs: &Path, m: &Mount) -> Result<()> {
    let dest = m.destination();
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    let typ = m
        .typ()
        .as_deref()
        .unwrap_or(if opts.bind { "bind" } else { "none" });
    let bind = opts.bind || typ == "bind";
    let source = m.source().clone();
    let kind = match (&source, bind) {
        (Some(s), true) if !s.is_dir() => TargetKind::File,
        _ => TargetKind::Dir,
    };
    let ioe = |op: &'static str| {
        let d = dest.clone();
        move |e| Error::io(op, d, e)
    };
    let (target, _keep) = sys
        .resolve_in_root(rootfs, dest, kind, refuses_symlink(dest))
        .map_err(ioe("resolve mount destination"))?;
    // The fd path names the object the mount goes onto; once mounted, the same path is
    // resolved again to reach the new mount itself for remounts and propagation.
    let mounted = || {
        sys.resolve_in_root(rootfs, dest, kind, refuses_symlink(dest))
            .map_err(ioe("resolve mount destination"))
    };
    if bind {
        let flags = libc::MS_BIND | (opts.flags & libc::MS_REC);
        sys.mount(source.as_deref(), &target, None, flags, None)
            .map_err(ioe("bind mount"))?;
        // Bind mounts take their other flags (ro, nosuid, ...) only on a remount.
        let rest = opts.flags & !(libc::MS_BIND | libc::MS_REC);
        if rest != 0 {
            let (top, _keep) = mounted()?;
            sys.mount(
                None,
                &top,
                None,
                libc::MS_BIND | libc::MS_REMOUNT | rest,
                None,
            )
            .map_err(ioe("remount"))?;
        }
    } else {
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let src = source.unwrap_or_else(|| PathBuf::from(typ));
        sys.mount(Some(&src), &target, Some(typ), opts.flags, data)
            .map_err(ioe("mount"))?;
    }
    if opts.propagation != 0 {
        let (top, _keep) = mounted()?;
        sys.mount(None, &top, None, opts.propagation, None)
            .map_err(ioe("set propagation of"))?;
    }
    Ok(())
}

/// Where the host mounts its cgroup hierarchies.
const HOST_CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// What a container sees at `/sys/fs/cgroup`: its own cgroup as the root of each
/// hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupView {
    /// cgroup v2: the container's cgroup directory.
    Unified(PathBuf),
    /// cgroup v1: a tmpfs holding, per hierarchy (by its name there), the container's
    /// cgroup directory in it, and the host's links between names (`cpu` to `cpu,cpuacct`).
    Hierarchies {
        /// (name, the container's directory in that hierarchy).
        dirs: Vec<(String, PathBuf)>,
        /// (name, what it links to).
        links: Vec<(String, PathBuf)>,
    },
}

/// The view of cgroup `path` (relative to the hierarchy roots) from the host's cgroup
/// mounts at `host`: unified when `host` is a cgroup2 root, else each v1 hierarchy the
/// cgroup exists in (the hybrid layout's `unified` and hierarchies without the cgroup,
/// such as `name=systemd`, are left out).
pub fn cgroup_view(host: &Path, path: &str) -> CgroupView {
    let rel = path.trim_start_matches('/');
    if host.join("cgroup.controllers").exists() {
        return CgroupView::Unified(host.join(rel));
    }
    let mut dirs = Vec::new();
    let mut links = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(host)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    names.sort();
    for name in names {
        let Some(n) = name.to_str().map(str::to_string) else {
            continue;
        };
        let entry = host.join(&n);
        match entry.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(t) = std::fs::read_link(&entry) {
                    links.push((n, t));
                }
            }
            Ok(m) if m.is_dir() && n != "unified" && entry.join(rel).is_dir() => {
                dirs.push((n, entry.join(rel)));
            }
            _ => {}
        }
    }
    // A link to a hierarchy left out would dangle.
    links.retain(|(_, t)| dirs.iter().any(|(n, _)| Path::new(n) == t));
    CgroupView::Hierarchies { dirs, links }
}

/// `/sys/fs/cgroup` (a spec mount of type `cgroup`), as runc makes it without a cgroup
/// namespace: read-only binds of the container's own cgroup directories, so it sees its
/// cgroup as the root and its own limits; on v1 under a tmpfs, made read-only too when
/// the mount asks for `ro`. Without a cgroup, an empty tmpfs.
fn mount_cgroup(
    sys: &dyn Syscall,
    rootfs: &Path,
    m: &Mount,
    view: Option<&CgroupView>,
) -> Result<()> {
    let dest = m.destination();
    let opts = parse_options(m.options().as_deref().unwrap_or_default());
    let ioe = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e| Error::io(op, p, e)
    };
    let secure = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let bind_ro = |src: &Path, d: &Path| -> Result<()> {
        let (target, _keep) = sys
            .resolve_in_root(rootfs, d, TargetKind::Dir, true)
            .map_err(ioe("resolve mount destination", d))?;
        sys.mount(Some(src), &target, None, libc::MS_BIND, None)
            .map_err(ioe("bind mount", d))?;
        let (top, _keep) = sys
            .resolve_in_root(rootfs, d, TargetKind::Dir, true)
            .map_err(ioe("resolve mount destination", d))?;
        sys.mount(
            None,
            &top,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | secure,
            None,
        )
        .map_err(ioe("remount read-only", d))
    };
    if let Some(CgroupView::Unified(dir)) = view {
        return bind_ro(dir, dest);
    }
    let (target, _keep) = sys
        .resolve_in_root(rootfs, dest, TargetKind::Dir, true)
        .map_err(ioe("resolve mount destination", dest))?;
    let tmpfs_flags = (opts.flags & !libc::MS_RDONLY) | secure;
    sys.mount(
        Some(Path::new("tmpfs")),
        &target,
        Some("tmpfs"),
        tmpfs_flags,
        Some("mode=755"),
    )
    .map_err(ioe("mount", dest))?;
    if let Some(CgroupView::Hierarchies { dirs, links }) = view {
        for (name, src) in dirs {
            bind_ro(src, &dest.join(name))?;
        }
        for (name, to) in links {
            let (dir, _keep) = sys
                .resolve_in_root(rootfs, dest, TargetKind::Dir, true)
                .map_err(ioe("resolve mount destination", dest))?;
            let link = dir.join(name);
            sys.symlink(to, &link).map_err(ioe("symlink", &link))?;
        }
    }
    if opts.flags & libc::MS_RDONLY != 0 {
        let (top, _keep) = sys
            .resolve_in_root(rootfs, dest, TargetKind::Dir, true)
            .map_err(ioe("resolve mount destination", dest))?;
        sys.mount(
            None,
            &top,
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | tmpfs_flags,
            Some("mode=755"),
        )
        .map_err(ioe("remount read-only", dest))?;
    }
    Ok(())
}

/// The device nodes Docker puts in `/dev`: (name, major, minor).
pub const DEFAULT_DEVICES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Whether the spec asks for a user namespace (new or joined).
pub fn in_user_namespace(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|n| {
            n.iter()
                .any(|ns| ns.typ() == oci_spec::runtime::LinuxNamespaceType::User)
        })
}

/// In a user namespace `mknod` is not allowed: the default nodes are binds of the host's
/// (as runc does), plus the same links.
fn bind_host_devices(sys: &dyn Syscall, rootfs: &Path) -> Result<()> {
    for (name, _, _) in DEFAULT_DEVICES {
        let host = Path::new("/dev").join(name);
        let dest = Path::new("/dev").join(name);
        let (target, _keep) = sys
            .resolve_in_root(rootfs, &dest, TargetKind::File, true)
            .map_err(|e| Error::io("resolve mount destination", &dest, e))?;
        sys.mount(Some(&host), &target, None, libc::MS_BIND, None)
            .map_err(|e| Error::io("bind device", &host, e))?;
    }
    dev_links(sys, &rootfs.join("dev"))
}

fn populate_dev(sys: &dyn Syscall, dev: &Path) -> Result<()> {
    for (name, major, minor) in DEFAULT_DEVICES {
        let p = dev.join(name);
        sys.mknod(&p, libc::S_IFCHR | 0o666, libc::makedev(major, minor))
            .map_err(|e| Error::io("mknod", &p, e))?;
    }
    dev_links(sys, dev)
}

/// `/dev/fd`, `/dev/stdin`, ... and `/dev/ptmx` links.
fn dev_links(sys: &dyn Syscall, dev: &Path) -> Result<()> {
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        let p = dev.join(link);
        sys.symlink(Path::new(target), &p)
            .map_err(|e| Error::io("symlink", &p, e))?;
    }
    Ok(())
}

/// The spec's `linux.devices` (`--device`): nodes made under the container's fresh `/dev`
/// tmpfs (a path elsewhere, or with `..`, is refused: nothing of the image is followed),
/// with their mode and owner.
fn make_spec_devices(sys: &dyn Syscall, spec: &Spec, rootfs: &Path) -> Result<()> {
    use std::path::Component;
    let devices = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    if !devices.is_empty() && in_user_namespace(spec) {
        return Err(Error::InvalidArgument(
            "device nodes cannot be made in a user namespace".into(),
        ));
    }
    for d in devices {
        let p = d.path();
        let ok = p.starts_with("/dev/")
            && p.components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !ok {
            return Err(Error::InvalidArgument(format!(
                "device path {} must be under /dev",
                p.display()
            )));
        }
        let target = rootfs.join(p.strip_prefix("/").unwrap_or(p));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        let kind = match d.typ() {
            oci_spec::runtime::LinuxDeviceType::B => libc::S_IFBLK,
            oci_spec::runtime::LinuxDeviceType::P => libc::S_IFIFO,
            _ => libc::S_IFCHR,
        };
        let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
        sys.mknod(
            &target,
            kind | mode,
            libc::makedev(d.major() as u32, d.minor() as u32),
        )
        .map_err(|e| Error::io("mknod", &target, e))?;
        // The exact mode, whatever the umask.
        std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(|e| Error::io("chmod", &target, e))?;
        if d.uid().is_some() || d.gid().is_some() {
            std::os::unix::fs::lchown(&target, d.uid(), d.gid())
                .map_err(|e| Error::io("chown", &target, e))?;
        }
    }
    Ok(())
}

/// Sets up the root of a container in the current (new) mount namespace and pivots into it.
///
/// `root_mounts` (destination `/`) are mounted on `rootfs` first; with none, `rootfs` is
/// bind-mounted on itself. Then the spec's mounts in order, `/dev` populated if it is a
/// tmpfs, `pivot_root`, masked and read-only paths, a read-only root if asked, hostname.
pub fn setup_rootfs(
    sys: &dyn Syscall,
    spec: &Spec,
    rootfs: &Path,
    root_mounts: &[Mount],
) -> Result<()> {
    let ioe = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e| Error::io(op, p, e)
    };
    // Nothing we mount may propagate back to the host.
    sys.mount(
        None,
        Path::new("/"),
        None,
        libc::MS_SLAVE | libc::MS_REC,
        None,
    )
    .map_err(ioe("make / rslave", Path::new("/")))?;
    if root_mounts.is_empty() {
        sys.mount(
            Some(rootfs),
            rootfs,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .map_err(ioe("bind root", rootfs))?;
    }
    for m in root_mounts {
        let opts = parse_options(m.options().as_deref().unwrap_or_default());
        let typ = m.typ().as_deref().unwrap_or("bind");
        if opts.bind || typ == "bind" {
            sys.mount(
                m.source().as_deref(),
                rootfs,
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .map_err(ioe("bind root", rootfs))?;
            if opts.flags & libc::MS_RDONLY != 0 {
                sys.mount(
                    None,
                    rootfs,
                    None,
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                    None,
                )
                .map_err(ioe("remount root", rootfs))?;
            }
        } else {
            let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
            sys.mount(m.source().as_deref(), rootfs, Some(typ), opts.flags, data)
                .map_err(ioe("mount root", rootfs))?;
        }
    }
    let cgroup = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    for m in spec.mounts().as_deref().unwrap_or_default() {
        if m.typ().as_deref() == Some("cgroup") {
            let view = cgroup
                .as_deref()
                .map(|c| cgroup_view(Path::new(HOST_CGROUP_ROOT), &c.to_string_lossy()));
            mount_cgroup(sys, rootfs, m, view.as_ref())?;
            continue;
        }
        mount_one(sys, rootfs, m)?;
        if m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("tmpfs") {
            if in_user_namespace(spec) {
                bind_host_devices(sys, rootfs)?;
            } else {
                populate_dev(sys, &rootfs.join("dev"))?;
            }
        }
    }
    make_spec_devices(sys, spec, rootfs)?;
    sys.chdir(rootfs).map_err(ioe("chdir", rootfs))?;
    sys.pivot_root(Path::new("."), Path::new("."))
        .map_err(ioe("pivot_root", rootfs))?;
    sys.umount2(Path::new("."), libc::MNT_DETACH)
        .map_err(ioe("detach old root", rootfs))?;
    sys.chdir(Path::new("/"))
        .map_err(ioe("chdir", Path::new("/")))?;
    let linux = spec.linux().as_ref();
    // Namespaced sysctls (`--sysctl`), while /proc/sys is still writable.
    for (k, v) in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
    {
        if k.contains('/') || k.contains("..") {
            return Err(Error::InvalidArgument(format!("invalid sysctl {k}")));
        }
        let p = Path::new("/proc/sys").join(k.replace('.', "/"));
        std::fs::write(&p, v).map_err(|e| Error::io("write sysctl", &p, e))?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        mask(sys, Path::new(p))?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let p = Path::new(p);
        if p.symlink_metadata().is_ok() {
            sys.mount(Some(p), p, None, libc::MS_BIND | libc::MS_REC, None)
                .map_err(ioe("bind", p))?;
            let flags = libc::MS_BIND
                | libc::MS_REMOUNT
                | libc::MS_RDONLY
                | libc::MS_NOSUID
                | libc::MS_NODEV
                | libc::MS_NOEXEC;
            sys.mount(None, p, None, flags, None)
                .map_err(ioe("remount read-only", p))?;
        }
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        sys.mount(
            None,
            Path::new("/"),
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .map_err(ioe("remount / read-only", Path::new("/")))?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        sys.sethostname(h)
            .map_err(ioe("sethostname", Path::new(h)))?;
    }
    Ok(())
}

/// Masks `p` (after pivot_root, so inside the container): a directory gets a read-only
/// empty tmpfs, anything else a bind of the container's verified `/dev/null`.
fn mask(sys: &dyn Syscall, p: &Path) -> Result<()> {
    let Ok(meta) = p.symlink_metadata() else {
        return Ok(());
    };
    if meta.is_dir() {
        sys.mount(
            Some(Path::new("tmpfs")),
            p,
            Some("tmpfs"),
            libc::MS_RDONLY,
            None,
        )
        .map_err(|e| Error::io("mask", p, e))
    } else {
        verify_dev_null()?;
        sys.mount(Some(Path::new("/dev/null")), p, None, libc::MS_BIND, None)
            .map_err(|e| Error::io("mask", p, e))
    }
}

/// `/dev/null` must be the character device 1:3 before it is used to mask anything.
fn verify_dev_null() -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = Path::new("/dev/null")
        .symlink_metadata()
        .map_err(|e| Error::io("stat", "/dev/null", e))?;
    if !m.file_type().is_char_device() || m.rdev() != libc::makedev(1, 3) {
        return Err(Error::InvalidArgument(
            "/dev/null in the container is not the null device".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, RecordingSyscall};

    #[test]
    fn options_parse_to_flags_and_data() {
        let o = parse_options(&[
            "nosuid".into(),
            "noexec".into(),
            "mode=755".into(),
            "size=65536k".into(),
            "ro".into(),
        ]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_RDONLY);
        assert_eq!(o.data, "mode=755,size=65536k");
        let o = parse_options(&["rbind".into(), "rprivate".into()]);
        assert!(o.bind);
        assert_eq!(o.propagation, libc::MS_PRIVATE | libc::MS_REC);
    }

    #[test]
    fn mount_order_and_flags() {
        let spec = crate::spec::docker_default("/r", &["sh".into()]).unwrap();
        let sys = RecordingSyscall::default();
        // Masked paths are checked on the real (host) file system by the fake run, so only
        // the part up to pivot_root is asserted in full.
        let _ = setup_rootfs(&sys, &spec, Path::new("/r"), &[]);
        let calls = sys.take();
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            calls[0],
            Call::Mount(None, p("/"), None, libc::MS_SLAVE | libc::MS_REC, None)
        );
        assert_eq!(
            calls[1],
            Call::Mount(
                Some(p("/r")),
                p("/r"),
                None,
                libc::MS_BIND | libc::MS_REC,
                None
            )
        );
        assert_eq!(
            calls[2],
            Call::Mount(
                Some(p("proc")),
                p("/r/proc"),
                Some("proc".into()),
                libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV,
                None
            )
        );
        assert_eq!(
            calls[3],
            Call::Mount(
                Some(p("tmpfs")),
                p("/r/dev"),
                Some("tmpfs".into()),
                libc::MS_NOSUID | libc::MS_STRICTATIME,
                Some("mode=755,size=65536k".into())
            )
        );
        assert_eq!(
            calls[4],
            Call::Mknod(p("/r/dev/null"), libc::S_IFCHR | 0o666, libc::makedev(1, 3))
        );
        let pivot = calls
            .iter()
            .position(|c| matches!(c, Call::PivotRoot(..)))
            .unwrap();
        assert_eq!(calls[pivot - 1], Call::Chdir(p("/r")));
        assert_eq!(calls[pivot + 1], Call::Umount(p("."), libc::MNT_DETACH));
        // Every spec mount happens before pivot_root, /sys read-only.
        assert!(calls[..pivot].contains(&Call::Mount(
            Some(p("sysfs")),
            p("/r/sys"),
            Some("sysfs".into()),
            libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV | libc::MS_RDONLY,
            None
        )));
        assert!(calls[..pivot].iter().any(|c| matches!(c, Call::Mount(_, t, Some(ty), _, Some(d)) if t == &p("/r/dev/shm") && ty == "tmpfs" && d == "mode=1777,size=67108864")));
    }

    #[test]
    fn cgroup_view_of_v1_hybrid_and_v2_layouts() {
        let tmp = tempfile::tempdir().unwrap();
        // v1 hybrid: hierarchies, a combined one with its links, `unified`, and
        // name=systemd where the container has no cgroup.
        let v1 = tmp.path().join("v1");
        for d in [
            "memory/p/c",
            "cpu,cpuacct/p/c",
            "pids/p/c",
            "unified/p/c",
            "systemd",
        ] {
            std::fs::create_dir_all(v1.join(d)).unwrap();
        }
        std::os::unix::fs::symlink("cpu,cpuacct", v1.join("cpu")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", v1.join("cpuacct")).unwrap();
        std::os::unix::fs::symlink("net_cls,net_prio", v1.join("net_cls")).unwrap();
        assert_eq!(
            cgroup_view(&v1, "/p/c"),
            CgroupView::Hierarchies {
                dirs: vec![
                    ("cpu,cpuacct".into(), v1.join("cpu,cpuacct/p/c")),
                    ("memory".into(), v1.join("memory/p/c")),
                    ("pids".into(), v1.join("pids/p/c")),
                ],
                links: vec![
                    ("cpu".into(), "cpu,cpuacct".into()),
                    ("cpuacct".into(), "cpu,cpuacct".into()),
                ],
            }
        );
        let v2 = tmp.path().join("v2");
        std::fs::create_dir_all(v2.join("p/c")).unwrap();
        std::fs::write(v2.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        assert_eq!(cgroup_view(&v2, "p/c"), CgroupView::Unified(v2.join("p/c")));
    }

    #[test]
    fn cgroup_mount_binds_the_containers_own_cgroup_read_only() {
        let m: Mount = serde_json::from_value(serde_json::json!({
            "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["ro", "nosuid", "noexec", "nodev"]
        }))
        .unwrap();
        let p = |s: &str| PathBuf::from(s);
        let secure = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let ro_bind = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | secure;
        let sys = RecordingSyscall::default();
        let view = CgroupView::Hierarchies {
            dirs: vec![("memory".into(), p("/h/memory/p/c"))],
            links: vec![("cpu".into(), p("cpu,cpuacct"))],
        };
        mount_cgroup(&sys, Path::new("/r"), &m, Some(&view)).unwrap();
        assert_eq!(
            sys.take(),
            vec![
                Call::Mount(
                    Some(p("tmpfs")),
                    p("/r/sys/fs/cgroup"),
                    Some("tmpfs".into()),
                    secure,
                    Some("mode=755".into())
                ),
                Call::Mount(
                    Some(p("/h/memory/p/c")),
                    p("/r/sys/fs/cgroup/memory"),
                    None,
                    libc::MS_BIND,
                    None
                ),
                Call::Mount(None, p("/r/sys/fs/cgroup/memory"), None, ro_bind, None),
                Call::Symlink(p("cpu,cpuacct"), p("/r/sys/fs/cgroup/cpu")),
                Call::Mount(
                    None,
                    p("/r/sys/fs/cgroup"),
                    None,
                    libc::MS_REMOUNT | libc::MS_RDONLY | secure,
                    Some("mode=755".into())
                ),
            ]
        );
        let sys = RecordingSyscall::default();
        mount_cgroup(
            &sys,
            Path::new("/r"),
            &m,
            Some(&CgroupView::Unified(p("/h/p/c"))),
        )
        .unwrap();
        assert_eq!(
            sys.take(),
            vec![
                Call::Mount(
                    Some(p("/h/p/c")),
                    p("/r/sys/fs/cgroup"),
                    None,
                    libc::MS_BIND,
                    None
                ),
                Call::Mount(None, p("/r/sys/fs/cgroup"), None, ro_bind, None),
            ]
        );
    }

    #[test]
    fn a_user_namespace_binds_the_hosts_device_nodes_instead_of_mknod() {
        let mut spec = crate::spec::docker_default("/r", &["sh".into()]).unwrap();
        let mut linux = spec.linux().clone().unwrap();
        let mut nss = linux.namespaces().clone().unwrap();
        nss.push(serde_json::from_value(serde_json::json!({"type": "user"})).unwrap());
        linux.set_namespaces(Some(nss));
        spec.set_linux(Some(linux));
        let sys = RecordingSyscall::default();
        let _ = setup_rootfs(&sys, &spec, Path::new("/r"), &[]);
        let calls = sys.take();
        assert!(
            !calls.iter().any(|c| matches!(c, Call::Mknod(..))),
            "{calls:?}"
        );
        for (name, _, _) in DEFAULT_DEVICES {
            let bind = Call::Mount(
                Some(Path::new("/dev").join(name)),
                Path::new("/r/dev").join(name),
                None,
                libc::MS_BIND,
                None,
            );
            assert!(calls.contains(&bind), "{name}");
        }
    }

    #[test]
    fn overlay_root_mount_comes_first() {
        let spec = crate::spec::docker_default("/r", &["sh".into()]).unwrap();
        let sys = RecordingSyscall::default();
        let mut m = Mount::default();
        m.set_typ(Some("overlay".into()));
        m.set_source(Some("overlay".into()));
        m.set_options(Some(vec![
            "lowerdir=/l".into(),
            "upperdir=/u".into(),
            "workdir=/w".into(),
        ]));
        let _ = setup_rootfs(&sys, &spec, Path::new("/r"), &[m]);
        let calls = sys.take();
        assert_eq!(
            calls[1],
            Call::Mount(
                Some(PathBuf::from("overlay")),
                PathBuf::from("/r"),
                Some("overlay".into()),
                0,
                Some("lowerdir=/l,upperdir=/u,workdir=/w".into())
            )
        );
    }
}
