//! The event log (`docker events`): one JSON line per event appended to
//! `<root>/events.jsonl` by the engine (create, start, kill, stop, pause, destroy, pull,
//! tag, ...) and by containers' monitors (`die`, written when the program exits, whoever
//! started it). Lines are appended with one `write` each, so concurrent writers never
//! interleave.

use std::collections::BTreeMap;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::containers::ContainerRecord;
use super::{Engine, Error};

/// What an event is about (Docker's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A volume.
    Volume,
    /// A network.
    Network,
    /// The engine itself.
    Daemon,
}

impl EventType {
    /// Docker's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Container => "container",
            EventType::Image => "image",
            EventType::Volume => "volume",
            EventType::Network => "network",
            EventType::Daemon => "daemon",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event, in Docker's shape (`Type`, `Action`, `Actor.ID`, `Actor.Attributes`,
/// `time`, `timeNano`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What it is about.
    #[serde(rename = "Type")]
    pub typ: EventType,
    /// What happened (`create`, `start`, `die`, ...).
    #[serde(rename = "Action")]
    pub action: String,
    /// The object's ID (an image's reference for pulls and tags, as Docker reports them).
    #[serde(rename = "ID")]
    pub id: String,
    /// Docker's attributes (`name`, `image`, `exitCode`, `signal`, ...).
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
    /// When, in nanoseconds since the epoch.
    #[serde(rename = "timeNano")]
    pub time_nano: u64,
}

/// What `events --filter` keeps: values of one key OR, keys AND (Docker's rule).
#[derive(Debug, Clone, Default)]
pub struct EventFilter(pub Vec<(String, Vec<String>)>);

impl EventFilter {
    /// Parses `key=value` filters (container, event, image, type, label, network, volume).
    pub fn parse(items: &[String]) -> Result<Self, Error> {
        let mut v: Vec<(String, Vec<String>)> = Vec::new();
        for f in items {
            let (k, val) = f.split_once('=').ok_or_else(|| {
                Error::InvalidConfig(format!("bad format of filter (expected name=value): {f}"))
            })?;
            if !matches!(
                k,
                "container" | "event" | "image" | "type" | "label" | "network" | "volume"
            ) {
                return Err(Error::InvalidConfig(format!("Invalid filter '{k}'")));
            }
            match v.iter_mut().find(|(x, _)| x == k) {
                Some((_, vals)) => vals.push(val.to_string()),
                None => v.push((k.to_string(), vec![val.to_string()])),
            }
        }
        Ok(EventFilter(v))
    }

    /// Whether `e` passes.
    pub fn matches(&self, e: &Event) -> bool {
        let attr = |k: &str| e.attributes.get(k).map(String::as_str).unwrap_or("");
        self.0.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "container" => {
                    e.typ == EventType::Container
                        && (e.id.starts_with(v.as_str()) || attr("name") == v)
                }
                // `exec_start: sh -c ...` is an `exec_start` event (Docker matches the part
                // before the colon only).
                "event" => e.action.split(':').next() == Some(v.as_str()),
                "type" => e.typ.as_str() == v,
                "image" => {
                    attr("image") == v
                        || (e.typ == EventType::Image && (e.id == *v || attr("name") == v))
                }
                "network" => {
                    e.typ == EventType::Network
                        && (e.id.starts_with(v.as_str()) || attr("name") == v)
                }
                "volume" => e.typ == EventType::Volume && e.id == *v,
                _ => match v.split_once('=') {
                    Some((lk, lv)) => e.attributes.get(lk).is_some_and(|x| x == lv),
                    None => e.attributes.contains_key(v.as_str()),
                },
            })
        })
    }
}

/// A container's attributes in its events: image and name, and its labels.
pub(crate) fn container_attributes(c: &ContainerRecord) -> BTreeMap<String, String> {
    let mut a: BTreeMap<String, String> = c
        .config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    a.insert("image".into(), c.image.clone());
    a.insert("name".into(), c.name.clone());
    a
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A line of the log: the engine's events, or a monitor's exit report.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Event(Event),
    Exit {
        id: String,
        #[serde(rename = "exitCode")]
        exit_code: i32,
        #[serde(rename = "oomKilled", default)]
        oom_killed: bool,
        #[serde(rename = "timeNano")]
        time_nano: u64,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// A monitor's report that the program started (again, after `restarted` restarts).
    Started {
        id: String,
        #[allow(dead_code)]
        restarted: u32,
        #[serde(rename = "timeNano")]
        time_nano: u64,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
}

impl Line {
    /// The events a line stands for (an exit killed by the OOM killer is `oom`, then `die`).
    fn events(self) -> Vec<Event> {
        match self {
            Line::Event(e) => vec![e],
            Line::Started {
                id,
                time_nano,
                attributes,
                ..
            } => vec![Event {
                typ: EventType::Container,
                action: "start".into(),
                id,
                attributes,
                time_nano,
            }],
            Line::Exit {
                id,
                exit_code,
                oom_killed,
                time_nano,
                attributes,
            } => {
                let mut out = Vec::new();
                if oom_killed {
                    out.push(Event {
                        typ: EventType::Container,
                        action: "oom".into(),
                        id: id.clone(),
                        attributes: attributes.clone(),
                        time_nano,
                    });
                }
                let mut attributes = attributes;
                attributes.insert("exitCode".into(), exit_code.to_string());
                out.push(Event {
                    typ: EventType::Container,
                    action: "die".into(),
                    id,
                    attributes,
                    time_nano,
                });
                out
            }
        }
    }
}

impl Engine {
    pub(crate) fn events_path(&self) -> PathBuf {
        self.config.root.join("events.jsonl")
    }

    /// Records an event (best effort: an event log that cannot be written never fails
    /// the operation it reports).
    pub(crate) fn emit(
        &self,
        typ: EventType,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let e = Event {
            typ,
            action: action.into(),
            id: id.into(),
            attributes,
            time_nano: now_ns(),
        };
        let _ = libimage::fsutil::append_json_line(&self.events_path(), &e);
    }

    /// A container event with its image, name and labels (and `extra`).
    pub(crate) fn emit_container(
        &self,
        action: &str,
        c: &ContainerRecord,
        extra: &[(&str, String)],
    ) {
        let mut a = container_attributes(c);
        for (k, v) in extra {
            a.insert(k.to_string(), v.clone());
        }
        self.emit(EventType::Container, action, &c.id, a);
    }

    /// Records an image event (`pull`, `push`, `tag`, `untag`, `delete`, `import`, `load`,
    /// `save`) for `id` (a reference or an image ID, as Docker reports them).
    pub(crate) fn image_event(&self, action: &str, id: &str) {
        let mut a = BTreeMap::new();
        a.insert("name".to_string(), id.to_string());
        self.emit(EventType::Image, action, id, a);
    }

    /// [`Engine::image_event`] with Docker's attributes given.
    pub(crate) fn image_event_with(
        &self,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        self.emit(EventType::Image, action, id, attributes);
    }

    /// Records a volume or network event.
    pub(crate) fn object_event(
        &self,
        typ: EventType,
        action: &str,
        id: &str,
        attributes: &[(&str, &str)],
    ) {
        let a = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.emit(typ, action, id, a);
    }

    /// The events from byte `offset` of the log on, and the offset after them.
    pub fn read_events(&self, offset: u64) -> Result<(Vec<Event>, u64), Error> {
        read_events_at(&self.events_path(), offset)
    }

    /// The events in `opts`' window that pass its filter, as they happen: those recorded
    /// since `opts.since` first (none when it is not given: only new ones), then each new
    /// one as soon as it is recorded (inotify wakes the reader; no polling), until
    /// `opts.until` passes (forever without it). Every process on the data root (other
    /// CLIs, embedders, containers' monitors) appends to the same log, so the stream sees
    /// all of them.
    ///
    /// The iterator blocks while it waits; from async code run it on a blocking thread
    /// (`spawn_blocking`). It owns what it needs, so it can move there.
    pub fn events(&self, opts: EventOptions) -> Result<EventStream, Error> {
        // The watch comes first, so nothing appended between the replay and the wait is
        // missed.
        let watch = super::watch::DirWatch::new(&self.config.root)?;
        Ok(EventStream {
            path: self.events_path(),
            offset: 0,
            pending: std::collections::VecDeque::new(),
            from: opts.since.unwrap_or_else(now_ns),
            opts,
            watch,
        })
    }
}

/// What [`Engine::events`] replays and follows.
#[derive(Debug, Clone, Default)]
pub struct EventOptions {
    /// Replay from this time (nanoseconds since the epoch); without it, only new events.
    pub since: Option<u64>,
    /// Stop after this time; without it, follow forever.
    pub until: Option<u64>,
    /// Which events (Docker's `--filter` rules).
    pub filter: EventFilter,
}

/// A live stream of events ([`Engine::events`]).
pub struct EventStream {
    path: PathBuf,
    offset: u64,
    pending: std::collections::VecDeque<Event>,
    from: u64,
    opts: EventOptions,
    watch: super::watch::DirWatch,
}

impl EventStream {
    /// The next event if one is recorded within `timeout`; `Ok(None)` when none came
    /// or the window's end passed (see [`EventStream::ended`]).
    pub fn next_timeout(&mut self, timeout: std::time::Duration) -> Result<Option<Event>, Error> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(Some(e));
            }
            let (events, next) = read_events_at(&self.path, self.offset)?;
            self.offset = next;
            let until = self.opts.until;
            self.pending.extend(events.into_iter().filter(|e| {
                e.time_nano >= self.from
                    && until.is_none_or(|u| e.time_nano <= u)
                    && self.opts.filter.matches(e)
            }));
            if !self.pending.is_empty() {
                continue;
            }
            if self.ended() {
                return Ok(None);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            // Wake for a new line, or in time to notice the window's end.
            let mut wait = deadline - now;
            if let Some(u) = until {
                let left = std::time::Duration::from_nanos(u.saturating_sub(now_ns()));
                wait = wait.min(left + std::time::Duration::from_millis(1));
            }
            self.watch.wait(wait);
        }
    }

    /// Whether the window's end (`until`) has passed.
    pub fn ended(&self) -> bool {
        self.pending.is_empty() && self.opts.until.is_some_and(|u| now_ns() > u)
    }
}

impl Iterator for EventStream {
    type Item = Result<Event, Error>;

    /// Blocks until the next event, or returns `None` once `until` passed.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_timeout(std::time::Duration::from_secs(3600)) {
                Ok(Some(e)) => return Some(Ok(e)),
                Ok(None) if self.ended() => return None,
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The events from byte `offset` of the log at `path` on, and the offset after them.
fn read_events_at(path: &std::path::Path, offset: u64) -> Result<(Vec<Event>, u64), Error> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io("seek", path, e))?;
    let mut r = std::io::BufReader::new(f);
    let mut out = Vec::new();
    let mut pos = offset;
    let mut line = String::new();
    loop {
        line.clear();
        let n = r
            .read_line(&mut line)
            .map_err(|e| Error::io("read", path, e))?;
        // A line still being written (no newline yet) is read next time.
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        pos += n as u64;
        if let Ok(l) = serde_json::from_str::<Line>(&line) {
            out.extend(l.events());
        }
    }
    Ok((out, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_filters() {
        let exit = r#"{"id":"abc","exitCode":137,"oomKilled":true,"timeNano":5,"attributes":{"name":"x","image":"busybox"}}"#;
        let ev: Vec<Event> = serde_json::from_str::<Line>(exit).unwrap().events();
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].action, "oom");
        assert_eq!(ev[1].action, "die");
        assert_eq!(ev[1].attributes["exitCode"], "137");
        let f = EventFilter::parse(&[
            "event=die".into(),
            "event=start".into(),
            "container=x".into(),
        ])
        .unwrap();
        assert!(!f.matches(&ev[0]));
        assert!(f.matches(&ev[1]));
        assert!(EventFilter::parse(&["bogus=1".into()]).is_err());
        let f = EventFilter::parse(&["image=busybox".into()]).unwrap();
        assert!(f.matches(&ev[1]));
    }
}
