//! Image operations that record events: every image event (`import`, `tag`, `untag`,
//! `delete`, `save`, `load`, and `pull`/`push` in `registry.rs`) is written by the
//! engine, so an embedder's operations appear in `events` as the CLI's do.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use libimage::image::ImageRecord;
use libimage::service::{ImportOptions, LoadedImage, RemoveEvent, SaveFormat};
use libimage::Reference;

use super::{Engine, Error};

impl Engine {
    /// Imports a root file system tarball as an image (`docker import`).
    pub fn import_image(
        &self,
        reader: &mut dyn Read,
        opts: &ImportOptions,
    ) -> Result<ImageRecord, Error> {
        let rec = self.images.import(reader, opts)?;
        self.image_event("import", &rec.id.to_string());
        Ok(rec)
    }

    /// Gives an image another name (`docker tag`).
    pub fn tag_image(&self, source: &str, target: &Reference) -> Result<ImageRecord, Error> {
        let img = self.images.tag(source, target)?;
        let mut ev = BTreeMap::new();
        ev.insert("name".to_string(), target.to_string());
        self.image_event_with("tag", &img.id.to_string(), ev);
        Ok(img)
    }

    /// Removes an image (`docker rmi`) with Docker's rules; its shared init layer goes
    /// first (when no container still sits on it) so its layers can be freed. Returns
    /// what was untagged and deleted, as `rmi` prints it.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemoveEvent>, Error> {
        if let Ok(img) = self.images.resolve(name) {
            let init = super::run::init_layer_name(self.images.top_snapshot(&img).as_deref());
            let _ = self.images.snapshotter().remove(&init);
        }
        let events = self.images.remove(name, force, &|d| self.image_users(d))?;
        for e in &events {
            match e {
                RemoveEvent::Untagged(n) => self.image_event("untag", n),
                RemoveEvent::Deleted(d) => self.image_event("delete", &d.to_string()),
                RemoveEvent::DeletedLayer(_) => {}
            }
        }
        Ok(events)
    }

    /// Removes images no container uses (`docker image prune`): dangling ones (no name)
    /// only, or with `all` every unused one. Returns what was untagged and deleted and the
    /// bytes freed; records each `untag`/`delete` and Docker's `prune` event.
    pub fn prune_images(&self, all: bool) -> Result<(Vec<RemoveEvent>, u64), Error> {
        let mut events = Vec::new();
        let mut reclaimed = 0;
        if all {
            for img in self.images.list()? {
                if self.image_users(&img.id).is_empty() {
                    reclaimed += img.size();
                    events.extend(self.remove_image(&img.id.to_string(), true)?);
                }
            }
        } else {
            let (ev, freed) = self.images.prune_dangling(&|d| self.image_users(d))?;
            for e in &ev {
                match e {
                    RemoveEvent::Untagged(n) => self.image_event("untag", n),
                    RemoveEvent::Deleted(d) => self.image_event("delete", &d.to_string()),
                    RemoveEvent::DeletedLayer(_) => {}
                }
            }
            reclaimed = freed;
            events = ev;
        }
        let mut a = BTreeMap::new();
        a.insert("reclaimed".to_string(), reclaimed.to_string());
        self.image_event_with("prune", "", a);
        Ok((events, reclaimed))
    }

    /// Writes images as one archive (`docker save`), read by `docker load` and OCI
    /// tools.
    pub fn save_images(&self, names: &[String], out: &mut dyn Write) -> Result<(), Error> {
        self.images.save(names, SaveFormat::Docker, out)?;
        for n in names {
            self.image_event("save", n);
        }
        Ok(())
    }

    /// Loads the images of a `docker save` or OCI archive (`docker load`).
    pub fn load_images(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>, Error> {
        let loaded = self.images.load(input)?;
        for l in &loaded {
            let name = l.tags.last().cloned().unwrap_or_else(|| l.id.to_string());
            self.image_event("load", &name);
        }
        Ok(loaded)
    }

    /// Creates a volume (`docker volume create`); an existing one of that name is
    /// returned as it is (the flag says whether it was made now).
    pub fn create_volume(
        &self,
        opts: &libvolume::CreateOptions,
    ) -> Result<(libvolume::Volume, bool), Error> {
        let (v, created) = self.volumes.create(opts)?;
        self.object_event(
            super::EventType::Volume,
            "create",
            &v.name,
            &[("driver", &v.driver)],
        );
        Ok((v, created))
    }
}

/// One image as `docker images` lists it.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    /// The image.
    pub image: ImageRecord,
    /// When it was created (its config's `created`).
    pub created: String,
    /// Its names (familiar repository, tag) that pass the reference filter; empty for a
    /// dangling image.
    pub names: Vec<(String, String)>,
}

impl Engine {
    /// The images `docker images` lists, newest first: Docker's filters (`dangling`,
    /// `reference`, `before`, `since`, `label`) and the optional `REPOSITORY[:TAG]`
    /// argument applied. Without `all`, untagged images that are another image's parent
    /// (the steps of a build) are left out, as Docker's intermediate images.
    pub fn list_images(
        &self,
        filters: &[String],
        repository: Option<&str>,
        all: bool,
    ) -> Result<Vec<ImageSummary>, Error> {
        let mut dangling = None;
        let mut patterns = Vec::new();
        // (before|since, the other image's creation time); label filters (key or k=v).
        let mut around: Vec<(bool, String)> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let created_of = |i: &ImageRecord| {
            self.images
                .config(i)
                .ok()
                .and_then(|c| c.str_field("created").map(str::to_string))
                .unwrap_or_default()
        };
        for f in filters {
            match f.split_once('=') {
                Some(("dangling", v)) => dangling = Some(v == "true" || v == "1"),
                Some(("reference", v)) => patterns.push(v.to_string()),
                Some((k @ ("before" | "since"), v)) => {
                    let other = self.images.resolve(v)?;
                    around.push((k == "before", created_of(&other)));
                }
                Some(("label", v)) => labels.push(v.to_string()),
                _ => {
                    let k = f.split_once('=').map_or(f.as_str(), |(k, _)| k);
                    return Err(Error::InvalidConfig(format!("Invalid filter '{k}'")));
                }
            }
        }
        if let Some(r) = repository {
            patterns.push(r.to_string());
        }
        let has_labels = |i: &ImageRecord| {
            let cfg = self.images.config(i).ok();
            let l = cfg.as_ref().map(|c| &c.raw()["config"]["Labels"]);
            labels.iter().all(|want| {
                let (k, v) = want
                    .split_once('=')
                    .map_or((want.as_str(), None), |(k, v)| (k, Some(v)));
                match l.and_then(|l| l.get(k)).and_then(|x| x.as_str()) {
                    Some(have) => v.is_none_or(|v| v == have),
                    None => false,
                }
            })
        };
        let images = self.images.list()?;
        let parents: std::collections::HashSet<libimage::Digest> =
            images.iter().filter_map(|i| i.parent.clone()).collect();
        let mut with_time: Vec<(ImageRecord, String)> = images
            .into_iter()
            .filter(|i| {
                // Docker: an untagged parent is intermediate (hidden), never dangling.
                let intermediate = i.repo_tags.is_empty() && parents.contains(&i.id);
                !intermediate || (all && dangling.is_none())
            })
            .map(|i| {
                let t = created_of(&i);
                (i, t)
            })
            .filter(|(i, t)| {
                around
                    .iter()
                    .all(|(before, other)| if *before { t < other } else { t > other })
                    && has_labels(i)
            })
            .collect();
        // Newest first, as Docker lists them.
        with_time.sort_by(|a, b| b.1.cmp(&a.1));
        let mut out = Vec::new();
        for (img, created) in with_time {
            if dangling.is_some_and(|d| d != img.repo_tags.is_empty()) {
                continue;
            }
            let mut names: Vec<(String, String)> = img
                .repo_tags
                .iter()
                .filter_map(|t| Reference::parse(t).ok())
                .map(|r| {
                    (
                        r.familiar_repository(),
                        r.tag().unwrap_or("<none>").to_string(),
                    )
                })
                .collect();
            if !patterns.is_empty() {
                names
                    .retain(|(repo, tag)| patterns.iter().any(|p| matches_reference(p, repo, tag)));
                if names.is_empty() {
                    continue;
                }
            }
            out.push(ImageSummary {
                image: img,
                created,
                names,
            });
        }
        Ok(out)
    }
}

/// `reference=` filter and the REPOSITORY[:TAG] argument: glob on the repository, tag
/// compared when given.
fn matches_reference(pattern: &str, repo: &str, tag: &str) -> bool {
    let (prepo, ptag) = match pattern.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, Some(t)),
        _ => (pattern, None),
    };
    glob(prepo, repo) && ptag.is_none_or(|t| glob(t, tag))
}

fn glob(p: &str, s: &str) -> bool {
    match p.split_once('*') {
        None => p == s,
        Some((pre, rest)) => {
            s.starts_with(pre) && (0..=s.len() - pre.len()).any(|i| glob(rest, &s[pre.len() + i..]))
        }
    }
}
