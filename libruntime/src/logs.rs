//! Container output in Docker's json-file format, written by the monitor:
//! one `{"log":"...\n","stream":"stdout","time":"RFC 3339 with nanoseconds"}` per line,
//! rotated by size into `FILE.1`, `FILE.2`, ... (Docker's `max-size`/`max-file`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where and how a container's output is logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    /// The log file (Docker: `<root>/containers/<id>/<id>-json.log`).
    pub path: PathBuf,
    /// Rotate when the file would exceed this many bytes. By default, never.
    pub max_size: Option<u64>,
    /// How many files to keep, the current one included (Docker's default: 1).
    pub max_files: u32,
    /// Also copy the output to the monitor's own stdout/stderr (a foreground `run`).
    pub forward: bool,
}

/// Formats a time (nanoseconds since the epoch) as RFC 3339 UTC with nanoseconds, as
/// Docker's log lines carry it (libimage's formatter).
pub fn rfc3339_nanos(ns: u64) -> String {
    libimage::time::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns))
}

/// One line of a json-file log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The text, with its newline (the last line of a stream may lack one).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When the monitor read it.
    pub time: String,
}

/// The monitor's log writer.
pub(crate) struct LogWriter {
    cfg: LogConfig,
    file: File,
    size: u64,
    partial: [Vec<u8>; 2],
}

const MAX_PARTIAL: usize = 16 * 1024;

impl LogWriter {
    pub(crate) fn open(cfg: LogConfig) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            cfg,
            file,
            size,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Stops copying the output to the monitor's stdout/stderr (a restarted program's
    /// output goes to the log only: the `run` that showed the first one is gone).
    pub(crate) fn stop_forwarding(&mut self) {
        self.cfg.forward = false;
    }

    /// Takes bytes read from stream 0 (stdout) or 1 (stderr).
    pub(crate) fn feed(&mut self, stream: usize, data: &[u8], now_ns: u64) {
        if self.cfg.forward {
            let _ = if stream == 0 {
                std::io::stdout().write_all(data)
            } else {
                std::io::stderr().write_all(data)
            };
        }
        self.partial[stream].extend_from_slice(data);
        while let Some(i) = self.partial[stream].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial[stream].drain(..=i).collect();
            self.write_line(stream, &line, now_ns);
        }
        if self.partial[stream].len() >= MAX_PARTIAL {
            let line = std::mem::take(&mut self.partial[stream]);
            self.write_line(stream, &line, now_ns);
        }
    }

    /// Writes what is left of both streams (at exit).
    pub(crate) fn flush(&mut self, now_ns: u64) {
        for s in 0..2 {
            let line = std::mem::take(&mut self.partial[s]);
            if !line.is_empty() {
                self.write_line(s, &line, now_ns);
            }
        }
        let _ = self.file.flush();
    }

    fn write_line(&mut self, stream: usize, line: &[u8], now_ns: u64) {
        let entry = LogLine {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: if stream == 0 { "stdout" } else { "stderr" }.into(),
            time: rfc3339_nanos(now_ns),
        };
        let mut json = serde_json::to_vec(&entry).unwrap_or_default();
        json.push(b'\n');
        if let Some(max) = self.cfg.max_size {
            if self.size > 0 && self.size + json.len() as u64 > max {
                self.rotate();
            }
        }
        if self.file.write_all(&json).is_ok() {
            self.size += json.len() as u64;
        }
    }

    fn rotate(&mut self) {
        let keep = self.cfg.max_files.max(1);
        let name = |i: u32| {
            let mut p = self.cfg.path.clone().into_os_string();
            if i > 0 {
                p.push(format!(".{i}"));
            }
            PathBuf::from(p)
        };
        if keep == 1 {
            let _ = self.file.set_len(0);
        } else {
            let _ = std::fs::remove_file(name(keep - 1));
            for i in (0..keep - 1).rev() {
                let _ = std::fs::rename(name(i), name(i + 1));
            }
            if let Ok(f) = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.cfg.path)
            {
                self.file = f;
            }
        }
        self.size = 0;
    }
}

/// Reads the lines of a json-file log and its rotated files, oldest first.
pub fn read_log(path: &std::path::Path, max_files: u32) -> Vec<LogLine> {
    let mut out = Vec::new();
    for i in (0..max_files.max(1)).rev() {
        let mut p = path.to_path_buf().into_os_string();
        if i > 0 {
            p.push(format!(".{i}"));
        }
        if let Ok(data) = std::fs::read_to_string(PathBuf::from(p)) {
            out.extend(
                data.lines()
                    .filter_map(|l| serde_json::from_str::<LogLine>(l).ok()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_partial_lines_and_rotation() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("c-json.log");
        let cfg = LogConfig {
            path: path.clone(),
            max_size: Some(200),
            max_files: 3,
            forward: false,
        };
        let mut w = LogWriter::open(cfg).unwrap();
        w.feed(0, b"hello\nwor", 0);
        w.feed(1, b"oops\n", 1_000_000_001);
        w.feed(0, b"ld\n", 2);
        let lines = read_log(&path, 3);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].log, "hello\n");
        assert_eq!(
            lines[1],
            LogLine {
                log: "oops\n".into(),
                stream: "stderr".into(),
                time: "1970-01-01T00:00:01.000000001Z".into()
            }
        );
        assert_eq!(lines[2].log, "world\n");
        for i in 0..20 {
            w.feed(0, format!("line {i}\n").as_bytes(), 3);
        }
        w.flush(4);
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
        assert!(d.path().join("c-json.log.2").exists());
        assert!(!d.path().join("c-json.log.3").exists());
        let all = read_log(&path, 3);
        assert_eq!(
            all.last().unwrap().log,
            "line 19\n",
            "no line lost at the newest end"
        );
        assert!(all.windows(2).all(|w| w[0].log != w[1].log));
    }
}
