//! Tauri commands: each parses its arguments, calls `App` off the main thread, and returns
//! the value or a `{code, message}` error.

use hearth_core::{
    App, DemoImport, ErrorBody, ErrorCode, FeedPage, FeedQuery, InteractionInput, Mutes, NewPost, Post, SearchResult,
    Status,
};
use tauri::State;

use crate::Startup;

type CommandResult<T> = Result<T, ErrorBody>;

/// Runs core work on the blocking pool so the window never waits on SQLite or a model.
async fn blocking<T: Send + 'static>(
    startup: &Startup,
    work: impl FnOnce(App) -> hearth_core::Result<T> + Send + 'static,
) -> CommandResult<T> {
    let app = startup.app()?;
    tauri::async_runtime::spawn_blocking(move || work(app))
        .await
        .map_err(|error| ErrorBody::new(ErrorCode::Internal, format!("the request failed: {error}")))?
        .map_err(ErrorBody::from)
}

#[tauri::command]
pub async fn feed(app: State<'_, Startup>, query: FeedQuery) -> CommandResult<FeedPage> {
    blocking(&app, move |app| app.feed(&query)).await
}

#[tauri::command]
pub async fn get_post(app: State<'_, Startup>, id: i64) -> CommandResult<Post> {
    blocking(&app, move |app| app.get_post(id)).await
}

#[tauri::command]
pub async fn record_interaction(app: State<'_, Startup>, input: InteractionInput) -> CommandResult<Option<Post>> {
    blocking(&app, move |app| app.record_interaction(&input)).await
}

#[tauri::command]
pub async fn create_post(app: State<'_, Startup>, post: NewPost) -> CommandResult<Post> {
    blocking(&app, move |app| app.create_post(&post)).await
}

#[tauri::command]
pub async fn search(
    app: State<'_, Startup>,
    query: String,
    limit: Option<i64>,
    tone: Option<String>,
) -> CommandResult<SearchResult> {
    blocking(&app, move |app| app.search(&query, limit, tone.as_deref())).await
}

#[tauri::command]
pub async fn mutes(app: State<'_, Startup>) -> CommandResult<Mutes> {
    blocking(&app, |app| app.mutes()).await
}

#[tauri::command]
pub async fn status(app: State<'_, Startup>) -> CommandResult<Status> {
    blocking(&app, |app| app.status()).await
}

#[tauri::command]
pub async fn cancel_transcription(app: State<'_, Startup>, media_id: i64) -> CommandResult<hearth_core::post::Post> {
    blocking(&app, move |app| app.cancel_transcription(media_id)).await
}

#[tauri::command]
pub async fn sources(app: State<'_, Startup>) -> CommandResult<Vec<hearth_core::store::sources::SourceInfo>> {
    blocking(&app, move |app| app.sources()).await
}

#[tauri::command]
pub async fn add_source(
    app: State<'_, Startup>,
    url: String,
) -> CommandResult<hearth_core::store::sources::SourceInfo> {
    blocking(&app, move |app| app.add_source(&url)).await
}

#[tauri::command]
pub async fn update_source(
    app: State<'_, Startup>,
    id: i64,
    change: hearth_core::app::SourceChange,
) -> CommandResult<hearth_core::store::sources::SourceInfo> {
    blocking(&app, move |app| app.update_source(id, &change)).await
}

#[tauri::command]
pub async fn remove_source(
    app: State<'_, Startup>,
    id: i64,
    keep_liked: bool,
) -> CommandResult<hearth_core::store::sources::Removed> {
    blocking(&app, move |app| app.remove_source(id, keep_liked)).await
}

#[tauri::command]
pub async fn sync_now(
    app: State<'_, Startup>,
    source_id: Option<i64>,
) -> CommandResult<hearth_core::sources::sync::SyncStatus> {
    blocking(&app, move |app| app.refresh_sources(source_id)).await
}

#[tauri::command]
pub async fn import_opml(app: State<'_, Startup>, opml: String) -> CommandResult<hearth_core::app::OpmlImport> {
    blocking(&app, move |app| app.import_opml(&opml)).await
}

#[tauri::command]
pub async fn export_opml(app: State<'_, Startup>) -> CommandResult<String> {
    blocking(&app, move |app| app.export_opml()).await
}

#[tauri::command]
pub async fn thread(app: State<'_, Startup>, id: i64) -> CommandResult<Vec<Post>> {
    blocking(&app, move |app| app.thread(id)).await
}

#[tauri::command]
pub async fn accounts(app: State<'_, Startup>) -> CommandResult<Vec<hearth_core::store::accounts::AccountInfo>> {
    blocking(&app, |app| app.accounts()).await
}

/// Starts a Mastodon sign-in and opens the server's approval page in the user's browser
/// (not in Hearth's window: the user signs in where their passwords and sessions are).
#[tauri::command]
pub async fn begin_mastodon_sign_in(
    app: State<'_, Startup>,
    handle: tauri::AppHandle,
    server: String,
) -> CommandResult<hearth_core::sources::accounts::SignIn> {
    let sign_in = blocking(&app, move |app| app.begin_mastodon_sign_in(&server)).await?;
    if std::env::var_os("HEARTH_NO_BROWSER").is_none() {
        use tauri_plugin_opener::OpenerExt;
        handle.opener().open_url(&sign_in.authorize_url, None::<&str>).map_err(|error| {
            ErrorBody::new(ErrorCode::Unavailable, format!("the browser could not be opened: {error}"))
        })?;
    }
    Ok(sign_in)
}

#[tauri::command]
pub async fn sign_in_state(
    app: State<'_, Startup>,
    id: String,
) -> CommandResult<hearth_core::sources::accounts::SignInState> {
    blocking(&app, move |app| app.sign_in_state(&id)).await
}

#[tauri::command]
pub async fn cancel_sign_in(
    app: State<'_, Startup>,
    id: String,
) -> CommandResult<hearth_core::sources::accounts::SignInState> {
    blocking(&app, move |app| app.cancel_sign_in(&id)).await
}

#[tauri::command]
pub async fn add_bluesky_account(
    app: State<'_, Startup>,
    request: hearth_core::app::BlueskySignIn,
) -> CommandResult<hearth_core::store::accounts::AccountInfo> {
    blocking(&app, move |app| app.add_bluesky_account(&request)).await
}

#[tauri::command]
pub async fn remove_account(app: State<'_, Startup>, id: i64) -> CommandResult<serde_json::Value> {
    blocking(&app, move |app| app.remove_account(id).map(|()| serde_json::json!({}))).await
}

#[tauri::command]
pub async fn notifications(
    app: State<'_, Startup>,
    limit: Option<i64>,
) -> CommandResult<Vec<hearth_core::store::accounts::Notification>> {
    blocking(&app, move |app| app.notifications(limit)).await
}

#[tauri::command]
pub async fn mark_notifications_read(
    app: State<'_, Startup>,
    up_to_id: Option<i64>,
) -> CommandResult<serde_json::Value> {
    blocking(&app, move |app| app.mark_notifications_read(up_to_id).map(|()| serde_json::json!({}))).await
}

#[tauri::command]
pub async fn outbox(app: State<'_, Startup>) -> CommandResult<Vec<hearth_core::store::accounts::OutboxItem>> {
    blocking(&app, |app| app.outbox()).await
}

#[tauri::command]
pub async fn retry_outbox(app: State<'_, Startup>, id: i64) -> CommandResult<serde_json::Value> {
    blocking(&app, move |app| app.retry_outbox(id).map(|()| serde_json::json!({}))).await
}

#[tauri::command]
pub async fn discard_outbox(app: State<'_, Startup>, id: i64) -> CommandResult<serde_json::Value> {
    blocking(&app, move |app| app.discard_outbox(id).map(|()| serde_json::json!({}))).await
}

#[tauri::command]
pub async fn set_speech_model(
    app: State<'_, Startup>,
    model: String,
) -> CommandResult<hearth_core::enrich::EnrichmentStatus> {
    blocking(&app, move |app| app.set_speech_model(&model)).await
}

#[tauri::command]
pub async fn retry_transcription(app: State<'_, Startup>, media_id: i64) -> CommandResult<hearth_core::post::Post> {
    blocking(&app, move |app| app.retry_transcription(media_id)).await
}

#[tauri::command]
pub async fn describe_image(
    app: State<'_, Startup>,
    request: hearth_core::DescribeImage,
) -> CommandResult<hearth_core::ImageDescription> {
    blocking(&app, move |app| app.describe_image(&request)).await
}

#[tauri::command]
pub async fn digest(app: State<'_, Startup>) -> CommandResult<hearth_core::digest::Digest> {
    blocking(&app, |app| app.digest()).await
}

#[tauri::command]
pub async fn reset_personalisation(app: State<'_, Startup>, forget_interactions: bool) -> CommandResult<Status> {
    blocking(&app, move |app| {
        app.reset_personalisation(forget_interactions)?;
        app.status()
    })
    .await
}

#[tauri::command]
pub async fn import_demo(app: State<'_, Startup>) -> CommandResult<DemoImport> {
    blocking(&app, |app| app.import_demo()).await
}

#[tauri::command]
pub async fn models(app: State<'_, Startup>) -> CommandResult<Vec<hearth_core::models::ModelStatus>> {
    blocking(&app, |app| app.models()).await
}

#[tauri::command]
pub async fn download_model(
    app: State<'_, Startup>,
    id: String,
) -> CommandResult<Vec<hearth_core::models::ModelStatus>> {
    blocking(&app, move |app| app.start_model_download(&id)).await
}

#[tauri::command]
pub async fn enrichment_status(app: State<'_, Startup>) -> CommandResult<hearth_core::enrich::EnrichmentStatus> {
    blocking(&app, |app| app.enrichment_status()).await
}
