//! Where the model tests find the repository and the model weights.

use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$HEARTH_MODELS_DIR`, else the repository's `models/weights/` (filled by `cargo xtask models`).
pub fn models_dir() -> PathBuf {
    std::env::var_os("HEARTH_MODELS_DIR").map_or_else(|| repo_root().join("models/weights"), PathBuf::from)
}
