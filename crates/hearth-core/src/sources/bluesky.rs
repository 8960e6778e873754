//! Bluesky (the AT Protocol) through the user's PDS: a session from a handle and an app
//! password (refreshed when the access token expires), the timeline read newest-first down to
//! where the last sync stopped, notifications, likes and reposts as records in the user's
//! repository (undone by deleting them), replies (naming the thread's root) and posts with
//! pictures (`uploadBlob`, then an images embed with alt text).

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::feed::RemoteMedia;
use super::http::{ApiBody, Failure, Fetcher};
use super::remote::{Action, RemoteAuthor, RemoteNotification, RemotePost, Sent, Timeline, Upload};
use super::secrets::Credentials;
use crate::error::{Error, Result};
use crate::post::{Counts, MediaKind};
use crate::store::accounts::{AccountRecord, PostRefs};

/// Where a handle signs in unless the user names their own server.
pub const DEFAULT_SERVICE: &str = "https://bsky.social";
/// Items per page (the API's maximum is 100).
const PAGE: usize = 50;
/// Pages a first sync reads back in time, at most.
const FIRST_SYNC_PAGES: usize = 3;
/// Pages one sync reads, at most.
const PAGES_PER_SYNC: usize = 6;
/// Labels that mean a post's media should be blurred until clicked.
const SENSITIVE_LABELS: &[&str] = &["porn", "sexual", "nudity", "graphic-media", "gore"];

/// A signed-in session.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_jwt: String,
    pub refresh_jwt: String,
    pub handle: String,
    pub did: String,
}

impl Session {
    pub fn credentials(&self) -> Credentials {
        Credentials {
            access_token: self.access_jwt.clone(),
            refresh_token: Some(self.refresh_jwt.clone()),
            client_id: None,
            client_secret: None,
        }
    }
}

/// A handle as typed (`@alice.bsky.social`, `Alice.bsky.social`) or a DID.
pub fn parse_handle(text: &str) -> Result<String> {
    let handle = text.trim().trim_start_matches('@').to_ascii_lowercase();
    let valid_handle = handle.contains('.')
        && handle.len() <= 253
        && handle.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let valid_did = handle.starts_with("did:") && handle.len() < 2048 && !handle.contains(char::is_whitespace);
    if valid_handle || valid_did {
        Ok(handle)
    } else if handle.is_empty() {
        Err(Error::invalid("type your Bluesky handle, such as alice.bsky.social"))
    } else {
        Err(Error::invalid(format!("{} is not a Bluesky handle (one looks like alice.bsky.social)", text.trim())))
    }
}

/// The PDS address from what the user typed.
pub fn service_address(text: &str) -> Result<Url> {
    super::http::server_base(text, "your Bluesky server's address, or leave it empty for bsky.social")
}

fn xrpc(service: &Url, method: &str) -> std::result::Result<Url, Failure> {
    service
        .join(&format!("xrpc/{method}"))
        .map_err(|_| Failure::new(format!("{service} cannot be joined with {method}")))
}

fn server_of(account: &AccountRecord) -> std::result::Result<Url, Failure> {
    Url::parse(&account.server).map_err(|_| Failure::new(format!("{} is not an address", account.server)))
}

pub async fn create_session(
    http: &Fetcher,
    service: &Url,
    handle: &str,
    app_password: &str,
) -> std::result::Result<Session, Failure> {
    let body = ApiBody::Json(json!({ "identifier": handle, "password": app_password }));
    let reply = http.api(Method::POST, &xrpc(service, "com.atproto.server.createSession")?, None, body, &[]).await;
    match reply {
        Ok(reply) => reply.json("a session"),
        // The PDS says 401 for a wrong password, as it should; some say 400.
        Err(failure) if matches!(failure.status, Some(400 | 401)) => Err(Failure { status: Some(401), ..failure }),
        Err(failure) => Err(failure),
    }
}

/// The name someone shows on their profile, if they set one.
pub async fn display_name(http: &Fetcher, service: &Url, credentials: &mut Credentials, actor: &str) -> Option<String> {
    let mut url = xrpc(service, "app.bsky.actor.getProfile").ok()?;
    url.query_pairs_mut().append_pair("actor", actor);
    let reply = call(http, service, credentials, Method::GET, &url, || ApiBody::Empty).await.ok()?;
    let profile: Profile = reply.json("a profile").ok()?;
    profile.display_name.map(|name| super::sanitise::tidy(&name)).filter(|name| !name.is_empty())
}

/// Ends the session on the server (signing out).
pub async fn delete_session(
    http: &Fetcher,
    service: &Url,
    credentials: &Credentials,
) -> std::result::Result<(), Failure> {
    let Some(refresh) = credentials.refresh_token.as_deref() else { return Ok(()) };
    let url = xrpc(service, "com.atproto.server.deleteSession")?;
    http.api(Method::POST, &url, Some(refresh), ApiBody::Empty, &[]).await.map(drop)
}

/// Whether a failure is the server refusing the access token.
fn is_token_problem(failure: &Failure) -> bool {
    matches!(failure.status, Some(400 | 401)) && {
        let message = failure.message.to_ascii_lowercase();
        message.contains("token") || message.contains("authentication") || failure.status == Some(401)
    }
}

/// One XRPC call as the account; an expired access token is refreshed once (the new tokens
/// land in `credentials`), and a refused refresh is a 401 ("sign in again").
async fn call(
    http: &Fetcher,
    service: &Url,
    credentials: &mut Credentials,
    method: Method,
    url: &Url,
    body: impl Fn() -> ApiBody,
) -> std::result::Result<super::http::ApiReply, Failure> {
    match http.api(method.clone(), url, Some(&credentials.access_token), body(), &[]).await {
        Err(failure) if is_token_problem(&failure) => {
            let refresh =
                credentials.refresh_token.clone().ok_or_else(|| Failure { status: Some(401), ..failure.clone() })?;
            let refreshed = http
                .api(
                    Method::POST,
                    &xrpc(service, "com.atproto.server.refreshSession")?,
                    Some(&refresh),
                    ApiBody::Empty,
                    &[],
                )
                .await
                .map_err(|refused| Failure {
                    status: if refused.status.is_some_and(|status| (400..500).contains(&status)) {
                        Some(401)
                    } else {
                        refused.status
                    },
                    ..refused
                })?;
            let session: Session = refreshed.json("a refreshed session")?;
            *credentials = session.credentials();
            http.api(method, url, Some(&credentials.access_token), body(), &[]).await.map_err(|failure| {
                if is_token_problem(&failure) {
                    Failure { status: Some(401), ..failure }
                } else {
                    failure
                }
            })
        }
        other => other,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    handle: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Label {
    val: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Viewer {
    like: Option<String>,
    repost: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostView {
    uri: String,
    cid: String,
    author: Profile,
    record: Value,
    #[serde(default)]
    embed: Option<Value>,
    #[serde(default)]
    reply_count: i64,
    #[serde(default)]
    repost_count: i64,
    #[serde(default)]
    like_count: i64,
    #[serde(default)]
    indexed_at: String,
    #[serde(default)]
    viewer: Option<Viewer>,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reason {
    #[serde(rename = "$type", default)]
    kind: String,
    by: Option<Profile>,
    #[serde(default)]
    indexed_at: String,
}

#[derive(Debug, Clone, Deserialize)]
struct FeedItem {
    post: PostView,
    #[serde(default)]
    reason: Option<Reason>,
}

#[derive(Debug, Deserialize)]
struct TimelineReply {
    feed: Vec<FeedItem>,
    cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationItem {
    uri: String,
    cid: String,
    author: Profile,
    reason: String,
    record: Value,
    indexed_at: String,
}

#[derive(Debug, Deserialize)]
struct NotificationsReply {
    notifications: Vec<NotificationItem>,
    cursor: Option<String>,
}

fn author(profile: &Profile) -> RemoteAuthor {
    let display_name = profile
        .display_name
        .as_deref()
        .map(super::sanitise::tidy)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| profile.handle.clone());
    RemoteAuthor { handle: profile.handle.clone(), display_name }
}

/// The web address of a post (`at://did/app.bsky.feed.post/rkey`).
fn web_url(uri: &str, handle: &str) -> Option<String> {
    let rkey = uri.rsplit('/').next()?;
    uri.contains("/app.bsky.feed.post/").then(|| format!("https://bsky.app/profile/{handle}/post/{rkey}"))
}

/// Pictures of an images embed view (also inside a record-with-media embed).
fn images(embed: Option<&Value>) -> Vec<RemoteMedia> {
    let Some(embed) = embed else { return Vec::new() };
    let images = embed.get("images").or_else(|| embed.get("media").and_then(|media| media.get("images")));
    images
        .and_then(Value::as_array)
        .map(|images| {
            images
                .iter()
                .filter_map(|image| {
                    let url = image.get("fullsize").and_then(Value::as_str)?;
                    let parsed = Url::parse(url).ok()?;
                    matches!(parsed.scheme(), "http" | "https").then(|| RemoteMedia {
                        url: parsed.to_string(),
                        kind: MediaKind::Image,
                        mime: String::new(),
                        size_bytes: None,
                        alt_text: image
                            .get("alt")
                            .and_then(Value::as_str)
                            .map(super::sanitise::tidy)
                            .filter(|alt| !alt.is_empty()),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn record_text(record: &Value) -> String {
    record.get("text").and_then(Value::as_str).map(super::sanitise::tidy).unwrap_or_default()
}

fn to_post(view: &PostView, reposted_by: Option<&Profile>, now_ms: i64) -> RemotePost {
    let viewer = view.viewer.clone().unwrap_or_default();
    let liked = viewer.like.is_some();
    let boosted = viewer.repost.is_some();
    let created = view.record.get("createdAt").and_then(Value::as_str).and_then(crate::post::parse_timestamp);
    RemotePost {
        remote_id: view.uri.clone(),
        canonical: view.uri.clone(),
        remote_ref: Some(view.cid.clone()),
        url: web_url(&view.uri, &view.author.handle),
        author: author(&view.author),
        html: None,
        text: record_text(&view.record),
        content_warning: None,
        sensitive: view.labels.iter().any(|label| SENSITIVE_LABELS.contains(&label.val.as_str())),
        media: images(view.embed.as_ref()),
        created_ms: created.or_else(|| crate::post::parse_timestamp(&view.indexed_at)).unwrap_or(now_ms),
        counts: Counts {
            likes: view.like_count - i64::from(liked),
            boosts: view.repost_count - i64::from(boosted),
            replies: view.reply_count,
        },
        liked,
        boosted,
        my_like_ref: viewer.like,
        my_boost_ref: viewer.repost,
        boosted_by: reposted_by.map(author),
        in_reply_to: view
            .record
            .get("reply")
            .and_then(|reply| reply.get("parent"))
            .and_then(|parent| parent.get("uri"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// How far before the last sync's newest item a sync reads again: the AppView can index items
/// out of order (a like after a reply made just after it), and one indexed late must not be
/// skipped. What was stored already is matched and not stored twice.
const OVERLAP_MS: i64 = 10 * 60 * 1000;

/// Whether an item sorted at `sorted_at` is older than where this sync stops (`stop_ms`).
fn before_stop(sorted_at: &str, stop_ms: Option<i64>) -> bool {
    match (stop_ms, crate::post::parse_timestamp(sorted_at)) {
        (Some(stop), Some(at)) => at < stop,
        _ => false,
    }
}

/// What is new on the account: timeline pages newest first until they pass the last sync's
/// newest item (less an overlap), and the same for notifications.
pub async fn fetch(
    http: &Fetcher,
    account: &AccountRecord,
    credentials: &mut Credentials,
    now_ms: i64,
) -> std::result::Result<Timeline, Failure> {
    let service = server_of(account)?;
    let mut posts = Vec::new();
    let mut newest: Option<String> = None;
    let mut cursor: Option<String> = None;
    let stop_at =
        account.timeline_cursor.as_deref().and_then(crate::post::parse_timestamp).map(|newest| newest - OVERLAP_MS);
    let mut pages = 0;
    'pages: for _ in 0..PAGES_PER_SYNC {
        let mut url = xrpc(&service, "app.bsky.feed.getTimeline")?;
        url.query_pairs_mut().append_pair("limit", &PAGE.to_string());
        if let Some(cursor) = &cursor {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
        let reply: TimelineReply =
            call(http, &service, credentials, Method::GET, &url, || ApiBody::Empty).await?.json("a timeline")?;
        for item in &reply.feed {
            let repost = item.reason.as_ref().filter(|reason| reason.kind.ends_with("reasonRepost"));
            let sorted_at = repost.map_or(item.post.indexed_at.as_str(), |reason| reason.indexed_at.as_str());
            if newest.as_deref().is_none_or(|newest| sorted_at > newest) {
                newest = Some(sorted_at.to_owned());
            }
            if before_stop(sorted_at, stop_at) {
                break 'pages;
            }
            posts.push(to_post(&item.post, repost.and_then(|reason| reason.by.as_ref()), now_ms));
        }
        // A first sync reads a few pages back; later ones read on until they meet what they have.
        pages += 1;
        match reply.cursor {
            Some(next) if (stop_at.is_some() || pages < FIRST_SYNC_PAGES) && reply.feed.len() >= PAGE => {
                cursor = Some(next)
            }
            _ => break,
        }
    }
    let mut notifications = Vec::new();
    let mut newest_notification: Option<String> = None;
    let mut cursor: Option<String> = None;
    let stop_at = account
        .notifications_cursor
        .as_deref()
        .and_then(crate::post::parse_timestamp)
        .map(|newest| newest - OVERLAP_MS);
    'pages: for _ in 0..PAGES_PER_SYNC {
        let mut url = xrpc(&service, "app.bsky.notification.listNotifications")?;
        url.query_pairs_mut().append_pair("limit", &PAGE.to_string());
        if let Some(cursor) = &cursor {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
        let reply: NotificationsReply =
            call(http, &service, credentials, Method::GET, &url, || ApiBody::Empty).await?.json("notifications")?;
        for item in &reply.notifications {
            if newest_notification.as_deref().is_none_or(|newest| item.indexed_at.as_str() > newest) {
                newest_notification = Some(item.indexed_at.clone());
            }
            if before_stop(&item.indexed_at, stop_at) {
                break 'pages;
            }
            let kind = match item.reason.as_str() {
                "like" => "favourite",
                "repost" => "boost",
                "follow" => "follow",
                "mention" => "mention",
                "reply" => "reply",
                "quote" => "quote",
                _ => "other",
            };
            // Mentions and replies are posts themselves; likes and reposts name the user's own.
            let post = matches!(kind, "mention" | "reply" | "quote").then(|| {
                let view = PostView {
                    uri: item.uri.clone(),
                    cid: item.cid.clone(),
                    author: item.author.clone(),
                    record: item.record.clone(),
                    embed: None,
                    reply_count: 0,
                    repost_count: 0,
                    like_count: 0,
                    indexed_at: item.indexed_at.clone(),
                    viewer: None,
                    labels: Vec::new(),
                };
                to_post(&view, None, now_ms)
            });
            notifications.push(RemoteNotification {
                remote_id: item.uri.clone(),
                kind,
                actor: author(&item.author),
                post,
                created_ms: crate::post::parse_timestamp(&item.indexed_at).unwrap_or(now_ms),
            });
        }
        match reply.cursor {
            Some(next) if stop_at.is_some() && reply.notifications.len() >= PAGE => cursor = Some(next),
            _ => break,
        }
    }
    Ok(Timeline {
        posts,
        notifications,
        timeline_cursor: newest
            .filter(|newest| account.timeline_cursor.as_deref().is_none_or(|old| newest.as_str() > old)),
        notifications_cursor: newest_notification
            .filter(|newest| account.notifications_cursor.as_deref().is_none_or(|old| newest.as_str() > old)),
    })
}

#[derive(Debug, Deserialize)]
struct CreatedRecord {
    uri: String,
    cid: String,
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Sends one action; a like or repost returns the record it made.
pub async fn send(
    http: &Fetcher,
    account: &AccountRecord,
    credentials: &mut Credentials,
    action: &Action,
    refs: Option<&PostRefs>,
    uploads: &[Upload],
) -> std::result::Result<Sent, Failure> {
    let service = server_of(account)?;
    let gone = || Failure::new("the post this was about is gone");
    let create = xrpc(&service, "com.atproto.repo.createRecord")?;
    let delete = xrpc(&service, "com.atproto.repo.deleteRecord")?;
    let did = account.remote_account_id.clone();
    match action {
        Action::Favourite | Action::Boost => {
            let refs = refs.ok_or_else(gone)?;
            let cid = refs.remote_ref.clone().ok_or_else(gone)?;
            let collection = if *action == Action::Favourite { "app.bsky.feed.like" } else { "app.bsky.feed.repost" };
            let body = json!({
                "repo": did,
                "collection": collection,
                "record": { "$type": collection, "subject": { "uri": refs.remote_id, "cid": cid }, "createdAt": now_rfc3339() },
            });
            let created: CreatedRecord =
                call(http, &service, credentials, Method::POST, &create, || ApiBody::Json(body.clone()))
                    .await?
                    .json("the new record")?;
            Ok(Sent { record: Some(created.uri), ..Sent::default() })
        }
        Action::Unfavourite | Action::Unboost => {
            let refs = refs.ok_or_else(gone)?;
            let record = if *action == Action::Unfavourite { &refs.my_like_ref } else { &refs.my_boost_ref };
            // Never made on the server (or already undone there): nothing to undo.
            let Some(record) = record else { return Ok(Sent::default()) };
            let collection = if *action == Action::Unfavourite { "app.bsky.feed.like" } else { "app.bsky.feed.repost" };
            let rkey = record.rsplit('/').next().unwrap_or_default().to_owned();
            let body = json!({ "repo": did, "collection": collection, "rkey": rkey });
            call(http, &service, credentials, Method::POST, &delete, || ApiBody::Json(body.clone())).await?;
            Ok(Sent::default())
        }
        Action::Post { text, in_reply_to, in_reply_to_ref, .. } => {
            let mut images = Vec::new();
            for upload in uploads {
                let url = xrpc(&service, "com.atproto.repo.uploadBlob")?;
                let reply = call(http, &service, credentials, Method::POST, &url, || ApiBody::Bytes {
                    bytes: upload.bytes.clone(),
                    mime: upload.mime.clone(),
                })
                .await?;
                let blob: Value = reply.json("an uploaded picture")?;
                images.push(json!({ "image": blob.get("blob").cloned().unwrap_or(Value::Null),
                                    "alt": upload.alt_text.clone().unwrap_or_default() }));
            }
            let mut record = json!({ "$type": "app.bsky.feed.post", "text": text, "createdAt": now_rfc3339() });
            if let (Some(parent_uri), Some(parent_cid)) = (in_reply_to, in_reply_to_ref) {
                let root = thread_root(http, &service, credentials, parent_uri).await?;
                let parent = json!({ "uri": parent_uri, "cid": parent_cid });
                record["reply"] = json!({ "root": root.unwrap_or_else(|| parent.clone()), "parent": parent });
            }
            if !images.is_empty() {
                record["embed"] = json!({ "$type": "app.bsky.embed.images", "images": images });
            }
            let body = json!({ "repo": did, "collection": "app.bsky.feed.post", "record": record });
            let created: CreatedRecord =
                call(http, &service, credentials, Method::POST, &create, || ApiBody::Json(body.clone()))
                    .await?
                    .json("the new post")?;
            Ok(Sent {
                url: web_url(&created.uri, &account.handle),
                remote_id: Some(created.uri.clone()),
                canonical: Some(created.uri),
                remote_ref: Some(created.cid),
                record: None,
            })
        }
    }
}

/// The root a reply to `parent` must name: the parent's own root when it is itself a reply.
async fn thread_root(
    http: &Fetcher,
    service: &Url,
    credentials: &mut Credentials,
    parent: &str,
) -> std::result::Result<Option<Value>, Failure> {
    let mut url = xrpc(service, "app.bsky.feed.getPosts")?;
    url.query_pairs_mut().append_pair("uris", parent);
    let reply: Value = call(http, service, credentials, Method::GET, &url, || ApiBody::Empty).await?.json("a post")?;
    Ok(reply
        .get("posts")
        .and_then(|posts| posts.get(0))
        .and_then(|post| post.get("record"))
        .and_then(|record| record.get("reply"))
        .and_then(|reply| reply.get("root"))
        .cloned())
}

/// A thread: the post's ancestors (oldest first), the post, and its replies (depth first).
pub async fn thread(
    http: &Fetcher,
    account: &AccountRecord,
    credentials: &mut Credentials,
    uri: &str,
    now_ms: i64,
) -> std::result::Result<Vec<RemotePost>, Failure> {
    let service = server_of(account)?;
    let mut url = xrpc(&service, "app.bsky.feed.getPostThread")?;
    url.query_pairs_mut().append_pair("uri", uri).append_pair("depth", "6").append_pair("parentHeight", "20");
    let reply: Value =
        call(http, &service, credentials, Method::GET, &url, || ApiBody::Empty).await?.json("a thread")?;
    let Some(root) = reply.get("thread") else { return Ok(Vec::new()) };
    let mut ancestors = Vec::new();
    let mut parent = root.get("parent");
    while let Some(node) = parent {
        if let Some(post) = node.get("post").and_then(|post| serde_json::from_value::<PostView>(post.clone()).ok()) {
            ancestors.push(to_post(&post, None, now_ms));
        }
        parent = node.get("parent");
    }
    ancestors.reverse();
    fn walk(node: &Value, now_ms: i64, out: &mut Vec<RemotePost>) {
        if let Some(post) = node.get("post").and_then(|post| serde_json::from_value::<PostView>(post.clone()).ok()) {
            out.push(to_post(&post, None, now_ms));
        }
        for reply in node.get("replies").and_then(Value::as_array).into_iter().flatten() {
            walk(reply, now_ms, out);
        }
    }
    walk(root, now_ms, &mut ancestors);
    Ok(ancestors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_read_the_way_people_type_them() {
        assert_eq!(parse_handle("@Alice.bsky.social").unwrap(), "alice.bsky.social");
        assert_eq!(parse_handle("did:plc:abc123").unwrap(), "did:plc:abc123");
        for bad in ["", "alice", "al ice.bsky.social", "-a.bsky.social", "a..b"] {
            assert!(parse_handle(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(service_address("localhost:2583").unwrap().as_str(), "https://localhost:2583/");
        assert!(service_address("ftp://x").is_err());
    }

    #[test]
    fn a_sync_reads_back_past_its_last_newest_item_by_the_overlap() {
        let newest = crate::post::parse_timestamp("2026-11-23T10:00:00.000Z").unwrap();
        let stop = Some(newest - OVERLAP_MS);
        assert!(!before_stop("2026-11-23T09:55:00.000Z", stop), "indexed late, still read");
        assert!(before_stop("2026-11-23T09:49:59.000Z", stop));
        assert!(!before_stop("not a time", stop), "an unreadable time is read, not a reason to stop");
        assert!(!before_stop("2026-11-23T09:00:00.000Z", None), "a first sync has no stop");
    }

    #[test]
    fn a_repost_becomes_the_reposted_post_with_pictures_and_labels() {
        let item: FeedItem = serde_json::from_value(json!({
            "post": {"uri": "at://did:plc:c/app.bsky.feed.post/3k", "cid": "bafy", "indexedAt": "2026-11-23T05:00:00.000Z",
                     "author": {"did": "did:plc:c", "handle": "carol.test", "displayName": ""},
                     "record": {"text": "a <b>cat</b>", "createdAt": "2026-11-23T04:59:00.000Z"},
                     "embed": {"$type": "app.bsky.embed.images#view", "images": [{"fullsize": "http://x/img/1", "thumb": "http://x/t/1", "alt": "cat"}]},
                     "likeCount": 4, "viewer": {"like": "at://did:plc:a/app.bsky.feed.like/1"}, "labels": [{"val": "nudity"}]},
            "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": "did:plc:b", "handle": "bob.test"}, "indexedAt": "2026-11-23T06:00:00.000Z"}
        }))
        .unwrap();
        let post = to_post(&item.post, item.reason.as_ref().and_then(|reason| reason.by.as_ref()), 0);
        assert_eq!(post.author.display_name, "carol.test");
        assert_eq!(post.boosted_by.unwrap().handle, "bob.test");
        assert_eq!(post.text, "a <b>cat</b>", "plain text stays text (it is never read as HTML)");
        assert!(post.html.is_none());
        assert!(post.sensitive && post.liked);
        assert_eq!(post.counts.likes, 3);
        assert_eq!(post.media[0].alt_text.as_deref(), Some("cat"));
        assert_eq!(post.url.as_deref(), Some("https://bsky.app/profile/carol.test/post/3k"));
    }
}
