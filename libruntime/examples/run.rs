//! Runs a command in a container made from a directory, with nothing but libruntime:
//! `sudo cargo run -p libruntime --example run -- ROOTFS COMMAND [ARGS...]`
//! (ROOTFS: any directory tree, e.g. the one scripts/mkbusybox.sh builds).
use std::process::Stdio;

use libruntime::{docker_default, ContainerStdio, CreateOptions, Helper, Runtime};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // This program is also the monitor helper: when started as one, this never returns.
    libruntime::maybe_run();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rootfs, cmd) = args
        .split_first()
        .ok_or("usage: run ROOTFS COMMAND [ARGS...]")?;
    let rootfs = std::fs::canonicalize(rootfs)?;
    let state = std::env::temp_dir().join(format!("libruntime-example-{}", std::process::id()));
    let rt = Runtime::new(&state, Helper::CurrentExe)?;
    let spec = docker_default(rootfs.to_str().ok_or("rootfs path is not UTF-8")?, cmd)?;
    let stdio = ContainerStdio {
        stdin: Some(Stdio::inherit()),
        stdout: Some(Stdio::inherit()),
        stderr: Some(Stdio::inherit()),
    };
    let c = rt.create(
        "example",
        &spec,
        CreateOptions {
            stdio,
            ..Default::default()
        },
    )?;
    c.start()?;
    let code = c.wait()?;
    c.delete(false)?;
    std::fs::remove_dir_all(&state)?;
    std::process::exit(code);
}
