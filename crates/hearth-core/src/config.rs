//! Start-up configuration: where the data lives, and the optional `config.toml` beside the
//! data (the device models run on). Command-line flags override the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::models::DeviceChoice;

/// The environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "HEARTH_DATA_DIR";
/// The environment variable that overrides where model weights live (default: `<data>/models`).
pub const MODELS_DIR_ENV: &str = "HEARTH_MODELS_DIR";

/// The optional settings file in the data directory.
pub const CONFIG_FILE: &str = "config.toml";

/// Everything `App::open` needs to know, decided once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `hearth.db`, `media/` and `config.toml`.
    pub data_dir: PathBuf,
    /// Where models run: `device` in `config.toml`, else `auto`; `--device` overrides it.
    pub device: DeviceChoice,
    /// The speech model transcription uses: `speech_model` in `config.toml`, else Whisper
    /// tiny.en (`whisper-base-en` and `whisper-small-en` are larger, optional downloads).
    pub speech_model: String,
}

/// What `config.toml` may hold. Unknown keys are refused, so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// `auto`, `cpu`, `cuda` or `metal`.
    device: Option<String>,
    /// A speech model id from the catalog.
    speech_model: Option<String>,
}

impl ConfigFile {
    /// The file at `path`, or the defaults when there is none.
    fn read(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|error| Error::invalid(format!("{} is not valid: {}", path.display(), error.message()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(Error::Unavailable(format!("cannot read {}: {error}", path.display()))),
        }
    }

    /// Writes the file whole and then moves it into place, so a crash leaves the old file or
    /// the new one, never half of one.
    fn write(&self, path: &Path) -> Result<()> {
        use std::io::Write as _;
        let mut text =
            String::from("# Hearth's settings. Hearth rewrites this file when they are changed in the app.\n");
        for (key, value) in [("device", &self.device), ("speech_model", &self.speech_model)] {
            if let Some(value) = value {
                // A JSON string is a valid TOML basic string.
                let quoted = serde_json::to_string(value).map_err(|error| Error::Internal(error.to_string()))?;
                text.push_str(&format!("{key} = {quoted}\n"));
            }
        }
        let partial = path.with_extension("toml.partial");
        let cannot = |error| Error::io(format!("cannot write {}", path.display()), error);
        let mut file = std::fs::File::create(&partial).map_err(cannot)?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(cannot)?;
        std::fs::rename(&partial, path).map_err(cannot)
    }
}

/// Remembers the chosen speech model in `data_dir`'s `config.toml`, keeping what else it says.
pub fn save_speech_model(data_dir: &Path, model_id: &str) -> Result<()> {
    let path = data_dir.join(CONFIG_FILE);
    let mut file = ConfigFile::read(&path)?;
    file.speech_model = Some(model_id.to_owned());
    file.write(&path)
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
        Self::in_dir(data_dir)
    }

    /// The configuration for `data_dir`, reading its `config.toml` when there is one.
    pub fn in_dir(data_dir: PathBuf) -> Result<Self> {
        let path = data_dir.join(CONFIG_FILE);
        let file = ConfigFile::read(&path)?;
        let device = match file.device {
            Some(device) => {
                DeviceChoice::parse(&device).map_err(|error| Error::invalid(format!("{}: {error}", path.display())))?
            }
            None => DeviceChoice::Auto,
        };
        let speech_model = match file.speech_model {
            Some(id) if crate::models::speech::MODEL_IDS.contains(&id.as_str()) => id,
            Some(id) => {
                return Err(Error::invalid(format!(
                    "{}: speech_model must be one of {}, not {id:?}",
                    path.display(),
                    crate::models::speech::MODEL_IDS.join(", ")
                )))
            }
            None => crate::models::speech::DEFAULT_MODEL_ID.to_owned(),
        };
        Ok(Self { data_dir, device, speech_model })
    }

    /// The same configuration with `--device` applied, when the flag was given.
    pub fn with_device_flag(mut self, flag: Option<&str>) -> Result<Self> {
        if let Some(flag) = flag {
            self.device = DeviceChoice::parse(flag)?;
        }
        Ok(self)
    }

    pub fn config_path(&self) -> PathBuf {
        self.data_dir.join(CONFIG_FILE)
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
