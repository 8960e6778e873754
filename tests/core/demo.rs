//! The demo feed: imported fully, once, with its media stored and readable.

use hearth_core::post::MediaKind;
use hearth_core::FeedMode;

use crate::support::{demo_app, empty_app, whole_feed};

#[test]
fn importing_the_demo_twice_adds_nothing_the_second_time() {
    let test = empty_app();
    let first = test.app.import_demo().unwrap().imported;
    let second = test.app.import_demo().unwrap().imported;
    assert!(first >= 150, "{first}");
    assert_eq!(second, 0);
    let status = test.app.status().unwrap();
    assert_eq!(usize::try_from(status.posts).unwrap(), first);
    assert!(status.demo_imported);
}

#[test]
fn open_with_demo_imports_only_on_first_run() {
    let test = empty_app();
    let config = test.app.config().clone();
    let app = hearth_core::App::open_with_demo(config.clone()).unwrap();
    let posts = app.status().unwrap().posts;
    assert!(posts >= 150);
    drop(app);
    let again = hearth_core::App::open_with_demo(config).unwrap();
    assert_eq!(again.status().unwrap().posts, posts);
}

#[test]
fn demo_media_files_are_on_disk_with_their_types() {
    let test = demo_app();
    let posts = whole_feed(&test.app, FeedMode::Chronological);
    let media: Vec<_> = posts.iter().flat_map(|post| post.media.iter()).collect();
    assert!(media.iter().filter(|m| m.kind == MediaKind::Image).count() >= 30);
    assert!(media.iter().filter(|m| m.kind == MediaKind::Audio).count() >= 10);
    for item in media {
        let file = test.app.media_file(item.id).unwrap();
        let bytes = std::fs::read(&file.path).unwrap();
        assert_eq!(i64::try_from(bytes.len()).unwrap(), item.size_bytes);
        assert_eq!(file.mime, item.mime);
        match item.kind {
            MediaKind::Image => assert!(item.width.unwrap() > 0 && item.height.unwrap() > 0),
            MediaKind::Audio => assert!(item.duration_ms.unwrap() > 1_000),
            MediaKind::Video => {}
        }
    }
}

#[test]
fn demo_timestamps_span_about_two_weeks() {
    let test = demo_app();
    let posts = whole_feed(&test.app, FeedMode::Chronological);
    let newest = &posts.first().unwrap().created_at;
    let oldest = &posts.last().unwrap().created_at;
    let parse = |text: &str| time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    let span = parse(newest) - parse(oldest);
    assert!(span >= time::Duration::days(13), "{span}");
}
