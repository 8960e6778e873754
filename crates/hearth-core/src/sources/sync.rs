//! Running syncs: `SyncService` owns the HTTP client and a small tokio runtime, adds
//! subscriptions (finding a site's feed when given a page), syncs sources (several at once,
//! at most two per host), writes each sync's posts and schedule in one transaction, fetches
//! the remote media they point at, and reports progress. `start_background` runs the schedule:
//! each source when it is due, and everything asked for by "refresh now" at once.

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::feed::{self, FeedDocument, FeedEntry};
use super::http::{Failure, Fetcher, Validators};
use super::secrets::Secrets;
use super::{media, network, Fetched};
use crate::error::{Error, Result};
use crate::post::SourceKind;
use crate::progress::Changes;
use crate::store::sources::{self as stored, SourceRecord, SyncRecord};
use crate::store::{now_ms, posts, Store};

/// Sources synced at the same time, at most.
const CONCURRENT_SOURCES: usize = 4;
/// Images fetched after one source's sync, at most (the rest come with the next).
const IMAGES_PER_SYNC: i64 = 40;
/// Recordings of entries this recent are fetched after a sync; older ones when played.
const RECENT_AUDIO: Duration = Duration::from_secs(3 * 24 * 3600);
/// A failure to reach the network at all is tried again at least this often, so sync
/// resumes soon after the machine is back online.
const OFFLINE_RETRY_CAP: Duration = Duration::from_secs(30 * 60);

/// What the sync worker is doing, for the progress bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    /// `idle` or `syncing`.
    pub state: &'static str,
    pub done: usize,
    pub total: usize,
    /// The source being fetched now (one of them, when several are): its name and id.
    pub current: Option<String>,
    pub current_source_id: Option<i64>,
}

impl Default for SyncStatus {
    fn default() -> Self {
        Self { state: "idle", done: 0, total: 0, current: None, current_source_id: None }
    }
}

/// How one source's sync went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncOutcome {
    pub source_id: i64,
    pub name: String,
    /// `ok`, `unchanged` (304) or `failed`.
    pub status: &'static str,
    pub new: usize,
    pub updated: usize,
    pub error: Option<String>,
    pub next_sync_at: String,
}

/// The sync runtime, shut down without waiting when the last handle goes: the app may be
/// dropped inside another runtime (browser mode's server), where waiting is not allowed.
pub(super) struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    /// Runs a task in the background (live streams), ended when the runtime shuts down.
    pub(super) fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, future: F) {
        if let Some(runtime) = self.0.as_ref() {
            runtime.spawn(future);
        }
    }

    pub(super) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        // Only `drop` takes the runtime out.
        self.0.as_ref().expect("the sync runtime lives as long as its handles").block_on(future)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The sync machinery: cheap to clone.
#[derive(Clone)]
pub struct SyncService {
    pub(super) store: Store,
    pub(super) data_dir: PathBuf,
    pub(super) http: Fetcher,
    pub(super) runtime: Arc<Runtime>,
    status: Arc<Mutex<SyncStatus>>,
    pub(super) changes: Changes,
    /// Called when posts arrive (the enrichment pipeline wakes).
    pub(super) on_new_posts: Arc<dyn Fn() + Send + Sync>,
    wake: Arc<Mutex<Option<mpsc::Sender<()>>>>,
    /// Where accounts' sign-ins are kept.
    pub(super) secrets: Arc<Secrets>,
    /// Accounts' sign-ins in progress, and which accounts stream live updates.
    pub(super) accounts: Arc<super::accounts::AccountsState>,
    /// The app that owns the service: long-lived tasks (live streams) end once it is gone.
    owner: std::sync::Weak<dyn std::any::Any + Send + Sync>,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SyncService").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl SyncService {
    pub fn new(
        store: Store,
        data_dir: PathBuf,
        changes: Changes,
        on_new_posts: Arc<dyn Fn() + Send + Sync>,
        owner: std::sync::Weak<dyn std::any::Any + Send + Sync>,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hearth-sync-io")
            .enable_all()
            .build()
            .map_err(|error| Error::Internal(format!("cannot start the sync runtime: {error}")))?;
        Ok(Self {
            store,
            http: Fetcher::new()?,
            runtime: Arc::new(Runtime(Some(runtime))),
            status: Arc::default(),
            changes,
            secrets: Arc::new(Secrets::new(&data_dir)),
            data_dir,
            on_new_posts,
            wake: Arc::default(),
            accounts: Arc::default(),
            owner,
        })
    }

    /// Whether the app that owns the service is gone (its background tasks should end).
    pub(super) fn owner_gone(&self) -> bool {
        self.owner.strong_count() == 0
    }

    pub fn status(&self) -> SyncStatus {
        self.status.lock().map(|status| status.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn update_status(&self, change: impl FnOnce(&mut SyncStatus)) {
        change(&mut self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        self.changes.bump();
    }

    /// Subscribes to the feed at `url`, or to the feed a web page at `url` advertises; fetches
    /// it once to check it is one, and stores what it has. An address already subscribed to is
    /// not added twice. Returns the source's id.
    pub fn add(&self, url: &str) -> Result<i64> {
        let url = parse_address(url)?;
        let (feed_url, document, validators) = self.runtime.block_on(self.find_feed(&url))?;
        let now = now_ms();
        let source_id = self.store.write(|connection| {
            let (source_id, _) = stored::add(
                connection,
                SourceKind::Rss,
                &document.title,
                feed_url.as_str(),
                document.site_url.as_deref(),
                now,
            )?;
            write_document(connection, source_id, &document, now)?;
            let wait = super::next_after_success(document.ttl_minutes);
            stored::record_sync(
                connection,
                source_id,
                &SyncRecord {
                    validators: Some(&validators),
                    ttl_minutes: document.ttl_minutes,
                    site_url: document.site_url.as_deref(),
                    ..SyncRecord::success(now, now + millis(wait))
                },
            )?;
            Ok(source_id)
        })?;
        (self.on_new_posts)();
        self.runtime.block_on(self.fetch_media(Some(source_id)));
        Ok(source_id)
    }

    /// The feed at `url`: the document itself, or the first feed a page there advertises.
    async fn find_feed(&self, url: &Url) -> Result<(Url, FeedDocument, Validators)> {
        let unreachable = |failure: Failure| Error::Unavailable(format!("could not fetch {url}: {}", failure.message));
        let response = self
            .http
            .get(url, &Validators::default(), "*/*", super::http::Limits::feed())
            .await
            .map_err(unreachable)?;
        let super::http::Response::Body { bytes, content_type, validators, final_url, .. } = response else {
            return Err(Error::Unavailable(format!("{url} sent nothing")));
        };
        if !feed::looks_like_html(&bytes, content_type.as_deref()) {
            let document = feed::parse(&bytes, &final_url)
                .map_err(|error| Error::invalid(format!("no feed found at {url}: {}", error)))?;
            return Ok((final_url, document, validators));
        }
        let candidates = feed::discover(&bytes, &final_url);
        let mut last_error = format!("no feed found at {url}: the page does not link to one");
        for candidate in candidates.into_iter().take(3) {
            match self
                .http
                .get(&candidate, &Validators::default(), super::FEED_ACCEPT, super::http::Limits::feed())
                .await
            {
                Ok(super::http::Response::Body { bytes, validators, final_url, .. }) => {
                    match feed::parse(&bytes, &final_url) {
                        Ok(document) => return Ok((final_url, document, validators)),
                        Err(error) => last_error = format!("no feed found at {url}: {}", error),
                    }
                }
                Ok(super::http::Response::NotModified { .. }) => {}
                Err(failure) => {
                    last_error = format!("the feed {candidate} that {url} links to could not be fetched: {failure}")
                }
            }
        }
        Err(Error::invalid(last_error))
    }

    /// Syncs now: one source, or every live one (`everything`), or those due. Waits for the end.
    pub fn sync_blocking(&self, only: Option<i64>, everything: bool) -> Result<Vec<SyncOutcome>> {
        let sources = match only {
            Some(source_id) => vec![self.store.read(|connection| stored::record(connection, source_id))?],
            None => self.store.read(|connection| stored::due(connection, now_ms(), everything))?,
        };
        Ok(self.runtime.block_on(self.sync_sources(sources)))
    }

    /// Makes sources due now and wakes the background worker ("refresh now").
    pub fn refresh(&self, only: Option<i64>) -> Result<SyncStatus> {
        if let Some(source_id) = only {
            let source = self.store.read(|connection| stored::record(connection, source_id))?;
            if source.paused {
                return Err(Error::Conflict(format!("{} is paused; resume it first", source.name)));
            }
        }
        self.store.write(|connection| stored::make_due(connection, only, now_ms()))?;
        self.wake();
        Ok(self.status())
    }

    pub fn wake(&self) {
        if let Some(sender) = self.wake.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            let _ = sender.send(());
        }
    }

    async fn sync_sources(&self, sources: Vec<SourceRecord>) -> Vec<SyncOutcome> {
        if sources.is_empty() {
            return Vec::new();
        }
        let total = sources.len();
        self.update_status(|status| *status = SyncStatus { state: "syncing", total, ..SyncStatus::default() });
        let gate = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SOURCES));
        let mut tasks = tokio::task::JoinSet::new();
        for source in sources {
            let service = self.clone();
            let gate = Arc::clone(&gate);
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                service.update_status(|status| {
                    status.current = Some(source.name.clone());
                    status.current_source_id = Some(source.id);
                });
                let outcome = service.sync_one(&source).await;
                service.update_status(|status| status.done += 1);
                outcome
            });
        }
        let mut outcomes = Vec::with_capacity(total);
        while let Some(joined) = tasks.join_next().await {
            if let Ok(outcome) = joined {
                outcomes.push(outcome);
            }
        }
        outcomes.sort_by_key(|outcome| outcome.source_id);
        self.update_status(|status| *status = SyncStatus::default());
        outcomes
    }

    /// Fetches one source and records how it went; never fails (a failure is recorded).
    async fn sync_one(&self, source: &SourceRecord) -> SyncOutcome {
        if matches!(source.kind, SourceKind::Mastodon | SourceKind::Bluesky) {
            return self.sync_account(source).await;
        }
        let fetched = match network(source.kind) {
            Ok(network) => network.fetch(source, &self.http).await,
            Err(error) => Err(Failure { message: error.to_string(), retry_after: None, status: None }),
        };
        let now = now_ms();
        let written = match fetched {
            Ok(Fetched::Unchanged { moved_to }) => {
                let next = now + millis(super::next_after_success(None));
                let record =
                    SyncRecord { moved_to: moved_to.as_ref().map(Url::as_str), ..SyncRecord::success(now, next) };
                self.store
                    .write(|connection| stored::record_sync(connection, source.id, &record))
                    .map(|()| ("unchanged", 0, 0, next))
            }
            Ok(Fetched::Document { document, validators, moved_to }) => self.store.write(|connection| {
                // Removed while it was being fetched: what came is dropped.
                stored::record(connection, source.id)?;
                let stored = write_document(connection, source.id, &document, now)?;
                let wait = super::next_after_success(document.ttl_minutes);
                let next = now + millis(wait);
                stored::record_sync(
                    connection,
                    source.id,
                    &SyncRecord {
                        now_ms: now,
                        next_sync_ms: next,
                        error: None,
                        validators: Some(&validators),
                        ttl_minutes: document.ttl_minutes,
                        site_url: document.site_url.as_deref(),
                        moved_to: moved_to.as_ref().map(Url::as_str),
                        title: Some(&document.title),
                    },
                )?;
                Ok(("ok", stored.new, stored.updated, next))
            }),
            Err(failure) => return self.record_failure(source, &failure),
        };
        self.finish(source, written).await
    }

    /// Records a failed sync: tried again after a back-off, the reason kept in plain words.
    pub(super) fn record_failure(&self, source: &SourceRecord, failure: &Failure) -> SyncOutcome {
        let now = now_ms();
        let failures = source.failures + 1;
        let mut wait = super::next_after_failure(failures, failure.retry_after, source.id);
        if failure.status.is_none() {
            wait = wait.min(OFFLINE_RETRY_CAP);
        }
        let message = format!("{}; trying again {}.", capitalised(&failure.message), super::in_words(wait));
        self.record_failed_sync(source, message, now + millis(wait))
    }

    /// Records a failed sync with its message, next tried at `next` (ms since the epoch).
    pub(super) fn record_failed_sync(&self, source: &SourceRecord, message: String, next: i64) -> SyncOutcome {
        let now = now_ms();
        let recorded = self
            .store
            .write(|connection| stored::record_sync(connection, source.id, &SyncRecord::failure(now, next, &message)));
        SyncOutcome {
            source_id: source.id,
            name: source.name.clone(),
            status: "failed",
            new: 0,
            updated: 0,
            error: Some(match recorded {
                Ok(()) => message,
                Err(error) => format!("{message} (and the failure could not be recorded: {error})"),
            }),
            next_sync_at: crate::post::format_timestamp(next),
        }
    }

    /// After a sync's posts were written (or not): fetches their media and says how it went.
    pub(super) async fn finish(
        &self,
        source: &SourceRecord,
        written: Result<(&'static str, usize, usize, i64)>,
    ) -> SyncOutcome {
        let now = now_ms();
        match written {
            Ok((status, new, updated, next)) => {
                if new + updated > 0 {
                    (self.on_new_posts)();
                    self.fetch_media(Some(source.id)).await;
                    (self.on_new_posts)();
                }
                SyncOutcome {
                    source_id: source.id,
                    name: source.name.clone(),
                    status,
                    new,
                    updated,
                    error: None,
                    next_sync_at: crate::post::format_timestamp(next),
                }
            }
            Err(error) => SyncOutcome {
                source_id: source.id,
                name: source.name.clone(),
                status: "failed",
                new: 0,
                updated: 0,
                error: Some(format!("what was fetched could not be stored: {error}")),
                next_sync_at: crate::post::format_timestamp(now + millis(super::FIRST_RETRY)),
            },
        }
    }

    /// Fetches the remote images (and recent recordings) of a source's posts that have no file yet.
    pub(super) async fn fetch_media(&self, source_id: Option<i64>) {
        let since = now_ms() - millis(RECENT_AUDIO);
        let Ok(pending) = media::pending(&self.store, source_id, since, IMAGES_PER_SYNC) else { return };
        for item in pending {
            // A failure is recorded on the item; the others go on.
            let _ = media::fetch(&self.store, &self.data_dir, &self.http, &item).await;
        }
    }

    /// Fetches one remote media item now (it is about to be shown or played), if it has no file.
    pub fn fetch_media_now(&self, media_id: i64) -> Result<()> {
        match media::pending_one(&self.store, media_id)? {
            Some(item) => {
                self.runtime.block_on(media::fetch(&self.store, &self.data_dir, &self.http, &item))?;
                (self.on_new_posts)();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Runs the schedule on a thread of its own until the service's last clone is dropped.
    pub fn start_background(&self) {
        let (sender, woken) = mpsc::channel();
        *self.wake.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sender);
        let service = self.clone();
        let spawned = std::thread::Builder::new().name("hearth-sync".into()).spawn(move || service.run(&woken));
        if let Err(error) = spawned {
            eprintln!("Hearth cannot start syncing sources: {error}");
        }
    }

    fn run(&self, woken: &mpsc::Receiver<()>) {
        loop {
            if self.owner_gone() {
                return;
            }
            let now = now_ms();
            let due = self.store.read(|connection| stored::due(connection, now, false)).unwrap_or_default();
            if !due.is_empty() {
                self.runtime.block_on(self.sync_sources(due));
                continue;
            }
            if self.runtime.block_on(self.send_due_actions()) {
                continue;
            }
            let next_sync = self.store.read(stored::next_due_ms).ok().flatten();
            let next_action = self.store.read(crate::store::accounts::next_action_due_ms).ok().flatten();
            let next = match (next_sync, next_action) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wait = next.map_or(Duration::from_secs(600), |next| {
                Duration::from_millis(u64::try_from((next - now).clamp(1_000, 600_000)).unwrap_or(600_000))
            });
            if matches!(woken.recv_timeout(wait), Err(RecvTimeoutError::Disconnected)) {
                return;
            }
        }
    }
}

/// Writes a document's entries as posts, each under its author (the feed itself when an entry
/// names none).
fn write_document(
    connection: &rusqlite::Connection,
    source_id: i64,
    document: &FeedDocument,
    now: i64,
) -> Result<stored::Stored> {
    let (source_name, source_url): (String, String) =
        connection.query_row("SELECT name, url FROM sources WHERE id = ?1", [source_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    // The feed speaks as its site: `blog.example` (an entry that names its writer is theirs).
    let site =
        document.site_url.as_deref().and_then(|site| Url::parse(site).ok()).or_else(|| Url::parse(&source_url).ok());
    let host = site.as_ref().and_then(Url::host_str).map(|host| host.trim_start_matches("www.").to_owned());
    let feed_handle = host.unwrap_or_else(|| format!("feed {source_id}"));
    let mut total = stored::Stored::default();
    let mut by_author: Vec<(Option<&str>, Vec<FeedEntry>)> = Vec::new();
    for entry in &document.entries {
        let name = entry.author.as_deref().map(str::trim).filter(|name| !name.is_empty() && name.len() <= 200);
        match by_author.iter_mut().find(|(known, _)| *known == name) {
            Some((_, entries)) => entries.push(entry.clone()),
            None => by_author.push((name, vec![entry.clone()])),
        }
    }
    for (name, entries) in by_author {
        let author_id = posts::upsert_author(
            connection,
            &posts::AuthorRow {
                source_id,
                handle: name.unwrap_or(&feed_handle),
                display_name: name.unwrap_or(&source_name),
                bio: None,
                is_self: false,
            },
        )?;
        let stored = stored::store_entries(connection, source_id, author_id, &entries, now)?;
        total.new += stored.new;
        total.updated += stored.updated;
    }
    Ok(total)
}

/// A subscription address as typed: http(s) with a host; `example.org/feed` gets `https://`.
pub fn parse_address(text: &str) -> Result<Url> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid("type the address of a feed or of a website"));
    }
    if text.len() > 2048 {
        return Err(Error::invalid("that address is too long"));
    }
    let with_scheme = if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
    let url = Url::parse(&with_scheme).map_err(|_| Error::invalid(format!("{text:?} is not a web address")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("{text:?} is not an http or https address")));
    }
    Ok(url)
}

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
