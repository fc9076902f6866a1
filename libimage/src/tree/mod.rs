//! Reading snapshot trees without mounting them: the merged view of a stack of overlay
//! layer directories (whiteouts and opaque directories honoured), walked with directory
//! fds and `O_NOFOLLOW` so that a concurrently changing tree (a running container) cannot
//! redirect a read outside it. Used by `export` and by `changes` (`docker diff`, commit).

mod changes;
mod export;
mod walk;

pub use changes::{changes, write_changes_tar, write_changes_tar_clamped, Change, ChangeKind};
pub use export::{write_subtree_tar, write_tree_tar};
pub use walk::{Entry, Layers};
