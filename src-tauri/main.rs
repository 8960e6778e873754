//! Entry point of the Hearth desktop app (the `hearth-desktop` binary).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc keeps the models' large per-batch buffers for reuse (see the `hearth` binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hearth_desktop::run()
}
