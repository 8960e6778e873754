//! The enrichment pipeline: runs the models over posts — new ones as they arrive and the
//! backlog — and stores in `enrichments`, keyed by model id and version, an embedding and a
//! tone per post and labels per image (with an embedding of what the image shows, for search
//! by meaning), so the work is idempotent and resumes after a crash (what is stored is done;
//! what is not is still pending). A background thread does the work in batches; the models are
//! loaded once, on that thread, and the UI only reads the status. Without the image model the
//! text work goes on, and the status says why images wait.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candle_core::Device;
use rayon::prelude::*;
use serde::Serialize;

use crate::app::TEXT_EMBEDDING_MODEL;
use crate::error::{Error, Result};
use crate::images;
use crate::models::image_classifier::{self, ImageClassifier, ImageLabels};
use crate::models::sentiment::{self, ToneModel};
use crate::models::text::TextEmbedder;
use crate::models::{Catalog, DeviceChoice};
use crate::progress::Changes;
use crate::store::enrichments::{self, Enrichment, Subject};
use crate::store::{now_ms, Store};

/// Posts per batch.
pub const BATCH_SIZE: i64 = 32;
/// Images per batch (one forward pass of the image model).
pub const IMAGE_BATCH_SIZE: i64 = 16;
/// How often the worker tries again to load a missing image model.
const IMAGE_MODEL_RETRY: Duration = Duration::from_secs(60);
/// The embedding model's version, as stored with each vector.
const EMBEDDING_VERSION: &str = "1";
/// How long the worker sleeps when there is nothing to do, unless woken.
const IDLE_WAIT: Duration = Duration::from_secs(30);

/// The text models, loaded together.
pub struct TextModels {
    pub(crate) embedder: TextEmbedder,
    pub(crate) tone: ToneModel,
    pub(crate) device: Device,
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
        let tone = ToneModel::load(&tone_encoder_path(models_dir)?, &device)?;
        Ok(Self { embedder: TextEmbedder::load(&dir, &device)?, tone, device })
    }

    /// Embeddings and tones of `texts`, in input order.
    pub(crate) fn embed_and_classify(&self, texts: &[&str]) -> Result<(Vec<Vec<f32>>, Vec<sentiment::ToneScore>)> {
        Ok((self.embedder.embed(texts)?, self.tone.classify(texts)?))
    }
}

/// The installed tone encoder's file (multilingual-e5-small) under `models_dir`.
pub(crate) fn tone_encoder_path(models_dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let dir = Catalog::bundled()?.model(crate::models::e5::MODEL_ID)?.installed_dir(models_dir)?;
    Ok(dir.join(crate::models::e5::FILE_NAME))
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
    let (vectors, tones) = models.embed_and_classify(&texts)?;
    let now = now_ms();
    store.write(|connection| {
        for (((post_id, _), vector), tone) in pending.iter().zip(vectors).zip(tones) {
            let subject = Subject::Post(*post_id);
            put_embedding(connection, subject, vector, now)?;
            put_tone(connection, subject, &tone, now)?;
        }
        Ok(())
    })?;
    Ok(pending.len())
}

/// Stores the tone of a post's text (or of what its recording says).
pub(crate) fn put_tone(
    connection: &rusqlite::Connection,
    subject: Subject,
    tone: &sentiment::ToneScore,
    now: i64,
) -> Result<()> {
    let value = serde_json::json!({ "label": tone.label, "score": tone.score, "probabilities": tone.probabilities });
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
    )
}

/// Stores the text model's embedding of a post's text or of what an image shows.
pub(crate) fn put_embedding(
    connection: &rusqlite::Connection,
    subject: Subject,
    vector: Vec<f32>,
    now: i64,
) -> Result<()> {
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
    )
}

/// The image model from the models folder.
pub fn load_image_classifier(models_dir: &Path, device: DeviceChoice) -> Result<ImageClassifier> {
    let catalog = Catalog::bundled()?;
    let dir = catalog.model(image_classifier::MODEL_ID)?.installed_dir(models_dir)?;
    ImageClassifier::load(&dir, &device.device()?)
}

/// Labels up to `limit` stored images that have none yet, in one transaction; returns how
/// many. An image that cannot be read gets its error stored instead, so it is not retried
/// until the model version changes. What each image shows is embedded as text (by the text
/// model), so search by meaning finds it.
pub fn enrich_images_batch(
    store: &Store,
    text: &TextModels,
    classifier: &ImageClassifier,
    data_dir: &Path,
    limit: i64,
) -> Result<usize> {
    let pending = store.read(|connection| {
        enrichments::images_missing(connection, image_classifier::MODEL_ID, image_classifier::MODEL_VERSION, limit)
    })?;
    if pending.is_empty() {
        return Ok(0);
    }
    let decoded: Vec<Result<images::RgbImage>> =
        pending.par_iter().map(|(_, path)| read_stored_image(data_dir, path)).collect(); // across the cores
    let readable: Vec<images::RgbImage> = decoded.iter().filter_map(|image| image.as_ref().ok().cloned()).collect();
    let mut labelled = classifier.classify(&readable, image_classifier::LABELS_KEPT)?.into_iter();
    let results: Vec<ImageLabels> = decoded
        .iter()
        .map(|image| match image {
            Ok(_) => ImageLabels { labels: labelled.next().unwrap_or_default(), error: None },
            Err(error) => ImageLabels { labels: Vec::new(), error: Some(error.to_string()) },
        })
        .collect();
    // "a photo of an espresso, a tea cup": what search by meaning compares queries with.
    let captions: Vec<String> = results
        .iter()
        .map(|result| {
            let words = result.searchable_words();
            if words.is_empty() {
                String::new()
            } else {
                format!("a photo of {}", words.replace('\n', ", "))
            }
        })
        .collect();
    let to_embed: Vec<&str> = captions.iter().map(String::as_str).filter(|caption| !caption.is_empty()).collect();
    let mut vectors = text.embedder.embed(&to_embed)?.into_iter();
    let now = now_ms();
    store.write(|connection| {
        for (((media_id, _), result), caption) in pending.iter().zip(&results).zip(&captions) {
            let subject = Subject::Media(*media_id);
            let value = serde_json::to_string(result).map_err(|error| Error::Internal(error.to_string()))?;
            let labels = Enrichment {
                subject,
                kind: "labels".into(),
                model_id: image_classifier::MODEL_ID.into(),
                model_version: image_classifier::MODEL_VERSION.into(),
                value_json: Some(value),
                vector: None,
            };
            enrichments::put_image_labels(connection, &labels, &result.searchable_words(), now)?;
            if caption.is_empty() {
                continue;
            }
            if let Some(vector) = vectors.next() {
                put_embedding(connection, subject, vector, now)?;
            }
        }
        Ok(())
    })?;
    Ok(pending.len())
}

/// A stored attachment's pixels; `path` is relative to the data directory, as Hearth writes it.
fn read_stored_image(data_dir: &Path, path: &str) -> Result<images::RgbImage> {
    images::decode(&read_stored_file(data_dir, path)?)
}

/// A stored attachment's bytes; `path` must be relative and inside the data directory.
pub(crate) fn read_stored_file(data_dir: &Path, path: &str) -> Result<Vec<u8>> {
    let relative = Path::new(path);
    if relative.is_absolute() || relative.components().any(|part| matches!(part, std::path::Component::ParentDir)) {
        return Err(Error::invalid(format!("{path} is not a path inside the data directory")));
    }
    std::fs::read(data_dir.join(relative))
        .map_err(|error| Error::invalid(format!("the file {path} cannot be read: {error}")))
}

/// `(done, total)` stored images labelled by the current image model.
pub fn image_coverage(store: &Store) -> Result<(i64, i64)> {
    store.read(|connection| {
        enrichments::images_coverage(connection, image_classifier::MODEL_ID, image_classifier::MODEL_VERSION)
    })
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
    /// Posts tagged, of those with text.
    pub done: i64,
    pub total: i64,
    pub message: Option<String>,
    pub images: ImageStatus,
    pub speech: SpeechStatus,
}

/// The speech part of the pipeline: audio attachments transcribed (or given up on), the job
/// running now, and why transcription waits, if it does.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpeechStatus {
    /// The speech model in use (chosen in Settings, or `speech_model` in `config.toml`).
    pub model: String,
    pub done: i64,
    pub total: i64,
    pub message: Option<String>,
    pub current: Option<crate::transcription::Job>,
}

/// The image part of the pipeline: stored images labelled, and why not, if they wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImageStatus {
    pub done: i64,
    pub total: i64,
    /// Why images are not being labelled (the model is not installed, say), if they are not.
    pub message: Option<String>,
}

/// The background worker. Dropping the last handle stops it.
pub struct EnrichmentWorker {
    wake: Mutex<mpsc::Sender<()>>,
    status: Arc<Reported>,
    speech: crate::transcription::SpeechWorker,
}

impl std::fmt::Debug for EnrichmentWorker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("EnrichmentWorker").field("status", &self.status()).finish()
    }
}

impl EnrichmentWorker {
    /// Starts the worker thread; it loads the models itself, so start-up never waits on them.
    /// Every status change bumps `changes`.
    /// Transcription runs on a thread of its own (`transcription`), so a long recording never
    /// holds up tagging new posts; it wakes this worker to embed and tag what it transcribed.
    pub fn start(
        config: &crate::config::Config,
        speech_choice: crate::transcription::SpeechChoice,
        store: Store,
        models_dir: PathBuf,
        changes: Changes,
    ) -> Self {
        let (device, data_dir) = (config.device, config.data_dir.clone());
        let (wake, woken) = mpsc::channel();
        let status = Arc::new(Reported {
            status: Mutex::new(EnrichmentStatus {
                state: "starting",
                done: 0,
                total: 0,
                message: None,
                images: ImageStatus::default(),
                speech: SpeechStatus::default(),
            }),
            changes,
            store: store.clone(),
            speech_choice: speech_choice.clone(),
        });
        let speech = crate::transcription::SpeechWorker::start(
            config,
            speech_choice,
            store.clone(),
            models_dir.clone(),
            Arc::clone(&status),
            wake.clone(),
        );
        let worker_status = Arc::clone(&status);
        let spawned = std::thread::Builder::new()
            .name("hearth-enrichment".into())
            .spawn(move || run(&store, &models_dir, &data_dir, device, &woken, &worker_status));
        if let Err(error) = spawned {
            status.set("unavailable", Some(format!("cannot start the enrichment thread: {error}")));
        }
        Self { wake: Mutex::new(wake), status, speech }
    }

    /// Stops transcribing `media_id` (now, if it is the job running) and leaves it until asked again.
    pub fn cancel_transcription(&self, media_id: i64) -> Result<()> {
        self.speech.cancel(media_id)?;
        self.status.new_work();
        Ok(())
    }

    /// Transcribes `media_id` again (after it failed or was cancelled, or with a new model).
    pub fn retry_transcription(&self, media_id: i64) -> Result<()> {
        self.speech.retry(media_id)?;
        self.status.new_work();
        Ok(())
    }

    /// Tells the worker there may be new posts. The counts include them from now on, so the
    /// status never says "all done" while new posts or images wait for the worker.
    pub fn wake(&self) {
        self.status.new_work();
        if let Ok(sender) = self.wake.lock() {
            let _ = sender.send(());
        }
        self.speech.wake();
    }

    /// Tells the worker the speech model changed: the status says so at once, and the
    /// transcription thread loads the new model before its next job.
    pub fn speech_model_changed(&self) {
        self.status.update(|_| {});
        self.speech.wake();
    }

    pub fn status(&self) -> EnrichmentStatus {
        self.status.status.lock().map(|status| status.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

/// The workers' status, and the counter that tells the UI it moved.
pub(crate) struct Reported {
    status: Mutex<EnrichmentStatus>,
    changes: Changes,
    store: Store,
    speech_choice: crate::transcription::SpeechChoice,
}

impl Reported {
    fn set(&self, state: &'static str, message: Option<String>) {
        self.update(|status| {
            status.state = state;
            status.message = message;
        });
    }

    fn set_images(&self, message: Option<String>) {
        self.update(|status| status.images.message = message);
    }

    /// Why transcription waits (or `None`), and the job running now.
    pub(crate) fn set_speech(&self, message: Option<String>, current: Option<crate::transcription::Job>) {
        self.update(|status| {
            status.speech.message = message;
            status.speech.current = current;
        });
    }

    /// How far the running transcription has got: reported many times a job, so the counts
    /// are left as they are.
    pub(crate) fn set_speech_fraction(&self, fraction: f64) {
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(job) = &mut status.speech.current {
            job.fraction = fraction.clamp(0.0, 1.0);
        }
        drop(status);
        self.changes.bump();
    }

    /// New posts or images were stored: counted at once, and an idle worker is about to work.
    fn new_work(&self) {
        self.update(|status| {
            if status.state == "idle" && status.done < status.total {
                status.state = "working";
            }
        });
    }

    /// Applies `change`, then counts what is done afresh. The counts are read while the status
    /// is locked, so a report never carries older counts than the one before it (a count read
    /// before a post was stored cannot overwrite one read after).
    fn update(&self, change: impl FnOnce(&mut EnrichmentStatus)) {
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A count that cannot be read keeps the last one; the next report tries again.
        if let Ok((done, total)) = coverage(&self.store) {
            (status.done, status.total) = (done, total);
        }
        if let Ok((done, total)) = image_coverage(&self.store) {
            (status.images.done, status.images.total) = (done, total);
        }
        status.speech.model = self.speech_choice.get();
        if let Ok((done, total)) = crate::transcription::coverage(&self.store, &status.speech.model) {
            (status.speech.done, status.speech.total) = (done, total);
        }
        change(&mut status);
        drop(status);
        // Every report counts as a change, even an unchanged one: a retry that failed again
        // is news to a UI waiting on it.
        self.changes.bump();
    }
}

fn run(
    store: &Store,
    models_dir: &Path,
    data_dir: &Path,
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
                status.set("unavailable", Some(error.to_string()));
                if !wait(Duration::from_secs(60)) {
                    return;
                }
            }
        }
    };
    let mut classifier: Option<ImageClassifier> = None;
    let mut next_image_load = Instant::now();
    loop {
        if classifier.is_none() && Instant::now() >= next_image_load {
            match load_image_classifier(models_dir, device) {
                Ok(loaded) => {
                    classifier = Some(loaded);
                    status.set_images(None);
                }
                Err(error) => {
                    next_image_load = Instant::now() + IMAGE_MODEL_RETRY;
                    status.set_images(Some(format!("image labels wait: {error}")));
                }
            }
        }
        let texts = enrich_batch(store, &models, BATCH_SIZE)
            .and_then(|posts| Ok(posts + crate::transcription::enrich_transcripts_batch(store, &models, BATCH_SIZE)?));
        let images = match &classifier {
            Some(classifier) => enrich_images_batch(store, &models, classifier, data_dir, IMAGE_BATCH_SIZE)
                .inspect(|_| status.set_images(None)),
            None => Ok(0),
        };
        match (texts, images) {
            (Ok(0), Ok(0)) => {
                status.set("idle", None);
                if !wait(IDLE_WAIT) {
                    return;
                }
            }
            (Ok(_), Ok(_)) => status.set("working", None),
            (Err(error), _) | (_, Err(error)) => {
                status.set("unavailable", Some(error.to_string()));
                if !wait(Duration::from_secs(10)) {
                    return;
                }
            }
        }
    }
}
