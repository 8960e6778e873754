//! Interactions: each lands in the append-only log and visibly changes the feed.

use hearth_core::{ErrorCode, FeedMode, FeedQuery, InteractionInput, InteractionKind};

use crate::support::{demo_app, whole_feed};

fn on_post(post_id: i64, kind: InteractionKind) -> InteractionInput {
    InteractionInput::on_post(post_id, kind)
}

fn interaction_count(test: &crate::support::TestApp) -> i64 {
    test.app.status().unwrap().interactions
}

#[test]
fn like_and_unlike_change_state_and_count_and_survive_reopening() {
    let test = demo_app();
    let post = whole_feed(&test.app, FeedMode::Chronological).remove(3);
    let liked = test.app.record_interaction(&on_post(post.id, InteractionKind::Like)).unwrap().unwrap();
    assert!(liked.state.liked);
    assert_eq!(liked.counts.likes, post.counts.likes + 1);
    let reopened = hearth_core::App::open(test.app.config().clone()).unwrap();
    assert!(reopened.get_post(post.id).unwrap().state.liked);
    let unliked = reopened.record_interaction(&on_post(post.id, InteractionKind::Unlike)).unwrap().unwrap();
    assert!(!unliked.state.liked);
    assert_eq!(unliked.counts.likes, post.counts.likes);
    assert_eq!(interaction_count(&test), 2, "the log keeps both events");
}

#[test]
fn hide_removes_a_post_from_both_feeds_and_unhide_brings_it_back() {
    let test = demo_app();
    let target = whole_feed(&test.app, FeedMode::Chronological)[0].id;
    test.app.record_interaction(&on_post(target, InteractionKind::Hide)).unwrap();
    for mode in [FeedMode::Chronological, FeedMode::Ranked] {
        assert!(whole_feed(&test.app, mode).iter().all(|post| post.id != target), "{mode:?}");
    }
    let with_hidden = test
        .app
        .feed(&FeedQuery {
            mode: FeedMode::Chronological,
            include_hidden: true,
            limit: Some(5),
            ..FeedQuery::default()
        })
        .unwrap();
    assert!(with_hidden.posts.iter().any(|post| post.id == target && post.state.hidden));
    test.app.record_interaction(&on_post(target, InteractionKind::Unhide)).unwrap();
    assert_eq!(whole_feed(&test.app, FeedMode::Chronological)[0].id, target);
}

#[test]
fn show_less_moves_a_post_down_the_ranked_feed() {
    let test = demo_app();
    let before: Vec<i64> = whole_feed(&test.app, FeedMode::Ranked).iter().map(|post| post.id).collect();
    let top = before[0];
    test.app.record_interaction(&on_post(top, InteractionKind::ShowLess)).unwrap();
    let after = whole_feed(&test.app, FeedMode::Ranked);
    let new_position = after.iter().position(|post| post.id == top).unwrap();
    assert!(new_position > 10, "the post only moved to position {new_position}");
    assert!(after[new_position].state.show_less);
    assert!(after[new_position].reason.as_deref().unwrap().contains("see less"));
}

#[test]
fn muting_an_author_removes_all_their_posts_until_unmuted() {
    let test = demo_app();
    let post = whole_feed(&test.app, FeedMode::Chronological)[0].clone();
    test.app.record_interaction(&on_post(post.id, InteractionKind::MuteAuthor)).unwrap();
    let feed = whole_feed(&test.app, FeedMode::Chronological);
    assert!(feed.iter().all(|other| other.author.id != post.author.id));
    let mutes = test.app.mutes().unwrap();
    assert_eq!(mutes.authors.iter().map(|author| author.id).collect::<Vec<_>>(), [post.author.id]);
    test.app
        .record_interaction(&InteractionInput {
            post_id: None,
            kind: InteractionKind::UnmuteAuthor,
            dwell_ms: None,
            value: Some(post.author.id.to_string()),
        })
        .unwrap();
    assert!(whole_feed(&test.app, FeedMode::Chronological).iter().any(|other| other.author.id == post.author.id));
    assert!(test.app.mutes().unwrap().authors.is_empty());
}

#[test]
fn muting_a_word_removes_posts_that_contain_it_as_a_word() {
    let test = demo_app();
    let mentions = |word: &str| {
        whole_feed(&test.app, FeedMode::Chronological)
            .iter()
            .filter(|post| hearth_core::interactions::contains_muted_word(&post.text, word))
            .count()
    };
    assert!(mentions("coffee") > 0, "the demo should mention coffee");
    let mute = InteractionInput {
        post_id: None,
        kind: InteractionKind::MuteWord,
        dwell_ms: None,
        value: Some(" Coffee ".into()),
    };
    test.app.record_interaction(&mute).unwrap();
    assert_eq!(mentions("coffee"), 0);
    assert_eq!(test.app.mutes().unwrap().words, ["coffee"]);
    let ranked = whole_feed(&test.app, FeedMode::Ranked);
    assert!(ranked.iter().all(|post| !hearth_core::interactions::contains_muted_word(&post.text, "coffee")));
}

#[test]
fn dwell_is_recorded_with_bounds() {
    let test = demo_app();
    let post_id = whole_feed(&test.app, FeedMode::Chronological)[0].id;
    let dwell =
        |ms| InteractionInput { post_id: Some(post_id), kind: InteractionKind::Dwell, dwell_ms: Some(ms), value: None };
    test.app.record_interaction(&dwell(4_200)).unwrap();
    for bad in [-1, 31 * 60 * 1000] {
        assert_eq!(test.app.record_interaction(&dwell(bad)).unwrap_err().code(), ErrorCode::InvalidInput);
    }
    let missing =
        InteractionInput { post_id: Some(post_id), kind: InteractionKind::Dwell, dwell_ms: None, value: None };
    assert_eq!(test.app.record_interaction(&missing).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(interaction_count(&test), 1);
}

#[test]
fn rejected_interactions_leave_the_log_untouched() {
    let test = demo_app();
    let unknown_post = test.app.record_interaction(&on_post(999_999, InteractionKind::Like)).unwrap_err();
    assert_eq!(unknown_post.code(), ErrorCode::NotFound);
    let no_post = InteractionInput { post_id: None, kind: InteractionKind::Like, dwell_ms: None, value: None };
    assert_eq!(test.app.record_interaction(&no_post).unwrap_err().code(), ErrorCode::InvalidInput);
    let empty_word =
        InteractionInput { post_id: None, kind: InteractionKind::MuteWord, dwell_ms: None, value: Some("  ".into()) };
    assert_eq!(test.app.record_interaction(&empty_word).unwrap_err().code(), ErrorCode::InvalidInput);
    let unknown_author = InteractionInput {
        post_id: None,
        kind: InteractionKind::MuteAuthor,
        dwell_ms: None,
        value: Some("424242".into()),
    };
    assert_eq!(test.app.record_interaction(&unknown_author).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(interaction_count(&test), 0);
}

#[test]
fn the_database_check_notices_derived_state_that_disagrees_with_the_log() {
    let test = demo_app();
    let post_id = whole_feed(&test.app, FeedMode::Chronological)[0].id;
    test.app.record_interaction(&on_post(post_id, InteractionKind::Like)).unwrap();
    assert!(test.app.check().unwrap().ok);
    test.app
        .store()
        .write(|connection| Ok(connection.execute("UPDATE post_state SET liked = 0 WHERE post_id = ?1", [post_id])?))
        .unwrap();
    let check = test.app.check().unwrap();
    assert!(!check.ok);
    assert_eq!(check.problems, [format!("post {post_id}: its liked state disagrees with the interaction log")]);
}
