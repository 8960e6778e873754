//! Start-up configuration: where the data lives and the user's own identity.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "HEARTH_DATA_DIR";
/// The environment variable that overrides where model weights live (default: `<data>/models`).
pub const MODELS_DIR_ENV: &str = "HEARTH_MODELS_DIR";

/// Everything `App::open` needs to know, decided once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `hearth.db` and `media/`.
    pub data_dir: PathBuf,
}

impl Config {
    /// Uses `explicit` (the `--data-dir` flag) if given, else `$HEARTH_DATA_DIR`, else the
    /// platform's convention (`~/.local/share/hearth` on Linux).
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        let data_dir = match explicit {
            Some(dir) => dir.to_path_buf(),
            None => match std::env::var_os(DATA_DIR_ENV).filter(|value| !value.is_empty()) {
                Some(dir) => PathBuf::from(dir),
                None => dirs::data_dir()
                    .ok_or_else(|| {
                        Error::Unavailable(format!(
                            "cannot find a data directory for this user; pass --data-dir or set {DATA_DIR_ENV}"
                        ))
                    })?
                    .join("hearth"),
            },
        };
        Ok(Self { data_dir })
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("hearth.db")
    }

    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// Where model weights live: `$HEARTH_MODELS_DIR`, else `<data dir>/models`.
    pub fn models_dir(&self) -> PathBuf {
        std::env::var_os(MODELS_DIR_ENV)
            .filter(|value| !value.is_empty())
            .map_or_else(|| self.data_dir.join("models"), PathBuf::from)
    }
}
