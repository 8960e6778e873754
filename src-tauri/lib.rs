//! The desktop shell: a Tauri 2 window over the web UI. It opens one `hearth_core::App`,
//! manages it as Tauri state, and exposes each core operation as a command of a few lines.
//! Media bytes are served through the `hearth://` protocol, never by path.

mod commands;
mod downloads;
mod media_protocol;
mod microphone;

use std::path::PathBuf;
use std::process::ExitCode;

use hearth_core::{App, Config, ErrorBody};

/// The app as start-up left it: running, or the reason it could not open (a database from a
/// newer Hearth, an unwritable data directory). The window opens either way, so the UI can
/// show the reason instead of the app vanishing on a double-click.
pub struct Startup(Result<App, ErrorBody>);

impl Startup {
    fn app(&self) -> Result<App, ErrorBody> {
        self.0.clone()
    }
}

/// `--NAME VALUE` (or `--NAME=VALUE`) from the command line, if given.
fn argument(name: &str) -> Option<std::ffi::OsString> {
    let flag = format!("--{name}");
    let prefix = format!("--{name}=");
    let mut arguments = std::env::args_os().skip(1);
    while let Some(argument) = arguments.next() {
        let text = argument.to_string_lossy();
        if text == flag {
            return arguments.next();
        }
        if let Some(value) = text.strip_prefix(&prefix) {
            return Some(value.into());
        }
    }
    None
}

/// `--data-dir DIR`: where Hearth keeps its data.
fn data_dir_argument() -> Option<PathBuf> {
    argument("data-dir").map(PathBuf::from)
}

/// `--device auto|cpu|cuda|metal`: where models run (overrides `config.toml`).
fn device_argument() -> Option<String> {
    argument("device").map(|value| value.to_string_lossy().into_owned())
}

/// How long a progress change waits for more before it is sent (a fast download then sends a
/// few events a second, not one per network read).
const PROGRESS_COALESCE: std::time::Duration = std::time::Duration::from_millis(150);

/// Sends the window a `progress` event (`App::progress`: models, downloads, the enrichment
/// pipeline) whenever one of them moves, from a thread of its own.
fn push_progress(handle: tauri::AppHandle, app: App) {
    use tauri::Emitter;
    let spawned = std::thread::Builder::new().name("hearth-progress".into()).spawn(move || {
        let mut seen = app.progress_changes();
        loop {
            let now = app.wait_for_progress(seen, std::time::Duration::from_secs(3600));
            if now == seen {
                continue;
            }
            std::thread::sleep(PROGRESS_COALESCE);
            // What changed while coalescing is in this event too.
            seen = app.progress_changes();
            let sent = match app.progress() {
                Ok(progress) => handle.emit("progress", progress),
                Err(error) => handle.emit("progress-error", ErrorBody::from(error)),
            };
            if sent.is_err() {
                return; // the window has gone
            }
        }
    });
    if let Err(error) = spawned {
        eprintln!("Hearth cannot start its progress thread ({error}); progress bars will not move");
    }
}

/// Opens the app state and runs the window until it is closed.
pub fn run() -> ExitCode {
    let startup = Startup(
        Config::resolve(data_dir_argument().as_deref())
            .and_then(|config| config.with_device_flag(device_argument().as_deref()))
            .and_then(App::open_interactive)
            .map_err(|error| {
                eprintln!("Hearth cannot open its data: {error}");
                ErrorBody::from(error)
            }),
    );
    let protocol_app = startup.app().ok();
    let progress_app = startup.app().ok();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .setup(move |tauri_app| {
            if let Some(app) = progress_app {
                push_progress(tauri_app.handle().clone(), app);
            }
            // The window is built here, not from the config alone, for its download handler.
            let config = tauri_app.config().app.windows.iter().find(|window| window.label == "main").cloned();
            if let Some(config) = config {
                let window = tauri::WebviewWindowBuilder::from_config(tauri_app, &config)?
                    .on_download(|_webview, event| downloads::allow(event))
                    .build()?;
                microphone::allow(&window);
            }
            Ok(())
        })
        .manage(startup)
        .register_asynchronous_uri_scheme_protocol("hearth", move |_context, request, responder| {
            media_protocol::respond(protocol_app.clone(), request, responder);
        })
        .invoke_handler(tauri::generate_handler![
            commands::feed,
            commands::get_post,
            commands::record_interaction,
            commands::create_post,
            commands::search,
            commands::mutes,
            commands::status,
            commands::reset_personalisation,
            commands::digest,
            commands::describe_image,
            commands::cancel_transcription,
            commands::retry_transcription,
            commands::set_speech_model,
            commands::sources,
            commands::add_source,
            commands::update_source,
            commands::remove_source,
            commands::sync_now,
            commands::import_opml,
            commands::export_opml,
            commands::accounts,
            commands::thread,
            commands::begin_mastodon_sign_in,
            commands::sign_in_state,
            commands::cancel_sign_in,
            commands::add_bluesky_account,
            commands::remove_account,
            commands::notifications,
            commands::mark_notifications_read,
            commands::outbox,
            commands::retry_outbox,
            commands::discard_outbox,
            commands::import_demo,
            commands::enrichment_status,
            commands::models,
            commands::download_model,
        ])
        .run(tauri::generate_context!("tauri.conf.json"));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Hearth stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
