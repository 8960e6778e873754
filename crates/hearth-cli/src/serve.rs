//! Browser mode: `hearth serve` serves the built web UI and a JSON API on 127.0.0.1 only.
//!
//! Every `/api` call needs the per-run token (`Authorization: Bearer T`, or `?token=T` for
//! media elements, which cannot send headers). Requests addressed to any host other than
//! this loopback port are refused (no DNS rebinding), bodies are capped, and every failure is
//! `{code, message}`. Each handler is a few lines: parse, call `App`, map the error.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path as UrlPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{sse, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hearth_core::{App, ErrorBody, ErrorCode, FeedQuery, InteractionInput, NewPost};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest request body accepted (a post with four large images, as base64).
pub const MAX_BODY_BYTES: usize = 40 * 1024 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// What the server needs besides the `App`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub token: String,
    /// The port the server listens on, for the Host check.
    pub port: u16,
    /// The built web UI (`ui/dist`).
    pub ui_dir: PathBuf,
}

#[derive(Clone)]
struct ServerState {
    app: App,
    options: Arc<ServeOptions>,
}

/// A random token for this run: 32 bytes from the OS, as hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("cannot get random bytes from the OS: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Finds the built web UI: `--ui-dir`, `$HEARTH_UI_DIR`, beside the executable, or the source tree.
pub fn find_ui_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut tried = Vec::new();
    let candidates = explicit
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::var_os("HEARTH_UI_DIR").map(PathBuf::from))
        .chain(std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("ui"))))
        .chain(Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/dist"))));
    for candidate in candidates {
        if candidate.join("index.html").is_file() {
            return Ok(candidate);
        }
        tried.push(candidate.display().to_string());
        if explicit.is_some() {
            break;
        }
    }
    anyhow::bail!(
        "the web UI is not built (no index.html in {}); run `cargo xtask run` or `npm --prefix ui ci && npm --prefix ui run build`",
        tried.join(", ")
    )
}

/// The whole HTTP service: API, media and the UI.
pub fn router(app: App, options: ServeOptions) -> Router {
    let ui = ServeDir::new(&options.ui_dir).fallback(ServeFile::new(options.ui_dir.join("index.html")));
    let state = ServerState { app, options: Arc::new(options) };
    let api = Router::new()
        .route("/feed", get(feed))
        .route("/posts", post(create_post))
        .route("/posts/{id}", get(get_post))
        .route("/posts/{id}/thread", get(thread))
        .route("/interactions", post(record_interaction))
        .route("/search", get(search))
        .route("/images/describe", post(describe_image))
        .route("/digest", get(digest))
        .route("/mutes", get(mutes))
        .route("/status", get(status))
        .route("/personalisation/reset", post(reset_personalisation))
        .route("/demo", post(import_demo))
        .route("/enrichment", get(enrichment_status))
        .route("/events", get(events))
        .route("/models", get(models))
        .route("/models/{model_id}/download", post(download_model))
        .route("/speech-model", post(set_speech_model))
        .route("/sources", get(sources).post(add_source))
        .route("/sources/{id}", post(update_source))
        .route("/sources/{id}/remove", post(remove_source))
        .route("/sync", post(sync_now))
        .route("/opml/import", post(import_opml))
        .route("/opml/export", get(export_opml))
        .route("/accounts", get(accounts))
        .route("/accounts/mastodon", post(begin_mastodon_sign_in))
        .route("/accounts/sign-in/{sign_in_id}", get(sign_in_state))
        .route("/accounts/sign-in/{sign_in_id}/cancel", post(cancel_sign_in))
        .route("/accounts/bluesky", post(add_bluesky_account))
        .route("/accounts/{id}/remove", post(remove_account))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(mark_notifications_read))
        .route("/outbox", get(outbox))
        .route("/outbox/{id}/retry", post(retry_outbox))
        .route("/outbox/{id}/discard", post(discard_outbox))
        .route("/media/{id}", get(media))
        .route("/media/{id}/transcription/cancel", post(cancel_transcription))
        .route("/media/{id}/transcription/retry", post(retry_transcription))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such API endpoint") })
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    Router::new()
        .nest("/api", api)
        .fallback_service(ui)
        .layer(middleware::from_fn_with_state(state.clone(), require_loopback_host))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .with_state(state)
}

/// Binds 127.0.0.1:`port` (0 picks a free one) and serves until Ctrl-C.
pub async fn serve(app: App, port: u16, ui_dir: PathBuf, on_ready: impl FnOnce(&str)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {error}"))?;
    let port = listener.local_addr()?.port();
    let token = new_token()?;
    let url = format!("http://127.0.0.1:{port}/?token={token}");
    let service = router(app, ServeOptions { token, port, ui_dir });
    on_ready(&url);
    axum::serve(listener, service).with_graceful_shutdown(shutdown_requested()).await?;
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_requested() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

// ----- guards -----

async fn require_loopback_host(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    let port = state.options.port;
    let host = request.headers().get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let allowed = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    if allowed.iter().any(|allowed| allowed == host) {
        next.run(request).await
    } else {
        ApiError::with_status(
            StatusCode::FORBIDDEN,
            ErrorCode::Unauthorized,
            format!("requests must be addressed to 127.0.0.1:{port}"),
        )
        .into_response()
    }
}

async fn require_token(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    let expected = state.options.token.as_bytes();
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let query_token = request.uri().path().starts_with("/media/").then(|| query_token(request.uri().query())).flatten();
    let presented = bearer.or(query_token.as_deref());
    if presented.is_some_and(|token| constant_time_eq(token.as_bytes(), expected)) {
        next.run(request).await
    } else {
        ApiError::new(ErrorCode::Unauthorized, "this request needs the token printed by `hearth serve`").into_response()
    }
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_owned)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

// ----- errors and extractors -----

/// `{code, message}` with the HTTP status that fits the code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status: status_of(code), body: ErrorBody::new(code, message) }
    }

    fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody::new(code, message) }
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::DatabaseTooNew | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<hearth_core::Error> for ApiError {
    fn from(error: hearth_core::Error) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// `axum::Json`, but a bad body is a `{code, message}` error.
struct Json<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is over {} MiB", MAX_BODY_BYTES >> 20),
        );
    }
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => "send the body as JSON (Content-Type: application/json)".to_owned(),
        other => format!("the request body is not valid: {}", other.body_text()),
    };
    ApiError::new(ErrorCode::InvalidInput, message)
}

/// `axum::extract::Query`, but a bad query string is a `{code, message}` error.
struct Query<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::new(ErrorCode::InvalidInput, format!("bad query: {}", rejection.body_text()))
            })
    }
}

/// A numeric id from the URL path.
struct Id(i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        let UrlPath(raw) = UrlPath::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "missing id in the path"))?;
        raw.parse().map(Self).map_err(|_| ApiError::new(ErrorCode::InvalidInput, format!("{raw:?} is not a valid id")))
    }
}

/// Runs blocking core work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> hearth_core::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::new(ErrorCode::Internal, format!("the request failed: {error}")))?
        .map_err(ApiError::from)
}

fn json<T: Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

// ----- handlers -----

/// `/api/feed` query string; `has_media` and `mode` as in `FeedQuery`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedParams {
    #[serde(default)]
    mode: Option<hearth_core::FeedMode>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    author_id: Option<i64>,
    #[serde(default)]
    source_id: Option<i64>,
    #[serde(default)]
    has_media: Option<hearth_core::post::MediaKind>,
    #[serde(default)]
    include_hidden: Option<bool>,
    #[serde(default)]
    calm: Option<bool>,
}

async fn feed(State(state): State<ServerState>, Query(params): Query<FeedParams>) -> Result<Response, ApiError> {
    let query = FeedQuery {
        mode: params.mode.unwrap_or_default(),
        cursor: params.cursor,
        limit: params.limit,
        author_id: params.author_id,
        source_id: params.source_id,
        has_media: params.has_media,
        include_hidden: params.include_hidden.unwrap_or(false),
        calm: params.calm.unwrap_or(false),
    };
    Ok(json(&blocking(move || state.app.feed(&query)).await?))
}

async fn get_post(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.get_post(id)).await?))
}

async fn cancel_transcription(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.cancel_transcription(id)).await?))
}

async fn retry_transcription(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.retry_transcription(id)).await?))
}

async fn create_post(State(state): State<ServerState>, Json(new_post): Json<NewPost>) -> Result<Response, ApiError> {
    let post = blocking(move || state.app.create_post(&new_post)).await?;
    Ok((StatusCode::CREATED, axum::Json(post)).into_response())
}

async fn record_interaction(
    State(state): State<ServerState>,
    Json(input): Json<InteractionInput>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.record_interaction(&input)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: String,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    tone: Option<String>,
}

async fn search(State(state): State<ServerState>, Query(params): Query<SearchParams>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.search(&params.q, params.limit, params.tone.as_deref())).await?))
}

async fn describe_image(
    State(state): State<ServerState>,
    Json(request): Json<hearth_core::DescribeImage>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.describe_image(&request)).await?))
}

async fn digest(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.digest()).await?))
}

async fn mutes(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.mutes()).await?))
}

async fn status(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.status()).await?))
}

async fn models(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.models()).await?))
}

async fn download_model(
    State(state): State<ServerState>,
    UrlPath(model_id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let models = blocking(move || state.app.start_model_download(&model_id)).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(models)).into_response())
}

async fn sources(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.sources()).await?))
}

/// `POST /api/sources` body: `{"url": "…"}`, a feed's address or its site's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddSource {
    url: String,
}

async fn add_source(State(state): State<ServerState>, Json(add): Json<AddSource>) -> Result<Response, ApiError> {
    let source = blocking(move || state.app.add_source(&add.url)).await?;
    Ok((StatusCode::CREATED, axum::Json(source)).into_response())
}

async fn update_source(
    State(state): State<ServerState>,
    Id(id): Id,
    Json(change): Json<hearth_core::app::SourceChange>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.update_source(id, &change)).await?))
}

/// `POST /api/sources/{id}/remove` body: `{"keep_liked": bool}` (default true).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveSource {
    #[serde(default = "keep")]
    keep_liked: bool,
}

fn keep() -> bool {
    true
}

async fn remove_source(
    State(state): State<ServerState>,
    Id(id): Id,
    Json(remove): Json<RemoveSource>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.remove_source(id, remove.keep_liked)).await?))
}

/// `POST /api/sync` body: `{"source_id": ID | null}` (null: every source).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncNow {
    #[serde(default)]
    source_id: Option<i64>,
}

async fn sync_now(State(state): State<ServerState>, Json(sync): Json<SyncNow>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.refresh_sources(sync.source_id)).await?))
}

async fn thread(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.thread(id)).await?))
}

async fn accounts(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.accounts()).await?))
}

/// `POST /api/accounts/mastodon` body: `{"server": "mastodon.social"}`. The reply's
/// `authorize_url` is opened in the browser; `GET /api/accounts/sign-in/{id}` says how it went.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MastodonSignIn {
    server: String,
}

async fn begin_mastodon_sign_in(
    State(state): State<ServerState>,
    Json(request): Json<MastodonSignIn>,
) -> Result<Response, ApiError> {
    let sign_in = blocking(move || state.app.begin_mastodon_sign_in(&request.server)).await?;
    Ok((StatusCode::CREATED, axum::Json(sign_in)).into_response())
}

async fn sign_in_state(
    State(state): State<ServerState>,
    UrlPath(sign_in_id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.sign_in_state(&sign_in_id)).await?))
}

/// `POST /api/accounts/bluesky` body: `{"handle", "app_password", "service"?}`.
async fn cancel_sign_in(
    State(state): State<ServerState>,
    UrlPath(sign_in_id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.cancel_sign_in(&sign_in_id)).await?))
}

async fn add_bluesky_account(
    State(state): State<ServerState>,
    Json(request): Json<hearth_core::app::BlueskySignIn>,
) -> Result<Response, ApiError> {
    let account = blocking(move || state.app.add_bluesky_account(&request)).await?;
    Ok((StatusCode::CREATED, axum::Json(account)).into_response())
}

async fn remove_account(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    blocking(move || state.app.remove_account(id)).await?;
    Ok(json(&serde_json::json!({})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationsParams {
    #[serde(default)]
    limit: Option<i64>,
}

async fn notifications(
    State(state): State<ServerState>,
    Query(params): Query<NotificationsParams>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.notifications(params.limit)).await?))
}

/// `POST /api/notifications/read` body: `{"up_to_id": ID}` (the newest seen), or `{}` for all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkRead {
    #[serde(default)]
    up_to_id: Option<i64>,
}

async fn mark_notifications_read(
    State(state): State<ServerState>,
    Json(request): Json<MarkRead>,
) -> Result<Response, ApiError> {
    blocking(move || state.app.mark_notifications_read(request.up_to_id)).await?;
    Ok(json(&serde_json::json!({})))
}

async fn outbox(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.outbox()).await?))
}

async fn retry_outbox(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    blocking(move || state.app.retry_outbox(id)).await?;
    Ok(json(&serde_json::json!({})))
}

async fn discard_outbox(State(state): State<ServerState>, Id(id): Id) -> Result<Response, ApiError> {
    blocking(move || state.app.discard_outbox(id)).await?;
    Ok(json(&serde_json::json!({})))
}

/// `POST /api/opml/import` body: `{"opml": "<opml …>"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportOpml {
    opml: String,
}

async fn import_opml(State(state): State<ServerState>, Json(import): Json<ImportOpml>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.import_opml(&import.opml)).await?))
}

/// The subscriptions as an OPML file, for other feed readers.
async fn export_opml(State(state): State<ServerState>) -> Result<Response, ApiError> {
    let opml = blocking(move || state.app.export_opml()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/x-opml; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"hearth-subscriptions.opml\""),
            ),
        ],
        opml,
    )
        .into_response())
}

/// `{"model": ID}`: the speech model transcription uses from now on.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChooseSpeechModel {
    model: String,
}

async fn set_speech_model(
    State(state): State<ServerState>,
    Json(choice): Json<ChooseSpeechModel>,
) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.set_speech_model(&choice.model)).await?))
}

async fn enrichment_status(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.enrichment_status()).await?))
}

/// How long a progress change waits for more before it is sent, so a fast download sends a few
/// updates a second rather than one per network read.
const PROGRESS_COALESCE: std::time::Duration = std::time::Duration::from_millis(150);

/// Server-sent events: a `progress` event (`App::progress`: models with their downloads, and
/// the enrichment pipeline) at once and then whenever either moves; a comment every 15 s keeps
/// the connection open.
async fn events(State(state): State<ServerState>) -> impl IntoResponse {
    // State: the app, and the change number last sent (None before the first event).
    let stream = futures_util::stream::unfold((state.app, None), |(app, sent): (App, Option<u64>)| async move {
        let seen = match sent {
            None => app.progress_changes(),
            Some(sent) => {
                // Short waits, so a blocking thread outlives a closed connection by 15 s at most.
                loop {
                    let waiter = app.clone();
                    let now = tokio::task::spawn_blocking(move || {
                        waiter.wait_for_progress(sent, std::time::Duration::from_secs(15))
                    })
                    .await
                    .ok()?;
                    if now != sent {
                        break;
                    }
                }
                tokio::time::sleep(PROGRESS_COALESCE).await;
                // What changed while coalescing is in this event too.
                app.progress_changes()
            }
        };
        let reader = app.clone();
        let event = match tokio::task::spawn_blocking(move || reader.progress()).await.ok()? {
            Ok(progress) => sse::Event::default().event("progress").json_data(&progress).ok()?,
            Err(error) => sse::Event::default().event("error").json_data(ErrorBody::from(error)).ok()?,
        };
        Some((Ok::<_, std::convert::Infallible>(event), (app, Some(seen))))
    });
    sse::Sse::new(stream).keep_alive(sse::KeepAlive::new().interval(std::time::Duration::from_secs(15)))
}

/// `POST /api/personalisation/reset` body: `{"forget_interactions": bool}` (default false).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetPersonalisation {
    #[serde(default)]
    forget_interactions: bool,
}

async fn reset_personalisation(
    State(state): State<ServerState>,
    Json(reset): Json<ResetPersonalisation>,
) -> Result<Response, ApiError> {
    let status = blocking(move || {
        state.app.reset_personalisation(reset.forget_interactions)?;
        state.app.status()
    })
    .await?;
    Ok(json(&status))
}

async fn import_demo(State(state): State<ServerState>) -> Result<Response, ApiError> {
    Ok(json(&blocking(move || state.app.import_demo()).await?))
}

async fn media(State(state): State<ServerState>, Id(id): Id, request: Request) -> Result<Response, ApiError> {
    let file = blocking(move || state.app.media_file(id)).await?;
    let mime = HeaderValue::from_str(&file.mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    // ServeFile answers Range requests, so audio can seek.
    let mut response = ServeFile::new(&file.path)
        .oneshot(request)
        .await
        .map_err(|error| ApiError::new(ErrorCode::Internal, format!("cannot read media {id}: {error}")))?
        .into_response();
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("the file of media {id} is missing from the data directory"),
        ));
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, mime);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    Ok(response)
}
