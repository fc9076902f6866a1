//! A container's output (`docker logs`): its json-file log and the rotated files, in a
//! time window, the last N lines, and then (following) each line as the monitor writes
//! it, until the container has stopped and everything it wrote was read.

use std::collections::VecDeque;
use std::io::{Read, Seek};
use std::path::PathBuf;
use std::time::Duration;

pub use libruntime::logs::LogLine;

use super::watch::DirWatch;
use super::{Engine, Error};

/// What [`Engine::logs`] returns.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// After the lines logged so far, go on with each new line until the container stops.
    pub follow: bool,
    /// Only lines logged at or after this time (nanoseconds since the epoch).
    pub since: Option<u64>,
    /// Only lines logged at or before this time.
    pub until: Option<u64>,
    /// Only the last this many of the lines logged so far (`None`: all).
    pub tail: Option<usize>,
}

/// A container's log lines ([`Engine::logs`]): an iterator that blocks while following.
pub struct LogStream {
    path: PathBuf,
    pending: VecDeque<LogLine>,
    offset: u64,
    follow: Option<(libruntime::Container, DirWatch)>,
    until: Option<u64>,
}

fn line_time(l: &LogLine) -> u64 {
    libimage::time::parse_rfc3339(&l.time)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn parse(text: &str) -> impl Iterator<Item = LogLine> + '_ {
    text.lines()
        .filter_map(|l| serde_json::from_str::<LogLine>(l).ok())
}

impl Engine {
    /// A container's log lines (by name or ID), as [`LogOptions`] says. Without
    /// `follow` the iterator ends after the lines logged so far; with it, it blocks for
    /// new ones (woken by inotify) and ends once the container has stopped and every line
    /// it wrote was returned. From async code, iterate on a blocking thread.
    pub fn logs(&self, name: &str, opts: LogOptions) -> Result<LogStream, Error> {
        let c = self.container(name)?;
        let path = self.log_path(&c.id);
        // Watch before reading, so no line written between the read and the wait is lost.
        let follow = if opts.follow {
            let watch = DirWatch::new(&self.container_dir(&c.id))?;
            self.runtime.get(&c.id).ok().map(|r| (r, watch))
        } else {
            None
        };
        // The rotated files, then the complete lines of the current one; following goes
        // on exactly where those bytes end.
        let mut lines: Vec<LogLine> = Vec::new();
        for i in (1..c.log_max_files.max(1)).rev() {
            let mut p = path.clone().into_os_string();
            p.push(format!(".{i}"));
            lines.extend(parse(
                &std::fs::read_to_string(PathBuf::from(p)).unwrap_or_default(),
            ));
        }
        let current = std::fs::read(&path).unwrap_or_default();
        let complete = current
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        lines.extend(parse(&String::from_utf8_lossy(&current[..complete])));
        if opts.since.is_some() || opts.until.is_some() {
            lines.retain(|l| {
                let t = line_time(l);
                opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
            });
        }
        let skip = opts
            .tail
            .map(|t| lines.len().saturating_sub(t))
            .unwrap_or(0);
        Ok(LogStream {
            path,
            pending: lines.into_iter().skip(skip).collect(),
            offset: complete as u64,
            follow,
            until: opts.until,
        })
    }
}

impl LogStream {
    /// Reads the complete lines written after the offset (a rotation, which shrinks the
    /// file, starts over from its beginning).
    fn read_new(&mut self) -> Result<(), Error> {
        let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            self.offset = 0;
        }
        if len == self.offset {
            return Ok(());
        }
        let mut f =
            std::fs::File::open(&self.path).map_err(|e| Error::io("open", &self.path, e))?;
        f.seek(std::io::SeekFrom::Start(self.offset))
            .map_err(|e| Error::io("seek", &self.path, e))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| Error::io("read", &self.path, e))?;
        let complete = buf
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let until = self.until;
        self.pending.extend(
            parse(&String::from_utf8_lossy(&buf[..complete]))
                .filter(|l| until.is_none_or(|u| line_time(l) <= u)),
        );
        self.offset += complete as u64;
        Ok(())
    }
}

impl Iterator for LogStream {
    type Item = Result<LogLine, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(l) = self.pending.pop_front() {
                return Some(Ok(l));
            }
            let (ctr, _) = self.follow.as_ref()?;
            let stopped = ctr
                .state()
                .map(|s| s.status == libruntime::Status::Stopped)
                .unwrap_or(true);
            if let Err(e) = self.read_new() {
                return Some(Err(e));
            }
            if !self.pending.is_empty() {
                continue;
            }
            // Everything written before the stop was read.
            if stopped || self.until.is_some_and(|u| now_ns() > u) {
                self.follow = None;
                return None;
            }
            // A new line wakes the watch at once; the state is checked at least every
            // 100 ms (the monitor records the exit in its own directory).
            if let Some((_, w)) = &self.follow {
                w.wait(Duration::from_millis(100));
            }
        }
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
