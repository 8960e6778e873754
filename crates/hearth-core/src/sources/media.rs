//! Remote pictures and recordings, fetched by the backend into the local media cache (the
//! webview never loads a remote address; the CSP forbids it). Images are fetched after each
//! sync; recordings when first played, or after a sync for recent entries. Each file is
//! checked by its content (an image must be JPEG, PNG, WebP or GIF; a recording MP3, WAV,
//! FLAC, Ogg or MP4 audio), capped in size, and stored once by its sha256. A file that cannot
//! be had is marked with the reason and not tried again.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use url::Url;

use super::http::{self, Fetcher, Validators};
use crate::error::{Error, Result};
use crate::post::MediaKind;
use crate::store::Store;

/// The largest remote image kept.
pub const MAX_IMAGE_BYTES: u64 = 10_000_000;
/// The largest remote recording kept (about three hours of podcast at 64 kbit/s).
pub const MAX_AUDIO_BYTES: u64 = 200_000_000;

/// A remote media item waiting for its file.
#[derive(Debug, Clone)]
pub struct Pending {
    pub media_id: i64,
    pub kind: MediaKind,
    pub url: String,
}

/// Up to `limit` remote images of `source_id` (or any source) with no file yet, newest first;
/// and recordings of posts from the last `audio_days` days.
pub fn pending(store: &Store, source_id: Option<i64>, audio_since_ms: i64, limit: i64) -> Result<Vec<Pending>> {
    store.read(|connection| {
        let mut statement = connection.prepare_cached(
            "SELECT m.id, m.kind, m.url FROM media m JOIN posts p ON p.id = m.post_id
             WHERE m.path IS NULL AND m.url IS NOT NULL AND m.fetch_error IS NULL
               AND (?1 IS NULL OR p.source_id = ?1)
               AND (m.kind = 'image' OR (m.kind = 'audio' AND p.created_at >= ?2))
             ORDER BY p.created_at DESC, m.position LIMIT ?3",
        )?;
        let rows = statement.query_map(params![source_id, audio_since_ms, limit], pending_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

/// `(id, kind, url)` as a `Pending` item.
fn pending_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Pending> {
    let kind: String = row.get(1)?;
    Ok(Pending { media_id: row.get(0)?, kind: MediaKind::parse(&kind).unwrap_or(MediaKind::Image), url: row.get(2)? })
}

/// The remote media item `media_id`, if it has no file yet.
pub fn pending_one(store: &Store, media_id: i64) -> Result<Option<Pending>> {
    store.read(|connection| {
        Ok(connection
            .query_row(
                "SELECT id, kind, url FROM media WHERE id = ?1 AND path IS NULL AND url IS NOT NULL",
                [media_id],
                pending_from_row,
            )
            .optional()?)
    })
}

/// Fetches one item into the cache and records it (or why it failed, so it is not tried
/// again). Returns the error too, for a caller waiting on this very file.
pub async fn fetch(store: &Store, data_dir: &Path, http: &Fetcher, item: &Pending) -> Result<()> {
    let outcome = fetch_file(data_dir, http, item).await;
    let now = crate::store::now_ms();
    store.write(|connection| {
        match &outcome {
            Ok(file) => connection.execute(
                "UPDATE media SET path = ?2, sha256 = ?3, size_bytes = ?4, mime = ?5, width = coalesce(?6, width),
                    height = coalesce(?7, height), fetch_error = NULL
                 WHERE id = ?1",
                params![item.media_id, file.path, file.sha256, file.size_bytes, file.mime, file.width, file.height],
            )?,
            Err(error) => connection.execute(
                "UPDATE media SET fetch_error = ?2 WHERE id = ?1",
                params![item.media_id, format!("{error} ({})", crate::post::format_timestamp(now))],
            )?,
        };
        Ok(())
    })?;
    outcome.map(|_| ())
}

struct Fetched {
    path: String,
    sha256: String,
    size_bytes: i64,
    mime: String,
    width: Option<i64>,
    height: Option<i64>,
}

async fn fetch_file(data_dir: &Path, http: &Fetcher, item: &Pending) -> Result<Fetched> {
    let url = Url::parse(&item.url).map_err(|_| Error::invalid(format!("{} is not a valid address", item.url)))?;
    let (max_bytes, timeout, accept) = match item.kind {
        MediaKind::Audio => (MAX_AUDIO_BYTES, Duration::from_secs(600), "audio/*"),
        _ => (MAX_IMAGE_BYTES, Duration::from_secs(60), "image/*"),
    };
    let limits = http::Limits { timeout, max_bytes };
    let bytes = match http.get(&url, &Validators::default(), accept, limits).await {
        Ok(http::Response::Body { bytes, .. }) => bytes,
        Ok(http::Response::NotModified { .. }) => return Err(Error::Unavailable("the server sent no file".into())),
        Err(failure) => return Err(Error::Unavailable(failure.message)),
    };
    let sniffed = crate::media::sniff(&bytes)
        .filter(|sniffed| sniffed.kind == item.kind)
        .ok_or_else(|| Error::invalid(format!("{url} is not a {} Hearth can show", kind_word(item.kind))))?;
    let (width, height) = match item.kind {
        MediaKind::Image => crate::media::image_dimensions(&bytes).map_or((None, None), |(w, h)| (Some(w), Some(h))),
        _ => (None, None),
    };
    let stored = crate::media::store_file(data_dir, &bytes, sniffed.extension)?;
    Ok(Fetched {
        path: stored.relative_path,
        sha256: stored.sha256,
        size_bytes: stored.size_bytes,
        mime: sniffed.mime.to_owned(),
        width,
        height,
    })
}

fn kind_word(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "recording",
        _ => "picture",
    }
}
