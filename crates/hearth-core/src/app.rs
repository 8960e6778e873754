//! The `App` value: built once at start-up from a `Config`, handed to every face (Tauri
//! commands, HTTP handlers, CLI commands), which call its plain methods.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::enrich::{EnrichmentStatus, EnrichmentWorker};
use crate::error::{Error, Result};
use crate::feed::{self, FeedPage, FeedQuery};
use crate::interactions::{self, InteractionInput};
use crate::models::fetch::FetchProgress;
use crate::models::image_classifier::{self, ImageClassifier};
use crate::models::text::TextEmbedder;
use crate::models::{self, Catalog, DeviceChoice, ModelStatus};
use crate::post::{NewPost, Post};
use crate::progress::Changes;
use crate::ranking::{self, Personalised, RankingStrategy};
use crate::search::{self, SearchResult};
use crate::store::interactions::{self as log, MutedAuthor};
use crate::store::{now_ms, posts, Store};
use crate::{compose, demo};

/// The catalog id of the model that embeds text.
pub const TEXT_EMBEDDING_MODEL: &str = "all-minilm-l6-v2";

/// The running application. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct App {
    config: Arc<Config>,
    store: Store,
    ranking: Arc<dyn RankingStrategy>,
    /// The background enrichment worker, in the interactive faces (desktop, browser mode).
    enrichment: Option<Arc<EnrichmentWorker>>,
    /// Model downloads started from the UI.
    downloads: models::downloads::Downloads,
    /// Bumped whenever a download or the enrichment pipeline moves (see `wait_for_progress`).
    changes: Changes,
    /// The embedding model for search queries: loaded on the first search and kept. While it
    /// is missing, each search tries again, so a download takes effect at once.
    query_embedder: Arc<Mutex<Option<Arc<TextEmbedder>>>>,
    /// The image model for alt-text suggestions: loaded on the first request and kept.
    describer: Arc<Mutex<Option<Arc<ImageClassifier>>>>,
    /// The ranked orders later feed pages continue.
    ranked_snapshots: Arc<feed::RankedSnapshots>,
    /// The speech model transcription uses (changed from Settings).
    speech_choice: crate::transcription::SpeechChoice,
}

/// An image to describe, as the composer holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeImage {
    pub data_base64: String,
}

/// What the image model sees in an image, and the alt text it suggests (`None` when unsure).
#[derive(Debug, Clone, Serialize)]
pub struct ImageDescription {
    pub labels: Vec<image_classifier::Label>,
    pub description: Option<String>,
}

/// What the UI's progress bars show: every model (with its download, if one runs) and the
/// enrichment pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub models: Vec<ModelStatus>,
    pub enrichment: EnrichmentStatus,
}

impl std::fmt::Debug for App {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("App")
            .field("data_dir", &self.config.data_dir)
            .field("ranking", &self.ranking.name())
            .finish_non_exhaustive()
    }
}

/// What is muted, for the settings page.
#[derive(Debug, Clone, Serialize)]
pub struct Mutes {
    pub authors: Vec<MutedAuthor>,
    pub words: Vec<String>,
}

/// Where the data is and how much of it there is.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub version: &'static str,
    pub data_dir: String,
    pub database_path: String,
    pub posts: i64,
    pub authors: i64,
    pub sources: i64,
    pub interactions: i64,
    pub media: i64,
    pub demo_imported: bool,
    pub ranking: &'static str,
    /// What the ranker has learned so far.
    pub personalisation: Personalisation,
    /// Where models run, as configured (`config.toml` or `--device`).
    pub device: DeviceChoice,
    pub config_path: String,
}

/// The ranker's learned state, in a few numbers and words.
#[derive(Debug, Clone, Serialize)]
pub struct Personalisation {
    /// Interactions learned from since the last reset.
    pub interactions_learned: u64,
    /// The interests found, each named by its most telling word (where one stands out).
    pub interests: Vec<String>,
}

/// The bytes of a media item, ready to serve.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub mime: String,
    pub path: PathBuf,
}

/// The result of checking the database file.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub ok: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct DemoImport {
    pub imported: usize,
}

impl App {
    /// Opens (creating if needed) the data directory and database.
    pub fn open(config: Config) -> Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|error| {
            Error::io(format!("cannot create the data directory {}", config.data_dir.display()), error)
        })?;
        let store = Store::open(&config.database_path())?;
        let changes = Changes::default();
        let speech_choice = crate::transcription::SpeechChoice::new(&config.speech_model);
        Ok(Self {
            speech_choice,
            config: Arc::new(config),
            store,
            ranking: Arc::new(Personalised),
            enrichment: None,
            downloads: models::downloads::Downloads::new(changes.clone()),
            changes,
            query_embedder: Arc::default(),
            describer: Arc::default(),
            ranked_snapshots: Arc::default(),
        })
    }

    /// The app as the desktop window and browser mode run it: the demo on first run, and the
    /// enrichment pipeline tagging posts in the background on the configured device.
    pub fn open_interactive(config: Config) -> Result<Self> {
        let mut app = Self::open_with_demo(config)?;
        let worker = EnrichmentWorker::start(
            &app.config,
            app.speech_choice.clone(),
            app.store.clone(),
            app.config.models_dir(),
            app.changes.clone(),
        );
        app.enrichment = Some(Arc::new(worker));
        Ok(app)
    }

    /// What the enrichment pipeline is doing (`off` where it does not run, e.g. the CLI).
    pub fn enrichment_status(&self) -> Result<EnrichmentStatus> {
        match &self.enrichment {
            Some(worker) => Ok(worker.status()),
            None => {
                let (done, total) = crate::enrich::coverage(&self.store)?;
                let (images_done, images_total) = crate::enrich::image_coverage(&self.store)?;
                let images = crate::enrich::ImageStatus { done: images_done, total: images_total, message: None };
                let model = self.speech_choice.get();
                let (speech_done, speech_total) = crate::transcription::coverage(&self.store, &model)?;
                let speech = crate::enrich::SpeechStatus {
                    model,
                    done: speech_done,
                    total: speech_total,
                    message: None,
                    current: None,
                };
                Ok(EnrichmentStatus { state: "off", done, total, message: None, images, speech })
            }
        }
    }

    /// Chooses the speech model transcription uses from now on, and remembers the choice in
    /// `config.toml`. Recordings it has not transcribed get the new model (the one running
    /// finishes first); existing transcripts stay, and "Try again" redoes one with it. A model
    /// that is not downloaded yet is fine: transcription waits for it, and says so.
    pub fn set_speech_model(&self, model_id: &str) -> Result<EnrichmentStatus> {
        if !crate::models::speech::MODEL_IDS.contains(&model_id) {
            return Err(Error::invalid(format!(
                "{model_id:?} is not a speech model; choose one of {}",
                crate::models::speech::MODEL_IDS.join(", ")
            )));
        }
        crate::config::save_speech_model(&self.config.data_dir, model_id)?;
        self.speech_choice.set(model_id);
        if let Some(worker) = &self.enrichment {
            worker.speech_model_changed();
        }
        self.enrichment_status()
    }

    /// Stops transcribing an audio attachment (at once, if it is the job running) and leaves it
    /// until asked again; returns the post that holds it.
    pub fn cancel_transcription(&self, media_id: i64) -> Result<Post> {
        self.transcription_worker()?.cancel_transcription(media_id)?;
        self.post_of_media(media_id)
    }

    /// Transcribes an audio attachment again (after it failed or was cancelled); returns the
    /// post that holds it.
    pub fn retry_transcription(&self, media_id: i64) -> Result<Post> {
        self.transcription_worker()?.retry_transcription(media_id)?;
        self.post_of_media(media_id)
    }

    fn transcription_worker(&self) -> Result<&EnrichmentWorker> {
        self.enrichment
            .as_deref()
            .ok_or_else(|| Error::Unavailable("transcription runs in the app (hearth serve or the window)".into()))
    }

    fn post_of_media(&self, media_id: i64) -> Result<Post> {
        let post_id = self.store.read(|connection| crate::store::posts::post_of_media(connection, media_id))?;
        self.get_post(post_id)
    }

    fn wake_enrichment(&self) {
        if let Some(worker) = &self.enrichment {
            worker.wake();
        }
    }

    /// Opens the app and imports the demo feed if this database has never had it.
    pub fn open_with_demo(config: Config) -> Result<Self> {
        let app = Self::open(config)?;
        if !demo::is_imported(&app.store)? {
            app.import_demo()?;
        }
        Ok(app)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn feed(&self, query: &FeedQuery) -> Result<FeedPage> {
        let now = now_ms();
        let learn = || self.store.write(|connection| ranking::learn(connection, now));
        feed::page(&self.store, self.ranking.as_ref(), &self.ranked_snapshots, learn, query, now)
    }

    pub fn get_post(&self, post_id: i64) -> Result<Post> {
        self.store
            .read(|connection| posts::load_post(connection, post_id))?
            .ok_or_else(|| Error::not_found("post", post_id))
    }

    /// Records what the user did, and learns from it at once; returns the post as it is now,
    /// if the event was about one.
    pub fn record_interaction(&self, input: &InteractionInput) -> Result<Option<Post>> {
        let post_id = interactions::record(&self.store, input)?;
        self.store.write(|connection| ranking::learn(connection, now_ms()))?;
        post_id.map(|post_id| self.get_post(post_id)).transpose()
    }

    /// Forgets what the ranker learned (the interaction log stays); `forget_interactions`
    /// also empties the log and the state derived from it (likes, hides, mutes stay as
    /// they are on the posts).
    pub fn reset_personalisation(&self, forget_interactions: bool) -> Result<()> {
        self.store.write(|connection| {
            if forget_interactions {
                log::forget_all(connection)?;
            }
            ranking::reset(connection, now_ms())
        })
    }

    pub fn create_post(&self, new_post: &NewPost) -> Result<Post> {
        let post_id = compose::create_post(&self.store, &self.config.data_dir, new_post)?;
        self.wake_enrichment();
        self.get_post(post_id)
    }

    /// "What happened today": the last day's posts in topics, the ones this user cares about first.
    pub fn digest(&self) -> Result<crate::digest::Digest> {
        let now = now_ms();
        let profile = self.store.write(|connection| ranking::learn(connection, now))?;
        crate::digest::digest(&self.store, &profile, now)
    }

    /// Hybrid search: by words and, when the embedding model is installed, by meaning.
    pub fn search(&self, query: &str, limit: Option<i64>, tone: Option<&str>) -> Result<SearchResult> {
        search::search(&self.store, query, self.query_vector(query).as_deref(), limit, tone)
    }

    /// The query's embedding, if the model can be loaded.
    fn query_vector(&self, query: &str) -> Option<Vec<f32>> {
        let embedder = {
            let mut slot = self.query_embedder.lock().ok()?;
            if slot.is_none() {
                *slot = self.text_embedder(self.config.device).ok().map(Arc::new);
            }
            slot.clone()?
        };
        embedder.embed(&[query]).ok()?.pop()
    }

    /// What an image the user is about to attach shows, and alt text the composer can
    /// suggest (marked as machine-written, for the user to edit).
    pub fn describe_image(&self, request: &DescribeImage) -> Result<ImageDescription> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(request.data_base64.trim())
            .map_err(|_| Error::invalid("the image is not valid base64"))?;
        let image = crate::images::decode(&bytes)?;
        let classifier = {
            let mut slot = self.describer.lock().map_err(|_| Error::Internal("the image model lock".into()))?;
            if slot.is_none() {
                *slot = Some(Arc::new(self.image_classifier(self.config.device)?));
            }
            slot.clone().ok_or_else(|| Error::Internal("the image model did not load".into()))?
        };
        let labels = classifier.classify(&[image], image_classifier::LABELS_KEPT)?.pop().unwrap_or_default();
        let labels = image_classifier::ImageLabels { labels, error: None };
        Ok(ImageDescription { description: labels.description(), labels: labels.labels })
    }

    pub fn mutes(&self) -> Result<Mutes> {
        self.store.read(|connection| {
            Ok(Mutes { authors: log::muted_authors(connection)?, words: log::muted_words(connection)? })
        })
    }

    pub fn import_demo(&self) -> Result<DemoImport> {
        let imported = demo::import(&self.store, &self.config.data_dir)?;
        self.wake_enrichment();
        Ok(DemoImport { imported })
    }

    pub fn status(&self) -> Result<Status> {
        let counts = self.store.read(posts::table_counts)?;
        Ok(Status {
            version: env!("CARGO_PKG_VERSION"),
            data_dir: self.config.data_dir.display().to_string(),
            database_path: self.config.database_path().display().to_string(),
            posts: counts.posts,
            authors: counts.authors,
            sources: counts.sources,
            interactions: counts.interactions,
            media: counts.media,
            demo_imported: demo::is_imported(&self.store)?,
            ranking: self.ranking.name(),
            personalisation: self.store.read(|connection| {
                let profile = ranking::load(connection)?;
                Ok(Personalisation {
                    interactions_learned: profile.events,
                    interests: profile
                        .interests
                        .iter()
                        .filter_map(|interest| interest.topic().map(str::to_owned))
                        .collect(),
                })
            })?,
            device: self.config.device,
            config_path: self.config.config_path().display().to_string(),
        })
    }

    /// Checks the database file and its references (SQLite's integrity and foreign-key checks).
    pub fn check(&self) -> Result<Check> {
        let problems = self.store.integrity_problems()?;
        Ok(Check { ok: problems.is_empty(), problems })
    }

    /// Where a media item's bytes are on disk. Remote media is fetched by the sources, never
    /// hot-linked; until a source has cached it, it is unavailable.
    pub fn media_file(&self, media_id: i64) -> Result<MediaFile> {
        let location = self.store.read(|connection| posts::media_location(connection, media_id))?;
        let relative =
            location.path.ok_or_else(|| Error::Unavailable(format!("media {media_id} has not been downloaded yet")))?;
        // Paths are written by this app as `media/<sha256>.<ext>`; refuse anything else.
        if relative.contains("..") || relative.starts_with('/') || !relative.starts_with("media/") {
            return Err(Error::Internal(format!("media {media_id} has an unexpected path")));
        }
        Ok(MediaFile { mime: location.mime, path: self.config.data_dir.join(relative) })
    }

    /// Every model in the catalog and whether it is installed.
    pub fn models(&self) -> Result<Vec<ModelStatus>> {
        let models_dir = self.config.models_dir();
        Ok(Catalog::bundled()?
            .models
            .iter()
            .map(|spec| models::ModelStatus {
                download: self.downloads.get(&spec.id),
                ..models::status(spec, &models_dir)
            })
            .collect())
    }

    /// Starts downloading a model in the background (progress: `models`, `wait_for_progress`);
    /// when it is in place, the enrichment pipeline is told to try again.
    pub fn start_model_download(&self, model_id: &str) -> Result<Vec<ModelStatus>> {
        let app = self.clone();
        self.downloads.start(model_id, self.config.models_dir(), move || app.wake_enrichment())?;
        self.models()
    }

    /// The models and the enrichment pipeline, as the progress bars show them.
    pub fn progress(&self) -> Result<Progress> {
        Ok(Progress { models: self.models()?, enrichment: self.enrichment_status()? })
    }

    /// The current change number, for a first `wait_for_progress`.
    pub fn progress_changes(&self) -> u64 {
        self.changes.current()
    }

    /// Blocks until a download or the enrichment pipeline has moved since change number
    /// `seen`, or `timeout` passes; returns the current change number. Call
    /// from a thread that may block (the faces push `progress()` to the UI after each change).
    pub fn wait_for_progress(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        self.changes.wait_after(seen, timeout)
    }

    /// Fetches a model (or checks it is already installed and intact).
    pub fn fetch_model(&self, model_id: &str, progress: &mut dyn FetchProgress) -> Result<ModelStatus> {
        let catalog = Catalog::bundled()?;
        let spec = catalog.model(model_id)?;
        let models_dir = self.config.models_dir();
        models::fetch::fetch(spec, &models_dir, progress)?;
        Ok(models::status(spec, &models_dir))
    }

    /// Checks every file of a model against its pinned sha256.
    pub fn verify_model(&self, model_id: &str) -> Result<crate::Check> {
        let catalog = Catalog::bundled()?;
        let problems = catalog.model(model_id)?.verify(&self.config.models_dir())?;
        Ok(crate::Check { ok: problems.is_empty(), problems })
    }

    /// Loads the sentence-embedding model on the chosen device.
    pub fn text_embedder(&self, device: DeviceChoice) -> Result<TextEmbedder> {
        let catalog = Catalog::bundled()?;
        let dir = catalog.model(TEXT_EMBEDDING_MODEL)?.installed_dir(&self.config.models_dir())?;
        TextEmbedder::load(&dir, &device.device()?)
    }

    /// The image classifier (EfficientNet-Lite0) on `device`, loaded from the models folder.
    pub fn image_classifier(&self, device: DeviceChoice) -> Result<ImageClassifier> {
        crate::enrich::load_image_classifier(&self.config.models_dir(), device)
    }

    /// The database, for tests and tools in this crate's family.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
