//! The enrichment pipeline: runs the text models over posts — new ones as they arrive and the
//! backlog — and stores an embedding and a tone per post in `enrichments`, keyed by model id
//! and version, so the work is idempotent and resumes after a crash (what is stored is done;
//! what is not is still pending). A background thread does the work in batches; the models are
//! loaded once, on that thread, and the UI only reads the status.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use candle_core::Device;
use serde::Serialize;

use crate::app::TEXT_EMBEDDING_MODEL;
use crate::error::Result;
use crate::models::sentiment::{self, SentimentHead};
use crate::models::text::TextEmbedder;
use crate::models::{Catalog, DeviceChoice};
use crate::progress::Changes;
use crate::store::enrichments::{self, Enrichment, Subject};
use crate::store::{now_ms, Store};

/// Posts per batch.
pub const BATCH_SIZE: i64 = 32;
/// The embedding model's version, as stored with each vector.
const EMBEDDING_VERSION: &str = "1";
/// How long the worker sleeps when there is nothing to do, unless woken.
const IDLE_WAIT: Duration = Duration::from_secs(30);

/// The text models, loaded together.
pub struct TextModels {
    embedder: TextEmbedder,
    head: SentimentHead,
    device: Device,
}

impl std::fmt::Debug for TextModels {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TextModels").field("device", &self.device).finish_non_exhaustive()
    }
}

impl TextModels {
    pub fn load(models_dir: &std::path::Path, device: DeviceChoice) -> Result<Self> {
        let device = device.device()?;
        let catalog = Catalog::bundled()?;
        let dir = catalog.model(TEXT_EMBEDDING_MODEL)?.installed_dir(models_dir)?;
        Ok(Self { embedder: TextEmbedder::load(&dir, &device)?, head: SentimentHead::bundled(&device)?, device })
    }
}

/// Embeds and tags up to `limit` pending posts in one transaction; returns how many.
pub fn enrich_batch(store: &Store, models: &TextModels, limit: i64) -> Result<usize> {
    let pending = store.read(|connection| {
        enrichments::posts_missing(connection, "sentiment", sentiment::MODEL_ID, sentiment::MODEL_VERSION, limit)
    })?;
    if pending.is_empty() {
        return Ok(0);
    }
    let texts: Vec<&str> = pending.iter().map(|(_, text)| text.as_str()).collect();
    let vectors = models.embedder.embed(&texts)?;
    let tones = sentiment::classify_texts(&models.head, &models.embedder, &texts, &vectors, &models.device)?;
    let now = now_ms();
    store.write(|connection| {
        for (((post_id, _), vector), tone) in pending.iter().zip(vectors).zip(tones) {
            let subject = Subject::Post(*post_id);
            enrichments::put(
                connection,
                &Enrichment {
                    subject,
                    kind: "embedding".into(),
                    model_id: TEXT_EMBEDDING_MODEL.into(),
                    model_version: EMBEDDING_VERSION.into(),
                    value_json: None,
                    vector: Some(vector),
                },
                now,
            )?;
            let value =
                serde_json::json!({ "label": tone.label, "score": tone.score, "probabilities": tone.probabilities });
            enrichments::put(
                connection,
                &Enrichment {
                    subject,
                    kind: "sentiment".into(),
                    model_id: sentiment::MODEL_ID.into(),
                    model_version: sentiment::MODEL_VERSION.into(),
                    value_json: Some(value.to_string()),
                    vector: None,
                },
                now,
            )?;
        }
        Ok(())
    })?;
    Ok(pending.len())
}

/// `(done, total)` posts tagged with the current tone model.
pub fn coverage(store: &Store) -> Result<(i64, i64)> {
    store.read(|connection| {
        enrichments::coverage(connection, "sentiment", sentiment::MODEL_ID, sentiment::MODEL_VERSION)
    })
}

/// What the pipeline is doing, for the UI's progress bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnrichmentStatus {
    /// `starting`, `working`, `idle` (all done) or `unavailable` (see `message`).
    pub state: &'static str,
    pub done: i64,
    pub total: i64,
    pub message: Option<String>,
}

/// The background worker. Dropping the last handle stops it.
pub struct EnrichmentWorker {
    wake: Mutex<mpsc::Sender<()>>,
    status: Arc<Reported>,
}

impl std::fmt::Debug for EnrichmentWorker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("EnrichmentWorker").field("status", &self.status()).finish()
    }
}

impl EnrichmentWorker {
    /// Starts the worker thread; it loads the models itself, so start-up never waits on them.
    /// Every status change bumps `changes`.
    pub fn start(store: Store, models_dir: PathBuf, device: DeviceChoice, changes: Changes) -> Self {
        let (wake, woken) = mpsc::channel();
        let status = Arc::new(Reported {
            status: Mutex::new(EnrichmentStatus { state: "starting", done: 0, total: 0, message: None }),
            changes,
        });
        let worker_status = Arc::clone(&status);
        let spawned = std::thread::Builder::new()
            .name("hearth-enrichment".into())
            .spawn(move || run(&store, &models_dir, device, &woken, &worker_status));
        if let Err(error) = spawned {
            status.set("unavailable", None, Some(format!("cannot start the enrichment thread: {error}")));
        }
        Self { wake: Mutex::new(wake), status }
    }

    /// Tells the worker there may be new posts.
    pub fn wake(&self) {
        if let Ok(sender) = self.wake.lock() {
            let _ = sender.send(());
        }
    }

    pub fn status(&self) -> EnrichmentStatus {
        self.status.status.lock().map(|status| status.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

/// The worker's status, and the counter that tells the UI it moved.
struct Reported {
    status: Mutex<EnrichmentStatus>,
    changes: Changes,
}

impl Reported {
    fn set(&self, state: &'static str, coverage: Option<(i64, i64)>, message: Option<String>) {
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        status.state = state;
        if let Some((done, total)) = coverage {
            status.done = done;
            status.total = total;
        }
        status.message = message;
        drop(status);
        // Every report counts as a change, even an unchanged one: a retry that failed again
        // is news to a UI waiting on it.
        self.changes.bump();
    }
}

fn run(
    store: &Store,
    models_dir: &std::path::Path,
    device: DeviceChoice,
    woken: &mpsc::Receiver<()>,
    status: &Reported,
) {
    // Returns false when the app has gone away.
    let wait = |duration| !matches!(woken.recv_timeout(duration), Err(RecvTimeoutError::Disconnected));
    let models = loop {
        match TextModels::load(models_dir, device) {
            Ok(models) => break models,
            Err(error) => {
                status.set("unavailable", coverage(store).ok(), Some(error.to_string()));
                if !wait(Duration::from_secs(60)) {
                    return;
                }
            }
        }
    };
    loop {
        match enrich_batch(store, &models, BATCH_SIZE) {
            Ok(0) => {
                status.set("idle", coverage(store).ok(), None);
                if !wait(IDLE_WAIT) {
                    return;
                }
            }
            Ok(_) => status.set("working", coverage(store).ok(), None),
            Err(error) => {
                status.set("unavailable", coverage(store).ok(), Some(error.to_string()));
                if !wait(Duration::from_secs(10)) {
                    return;
                }
            }
        }
    }
}
