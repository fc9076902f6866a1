//! `export` and `diff` of snapshots, read without mounting (see `crate::tree`).

use std::io::Write;

use crate::error::Result;
use crate::image::ImageRecord;
use crate::tree::{changes, write_tree_tar, Change, Layers};

use super::ImageService;

impl ImageService {
    /// Writes the merged root file system of snapshot `key` (active, view or committed) as a
    /// tar stream, as `docker export` does for a container.
    pub fn export_snapshot(&self, key: &str, out: &mut dyn Write) -> Result<()> {
        let dirs = self.snapshotter.layer_dirs(key)?;
        write_tree_tar(&Layers::open(&dirs, self.snapshotter.layered())?, out)
    }

    /// Writes an image's merged root file system as a tar stream.
    pub fn export_image(&self, image: &ImageRecord, out: &mut dyn Write) -> Result<()> {
        match self.top_snapshot(image) {
            Some(top) => self.export_snapshot(&top, out),
            None => write_tree_tar(&Layers::open(&[], false)?, out),
        }
    }

    /// Reads a small file (at most 1 MiB) of snapshot `key`'s merged view without mounting
    /// it, never following a link (`/etc/passwd` for `--user NAME`).
    pub fn read_snapshot_file(&self, key: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let dirs = self.snapshotter.layer_dirs(key)?;
        let rel = std::path::Path::new(path.trim_start_matches('/'));
        Layers::open(&dirs, self.snapshotter.layered())?.read_file(rel, 1 << 20)
    }

    /// Copies the directory `path` of snapshot `key`'s merged view into the directory
    /// `dest` with owners, modes, times and links as they are (Docker's copy-up of image
    /// content into a new volume). Read fd-relative without following any link of the
    /// snapshot, written by the layer extractor, which never writes outside `dest`; `dest`
    /// itself takes the source directory's owner and mode. `Ok(false)` (nothing copied) if
    /// `path` is absent or not a directory there.
    pub fn copy_dir_out(&self, key: &str, path: &str, dest: &std::path::Path) -> Result<bool> {
        use std::os::fd::{FromRawFd, OwnedFd};
        let dirs = self.snapshotter.layer_dirs(key)?;
        let layers = Layers::open(&dirs, self.snapshotter.layered())?;
        let rel = std::path::Path::new(path.trim_start_matches('/'));
        let Some(st) = layers.stat(rel, 0)? else {
            return Ok(false);
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Ok(false);
        }
        let mut fds = [0; 2];
        // SAFETY: valid array for two fds.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(crate::Error::io(
                "pipe",
                dest,
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: pipe2 just returned these fds; each is owned once.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let (found, applied) = std::thread::scope(|sc| {
            let writer = sc.spawn(move || {
                let mut out = std::io::BufWriter::new(std::fs::File::from(w));
                let found = crate::tree::write_subtree_tar(&layers, rel, &mut out)?;
                std::io::Write::flush(&mut out)
                    .map_err(|e| crate::Error::io("write", "pipe", e))?;
                Ok::<bool, crate::Error>(found)
            });
            let applied = crate::layer::apply_layer(
                std::fs::File::from(r),
                dest,
                &crate::layer::ApplyOptions::default(),
            );
            (writer.join().expect("copy thread"), applied)
        });
        if !found? {
            return Ok(false);
        }
        applied?;
        let d = std::ffi::CString::new(dest.as_os_str().as_encoded_bytes())
            .map_err(|_| crate::Error::io("open", dest, std::io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: valid NUL-terminated path; plain chown/chmod of the destination itself.
        unsafe {
            if libc::geteuid() == 0 && libc::chown(d.as_ptr(), st.st_uid, st.st_gid) != 0 {
                return Err(crate::Error::io(
                    "chown",
                    dest,
                    std::io::Error::last_os_error(),
                ));
            }
            if libc::chmod(d.as_ptr(), st.st_mode & 0o7777) != 0 {
                return Err(crate::Error::io(
                    "chmod",
                    dest,
                    std::io::Error::last_os_error(),
                ));
            }
        }
        Ok(true)
    }

    /// What changed in snapshot `key` against its parent (`docker diff`), sorted by path.
    pub fn changes(&self, key: &str) -> Result<Vec<Change>> {
        let dirs = self.snapshotter.layer_dirs(key)?;
        if self.snapshotter.layered() {
            changes(&dirs[0], &dirs[1..], true)
        } else {
            let lower = match self.snapshotter.stat(key)?.parent {
                Some(p) => self.snapshotter.layer_dirs(&p)?,
                None => Vec::new(),
            };
            changes(&dirs[0], &lower, false)
        }
    }

    /// Writes the changes of snapshot `key` as a layer tar (for `commit`); returns them.
    pub fn changes_tar(&self, key: &str, out: &mut dyn Write) -> Result<Vec<Change>> {
        self.changes_tar_clamped(key, out, None)
    }

    /// [`ImageService::changes_tar`] with entry times at most `epoch` (reproducible
    /// builds: `SOURCE_DATE_EPOCH`).
    pub fn changes_tar_clamped(
        &self,
        key: &str,
        out: &mut dyn Write,
        epoch: Option<u64>,
    ) -> Result<Vec<Change>> {
        let c = self.changes(key)?;
        let dirs = self.snapshotter.layer_dirs(key)?;
        crate::tree::write_changes_tar_clamped(
            &Layers::open(&dirs, self.snapshotter.layered())?,
            &c,
            out,
            epoch,
        )?;
        Ok(c)
    }
}
