//! Integration tests of hearth-core through its public `App`, on real SQLite files in
//! temporary data directories. One module per feature.

mod compose;
mod demo;
mod feed;
mod interactions;
mod search;
mod support;
