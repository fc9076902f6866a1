//! Helpers shared by libimage's integration tests: crafting tars byte by byte (including
//! hostile ones a normal tar writer refuses to produce) and requiring root.
#![allow(dead_code)]

use std::path::Path;

/// Fails (never skips) when the test is not run as root.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (it mounts or chowns); run the suite as root"
    );
}

/// Builds a tar archive entry by entry from raw fields.
#[derive(Default)]
pub struct RawTar {
    out: Vec<u8>,
}

/// Entry type flags.
pub const REG: u8 = b'0';
pub const HARD: u8 = b'1';
pub const SYM: u8 = b'2';
pub const CHR: u8 = b'3';
pub const DIR: u8 = b'5';
pub const FIFO: u8 = b'6';

impl RawTar {
    pub fn new() -> Self {
        RawTar::default()
    }

    fn header(name: &[u8], typ: u8, size: u64, link: &[u8], mode: u32, mtime: u64) -> [u8; 512] {
        let mut h = [0u8; 512];
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name[..n]);
        let oct = |buf: &mut [u8], v: u64| {
            let s = format!("{:0width$o}\0", v, width = buf.len() - 1);
            buf.copy_from_slice(s.as_bytes());
        };
        oct(&mut h[100..108], mode as u64);
        oct(&mut h[108..116], 0);
        oct(&mut h[116..124], 0);
        oct(&mut h[124..136], size);
        oct(&mut h[136..148], mtime);
        h[156] = typ;
        let l = link.len().min(100);
        h[157..157 + l].copy_from_slice(&link[..l]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        let s = format!("{:06o}\0 ", sum);
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    fn push(&mut self, header: [u8; 512], data: &[u8]) {
        self.out.extend_from_slice(&header);
        self.out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.out.extend(std::iter::repeat_n(0u8, pad));
    }

    /// An entry with explicit fields.
    pub fn entry(mut self, name: &str, typ: u8, data: &[u8], link: &str, mode: u32) -> Self {
        let h = Self::header(
            name.as_bytes(),
            typ,
            data.len() as u64,
            link.as_bytes(),
            mode,
            1_600_000_000,
        );
        self.push(h, data);
        self
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.entry(name, REG, data, "", 0o644)
    }
    pub fn dir(self, name: &str) -> Self {
        self.entry(name, DIR, b"", "", 0o755)
    }
    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.entry(name, SYM, b"", target, 0o777)
    }
    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.entry(name, HARD, b"", target, 0o644)
    }

    /// A GNU long-name ('L') record followed by a file whose header name is `short`.
    pub fn gnu_long_name(mut self, long: &str, short: &str, data: &[u8]) -> Self {
        let mut name = long.as_bytes().to_vec();
        name.push(0);
        let h = Self::header(b"././@LongLink", b'L', name.len() as u64, b"", 0o644, 0);
        self.push(h, &name);
        self.file(short, data)
    }

    /// A PAX ('x') record with `records`, then an entry with a header size of
    /// `header_size` and `data` as its body.
    pub fn pax(
        mut self,
        records: &[(&str, &str)],
        name: &str,
        typ: u8,
        header_size: u64,
        data: &[u8],
    ) -> Self {
        let mut body = Vec::new();
        for (k, v) in records {
            let rec = format!(" {k}={v}\n");
            let mut len = rec.len() + 1;
            loop {
                let l = format!("{len}{rec}").len();
                if l == len {
                    break;
                }
                len = l;
            }
            body.extend_from_slice(format!("{len}{rec}").as_bytes());
        }
        let h = Self::header(b"PaxHeader", b'x', body.len() as u64, b"", 0o644, 0);
        self.push(h, &body);
        let h = Self::header(name.as_bytes(), typ, header_size, b"", 0o644, 1_600_000_000);
        self.push(h, data);
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend(std::iter::repeat_n(0u8, 1024));
        self.out
    }
}

/// Every path under `dir`, relative, sorted (for "nothing changed outside" checks).
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().display().to_string());
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(base, &p, out);
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Moves the calling thread into a new, private mount namespace so the test's mounts are
/// invisible to the host and disappear when the thread ends.
pub fn private_mount_ns() {
    require_root();
    // SAFETY: unshare/mount with valid arguments; affects only this thread.
    unsafe {
        assert_eq!(
            libc::unshare(libc::CLONE_NEWNS),
            0,
            "unshare: {}",
            std::io::Error::last_os_error()
        );
        let r = libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        );
        assert_eq!(r, 0, "make / private: {}", std::io::Error::last_os_error());
    }
}

/// Unmounts on drop.
pub struct MountGuard(pub std::path::PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = libimage::snapshot::mount::unmount(&self.0);
    }
}
