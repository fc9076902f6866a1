//! `cp` between a container and the host.

use anyhow::{bail, Result};
use ministry::Engine;

use crate::cli::args::CpArgs;

/// Splits Docker's `CONTAINER:PATH` (a colon before any slash); `None` for a local path.
fn container_path(s: &str) -> Option<(&str, &str)> {
    let (c, p) = s.split_once(':')?;
    (!c.is_empty() && !c.contains('/')).then_some((c, p))
}

/// `cp`: between a container (running or not) and the host, either way; `-` for a tar
/// stream on stdout or stdin.
pub fn cp(engine: &Engine, a: &CpArgs) -> Result<()> {
    // `-a`: Docker 20.10 gives the same owners with or without it (into a container the
    // source's, out of one the user's), and so do we.
    let _ = a.archive;
    match (container_path(&a.src), container_path(&a.dest)) {
        (Some((c, p)), None) if a.dest == "-" => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            engine.copy_tar_from_container(c, p, &mut out, a.follow_link)?;
            Ok(std::io::Write::flush(&mut out)?)
        }
        (None, Some((c, p))) if a.src == "-" => {
            Ok(engine.copy_tar_to_container(c, &mut std::io::stdin(), p, &a.dest)?)
        }
        (Some((c, p)), None) => {
            Ok(engine.copy_from_container(c, p, std::path::Path::new(&a.dest), a.follow_link)?)
        }
        (None, Some((c, p))) => {
            Ok(engine.copy_to_container(c, std::path::Path::new(&a.src), p, a.follow_link)?)
        }
        (Some(_), Some(_)) => bail!("copying between containers is not supported"),
        (None, None) => bail!("must specify at least one container source"),
    }
}
