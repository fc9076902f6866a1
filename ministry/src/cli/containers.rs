//! Container commands: `run`, `ps`, `rm`.

use std::process::Stdio;

use anyhow::Result;
use libruntime::ContainerStdio;
use ministry::{Engine, RunOptions};

use super::args::{PsArgs, RmArgs, RunArgs};
use super::output::{human_duration, table};

/// How a command ended: the process exit code and, for failures, the message to print.
pub enum Outcome {
    /// Exit with this code (the container's).
    Code(i32),
}

/// `run` in the foreground: the container gets this terminal's output (and input with
/// `-i`); the exit code is the container's (125 for engine errors, 126/127 when the
/// program cannot run, as Docker).
pub fn run(engine: &Engine, a: &RunArgs) -> Result<Outcome> {
    if a.detach {
        anyhow::bail!("detached mode (-d) is not supported yet: container logs arrive with the monitor's log writer");
    }
    if a.tty {
        anyhow::bail!("pseudo-TTY (-t) is not supported yet");
    }
    if a.network != "none" {
        anyhow::bail!("network {:?} is not supported yet (only \"none\"): bridge networking arrives with libnet", a.network);
    }
    let opts = RunOptions {
        image: a.image.clone(),
        cmd: a.cmd.clone(),
        entrypoint: a.entrypoint.clone(),
        env: a.env.clone(),
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        name: a.name.clone(),
        hostname: a.hostname.clone(),
        auto_remove: a.rm,
    };
    let stdio = ContainerStdio {
        stdin: Some(if a.interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        }),
        stdout: Some(Stdio::inherit()),
        stderr: Some(Stdio::inherit()),
    };
    let c = engine.create_container(&opts, stdio)?;
    let started = engine.start_container(&c.id);
    let code = engine.wait_container(&c.id)?;
    if let Err(e) = started {
        // The program could not be run: Docker's message, and its 126/127.
        eprintln!("ministry: Error response from daemon: {e}");
    }
    Ok(Outcome::Code(code))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        s.chars().take(n - 1).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

/// `ps`.
pub fn ps(engine: &Engine, a: &PsArgs) -> Result<()> {
    let mut rows = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    for c in engine.containers()? {
        let st = engine.container_state(&c)?;
        if !a.all && !st.running {
            continue;
        }
        let id = if a.no_trunc {
            c.id.clone()
        } else {
            c.id[..12].to_string()
        };
        if a.quiet {
            println!("{id}");
            continue;
        }
        let cmd = std::iter::once(c.path.clone())
            .chain(c.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let cmd = if a.no_trunc {
            format!("\"{cmd}\"")
        } else {
            format!("\"{}\"", truncate(&cmd, 20))
        };
        let state = engine.runtime().get(&c.id).and_then(|r| r.state()).ok();
        let since = |ns: Option<u64>| {
            ns.map(|n| {
                let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(n);
                human_duration(
                    std::time::SystemTime::now()
                        .duration_since(t)
                        .unwrap_or_default(),
                )
            })
            .unwrap_or_default()
        };
        let status = match st.status {
            "running" => format!("Up {}", since(state.as_ref().and_then(|s| s.started_ns))),
            "created" => "Created".to_string(),
            _ => format!(
                "Exited ({}) {} ago",
                st.exit_code.unwrap_or(0),
                since(state.as_ref().and_then(|s| s.finished_ns))
            ),
        };
        rows.push(vec![
            id,
            c.image.clone(),
            cmd,
            super::output::ago(&c.created),
            status,
            String::new(),
            c.name.clone(),
        ]);
    }
    if !a.quiet {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// `rm`: every container is attempted; exit code 1 if any failed.
pub fn rm(engine: &Engine, a: &RmArgs) -> Result<bool> {
    let mut ok = true;
    for n in &a.containers {
        match engine.remove_container(n, a.force) {
            Ok(_) => println!("{n}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                ok = false;
            }
        }
    }
    Ok(ok)
}
