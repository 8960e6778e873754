//! The append-only interaction log, and the state derived from it in the same transaction:
//! per-post state (liked, hidden, show less, opens, dwell) and mutes.

use rusqlite::{params, Connection};

use super::Migration;
use crate::error::Result;
use crate::interactions::InteractionKind;

pub const MIGRATIONS: &[Migration] = &[Migration {
    timestamp: 202_611_221_410,
    name: "interactions log, post_state, mutes",
    sql: r"
CREATE TABLE interactions (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER REFERENCES posts (id) ON DELETE SET NULL,
    author_id  INTEGER REFERENCES authors (id) ON DELETE SET NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('like', 'unlike', 'boost', 'reply', 'open', 'dwell', 'hide',
                                             'unhide', 'show_less', 'mute_author', 'unmute_author',
                                             'mute_word', 'unmute_word')),
    value      TEXT,
    dwell_ms   INTEGER CHECK (dwell_ms IS NULL OR dwell_ms >= 0),
    created_at INTEGER NOT NULL
);
CREATE INDEX interactions_by_post ON interactions (post_id, created_at);
CREATE INDEX interactions_by_time ON interactions (created_at);

CREATE TABLE post_state (
    post_id        INTEGER PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    liked          INTEGER NOT NULL DEFAULT 0,
    boosted        INTEGER NOT NULL DEFAULT 0,
    hidden         INTEGER NOT NULL DEFAULT 0,
    show_less      INTEGER NOT NULL DEFAULT 0,
    opened_count   INTEGER NOT NULL DEFAULT 0,
    dwell_ms_total INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);
CREATE TABLE muted_authors (
    author_id INTEGER PRIMARY KEY REFERENCES authors (id) ON DELETE CASCADE,
    since     INTEGER NOT NULL
);
CREATE TABLE muted_words (
    word  TEXT PRIMARY KEY,
    since INTEGER NOT NULL
);
",
}];

/// One event, as it is appended to the log.
#[derive(Debug, Clone)]
pub struct InteractionRow<'a> {
    pub post_id: Option<i64>,
    pub author_id: Option<i64>,
    pub kind: InteractionKind,
    pub value: Option<&'a str>,
    pub dwell_ms: Option<i64>,
    pub created_at_ms: i64,
}

/// Appends the event and updates the derived state. Call inside a transaction.
pub fn append(connection: &Connection, event: &InteractionRow<'_>) -> Result<i64> {
    let id = connection.query_row(
        "INSERT INTO interactions (post_id, author_id, kind, value, dwell_ms, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        params![event.post_id, event.author_id, event.kind.as_str(), event.value, event.dwell_ms, event.created_at_ms],
        |row| row.get(0),
    )?;
    let now = event.created_at_ms;
    if let Some(post_id) = event.post_id {
        let column_update = match event.kind {
            InteractionKind::Like => Some("liked = 1"),
            InteractionKind::Unlike => Some("liked = 0"),
            InteractionKind::Boost => Some("boosted = 1"),
            InteractionKind::Unboost => Some("boosted = 0"),
            InteractionKind::Hide => Some("hidden = 1"),
            InteractionKind::Unhide => Some("hidden = 0"),
            InteractionKind::ShowLess => Some("show_less = 1"),
            InteractionKind::Open => Some("opened_count = opened_count + 1"),
            InteractionKind::Dwell => Some("dwell_ms_total = dwell_ms_total + ?3"),
            _ => None,
        };
        if let Some(column_update) = column_update {
            connection.execute(
                "INSERT INTO post_state (post_id, updated_at) VALUES (?1, ?2) ON CONFLICT (post_id) DO NOTHING",
                params![post_id, now],
            )?;
            let sql = format!("UPDATE post_state SET {column_update}, updated_at = ?2 WHERE post_id = ?1");
            if sql.contains("?3") {
                connection.execute(&sql, params![post_id, now, event.dwell_ms.unwrap_or(0)])?;
            } else {
                connection.execute(&sql, params![post_id, now])?;
            }
        }
    }
    match (event.kind, event.author_id, event.value) {
        (InteractionKind::MuteAuthor, Some(author_id), _) => {
            connection.execute(
                "INSERT INTO muted_authors (author_id, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![author_id, now],
            )?;
        }
        (InteractionKind::UnmuteAuthor, Some(author_id), _) => {
            connection.execute("DELETE FROM muted_authors WHERE author_id = ?1", [author_id])?;
        }
        (InteractionKind::MuteWord, _, Some(word)) => {
            connection.execute(
                "INSERT INTO muted_words (word, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![word, now],
            )?;
        }
        (InteractionKind::UnmuteWord, _, Some(word)) => {
            connection.execute("DELETE FROM muted_words WHERE word = ?1", [word])?;
        }
        _ => {}
    }
    Ok(id)
}

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedInteraction {
    pub id: i64,
    pub post_id: Option<i64>,
    pub author_id: Option<i64>,
    pub kind: String,
    pub dwell_ms: Option<i64>,
    pub created_at_ms: i64,
}

/// Up to `limit` events after `after_id`, oldest first.
pub fn after(connection: &Connection, after_id: i64, limit: i64) -> Result<Vec<LoggedInteraction>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, post_id, author_id, kind, dwell_ms, created_at FROM interactions WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = statement.query_map(params![after_id, limit], |row| {
        Ok(LoggedInteraction {
            id: row.get(0)?,
            post_id: row.get(1)?,
            author_id: row.get(2)?,
            kind: row.get(3)?,
            dwell_ms: row.get(4)?,
            created_at_ms: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Empties the log (what the user did stays on the posts: likes, hides, mutes).
pub fn forget_all(connection: &Connection) -> Result<()> {
    connection.execute("DELETE FROM interactions", [])?;
    Ok(())
}

/// The newest event's id (0 for an empty log).
pub fn last_id(connection: &Connection) -> Result<i64> {
    Ok(connection.query_row("SELECT coalesce(max(id), 0) FROM interactions", [], |row| row.get(0))?)
}

/// A muted author, for the settings page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MutedAuthor {
    pub id: i64,
    pub handle: String,
    pub display_name: String,
}

pub fn muted_authors(connection: &Connection) -> Result<Vec<MutedAuthor>> {
    let mut statement = connection.prepare_cached(
        "SELECT a.id, a.handle, a.display_name FROM muted_authors m JOIN authors a ON a.id = m.author_id
         ORDER BY m.since DESC",
    )?;
    let rows = statement
        .query_map([], |row| Ok(MutedAuthor { id: row.get(0)?, handle: row.get(1)?, display_name: row.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn muted_words(connection: &Connection) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached("SELECT word FROM muted_words ORDER BY word")?;
    let rows = statement.query_map([], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn author_exists(connection: &Connection, author_id: i64) -> Result<bool> {
    Ok(connection.query_row("SELECT EXISTS (SELECT 1 FROM authors WHERE id = ?1)", [author_id], |row| row.get(0))?)
}
