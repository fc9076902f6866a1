//! `RUN`: the command in a container of the stage's image (its user, working directory,
//! environment and the build's network and limits), its output streamed to the build's
//! progress, its changes committed as the step's layer.

use std::io::Read;
use std::process::Stdio;

use libruntime::ContainerStdio;

use super::{BuildEvent, BuildOptions};
use crate::engine::{ContainerRecord, Engine, Error, RunOptions};

/// Runs `cmd` in a new container of `image` with `env` added; streams its output and
/// returns the container and its exit code.
pub(super) fn run_container(
    engine: &Engine,
    opts: &BuildOptions,
    image: &str,
    config: &libimage::image::ContainerConfig,
    cmd: Vec<String>,
    env: Vec<String>,
    progress: &mut dyn FnMut(BuildEvent),
) -> Result<(ContainerRecord, i32), Error> {
    let o = RunOptions {
        image: image.to_string(),
        cmd,
        entrypoint: Some(Vec::new()),
        env,
        workdir: Some(config.working_dir.clone()).filter(|w| !w.is_empty()),
        user: Some(config.user.clone()).filter(|u| !u.is_empty()),
        network: opts.network.clone(),
        add_host: opts.add_hosts.clone(),
        host: opts.host.clone(),
        ..Default::default()
    };
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("pipe", "", e.into()))?;
    let mut reader = std::fs::File::from(reader);
    let writer2 = writer.try_clone().map_err(|e| Error::io("pipe", "", e))?;
    let stdio = ContainerStdio {
        stdin: Some(Stdio::null()),
        stdout: Some(Stdio::from(writer)),
        stderr: Some(Stdio::from(writer2)),
    };
    // `stdio` (our copies of the pipe's write end) is dropped once the monitor has its
    // own, so the read below ends when the container's program does.
    let c = engine.create_attached(&o, stdio)?;
    progress(BuildEvent::RunningIn(short_id(&c.id)));
    if let Err(e) = engine.start_container(&c.id) {
        let _ = engine.remove_container(&c.id, true);
        return Err(e);
    }
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => progress(BuildEvent::Output(buf[..n].to_vec())),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let code = engine.wait_container(&c.id)?;
    Ok((c, code))
}

/// Docker's short container ID.
pub(super) fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}
