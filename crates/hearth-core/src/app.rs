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
use crate::sources::sync::{SyncOutcome, SyncService, SyncStatus};
use crate::store::interactions::{self as log, MutedAuthor};
use crate::store::sources::{self as sources_store, Removed, SourceInfo};
use crate::store::{now_ms, posts, Store};
use crate::{compose, demo};

mod accounts;
pub use accounts::BlueskySignIn;

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
    /// Subscriptions and their syncs: started on first use (and at once, in the background,
    /// by the interactive faces).
    sync: Arc<Mutex<Option<SyncService>>>,
}

/// A change to a subscription: any of its name, tags, or whether it is paused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceChange {
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub paused: Option<bool>,
}

/// What an OPML import did.
#[derive(Debug, Clone, Serialize)]
pub struct OpmlImport {
    /// Subscriptions added (they sync in the background, or with `hearth sync`).
    pub added: usize,
    /// Feeds already subscribed to (their tags gain the file's folders).
    pub existing: usize,
    pub errors: Vec<OpmlError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpmlError {
    pub url: String,
    pub message: String,
}

/// Longest source name, in characters.
const MAX_SOURCE_NAME_CHARS: usize = 200;
/// Most tags on one source, and the longest tag.
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 60;
/// The largest OPML file read.
const MAX_OPML_BYTES: usize = 5_000_000;

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
    pub sync: SyncStatus,
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
            sync: Arc::default(),
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
        let sync = app.sync_service()?;
        sync.start_background();
        sync.start_streams();
        Ok(app)
    }

    /// The sync machinery, started on first use.
    fn sync_service(&self) -> Result<SyncService> {
        let mut slot = self.sync.lock().map_err(|_| Error::Internal("the sync lock".into()))?;
        if let Some(service) = slot.as_ref() {
            return Ok(service.clone());
        }
        let app = self.clone_without_sync();
        let service = SyncService::new(
            self.store.clone(),
            self.config.data_dir.clone(),
            self.changes.clone(),
            Arc::new(move || app.wake_enrichment()),
            Arc::downgrade(&self.sync) as std::sync::Weak<dyn std::any::Any + Send + Sync>,
        )?;
        *slot = Some(service.clone());
        Ok(service)
    }

    /// This app minus its sync service (what the service calls back into, so the two do not
    /// keep each other alive).
    fn clone_without_sync(&self) -> Self {
        Self { sync: Arc::default(), ..self.clone() }
    }

    /// Every feed subscription, with its state.
    pub fn sources(&self) -> Result<Vec<SourceInfo>> {
        let syncing =
            self.sync.lock().ok().and_then(|slot| slot.as_ref().and_then(|service| service.status().current_source_id));
        let mut list = self.store.read(sources_store::list)?;
        for source in &mut list {
            if syncing == Some(source.id) {
                source.state = "syncing";
            }
        }
        Ok(list)
    }

    /// Subscribes to a feed by its address or its site's (fetching it once to check it).
    pub fn add_source(&self, url: &str) -> Result<SourceInfo> {
        let source_id = self.sync_service()?.add(url)?;
        self.source_info(source_id)
    }

    /// Renames, retags, pauses or resumes a subscription.
    pub fn update_source(&self, source_id: i64, change: &SourceChange) -> Result<SourceInfo> {
        let name = change.name.as_deref().map(str::trim).map(|name| {
            if name.is_empty() || name.chars().count() > MAX_SOURCE_NAME_CHARS {
                Err(Error::invalid(format!("a name needs 1 to {MAX_SOURCE_NAME_CHARS} characters")))
            } else {
                Ok(name.to_owned())
            }
        });
        let name = name.transpose()?;
        let tags = change.tags.as_deref().map(clean_tags).transpose()?;
        let now = now_ms();
        self.store.write(|connection| {
            sources_store::record(connection, source_id)?;
            if let Some(name) = &name {
                sources_store::rename(connection, source_id, name)?;
            }
            if let Some(tags) = &tags {
                sources_store::set_tags(connection, source_id, tags)?;
            }
            if let Some(paused) = change.paused {
                sources_store::set_paused(connection, source_id, paused, now)?;
            }
            Ok(())
        })?;
        if change.paused == Some(false) {
            self.wake_sync();
        }
        self.source_info(source_id)
    }

    fn source_info(&self, source_id: i64) -> Result<SourceInfo> {
        self.sources()?
            .into_iter()
            .find(|source| source.id == source_id)
            .ok_or_else(|| Error::not_found("source", source_id))
    }

    /// Unsubscribes: the source's posts go, except (with `keep_liked`) the ones the user liked.
    pub fn remove_source(&self, source_id: i64, keep_liked: bool) -> Result<Removed> {
        let removed =
            self.store.write(|connection| sources_store::remove(connection, source_id, keep_liked, now_ms()))?;
        self.changes.bump();
        Ok(removed)
    }

    /// "Refresh now": one source or all, in the background (progress: `Progress::sync`).
    pub fn refresh_sources(&self, source_id: Option<i64>) -> Result<SyncStatus> {
        self.sync_service()?.refresh(source_id)
    }

    /// Syncs one source, or all of them, now, and waits (the CLI's `hearth sync`).
    pub fn sync_sources(&self, source_id: Option<i64>) -> Result<Vec<SyncOutcome>> {
        self.sync_service()?.sync_blocking(source_id, true)
    }

    fn wake_sync(&self) {
        if let Ok(slot) = self.sync.lock() {
            if let Some(service) = slot.as_ref() {
                service.wake();
            }
        }
    }

    /// Subscribes to every feed in an OPML file (folders become tags). The new ones sync in the
    /// background, or with `hearth sync`.
    pub fn import_opml(&self, text: &str) -> Result<OpmlImport> {
        if text.len() > MAX_OPML_BYTES {
            return Err(Error::invalid(format!("the file is larger than {} MB", MAX_OPML_BYTES / 1_000_000)));
        }
        let feeds = crate::sources::opml::parse(text)?;
        let now = now_ms();
        let mut import = OpmlImport { added: 0, existing: 0, errors: Vec::new() };
        self.store.write(|connection| {
            for feed in &feeds {
                let url = match crate::sources::sync::parse_address(&feed.url) {
                    Ok(url) => url,
                    Err(error) => {
                        import.errors.push(OpmlError { url: feed.url.clone(), message: error.to_string() });
                        continue;
                    }
                };
                let name = feed.title.clone().unwrap_or_else(|| url.to_string());
                let name: String = name.chars().take(MAX_SOURCE_NAME_CHARS).collect();
                let (source_id, new) =
                    sources_store::add(connection, crate::post::SourceKind::Rss, &name, url.as_str(), None, now)?;
                let tags = clean_tags(&feed.tags).unwrap_or_default();
                sources_store::add_tags(connection, source_id, &tags)?;
                if new {
                    import.added += 1;
                } else {
                    import.existing += 1;
                }
            }
            Ok(())
        })?;
        self.wake_sync();
        self.changes.bump();
        Ok(import)
    }

    /// Every subscription as an OPML 2.0 document, tags as folders.
    pub fn export_opml(&self) -> Result<String> {
        let sources = self.store.read(sources_store::list)?;
        let listed: Vec<crate::sources::opml::OpmlSource<'_>> = sources
            .iter()
            .map(|source| crate::sources::opml::OpmlSource {
                url: &source.url,
                title: &source.name,
                site_url: source.site_url.as_deref(),
                tags: &source.tags,
            })
            .collect();
        let created =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc2822).unwrap_or_default();
        Ok(crate::sources::opml::export(&listed, &created))
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
        self.send_interaction(input)?;
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
        let destination = self.destination(new_post)?;
        let post_id = compose::create_post(&self.store, &self.config.data_dir, new_post, destination.as_ref())?;
        self.wake_enrichment();
        let post = self.get_post(post_id)?;
        self.post_queued(&post)?;
        Ok(post)
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
        let mut location = self.store.read(|connection| posts::media_location(connection, media_id))?;
        if location.path.is_none() && location.url.is_some() {
            // A source's picture or recording not fetched yet: fetched now, by the backend.
            self.sync_service()?.fetch_media_now(media_id)?;
            location = self.store.read(|connection| posts::media_location(connection, media_id))?;
        }
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
        let sync = self.sync.lock().ok().and_then(|slot| slot.as_ref().map(SyncService::status)).unwrap_or_default();
        Ok(Progress { models: self.models()?, enrichment: self.enrichment_status()?, sync })
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
        TextEmbedder::load(&self.text_model_dir()?, &device.device()?)
    }

    /// The tone model shipped in this binary, over its encoder (multilingual-e5-small), on `device`.
    pub fn tone_model(&self, device: DeviceChoice) -> Result<crate::models::sentiment::ToneModel> {
        crate::models::sentiment::ToneModel::load(&self.tone_encoder_path()?, &device.device()?)
    }

    /// Where the installed tone encoder's file is (an error naming the fix if it is not).
    pub fn tone_encoder_path(&self) -> Result<std::path::PathBuf> {
        crate::enrich::tone_encoder_path(&self.config.models_dir())
    }

    /// Where the installed embedding model's files are (an error naming the fix if it is not).
    pub fn text_model_dir(&self) -> Result<std::path::PathBuf> {
        Catalog::bundled()?.model(TEXT_EMBEDDING_MODEL)?.installed_dir(&self.config.models_dir())
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

/// Tags as the user typed them: trimmed, blanks dropped, repeats dropped, within limits.
fn clean_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut clean: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() || clean.iter().any(|known| known == tag) {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(Error::invalid(format!("a tag can have at most {MAX_TAG_CHARS} characters")));
        }
        clean.push(tag.to_owned());
    }
    if clean.len() > MAX_TAGS {
        return Err(Error::invalid(format!("a source can have at most {MAX_TAGS} tags")));
    }
    Ok(clean)
}
