//! The nouns a feed is made of: posts, their authors, sources and media, as the faces see them.

use serde::{Deserialize, Serialize};

/// Where a post came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Local,
    Demo,
    Rss,
    Mastodon,
    Bluesky,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Demo => "demo",
            Self::Rss => "rss",
            Self::Mastodon => "mastodon",
            Self::Bluesky => "bluesky",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "local" => Self::Local,
            "demo" => Self::Demo,
            "rss" => Self::Rss,
            "mastodon" => Self::Mastodon,
            "bluesky" => Self::Bluesky,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRef {
    pub id: i64,
    pub kind: SourceKind,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    pub id: i64,
    pub handle: String,
    pub display_name: String,
    /// `#rrggbb`, derived from the handle, for the initials avatar.
    pub avatar_color: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "image" => Self::Image,
            "audio" => Self::Audio,
            "video" => Self::Video,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Media {
    pub id: i64,
    pub kind: MediaKind,
    pub mime: String,
    pub size_bytes: i64,
    pub alt_text: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    /// What the image model recognised, best first (empty until the image is labelled).
    pub labels: Vec<crate::models::image_classifier::Label>,
    /// A description the machine wrote from `labels`, for images without alt text; shown
    /// marked as machine-generated. `None` when the model was not confident enough.
    pub machine_description: Option<String>,
    /// What is said in an audio attachment, and where its transcription stands (`None` for
    /// images).
    pub transcript: Option<crate::models::speech::MediaTranscript>,
    /// Where a source's media item came from (never loaded by the webview: the backend
    /// fetches it into the cache and serves it like any other file).
    pub remote_url: Option<String>,
    /// Whether its file is on this machine.
    pub cached: bool,
}

/// Engagement counts; `likes` includes the user's own like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub likes: i64,
    pub boosts: i64,
    pub replies: i64,
}

/// What this user has done to the post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PostState {
    pub liked: bool,
    pub hidden: bool,
    pub show_less: bool,
}

/// The tone the on-device model gave a post's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostTone {
    /// `positive`, `neutral` or `negative`.
    pub label: String,
    /// Signed polarity in [-1, 1].
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Post {
    pub id: i64,
    pub source: SourceRef,
    pub author: Author,
    pub text: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub url: Option<String>,
    pub media: Vec<Media>,
    pub counts: Counts,
    pub state: PostState,
    /// In ranked mode: the main reason the post is where it is, in plain words.
    pub reason: Option<String>,
    /// In ranked mode: the strongest reasons (the first is `reason`), for "Why this post?".
    pub reasons: Vec<String>,
    /// Its tone, once the enrichment pipeline has tagged it.
    pub tone: Option<PostTone>,
    /// A feed entry's title.
    pub title: Option<String>,
    /// A feed entry's content: HTML sanitised before it was stored (`sources::sanitise`).
    pub html: Option<String>,
    /// A content warning (Mastodon's spoiler text): the post stays folded until opened.
    pub content_warning: Option<String>,
    /// The server marked its media sensitive: pictures stay blurred until clicked.
    pub sensitive: bool,
    /// Who boosted it into the timeline, when it came as a boost or repost.
    pub boosted_by: Option<Booster>,
    /// Whether the user boosted it.
    pub boosted: bool,
    /// The accounts it arrived through (more than one when the same post came twice).
    pub via: Vec<Via>,
}

/// Who boosted a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booster {
    pub handle: String,
    pub display_name: String,
}

/// An account a post arrived through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    pub account_id: i64,
    pub kind: SourceKind,
    pub name: String,
}

/// A post the user writes in Hearth.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    pub text: String,
    #[serde(default)]
    pub images: Vec<Attachment>,
    #[serde(default)]
    pub audio: Option<Attachment>,
    /// Post it to this account (a source id) as well as keeping it here; `None`: a local note.
    #[serde(default)]
    pub account_id: Option<i64>,
    /// Reply to this post (through the account it came from).
    #[serde(default)]
    pub reply_to: Option<i64>,
}

/// A file attached to a new post, as base64 so it travels through JSON and IPC alike.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub file_name: String,
    pub mime: String,
    pub data_base64: String,
    #[serde(default)]
    pub alt_text: Option<String>,
}

/// A stable, pleasant avatar colour for a handle.
pub fn avatar_color(handle: &str) -> String {
    const PALETTE: [&str; 12] = [
        "#c2410c", "#b45309", "#4d7c0f", "#047857", "#0f766e", "#0369a1", "#1d4ed8", "#6d28d9", "#a21caf", "#be123c",
        "#7c2d12", "#374151",
    ];
    // FNV-1a: tiny, stable across releases (unlike std's hasher).
    let hash = handle
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    let index = usize::try_from(hash % PALETTE.len() as u64).unwrap_or(0);
    PALETTE[index].to_owned()
}

/// Milliseconds since the epoch from an RFC 3339 time (what network APIs send), if it is one.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let moment = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(moment.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Formats milliseconds since the epoch as RFC 3339 UTC (`2026-11-22T14:09:31Z`).
pub fn format_timestamp(unix_ms: i64) -> String {
    let nanos = i128::from(unix_ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|moment| {
            moment.replace_nanosecond(0).ok()?.format(&time::format_description::well_known::Rfc3339).ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(1_795_356_571_123), "2026-11-22T14:09:31Z");
    }

    #[test]
    fn avatar_colours_are_stable_per_handle() {
        assert_eq!(avatar_color("ada@garden.example"), avatar_color("ada@garden.example"));
        assert!(avatar_color("x").starts_with('#'));
    }
}
