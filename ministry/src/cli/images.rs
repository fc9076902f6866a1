//! Image commands: turn parsed arguments into engine calls and print Docker's output.

use std::io::Write;

use anyhow::{bail, Result};
use libimage::service::ImportOptions;
use libimage::Reference;
use ministry::Engine;

use super::args::*;
use super::output::{ago, human_size, table};

fn id_column(id: &libimage::Digest, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id.short().to_string()
    }
}

/// `images`.
pub fn images(engine: &Engine, a: &ImagesArgs) -> Result<()> {
    let listed = engine.list_images(&a.filter, a.repository.as_deref(), a.all)?;
    let mut rows = vec![];
    let mut header = vec!["REPOSITORY".to_string(), "TAG".into()];
    if a.digests {
        header.push("DIGEST".into());
    }
    header.extend(["IMAGE ID".into(), "CREATED".into(), "SIZE".into()]);
    rows.push(header);
    let mut ids = Vec::new();
    let mut objects = Vec::new();
    for ministry::ImageSummary {
        image: img,
        created,
        names,
    } in &listed
    {
        let created = created.as_str();
        let mut names = names.clone();
        if names.is_empty() {
            names.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in names {
            if !ids.contains(&img.id) {
                ids.push(img.id.clone());
            }
            let mut row = vec![repo.clone(), tag];
            if a.digests {
                let d = img
                    .repo_digests
                    .iter()
                    .filter_map(|d| Reference::parse(d).ok())
                    .find(|r| r.familiar_repository() == repo)
                    .and_then(|r| r.digest().map(|d| d.to_string()));
                row.push(d.unwrap_or_else(|| "<none>".into()));
            }
            row.extend([
                id_column(&img.id, a.no_trunc),
                ago(created),
                human_size(img.size()),
            ]);
            objects.push(serde_json::json!({
                "Repository": row[0], "Tag": row[1],
                "Digest": if a.digests { row[2].clone() } else { "<none>".to_string() },
                "ID": id_column(&img.id, a.no_trunc), "CreatedSince": ago(created), "CreatedAt": super::output::go_time(created),
                "Size": human_size(img.size()), "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A",
                "VirtualSize": super::output::human_size_with_precision(img.size(), 4),
            }));
            rows.push(row);
        }
    }
    let mut out = std::io::stdout().lock();
    if let Some(f) = a.format.as_deref().filter(|f| !a.quiet && *f != "table") {
        let headers = serde_json::json!({"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"});
        out.write_all(super::template::format_rows(f, &headers, &objects)?.as_bytes())?;
        return Ok(());
    }
    if a.quiet {
        for id in ids {
            writeln!(out, "{}", id_column(&id, a.no_trunc))?;
        }
    } else {
        out.write_all(table(&rows).as_bytes())?;
    }
    Ok(())
}

/// `import`.
pub fn import(engine: &Engine, a: &ImportArgs) -> Result<()> {
    let reference = a
        .reference
        .as_deref()
        .map(Reference::parse)
        .transpose()
        .map_err(|e| super::ClientError::error(e.to_string(), 1))?;
    let mut opts = ImportOptions {
        reference,
        changes: a.change.clone(),
        ..Default::default()
    };
    // Docker's CLI uploads a local file as a stream, so its comment is "Imported from -"
    // too; only a URL source would be named.
    if let Some(m) = &a.message {
        opts.comment = m.clone();
    }
    if let Some(p) = &a.platform {
        let mut parts = p.split('/');
        opts.os = parts.next().unwrap_or("linux").to_string();
        if let Some(arch) = parts.next() {
            opts.architecture = arch.to_string();
        }
    }
    let rec = if a.file == "-" {
        engine.import_image(&mut std::io::stdin().lock(), &opts)?
    } else {
        let mut f = open_input(std::path::Path::new(&a.file))?;
        engine.import_image(&mut f, &opts)?
    };
    println!("{}", rec.id);
    Ok(())
}

/// `tag`.
pub fn tag(engine: &Engine, a: &TagArgs) -> Result<()> {
    let target = Reference::parse(&a.target).map_err(|e| {
        super::ClientError::error(
            format!(
                "Error parsing reference: {:?} is not a valid repository/tag: {e}",
                a.target
            ),
            1,
        )
    })?;
    engine.tag_image(&a.source, &target)?;
    Ok(())
}

/// `rmi`: every image is attempted; the exit code is 1 if any failed.
pub fn rmi(engine: &Engine, a: &RmiArgs) -> Result<bool> {
    let mut ok = true;
    for name in &a.images {
        match engine.remove_image(name, a.force) {
            Ok(events) => {
                for e in events {
                    println!("{e}");
                }
            }
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                // Docker's CLI: with -f, an image that is not there is not a failure.
                let missing = ministry::ErrorKind::of(&e) == Some(ministry::ErrorKind::NotFound);
                ok &= a.force && missing;
            }
        }
    }
    Ok(ok)
}

/// `history`.
pub fn history(engine: &Engine, a: &HistoryArgs) -> Result<()> {
    let img = engine.images().resolve(&a.image)?;
    let rows = engine.images().history(&img)?;
    if a.quiet {
        for r in rows {
            println!(
                "{}",
                if r.id == "<missing>" {
                    r.id
                } else {
                    id_column(&img.id, a.no_trunc)
                }
            );
        }
        return Ok(());
    }
    let mut t = vec![vec![
        "IMAGE".to_string(),
        "CREATED".into(),
        "CREATED BY".into(),
        "SIZE".into(),
        "COMMENT".into(),
    ]];
    let mut objects = Vec::new();
    for r in rows {
        let id = if r.id == "<missing>" {
            r.id.clone()
        } else {
            id_column(&img.id, a.no_trunc)
        };
        let mut by = r.created_by.clone();
        if !a.no_trunc && by.chars().count() > 45 {
            by = by.chars().take(44).collect::<String>() + "…";
        }
        let (created, size) = if a.human {
            (ago(&r.created), human_size(r.size))
        } else {
            (r.created.clone(), r.size.to_string())
        };
        objects.push(serde_json::json!({
            "ID": id, "CreatedSince": ago(&r.created), "CreatedAt": super::output::rfc3339_seconds(&r.created), "CreatedBy": by,
            "Size": size, "Comment": r.comment,
        }));
        t.push(vec![id, created, by, size, r.comment]);
    }
    if let Some(f) = a.format.as_deref().filter(|f| *f != "table") {
        let headers = serde_json::json!({"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
            "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"});
        print!("{}", super::template::format_rows(f, &headers, &objects)?);
        return Ok(());
    }
    print!("{}", table(&t));
    Ok(())
}

/// `inspect` / `image inspect`: a JSON array; missing names are reported and make the exit
/// code 1, as in Docker.
pub fn inspect(engine: &Engine, a: &InspectArgs) -> Result<bool> {
    const TYPES: [&str; 4] = ["container", "image", "volume", "network"];
    if let Some(t) = a.typ.as_deref().filter(|t| !TYPES.contains(t)) {
        return Err(super::ClientError::error(
            format!("unknown type: {t:?}: must be one of \"config\", \"container\", \"image\", \"network\", \"node\", \"plugin\", \"secret\", \"service\", \"task\", \"volume\""),
            1,
        ));
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        // Docker's order: container, image, volume, network (or only the type asked).
        let mut found = None;
        let mut missing = format!("Error: No such object: {n}");
        for t in TYPES {
            if a.typ.as_deref().is_some_and(|want| want != t) {
                continue;
            }
            let (v, why) = inspect_as(engine, t, n)?;
            if v.is_some() {
                found = v;
                break;
            }
            if a.typ.is_some() {
                missing = format!("Error response from daemon: {why}");
            }
        }
        match found {
            Some(v) => out.push(v),
            None => errors.push(missing),
        }
    }
    finish_inspect(&out, a.format.as_deref(), &errors)
}

/// Prints what an `inspect` found, then what it did not (as Docker does); `false` when
/// something was not found.
pub fn finish_inspect(
    objects: &[serde_json::Value],
    format: Option<&str>,
    errors: &[String],
) -> Result<bool> {
    print_inspect(objects, format)?;
    for e in errors {
        eprintln!("{e}");
    }
    Ok(errors.is_empty())
}

/// The `inspect` object of `n` as a `typ`, or Docker's words for its absence.
fn inspect_as(engine: &Engine, typ: &str, n: &str) -> Result<(Option<serde_json::Value>, String)> {
    Ok(match typ {
        "container" => match engine.container(n) {
            Ok(c) => (
                Some(serde_json::to_value(engine.inspect_record(&c)?)?),
                String::new(),
            ),
            Err(e) => (None, e.to_string()),
        },
        "image" => match engine
            .images()
            .resolve(n)
            .and_then(|i| engine.images().inspect(&i))
        {
            Ok(i) => (Some(serde_json::to_value(i)?), String::new()),
            Err(e) if e.kind() == libimage::ErrorKind::NotFound => {
                let tagged = libimage::Reference::parse(n)
                    .map(|r| r.familiar())
                    .unwrap_or_else(|_| n.to_string());
                (None, format!("no such image: {n}: No such image: {tagged}"))
            }
            Err(e) => return Err(e.into()),
        },
        "volume" => match engine.volumes().get(n) {
            Ok(v) => (Some(serde_json::to_value(v)?), String::new()),
            Err(_) => (None, format!("get {n}: no such volume")),
        },
        _ => match engine
            .network(n)
            .and_then(|r| super::networks::inspect_json(engine, &r))
        {
            Ok(v) => (Some(v), String::new()),
            Err(_) => (None, format!("network {n} not found")),
        },
    })
}

/// Prints `inspect` objects: each through the `-f` template, or all as Docker's JSON array.
pub fn print_inspect(objects: &[serde_json::Value], format: Option<&str>) -> Result<()> {
    if let Some(f) = format {
        let t = super::template::Template::parse(&f.replace("\\t", "\t"))
            .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?;
        for o in objects {
            println!(
                "{}",
                t.render(o)
                    .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?
            );
        }
        return Ok(());
    }
    println!("{}", indent4(&serde_json::to_string_pretty(objects)?));
    Ok(())
}

/// Docker indents its JSON with four spaces.
fn indent4(two: &str) -> String {
    two.lines()
        .map(|l| {
            let n = l.len() - l.trim_start_matches(' ').len();
            format!("{}{}", " ".repeat(n * 2), &l[n..])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `image prune`.
pub fn prune(engine: &Engine, _a: &PruneArgs) -> Result<()> {
    let (events, reclaimed) = engine.prune_images(false)?;
    if !events.is_empty() {
        println!("Deleted Images:");
        for e in events {
            println!("{}", e.to_string().to_lowercase());
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(())
}

/// `save`.
pub fn save(engine: &Engine, a: &SaveArgs) -> Result<()> {
    for i in &a.images {
        if let Err(e) = engine.images().resolve(i) {
            if e.kind() == libimage::ErrorKind::NotFound {
                return Err(ministry::Error::InvalidConfig(format!("No such image: {i}")).into());
            }
        }
    }
    super::output::write_archive(a.output.as_deref(), |w| {
        engine.save_images(&a.images, w)?;
        Ok(())
    })
}

/// `load`.
pub fn load(engine: &Engine, a: &LoadArgs) -> Result<()> {
    let loaded = match &a.input {
        Some(p) => engine.load_images(&mut std::io::BufReader::new(open_input(p)?))?,
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!("requested load from stdin, but stdin is empty");
            }
            engine.load_images(&mut std::io::stdin().lock())?
        }
    };
    for l in &loaded {
        if !a.quiet {
            print!("{l}");
        }
    }
    Ok(())
}

/// An input file of `import` or `load`; Docker's client words its absence
/// (`open F: no such file or directory`).
fn open_input(p: &std::path::Path) -> Result<std::fs::File> {
    std::fs::File::open(p).map_err(|e| {
        super::ClientError::error(
            format!("open {}: {}", p.display(), ministry::os_error_text(&e)),
            1,
        )
    })
}

/// `system check`.
pub fn system_check(engine: &Engine) -> Result<bool> {
    let r = engine.images().check()?;
    println!("Checked {} blobs", r.blobs_checked);
    for d in &r.corrupt_blobs {
        println!("corrupt blob: {d}");
    }
    for (img, b) in &r.missing_blobs {
        println!("image {} references missing blob {b}", img.short());
    }
    for (img, l) in &r.missing_layers {
        println!("image {} references missing layer {l}", img.short());
    }
    if r.is_clean() {
        println!("No problems found");
    }
    Ok(r.is_clean())
}
