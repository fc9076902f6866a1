//! Whether a path is a mount point, from `/proc/thread-self/mountinfo` (the calling thread's mount namespace).

use std::path::Path;

use crate::error::{Error, Result};

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Whether `path` (absolute, without symlinks) is the mount point of a mount in this
/// process's mount namespace.
pub fn is_mount_point(path: &Path) -> Result<bool> {
    let info = std::fs::read_to_string("/proc/thread-self/mountinfo")
        .map_err(|e| Error::io("read", "/proc/thread-self/mountinfo", e))?;
    let want = path.as_os_str().as_encoded_bytes();
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| unescape(mp) == want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/a\040b"), b"/a b");
        assert_eq!(unescape(r"/a\\"), br"/a\\");
        assert!(is_mount_point(Path::new("/")).unwrap());
    }
}
