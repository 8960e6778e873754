//! What a social network account brings and sends, in Hearth's terms, whatever the network:
//! posts (with boosts, content warnings and sensitive media), notifications, and the actions
//! the user takes in Hearth that go back to the server. `mastodon.rs` and `bluesky.rs` turn
//! their APIs into these; `store/accounts.rs` writes them.

use serde::{Deserialize, Serialize};

use super::feed::RemoteMedia;
use crate::post::Counts;

/// Someone on a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAuthor {
    /// `alice@example.social` (Mastodon, full address) or `alice.bsky.social`.
    pub handle: String,
    pub display_name: String,
}

/// A post as a network sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotePost {
    /// What this account calls it on its server: what actions name (a Mastodon status id, an
    /// AT URI).
    pub remote_id: String,
    /// The same post's name everywhere (the status `uri`, the AT URI): a post seen through
    /// two accounts is shown once.
    pub canonical: String,
    /// A second reference actions need (a Bluesky record's CID).
    pub remote_ref: Option<String>,
    pub url: Option<String>,
    pub author: RemoteAuthor,
    /// Sanitised HTML (Mastodon), or `None` for plain text.
    pub html: Option<String>,
    pub text: String,
    pub content_warning: Option<String>,
    pub sensitive: bool,
    pub media: Vec<RemoteMedia>,
    pub created_ms: i64,
    /// Everyone else's likes, boosts and replies (the user's own are kept as their state).
    pub counts: Counts,
    pub liked: bool,
    pub boosted: bool,
    /// The user's own like and boost records, where the network names them (Bluesky).
    pub my_like_ref: Option<String>,
    pub my_boost_ref: Option<String>,
    /// Who boosted it into the timeline, when it came as a boost.
    pub boosted_by: Option<RemoteAuthor>,
    pub in_reply_to: Option<String>,
}

/// Something that happened to the user on a network.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteNotification {
    pub remote_id: String,
    /// `mention`, `reply`, `favourite`, `boost`, `follow`, `quote` or `other`.
    pub kind: &'static str,
    pub actor: RemoteAuthor,
    pub post: Option<RemotePost>,
    pub created_ms: i64,
}

/// What one sync of an account brought.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub posts: Vec<RemotePost>,
    pub notifications: Vec<RemoteNotification>,
    /// Where the next sync starts, when this one moved it.
    pub timeline_cursor: Option<String>,
    pub notifications_cursor: Option<String>,
}

/// An action taken in Hearth that the server must hear of, kept in the outbox until it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Favourite,
    Unfavourite,
    Boost,
    Unboost,
    /// A new post (or a reply, with `in_reply_to`): its text and the post's stored media.
    Post {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        in_reply_to: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        in_reply_to_ref: Option<String>,
        /// The root of the thread (Bluesky replies name it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root: Option<(String, String)>,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Favourite => "favourite",
            Self::Unfavourite => "unfavourite",
            Self::Boost => "boost",
            Self::Unboost => "unboost",
            Self::Post { in_reply_to: Some(_), .. } => "reply",
            Self::Post { .. } => "post",
        }
    }
}

/// A picture to send with a new post.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Vec<u8>,
    pub mime: String,
    pub alt_text: Option<String>,
}

/// What the server said to an action: the ids it gave (a new post's, a like record's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    pub remote_id: Option<String>,
    pub canonical: Option<String>,
    pub remote_ref: Option<String>,
    pub url: Option<String>,
    /// The like or boost record made (Bluesky), to undo it later.
    pub record: Option<String>,
}

/// Compares two Mastodon-style ids (decimal strings of any length): longer is newer.
pub fn newer_id(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}
