//! Subscriptions: each source's schedule and sync state (`source_sync`), its tags, and writing
//! what a sync fetched as posts, matched to what is stored by id, then link, then content hash,
//! so an edited entry replaces its post (keeping the user's likes and hides) and nothing is
//! stored twice. A removed source is marked removed, its posts deleted except (if asked) the
//! ones the user liked, which stay with it.

use rusqlite::{params, Connection, OptionalExtension};

use super::Migration;
use crate::error::{Error, Result};
use crate::post::{MediaKind, SourceKind};
use crate::sources::feed::{FeedEntry, RemoteMedia};
use crate::sources::http::Validators;

pub const MIGRATIONS: &[Migration] = &[Migration {
    timestamp: 202_611_230_500,
    name: "source_sync, source_tags, posts.title/html/content_hash",
    sql: r"
ALTER TABLE posts ADD COLUMN title TEXT;
ALTER TABLE posts ADD COLUMN html TEXT;
ALTER TABLE posts ADD COLUMN content_hash TEXT;
CREATE INDEX posts_by_source_url ON posts (source_id, url) WHERE url IS NOT NULL;
CREATE INDEX posts_by_source_hash ON posts (source_id, content_hash) WHERE content_hash IS NOT NULL;
ALTER TABLE sources ADD COLUMN removed_at INTEGER;
ALTER TABLE media ADD COLUMN fetch_error TEXT;

CREATE TABLE source_sync (
    source_id       INTEGER PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    site_url        TEXT,
    etag            TEXT,
    last_modified   TEXT,
    paused          INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    next_sync_at    INTEGER NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error      TEXT,
    ttl_minutes     INTEGER
);
CREATE TABLE source_tags (
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (source_id, tag)
);
",
}];

/// A subscription as sync needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub id: i64,
    pub kind: SourceKind,
    pub name: String,
    pub url: String,
    pub validators: Validators,
    pub failures: i64,
    pub paused: bool,
}

/// A feed subscription as the UI shows it (accounts are listed by `store::accounts::list`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceInfo {
    pub id: i64,
    pub kind: SourceKind,
    pub name: String,
    pub url: String,
    pub site_url: Option<String>,
    pub tags: Vec<String>,
    pub paused: bool,
    /// `new` (never synced), `ok`, `failing`, `paused`; `syncing` is set by the sync worker.
    pub state: &'static str,
    pub last_sync_at: Option<String>,
    pub next_sync_at: Option<String>,
    pub last_error: Option<String>,
    pub item_count: i64,
    #[serde(skip)]
    pub next_sync_ms: Option<i64>,
}

/// The network kinds that are synced (not the local notes or the demo).
const SYNCED_KINDS: &str = "('rss', 'mastodon', 'bluesky')";

/// Adds a subscription (or brings back a removed one), due for sync at once. Returns its id,
/// and whether it was new.
pub fn add(
    connection: &Connection,
    kind: SourceKind,
    name: &str,
    url: &str,
    site_url: Option<&str>,
    now_ms: i64,
) -> Result<(i64, bool)> {
    let existing: Option<(i64, Option<i64>)> = connection
        .query_row(
            "SELECT id, removed_at FROM sources WHERE kind = ?1 AND url = ?2",
            params![kind.as_str(), url],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (id, new) = match existing {
        Some((id, None)) => return Ok((id, false)),
        Some((id, Some(_))) => {
            connection.execute("UPDATE sources SET removed_at = NULL, name = ?2 WHERE id = ?1", params![id, name])?;
            (id, true)
        }
        None => {
            let id = connection.query_row(
                "INSERT INTO sources (kind, name, url, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![kind.as_str(), name, url, now_ms],
                |row| row.get(0),
            )?;
            (id, true)
        }
    };
    connection.execute(
        "INSERT INTO source_sync (source_id, site_url, next_sync_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (source_id) DO UPDATE SET site_url = excluded.site_url, next_sync_at = excluded.next_sync_at,
            paused = 0, failures = 0, last_error = NULL",
        params![id, site_url, now_ms],
    )?;
    Ok((id, new))
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SourceRecord> {
    let kind: String = row.get(1)?;
    Ok(SourceRecord {
        id: row.get(0)?,
        kind: SourceKind::parse(&kind).unwrap_or(SourceKind::Rss),
        name: row.get(2)?,
        url: row.get(3)?,
        validators: Validators { etag: row.get(4)?, last_modified: row.get(5)? },
        failures: row.get(6)?,
        paused: row.get(7)?,
    })
}

const RECORD_COLUMNS: &str = "s.id, s.kind, s.name, s.url, y.etag, y.last_modified, y.failures, y.paused";

/// One live subscription, for sync.
pub fn record(connection: &Connection, source_id: i64) -> Result<SourceRecord> {
    connection
        .query_row(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM sources s JOIN source_sync y ON y.source_id = s.id
                 WHERE s.id = ?1 AND s.removed_at IS NULL AND s.kind IN {SYNCED_KINDS}"
            ),
            [source_id],
            record_from_row,
        )
        .optional()?
        .ok_or_else(|| Error::not_found("source", source_id))
}

/// Live, unpaused subscriptions due at `now_ms` (or all of them with `everything`), the most
/// overdue first.
pub fn due(connection: &Connection, now_ms: i64, everything: bool) -> Result<Vec<SourceRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM sources s JOIN source_sync y ON y.source_id = s.id
         WHERE s.removed_at IS NULL AND s.kind IN {SYNCED_KINDS} AND y.paused = 0 AND (?2 OR y.next_sync_at <= ?1)
         ORDER BY y.next_sync_at, s.id"
    ))?;
    let rows = statement.query_map(params![now_ms, everything], record_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next live, unpaused subscription is due, if any.
pub fn next_due_ms(connection: &Connection) -> Result<Option<i64>> {
    Ok(connection.query_row(
        &format!(
            "SELECT min(y.next_sync_at) FROM sources s JOIN source_sync y ON y.source_id = s.id
             WHERE s.removed_at IS NULL AND s.kind IN {SYNCED_KINDS} AND y.paused = 0"
        ),
        [],
        |row| row.get(0),
    )?)
}

/// Every live feed subscription, by name (OPML export and Settings → Subscriptions list these).
pub fn list(connection: &Connection) -> Result<Vec<SourceInfo>> {
    let mut statement = connection.prepare_cached(
        "SELECT s.id, s.kind, s.name, s.url, y.site_url, y.paused, y.last_success_at, y.next_sync_at, y.failures,
                y.last_error, (SELECT count(*) FROM posts p WHERE p.source_id = s.id)
         FROM sources s JOIN source_sync y ON y.source_id = s.id
         WHERE s.removed_at IS NULL AND s.kind = 'rss'
         ORDER BY lower(s.name), s.id",
    )?;
    let rows = statement.query_map([], |row| {
        let kind: String = row.get(1)?;
        let paused: bool = row.get(5)?;
        let last_success: Option<i64> = row.get(6)?;
        let next: i64 = row.get(7)?;
        let failures: i64 = row.get(8)?;
        let state = if paused { "paused" } else { sync_state(failures, last_success) };
        Ok(SourceInfo {
            id: row.get(0)?,
            kind: SourceKind::parse(&kind).unwrap_or(SourceKind::Rss),
            name: row.get(2)?,
            url: row.get(3)?,
            site_url: row.get(4)?,
            tags: Vec::new(),
            paused,
            state,
            last_sync_at: last_success.map(crate::post::format_timestamp),
            next_sync_at: (!paused).then(|| crate::post::format_timestamp(next)),
            last_error: row.get(9)?,
            item_count: row.get(10)?,
            next_sync_ms: (!paused).then_some(next),
        })
    })?;
    let mut sources: Vec<SourceInfo> = rows.collect::<Result<_, _>>()?;
    for source in &mut sources {
        source.tags = tags(connection, source.id)?;
    }
    Ok(sources)
}

/// Where a synced source stands from its sync record: `failing`, `new` (never synced) or `ok`.
pub fn sync_state(failures: i64, last_success_ms: Option<i64>) -> &'static str {
    if failures > 0 {
        "failing"
    } else if last_success_ms.is_none() {
        "new"
    } else {
        "ok"
    }
}

pub fn tags(connection: &Connection, source_id: i64) -> Result<Vec<String>> {
    let mut statement =
        connection.prepare_cached("SELECT tag FROM source_tags WHERE source_id = ?1 ORDER BY position")?;
    let rows = statement.query_map([source_id], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces a source's tags (in the order given, without repeats).
pub fn set_tags(connection: &Connection, source_id: i64, tags: &[String]) -> Result<()> {
    connection.execute("DELETE FROM source_tags WHERE source_id = ?1", [source_id])?;
    let mut position: i64 = 0;
    for tag in tags {
        position += i64::try_from(connection.execute(
            "INSERT INTO source_tags (source_id, position, tag) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![source_id, position, tag],
        )?)
        .unwrap_or(0);
    }
    Ok(())
}

/// Adds tags a source does not have yet, after the ones it has.
pub fn add_tags(connection: &Connection, source_id: i64, new_tags: &[String]) -> Result<()> {
    let mut all = tags(connection, source_id)?;
    for tag in new_tags {
        if !all.contains(tag) {
            all.push(tag.clone());
        }
    }
    set_tags(connection, source_id, &all)
}

pub fn rename(connection: &Connection, source_id: i64, name: &str) -> Result<()> {
    connection.execute("UPDATE sources SET name = ?2 WHERE id = ?1", params![source_id, name])?;
    Ok(())
}

/// Pauses or resumes a source; a resumed one is due at once.
pub fn set_paused(connection: &Connection, source_id: i64, paused: bool, now_ms: i64) -> Result<()> {
    connection.execute(
        "UPDATE source_sync SET paused = ?2, next_sync_at = CASE WHEN ?2 THEN next_sync_at ELSE ?3 END
         WHERE source_id = ?1",
        params![source_id, paused, now_ms],
    )?;
    Ok(())
}

/// Makes sources due now (one, or all live ones).
pub fn make_due(connection: &Connection, source_id: Option<i64>, now_ms: i64) -> Result<()> {
    connection.execute(
        "UPDATE source_sync SET next_sync_at = ?2 WHERE (?1 IS NULL OR source_id = ?1) AND paused = 0",
        params![source_id, now_ms],
    )?;
    Ok(())
}

/// How a sync went, as the schedule records it.
#[derive(Debug, Clone)]
pub struct SyncRecord<'a> {
    pub now_ms: i64,
    pub next_sync_ms: i64,
    /// `None` on success.
    pub error: Option<&'a str>,
    pub validators: Option<&'a Validators>,
    pub ttl_minutes: Option<u32>,
    pub site_url: Option<&'a str>,
    /// The feed moved for good: its new address.
    pub moved_to: Option<&'a str>,
    pub title: Option<&'a str>,
}

impl<'a> SyncRecord<'a> {
    /// A sync that worked, with nothing more to record.
    pub fn success(now_ms: i64, next_sync_ms: i64) -> Self {
        Self {
            now_ms,
            next_sync_ms,
            error: None,
            validators: None,
            ttl_minutes: None,
            site_url: None,
            moved_to: None,
            title: None,
        }
    }

    pub fn failure(now_ms: i64, next_sync_ms: i64, error: &'a str) -> Self {
        Self { error: Some(error), ..Self::success(now_ms, next_sync_ms) }
    }
}

pub fn record_sync(connection: &Connection, source_id: i64, sync: &SyncRecord<'_>) -> Result<()> {
    match sync.error {
        None => {
            connection.execute(
                "UPDATE source_sync SET last_attempt_at = ?2, last_success_at = ?2, next_sync_at = ?3, failures = 0,
                    last_error = NULL, ttl_minutes = coalesce(?4, ttl_minutes), site_url = coalesce(?5, site_url),
                    etag = CASE WHEN ?6 THEN ?7 ELSE etag END,
                    last_modified = CASE WHEN ?6 THEN ?8 ELSE last_modified END
                 WHERE source_id = ?1",
                params![
                    source_id,
                    sync.now_ms,
                    sync.next_sync_ms,
                    sync.ttl_minutes,
                    sync.site_url,
                    sync.validators.is_some(),
                    sync.validators.and_then(|v| v.etag.as_deref()),
                    sync.validators.and_then(|v| v.last_modified.as_deref())
                ],
            )?;
        }
        Some(error) => {
            connection.execute(
                "UPDATE source_sync SET last_attempt_at = ?2, next_sync_at = ?3, failures = failures + 1, last_error = ?4
                 WHERE source_id = ?1",
                params![source_id, sync.now_ms, sync.next_sync_ms, error],
            )?;
        }
    }
    if let Some(url) = sync.moved_to {
        // Unless another subscription already has that address.
        connection.execute(
            "UPDATE sources SET url = ?2 WHERE id = ?1
               AND NOT EXISTS (SELECT 1 FROM sources o WHERE o.kind = sources.kind AND o.url = ?2)",
            params![source_id, url],
        )?;
    }
    if let Some(title) = sync.title {
        // A feed's title names a source until it is synced once; after that the user's name stays.
        connection.execute("UPDATE sources SET name = ?2 WHERE id = ?1 AND name = url", params![source_id, title])?;
    }
    Ok(())
}

/// What `store_entries` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    pub new: usize,
    pub updated: usize,
}

/// Writes a feed's entries as posts of `source_id` by `author_id`: new ones inserted, changed
/// ones (matched by id, then link, then content hash) replaced in place, so the post keeps its
/// id and with it the user's likes, hides and history; their tags and embeddings are redone.
pub fn store_entries(
    connection: &Connection,
    source_id: i64,
    author_id: i64,
    entries: &[FeedEntry],
    now_ms: i64,
) -> Result<Stored> {
    let mut stored = Stored::default();
    for entry in entries {
        let existing: Option<(i64, Option<String>)> = connection
            .query_row(
                "SELECT id, content_hash FROM posts WHERE source_id = ?1 AND remote_id = ?2",
                params![source_id, entry.remote_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let existing = match (existing, &entry.url) {
            (Some(found), _) => Some(found),
            (None, Some(url)) => connection
                .query_row(
                    "SELECT id, content_hash FROM posts WHERE source_id = ?1 AND url = ?2 ORDER BY id LIMIT 1",
                    params![source_id, url],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?,
            (None, None) => None,
        };
        let existing = match existing {
            Some(found) => Some(found),
            None => connection
                .query_row(
                    "SELECT id, content_hash FROM posts WHERE source_id = ?1 AND content_hash = ?2 ORDER BY id LIMIT 1",
                    params![source_id, entry.content_hash],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?,
        };
        match existing {
            Some((_, Some(hash))) if hash == entry.content_hash => {}
            Some((post_id, _)) => {
                connection.execute(
                    "UPDATE posts SET text = ?2, title = ?3, html = ?4, url = ?5, content_hash = ?6, fetched_at = ?7
                     WHERE id = ?1",
                    params![post_id, entry.text, entry.title, entry.html, entry.url, entry.content_hash, now_ms],
                )?;
                // What was made from the old words is redone from the new.
                connection.execute(
                    "DELETE FROM enrichments WHERE post_id = ?1 AND kind IN ('sentiment', 'embedding')",
                    [post_id],
                )?;
                replace_media(connection, post_id, &entry.media)?;
                stored.updated += 1;
            }
            None => {
                let post_id: i64 = connection.query_row(
                    "INSERT INTO posts (source_id, author_id, remote_id, text, url, created_at, fetched_at, title, html,
                                        content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                    params![
                        source_id,
                        author_id,
                        entry.remote_id,
                        entry.text,
                        entry.url,
                        entry.published_ms.map_or(now_ms, |published| published.min(now_ms)),
                        now_ms,
                        entry.title,
                        entry.html,
                        entry.content_hash
                    ],
                    |row| row.get(0),
                )?;
                replace_media(connection, post_id, &entry.media)?;
                stored.new += 1;
            }
        }
    }
    Ok(stored)
}

/// Makes a post's remote media these: items still listed keep their row (and any file
/// already fetched), the rest go, new ones wait to be fetched.
pub fn replace_media(connection: &Connection, post_id: i64, media: &[RemoteMedia]) -> Result<()> {
    let urls: Vec<&str> = media.iter().map(|media| media.url.as_str()).collect();
    let mut statement = connection.prepare_cached("SELECT id, url FROM media WHERE post_id = ?1")?;
    let existing: Vec<(i64, Option<String>)> =
        statement.query_map([post_id], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    for (media_id, url) in &existing {
        if !url.as_deref().is_some_and(|url| urls.contains(&url)) {
            connection.execute("DELETE FROM media WHERE id = ?1", [media_id])?;
        }
    }
    // Positions are rewritten after the existing ones, then packed.
    connection.execute("UPDATE media SET position = position + 1000 WHERE post_id = ?1", [post_id])?;
    for (position, media) in media.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        let updated = connection.execute(
            "UPDATE media SET position = ?3, alt_text = ?4 WHERE post_id = ?1 AND url = ?2",
            params![post_id, media.url, position, media.alt_text],
        )?;
        if updated == 0 {
            let mime = if media.mime.contains('*') || media.mime.is_empty() {
                match media.kind {
                    MediaKind::Audio => "audio/mpeg",
                    _ => "image/jpeg",
                }
            } else {
                media.mime.as_str()
            };
            connection.execute(
                "INSERT INTO media (post_id, position, kind, mime, url, size_bytes, alt_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    post_id,
                    position,
                    media.kind.as_str(),
                    mime,
                    media.url,
                    media.size_bytes.and_then(|size| i64::try_from(size).ok()).unwrap_or(0),
                    media.alt_text
                ],
            )?;
        }
    }
    Ok(())
}

/// What removing a source did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub removed_posts: usize,
    pub kept_posts: usize,
}

/// Removes a subscription: its posts go, except the liked ones when `keep_liked` (they stay,
/// under the removed source, which no longer syncs or shows in the list).
pub fn remove(connection: &Connection, source_id: i64, keep_liked: bool, now_ms: i64) -> Result<Removed> {
    connection
        .query_row(
            &format!("SELECT 1 FROM sources WHERE id = ?1 AND removed_at IS NULL AND kind IN {SYNCED_KINDS}"),
            [source_id],
            |_| Ok(()),
        )
        .optional()?
        .ok_or_else(|| Error::not_found("source", source_id))?;
    let liked = "EXISTS (SELECT 1 FROM post_state st WHERE st.post_id = posts.id AND st.liked = 1)";
    let removed_posts = if keep_liked {
        connection.execute(&format!("DELETE FROM posts WHERE source_id = ?1 AND NOT {liked}"), [source_id])?
    } else {
        connection.execute("DELETE FROM posts WHERE source_id = ?1", [source_id])?
    };
    let kept_posts: i64 =
        connection.query_row("SELECT count(*) FROM posts WHERE source_id = ?1", [source_id], |row| row.get(0))?;
    connection.execute("UPDATE sources SET removed_at = ?2 WHERE id = ?1", params![source_id, now_ms])?;
    connection.execute("DELETE FROM source_sync WHERE source_id = ?1", [source_id])?;
    connection.execute("DELETE FROM source_tags WHERE source_id = ?1", [source_id])?;
    Ok(Removed { removed_posts, kept_posts: usize::try_from(kept_posts).unwrap_or(0) })
}
