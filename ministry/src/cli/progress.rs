//! Docker's terminal display of pulls and pushes: one line per layer, redrawn in place
//! (through indicatif), `a1b2c3d4e5f6: Downloading [=====>      ]  1.049MB/2.301MB`. Used only
//! when the stream is a terminal; elsewhere the callers print Docker's plain lines.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Which standard stream the display goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `pull`, `push`.
    Stdout,
    /// The pull of `run` and `create`.
    Stderr,
}

impl Stream {
    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// Docker's `units.HumanSize`: decimal units, four significant digits (`1.049MB`, `512B`).
pub fn human_size(bytes: u64) -> String {
    super::output::human_size_with_precision(bytes, 4)
}

/// Docker's progress text after the status: a 50-wide bar (on terminals wider than 110
/// columns) and `current/total`.
pub fn progress_text(done: u64, total: u64, width: u16) -> String {
    if total == 0 {
        return if done == 0 {
            String::new()
        } else {
            format!("{:>8}", human_size(done))
        };
    }
    let pct = ((done as f64 / total as f64 * 100.0) as usize / 2).min(50);
    let bar = if width > 110 {
        format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct))
    } else {
        String::new()
    };
    format!("{bar}{:>8}/{}", human_size(done), human_size(total))
}

/// The lines of one pull or push on a terminal.
pub struct LayerBars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    width: u16,
}

impl LayerBars {
    /// A display on `stream` if it is a terminal.
    pub fn on(stream: Stream) -> Option<Self> {
        if !stream.is_terminal() {
            return None;
        }
        let target = match stream {
            Stream::Stdout => ProgressDrawTarget::stdout(),
            Stream::Stderr => ProgressDrawTarget::stderr(),
        };
        let width = super::containers::terminal_size()
            .map(|(_, cols)| cols)
            .unwrap_or(80);
        Some(LayerBars {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            width,
        })
    }

    /// Shows `status` (and the bytes moved, if any) on the line of layer `id`; `last` ends
    /// the line (it stays as it is).
    pub fn set(&self, id: &str, status: &str, bytes: Option<(u64, u64)>, last: bool) {
        let mut bars = self.bars.lock().expect("lock");
        let bar = bars.entry(id.to_string()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::no_length());
            b.set_style(ProgressStyle::with_template("{prefix}: {msg}").expect("valid template"));
            b.set_prefix(id.to_string());
            b
        });
        let msg = match bytes {
            Some((done, total)) => {
                format!("{status} {}", progress_text(done, total, self.width))
            }
            None => status.to_string(),
        };
        if last {
            bar.finish_with_message(msg);
        } else {
            bar.set_message(msg);
        }
    }

    /// Ends every line still moving.
    pub fn finish(&self) {
        for b in self.bars.lock().expect("lock").values() {
            if !b.is_finished() {
                b.finish();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars_as_docker_prints_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1_048_576), "1.049MB");
        assert_eq!(human_size(2_301_000), "2.301MB");
        assert_eq!(human_size(12_345_678), "12.35MB");
        assert_eq!(human_size(1_500), "1.5kB");
        assert_eq!(human_size(100_000), "100kB");
        assert_eq!(
            progress_text(1_048_576, 2_097_152, 120),
            format!("[{}>{}]  1.049MB/2.097MB", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(progress_text(1_048_576, 2_097_152, 80), " 1.049MB/2.097MB");
        assert_eq!(
            progress_text(10, 10, 120),
            format!("[{}>] {:>8}/10B", "=".repeat(50), "10B")
        );
        assert_eq!(progress_text(0, 0, 120), "");
    }
}
