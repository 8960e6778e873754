//! The desktop shell: a Tauri 2 window over the web UI. It opens one `hearth_core::App`,
//! manages it as Tauri state, and exposes each core operation as a command of a few lines.
//! Media bytes are served through the `hearth://` protocol, never by path.

mod commands;
mod media_protocol;

use std::path::PathBuf;
use std::process::ExitCode;

use hearth_core::models::DeviceChoice;
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

/// `--data-dir DIR` (or `--data-dir=DIR`) from the command line, if given.
fn data_dir_argument() -> Option<PathBuf> {
    let mut arguments = std::env::args_os().skip(1);
    while let Some(argument) = arguments.next() {
        let text = argument.to_string_lossy();
        if text == "--data-dir" {
            return arguments.next().map(PathBuf::from);
        }
        if let Some(value) = text.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(value));
        }
    }
    None
}

/// Opens the app state and runs the window until it is closed.
pub fn run() -> ExitCode {
    let startup = Startup(
        Config::resolve(data_dir_argument().as_deref())
            .and_then(|config| App::open_interactive(config, DeviceChoice::Auto))
            .map_err(|error| {
                eprintln!("Hearth cannot open its data: {error}");
                ErrorBody::from(error)
            }),
    );
    let protocol_app = startup.app().ok();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
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
