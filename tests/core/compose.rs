//! Composing: a local post with text, images and audio lands at the top of the chronological
//! feed; bad attachments are refused and leave nothing behind.

use hearth_core::post::{Attachment, MediaKind, SourceKind};
use hearth_core::{ErrorCode, FeedMode, FeedQuery, NewPost};

use crate::support::{base64, demo_app, empty_app, image, PNG_1X1};

#[test]
fn a_new_post_appears_first_in_the_chronological_feed() {
    let test = demo_app();
    let post = test
        .app
        .create_post(&NewPost {
            text: "Hello from the tests 🌱".into(),
            images: vec![image(PNG_1X1, Some("a red dot"))],
            audio: None,
            ..NewPost::default()
        })
        .unwrap();
    assert_eq!(post.source.kind, SourceKind::Local);
    assert_eq!(post.author.display_name, "You");
    assert_eq!(post.media.len(), 1);
    assert_eq!(
        (post.media[0].kind, post.media[0].width, post.media[0].alt_text.as_deref()),
        (MediaKind::Image, Some(1), Some("a red dot"))
    );
    let first =
        test.app.feed(&FeedQuery { mode: FeedMode::Chronological, limit: Some(1), ..FeedQuery::default() }).unwrap();
    assert_eq!(first.posts[0].id, post.id);
    let stored = std::fs::read(test.app.media_file(post.media[0].id).unwrap().path).unwrap();
    assert_eq!(stored, PNG_1X1);
}

#[test]
fn audio_posts_need_no_text() {
    let test = empty_app();
    let wav = hearth_core::demo::bundled_file("audio/memo01.wav").unwrap();
    let audio =
        Attachment { file_name: "memo.wav".into(), mime: "audio/wav".into(), data_base64: base64(wav), alt_text: None };
    let post = test
        .app
        .create_post(&NewPost { text: String::new(), images: vec![], audio: Some(audio), ..NewPost::default() })
        .unwrap();
    assert_eq!(post.media[0].kind, MediaKind::Audio);
    assert!(post.media[0].duration_ms.unwrap() > 1_000);
}

#[test]
fn bad_posts_are_refused_and_store_nothing() {
    let test = empty_app();
    let cases: Vec<(NewPost, ErrorCode)> = vec![
        (NewPost { text: "   ".into(), ..NewPost::default() }, ErrorCode::InvalidInput),
        (NewPost { text: "x".repeat(5_001), ..NewPost::default() }, ErrorCode::InvalidInput),
        (
            NewPost { text: "five".into(), images: vec![image(PNG_1X1, None); 5], audio: None, ..NewPost::default() },
            ErrorCode::InvalidInput,
        ),
        (
            NewPost {
                text: "not base64".into(),
                images: vec![Attachment { data_base64: "%%%".into(), ..image(PNG_1X1, None) }],
                audio: None,
                ..NewPost::default()
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewPost {
                text: "svg".into(),
                images: vec![image(b"<svg onload=alert(1)></svg>", None)],
                audio: None,
                ..NewPost::default()
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewPost {
                text: "audio as image".into(),
                images: vec![image(b"OggS\0\0\0\0", None)],
                audio: None,
                ..NewPost::default()
            },
            ErrorCode::InvalidInput,
        ),
        (
            NewPost {
                text: "big".into(),
                images: vec![image(&vec![0xff; 11 * 1024 * 1024], None)],
                audio: None,
                ..NewPost::default()
            },
            ErrorCode::PayloadTooLarge,
        ),
        (
            NewPost { text: "empty".into(), images: vec![image(b"", None)], audio: None, ..NewPost::default() },
            ErrorCode::InvalidInput,
        ),
    ];
    for (new_post, expected) in cases {
        let error = test.app.create_post(&new_post).unwrap_err();
        assert_eq!(error.code(), expected, "{error}");
    }
    assert_eq!(test.app.status().unwrap().posts, 0);
    assert!(!test.dir.path().join("media").exists(), "no file was saved for a refused post");
}
