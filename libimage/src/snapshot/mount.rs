//! Mounting the mounts a snapshotter returns (for export, diff, commit and tests; container
//! roots are mounted by libruntime).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use oci_spec::runtime::Mount;

use crate::error::{Error, Result};

fn c(p: &[u8]) -> Result<CString> {
    CString::new(p).map_err(|_| Error::InvalidArgument("NUL byte in a mount argument".into()))
}

/// Mounts `mounts` (destination `/`) on `target`, in order.
pub fn mount_all(mounts: &[Mount], target: &Path) -> Result<()> {
    for m in mounts {
        let typ = m.typ().as_deref().unwrap_or("bind");
        let src = m
            .source()
            .as_ref()
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .unwrap_or_default();
        let opts = m.options().clone().unwrap_or_default();
        let tgt = c(target.as_os_str().as_bytes())?;
        let srcc = c(&src)?;
        let ro = opts.iter().any(|o| o == "ro");
        if typ == "bind" {
            let mut flags = libc::MS_BIND;
            if opts.iter().any(|o| o == "rbind") {
                flags |= libc::MS_REC;
            }
            // SAFETY: valid C strings.
            let r = unsafe {
                libc::mount(
                    srcc.as_ptr(),
                    tgt.as_ptr(),
                    std::ptr::null(),
                    flags,
                    std::ptr::null(),
                )
            };
            if r != 0 {
                return Err(Error::io(
                    "bind mount",
                    target,
                    std::io::Error::last_os_error(),
                ));
            }
            if ro {
                let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                // SAFETY: valid C strings.
                let r = unsafe {
                    libc::mount(
                        std::ptr::null(),
                        tgt.as_ptr(),
                        std::ptr::null(),
                        flags,
                        std::ptr::null(),
                    )
                };
                if r != 0 {
                    return Err(Error::io(
                        "remount read-only",
                        target,
                        std::io::Error::last_os_error(),
                    ));
                }
            }
        } else {
            let data: Vec<&str> = opts
                .iter()
                .filter(|o| o.as_str() != "ro" && o.as_str() != "rw")
                .map(String::as_str)
                .collect();
            let data = c(data.join(",").as_bytes())?;
            let t = c(typ.as_bytes())?;
            let flags = if ro { libc::MS_RDONLY } else { 0 };
            // SAFETY: valid C strings.
            let r = unsafe {
                libc::mount(
                    srcc.as_ptr(),
                    tgt.as_ptr(),
                    t.as_ptr(),
                    flags,
                    data.as_ptr().cast(),
                )
            };
            if r != 0 {
                return Err(Error::io("mount", target, std::io::Error::last_os_error()));
            }
        }
    }
    Ok(())
}

/// Unmounts `target` (detaching it if busy).
pub fn unmount(target: &Path) -> Result<()> {
    let t = c(target.as_os_str().as_bytes())?;
    // SAFETY: valid C string.
    let r = unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
    if r != 0 {
        return Err(Error::io(
            "unmount",
            target,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
