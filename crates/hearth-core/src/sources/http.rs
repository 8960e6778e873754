//! Hearth's HTTP client for sources: conditional GETs (ETag, Last-Modified), a timeout, a cap
//! on response size, redirects followed by hand (at most a few, loops refused, permanent ones
//! reported so the stored address can follow), at most two requests at a time per host, and
//! every failure in plain words with the server's `Retry-After`, if it sent one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use url::Url;

/// Requests in flight to one host, at most.
const PER_HOST: usize = 2;
/// Redirects followed for one request, at most.
const MAX_REDIRECTS: usize = 5;

/// How long and how large a request may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For the whole request, and again for each part of the body as it arrives.
    pub timeout: Duration,
    pub max_bytes: u64,
}

/// Overrides how long a feed request may take, in seconds (slow links; tests).
pub const FEED_TIMEOUT_ENV: &str = "HEARTH_FEED_TIMEOUT_SECS";

impl Limits {
    /// For feed documents: 30 s (or `$HEARTH_FEED_TIMEOUT_SECS`), 10 MB.
    pub fn feed() -> Self {
        let seconds = std::env::var(FEED_TIMEOUT_ENV).ok().and_then(|value| value.parse::<u64>().ok()).unwrap_or(30);
        let timeout = Duration::from_secs(seconds.clamp(1, 600));
        Self { timeout, max_bytes: 10_000_000 }
    }
}

/// What the last successful fetch said, sent back so an unchanged feed costs a `304`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A successful answer.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per request, moved once: boxing buys nothing
pub enum Response {
    /// `304 Not Modified`: nothing new since the validators.
    NotModified {
        /// The new address, when every redirect on the way was permanent (301, 308).
        moved_permanently: Option<Url>,
    },
    Body {
        bytes: Vec<u8>,
        content_type: Option<String>,
        validators: Validators,
        /// Where it came from, after redirects.
        final_url: Url,
        /// The new address, when every redirect on the way was permanent (301, 308).
        moved_permanently: Option<Url>,
    },
}

/// Why a request failed, in words for the user, and when the server asked to be tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub retry_after: Option<Duration>,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), retry_after: None, status: None }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// The client: cheap to clone, shared by every sync.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Fetcher").finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new() -> crate::error::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Hearth/",
                env!("CARGO_PKG_VERSION"),
                " (feed reader; +https://github.com/hearth-app/hearth)"
            ))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            // No system proxy lookups, no cookies: a request goes where the user pointed it.
            .no_proxy()
            .build()
            .map_err(|error| crate::error::Error::Internal(format!("cannot start the HTTP client: {error}")))?;
        Ok(Self { client, hosts: Arc::default() })
    }

    fn host_gate(&self, url: &Url) -> Arc<Semaphore> {
        let key = format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0));
        let mut hosts = self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(PER_HOST))))
    }

    /// GETs `url`, sending `validators` (if any) and following redirects.
    pub async fn get(
        &self,
        url: &Url,
        validators: &Validators,
        accept: &str,
        limits: Limits,
    ) -> Result<Response, Failure> {
        let mut current = url.clone();
        let mut visited = vec![url.clone()];
        let mut all_permanent = true;
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(Failure::new(format!("{current} is not an http or https address")));
            }
            let gate = self.host_gate(&current);
            let _permit = gate.acquire_owned().await.map_err(|_| Failure::new("the app is closing"))?;
            let mut request = self
                .client
                .get(current.clone())
                .timeout(limits.timeout)
                .header(header::ACCEPT, HeaderValue::from_str(accept).unwrap_or(HeaderValue::from_static("*/*")));
            if let Some(etag) = validators.etag.as_deref().and_then(|etag| HeaderValue::from_str(etag).ok()) {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = validators.last_modified.as_deref().and_then(|date| HeaderValue::from_str(date).ok()) {
                request = request.header(header::IF_MODIFIED_SINCE, date);
            }
            let response = tokio::time::timeout(limits.timeout, request.send())
                .await
                .map_err(|_| timed_out(&current, limits))?
                .map_err(|error| network_failure(&current, &error, limits))?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|location| current.join(location).ok())
                    .ok_or_else(|| Failure::new(format!("{current} redirects without saying where to")))?;
                if visited.contains(&location) {
                    return Err(Failure::new(format!("{url} redirects in a loop")));
                }
                all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                visited.push(location.clone());
                current = location;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Response::NotModified {
                    moved_permanently: (current != *url && all_permanent).then(|| current.clone()),
                });
            }
            if !status.is_success() {
                return Err(Failure {
                    message: format!("the server answered {}", status_words(status)),
                    retry_after: retry_after(response.headers()),
                    status: Some(status.as_u16()),
                });
            }
            let headers = response.headers().clone();
            let bytes = read_capped(response, &current, limits).await?;
            let text_header =
                |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok()).map(str::to_owned);
            return Ok(Response::Body {
                bytes,
                content_type: text_header(header::CONTENT_TYPE),
                validators: Validators {
                    etag: text_header(header::ETAG),
                    last_modified: text_header(header::LAST_MODIFIED),
                },
                moved_permanently: (current != *url && all_permanent).then(|| current.clone()),
                final_url: current,
            });
        }
        Err(Failure::new(format!("{url} redirects more than {MAX_REDIRECTS} times")))
    }
}

/// A server's base address from what the user typed (`example.social`, `https://example.social/`):
/// http or https, a host, nothing but a server address; `https://` when no scheme is given.
/// `what` names it in the error when the text is empty ("your Mastodon server's address").
pub fn server_base(text: &str, what: &str) -> crate::error::Result<Url> {
    use crate::error::Error;
    let text = text.trim().trim_end_matches('/');
    if text.is_empty() {
        return Err(Error::invalid(format!("type {what}")));
    }
    let with_scheme = if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
    let url = Url::parse(&with_scheme).map_err(|_| Error::invalid(format!("{text} is not a server address")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid(format!("{text} is not an http or https server address")));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!("{text} has more than a server address in it")));
    }
    let mut base = url;
    base.set_path("/");
    Ok(base)
}

/// What a network's API sends back: an answer to one request.
#[derive(Debug, Clone)]
pub struct ApiReply {
    pub status: u16,
    pub bytes: Vec<u8>,
    /// The `Link` header (Mastodon's paging).
    pub link: Option<String>,
}

impl ApiReply {
    /// The body as JSON of type `T`, or a plain failure naming what was expected.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, Failure> {
        serde_json::from_slice(&self.bytes)
            .map_err(|error| Failure::new(format!("the server sent {what} Hearth could not read ({error})")))
    }
}

/// The body of an API request.
#[derive(Debug)]
pub enum ApiBody {
    Empty,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    /// Raw bytes with their type (an upload).
    Bytes {
        bytes: Vec<u8>,
        mime: String,
    },
    /// A file and its fields, as `multipart/form-data` (a Mastodon media upload).
    Multipart {
        fields: Vec<(String, String)>,
        file_field: String,
        file_name: String,
        bytes: Vec<u8>,
        mime: String,
    },
}

/// The size an API answer may be, at most: timelines are small, but a thread can be long.
const API_MAX_BYTES: u64 = 16_000_000;

impl Fetcher {
    /// One request to a network's API (no redirects followed, no cache): `bearer` is the
    /// access token, if signed in; `headers` any others (an `Idempotency-Key`). A status other
    /// than 2xx is a `Failure` with the server's own `error`/`message` text when it sent one.
    pub async fn api(
        &self,
        method: reqwest::Method,
        url: &Url,
        bearer: Option<&str>,
        body: ApiBody,
        headers: &[(&str, &str)],
    ) -> Result<ApiReply, Failure> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Failure::new(format!("{url} is not an http or https address")));
        }
        let limits = Limits::feed();
        let gate = self.host_gate(url);
        let _permit = gate.acquire_owned().await.map_err(|_| Failure::new("the app is closing"))?;
        let mut request = self
            .client
            .request(method, url.clone())
            .timeout(limits.timeout)
            .header(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            ApiBody::Empty => request,
            ApiBody::Json(value) => request.json(&value),
            ApiBody::Form(fields) => request.form(&fields),
            ApiBody::Bytes { bytes, mime } => request.header(header::CONTENT_TYPE, mime).body(bytes),
            ApiBody::Multipart { fields, file_field, file_name, bytes, mime } => {
                let part = reqwest::multipart::Part::bytes(bytes)
                    .file_name(file_name)
                    .mime_str(&mime)
                    .map_err(|_| Failure::new(format!("{mime} is not a media type")))?;
                let mut form = reqwest::multipart::Form::new().part(file_field, part);
                for (name, value) in fields {
                    form = form.text(name, value);
                }
                request.multipart(form)
            }
        };
        let response = tokio::time::timeout(limits.timeout, request.send())
            .await
            .map_err(|_| timed_out(url, limits))?
            .map_err(|error| network_failure(url, &error, limits))?;
        let status = response.status();
        let retry = retry_after(response.headers());
        let link = response.headers().get(header::LINK).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let bytes = read_capped(response, url, Limits { max_bytes: API_MAX_BYTES, ..limits }).await?;
        if !status.is_success() {
            return Err(Failure {
                message: match server_message(&bytes) {
                    Some(said) => format!("the server answered {}: {said}", status_words(status)),
                    None => format!("the server answered {}", status_words(status)),
                },
                retry_after: retry,
                status: Some(status.as_u16()),
            });
        }
        Ok(ApiReply { status: status.as_u16(), bytes, link })
    }

    /// The client itself, for long-lived streams (Mastodon's live updates).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The `error` (Mastodon) or `message` (AT Protocol) an API put in its error body, if short.
fn server_message(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let said = value
        .get("message")
        .and_then(serde_json::Value::as_str)
        .or_else(|| value.get("error_description").and_then(serde_json::Value::as_str))
        .or_else(|| value.get("error").and_then(serde_json::Value::as_str))?;
    let said = said.trim();
    (!said.is_empty() && said.len() < 300).then(|| said.to_owned())
}

/// The body, refused once it passes `limits.max_bytes` (by its `Content-Length` or as it arrives).
async fn read_capped(mut response: reqwest::Response, url: &Url, limits: Limits) -> Result<Vec<u8>, Failure> {
    let too_large = || Failure::new(format!("{url} is larger than {} MB", limits.max_bytes / 1_000_000));
    if response.content_length().is_some_and(|length| length > limits.max_bytes) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    loop {
        let chunk = tokio::time::timeout(limits.timeout, response.chunk())
            .await
            .map_err(|_| timed_out(url, limits))?
            .map_err(|error| {
            if error.is_timeout() {
                timed_out(url, limits)
            } else {
                Failure::new(format!("the connection to {} broke before the whole answer arrived", host_of(url)))
            }
        })?;
        let Some(chunk) = chunk else { break };
        if bytes.len() as u64 + chunk.len() as u64 > limits.max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or("the server").to_owned()
}

fn timed_out(url: &Url, limits: Limits) -> Failure {
    Failure::new(format!("{} did not answer within {} seconds", host_of(url), limits.timeout.as_secs()))
}

fn network_failure(url: &Url, error: &reqwest::Error, limits: Limits) -> Failure {
    if error.is_timeout() {
        return timed_out(url, limits);
    }
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    let lower = cause.to_ascii_lowercase();
    let why = if lower.contains("dns") || lower.contains("resolve") || lower.contains("lookup") {
        "its name could not be looked up (is this machine offline?)".to_owned()
    } else if lower.contains("refused") {
        "the connection was refused".to_owned()
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("its secure connection could not be checked ({cause})")
    } else if cause.is_empty() {
        error.to_string()
    } else {
        cause
    };
    Failure::new(format!("{} could not be reached: {why}", host_of(url)))
}

fn status_words(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} ({})", status.as_u16(), reason.to_ascii_lowercase()),
        None => status.as_u16().to_string(),
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at a week.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds = match value.parse::<u64>() {
        Ok(seconds) => seconds,
        Err(_) => {
            let format = time::format_description::well_known::Rfc2822;
            let when = time::OffsetDateTime::parse(value, &format).ok()?;
            u64::try_from((when - time::OffsetDateTime::now_utc()).whole_seconds()).unwrap_or(0)
        }
    };
    Some(Duration::from_secs(seconds.min(7 * 24 * 3600)))
}
