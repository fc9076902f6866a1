//! `build`: the context and Dockerfile as Docker's CLI finds them, the engine's build
//! events printed as Docker's classic builder prints them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use ministry::{BuildContext, BuildEvent, BuildOptions, Engine, NetworkMode};

use super::args::BuildArgs;
use super::output::human_size_with_precision;
use super::ClientError;

fn client(msg: impl Into<String>) -> anyhow::Error {
    ClientError::error(msg, 1)
}

/// A tar (plain or compressed) rather than a Dockerfile, from its first bytes.
fn is_archive(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.starts_with(b"BZh")
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

/// `build`: returns the exit code.
pub fn build(engine: &Engine, a: &BuildArgs) -> Result<i32> {
    let mut opts = BuildOptions {
        tags: a.tag.clone(),
        no_cache: a.no_cache,
        remove: a.rm,
        force_remove: a.force_rm,
        target: a.target.clone(),
        pull: a.pull,
        network: NetworkMode::parse(&a.network),
        add_hosts: a.add_host.clone(),
        platform: a.platform.clone(),
        ..Default::default()
    };
    for t in &a.tag {
        if let Err(e) = ministry::Reference::parse(t) {
            return Err(ClientError::error(
                format!(
                    "invalid argument \"{t}\" for \"-t, --tag\" flag: {e}\nSee 'ministry build --help'."
                ),
                125,
            ));
        }
    }
    for h in &a.add_host {
        if let Err(why) = ministry::libnet::files::parse_add_host(h) {
            return Err(ClientError::error(
                format!("invalid argument \"{h}\" for \"--add-host\" flag: {why}\nSee 'ministry build --help'."),
                125,
            ));
        }
    }
    let mut args = BTreeMap::new();
    for b in &a.build_arg {
        match b.split_once('=') {
            Some((k, v)) => args.insert(k.to_string(), Some(v.to_string())),
            None => args.insert(b.clone(), std::env::var(b).ok()),
        };
    }
    opts.build_args = args;
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        opts.labels.insert(k.to_string(), v.to_string());
    }
    opts.host.memory = a
        .memory
        .as_deref()
        .map(|m| {
            ministry::parse_size(m).map_err(|e| {
                client(format!(
                    "invalid argument \"{m}\" for \"-m, --memory\" flag: {e}"
                ))
            })
        })
        .transpose()?
        .map(|v| v as i64);
    opts.host.cpu_shares = a.cpu_shares;
    opts.host.shm_size = a
        .shm_size
        .as_deref()
        .map(|m| {
            ministry::parse_size(m).map_err(|e| {
                client(format!(
                    "invalid argument \"{m}\" for \"--shm-size\" flag: {e}"
                ))
            })
        })
        .transpose()?;
    opts.host.ulimits = a
        .ulimit
        .iter()
        .map(|u| {
            ministry::parse_ulimit(u).map_err(|why| {
                client(format!(
                    "invalid argument \"{u}\" for \"--ulimit\" flag: {why}"
                ))
            })
        })
        .collect::<Result<_>>()?;

    let context = if a.context == "-" {
        if a.file.as_deref() == Some("-") {
            return Err(client(
                "invalid argument: can't use stdin for both build context and dockerfile",
            ));
        }
        let mut head = Vec::new();
        let mut stdin = std::io::stdin();
        (&mut stdin)
            .take(512)
            .read_to_end(&mut head)
            .map_err(|e| client(format!("unable to read the build context: {e}")))?;
        if is_archive(&head) {
            if let Some(f) = a.file.as_deref() {
                opts.dockerfile = Some(f.to_string());
            }
            BuildContext::Archive(Box::new(std::io::Cursor::new(head).chain(stdin)))
        } else {
            let mut text = head;
            stdin
                .read_to_end(&mut text)
                .map_err(|e| client(format!("unable to read the Dockerfile: {e}")))?;
            opts.dockerfile_text = Some(String::from_utf8_lossy(&text).into_owned());
            BuildContext::Empty
        }
    } else if a.context.starts_with("http://") || a.context.starts_with("https://") {
        if let Some(f) = a.file.as_deref().filter(|f| *f != "-") {
            opts.dockerfile = Some(f.to_string());
        }
        BuildContext::Remote(a.context.clone())
    } else {
        let dir = PathBuf::from(&a.context);
        let meta = std::fs::metadata(&dir).map_err(|_| {
            client(format!(
                "unable to prepare context: path \"{}\" not found",
                a.context
            ))
        })?;
        if !meta.is_dir() {
            return Err(client(format!(
                "unable to prepare context: context must be a directory: {}",
                absolute(&dir).display()
            )));
        }
        match a.file.as_deref() {
            Some("-") => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| client(format!("unable to read the Dockerfile: {e}")))?;
                opts.dockerfile_text = Some(text);
            }
            f => {
                let path = match f {
                    Some(f) => PathBuf::from(f),
                    None => dir.join("Dockerfile"),
                };
                let abs = absolute(&path);
                if std::fs::symlink_metadata(&abs).is_err() {
                    return Err(client(format!(
                        "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                        abs.display()
                    )));
                }
                let root = absolute(&dir);
                match abs.strip_prefix(&root) {
                    Ok(rel) if !rel.as_os_str().is_empty() => {
                        opts.dockerfile = Some(rel.to_string_lossy().into_owned());
                    }
                    _ => {
                        // A Dockerfile outside the context travels on its own.
                        let text = std::fs::read_to_string(&abs).map_err(|e| {
                            client(format!("unable to prepare context: {}: {e}", abs.display()))
                        })?;
                        opts.dockerfile_text = Some(text);
                    }
                }
            }
        }
        BuildContext::Dir(dir)
    };

    let quiet = a.quiet;
    let mut out = std::io::stdout().lock();
    let mut buffered: Vec<u8> = Vec::new();
    let mut started = false;
    let result = engine.build(&opts, context, &mut |ev| {
        let line = match ev {
            BuildEvent::Context(n) => format!(
                "Sending build context to Docker daemon  {}\n",
                human_size_with_precision(n, 4)
            ),
            BuildEvent::Output(b) => {
                if quiet {
                    buffered.extend_from_slice(&b);
                } else {
                    let _ = out.write_all(&b);
                    let _ = out.flush();
                }
                return;
            }
            ev => {
                if matches!(ev, BuildEvent::Step { .. }) {
                    started = true;
                }
                ev.classic_line().unwrap_or_default()
            }
        };
        if quiet {
            buffered.extend_from_slice(line.as_bytes());
        } else {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    });
    drop(out);
    match result {
        Ok(img) => {
            if quiet {
                println!("{}", img.id);
            }
            if let Some(f) = &a.iidfile {
                std::fs::write(f, img.id.to_string())
                    .map_err(|e| client(format!("failed to write image ID to file: {e}")))?;
            }
            Ok(0)
        }
        Err(e) => {
            if quiet {
                let _ = std::io::stderr().write_all(&buffered);
            }
            let code = match &e {
                ministry::Error::Build { code, .. } => (*code).max(1),
                _ => 1,
            };
            if started {
                eprintln!("{}", e.text());
            } else {
                eprintln!("Error response from daemon: {}", e.text());
            }
            Ok(code)
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
