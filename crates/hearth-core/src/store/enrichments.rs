//! Model outputs per post or media item, keyed by model id and version: sentiment, image
//! labels, transcripts, embeddings. Later model issues write here without new plumbing.

use rusqlite::{params, Connection, OptionalExtension};

use super::Migration;
use crate::error::{Error, Result};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        timestamp: 202_611_221_420,
        name: "enrichments",
        sql: r"
CREATE TABLE enrichments (
    id            INTEGER PRIMARY KEY,
    post_id       INTEGER REFERENCES posts (id) ON DELETE CASCADE,
    media_id      INTEGER REFERENCES media (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('sentiment', 'labels', 'transcript', 'embedding', 'alt_text')),
    model_id      TEXT NOT NULL,
    model_version TEXT NOT NULL,
    value_json    TEXT,
    vector        BLOB,
    created_at    INTEGER NOT NULL,
    CHECK ((post_id IS NULL) <> (media_id IS NULL)),
    CHECK (value_json IS NOT NULL OR vector IS NOT NULL)
);
CREATE UNIQUE INDEX enrichments_one_per_model
    ON enrichments (coalesce(post_id, -1), coalesce(media_id, -1), kind, model_id, model_version);
CREATE INDEX enrichments_by_kind ON enrichments (kind, model_id);
",
    },
    Migration {
        timestamp: 202_611_222_100,
        name: "enrichments by post",
        // The unique index is on expressions (`coalesce(post_id, -1)`), which `post_id = ?`
        // cannot use: without this, looking up one post's tone or embedding scanned every row.
        sql: "CREATE INDEX enrichments_by_post ON enrichments (post_id, kind, model_id);",
    },
    Migration {
        timestamp: 202_611_222_300,
        name: "image labels",
        // What each image shows, as words for full-text search (rowid = media id), and the
        // index the image pipeline's "which images are not labelled yet" query needs.
        sql: r"
CREATE INDEX enrichments_by_media ON enrichments (media_id, kind, model_id);
CREATE VIRTUAL TABLE media_labels_fts USING fts5 (labels, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER media_labels_fts_delete AFTER DELETE ON media BEGIN
    DELETE FROM media_labels_fts WHERE rowid = old.id;
END;
",
    },
];

/// What an enrichment is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Post(i64),
    Media(i64),
}

/// One model output.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrichment {
    pub subject: Subject,
    pub kind: String,
    pub model_id: String,
    pub model_version: String,
    pub value_json: Option<String>,
    pub vector: Option<Vec<f32>>,
}

/// Writes (or replaces) the output of one model version for one subject.
pub fn put(connection: &Connection, enrichment: &Enrichment, now_ms: i64) -> Result<()> {
    if enrichment.value_json.is_none() && enrichment.vector.is_none() {
        return Err(Error::invalid("an enrichment needs a value or a vector"));
    }
    let (post_id, media_id) = match enrichment.subject {
        Subject::Post(id) => (Some(id), None),
        Subject::Media(id) => (None, Some(id)),
    };
    let blob = enrichment.vector.as_deref().map(vector_to_bytes);
    connection.execute(
        "INSERT INTO enrichments (post_id, media_id, kind, model_id, model_version, value_json, vector, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (coalesce(post_id, -1), coalesce(media_id, -1), kind, model_id, model_version)
         DO UPDATE SET value_json = excluded.value_json, vector = excluded.vector, created_at = excluded.created_at",
        params![
            post_id,
            media_id,
            enrichment.kind,
            enrichment.model_id,
            enrichment.model_version,
            enrichment.value_json,
            blob,
            now_ms
        ],
    )?;
    Ok(())
}

/// The newest output of `kind` by `model_id` for the subject, if any.
pub fn get(connection: &Connection, subject: Subject, kind: &str, model_id: &str) -> Result<Option<Enrichment>> {
    let (post_id, media_id) = match subject {
        Subject::Post(id) => (Some(id), None),
        Subject::Media(id) => (None, Some(id)),
    };
    let row = connection
        .query_row(
            "SELECT model_version, value_json, vector FROM enrichments
             WHERE post_id IS ?1 AND media_id IS ?2 AND kind = ?3 AND model_id = ?4
             ORDER BY created_at DESC LIMIT 1",
            params![post_id, media_id, kind, model_id],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, Option<Vec<u8>>>(2)?)),
        )
        .optional()?;
    row.map(|(model_version, value_json, blob)| {
        Ok(Enrichment {
            subject,
            kind: kind.to_owned(),
            model_id: model_id.to_owned(),
            model_version,
            value_json,
            vector: blob.as_deref().map(vector_from_bytes).transpose()?,
        })
    })
    .transpose()
}

/// Posts with text that have no `kind` enrichment from this model version yet, newest first.
pub fn posts_missing(
    connection: &Connection,
    kind: &str,
    model_id: &str,
    model_version: &str,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let mut statement = connection.prepare_cached(
        "SELECT p.id, p.text FROM posts p
         WHERE trim(p.text) <> ''
           AND NOT EXISTS (SELECT 1 FROM enrichments e WHERE e.post_id = p.id AND e.kind = ?1
                           AND e.model_id = ?2 AND e.model_version = ?3)
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT ?4",
    )?;
    let rows =
        statement.query_map(params![kind, model_id, model_version, limit], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `(done, total)`: posts with text that have / need a `kind` enrichment from this model version.
pub fn coverage(connection: &Connection, kind: &str, model_id: &str, model_version: &str) -> Result<(i64, i64)> {
    Ok(connection.query_row(
        "SELECT (SELECT count(*) FROM posts p WHERE trim(p.text) <> ''
                 AND EXISTS (SELECT 1 FROM enrichments e WHERE e.post_id = p.id AND e.kind = ?1
                             AND e.model_id = ?2 AND e.model_version = ?3)),
                (SELECT count(*) FROM posts p WHERE trim(p.text) <> '')",
        params![kind, model_id, model_version],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

/// The newest `kind` vector by `model_id` of each of `post_ids` that has one.
pub fn post_vectors(
    connection: &Connection,
    post_ids: &[i64],
    kind: &str,
    model_id: &str,
) -> Result<std::collections::HashMap<i64, Vec<f32>>> {
    let mut vectors = std::collections::HashMap::with_capacity(post_ids.len());
    vectors_by_post(
        connection,
        "SELECT post_id, vector FROM enrichments
         WHERE kind = ? AND model_id = ? AND vector IS NOT NULL AND post_id IN ({ids})
         ORDER BY created_at",
        kind,
        model_id,
        post_ids,
        |post_id, vector| {
            vectors.insert(post_id, vector);
        },
    )?;
    Ok(vectors)
}

/// The newest `kind` vector by `model_id` of every image of each of `post_ids`, per post.
pub fn image_vectors_of_posts(
    connection: &Connection,
    post_ids: &[i64],
    kind: &str,
    model_id: &str,
) -> Result<std::collections::HashMap<i64, Vec<Vec<f32>>>> {
    let mut vectors: std::collections::HashMap<i64, Vec<Vec<f32>>> = std::collections::HashMap::new();
    vectors_by_post(
        connection,
        "SELECT m.post_id, e.vector FROM media m
         JOIN enrichments e ON e.media_id = m.id AND e.kind = ? AND e.model_id = ? AND e.vector IS NOT NULL
         WHERE m.post_id IN ({ids})
         ORDER BY m.position",
        kind,
        model_id,
        post_ids,
        |post_id, vector| vectors.entry(post_id).or_default().push(vector),
    )?;
    Ok(vectors)
}

/// Runs `sql` (its parameters: kind, model id, then the post ids in place of `{ids}`) over
/// `post_ids` in chunks, handing each `(post id, vector)` row to `each`.
fn vectors_by_post(
    connection: &Connection,
    sql: &str,
    kind: &str,
    model_id: &str,
    post_ids: &[i64],
    mut each: impl FnMut(i64, Vec<f32>),
) -> Result<()> {
    // SQLite allows 32,766 parameters; 500 per statement keeps each prepared statement small.
    for chunk in post_ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let mut statement = connection.prepare(&sql.replace("{ids}", &placeholders))?;
        let parameters: Vec<&dyn rusqlite::ToSql> = [&kind as &dyn rusqlite::ToSql, &model_id]
            .into_iter()
            .chain(chunk.iter().map(|id| id as &dyn rusqlite::ToSql))
            .collect();
        let mut rows = statement.query(parameters.as_slice())?;
        while let Some(row) = rows.next()? {
            let blob: Vec<u8> = row.get(1)?;
            each(row.get(0)?, vector_from_bytes(&blob)?);
        }
    }
    Ok(())
}

/// Little-endian f32s, the blob format of `enrichments.vector`.
pub fn vector_to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|value| value.to_le_bytes()).collect()
}

pub fn vector_from_bytes(bytes: &[u8]) -> Result<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(Error::Internal(format!("a stored vector has {} bytes, not a multiple of 4", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])).collect())
}

/// Images stored on disk that have no `labels` enrichment from this model version yet,
/// newest post first: `(media id, path relative to the data directory)`.
pub fn images_missing(
    connection: &Connection,
    model_id: &str,
    model_version: &str,
    limit: i64,
) -> Result<Vec<(i64, String)>> {
    let mut statement = connection.prepare_cached(
        "SELECT m.id, m.path FROM media m JOIN posts p ON p.id = m.post_id
         WHERE m.kind = 'image' AND m.path IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM enrichments e WHERE e.media_id = m.id AND e.kind = 'labels'
                           AND e.model_id = ?1 AND e.model_version = ?2)
         ORDER BY p.created_at DESC, m.id DESC
         LIMIT ?3",
    )?;
    let rows = statement.query_map(params![model_id, model_version, limit], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `(done, total)`: stored images that have / need labels from this model version.
pub fn images_coverage(connection: &Connection, model_id: &str, model_version: &str) -> Result<(i64, i64)> {
    Ok(connection.query_row(
        "SELECT (SELECT count(*) FROM media m WHERE m.kind = 'image' AND m.path IS NOT NULL
                 AND EXISTS (SELECT 1 FROM enrichments e WHERE e.media_id = m.id AND e.kind = 'labels'
                             AND e.model_id = ?1 AND e.model_version = ?2)),
                (SELECT count(*) FROM media m WHERE m.kind = 'image' AND m.path IS NOT NULL)",
        params![model_id, model_version],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

/// Stores what an image shows: the `labels` enrichment (`value_json`) and its words for
/// search (`words`, replacing any earlier ones).
pub fn put_image_labels(connection: &Connection, labels: &Enrichment, words: &str, now_ms: i64) -> Result<()> {
    let Subject::Media(media_id) = labels.subject else {
        return Err(Error::invalid("image labels belong to a media item"));
    };
    put(connection, labels, now_ms)?;
    connection.execute("DELETE FROM media_labels_fts WHERE rowid = ?1", [media_id])?;
    if !words.trim().is_empty() {
        connection.execute("INSERT INTO media_labels_fts (rowid, labels) VALUES (?1, ?2)", params![media_id, words])?;
    }
    Ok(())
}

/// SQL: audio attachment `m` is settled for speech model `?1` at version `?2`: some model
/// finished it (`done`), the user cancelled it, or this model has a state for it (including
/// `transcribing`, and `failed`, which "Try again" clears). So a newly chosen model takes the
/// recordings nothing has transcribed (another model's failures among them), and keeps the
/// transcripts there are; "Try again" transcribes one afresh with the model in use.
const SETTLED_FOR_MODEL: &str = "EXISTS (SELECT 1 FROM enrichments e WHERE e.media_id = m.id AND e.kind = 'transcript'
        AND e.model_version = ?2
        AND (e.model_id = ?1 OR json_extract(e.value_json, '$.status') IN ('done', 'cancelled'))";

/// Up to `limit` stored audio attachments not settled for `model_id` (newest post first):
/// `(media id, post id, stored path)`.
pub fn audio_missing(
    connection: &Connection,
    model_id: &str,
    model_version: &str,
    limit: i64,
) -> Result<Vec<(i64, i64, String)>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT m.id, m.post_id, m.path FROM media m JOIN posts p ON p.id = m.post_id
         WHERE m.kind = 'audio' AND m.path IS NOT NULL AND NOT {SETTLED_FOR_MODEL})
         ORDER BY p.created_at DESC, m.id DESC
         LIMIT ?3"
    ))?;
    let rows = statement
        .query_map(params![model_id, model_version, limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `(done, total)`: stored audio attachments settled for this speech model (transcribed,
/// failed or cancelled; not the one transcribing now) / all of them.
pub fn audio_coverage(connection: &Connection, model_id: &str, model_version: &str) -> Result<(i64, i64)> {
    Ok(connection.query_row(
        &format!(
            "SELECT (SELECT count(*) FROM media m WHERE m.kind = 'audio' AND m.path IS NOT NULL
                     AND {SETTLED_FOR_MODEL} AND json_extract(e.value_json, '$.status') <> 'transcribing')),
                    (SELECT count(*) FROM media m WHERE m.kind = 'audio' AND m.path IS NOT NULL)"
        ),
        params![model_id, model_version],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

/// Stores where an audio attachment's transcript stands (replacing what the same model
/// version stored before); a finished transcript's words become searchable with the media's
/// other words (`media_labels_fts` holds what a media item shows or says).
pub fn put_transcript(
    connection: &Connection,
    media_id: i64,
    model_id: &str,
    model_version: &str,
    transcript: &crate::models::speech::MediaTranscript,
    now_ms: i64,
) -> Result<()> {
    let value = serde_json::to_string(transcript).map_err(|error| Error::Internal(error.to_string()))?;
    let enrichment = Enrichment {
        subject: Subject::Media(media_id),
        kind: "transcript".into(),
        model_id: model_id.into(),
        model_version: model_version.into(),
        value_json: Some(value),
        vector: None,
    };
    put(connection, &enrichment, now_ms)?;
    connection.execute("DELETE FROM media_labels_fts WHERE rowid = ?1", [media_id])?;
    if !transcript.text.trim().is_empty() {
        connection.execute(
            "INSERT INTO media_labels_fts (rowid, labels) VALUES (?1, ?2)",
            params![media_id, transcript.text],
        )?;
    }
    Ok(())
}

/// Whether any speech model has finished transcribing this audio attachment.
pub fn is_transcribed(connection: &Connection, media_id: i64) -> Result<bool> {
    Ok(connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM enrichments WHERE media_id = ?1 AND kind = 'transcript'
           AND json_extract(value_json, '$.status') = 'done')",
        [media_id],
        |row| row.get(0),
    )?)
}

/// Forgets an audio attachment's transcripts and what was made from them (its words, its
/// embedding, and the tone its post took from it), so it is transcribed again.
pub fn clear_transcripts(connection: &Connection, media_id: i64) -> Result<()> {
    let post_id: i64 = connection
        .query_row("SELECT post_id FROM media WHERE id = ?1 AND kind = 'audio'", [media_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("audio attachment", media_id))?;
    connection.execute(
        "DELETE FROM enrichments WHERE media_id = ?1 AND kind IN ('transcript', 'embedding', 'sentiment')",
        [media_id],
    )?;
    connection.execute("DELETE FROM media_labels_fts WHERE rowid = ?1", [media_id])?;
    // A post whose only words were spoken took its tone from the transcript.
    connection.execute(
        "DELETE FROM enrichments WHERE post_id = ?1 AND kind = 'sentiment'
           AND (SELECT trim(text) FROM posts WHERE id = ?1) = ''",
        [post_id],
    )?;
    Ok(())
}

/// Jobs a crash interrupted ("transcribing" with no worker on them) go back to waiting.
pub fn clear_interrupted_transcripts(connection: &Connection) -> Result<usize> {
    Ok(connection.execute(
        "DELETE FROM enrichments WHERE kind = 'transcript' AND json_extract(value_json, '$.status') = 'transcribing'",
        [],
    )?)
}

/// Finished transcripts with words whose media item has no `embedding_model` embedding yet:
/// `(media id, post id, transcript text, whether the post has no text of its own)`.
pub fn transcripts_to_embed(
    connection: &Connection,
    embedding_model: &str,
    limit: i64,
) -> Result<Vec<(i64, i64, String, bool)>> {
    let mut statement = connection.prepare_cached(
        "SELECT m.id, m.post_id, json_extract(t.value_json, '$.text'), trim(p.text) = ''
         FROM enrichments t JOIN media m ON m.id = t.media_id JOIN posts p ON p.id = m.post_id
         WHERE t.kind = 'transcript' AND json_extract(t.value_json, '$.status') = 'done'
           AND trim(coalesce(json_extract(t.value_json, '$.text'), '')) <> ''
           AND NOT EXISTS (SELECT 1 FROM enrichments e WHERE e.media_id = m.id AND e.kind = 'embedding'
                           AND e.model_id = ?1)
         ORDER BY t.created_at
         LIMIT ?2",
    )?;
    let rows = statement
        .query_map(params![embedding_model, limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Post 1, from a local source, by author 1.
    fn insert_one_post(connection: &Connection) -> Result<()> {
        Ok(connection.execute_batch(
            "INSERT INTO sources (id, kind, name, url, created_at) VALUES (1, 'local', 'Local', 'local:', 0);
             INSERT INTO authors (id, source_id, handle, display_name) VALUES (1, 1, 'me', 'Me');
             INSERT INTO posts (id, source_id, author_id, remote_id, text, created_at, fetched_at)
             VALUES (1, 1, 1, 'a', 'hello', 0, 0);",
        )?)
    }

    #[test]
    fn enrichments_round_trip_and_replace_per_model_version() {
        let store = Store::open_in_memory().unwrap();
        store
            .write(|connection| {
                insert_one_post(connection)?;
                let mut enrichment = Enrichment {
                    subject: Subject::Post(1),
                    kind: "embedding".into(),
                    model_id: "all-minilm-l6-v2".into(),
                    model_version: "1".into(),
                    value_json: None,
                    vector: Some(vec![0.25, -1.5, 3.0]),
                };
                put(connection, &enrichment, 1)?;
                enrichment.vector = Some(vec![1.0]);
                put(connection, &enrichment, 2)?;
                let stored = get(connection, Subject::Post(1), "embedding", "all-minilm-l6-v2")?.unwrap();
                assert_eq!(stored, enrichment);
                let rows: i64 = connection.query_row("SELECT count(*) FROM enrichments", [], |row| row.get(0))?;
                assert_eq!(rows, 1);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn an_enrichment_needs_a_subject_that_exists() {
        let store = Store::open_in_memory().unwrap();
        let enrichment = Enrichment {
            subject: Subject::Media(42),
            kind: "labels".into(),
            model_id: "m".into(),
            model_version: "1".into(),
            value_json: Some("[]".into()),
            vector: None,
        };
        assert!(store.write(|connection| put(connection, &enrichment, 0)).is_err());
    }

    #[test]
    fn a_newly_chosen_speech_model_takes_what_no_model_finished_and_keeps_the_rest() {
        use crate::models::speech::{MediaTranscript, TranscriptStatus};
        let store = Store::open_in_memory().unwrap();
        store
            .write(|connection| {
                insert_one_post(connection)?;
                connection.execute_batch(
                    "INSERT INTO media (id, post_id, position, kind, mime, path)
                     VALUES (1, 1, 0, 'audio', 'audio/wav', 'a.wav'), (2, 1, 1, 'audio', 'audio/wav', 'b.wav'),
                            (3, 1, 2, 'audio', 'audio/wav', 'c.wav'), (4, 1, 3, 'audio', 'audio/wav', 'd.wav');",
                )?;
                let (tiny, base) = ("whisper-tiny-en", "whisper-base-en");
                for (media_id, status) in
                    [(1, TranscriptStatus::Done), (2, TranscriptStatus::Failed), (3, TranscriptStatus::Cancelled)]
                {
                    put_transcript(connection, media_id, tiny, "1", &MediaTranscript::with_status(status, tiny), 0)?;
                }
                let ids = |rows: Vec<(i64, i64, String)>| rows.into_iter().map(|row| row.0).collect::<Vec<_>>();
                // tiny.en has settled three; base.en takes tiny's failure and the untouched one.
                assert_eq!(ids(audio_missing(connection, tiny, "1", 10)?), [4]);
                assert_eq!(ids(audio_missing(connection, base, "1", 10)?), [4, 2]);
                assert_eq!(audio_coverage(connection, tiny, "1")?, (3, 4));
                assert_eq!(audio_coverage(connection, base, "1")?, (2, 4));
                // base.en at work on one: not missing, not yet done.
                let working = MediaTranscript::with_status(TranscriptStatus::Transcribing, base);
                put_transcript(connection, 4, base, "1", &working, 1)?;
                assert_eq!(ids(audio_missing(connection, base, "1", 10)?), [2]);
                assert_eq!(audio_coverage(connection, base, "1")?, (2, 4));
                assert!(is_transcribed(connection, 1)? && !is_transcribed(connection, 2)?);
                Ok(())
            })
            .unwrap();
    }
}
