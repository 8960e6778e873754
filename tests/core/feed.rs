//! The feed: paging covers every post exactly once, in the promised order, in both modes.

use std::collections::HashSet;

use hearth_core::post::MediaKind;
use hearth_core::{ErrorCode, FeedMode, FeedQuery, InteractionInput, InteractionKind};

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
fn ranked_paging_neither_repeats_nor_skips_while_the_ranker_learns() {
    let test = demo_app();
    let app = &test.app;
    let total = usize::try_from(app.status().unwrap().posts).unwrap();
    let all: Vec<i64> = whole_feed(app, FeedMode::Chronological).iter().map(|post| post.id).collect();
    let mut shown: Vec<i64> = Vec::new();
    let mut hidden_ahead = None;
    let mut cursor = None;
    loop {
        let page =
            app.feed(&FeedQuery { mode: FeedMode::Ranked, cursor, limit: Some(7), ..FeedQuery::default() }).unwrap();
        shown.extend(page.posts.iter().map(|post| post.id));
        // Scrolling as people do: like the first post of each page and ask for less of the
        // last; each one changes what the ranker has learned before the next page.
        let (first, last) = (page.posts.first().unwrap().id, page.posts.last().unwrap().id);
        app.record_interaction(&InteractionInput::on_post(first, InteractionKind::Like)).unwrap();
        app.record_interaction(&InteractionInput::on_post(last, InteractionKind::ShowLess)).unwrap();
        // And hide one post further down, before it is reached.
        if hidden_ahead.is_none() {
            let ahead = *all.iter().rev().find(|id| !shown.contains(id)).unwrap();
            app.record_interaction(&InteractionInput::on_post(ahead, InteractionKind::Hide)).unwrap();
            hidden_ahead = Some(ahead);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let unique: HashSet<i64> = shown.iter().copied().collect();
    assert_eq!(unique.len(), shown.len(), "a post came twice: {shown:?}");
    assert!(!unique.contains(&hidden_ahead.unwrap()), "a post hidden while scrolling still came");
    assert_eq!(shown.len(), total - 1, "every other post came once");
    // A new first page ranks afresh, with what was learned.
    let fresh = app.feed(&FeedQuery { mode: FeedMode::Ranked, limit: Some(7), ..FeedQuery::default() }).unwrap();
    assert!(fresh.posts.iter().all(|post| post.id != hidden_ahead.unwrap()));
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
