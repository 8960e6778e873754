//! The `hearth` command's library half: browser mode (`serve`) and the CLI (`cli`), kept in a
//! library so integration tests drive the real router and commands in-process.

pub mod cli;
pub mod evaluation;
pub mod progress;
pub mod serve;
pub mod train;
