//! Where the model tests find the repository, the model weights and the reference embeddings.

use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$HEARTH_MODELS_DIR`, else the repository's `models/weights/` (filled by `cargo xtask models`).
pub fn models_dir() -> PathBuf {
    std::env::var_os("HEARTH_MODELS_DIR").map_or_else(|| repo_root().join("models/weights"), PathBuf::from)
}

/// One input of a reference-embeddings fixture (`tests/fixtures/embeddings/*.json`) and what the
/// reference implementation made of it.
#[derive(serde::Deserialize)]
pub struct ReferenceItem {
    pub text: String,
    pub token_count: usize,
    pub vector: Vec<f32>,
}

/// A reference-embeddings fixture, parsed.
pub fn read_reference<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/embeddings").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}
