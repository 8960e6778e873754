//! Mastodon (and servers that speak its API): registering Hearth as an app, the OAuth
//! authorization-code exchange, who the user is, the home timeline and notifications paged
//! forward from where the last sync stopped (`min_id`, so nothing is missed or fetched twice),
//! the user's actions (favourite, boost, reply, post with pictures and alt text, each with an
//! `Idempotency-Key`), and signing out. Statuses become `RemotePost`s: HTML sanitised, boosts
//! folded into the boosted post, content warnings and sensitive media kept.

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::feed::RemoteMedia;
use super::http::{ApiBody, Failure, Fetcher};
use super::remote::{newer_id, Action, RemoteAuthor, RemoteNotification, RemotePost, Sent, Timeline, Upload};
use super::sanitise;
use crate::post::{Counts, MediaKind};
use crate::store::accounts::{AccountRecord, PostRefs};

/// What Hearth asks to be allowed: read the timeline and notifications, and act for the user.
pub const SCOPES: &str = "read write";
/// Statuses per page: the API's maximum.
const PAGE: usize = 40;
/// Pages a first sync reads back in time, at most.
const FIRST_SYNC_PAGES: usize = 3;
/// Pages one sync reads forward, at most; the rest waits for the next sync (nothing is skipped).
const PAGES_PER_SYNC: usize = 10;

/// Hearth's registration with one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: String,
}

/// Who the user is on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub id: String,
    /// `alice@example.social`.
    pub handle: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize)]
struct AppReply {
    client_id: String,
    client_secret: String,
}

#[derive(Debug, Deserialize)]
struct TokenReply {
    access_token: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Account {
    id: String,
    username: String,
    acct: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Status {
    id: String,
    uri: String,
    url: Option<String>,
    account: Account,
    #[serde(default)]
    content: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    media_attachments: Vec<Attachment>,
    created_at: String,
    #[serde(default)]
    favourites_count: i64,
    #[serde(default)]
    reblogs_count: i64,
    #[serde(default)]
    replies_count: i64,
    #[serde(default)]
    favourited: Option<bool>,
    #[serde(default)]
    reblogged: Option<bool>,
    reblog: Option<Box<Status>>,
    in_reply_to_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NotificationReply {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
    account: Account,
    status: Option<Status>,
}

#[derive(Debug, Deserialize)]
struct MediaReply {
    id: String,
}

/// The server's base address from what the user typed: `example.social`, `https://example.social/`.
pub fn server_address(text: &str) -> crate::error::Result<Url> {
    super::http::server_base(text, "your Mastodon server's address, such as mastodon.social")
}

fn endpoint(server: &Url, path: &str) -> Result<Url, Failure> {
    server.join(path).map_err(|_| Failure::new(format!("{server} cannot be joined with {path}")))
}

fn host(server: &Url) -> String {
    match server.port() {
        Some(port) => format!("{}:{port}", server.host_str().unwrap_or_default()),
        None => server.host_str().unwrap_or_default().to_owned(),
    }
}

/// Registers Hearth with the server (`POST /api/v1/apps`) for this redirect address.
pub async fn register(http: &Fetcher, server: &Url, redirect_uri: &str) -> Result<Registration, Failure> {
    let body = ApiBody::Form(vec![
        ("client_name".into(), "Hearth".into()),
        ("redirect_uris".into(), redirect_uri.into()),
        ("scopes".into(), SCOPES.into()),
        ("website".into(), "https://github.com/hearth-app/hearth".into()),
    ]);
    let reply = http.api(Method::POST, &endpoint(server, "api/v1/apps")?, None, body, &[]).await?;
    let app: AppReply = reply.json("an app registration")?;
    Ok(Registration { client_id: app.client_id, client_secret: app.client_secret })
}

/// Where the user approves Hearth in the browser.
pub fn authorize_url(
    server: &Url,
    registration: &Registration,
    redirect_uri: &str,
    state: &str,
    code_challenge: &str,
) -> Result<Url, Failure> {
    let mut url = endpoint(server, "oauth/authorize")?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &registration.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("state", state)
        .append_pair("code_challenge", code_challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// Trades the code the browser brought back for an access token.
pub async fn exchange_code(
    http: &Fetcher,
    server: &Url,
    registration: &Registration,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<String, Failure> {
    let body = ApiBody::Form(vec![
        ("grant_type".into(), "authorization_code".into()),
        ("code".into(), code.into()),
        ("client_id".into(), registration.client_id.clone()),
        ("client_secret".into(), registration.client_secret.clone()),
        ("redirect_uri".into(), redirect_uri.into()),
        ("code_verifier".into(), code_verifier.into()),
        ("scope".into(), SCOPES.into()),
    ]);
    let reply = http.api(Method::POST, &endpoint(server, "oauth/token")?, None, body, &[]).await?;
    let token: TokenReply = reply.json("a token")?;
    Ok(token.access_token)
}

/// Who the token belongs to.
pub async fn verify_credentials(http: &Fetcher, server: &Url, token: &str) -> Result<Me, Failure> {
    let url = endpoint(server, "api/v1/accounts/verify_credentials")?;
    let account: Account = http.api(Method::GET, &url, Some(token), ApiBody::Empty, &[]).await?.json("an account")?;
    let handle = full_handle(&account, &host(server));
    Ok(Me {
        id: account.id,
        display_name: if account.display_name.trim().is_empty() { account.username } else { account.display_name },
        handle,
    })
}

/// Signs out on the server: the token stops working.
pub async fn revoke(http: &Fetcher, server: &Url, registration: &Registration, token: &str) -> Result<(), Failure> {
    let body = ApiBody::Form(vec![
        ("client_id".into(), registration.client_id.clone()),
        ("client_secret".into(), registration.client_secret.clone()),
        ("token".into(), token.into()),
    ]);
    http.api(Method::POST, &endpoint(server, "oauth/revoke")?, None, body, &[]).await.map(drop)
}

fn full_handle(account: &Account, server_host: &str) -> String {
    if account.acct.contains('@') {
        account.acct.clone()
    } else {
        format!("{}@{server_host}", account.acct)
    }
}

fn author(account: &Account, server_host: &str) -> RemoteAuthor {
    let handle = full_handle(account, server_host);
    let display_name =
        if account.display_name.trim().is_empty() { account.username.clone() } else { account.display_name.clone() };
    RemoteAuthor { handle, display_name: sanitise::tidy(&display_name) }
}

fn to_post(status: &Status, server: &Url, now_ms: i64) -> RemotePost {
    let server_host = host(server);
    let (original, boosted_by) = match &status.reblog {
        Some(original) => (original.as_ref(), Some(author(&status.account, &server_host))),
        None => (status, None),
    };
    let base = original.url.as_deref().and_then(|url| Url::parse(url).ok());
    let html = sanitise::sanitise(&original.content, base.as_ref());
    let text = sanitise::plain_text(&html);
    let media = original
        .media_attachments
        .iter()
        .filter_map(|attachment| {
            let url = attachment.url.as_deref().and_then(|url| Url::parse(url).ok())?;
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            let kind = match attachment.kind.as_str() {
                "image" => MediaKind::Image,
                "audio" => MediaKind::Audio,
                // Video and GIFs are not played in Hearth yet; their link stays in the post.
                _ => return None,
            };
            Some(RemoteMedia {
                url: url.to_string(),
                kind,
                mime: String::new(),
                size_bytes: None,
                alt_text: attachment.description.as_deref().map(sanitise::tidy).filter(|alt| !alt.is_empty()),
            })
        })
        .collect();
    let liked = original.favourited.unwrap_or(false);
    let boosted = original.reblogged.unwrap_or(false);
    let content_warning = sanitise::tidy(&original.spoiler_text);
    RemotePost {
        remote_id: original.id.clone(),
        canonical: original.uri.clone(),
        remote_ref: None,
        url: original.url.clone().filter(|url| url.starts_with("http://") || url.starts_with("https://")),
        author: author(&original.account, &server_host),
        html: Some(html),
        text,
        content_warning: (!content_warning.is_empty()).then_some(content_warning),
        sensitive: original.sensitive,
        media,
        created_ms: crate::post::parse_timestamp(&original.created_at).unwrap_or(now_ms),
        counts: Counts {
            likes: original.favourites_count - i64::from(liked),
            boosts: original.reblogs_count - i64::from(boosted),
            replies: original.replies_count,
        },
        liked,
        boosted,
        my_like_ref: None,
        my_boost_ref: None,
        boosted_by,
        in_reply_to: original.in_reply_to_id.clone(),
    }
}

fn notification_kind(kind: &str) -> &'static str {
    match kind {
        "mention" => "mention",
        "favourite" => "favourite",
        "reblog" => "boost",
        "follow" | "follow_request" => "follow",
        "quote" => "quote",
        _ => "other",
    }
}

/// Pages of a list forward from `cursor` (`min_id`), or (first sync) back from the newest.
/// Returns the items newest first and the new cursor.
async fn page_forward<T: serde::de::DeserializeOwned>(
    http: &Fetcher,
    url: &Url,
    token: &str,
    cursor: Option<&str>,
    id_of: impl Fn(&T) -> &str,
    what: &str,
) -> Result<(Vec<T>, Option<String>), Failure> {
    let mut items: Vec<T> = Vec::new();
    let mut newest = cursor.map(str::to_owned);
    match cursor {
        None => {
            let mut page_url = url.clone();
            page_url.query_pairs_mut().append_pair("limit", &PAGE.to_string());
            for _ in 0..FIRST_SYNC_PAGES {
                let reply = http.api(Method::GET, &page_url, Some(token), ApiBody::Empty, &[]).await?;
                let page: Vec<T> = reply.json(what)?;
                let full = page.len() >= PAGE;
                for item in &page {
                    if newest.as_deref().is_none_or(|newest| newer_id(id_of(item), newest)) {
                        newest = Some(id_of(item).to_owned());
                    }
                }
                items.extend(page);
                match next_link(reply.link.as_deref()) {
                    Some(next) if full => page_url = next,
                    _ => break,
                }
            }
        }
        Some(_) => {
            for _ in 0..PAGES_PER_SYNC {
                let mut page_url = url.clone();
                page_url
                    .query_pairs_mut()
                    .append_pair("limit", &PAGE.to_string())
                    .append_pair("min_id", newest.as_deref().unwrap_or_default());
                let reply = http.api(Method::GET, &page_url, Some(token), ApiBody::Empty, &[]).await?;
                let page: Vec<T> = reply.json(what)?;
                let before = newest.clone();
                for item in &page {
                    if newest.as_deref().is_none_or(|newest| newer_id(id_of(item), newest)) {
                        newest = Some(id_of(item).to_owned());
                    }
                }
                let full = page.len() >= PAGE;
                items.extend(page);
                if !full || newest == before {
                    break;
                }
            }
        }
    }
    items.sort_by(|a, b| (id_of(b).len(), id_of(b)).cmp(&(id_of(a).len(), id_of(a))));
    Ok((items, newest))
}

/// The `rel="next"` address of a `Link` header.
fn next_link(link: Option<&str>) -> Option<Url> {
    link?.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .contains("rel=\"next\"")
            .then(|| Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok())?
    })
}

/// What is new on the account since its cursors.
pub async fn fetch(http: &Fetcher, account: &AccountRecord, token: &str, now_ms: i64) -> Result<Timeline, Failure> {
    let server =
        Url::parse(&account.server).map_err(|_| Failure::new(format!("{} is not an address", account.server)))?;
    let home = endpoint(&server, "api/v1/timelines/home")?;
    let (statuses, timeline_cursor) =
        page_forward::<Status>(http, &home, token, account.timeline_cursor.as_deref(), |s| &s.id, "a timeline").await?;
    let notifications_url = endpoint(&server, "api/v1/notifications")?;
    let (notifications, notifications_cursor) = page_forward::<NotificationReply>(
        http,
        &notifications_url,
        token,
        account.notifications_cursor.as_deref(),
        |n| &n.id,
        "notifications",
    )
    .await?;
    let server_host = host(&server);
    Ok(Timeline {
        posts: statuses.iter().map(|status| to_post(status, &server, now_ms)).collect(),
        notifications: notifications
            .iter()
            .map(|notification| {
                let kind = match (notification.kind.as_str(), &notification.status) {
                    ("mention", Some(status)) if status.in_reply_to_id.is_some() => "reply",
                    (kind, _) => notification_kind(kind),
                };
                RemoteNotification {
                    remote_id: notification.id.clone(),
                    kind,
                    actor: author(&notification.account, &server_host),
                    post: notification.status.as_ref().map(|status| to_post(status, &server, now_ms)),
                    created_ms: crate::post::parse_timestamp(&notification.created_at).unwrap_or(now_ms),
                }
            })
            .collect(),
        timeline_cursor,
        notifications_cursor,
    })
}

#[derive(Debug, Deserialize)]
struct Context {
    ancestors: Vec<Status>,
    descendants: Vec<Status>,
}

/// A status's thread: its ancestors (oldest first), itself, and the replies.
pub async fn thread(
    http: &Fetcher,
    account: &AccountRecord,
    token: &str,
    status_id: &str,
    now_ms: i64,
) -> Result<Vec<RemotePost>, Failure> {
    let server =
        Url::parse(&account.server).map_err(|_| Failure::new(format!("{} is not an address", account.server)))?;
    let status_url = endpoint(&server, &format!("api/v1/statuses/{}", urlencode(status_id)))?;
    let status: Status = http.api(Method::GET, &status_url, Some(token), ApiBody::Empty, &[]).await?.json("a post")?;
    let context_url = endpoint(&server, &format!("api/v1/statuses/{}/context", urlencode(status_id)))?;
    let context: Context =
        http.api(Method::GET, &context_url, Some(token), ApiBody::Empty, &[]).await?.json("a thread")?;
    Ok(context
        .ancestors
        .iter()
        .chain(std::iter::once(&status))
        .chain(context.descendants.iter())
        .map(|status| to_post(status, &server, now_ms))
        .collect())
}

/// Parses one streamed `update` (a status) or `notification` payload.
pub fn streamed(event: &str, data: &str, server: &Url, now_ms: i64) -> Option<Timeline> {
    let server_host = host(server);
    match event {
        "update" => {
            let status: Status = serde_json::from_str(data).ok()?;
            Some(Timeline { posts: vec![to_post(&status, server, now_ms)], ..Timeline::default() })
        }
        "notification" => {
            let notification: NotificationReply = serde_json::from_str(data).ok()?;
            Some(Timeline {
                notifications: vec![RemoteNotification {
                    remote_id: notification.id.clone(),
                    kind: notification_kind(&notification.kind),
                    actor: author(&notification.account, &server_host),
                    post: notification.status.as_ref().map(|status| to_post(status, server, now_ms)),
                    created_ms: crate::post::parse_timestamp(&notification.created_at).unwrap_or(now_ms),
                }],
                ..Timeline::default()
            })
        }
        _ => None,
    }
}

/// Sends one action. `refs` names the post acted on; `uploads` are a new post's pictures.
pub async fn send(
    http: &Fetcher,
    account: &AccountRecord,
    token: &str,
    action: &Action,
    refs: Option<&PostRefs>,
    uploads: &[Upload],
    idempotency_key: &str,
) -> Result<Sent, Failure> {
    let server =
        Url::parse(&account.server).map_err(|_| Failure::new(format!("{} is not an address", account.server)))?;
    let on_status = |verb: &str| -> Result<Url, Failure> {
        let refs = refs.ok_or_else(|| Failure::new("the post this was about is gone"))?;
        endpoint(&server, &format!("api/v1/statuses/{}/{verb}", urlencode(&refs.remote_id)))
    };
    let headers = [("Idempotency-Key", idempotency_key)];
    match action {
        Action::Favourite | Action::Unfavourite | Action::Boost | Action::Unboost => {
            let verb = match action {
                Action::Favourite => "favourite",
                Action::Unfavourite => "unfavourite",
                Action::Boost => "reblog",
                _ => "unreblog",
            };
            http.api(Method::POST, &on_status(verb)?, Some(token), ApiBody::Empty, &headers).await?;
            Ok(Sent::default())
        }
        Action::Post { text, in_reply_to, .. } => {
            let mut media_ids = Vec::with_capacity(uploads.len());
            for (index, upload) in uploads.iter().enumerate() {
                let mut fields = Vec::new();
                if let Some(alt) = upload.alt_text.as_deref().filter(|alt| !alt.trim().is_empty()) {
                    fields.push(("description".to_owned(), alt.to_owned()));
                }
                let body = ApiBody::Multipart {
                    fields,
                    file_field: "file".into(),
                    file_name: format!("picture-{}.{}", index + 1, extension(&upload.mime)),
                    bytes: upload.bytes.clone(),
                    mime: upload.mime.clone(),
                };
                let reply = http.api(Method::POST, &endpoint(&server, "api/v2/media")?, Some(token), body, &[]).await?;
                let media: MediaReply = reply.json("a media upload")?;
                media_ids.push(media.id);
            }
            let mut fields = vec![("status".to_owned(), text.clone())];
            if let Some(reply_to) = in_reply_to {
                fields.push(("in_reply_to_id".into(), reply_to.clone()));
            }
            fields.extend(media_ids.into_iter().map(|id| ("media_ids[]".to_owned(), id)));
            let reply = http
                .api(Method::POST, &endpoint(&server, "api/v1/statuses")?, Some(token), ApiBody::Form(fields), &headers)
                .await?;
            let status: Status = reply.json("the new post")?;
            Ok(Sent {
                remote_id: Some(status.id),
                canonical: Some(status.uri),
                remote_ref: None,
                url: status.url,
                record: None,
            })
        }
    }
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The user stream's address (server-sent events).
pub fn stream_url(server: &Url) -> Result<Url, Failure> {
    endpoint(server, "api/v1/streaming/user")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_read_the_way_people_type_them() {
        assert_eq!(server_address("mastodon.social").unwrap().as_str(), "https://mastodon.social/");
        assert_eq!(server_address(" https://example.social/ ").unwrap().as_str(), "https://example.social/");
        assert_eq!(server_address("http://127.0.0.1:4010").unwrap().as_str(), "http://127.0.0.1:4010/");
        for bad in [
            "",
            "ftp://example.social",
            "https://user:pw@example.social",
            "https://x.social/?q=1",
            "javascript:alert(1)",
        ] {
            assert!(server_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// Answers one request with `reply` and hands back the request's body.
    fn one_reply(reply: &'static str) -> (Url, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let server = Url::parse(&format!("http://127.0.0.1:{}/", listener.local_addr().unwrap().port())).unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // The head, then as many body bytes as it announces.
            let mut request = Vec::new();
            let mut buffer = [0_u8; 4096];
            loop {
                let text = String::from_utf8_lossy(&request).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned))
                        .and_then(|length| length.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
                let read = stream.read(&mut buffer).unwrap();
                request.extend_from_slice(&buffer[..read]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&request).split_once("\r\n\r\n").unwrap().1.to_owned()
        });
        (server, handle)
    }

    #[test]
    fn the_code_exchange_proves_the_pkce_challenge_of_the_approval_page() {
        // mastodon-mock does not check PKCE; Mastodon does, so what Hearth sends is checked here.
        let registration = Registration { client_id: "id".into(), client_secret: "secret".into() };
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = super::super::accounts::code_challenge(verifier);
        let (server, request) = one_reply(r#"{"access_token":"token-1","token_type":"Bearer"}"#);
        let approval = authorize_url(&server, &registration, "http://127.0.0.1:9/callback", "st", &challenge).unwrap();
        let sent_challenge = approval.query_pairs().find(|(name, _)| name == "code_challenge").unwrap().1.into_owned();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let token = runtime
            .block_on(exchange_code(
                &Fetcher::new().unwrap(),
                &server,
                &registration,
                "code-1",
                "http://127.0.0.1:9/callback",
                verifier,
            ))
            .unwrap();
        assert_eq!(token, "token-1");
        let body = request.join().unwrap();
        let fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        assert_eq!(fields["grant_type"], "authorization_code");
        assert_eq!(fields["code"], "code-1");
        assert_eq!(super::super::accounts::code_challenge(&fields["code_verifier"]), sent_challenge);
    }

    #[test]
    fn next_links_are_found() {
        let link =
            r#"<http://h/api/v1/timelines/home?max_id=5&limit=40>; rel="next", <http://h/x?min_id=9>; rel="prev""#;
        assert_eq!(next_link(Some(link)).unwrap().as_str(), "http://h/api/v1/timelines/home?max_id=5&limit=40");
        assert!(next_link(Some(r#"<http://h/x?min_id=9>; rel="prev""#)).is_none());
    }

    #[test]
    fn a_boost_becomes_the_boosted_post_with_its_booster_and_hostile_html_is_cleaned() {
        let json = r#"{"id":"20","uri":"http://s/@bob/20/activity","url":null,"created_at":"2026-11-23T05:22:18.564233+00:00",
          "account":{"id":"2","username":"bob","acct":"bob","display_name":"Bob"},"content":"","reblog":
          {"id":"10","uri":"http://s/@carol/10","url":"http://s/@carol/10","created_at":"2026-11-22T05:00:00+00:00",
           "account":{"id":"3","username":"carol","acct":"carol@elsewhere.example","display_name":""},
           "content":"<p>Hi <script>alert(1)</script><a href=\"javascript:alert(2)\" onclick=\"x()\">there</a></p>",
           "spoiler_text":"spoilers","sensitive":true,"favourites_count":3,"favourited":true,"reblogs_count":1,
           "media_attachments":[{"type":"image","url":"http://s/m/1.png","description":"a cat"},{"type":"video","url":"http://s/v.mp4"}],
           "in_reply_to_id":null}}"#;
        let status: Status = serde_json::from_str(json).unwrap();
        let post = to_post(&status, &Url::parse("http://s:4010/").unwrap(), 0);
        assert_eq!(post.remote_id, "10");
        assert_eq!(post.boosted_by.unwrap().handle, "bob@s:4010");
        assert_eq!(post.author.handle, "carol@elsewhere.example");
        assert_eq!(post.author.display_name, "carol");
        assert!(!post.html.as_deref().unwrap().contains("script"));
        assert!(!post.html.as_deref().unwrap().contains("javascript"));
        assert!(!post.html.as_deref().unwrap().contains("onclick"));
        assert_eq!(post.text, "Hi there");
        assert_eq!(post.content_warning.as_deref(), Some("spoilers"));
        assert!(post.sensitive && post.liked);
        assert_eq!(post.counts.likes, 2, "the user's own favourite is kept as their state, not counted twice");
        assert_eq!(post.media.len(), 1);
        assert_eq!(post.media[0].alt_text.as_deref(), Some("a cat"));
    }
}
