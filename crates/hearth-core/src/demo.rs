//! The demo feed shipped inside the binary (`assets/demo/`), imported on first run so the
//! timeline is never empty. Importing is idempotent: each demo post has a stable key.

use std::collections::HashMap;
use std::path::Path;

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::media;
use crate::post::{Counts, MediaKind, SourceKind};
use crate::store::posts::{self, AuthorRow, MediaRow, PostRow};
use crate::store::{now_ms, settings, Store};

static DEMO_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../assets/demo");

pub const DEMO_SOURCE_URL: &str = "demo:";
const IMPORTED_SETTING: &str = "demo_imported_at";

#[derive(Debug, Deserialize)]
pub struct DemoFile {
    pub version: u32,
    pub authors: Vec<DemoAuthor>,
    pub posts: Vec<DemoPost>,
}

#[derive(Debug, Deserialize)]
pub struct DemoAuthor {
    pub handle: String,
    pub display_name: String,
    #[serde(default)]
    pub bio: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DemoPost {
    pub key: String,
    pub author: String,
    pub topic: String,
    pub age_minutes: i64,
    pub text: String,
    #[serde(default)]
    pub likes: i64,
    #[serde(default)]
    pub boosts: i64,
    #[serde(default)]
    pub replies: i64,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub images: Vec<DemoImage>,
    #[serde(default)]
    pub audio: Option<DemoAudio>,
}

#[derive(Debug, Deserialize)]
pub struct DemoImage {
    pub file: String,
    #[serde(default)]
    pub alt: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DemoAudio {
    pub file: String,
    /// The words spoken: ground truth for transcription tests, never shown as a transcript.
    pub transcript: String,
}

/// The demo content built into this binary.
pub fn bundled() -> Result<DemoFile> {
    let file = DEMO_DIR
        .get_file("demo.json")
        .ok_or_else(|| Error::Internal("the demo content is missing from this build".into()))?;
    serde_json::from_slice(file.contents())
        .map_err(|error| Error::Internal(format!("the bundled demo.json is malformed: {error}")))
}

/// The bytes of a file inside the bundled demo folder.
pub fn bundled_file(relative_path: &str) -> Result<&'static [u8]> {
    DEMO_DIR
        .get_file(relative_path)
        .map(include_dir::File::contents)
        .ok_or_else(|| Error::Internal(format!("demo file {relative_path} is missing from this build")))
}

/// Whether the demo has been imported into this database.
pub fn is_imported(store: &Store) -> Result<bool> {
    store.read(|connection| Ok(settings::get(connection, IMPORTED_SETTING)?.is_some()))
}

/// Imports the demo posts that are not there yet; returns how many were added. Post times
/// are relative to the first import, so the demo spans the two weeks before it.
pub fn import(store: &Store, data_dir: &Path) -> Result<usize> {
    let demo = bundled()?;
    // Save files before the transaction; they are content-addressed, so this is idempotent.
    let mut stored_files = HashMap::new();
    for post in &demo.posts {
        let files =
            post.images.iter().map(|image| image.file.as_str()).chain(post.audio.as_ref().map(|a| a.file.as_str()));
        for file in files {
            if !stored_files.contains_key(file) {
                let bytes = bundled_file(file)?;
                let sniffed = media::sniff(bytes)
                    .ok_or_else(|| Error::Internal(format!("demo file {file} is not a recognised image or audio")))?;
                let stored = media::store_file(data_dir, bytes, sniffed.extension)?;
                stored_files.insert(file, (bytes, sniffed, stored));
            }
        }
    }
    let now = now_ms();
    store.write(|connection| {
        let anchor_ms = match settings::get(connection, IMPORTED_SETTING)? {
            Some(value) => value.parse().unwrap_or(now),
            None => now,
        };
        let source_id = posts::ensure_source(connection, SourceKind::Demo, "Hearth demo", DEMO_SOURCE_URL, now)?;
        let mut author_ids = HashMap::new();
        for author in &demo.authors {
            let id = posts::upsert_author(
                connection,
                &AuthorRow {
                    source_id,
                    handle: &author.handle,
                    display_name: &author.display_name,
                    bio: author.bio.as_deref(),
                    is_self: false,
                },
            )?;
            author_ids.insert(author.handle.as_str(), id);
        }
        let mut imported = 0;
        for post in &demo.posts {
            let author_id = *author_ids.get(post.author.as_str()).ok_or_else(|| {
                Error::Internal(format!("demo post {} names unknown author {}", post.key, post.author))
            })?;
            let Some(post_id) = posts::insert_post_if_new(
                connection,
                &PostRow {
                    source_id,
                    author_id,
                    remote_id: &post.key,
                    text: &post.text,
                    url: post.url.as_deref(),
                    created_at_ms: anchor_ms - post.age_minutes.max(0) * 60_000,
                    fetched_at_ms: now,
                    counts: Counts {
                        likes: post.likes.max(0),
                        boosts: post.boosts.max(0),
                        replies: post.replies.max(0),
                    },
                },
            )?
            else {
                continue;
            };
            imported += 1;
            let attachments = post
                .images
                .iter()
                .map(|image| (image.file.as_str(), image.alt.as_deref()))
                .chain(post.audio.as_ref().map(|audio| (audio.file.as_str(), None)));
            for (position, (file, alt_text)) in attachments.enumerate() {
                let (bytes, sniffed, stored) = &stored_files[file];
                let (width, height) = match sniffed.kind {
                    MediaKind::Image => media::image_dimensions(bytes).unzip(),
                    _ => (None, None),
                };
                posts::insert_media(
                    connection,
                    &MediaRow {
                        post_id,
                        position: i64::try_from(position).unwrap_or(0),
                        kind: sniffed.kind,
                        mime: sniffed.mime,
                        path: Some(&stored.relative_path),
                        url: None,
                        size_bytes: stored.size_bytes,
                        sha256: Some(&stored.sha256),
                        alt_text: alt_text.filter(|alt| !alt.trim().is_empty()),
                        width,
                        height,
                        duration_ms: media::wav_duration_ms(bytes),
                    },
                )?;
            }
        }
        settings::set(connection, IMPORTED_SETTING, &anchor_ms.to_string(), now)?;
        Ok(imported)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_bundled_demo_meets_its_promises() {
        let demo = bundled().unwrap();
        let authors: HashSet<&str> = demo.posts.iter().map(|post| post.author.as_str()).collect();
        let topics: HashSet<&str> = demo.posts.iter().map(|post| post.topic.as_str()).collect();
        let with_images = demo.posts.iter().filter(|post| !post.images.is_empty()).count();
        let with_audio = demo.posts.iter().filter(|post| post.audio.is_some()).count();
        let oldest = demo.posts.iter().map(|post| post.age_minutes).max().unwrap_or(0);
        assert!(demo.posts.len() >= 150, "{} posts", demo.posts.len());
        assert!(authors.len() >= 15, "{} authors", authors.len());
        assert!(topics.len() >= 10, "{} topics", topics.len());
        assert!(with_images >= 30, "{with_images} posts with images");
        assert!(with_audio >= 10, "{with_audio} posts with audio");
        assert!(oldest >= 13 * 24 * 60, "oldest post is {oldest} minutes old");
        let keys: HashSet<&str> = demo.posts.iter().map(|post| post.key.as_str()).collect();
        assert_eq!(keys.len(), demo.posts.len(), "demo keys must be unique");
    }

    #[test]
    fn every_demo_file_is_bundled_and_recognised() {
        let demo = bundled().unwrap();
        for post in &demo.posts {
            for image in &post.images {
                let sniffed = media::sniff(bundled_file(&image.file).unwrap()).unwrap();
                assert_eq!(sniffed.kind, MediaKind::Image, "{}", image.file);
            }
            if let Some(audio) = &post.audio {
                let sniffed = media::sniff(bundled_file(&audio.file).unwrap()).unwrap();
                assert_eq!(sniffed.kind, MediaKind::Audio, "{}", audio.file);
                assert!(!audio.transcript.trim().is_empty());
            }
        }
    }
}
