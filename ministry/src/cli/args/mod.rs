//! The CLI's argument structs: they only describe Docker's flags; the other `cli` modules
//! turn them into engine calls. A file per command group, all re-exported here.

mod command;
mod containers;
mod images;
mod networks;
mod registry;
mod run;
mod system;
mod volumes;

pub use command::*;
pub use containers::*;
pub use images::*;
pub use networks::*;
pub use registry::*;
pub use run::*;
pub use system::*;
pub use volumes::*;
