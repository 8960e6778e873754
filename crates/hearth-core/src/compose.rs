//! Writing a post: validating text and attachments, saving files, and inserting the post with
//! its media in one transaction; a post for a network account is filed under that account and
//! queued in its outbox in the same transaction, so it is sent exactly when it is kept.

use std::path::Path;

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::media::{self, Sniffed};
use crate::post::{Attachment, Counts, MediaKind, NewPost, SourceKind};
use crate::store::posts::{self, AuthorRow, MediaRow, PostRow};
use crate::store::{now_ms, Store};

pub const MAX_TEXT_CHARS: usize = 5_000;
pub const MAX_IMAGES: usize = 4;
pub const MAX_ALT_TEXT_CHARS: usize = 1_500;
pub const LOCAL_SOURCE_URL: &str = "local:";
pub const SELF_HANDLE: &str = "me@local";

/// A post going to a network account as well.
#[derive(Debug, Clone)]
pub struct ToAccount {
    pub source_id: i64,
    /// The user's handle there, and name.
    pub handle: String,
    pub display_name: String,
    /// The network's limit on a post's length, in characters.
    pub max_chars: usize,
    /// What the outbox sends (a post, or a reply naming its parent).
    pub action: crate::sources::remote::Action,
    pub in_reply_to: Option<String>,
    pub idempotency_key: String,
}

/// A checked attachment, ready to store.
struct ValidAttachment {
    bytes: Vec<u8>,
    sniffed: Sniffed,
    alt_text: Option<String>,
}

/// Validates and stores a post written by the user; returns its id.
pub fn create_post(store: &Store, data_dir: &Path, new_post: &NewPost, to_account: Option<&ToAccount>) -> Result<i64> {
    let text = new_post.text.trim_end().to_owned();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(format!("a post can be at most {MAX_TEXT_CHARS} characters")));
    }
    if let Some(account) = to_account {
        if text.chars().count() > account.max_chars {
            return Err(Error::invalid(format!(
                "a post to @{} can be at most {} characters; this one has {}",
                account.handle,
                account.max_chars,
                text.chars().count()
            )));
        }
        if new_post.audio.is_some() {
            return Err(Error::invalid(format!(
                "recordings cannot be sent to @{} yet; post it in Hearth only",
                account.handle
            )));
        }
    }
    if new_post.images.len() > MAX_IMAGES {
        return Err(Error::invalid(format!("a post can have at most {MAX_IMAGES} images")));
    }
    let images = new_post
        .images
        .iter()
        .map(|attachment| validate_attachment(attachment, MediaKind::Image, media::MAX_IMAGE_BYTES))
        .collect::<Result<Vec<_>>>()?;
    let audio = new_post
        .audio
        .as_ref()
        .map(|attachment| validate_attachment(attachment, MediaKind::Audio, media::MAX_AUDIO_BYTES))
        .transpose()?;
    if text.trim().is_empty() && images.is_empty() && audio.is_none() {
        return Err(Error::invalid("write something or attach an image or audio"));
    }

    // Files first (content-addressed, so a failed transaction leaves only an unreferenced
    // file behind, never a post pointing at nothing).
    let attachments: Vec<ValidAttachment> = images.into_iter().chain(audio).collect();
    let stored = attachments
        .iter()
        .map(|attachment| media::store_file(data_dir, &attachment.bytes, attachment.sniffed.extension))
        .collect::<Result<Vec<_>>>()?;

    let now = now_ms();
    store.write(|connection| {
        let (source_id, author_id) = match to_account {
            Some(account) => {
                let author = AuthorRow {
                    source_id: account.source_id,
                    handle: &account.handle,
                    display_name: &account.display_name,
                    bio: None,
                    is_self: true,
                };
                (account.source_id, posts::upsert_author(connection, &author)?)
            }
            None => {
                let source_id =
                    posts::ensure_source(connection, SourceKind::Local, "On this device", LOCAL_SOURCE_URL, now)?;
                let author =
                    AuthorRow { source_id, handle: SELF_HANDLE, display_name: "You", bio: None, is_self: true };
                (source_id, posts::upsert_author(connection, &author)?)
            }
        };
        let remote_id = format!("local-{now}-{}", random_suffix());
        let post_id = posts::insert_post_if_new(
            connection,
            &PostRow {
                source_id,
                author_id,
                remote_id: &remote_id,
                text: &text,
                url: None,
                created_at_ms: now,
                fetched_at_ms: now,
                counts: Counts::default(),
            },
        )?
        .ok_or_else(|| Error::Conflict("a post with this id already exists; try again".into()))?;
        for (position, (attachment, file)) in attachments.iter().zip(&stored).enumerate() {
            let (width, height) = match attachment.sniffed.kind {
                MediaKind::Image => media::image_dimensions(&attachment.bytes).unzip(),
                _ => (None, None),
            };
            posts::insert_media(
                connection,
                &MediaRow {
                    post_id,
                    position: i64::try_from(position).unwrap_or(0),
                    kind: attachment.sniffed.kind,
                    mime: attachment.sniffed.mime,
                    path: Some(&file.relative_path),
                    url: None,
                    size_bytes: file.size_bytes,
                    sha256: Some(&file.sha256),
                    alt_text: attachment.alt_text.as_deref(),
                    width,
                    height,
                    duration_ms: media::wav_duration_ms(&attachment.bytes),
                },
            )?;
        }
        if let Some(account) = to_account {
            crate::store::accounts::set_in_reply_to(connection, post_id, account.in_reply_to.as_deref())?;
            crate::store::accounts::enqueue(
                connection,
                account.source_id,
                Some(post_id),
                &account.action,
                &account.idempotency_key,
                now,
            )?;
        }
        Ok(post_id)
    })
}

fn validate_attachment(attachment: &Attachment, expected: MediaKind, max_bytes: usize) -> Result<ValidAttachment> {
    let name = if attachment.file_name.trim().is_empty() { "the attachment" } else { attachment.file_name.as_str() };
    // Base64 is 4/3 of the bytes: refuse before decoding anything huge.
    if attachment.data_base64.len() / 4 * 3 > max_bytes + 3 {
        return Err(Error::PayloadTooLarge(format!("{name} is larger than {} MiB", max_bytes / (1024 * 1024))));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(attachment.data_base64.trim())
        .map_err(|_| Error::invalid(format!("{name} is not valid base64 data")))?;
    if bytes.is_empty() {
        return Err(Error::invalid(format!("{name} is empty")));
    }
    if bytes.len() > max_bytes {
        return Err(Error::PayloadTooLarge(format!("{name} is larger than {} MiB", max_bytes / (1024 * 1024))));
    }
    let expected_word = expected.as_str();
    let sniffed = media::sniff(&bytes)
        .filter(|sniffed| sniffed.kind == expected)
        .ok_or_else(|| Error::invalid(format!("{name} is not a supported {expected_word} file")))?;
    let alt_text = attachment.alt_text.as_deref().map(str::trim).filter(|alt| !alt.is_empty()).map(str::to_owned);
    if alt_text.as_ref().is_some_and(|alt| alt.chars().count() > MAX_ALT_TEXT_CHARS) {
        return Err(Error::invalid(format!("alt text can be at most {MAX_ALT_TEXT_CHARS} characters")));
    }
    Ok(ValidAttachment { bytes, sniffed, alt_text })
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    format!("{:016x}", hasher.finish())
}
