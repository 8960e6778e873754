//! Entry point of the Hearth desktop app (the `hearth-desktop` binary).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    hearth_desktop::run()
}
