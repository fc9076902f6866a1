//! `pull`, `push`, `login`, `logout`, `search`, and the pull `run`/`create` do for a
//! missing image, with Docker's progress: lines redrawn per layer on a terminal
//! ([`super::progress`]), plain lines elsewhere.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use anyhow::{bail, Result};
use libregistry::{LayerState, Progress, PullOptions};

use super::progress::{LayerBars, Stream};
use ministry::Engine;

use super::args::{LoginArgs, LogoutArgs, PullArgs, PushArgs, SearchArgs};

/// Docker's rule for "Using default tag": no tag or digest in the last path component.
fn default_tag(name: &str) -> bool {
    !name.contains('@') && !name.rsplit('/').next().unwrap_or(name).contains(':')
}

fn short(d: &libimage::Digest) -> String {
    d.hex()[..12].to_string()
}

/// Pulls `name`, writing Docker's lines to `out`, which is `stream` (stdout for `pull`,
/// stderr for `run`).
pub fn pull_to(
    engine: &Engine,
    name: &str,
    platform: Option<&str>,
    quiet: bool,
    out: &mut (dyn Write + Send),
    stream: Stream,
) -> Result<()> {
    let r = libimage::Reference::parse(name)?;
    if !quiet && default_tag(name) {
        writeln!(out, "Using default tag: latest")?;
    }
    // "TAG: Pulling from REPO" once the registry answered (as Docker: not before a failure).
    let what = r
        .tag()
        .map(str::to_string)
        .or_else(|| r.digest().map(|d| d.to_string()))
        .unwrap_or_default();
    let header = Mutex::new(Some(format!("{what}: Pulling from {}", r.path())));
    let present = Mutex::new(std::collections::HashSet::<libimage::Digest>::new());
    let bars = if quiet { None } else { LayerBars::on(stream) };
    let out = Mutex::new(out);
    let progress = |p: Progress| {
        if quiet {
            return;
        }
        if let Some(h) = header.lock().expect("lock").take() {
            let _ = writeln!(out.lock().expect("lock"), "{h}");
        }
        let Progress::Layer {
            digest,
            state,
            done,
            total,
        } = p
        else {
            return;
        };
        if state == LayerState::AlreadyExists {
            present.lock().expect("lock").insert(digest.clone());
        } else if present.lock().expect("lock").contains(&digest) {
            return;
        }
        if let Some(b) = &bars {
            let id = short(&digest);
            match state {
                LayerState::AlreadyExists => b.set(&id, "Already exists", None, true),
                LayerState::Downloading if done == 0 => b.set(&id, "Pulling fs layer", None, false),
                LayerState::Downloading => b.set(&id, "Downloading", Some((done, total)), false),
                LayerState::DownloadComplete => b.set(&id, "Download complete", None, false),
                LayerState::Extracting => b.set(&id, "Extracting", Some((done, total)), false),
                LayerState::PullComplete => b.set(&id, "Pull complete", None, true),
                _ => {}
            }
            return;
        }
        let text = match state {
            LayerState::AlreadyExists => "Already exists",
            LayerState::Downloading if done == 0 => "Pulling fs layer",
            LayerState::DownloadComplete => "Download complete",
            LayerState::PullComplete => "Pull complete",
            _ => return,
        };
        let line = format!("{}: {text}", short(&digest));
        let mut o = out.lock().expect("lock");
        let _ = writeln!(o, "{line}");
    };
    let pulled = engine.pull_image(
        name,
        &PullOptions {
            platform: platform.map(str::to_string),
        },
        &progress,
    );
    if let Some(b) = &bars {
        b.finish();
    }
    let pulled = pulled?;
    let o = out.into_inner().expect("lock");
    if !quiet {
        writeln!(o, "Digest: {}", pulled.digest)?;
        writeln!(
            o,
            "Status: {} for {}",
            if pulled.updated {
                "Downloaded newer image"
            } else {
                "Image is up to date"
            },
            r.familiar()
        )?;
    }
    writeln!(o, "{r}")?;
    Ok(())
}

/// `pull`.
pub fn pull(engine: &Engine, a: &PullArgs) -> Result<()> {
    if a.all_tags {
        let r = libimage::Reference::parse(&a.name)?;
        if !default_tag(&a.name) {
            bail!("tag can't be used with --all-tags/-a");
        }
        for tag in engine.list_tags(&r)? {
            let name = format!("{}:{tag}", r.familiar_repository());
            pull_to(
                engine,
                &name,
                a.platform.as_deref(),
                a.quiet,
                &mut std::io::stdout(),
                Stream::Stdout,
            )?;
        }
        return Ok(());
    }
    pull_to(
        engine,
        &a.name,
        a.platform.as_deref(),
        a.quiet,
        &mut std::io::stdout(),
        Stream::Stdout,
    )
}

/// Pulls the image of `run`/`create` if it is not here, as Docker does (on stderr).
pub fn ensure_image(engine: &Engine, name: &str, platform: Option<&str>) -> Result<()> {
    match engine.images().resolve(name) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == libimage::ErrorKind::NotFound => {
            let familiar = libimage::Reference::parse(name)
                .map(|r| r.familiar())
                .unwrap_or_else(|_| name.to_string());
            eprintln!("Unable to find image '{familiar}' locally");
            let mut err = std::io::stderr();
            pull_to(engine, name, platform, false, &mut err, Stream::Stderr).map(drop)
        }
        Err(e) => Err(e.into()),
    }
}

/// `push`.
pub fn push(engine: &Engine, a: &PushArgs) -> Result<()> {
    let r = libimage::Reference::parse(&a.name)?;
    if r.digest().is_some() {
        bail!("cannot push a digest reference");
    }
    if default_tag(&a.name) && !a.quiet {
        println!("Using default tag: latest");
    }
    if !a.quiet {
        println!(
            "The push refers to repository [{}]",
            r.familiar_repository()
        );
    }
    // Docker names layers by their diff IDs here, top layer first.
    let diff_ids: HashMap<libimage::Digest, libimage::Digest> = engine
        .images()
        .resolve(&r.to_string())
        .map(|i| {
            i.layers
                .iter()
                .map(|l| (l.blob.clone(), l.diff_id.clone()))
                .collect()
        })
        .unwrap_or_default();
    let out = Mutex::new(std::io::stdout());
    let bars = if a.quiet {
        None
    } else {
        LayerBars::on(Stream::Stdout)
    };
    let progress = |p: Progress| {
        let Progress::Layer {
            digest,
            state,
            done,
            total,
        } = p
        else {
            return;
        };
        if a.quiet {
            return;
        }
        let id = short(diff_ids.get(&digest).unwrap_or(&digest));
        if let Some(b) = &bars {
            match state {
                LayerState::Pushing if done == 0 => b.set(&id, "Preparing", None, false),
                LayerState::Pushing => b.set(&id, "Pushing", Some((done, total)), false),
                LayerState::Pushed => b.set(&id, "Pushed", None, true),
                LayerState::AlreadyExists => b.set(&id, "Layer already exists", None, true),
                LayerState::Mounted => b.set(&id, "Mounted from another repository", None, true),
                _ => {}
            }
            return;
        }
        let text = match state {
            LayerState::Pushing if done == 0 => "Preparing",
            LayerState::Pushed => "Pushed",
            LayerState::AlreadyExists => "Layer already exists",
            LayerState::Mounted => "Mounted from another repository",
            _ => return,
        };
        let _ = writeln!(out.lock().expect("lock"), "{id}: {text}");
    };
    let pushed = engine.push_image(&a.name, &progress);
    if let Some(b) = &bars {
        b.finish();
    }
    let pushed = pushed?;
    if a.quiet {
        println!("{r}");
    } else {
        println!(
            "{}: digest: {} size: {}",
            pushed.tag, pushed.digest, pushed.size
        );
    }
    Ok(())
}

/// `login`: verifies, then stores; `Login Succeeded`.
pub fn login(engine: &Engine, a: &LoginArgs) -> Result<()> {
    let server = a
        .server
        .clone()
        .unwrap_or_else(|| libregistry::auth::DOCKER_HUB_KEY.to_string());
    let Some(username) = a.username.clone() else {
        bail!("Cannot perform an interactive login from a non TTY device");
    };
    let password = if a.password_stdin {
        if a.password.is_some() {
            bail!("--password and --password-stdin are mutually exclusive");
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = &a.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p.clone()
    } else if std::io::stdin().is_terminal() {
        bail!("password prompts are not supported yet; use --password-stdin");
    } else {
        bail!("Cannot perform an interactive login from a non TTY device");
    };
    if password.is_empty() {
        bail!("Error: Password Required");
    }
    engine.login(&server, &libregistry::Credentials { username, password })?;
    println!("Login Succeeded");
    Ok(())
}

/// `logout`.
pub fn logout(engine: &Engine, a: &LogoutArgs) -> Result<()> {
    let server = a
        .server
        .clone()
        .unwrap_or_else(|| libregistry::auth::DOCKER_HUB_KEY.to_string());
    if engine.logout(&server)? {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(())
}

/// `search TERM` (or `host:port/TERM` for a private registry's catalog).
pub fn search(engine: &Engine, a: &SearchArgs) -> Result<()> {
    let (host, term) = match a.term.split_once('/') {
        Some((h, t)) if h.contains(['.', ':']) || h == "localhost" => {
            (h.to_string(), t.to_string())
        }
        _ => ("docker.io".to_string(), a.term.clone()),
    };
    let results = engine.search(&host, &term, a.limit)?;
    if let Some(f) = &a.format {
        let objects: Vec<serde_json::Value> = results
            .iter()
            .map(|r| serde_json::json!({"Name": r.name, "Description": r.description, "StarCount": r.star_count, "IsOfficial": r.is_official, "IsAutomated": r.is_automated}))
            .collect();
        let headers = serde_json::json!({"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED"});
        print!("{}", super::template::format_rows(f, &headers, &objects)?);
        return Ok(());
    }
    let mut rows = vec![["NAME", "DESCRIPTION", "STARS", "OFFICIAL", "AUTOMATED"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for r in results {
        rows.push(vec![
            r.name,
            r.description,
            r.star_count.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    print!("{}", super::output::table(&rows));
    Ok(())
}
