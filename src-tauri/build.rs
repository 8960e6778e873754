//! Build script of the desktop app: lets tauri-build read `tauri.conf.json` and the capabilities.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"))
        .expect("tauri-build failed: check tauri.conf.json, src-tauri/capabilities and src-tauri/icons");
}
