//! Network accounts (Mastodon, Bluesky): each is a source (`sources` row, synced like a feed
//! by `source_sync`) with an `accounts` row saying who the user is there and where its sync
//! stopped; the posts its timeline brings (boosts folded into the boosted post, a post seen
//! through two accounts kept once as the first, later ones marked `duplicate_of`); its
//! notifications; and the outbox of actions taken in Hearth that the server has not heard of
//! yet. Sign-in tokens are never here (see `sources::secrets`).

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::posts::{self, AuthorRow};
use super::sources as stored;
use super::Migration;
use crate::error::{Error, Result};
use crate::post::{format_timestamp, SourceKind};
use crate::sources::remote::{Action, RemoteNotification, RemotePost, Timeline};
use crate::sources::secrets::Storage;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        timestamp: 202_611_230_800,
        name: "accounts, outbox, notifications; posts: content warnings, boosts, duplicates",
        sql: r"
ALTER TABLE posts ADD COLUMN content_warning TEXT;
ALTER TABLE posts ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN boosted_by_author_id INTEGER REFERENCES authors (id) ON DELETE SET NULL;
ALTER TABLE posts ADD COLUMN in_reply_to TEXT;
ALTER TABLE posts ADD COLUMN canonical TEXT;
ALTER TABLE posts ADD COLUMN duplicate_of INTEGER REFERENCES posts (id) ON DELETE SET NULL;
ALTER TABLE posts ADD COLUMN remote_ref TEXT;
ALTER TABLE posts ADD COLUMN my_like_ref TEXT;
ALTER TABLE posts ADD COLUMN my_boost_ref TEXT;
CREATE INDEX posts_by_canonical ON posts (canonical) WHERE canonical IS NOT NULL;

CREATE TABLE accounts (
    source_id            INTEGER PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    server               TEXT NOT NULL,
    remote_account_id    TEXT NOT NULL,
    handle               TEXT NOT NULL,
    display_name         TEXT NOT NULL,
    token_storage        TEXT NOT NULL CHECK (token_storage IN ('keychain', 'file')),
    signed_out           INTEGER NOT NULL DEFAULT 0,
    timeline_cursor      TEXT,
    notifications_cursor TEXT
);
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    source_id       INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    post_id         INTEGER REFERENCES posts (id) ON DELETE CASCADE,
    action_json     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    remote_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_handle TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    post_id      INTEGER REFERENCES posts (id) ON DELETE SET NULL,
    excerpt      TEXT,
    created_at   INTEGER NOT NULL,
    read         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source_id, remote_id)
);
CREATE INDEX notifications_by_time ON notifications (created_at DESC);
",
    },
    Migration {
        timestamp: 202_611_230_801,
        name: "interactions: unboost",
        sql: r"
CREATE TABLE interactions_new (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER REFERENCES posts (id) ON DELETE SET NULL,
    author_id  INTEGER REFERENCES authors (id) ON DELETE SET NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('like', 'unlike', 'boost', 'unboost', 'reply', 'open', 'dwell', 'hide',
                                             'unhide', 'show_less', 'mute_author', 'unmute_author',
                                             'mute_word', 'unmute_word')),
    value      TEXT,
    dwell_ms   INTEGER CHECK (dwell_ms IS NULL OR dwell_ms >= 0),
    created_at INTEGER NOT NULL
);
INSERT INTO interactions_new SELECT id, post_id, author_id, kind, value, dwell_ms, created_at FROM interactions;
DROP TABLE interactions;
ALTER TABLE interactions_new RENAME TO interactions;
CREATE INDEX interactions_by_post ON interactions (post_id, created_at);
CREATE INDEX interactions_by_time ON interactions (created_at);
",
    },
    Migration {
        timestamp: 202_611_230_900,
        name: "posts.thread_only: replies fetched to show a thread stay out of the timeline",
        sql: "ALTER TABLE posts ADD COLUMN thread_only INTEGER NOT NULL DEFAULT 0;",
    },
];

/// An account as sync and actions need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub source_id: i64,
    pub kind: SourceKind,
    pub server: String,
    pub remote_account_id: String,
    /// `alice@example.social` or `alice.bsky.social`.
    pub handle: String,
    pub display_name: String,
    pub storage: Storage,
    /// The key its credentials are filed under (the source's address).
    pub secret_key: String,
    pub signed_out: bool,
    pub timeline_cursor: Option<String>,
    pub notifications_cursor: Option<String>,
}

/// An account as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountInfo {
    pub id: i64,
    pub kind: SourceKind,
    pub server: String,
    pub handle: String,
    pub display_name: String,
    /// `new`, `ok`, `failing`, `sign_in_again`; `syncing` is set by the sync worker.
    pub state: &'static str,
    pub last_sync_at: Option<String>,
    pub next_sync_at: Option<String>,
    pub last_error: Option<String>,
    pub token_storage: &'static str,
    pub pending_actions: i64,
    /// Whether live updates are connected (set by the sync worker).
    pub live: bool,
}

/// Who the user is on a network, as its server says at sign-in.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub kind: SourceKind,
    pub server: &'a str,
    pub remote_account_id: &'a str,
    pub handle: &'a str,
    pub display_name: &'a str,
    pub storage: Storage,
}

/// The address an account's source is filed under (and its credentials with it).
pub fn account_address(kind: SourceKind, server: &str, handle: &str) -> String {
    format!("{}:{}/@{}", kind.as_str(), server.trim_end_matches('/'), handle)
}

/// Adds the account (or signs it in again: the same person on the same server keeps their
/// source, posts and cursors). Returns its source id.
pub fn add(connection: &Connection, account: &NewAccount<'_>, now_ms: i64) -> Result<i64> {
    let address = account_address(account.kind, account.server, account.handle);
    let name = format!("@{}", account.handle);
    let (source_id, _) = stored::add(connection, account.kind, &name, &address, Some(account.server), now_ms)?;
    connection.execute(
        "INSERT INTO accounts (source_id, server, remote_account_id, handle, display_name, token_storage)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (source_id) DO UPDATE SET remote_account_id = excluded.remote_account_id,
            display_name = excluded.display_name, token_storage = excluded.token_storage, signed_out = 0",
        params![
            source_id,
            account.server,
            account.remote_account_id,
            account.handle,
            account.display_name,
            account.storage.as_str()
        ],
    )?;
    posts::upsert_author(
        connection,
        &AuthorRow { source_id, handle: account.handle, display_name: account.display_name, bio: None, is_self: true },
    )?;
    Ok(source_id)
}

const RECORD_COLUMNS: &str = "a.source_id, s.kind, a.server, a.remote_account_id, a.handle, a.display_name,
    a.token_storage, s.url, a.signed_out, a.timeline_cursor, a.notifications_cursor";

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRecord> {
    let kind: String = row.get(1)?;
    let storage: String = row.get(6)?;
    Ok(AccountRecord {
        source_id: row.get(0)?,
        kind: SourceKind::parse(&kind).unwrap_or(SourceKind::Mastodon),
        server: row.get(2)?,
        remote_account_id: row.get(3)?,
        handle: row.get(4)?,
        display_name: row.get(5)?,
        storage: Storage::parse(&storage),
        secret_key: row.get(7)?,
        signed_out: row.get(8)?,
        timeline_cursor: row.get(9)?,
        notifications_cursor: row.get(10)?,
    })
}

/// One live account.
pub fn record(connection: &Connection, source_id: i64) -> Result<AccountRecord> {
    connection
        .query_row(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM accounts a JOIN sources s ON s.id = a.source_id
                 WHERE a.source_id = ?1 AND s.removed_at IS NULL"
            ),
            [source_id],
            record_from_row,
        )
        .optional()?
        .ok_or_else(|| Error::not_found("account", source_id))
}

/// The account a post came through, if it came through one.
pub fn of_post(connection: &Connection, post_id: i64) -> Result<Option<AccountRecord>> {
    Ok(connection
        .query_row(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM posts p JOIN accounts a ON a.source_id = p.source_id
                 JOIN sources s ON s.id = a.source_id WHERE p.id = ?1 AND s.removed_at IS NULL"
            ),
            [post_id],
            record_from_row,
        )
        .optional()?)
}

/// Every live account, as the UI shows it.
pub fn list(connection: &Connection, now_ms: i64) -> Result<Vec<AccountInfo>> {
    let mut statement = connection.prepare(
        "SELECT a.source_id, s.kind, a.server, a.handle, a.display_name, a.token_storage, a.signed_out,
                y.last_success_at, y.next_sync_at, y.last_error, y.failures,
                (SELECT count(*) FROM outbox o WHERE o.source_id = a.source_id AND o.state = 'pending')
         FROM accounts a JOIN sources s ON s.id = a.source_id JOIN source_sync y ON y.source_id = a.source_id
         WHERE s.removed_at IS NULL ORDER BY a.source_id",
    )?;
    let rows = statement.query_map([], |row| {
        let kind: String = row.get(1)?;
        let storage: String = row.get(5)?;
        let signed_out: bool = row.get(6)?;
        let last_success: Option<i64> = row.get(7)?;
        let next: i64 = row.get(8)?;
        let failures: i64 = row.get(10)?;
        let state = if signed_out { "sign_in_again" } else { stored::sync_state(failures, last_success) };
        Ok(AccountInfo {
            id: row.get(0)?,
            kind: SourceKind::parse(&kind).unwrap_or(SourceKind::Mastodon),
            server: row.get(2)?,
            handle: format!("@{}", row.get::<_, String>(3)?),
            display_name: row.get(4)?,
            state,
            last_sync_at: last_success.map(format_timestamp),
            next_sync_at: (!signed_out).then(|| format_timestamp(next.max(now_ms))),
            last_error: row.get(9)?,
            token_storage: Storage::parse(&storage).as_str(),
            pending_actions: row.get(11)?,
            live: false,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Forgets a signed-out account's outbox and notifications (its posts go with its source).
pub fn forget(connection: &Connection, source_id: i64) -> Result<()> {
    connection.execute("DELETE FROM outbox WHERE source_id = ?1", [source_id])?;
    connection.execute("DELETE FROM notifications WHERE source_id = ?1", [source_id])?;
    Ok(())
}

/// Marks an account as needing a new sign-in (the server refused its token), or not.
pub fn set_signed_out(connection: &Connection, source_id: i64, signed_out: bool, reason: Option<&str>) -> Result<()> {
    connection.execute("UPDATE accounts SET signed_out = ?2 WHERE source_id = ?1", params![source_id, signed_out])?;
    if let Some(reason) = reason {
        connection
            .execute("UPDATE source_sync SET last_error = ?2 WHERE source_id = ?1", params![source_id, reason])?;
    }
    Ok(())
}

/// What writing a timeline did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub new: usize,
    pub updated: usize,
}

/// Writes what a sync brought: posts (new, changed, boosted), notifications (and the posts
/// they are about), and the cursors, in the caller's transaction.
pub fn store_timeline(connection: &Connection, source_id: i64, timeline: &Timeline, now_ms: i64) -> Result<Written> {
    let mut written = Written::default();
    for post in &timeline.posts {
        match upsert_post(connection, source_id, post, now_ms, true)? {
            (_, Change::New) => written.new += 1,
            (_, Change::Updated) => written.updated += 1,
            (_, Change::Same) => {}
        }
    }
    for notification in &timeline.notifications {
        store_notification(connection, source_id, notification, now_ms)?;
    }
    if let Some(cursor) = &timeline.timeline_cursor {
        connection
            .execute("UPDATE accounts SET timeline_cursor = ?2 WHERE source_id = ?1", params![source_id, cursor])?;
    }
    if let Some(cursor) = &timeline.notifications_cursor {
        connection.execute(
            "UPDATE accounts SET notifications_cursor = ?2 WHERE source_id = ?1",
            params![source_id, cursor],
        )?;
    }
    Ok(written)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    New,
    Updated,
    Same,
}

fn content_hash(post: &RemotePost) -> String {
    let mut hasher = Sha256::new();
    for part in [post.text.as_str(), post.html.as_deref().unwrap_or(""), post.content_warning.as_deref().unwrap_or("")]
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update([u8::from(post.sensitive)]);
    for media in &post.media {
        hasher.update(media.url.as_bytes());
        hasher.update(media.alt_text.as_deref().unwrap_or("").as_bytes());
        hasher.update([0]);
    }
    format!("{:x}", hasher.finalize())
}

/// Writes a thread's posts (fetched to show it: those not in the timeline stay out of it);
/// returns their ids in order.
pub fn store_thread(connection: &Connection, source_id: i64, posts: &[RemotePost], now_ms: i64) -> Result<Vec<i64>> {
    posts.iter().map(|post| upsert_post(connection, source_id, post, now_ms, false).map(|(id, _)| id)).collect()
}

/// Writes one post of an account; returns its id. A post met again keeps its id (and so the
/// user's likes and history); its words are replaced when edited, its counts refreshed. A post
/// fetched only for a thread (`in_timeline` false) stays out of the timeline until the
/// timeline brings it.
fn upsert_post(
    connection: &Connection,
    source_id: i64,
    post: &RemotePost,
    now_ms: i64,
    in_timeline: bool,
) -> Result<(i64, Change)> {
    let author_id = author(connection, source_id, &post.author)?;
    let boosted_by = post.boosted_by.as_ref().map(|booster| author(connection, source_id, booster)).transpose()?;
    let hash = content_hash(post);
    let existing: Option<(i64, Option<String>)> = connection
        .query_row(
            "SELECT id, content_hash FROM posts WHERE source_id = ?1 AND remote_id = ?2",
            params![source_id, post.remote_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let counts = &post.counts;
    if let Some((post_id, old_hash)) = existing {
        connection.execute(
            "UPDATE posts SET like_count = ?2, boost_count = ?3, reply_count = ?4, fetched_at = ?5,
                boosted_by_author_id = coalesce(boosted_by_author_id, ?6), remote_ref = coalesce(?7, remote_ref),
                thread_only = thread_only AND NOT ?8
             WHERE id = ?1",
            params![
                post_id,
                counts.likes.max(0),
                counts.boosts.max(0),
                counts.replies.max(0),
                now_ms,
                boosted_by,
                post.remote_ref,
                in_timeline
            ],
        )?;
        if old_hash.as_deref() == Some(hash.as_str()) {
            return Ok((post_id, Change::Same));
        }
        connection.execute(
            "UPDATE posts SET text = ?2, html = ?3, content_warning = ?4, sensitive = ?5, url = ?6, content_hash = ?7
             WHERE id = ?1",
            params![post_id, post.text, post.html, post.content_warning, post.sensitive, post.url, hash],
        )?;
        connection
            .execute("DELETE FROM enrichments WHERE post_id = ?1 AND kind IN ('sentiment', 'embedding')", [post_id])?;
        stored::replace_media(connection, post_id, &post.media)?;
        return Ok((post_id, Change::Updated));
    }
    // The same post, already here through another account: this copy stays for actions, hidden.
    let duplicate_of: Option<i64> = connection
        .query_row(
            "SELECT id FROM posts WHERE canonical = ?1 AND source_id <> ?2 AND duplicate_of IS NULL ORDER BY id LIMIT 1",
            params![post.canonical, source_id],
            |row| row.get(0),
        )
        .optional()?;
    let post_id: i64 = connection.query_row(
        "INSERT INTO posts (source_id, author_id, remote_id, text, url, created_at, fetched_at, like_count, boost_count,
                            reply_count, html, content_hash, content_warning, sensitive, boosted_by_author_id,
                            in_reply_to, canonical, duplicate_of, remote_ref, my_like_ref, my_boost_ref, thread_only)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
         RETURNING id",
        params![
            source_id,
            author_id,
            post.remote_id,
            post.text,
            post.url,
            post.created_ms.min(now_ms),
            now_ms,
            counts.likes.max(0),
            counts.boosts.max(0),
            counts.replies.max(0),
            post.html,
            hash,
            post.content_warning,
            post.sensitive,
            boosted_by,
            post.in_reply_to,
            post.canonical,
            duplicate_of,
            post.remote_ref,
            post.my_like_ref,
            post.my_boost_ref,
            !in_timeline
        ],
        |row| row.get(0),
    )?;
    stored::replace_media(connection, post_id, &post.media)?;
    if post.liked || post.boosted {
        // Done elsewhere (another app, the website): shown as done, not learned from.
        connection.execute(
            "INSERT INTO post_state (post_id, liked, boosted, updated_at) VALUES (?1, ?2, ?3, ?4)",
            params![post_id, post.liked, post.boosted, now_ms],
        )?;
    }
    Ok((post_id, Change::New))
}

fn author(connection: &Connection, source_id: i64, author: &crate::sources::remote::RemoteAuthor) -> Result<i64> {
    let is_self: bool = connection
        .query_row("SELECT handle = ?2 FROM accounts WHERE source_id = ?1", params![source_id, author.handle], |row| {
            row.get(0)
        })
        .optional()?
        .unwrap_or(false);
    posts::upsert_author(
        connection,
        &AuthorRow { source_id, handle: &author.handle, display_name: &author.display_name, bio: None, is_self },
    )
}

fn store_notification(
    connection: &Connection,
    source_id: i64,
    notification: &RemoteNotification,
    now_ms: i64,
) -> Result<()> {
    let (post_id, excerpt) = match &notification.post {
        Some(post) => {
            let (post_id, _) = upsert_post(connection, source_id, post, now_ms, true)?;
            (Some(post_id), Some(excerpt(&post.text)))
        }
        None => (None, None),
    };
    connection.execute(
        "INSERT INTO notifications (source_id, remote_id, kind, actor_handle, actor_name, post_id, excerpt, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (source_id, remote_id) DO NOTHING",
        params![
            source_id,
            notification.remote_id,
            notification.kind,
            notification.actor.handle,
            notification.actor.display_name,
            post_id,
            excerpt,
            notification.created_ms.min(now_ms)
        ],
    )?;
    Ok(())
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 160;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

/// A notification as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub actor: NotificationActor,
    pub post_id: Option<i64>,
    pub excerpt: Option<String>,
    pub created_at: String,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotificationActor {
    pub handle: String,
    pub display_name: String,
}

/// The newest notifications of live accounts.
pub fn notifications(connection: &Connection, limit: i64) -> Result<Vec<Notification>> {
    let mut statement = connection.prepare(
        "SELECT n.id, n.source_id, n.kind, n.actor_handle, n.actor_name, n.post_id, n.excerpt, n.created_at, n.read
         FROM notifications n JOIN sources s ON s.id = n.source_id
         WHERE s.removed_at IS NULL ORDER BY n.created_at DESC, n.id DESC LIMIT ?1",
    )?;
    let rows = statement.query_map([limit], |row| {
        Ok(Notification {
            id: row.get(0)?,
            account_id: row.get(1)?,
            kind: row.get(2)?,
            actor: NotificationActor { handle: format!("@{}", row.get::<_, String>(3)?), display_name: row.get(4)? },
            post_id: row.get(5)?,
            excerpt: row.get(6)?,
            created_at: format_timestamp(row.get(7)?),
            read: row.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks notifications read: all of them, or those up to `up_to_id` (the newest the user saw,
/// so one that arrived meanwhile stays unread).
pub fn mark_notifications_read(connection: &Connection, up_to_id: Option<i64>) -> Result<()> {
    connection.execute("UPDATE notifications SET read = 1 WHERE read = 0 AND (?1 IS NULL OR id <= ?1)", [up_to_id])?;
    Ok(())
}

// ----- the outbox -----

/// An action waiting for its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub source_id: i64,
    pub post_id: Option<i64>,
    pub action: Action,
    pub idempotency_key: String,
    pub attempts: i64,
}

/// An outbox item as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub account_id: i64,
    pub action: &'static str,
    pub post_id: Option<i64>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

/// Queues an action. An opposite action still waiting (a like then an unlike before either
/// was sent) cancels out instead: the server hears only what the user meant in the end.
pub fn enqueue(
    connection: &Connection,
    source_id: i64,
    post_id: Option<i64>,
    action: &Action,
    idempotency_key: &str,
    now_ms: i64,
) -> Result<()> {
    let opposite = match action {
        Action::Favourite => Some(Action::Unfavourite),
        Action::Unfavourite => Some(Action::Favourite),
        Action::Boost => Some(Action::Unboost),
        Action::Unboost => Some(Action::Boost),
        Action::Post { .. } => None,
    };
    if let (Some(opposite), Some(post_id)) = (opposite, post_id) {
        let opposite = serde_json::to_string(&opposite).map_err(|error| Error::Internal(error.to_string()))?;
        let cancelled = connection.execute(
            "DELETE FROM outbox WHERE id = (SELECT id FROM outbox WHERE source_id = ?1 AND post_id = ?2
                AND action_json = ?3 AND attempts = 0 ORDER BY id DESC LIMIT 1)",
            params![source_id, post_id, opposite],
        )?;
        if cancelled > 0 {
            return Ok(());
        }
    }
    let json = serde_json::to_string(action).map_err(|error| Error::Internal(error.to_string()))?;
    connection.execute(
        "INSERT INTO outbox (source_id, post_id, action_json, idempotency_key, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![source_id, post_id, json, idempotency_key, now_ms],
    )?;
    Ok(())
}

/// Pending actions due now, oldest first (so a post goes before a like of it).
pub fn due_actions(connection: &Connection, source_id: i64, now_ms: i64) -> Result<Vec<Queued>> {
    let mut statement = connection.prepare(
        "SELECT id, source_id, post_id, action_json, idempotency_key, attempts FROM outbox
         WHERE source_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2 ORDER BY id",
    )?;
    let rows = statement.query_map(params![source_id, now_ms], |row| {
        let json: String = row.get(3)?;
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, json, row.get(4)?, row.get(5)?))
    })?;
    let mut queued = Vec::new();
    for row in rows {
        let (id, source_id, post_id, json, idempotency_key, attempts): (i64, i64, Option<i64>, String, String, i64) =
            row?;
        let action = serde_json::from_str(&json)
            .map_err(|error| Error::Internal(format!("outbox item {id} cannot be read: {error}")))?;
        queued.push(Queued { id, source_id, post_id, action, idempotency_key, attempts });
    }
    Ok(queued)
}

/// Sources with actions due.
pub fn accounts_with_due_actions(connection: &Connection, now_ms: i64) -> Result<Vec<i64>> {
    let mut statement = connection.prepare(
        "SELECT DISTINCT o.source_id FROM outbox o JOIN accounts a ON a.source_id = o.source_id
         WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 AND a.signed_out = 0",
    )?;
    let rows = statement.query_map([now_ms], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next pending action is due, if any.
pub fn next_action_due_ms(connection: &Connection) -> Result<Option<i64>> {
    Ok(connection.query_row(
        "SELECT min(o.next_attempt_at) FROM outbox o JOIN accounts a ON a.source_id = o.source_id
         WHERE o.state = 'pending' AND a.signed_out = 0",
        [],
        |row| row.get(0),
    )?)
}

pub fn action_done(connection: &Connection, id: i64) -> Result<()> {
    connection.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// Records a failed try: tried again at `next_attempt_ms`, or (`None`) given up on and shown.
pub fn action_failed(connection: &Connection, id: i64, error: &str, next_attempt_ms: Option<i64>) -> Result<()> {
    connection.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
            state = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END, next_attempt_at = coalesce(?3, next_attempt_at)
         WHERE id = ?1",
        params![id, error, next_attempt_ms],
    )?;
    Ok(())
}

/// Actions not yet accepted (pending and failed), oldest first.
pub fn outbox(connection: &Connection) -> Result<Vec<OutboxItem>> {
    let mut statement = connection.prepare(
        "SELECT id, source_id, post_id, action_json, state, attempts, last_error, created_at FROM outbox ORDER BY id",
    )?;
    let rows = statement.query_map([], |row| {
        let json: String = row.get(3)?;
        let action: Option<Action> = serde_json::from_str(&json).ok();
        Ok(OutboxItem {
            id: row.get(0)?,
            account_id: row.get(1)?,
            post_id: row.get(2)?,
            action: action.as_ref().map_or("unknown", Action::name),
            state: row.get(4)?,
            attempts: row.get(5)?,
            last_error: row.get(6)?,
            created_at: format_timestamp(row.get(7)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Makes a failed (or waiting) action due now.
pub fn retry_action(connection: &Connection, id: i64, now_ms: i64) -> Result<()> {
    let changed = connection
        .execute("UPDATE outbox SET state = 'pending', next_attempt_at = ?2 WHERE id = ?1", params![id, now_ms])?;
    if changed == 0 {
        return Err(Error::not_found("outbox item", id));
    }
    Ok(())
}

pub fn discard_action(connection: &Connection, id: i64) -> Result<()> {
    if connection.execute("DELETE FROM outbox WHERE id = ?1", [id])? == 0 {
        return Err(Error::not_found("outbox item", id));
    }
    Ok(())
}

/// Records what the server named a post sent from Hearth, so later actions can name it.
pub fn record_sent_post(connection: &Connection, post_id: i64, sent: &crate::sources::remote::Sent) -> Result<()> {
    // The server's echo of this very post may have arrived first (a live update between the
    // server's answer and this write): the echo goes, the post the user wrote stays.
    if let Some(remote_id) = &sent.remote_id {
        connection.execute(
            "DELETE FROM posts WHERE id <> ?1 AND remote_id = ?2
                AND source_id = (SELECT source_id FROM posts WHERE id = ?1)",
            params![post_id, remote_id],
        )?;
    }
    connection.execute(
        "UPDATE posts SET remote_id = coalesce(?2, remote_id), canonical = coalesce(?3, canonical),
            remote_ref = coalesce(?4, remote_ref), url = coalesce(?5, url) WHERE id = ?1",
        params![post_id, sent.remote_id, sent.canonical, sent.remote_ref, sent.url],
    )?;
    Ok(())
}

/// A post's stored pictures (path, type, alt text), in order: what a new post sends along.
pub fn post_images(connection: &Connection, post_id: i64) -> Result<Vec<(String, String, Option<String>)>> {
    let mut statement = connection.prepare(
        "SELECT path, mime, alt_text FROM media WHERE post_id = ?1 AND kind = 'image' AND path IS NOT NULL
         ORDER BY position",
    )?;
    let rows = statement.query_map([post_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records which post a post of the user's replies to (its remote id).
pub fn set_in_reply_to(connection: &Connection, post_id: i64, in_reply_to: Option<&str>) -> Result<()> {
    connection.execute("UPDATE posts SET in_reply_to = ?2 WHERE id = ?1", params![post_id, in_reply_to])?;
    Ok(())
}

/// Records (or clears) the user's own like or boost record of a post (Bluesky names them).
pub fn set_own_record(connection: &Connection, post_id: i64, boost: bool, record: Option<&str>) -> Result<()> {
    let sql = if boost {
        "UPDATE posts SET my_boost_ref = ?2 WHERE id = ?1"
    } else {
        "UPDATE posts SET my_like_ref = ?2 WHERE id = ?1"
    };
    connection.execute(sql, params![post_id, record])?;
    Ok(())
}

/// What actions need of a post: its remote id, its second reference, the user's own records,
/// and the thread root it replies to (Bluesky replies name it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostRefs {
    pub remote_id: String,
    pub remote_ref: Option<String>,
    pub my_like_ref: Option<String>,
    pub my_boost_ref: Option<String>,
    pub in_reply_to: Option<String>,
    pub handle: String,
}

pub fn post_refs(connection: &Connection, post_id: i64) -> Result<PostRefs> {
    connection
        .query_row(
            "SELECT p.remote_id, p.remote_ref, p.my_like_ref, p.my_boost_ref, p.in_reply_to, a.handle
             FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = ?1",
            [post_id],
            |row| {
                Ok(PostRefs {
                    remote_id: row.get(0)?,
                    remote_ref: row.get(1)?,
                    my_like_ref: row.get(2)?,
                    my_boost_ref: row.get(3)?,
                    in_reply_to: row.get(4)?,
                    handle: row.get(5)?,
                })
            },
        )
        .optional()?
        .ok_or_else(|| Error::not_found("post", post_id))
}

/// The accounts a post arrived through: itself, and the copies marked as its duplicates.
pub fn via(connection: &Connection, post_id: i64) -> Result<Vec<(i64, SourceKind, String)>> {
    let mut statement = connection.prepare_cached(
        "SELECT s.id, s.kind, s.name FROM posts p JOIN sources s ON s.id = p.source_id
         WHERE (p.id = ?1 OR p.duplicate_of = ?1) AND s.kind IN ('mastodon', 'bluesky') ORDER BY p.id",
    )?;
    let rows = statement.query_map([post_id], |row| {
        let kind: String = row.get(1)?;
        Ok((row.get(0)?, SourceKind::parse(&kind).unwrap_or(SourceKind::Mastodon), row.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
