//! `exec`: a program run in a running container.

use std::io::IsTerminal;
use std::process::Stdio;

use anyhow::Result;
use libruntime::ContainerStdio;
use ministry::Engine;

use super::options::{flag_error, resolve_env};
use super::terminal::{terminal_size, RawMode};
use super::Outcome;
use crate::cli::args::ExecArgs;

/// `exec`: the program's exit code (126 when it cannot start; 1 for engine errors, as
/// Docker's exec).
pub fn exec(engine: &Engine, a: &ExecArgs) -> Result<Outcome> {
    if let Some(e) = a.env.iter().find(|e| e.starts_with('=')) {
        return Err(flag_error(
            e,
            "-e, --env",
            format!("invalid environment variable: {e}"),
        ));
    }
    if a.tty && a.interactive && !a.detach && !std::io::stdin().is_terminal() {
        engine.container(&a.container)?;
        return Err(crate::cli::ClientError::error(
            "the input device is not a TTY",
            1,
        ));
    }
    let o = ministry::ExecOptions {
        cmd: a.cmd.clone(),
        env: a.env.iter().map(|e| resolve_env(e)).collect(),
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        detach: a.detach,
        tty: a.tty,
        console_size: if a.tty { terminal_size() } else { None },
        privileged: a.privileged,
    };
    let _raw = (a.tty && a.interactive && !a.detach)
        .then(RawMode::enter)
        .flatten();
    let stdio = if a.detach {
        ContainerStdio::default()
    } else {
        ContainerStdio {
            stdin: Some(if a.interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            }),
            stdout: Some(Stdio::inherit()),
            stderr: Some(Stdio::inherit()),
        }
    };
    match engine.exec_container(&a.container, &o, stdio) {
        Ok(code) => Ok(Outcome::Code(code)),
        // The runtime's refusal to start the program, as Docker prints it (on stdout).
        Err(e @ ministry::Error::UnknownUser(_)) => {
            println!("{e}");
            Ok(Outcome::Code(e.exit_code().unwrap_or(126)))
        }
        Err(e) => Err(e.into()),
    }
}
