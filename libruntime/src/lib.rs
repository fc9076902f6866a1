//! libruntime: turn a root file system and an OCI runtime [`Spec`](oci_spec::runtime::Spec)
//! into an isolated process that outlives the program that started it.
//!
//! Terms: a **container** has an ID and a state directory under the runtime's root; its
//! **monitor** is a fresh single-threaded process (executed from a sealed in-memory copy
//! of a helper binary) that forks the container's **init** into new namespaces, reports
//! the container created, passes `start` on, and records the exit.
//!
//! ```no_run
//! use libruntime::{docker_default, CreateOptions, Helper, Runtime};
//!
//! fn main() -> Result<(), libruntime::Error> {
//!     libruntime::maybe_run(); // this program also serves as the monitor helper
//!     let rt = Runtime::new("/run/example", Helper::CurrentExe)?;
//!     let spec = docker_default("/path/to/rootfs", &["echo".into(), "hello".into()])?;
//!     let c = rt.create("demo", &spec, CreateOptions::default())?;
//!     c.start()?;
//!     println!("exit code {}", c.wait()?);
//!     c.delete(false)
//! }
//! ```
#![deny(missing_docs)]

pub mod caps;
pub mod cgroup;
mod console;
mod container;
pub mod devicefilter;
mod error;
mod exec;
mod helper;
mod init;
pub mod logs;
mod monitor;
pub mod process;
mod restart;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod syscall;

pub use container::{Container, CreateOptions, ExitLog, Runtime};
pub use error::{Error, ErrorKind, Result};
pub use helper::{helper_ready, maybe_run, ContainerStdio, Helper};
pub use restart::RestartPolicy;
pub use spec::docker_default;
pub use state::{State, Status};
