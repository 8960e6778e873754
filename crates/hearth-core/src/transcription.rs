//! The speech part of the enrichment pipeline: a thread of its own that transcribes every
//! audio attachment (local voice memos and audio from any source), newest post first, one at
//! a time, with the configured speech model. Each job's state is stored as it changes
//! (`transcribing`, then `done`, `failed` or `cancelled`), so the UI reads it with the post and
//! a crash never leaves a job "transcribing" (those go back to waiting at start-up). What is
//! said becomes searchable at once; the main worker then embeds it and, for a post with no
//! words of its own, takes the post's tone from it (`enrich_transcripts_batch`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use crate::enrich::{put_embedding, put_tone, read_stored_file, Reported, TextModels};
use crate::error::{Error, Result};
use crate::models::speech::{MediaTranscript, SpeechModel, TranscriptStatus, MODEL_VERSION};
use crate::models::DeviceChoice;
use crate::store::enrichments::{self, Subject};
use crate::store::{now_ms, Store};

/// How often a missing speech model is looked for again.
const MODEL_RETRY: Duration = Duration::from_secs(60);
/// How long the thread sleeps with nothing to do, unless woken.
const IDLE_WAIT: Duration = Duration::from_secs(30);

/// The speech model transcription uses now: the configured one at start-up, changed from
/// Settings (`App::set_speech_model`). Shared by the app, the status and the thread, which
/// loads the new model before its next job.
#[derive(Debug, Clone)]
pub struct SpeechChoice(Arc<RwLock<String>>);

impl SpeechChoice {
    pub fn new(model_id: &str) -> Self {
        Self(Arc::new(RwLock::new(model_id.to_owned())))
    }

    pub fn get(&self) -> String {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) fn set(&self, model_id: &str) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = model_id.to_owned();
    }
}

/// The transcription running now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub media_id: i64,
    pub post_id: i64,
    /// How much of the recording is done, 0..=1.
    pub fraction: f64,
}

/// The media id of the job running now and its cancel flag: locked by the thread to start a
/// job and by `cancel`/`retry`, so a job cannot start between a check and a change.
type Running = Mutex<Option<(i64, Arc<AtomicBool>)>>;

fn lock(running: &Running) -> std::sync::MutexGuard<'_, Option<(i64, Arc<AtomicBool>)>> {
    running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Handle on the transcription thread. Dropping it stops the thread once its job ends.
pub struct SpeechWorker {
    wake: Mutex<mpsc::Sender<()>>,
    running: Arc<Running>,
    store: Store,
    choice: SpeechChoice,
}

/// `(done, total)`: audio attachments settled for `model_id` (see `audio_missing`) / all of them.
pub fn coverage(store: &Store, model_id: &str) -> Result<(i64, i64)> {
    store.read(|connection| enrichments::audio_coverage(connection, model_id, MODEL_VERSION))
}

impl SpeechWorker {
    pub(crate) fn start(
        config: &crate::config::Config,
        choice: SpeechChoice,
        store: Store,
        models_dir: PathBuf,
        status: Arc<Reported>,
        text_worker: mpsc::Sender<()>,
    ) -> Self {
        let (wake, woken) = mpsc::channel();
        let running = Arc::new(Running::default());
        let thread = Thread {
            store: store.clone(),
            models_dir,
            data_dir: config.data_dir.clone(),
            device: config.device,
            choice: choice.clone(),
            status: Arc::clone(&status),
            running: Arc::clone(&running),
            text_worker,
        };
        let spawned = std::thread::Builder::new().name("hearth-speech".into()).spawn(move || thread.run(&woken));
        if let Err(error) = spawned {
            status.set_speech(Some(format!("cannot start the transcription thread: {error}")), None);
        }
        Self { wake: Mutex::new(wake), running, store, choice }
    }

    pub fn wake(&self) {
        if let Ok(sender) = self.wake.lock() {
            let _ = sender.send(());
        }
    }

    pub fn cancel(&self, media_id: i64) -> Result<()> {
        let running = lock(&self.running);
        if let Some((job, cancel)) = running.as_ref() {
            if *job == media_id {
                cancel.store(true, Ordering::Relaxed);
                return Ok(());
            }
        }
        self.store.write(|connection| {
            audio_exists(connection, media_id)?;
            // A finished transcript (by any model) is kept: there is nothing left to cancel.
            if enrichments::is_transcribed(connection, media_id)? {
                return Err(Error::Conflict("this recording is already transcribed".into()));
            }
            let model_id = self.choice.get();
            let cancelled = MediaTranscript::with_status(TranscriptStatus::Cancelled, &model_id);
            enrichments::put_transcript(connection, media_id, &model_id, MODEL_VERSION, &cancelled, now_ms())
        })
    }

    pub fn retry(&self, media_id: i64) -> Result<()> {
        {
            let running = lock(&self.running);
            if running.as_ref().is_some_and(|(job, _)| *job == media_id) {
                return Err(Error::Conflict("this recording is being transcribed now".into()));
            }
            self.store.write(|connection| enrichments::clear_transcripts(connection, media_id))?;
        }
        self.wake();
        Ok(())
    }
}

fn audio_exists(connection: &rusqlite::Connection, media_id: i64) -> Result<()> {
    use rusqlite::OptionalExtension as _;
    connection
        .query_row("SELECT 1 FROM media WHERE id = ?1 AND kind = 'audio'", [media_id], |_| Ok(()))
        .optional()?
        .ok_or_else(|| Error::not_found("audio attachment", media_id))
}

struct Thread {
    store: Store,
    models_dir: PathBuf,
    data_dir: PathBuf,
    device: DeviceChoice,
    choice: SpeechChoice,
    status: Arc<Reported>,
    running: Arc<Running>,
    text_worker: mpsc::Sender<()>,
}

impl Thread {
    fn run(&self, woken: &mpsc::Receiver<()>) {
        // Returns false when the app has gone away.
        let wait = |duration| !matches!(woken.recv_timeout(duration), Err(RecvTimeoutError::Disconnected));
        if let Err(error) = self.store.write(|connection| enrichments::clear_interrupted_transcripts(connection)) {
            self.status.set_speech(Some(format!("transcription waits: {error}")), None);
        }
        // The model in use, reloaded when the user chooses another (between jobs).
        let mut loaded: Option<(String, SpeechModel)> = None;
        loop {
            let wanted = self.choice.get();
            if loaded.as_ref().is_none_or(|(id, _)| *id != wanted) {
                loaded = None;
                match SpeechModel::load(&self.models_dir, &wanted, self.device) {
                    Ok(model) => {
                        loaded = Some((wanted, model.with_threads(crate::models::speech::background_threads())));
                        self.status.set_speech(None, None);
                    }
                    Err(error) => {
                        // Woken early by a download finishing or another choice.
                        self.status.set_speech(Some(format!("transcription waits: {error}")), None);
                        if !wait(MODEL_RETRY) {
                            return;
                        }
                        continue;
                    }
                }
            }
            let Some((model_id, model)) = loaded.as_ref() else { continue };
            match self.next_job(model_id) {
                Ok(Some((job, cancel, path))) => {
                    self.transcribe(model, model_id, &job, &cancel, &path);
                    *lock(&self.running) = None;
                    self.status.set_speech(None, None);
                    // The main worker embeds and tags what was said.
                    let _ = self.text_worker.send(());
                }
                Ok(None) => {
                    if !wait(IDLE_WAIT) {
                        return;
                    }
                }
                Err(error) => {
                    self.status.set_speech(Some(format!("transcription waits: {error}")), None);
                    if !wait(Duration::from_secs(10)) {
                        return;
                    }
                }
            }
        }
    }

    /// Takes the next recording to transcribe, marking it `transcribing` and running.
    fn next_job(&self, model_id: &str) -> Result<Option<(Job, Arc<AtomicBool>, String)>> {
        let mut running = lock(&self.running);
        let next = self.store.read(|connection| enrichments::audio_missing(connection, model_id, MODEL_VERSION, 1))?;
        let Some((media_id, post_id, path)) = next.into_iter().next() else {
            return Ok(None);
        };
        let marker = MediaTranscript::with_status(TranscriptStatus::Transcribing, model_id);
        self.store.write(|connection| {
            enrichments::put_transcript(connection, media_id, model_id, MODEL_VERSION, &marker, now_ms())
        })?;
        let cancel = Arc::new(AtomicBool::new(false));
        *running = Some((media_id, Arc::clone(&cancel)));
        let job = Job { media_id, post_id, fraction: 0.0 };
        self.status.set_speech(None, Some(job.clone()));
        Ok(Some((job, cancel, path)))
    }

    fn transcribe(&self, model: &SpeechModel, model_id: &str, job: &Job, cancel: &Arc<AtomicBool>, path: &str) {
        let status = Arc::clone(&self.status);
        let result = read_stored_file(&self.data_dir, path)
            .and_then(|bytes| {
                let extension = Path::new(path).extension().and_then(|extension| extension.to_str());
                crate::audio::decode(bytes, extension)
            })
            .and_then(|audio| {
                model.transcribe(&audio, Arc::new(move |fraction: f64| status.set_speech_fraction(fraction)), cancel)
            });
        let outcome = match result {
            Ok(transcript) => MediaTranscript::done(transcript),
            Err(_) if cancel.load(Ordering::Relaxed) => {
                MediaTranscript::with_status(TranscriptStatus::Cancelled, model_id)
            }
            Err(error) => MediaTranscript {
                error: Some(error.to_string()),
                ..MediaTranscript::with_status(TranscriptStatus::Failed, model_id)
            },
        };
        let stored = self.store.write(|connection| {
            enrichments::put_transcript(connection, job.media_id, model_id, MODEL_VERSION, &outcome, now_ms())
        });
        if let Err(error) = stored {
            self.status.set_speech(Some(format!("a transcript could not be stored: {error}")), None);
        }
    }
}

/// Embeds up to `limit` finished transcripts (so search by meaning and the ranker see what
/// recordings say) and, for a post with no words of its own, stores the transcript's tone as
/// the post's. Returns how many.
pub fn enrich_transcripts_batch(store: &Store, models: &TextModels, limit: i64) -> Result<usize> {
    let pending = store
        .read(|connection| enrichments::transcripts_to_embed(connection, crate::app::TEXT_EMBEDDING_MODEL, limit))?;
    if pending.is_empty() {
        return Ok(0);
    }
    let texts: Vec<&str> = pending.iter().map(|(_, _, text, _)| text.as_str()).collect();
    let (vectors, tones) = models.embed_and_classify(&texts)?;
    let now = now_ms();
    store.write(|connection| {
        for (((media_id, post_id, _, post_has_no_text), vector), tone) in pending.iter().zip(vectors).zip(tones) {
            put_embedding(connection, Subject::Media(*media_id), vector, now)?;
            put_tone(connection, Subject::Media(*media_id), &tone, now)?;
            if *post_has_no_text {
                put_tone(connection, Subject::Post(*post_id), &tone, now)?;
            }
        }
        Ok(())
    })?;
    Ok(pending.len())
}
