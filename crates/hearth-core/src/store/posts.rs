//! Sources, authors, posts (with their FTS5 index) and media: tables and queries.

use rusqlite::{named_params, params, Connection, OptionalExtension, Row};

use super::Migration;
use crate::error::{Error, Result};
use crate::post::{
    avatar_color, format_timestamp, Author, Booster, Counts, Media, MediaKind, Post, PostState, SourceKind, SourceRef,
    Via,
};

pub const MIGRATIONS: &[Migration] = &[Migration {
    timestamp: 202_611_221_400,
    name: "sources, authors, posts, posts_fts, media",
    sql: r"
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('local', 'demo', 'rss', 'mastodon', 'bluesky')),
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    config_json TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    UNIQUE (kind, url)
);
CREATE TABLE authors (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    handle       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    bio          TEXT,
    avatar_url   TEXT,
    is_self      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source_id, handle)
);
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    remote_id   TEXT NOT NULL,
    text        TEXT NOT NULL,
    url         TEXT,
    created_at  INTEGER NOT NULL,
    fetched_at  INTEGER NOT NULL,
    like_count  INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    boost_count INTEGER NOT NULL DEFAULT 0 CHECK (boost_count >= 0),
    reply_count INTEGER NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    UNIQUE (source_id, remote_id)
);
CREATE INDEX posts_by_time ON posts (created_at DESC, id DESC);
CREATE INDEX posts_by_author ON posts (author_id, created_at DESC);

CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text, content = 'posts', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO posts_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE media (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video')),
    mime        TEXT NOT NULL,
    path        TEXT,
    url         TEXT,
    size_bytes  INTEGER NOT NULL DEFAULT 0,
    sha256      TEXT,
    alt_text    TEXT,
    width       INTEGER,
    height      INTEGER,
    duration_ms INTEGER,
    CHECK (path IS NOT NULL OR url IS NOT NULL),
    UNIQUE (post_id, position)
);
CREATE INDEX media_by_post ON media (post_id);
",
}];

/// Returns the id of the source `(kind, url)`, creating it if needed.
pub fn ensure_source(connection: &Connection, kind: SourceKind, name: &str, url: &str, now_ms: i64) -> Result<i64> {
    connection.execute(
        "INSERT INTO sources (kind, name, url, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, url) DO NOTHING",
        params![kind.as_str(), name, url, now_ms],
    )?;
    Ok(connection.query_row(
        "SELECT id FROM sources WHERE kind = ?1 AND url = ?2",
        params![kind.as_str(), url],
        |row| row.get(0),
    )?)
}

/// An author as a source knows them.
#[derive(Debug, Clone)]
pub struct AuthorRow<'a> {
    pub source_id: i64,
    pub handle: &'a str,
    pub display_name: &'a str,
    pub bio: Option<&'a str>,
    pub is_self: bool,
}

/// Returns the id of the author, creating or refreshing their name and bio.
pub fn upsert_author(connection: &Connection, author: &AuthorRow<'_>) -> Result<i64> {
    Ok(connection.query_row(
        "INSERT INTO authors (source_id, handle, display_name, bio, is_self) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (source_id, handle) DO UPDATE SET display_name = excluded.display_name, bio = excluded.bio
         RETURNING id",
        params![author.source_id, author.handle, author.display_name, author.bio, author.is_self],
        |row| row.get(0),
    )?)
}

/// A post as it is written to the database.
#[derive(Debug, Clone)]
pub struct PostRow<'a> {
    pub source_id: i64,
    pub author_id: i64,
    pub remote_id: &'a str,
    pub text: &'a str,
    pub url: Option<&'a str>,
    pub created_at_ms: i64,
    pub fetched_at_ms: i64,
    pub counts: Counts,
}

/// Inserts the post unless `(source, remote_id)` exists. Returns the new id, or `None` when the
/// post was already there (so importing twice changes nothing).
pub fn insert_post_if_new(connection: &Connection, post: &PostRow<'_>) -> Result<Option<i64>> {
    Ok(connection
        .query_row(
            "INSERT INTO posts (source_id, author_id, remote_id, text, url, created_at, fetched_at,
                                like_count, boost_count, reply_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (source_id, remote_id) DO NOTHING
             RETURNING id",
            params![
                post.source_id,
                post.author_id,
                post.remote_id,
                post.text,
                post.url,
                post.created_at_ms,
                post.fetched_at_ms,
                post.counts.likes,
                post.counts.boosts,
                post.counts.replies
            ],
            |row| row.get(0),
        )
        .optional()?)
}

/// An attachment as it is written to the database; `path` is relative to the data directory.
#[derive(Debug, Clone)]
pub struct MediaRow<'a> {
    pub post_id: i64,
    pub position: i64,
    pub kind: MediaKind,
    pub mime: &'a str,
    pub path: Option<&'a str>,
    pub url: Option<&'a str>,
    pub size_bytes: i64,
    pub sha256: Option<&'a str>,
    pub alt_text: Option<&'a str>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
}

pub fn insert_media(connection: &Connection, media: &MediaRow<'_>) -> Result<i64> {
    Ok(connection.query_row(
        "INSERT INTO media (post_id, position, kind, mime, path, url, size_bytes, sha256, alt_text,
                            width, height, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        params![
            media.post_id,
            media.position,
            media.kind.as_str(),
            media.mime,
            media.path,
            media.url,
            media.size_bytes,
            media.sha256,
            media.alt_text,
            media.width,
            media.height,
            media.duration_ms
        ],
        |row| row.get(0),
    )?)
}

/// Where a media item's bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLocation {
    pub mime: String,
    /// Relative to the data directory.
    pub path: Option<String>,
    pub url: Option<String>,
}

pub fn media_location(connection: &Connection, media_id: i64) -> Result<MediaLocation> {
    connection
        .query_row("SELECT mime, path, url FROM media WHERE id = ?1", [media_id], |row| {
            Ok(MediaLocation { mime: row.get(0)?, path: row.get(1)?, url: row.get(2)? })
        })
        .optional()?
        .ok_or_else(|| Error::not_found("media", media_id))
}

/// The few columns the feed filters and ranks on, before a post is fully loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    pub author_id: i64,
    pub source_id: i64,
    pub text: String,
    pub created_at_ms: i64,
    pub counts: Counts,
    pub state: PostState,
    pub n_images: i64,
    pub n_audio: i64,
    /// The user has opened, read, liked or boosted it.
    pub seen: bool,
    /// The tone label the enrichment pipeline gave it, if any.
    pub tone: Option<String>,
    /// The author's posts since `CandidateQuery::recent_since_ms`.
    pub author_recent_posts: i64,
}

/// Which candidates to fetch, newest first.
#[derive(Debug, Clone, Default)]
pub struct CandidateQuery {
    /// Only posts strictly older than `(created_at_ms, id)`.
    pub before: Option<(i64, i64)>,
    /// Only posts at or after this time.
    pub since_ms: Option<i64>,
    pub author_id: Option<i64>,
    pub source_id: Option<i64>,
    pub has_media: Option<MediaKind>,
    pub include_hidden: bool,
    /// Leave out posts tagged negative.
    pub calm: bool,
    /// From when `Candidate::author_recent_posts` counts (all time if `None`).
    pub recent_since_ms: Option<i64>,
    pub limit: i64,
}

/// The columns `candidate_from_row` reads; `?R` is where `author_recent_posts` counts from.
macro_rules! candidate_columns {
    () => {
        "p.id, p.author_id, p.source_id, p.text, p.created_at, p.like_count, p.boost_count, p.reply_count,
         coalesce(s.liked, 0), coalesce(s.hidden, 0), coalesce(s.show_less, 0),
         (SELECT count(*) FROM media m WHERE m.post_id = p.id AND m.kind = 'image'),
         (SELECT count(*) FROM media m WHERE m.post_id = p.id AND m.kind = 'audio'),
         coalesce(s.opened_count, 0) + coalesce(s.dwell_ms_total, 0) + coalesce(s.liked, 0) + coalesce(s.boosted, 0) > 0,
         (SELECT json_extract(e.value_json, '$.label') FROM enrichments e
          WHERE e.post_id = p.id AND e.kind = 'sentiment' ORDER BY e.created_at DESC LIMIT 1),
         (SELECT count(*) FROM posts q WHERE q.author_id = p.author_id AND q.created_at >= ?R)"
    };
}

/// Posts matching the query, newest first, without posts by muted authors.
pub fn candidates(connection: &Connection, query: &CandidateQuery) -> Result<Vec<Candidate>> {
    let (before_time, before_id) = query.before.unwrap_or((i64::MAX, i64::MAX));
    let sql = concat!(
        "SELECT ",
        candidate_columns!(),
        "
         FROM posts p
         LEFT JOIN post_state s ON s.post_id = p.id
         WHERE (p.created_at < ?1 OR (p.created_at = ?1 AND p.id < ?2))
           AND p.created_at >= ?3
           AND (?4 IS NULL OR p.author_id = ?4)
           AND (?5 IS NULL OR p.source_id = ?5)
           AND (?6 IS NULL OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id AND m.kind = ?6))
           AND (?7 OR coalesce(s.hidden, 0) = 0)
           AND p.duplicate_of IS NULL AND NOT p.thread_only
           AND p.author_id NOT IN (SELECT author_id FROM muted_authors)
           AND (NOT ?9 OR NOT EXISTS (SELECT 1 FROM enrichments e WHERE e.post_id = p.id AND e.kind = 'sentiment'
                                      AND json_extract(e.value_json, '$.label') = 'negative'))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT ?8"
    )
    .replace("?R", "?10");
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(
        params![
            before_time,
            before_id,
            query.since_ms.unwrap_or(i64::MIN),
            query.author_id,
            query.source_id,
            query.has_media.map(MediaKind::as_str),
            query.include_hidden,
            query.limit,
            query.calm,
            query.recent_since_ms.unwrap_or(i64::MIN)
        ],
        candidate_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One post's candidate row (whether or not it is hidden or muted), if it exists.
pub fn candidate(connection: &Connection, post_id: i64, recent_since_ms: i64) -> Result<Option<Candidate>> {
    let sql = concat!(
        "SELECT ",
        candidate_columns!(),
        " FROM posts p LEFT JOIN post_state s ON s.post_id = p.id WHERE p.id = ?1"
    )
    .replace("?R", "?2");
    Ok(connection.prepare_cached(&sql)?.query_row(params![post_id, recent_since_ms], candidate_from_row).optional()?)
}

/// Up to `count` posts the user has not interacted with, picked pseudo-randomly from `seed`
/// (each a uniform draw over the id range): what a learned preference is contrasted with.
pub fn untouched_posts(connection: &Connection, seed: u64, exclude: i64, count: usize) -> Result<Vec<i64>> {
    // Two queries: SQLite answers a lone min() or max() from the index, but both in one
    // statement scan the whole table.
    let low: Option<i64> = connection.query_row("SELECT min(id) FROM posts", [], |row| row.get(0))?;
    let high: Option<i64> = connection.query_row("SELECT max(id) FROM posts", [], |row| row.get(0))?;
    let (Some(low), Some(high)) = (low, high) else { return Ok(Vec::new()) };
    let mut statement = connection.prepare_cached(
        "SELECT p.id FROM posts p WHERE p.id >= ?1 AND p.id < ?1 + ?3 AND p.id <> ?2
           AND NOT EXISTS (SELECT 1 FROM post_state s WHERE s.post_id = p.id)
         ORDER BY p.id LIMIT 1",
    )?;
    let mut random = crate::random::SplitMix64(seed);
    let mut picked = Vec::with_capacity(count);
    for _ in 0..count * 2 {
        let span = u64::try_from(high - low + 1).unwrap_or(1).max(1);
        let start = low + i64::try_from(random.next_u64() % span).unwrap_or(0);
        // Each draw looks at most this far past its start, so a log that has touched nearly
        // every post costs a bounded scan (and perhaps one contrast fewer), not a table scan.
        const WINDOW: i64 = 1_000;
        if let Some(id) = statement.query_row(params![start, exclude, WINDOW], |row| row.get::<_, i64>(0)).optional()? {
            if !picked.contains(&id) {
                picked.push(id);
            }
        }
        if picked.len() == count {
            break;
        }
    }
    Ok(picked)
}

fn candidate_from_row(row: &Row<'_>) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        id: row.get(0)?,
        author_id: row.get(1)?,
        source_id: row.get(2)?,
        text: row.get(3)?,
        created_at_ms: row.get(4)?,
        counts: Counts { likes: row.get(5)?, boosts: row.get(6)?, replies: row.get(7)? },
        state: PostState { liked: row.get(8)?, hidden: row.get(9)?, show_less: row.get(10)? },
        n_images: row.get(11)?,
        n_audio: row.get(12)?,
        seen: row.get(13)?,
        tone: row.get(14)?,
        author_recent_posts: row.get(15)?,
    })
}

/// Loads full posts, in the order of `ids`; unknown ids are skipped.
pub fn load_posts(connection: &Connection, ids: &[i64]) -> Result<Vec<Post>> {
    let mut posts = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(post) = load_post(connection, id)? {
            posts.push(post);
        }
    }
    Ok(posts)
}

/// Loads one full post, or `None` if there is no such post.
pub fn load_post(connection: &Connection, id: i64) -> Result<Option<Post>> {
    let mut statement = connection.prepare_cached(
        "SELECT p.id, p.text, p.url, p.created_at, p.like_count, p.boost_count, p.reply_count,
                s.id, s.kind, s.name, a.id, a.handle, a.display_name,
                coalesce(st.liked, 0), coalesce(st.hidden, 0), coalesce(st.show_less, 0),
                (SELECT e.value_json FROM enrichments e WHERE e.post_id = p.id AND e.kind = 'sentiment'
                 ORDER BY e.created_at DESC LIMIT 1),
                p.title, p.html, p.content_warning, p.sensitive, b.handle, b.display_name, coalesce(st.boosted, 0)
         FROM posts p
         JOIN sources s ON s.id = p.source_id
         JOIN authors a ON a.id = p.author_id
         LEFT JOIN authors b ON b.id = p.boosted_by_author_id
         LEFT JOIN post_state st ON st.post_id = p.id
         WHERE p.id = ?1",
    )?;
    let post = statement
        .query_row([id], |row| {
            let liked: bool = row.get(13)?;
            let kind: String = row.get(8)?;
            let handle: String = row.get(11)?;
            Ok(Post {
                id: row.get(0)?,
                text: row.get(1)?,
                url: row.get(2)?,
                created_at: format_timestamp(row.get(3)?),
                counts: Counts {
                    likes: row.get::<_, i64>(4)? + i64::from(liked),
                    boosts: row.get(5)?,
                    replies: row.get(6)?,
                },
                source: SourceRef {
                    id: row.get(7)?,
                    kind: SourceKind::parse(&kind).unwrap_or(SourceKind::Local),
                    name: row.get(9)?,
                },
                author: Author {
                    id: row.get(10)?,
                    avatar_color: avatar_color(&handle),
                    handle,
                    display_name: row.get(12)?,
                },
                state: PostState { liked, hidden: row.get(14)?, show_less: row.get(15)? },
                media: Vec::new(),
                reason: None,
                reasons: Vec::new(),
                tone: row.get::<_, Option<String>>(16)?.and_then(|json| serde_json::from_str(&json).ok()),
                title: row.get(17)?,
                html: row.get(18)?,
                content_warning: row.get(19)?,
                sensitive: row.get(20)?,
                boosted_by: match (row.get::<_, Option<String>>(21)?, row.get::<_, Option<String>>(22)?) {
                    (Some(handle), Some(display_name)) => Some(Booster { handle: format!("@{handle}"), display_name }),
                    _ => None,
                },
                boosted: row.get(23)?,
                via: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut post) = post else {
        return Ok(None);
    };
    post.media = media_of_post(connection, id)?;
    if matches!(post.source.kind, SourceKind::Mastodon | SourceKind::Bluesky) {
        post.via = super::accounts::via(connection, id)?
            .into_iter()
            .map(|(account_id, kind, name)| Via { account_id, kind, name })
            .collect();
    }
    Ok(Some(post))
}

fn media_of_post(connection: &Connection, post_id: i64) -> Result<Vec<Media>> {
    let mut statement = connection.prepare_cached(
        "SELECT m.id, m.kind, m.mime, m.size_bytes, m.alt_text, m.width, m.height, m.duration_ms, m.url, m.path IS NOT NULL,
                (SELECT e.value_json FROM enrichments e WHERE e.media_id = m.id AND e.kind = 'labels'
                 ORDER BY e.created_at DESC LIMIT 1),
                (SELECT e.value_json FROM enrichments e WHERE e.media_id = m.id AND e.kind = 'transcript'
                 ORDER BY e.created_at DESC, e.id DESC LIMIT 1)
         FROM media m WHERE m.post_id = ?1 ORDER BY m.position",
    )?;
    let rows = statement.query_map([post_id], |row| {
        use crate::models::speech::MediaTranscript;
        let kind: String = row.get(1)?;
        let kind = MediaKind::parse(&kind).unwrap_or(MediaKind::Image);
        let labels: crate::models::image_classifier::ImageLabels =
            row.get::<_, Option<String>>(10)?.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
        let stored: Option<MediaTranscript> =
            row.get::<_, Option<String>>(11)?.and_then(|json| serde_json::from_str(&json).ok());
        let transcript = (kind == MediaKind::Audio).then(|| stored.unwrap_or_else(MediaTranscript::waiting));
        Ok(Media {
            transcript,
            machine_description: labels.description(),
            labels: labels.labels,
            id: row.get(0)?,
            kind,
            mime: row.get(2)?,
            size_bytes: row.get(3)?,
            alt_text: row.get(4)?,
            width: row.get(5)?,
            height: row.get(6)?,
            duration_ms: row.get(7)?,
            remote_url: row.get(8)?,
            cached: row.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The post an attachment belongs to, or `NotFound`.
pub fn post_of_media(connection: &Connection, media_id: i64) -> Result<i64> {
    connection
        .query_row("SELECT post_id FROM media WHERE id = ?1", [media_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("attachment", media_id))
}

/// The author of a post, or `NotFound`.
pub fn author_of_post(connection: &Connection, post_id: i64) -> Result<i64> {
    connection
        .query_row("SELECT author_id FROM posts WHERE id = ?1", [post_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("post", post_id))
}

/// What a search may show: not hidden, author not muted, of the tone `:tone` if not null
/// (for queries over `posts p` joined to `post_state s`).
const SEARCHABLE: &str = "coalesce(s.hidden, 0) = 0
    AND p.author_id NOT IN (SELECT author_id FROM muted_authors)
    AND (:tone IS NULL OR EXISTS (SELECT 1 FROM enrichments t WHERE t.post_id = p.id AND t.kind = 'sentiment'
                                  AND json_extract(t.value_json, '$.label') = :tone))";

/// Post ids matching an FTS5 query (and tone, if given), best match first, and how many match.
pub fn full_text_search(
    connection: &Connection,
    fts_query: &str,
    limit: i64,
    tone: Option<&str>,
) -> Result<(Vec<i64>, i64)> {
    let from = format!(
        "FROM posts_fts f JOIN posts p ON p.id = f.rowid LEFT JOIN post_state s ON s.post_id = p.id
         WHERE posts_fts MATCH :query AND {SEARCHABLE}"
    );
    let mut statement = connection
        .prepare_cached(&format!("SELECT p.id {from} ORDER BY bm25(posts_fts), p.created_at DESC LIMIT :limit"))?;
    let ids = statement
        .query_map(named_params! { ":query": fts_query, ":limit": limit, ":tone": tone }, |row| row.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    let total = connection
        .prepare_cached(&format!("SELECT count(*) {from}"))?
        .query_row(named_params! { ":query": fts_query, ":tone": tone }, |row| row.get(0))?;
    Ok((ids, total))
}

/// Posts a search may show whose attachments' words (an image's labels, a recording's
/// transcript) match an FTS5 query (and tone, if given),
/// best match first, and how many match.
pub fn media_word_search(
    connection: &Connection,
    fts_query: &str,
    limit: i64,
    tone: Option<&str>,
) -> Result<(Vec<i64>, i64)> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT m.post_id FROM media_labels_fts f
         JOIN media m ON m.id = f.rowid
         JOIN posts p ON p.id = m.post_id
         LEFT JOIN post_state s ON s.post_id = p.id
         WHERE media_labels_fts MATCH :query AND {SEARCHABLE}
         ORDER BY bm25(media_labels_fts), p.created_at DESC"
    ))?;
    let mut ids: Vec<i64> = Vec::new();
    // A post with several matching images comes once, at its best image's place.
    for id in statement.query_map(named_params! { ":query": fts_query, ":tone": tone }, |row| row.get(0))? {
        let id = id?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let total = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    Ok((ids.into_iter().take(usize::try_from(limit).unwrap_or(0)).collect(), total))
}

/// The stored `model_id` embedding of every post a search may show (as `SEARCHABLE`), to
/// compare a query with.
pub fn searchable_vectors(connection: &Connection, model_id: &str, tone: Option<&str>) -> Result<Vec<(i64, Vec<f32>)>> {
    searchable(
        connection,
        "posts p JOIN enrichments e ON e.post_id = p.id AND e.kind = 'embedding' AND e.model_id = :model",
        model_id,
        tone,
    )
}

/// The stored `model_id` embedding of what each image shows, with its post, for every image a
/// search may show.
pub fn searchable_image_vectors(
    connection: &Connection,
    model_id: &str,
    tone: Option<&str>,
) -> Result<Vec<(i64, Vec<f32>)>> {
    searchable(
        connection,
        "media m JOIN posts p ON p.id = m.post_id
         JOIN enrichments e ON e.media_id = m.id AND e.kind = 'embedding' AND e.model_id = :model",
        model_id,
        tone,
    )
}

/// `(post id, vector)` rows of `SELECT p.id, e.vector FROM {from}` that a search may show.
fn searchable(connection: &Connection, from: &str, model_id: &str, tone: Option<&str>) -> Result<Vec<(i64, Vec<f32>)>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT p.id, e.vector FROM {from}
         LEFT JOIN post_state s ON s.post_id = p.id
         WHERE e.vector IS NOT NULL AND {SEARCHABLE}"
    ))?;
    let mut rows = statement.query(named_params! { ":model": model_id, ":tone": tone })?;
    let mut vectors = Vec::new();
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(1)?;
        vectors.push((row.get(0)?, super::enrichments::vector_from_bytes(&blob)?));
    }
    Ok(vectors)
}

/// Row counts shown on the settings page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    pub posts: i64,
    pub authors: i64,
    pub sources: i64,
    pub media: i64,
    pub interactions: i64,
}

pub fn table_counts(connection: &Connection) -> Result<TableCounts> {
    Ok(connection.query_row(
        "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM authors), (SELECT count(*) FROM sources),
                (SELECT count(*) FROM media), (SELECT count(*) FROM interactions)",
        [],
        |row| {
            Ok(TableCounts {
                posts: row.get(0)?,
                authors: row.get(1)?,
                sources: row.get(2)?,
                media: row.get(3)?,
                interactions: row.get(4)?,
            })
        },
    )?)
}
