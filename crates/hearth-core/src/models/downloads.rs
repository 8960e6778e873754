//! Model downloads started from the UI: each runs on its own thread and reports bytes done,
//! bytes in all and what went wrong, and bumps the app's change counter so the settings page's
//! progress bar is pushed an update (the same for the desktop window and browser mode).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::fetch::{self, FetchProgress};
use super::Catalog;
use crate::error::Result;
use crate::progress::Changes;

/// One download, as the UI sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Download {
    /// `fetching`, `done` or `failed`.
    pub state: &'static str,
    pub source: Option<String>,
    pub file: Option<String>,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub error: Option<String>,
}

/// The downloads of this run, by model id.
#[derive(Debug, Clone, Default)]
pub struct Downloads {
    by_model: Arc<Mutex<HashMap<String, Download>>>,
    changes: Changes,
}

struct Reporter {
    model_id: String,
    downloads: Downloads,
}

impl Reporter {
    fn update(&self, change: impl FnOnce(&mut Download)) {
        let mut by_model = self.downloads.by_model.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(download) = by_model.get_mut(&self.model_id) {
            change(download);
        }
        drop(by_model);
        self.downloads.changes.bump();
    }
}

impl FetchProgress for Reporter {
    fn source(&mut self, description: &str) {
        self.update(|download| download.source = Some(description.to_owned()));
    }
    fn file_started(&mut self, name: &str, total_bytes: u64) {
        self.update(|download| {
            download.file = Some(name.to_owned());
            download.bytes_done = 0;
            download.bytes_total = total_bytes;
        });
    }
    fn advanced(&mut self, bytes: u64) {
        self.update(|download| download.bytes_done += bytes);
    }
    fn file_finished(&mut self) {}
}

impl Downloads {
    /// Downloads that bump `changes` whenever their progress moves.
    pub fn new(changes: Changes) -> Self {
        Self { by_model: Arc::default(), changes }
    }

    pub fn get(&self, model_id: &str) -> Option<Download> {
        self.by_model.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(model_id).cloned()
    }

    /// Starts fetching `model_id` unless it is already being fetched; `finished` runs on the
    /// download thread after a success.
    pub fn start(&self, model_id: &str, models_dir: PathBuf, finished: impl FnOnce() + Send + 'static) -> Result<()> {
        let catalog = Catalog::bundled()?;
        let spec = catalog.model(model_id)?.clone();
        {
            let mut by_model = self.by_model.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if by_model.get(model_id).is_some_and(|download| download.state == "fetching") {
                return Ok(());
            }
            by_model.insert(
                model_id.to_owned(),
                Download { state: "fetching", source: None, file: None, bytes_done: 0, bytes_total: 0, error: None },
            );
        }
        self.changes.bump();
        let downloads = self.clone();
        let model_id = model_id.to_owned();
        std::thread::Builder::new()
            .name(format!("hearth-fetch-{model_id}"))
            .spawn(move || {
                let mut reporter = Reporter { model_id: model_id.clone(), downloads: downloads.clone() };
                let result = fetch::fetch(&spec, &models_dir, &mut reporter);
                reporter.update(|download| match &result {
                    Ok(_) => download.state = "done",
                    Err(error) => {
                        download.state = "failed";
                        download.error = Some(error.to_string());
                    }
                });
                if result.is_ok() {
                    finished();
                }
            })
            .map_err(|error| crate::Error::Internal(format!("cannot start the download: {error}")))?;
        Ok(())
    }
}
