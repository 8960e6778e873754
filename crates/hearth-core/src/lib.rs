//! hearth-core: everything that matters in Hearth — the store, the feed and its ranking,
//! search, composing, demo content, and the on-device models — behind one `App` value. No Tauri, no HTTP: the desktop
//! shell, the CLI and browser mode are thin faces over `App`.

pub mod app;
pub mod audio;
pub mod compose;
pub mod config;
pub mod demo;
pub mod digest;
pub mod enrich;
pub mod error;
pub mod feed;
pub mod images;
pub mod interactions;
pub mod media;
pub mod models;
pub mod post;
pub mod progress;
pub mod random;
pub mod ranking;
pub mod search;
pub mod sources;
pub mod store;
pub mod transcription;

pub use app::{App, Check, DemoImport, DescribeImage, ImageDescription, MediaFile, Mutes, Personalisation, Status};
pub use config::Config;
pub use error::{Error, ErrorBody, ErrorCode, Result};
pub use feed::{FeedMode, FeedPage, FeedQuery};
pub use interactions::{InteractionInput, InteractionKind};
pub use post::{Attachment, NewPost, Post};
pub use search::SearchResult;
