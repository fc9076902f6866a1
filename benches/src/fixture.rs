//! What several benchmarks set up: the release `ministry` binary beside this one, and a
//! busybox root file system (and its tar) made by scripts/mkbusybox.sh.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};

/// The `ministry` binary built beside this benchmark binary.
pub fn ministry_binary() -> Result<PathBuf> {
    let ministry = std::env::current_exe()?
        .parent()
        .context("exe dir")?
        .join("ministry");
    ensure!(
        ministry.exists(),
        "build the ministry binary first: cargo build --release -p ministry"
    );
    Ok(ministry)
}

/// The `ministry` binary `bin` on a private data root and run-state root under `dir`, in
/// the cgroup parent `ministry-bench`, ignoring the machine's daemon.json.
pub fn ministry_in(bin: &Path, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.arg("--root")
        .arg(dir.join("m-root"))
        .arg("--exec-root")
        .arg(dir.join("m-run"))
        .arg("--cgroup-parent")
        .arg("ministry-bench")
        .arg("--config-file")
        .arg(dir.join("none.json"));
    c
}

/// A busybox root file system at `rootfs` and its tar at `tar`.
pub fn busybox(rootfs: &Path, tar: &Path) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mkbusybox.sh");
    ensure!(
        Command::new("bash")
            .arg(script)
            .arg(rootfs)
            .status()?
            .success(),
        "mkbusybox.sh failed"
    );
    ensure!(
        Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .arg("-cf")
            .arg(tar)
            .arg(".")
            .status()?
            .success(),
        "tar failed"
    );
    Ok(())
}
