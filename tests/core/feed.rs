//! The feed: paging covers every post exactly once, in the promised order, in both modes.

use std::collections::HashSet;

use hearth_core::post::MediaKind;
use hearth_core::{ErrorCode, FeedMode, FeedQuery};

use crate::support::{demo_app, empty_app, whole_feed};

#[test]
fn chronological_pages_cover_every_post_once_newest_first() {
    let test = demo_app();
    let posts = whole_feed(&test.app, FeedMode::Chronological);
    let total = usize::try_from(test.app.status().unwrap().posts).unwrap();
    let ids: HashSet<i64> = posts.iter().map(|post| post.id).collect();
    assert_eq!((posts.len(), ids.len()), (total, total));
    for pair in posts.windows(2) {
        assert!(pair[0].created_at >= pair[1].created_at, "{} before {}", pair[0].created_at, pair[1].created_at);
    }
    assert!(posts.iter().all(|post| post.reason.is_none()));
}

#[test]
fn ranked_pages_cover_every_post_once_and_explain_themselves() {
    let test = demo_app();
    let posts = whole_feed(&test.app, FeedMode::Ranked);
    let total = usize::try_from(test.app.status().unwrap().posts).unwrap();
    let ids: HashSet<i64> = posts.iter().map(|post| post.id).collect();
    assert_eq!((posts.len(), ids.len()), (total, total));
    assert!(posts.iter().all(|post| post.reason.as_deref().is_some_and(|reason| !reason.is_empty())));
    // Ranked is not merely chronological: engagement moves some posts.
    let chronological: Vec<i64> = whole_feed(&test.app, FeedMode::Chronological).iter().map(|p| p.id).collect();
    let ranked: Vec<i64> = posts.iter().map(|post| post.id).collect();
    assert_ne!(ranked, chronological);
}

#[test]
fn an_empty_database_has_an_empty_feed() {
    let test = empty_app();
    for mode in [FeedMode::Ranked, FeedMode::Chronological] {
        let page = test.app.feed(&FeedQuery { mode, ..FeedQuery::default() }).unwrap();
        assert!(page.posts.is_empty());
        assert!(page.next_cursor.is_none());
    }
}

#[test]
fn filters_narrow_the_feed() {
    let test = demo_app();
    let with_audio = test
        .app
        .feed(&FeedQuery {
            mode: FeedMode::Chronological,
            has_media: Some(MediaKind::Audio),
            limit: Some(100),
            ..FeedQuery::default()
        })
        .unwrap();
    assert!(with_audio.posts.len() >= 10);
    assert!(with_audio.posts.iter().all(|post| post.media.iter().any(|m| m.kind == MediaKind::Audio)));
    let author_id = with_audio.posts[0].author.id;
    let by_author = test
        .app
        .feed(&FeedQuery {
            mode: FeedMode::Chronological,
            author_id: Some(author_id),
            limit: Some(100),
            ..FeedQuery::default()
        })
        .unwrap();
    assert!(!by_author.posts.is_empty());
    assert!(by_author.posts.iter().all(|post| post.author.id == author_id));
}

#[test]
fn bad_limits_and_cursors_are_clear_errors() {
    let test = demo_app();
    for limit in [0, -1, 101] {
        let error = test.app.feed(&FeedQuery { limit: Some(limit), ..FeedQuery::default() }).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidInput, "{error}");
    }
    let error = test.app.feed(&FeedQuery { cursor: Some("garbage".into()), ..FeedQuery::default() }).unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    let chronological_cursor = test
        .app
        .feed(&FeedQuery { mode: FeedMode::Chronological, limit: Some(5), ..FeedQuery::default() })
        .unwrap()
        .next_cursor;
    let error = test
        .app
        .feed(&FeedQuery { mode: FeedMode::Ranked, cursor: chronological_cursor, ..FeedQuery::default() })
        .unwrap_err();
    assert!(error.to_string().contains("other feed mode"), "{error}");
}
