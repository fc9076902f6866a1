//! Container commands: `run`, `create`, `start`, `stop`, `kill`, `wait`, `logs`, `ps`, `rm`,
//! `exec`, `attach`, `cp`, `stats`, `top` and the others on one container, one file per
//! command group.

pub(crate) mod attach;
mod cp;
mod exec;
mod lifecycle;
mod logs;
pub(crate) mod options;
pub(crate) mod ps;
mod run;
mod stats;
mod terminal;

pub use attach::attach;
pub use cp::cp;
pub use exec::exec;
pub use lifecycle::{diff, export, kill, pause, port, rename, restart, rm, stop, update, version};
pub use logs::{logs, wait};
pub use ps::ps;
pub(crate) use ps::{command_text, status_text};
pub use run::{create, run, start};
pub use stats::{stats, top};
pub(crate) use terminal::terminal_size;

/// How `run` ended: the process exit code.
pub enum Outcome {
    /// Exit with this code (the container's).
    Code(i32),
}
