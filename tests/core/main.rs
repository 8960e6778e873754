//! Integration tests of hearth-core through its public `App`, on real SQLite files in
//! temporary data directories. One module per feature.

#![allow(clippy::unwrap_used)] // Test set-up fails loudly, and that is the point.

mod bluesky;
mod bluesky_network;
mod compose;
mod demo;
mod digest;
mod e5;
mod embeddings;
mod embeddings_support;
mod enrich;
mod feed;
mod feed_documents;
mod feed_server;
mod images;
mod interactions;
mod mastodon;
mod mastodon_server;
mod models;
mod ranking;
mod search;
mod sentiment;
mod speech;
mod subscriptions;
mod support;
