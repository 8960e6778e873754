//! Files the page saves (an exported OPML list, a voice memo): WebKitGTK saves nothing unless
//! someone answers its download request. Hearth lets its own page save what it made itself
//! (`blob:` and `data:` URLs) and its media (`hearth:`), into the user's Downloads folder under
//! the name the page chose (`name (1).opml` when that is taken); anything else is refused.

use std::path::{Path, PathBuf};

use tauri::webview::DownloadEvent;

/// Whether a download may go ahead; sets where it goes.
pub fn allow(event: DownloadEvent<'_>) -> bool {
    match event {
        DownloadEvent::Requested { url, destination } => {
            let ours = matches!(url.scheme(), "blob" | "data" | "hearth")
                || (url.scheme() == "http" && url.host_str() == Some("hearth.localhost"));
            if ours {
                if let Some(path) = in_downloads(destination) {
                    *destination = path;
                }
            }
            ours
        }
        DownloadEvent::Finished { success, path, .. } => {
            if !success {
                eprintln!("Hearth could not save a download to {path:?}");
            }
            true
        }
        _ => false,
    }
}

/// The user's Downloads folder (XDG's, else `~/Downloads`, made if missing), with the file name
/// the webview suggested, numbered if taken. The webview's own choice falls back to the working
/// directory when XDG names no folder, which for a double-clicked app is no place for a file.
fn in_downloads(suggested: &Path) -> Option<PathBuf> {
    let folder = dirs::download_dir().or_else(|| dirs::home_dir().map(|home| home.join("Downloads")))?;
    std::fs::create_dir_all(&folder).ok()?;
    let name = suggested.file_name()?.to_string_lossy().into_owned();
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem.to_owned(), format!(".{extension}")),
        _ => (name.clone(), String::new()),
    };
    let mut path = folder.join(format!("{stem}{extension}"));
    let mut counter = 1;
    while path.exists() {
        path = folder.join(format!("{stem} ({counter}){extension}"));
        counter += 1;
    }
    Some(path)
}
