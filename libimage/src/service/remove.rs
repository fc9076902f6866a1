//! `rmi`, `tag`, `untag` and pruning, with Docker's rules, and freeing layers and blobs no
//! remaining image uses.

use std::collections::HashSet;

use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageRecord;
use crate::reference::Reference;

use super::ImageService;

/// A container using an image (supplied by the caller, which knows containers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUser {
    /// The container's ID.
    pub container: String,
    /// Whether it is running.
    pub running: bool,
}

/// One line of `docker rmi` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveEvent {
    /// A name was removed (familiar form).
    Untagged(String),
    /// An image was deleted.
    Deleted(Digest),
    /// A layer was deleted with it (its chain ID; Docker lists these as `Deleted:` too).
    DeletedLayer(Digest),
}

impl std::fmt::Display for RemoveEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoveEvent::Untagged(n) => write!(f, "Untagged: {n}"),
            RemoveEvent::Deleted(d) | RemoveEvent::DeletedLayer(d) => write!(f, "Deleted: {d}"),
        }
    }
}

fn familiar(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

impl ImageService {
    /// Points `target` at the image `source` (moving it from another image).
    pub fn tag(&self, source: &str, target: &Reference) -> Result<ImageRecord> {
        if target.digest().is_some() {
            return Err(Error::InvalidArgument(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        let id = self.resolve(source)?.id;
        let full = target.to_string();
        let now = crate::time::now();
        self.records().update(|images| {
            for i in images.values_mut() {
                i.repo_tags.retain(|t| *t != full);
            }
            let rec = images
                .get_mut(&id.to_string())
                .ok_or_else(|| Error::NotFound {
                    what: "No such image",
                    name: source.to_string(),
                })?;
            rec.repo_tags.push(full.clone());
            rec.last_tag_time = Some(now);
            Ok(rec.clone())
        })
    }

    /// Removes an image the way `docker rmi NAME` does. `users` tells which containers use
    /// an image ID. Returns the events to print, in Docker's order.
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        users: &dyn Fn(&Digest) -> Vec<ImageUser>,
    ) -> Result<Vec<RemoveEvent>> {
        let img = self.resolve(name)?;
        let by_ref = Reference::parse(name)
            .ok()
            .map(|r| r.to_string())
            .filter(|r| img.repo_tags.contains(r) || img.repo_digests.contains(r));
        let short = img.id.short().to_string();
        let using = users(&img.id);
        let mut events = Vec::new();
        let deleted = self.records().update(|images| {
            let rec = images.get_mut(&img.id.to_string()).ok_or_else(|| Error::NotFound { what: "No such image", name: name.to_string() })?;
            let refs = rec.repo_tags.len() + rec.repo_digests.len();
            if let Some(r) = &by_ref {
                if refs > 1 {
                    // Other names remain: only this one goes.
                    rec.repo_tags.retain(|t| t != r);
                    rec.repo_digests.retain(|t| t != r);
                    // A removed tag takes the digests of its repository with it when no tag
                    // of that repository remains (Docker's rule).
                    let repo = Reference::parse(r).map(|x| x.repository()).unwrap_or_default();
                    let repo_tagged = rec.repo_tags.iter().any(|t| Reference::parse(t).map(|x| x.repository()).unwrap_or_default() == repo);
                    let mut untagged = vec![r.clone()];
                    if !repo_tagged && !rec.repo_tags.is_empty() {
                        let gone: Vec<String> = rec.repo_digests.iter().filter(|d| Reference::parse(d).map(|x| x.repository()).unwrap_or_default() == repo).cloned().collect();
                        rec.repo_digests.retain(|d| !gone.contains(d));
                        untagged.extend(gone);
                    }
                    events.extend(untagged.iter().map(|u| RemoveEvent::Untagged(familiar(u))));
                    return Ok(None);
                }
                if !using.is_empty() && !force {
                    return Err(Error::Conflict(format!(
                        "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {short}",
                        &using[0].container[..using[0].container.len().min(12)]
                    )));
                }
            } else if refs > 1 && !force {
                let repos: HashSet<String> = rec.repo_tags.iter().chain(&rec.repo_digests).filter_map(|t| Reference::parse(t).ok()).map(|r| r.repository()).collect();
                if repos.len() > 1 {
                    return Err(Error::Conflict(format!(
                        "conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
                    )));
                }
            }
            if let Some(u) = using.iter().find(|u| u.running) {
                return Err(Error::Conflict(format!(
                    "conflict: unable to delete {short} (cannot be forced) - image is being used by running container {}",
                    &u.container[..u.container.len().min(12)]
                )));
            }
            if let Some(u) = using.first() {
                if !force {
                    return Err(Error::Conflict(format!(
                        "conflict: unable to delete {short} (must be forced) - image is being used by stopped container {}",
                        &u.container[..u.container.len().min(12)]
                    )));
                }
            }
            let has_children = images.values().any(|i| i.parent.as_ref() == Some(&img.id));
            let rec = images.get_mut(&img.id.to_string()).expect("present");
            if has_children && rec.repo_tags.is_empty() && rec.repo_digests.is_empty() {
                return Err(Error::Conflict(format!(
                    "conflict: unable to delete {short} (cannot be forced) - image has dependent child images"
                )));
            }
            for t in rec.repo_tags.iter().chain(&rec.repo_digests) {
                events.push(RemoveEvent::Untagged(familiar(t)));
            }
            if !using.is_empty() || has_children {
                // Forced while a stopped container uses it: untag only, as Docker does.
                rec.repo_tags.clear();
                rec.repo_digests.clear();
                return Ok(None);
            }
            let removed = images.remove(&img.id.to_string()).expect("present");
            events.push(RemoveEvent::Deleted(img.id.clone()));
            let remaining: Vec<ImageRecord> = images.values().cloned().collect();
            Ok(Some((removed, remaining)))
        })?;
        if let Some((removed, remaining)) = deleted {
            // Docker lists each layer removed with the image (its chain ID), top first.
            for chain in self.free(&removed, &remaining)? {
                events.push(RemoveEvent::DeletedLayer(chain));
            }
            // The build steps under it go too while nothing else needs them (Docker's
            // untagged parents with no other child and no container).
            if let Some(p) = &removed.parent {
                let orphan = remaining.iter().find(|i| &i.id == p).is_some_and(|parent| {
                    parent.repo_tags.is_empty()
                        && parent.repo_digests.is_empty()
                        && !remaining.iter().any(|i| i.parent.as_ref() == Some(p))
                        && users(p).is_empty()
                });
                if orphan {
                    if let Ok(more) = self.remove(&p.to_string(), false, users) {
                        events.extend(more);
                    }
                }
            }
        }
        Ok(events)
    }

    /// Deletes the snapshots and blobs of `removed` that no image in `remaining` uses.
    /// Returns the chain IDs of the layers removed, top first.
    fn free(&self, removed: &ImageRecord, remaining: &[ImageRecord]) -> Result<Vec<Digest>> {
        let mut gone = Vec::new();
        let used_chains: HashSet<&Digest> = remaining
            .iter()
            .flat_map(|i| i.layers.iter().map(|l| &l.chain_id))
            .collect();
        for l in removed.layers.iter().rev() {
            if used_chains.contains(&l.chain_id) {
                continue;
            }
            // A snapshot derived from this layer for containers (the engine's shared
            // `init-<chain>` layer) goes first, unless a container still sits on it.
            let _ = self
                .snapshotter
                .remove(&format!("init-{}", l.chain_id.hex()));
            match self.snapshotter.remove(&l.chain_id.to_string()) {
                Ok(()) => {
                    self.remove_layer_meta(&l.chain_id);
                    gone.push(l.chain_id.clone());
                }
                // Still the parent of a container's snapshot, or already gone: keep going.
                Err(e)
                    if matches!(
                        e.kind(),
                        crate::ErrorKind::Conflict | crate::ErrorKind::NotFound
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        let used_blobs: HashSet<Digest> = remaining.iter().flat_map(|i| i.blobs()).collect();
        for b in removed.blobs() {
            if !used_blobs.contains(&b) {
                self.content.delete(&b)?;
            }
        }
        Ok(gone)
    }

    /// Removes every dangling image (no tags) that no container uses, like
    /// `docker image prune`. Returns the events and the bytes reclaimed.
    pub fn prune_dangling(
        &self,
        users: &dyn Fn(&Digest) -> Vec<ImageUser>,
    ) -> Result<(Vec<RemoveEvent>, u64)> {
        let mut events = Vec::new();
        let mut reclaimed = 0;
        let all = self.list()?;
        let parents: HashSet<Digest> = all.iter().filter_map(|i| i.parent.clone()).collect();
        // What a removed layer frees: its own size (Docker counts the layers deleted).
        let layer_sizes: std::collections::HashMap<Digest, u64> = all
            .iter()
            .flat_map(|i| i.layers.iter().map(|l| (l.chain_id.clone(), l.size)))
            .collect();
        for img in all {
            // An intermediate image (a parent) goes with its last child.
            if parents.contains(&img.id) || self.resolve(&img.id.to_string()).is_err() {
                continue;
            }
            if img.repo_tags.is_empty() && users(&img.id).is_empty() {
                let removed = self.remove(&img.id.to_string(), false, users)?;
                for e in &removed {
                    if let RemoveEvent::DeletedLayer(c) = e {
                        reclaimed += layer_sizes.get(c).copied().unwrap_or(0);
                    }
                }
                events.extend(removed);
            }
        }
        Ok((events, reclaimed))
    }
}
