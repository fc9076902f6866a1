//! The `ministry` command line: argument structs (`args`), Docker-style output (`output`),
//! and the handlers that call the engine.

pub mod args;
pub mod containers;
pub mod events;
pub mod images;
pub mod networks;
pub mod output;
pub mod progress;
pub mod registry;
pub mod system;
pub mod template;
pub mod volumes;
