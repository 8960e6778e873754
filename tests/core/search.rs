//! Full-text search: finds posts by their words, best match first, and takes any input safely.

use hearth_core::{ErrorCode, FeedMode, InteractionInput, InteractionKind, NewPost};

use crate::support::{demo_app, whole_feed};

#[test]
fn search_finds_a_post_by_a_distinctive_word_and_by_prefix() {
    let test = demo_app();
    let post = test
        .app
        .create_post(&NewPost { text: "Pickled zucchiniflowers tonight".into(), ..NewPost::default() })
        .unwrap();
    let exact = test.app.search("zucchiniflowers", None, None).unwrap();
    assert_eq!(exact.posts.iter().map(|post| post.id).collect::<Vec<_>>(), [post.id]);
    assert_eq!(exact.total, 1);
    let prefix = test.app.search("pickled zucchini", None, None).unwrap();
    assert_eq!(prefix.posts[0].id, post.id);
    let accents = test.app.search("ZUCCHINIFLÖWERS", None, None).unwrap();
    assert_eq!(accents.posts[0].id, post.id, "case and diacritics are folded");
}

#[test]
fn every_demo_post_is_findable_by_its_longest_word() {
    let test = demo_app();
    for post in whole_feed(&test.app, FeedMode::Chronological).iter().filter(|post| !post.text.is_empty()).take(40) {
        let word = post.text.split(|c: char| !c.is_alphanumeric()).max_by_key(|word| word.chars().count()).unwrap();
        let found = test.app.search(word, Some(100), None).unwrap();
        assert!(found.posts.iter().any(|hit| hit.id == post.id), "{word:?} did not find post {}", post.id);
    }
}

#[test]
fn hidden_posts_are_not_search_results() {
    let test = demo_app();
    let post = test.app.create_post(&NewPost { text: "quokkaparade".into(), ..NewPost::default() }).unwrap();
    test.app.record_interaction(&InteractionInput::on_post(post.id, InteractionKind::Hide)).unwrap();
    assert_eq!(test.app.search("quokkaparade", None, None).unwrap().total, 0);
}

#[test]
fn hostile_or_empty_queries_are_safe() {
    let test = demo_app();
    for query in ["\"", "*", "AND", "text:coffee", "NEAR(a b)", "a\" OR \"b", "'; DROP TABLE posts; --", "(((", "🌱"]
    {
        match test.app.search(query, None, None) {
            Ok(_) => {}
            Err(error) => assert_eq!(error.code(), ErrorCode::InvalidInput, "{query}: {error}"),
        }
    }
    assert_eq!(test.app.search("   ", None, None).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(test.app.search(&"a".repeat(501), None, None).unwrap_err().code(), ErrorCode::InvalidInput);
    assert!(test.app.status().unwrap().posts >= 150, "nothing was dropped");
}

/// Hybrid search: a query that shares no word with the astronomy posts still finds them by
/// meaning (real embeddings from the enrichment pipeline).
#[test]
fn search_finds_posts_by_meaning_when_no_word_matches() {
    use hearth_core::enrich::{enrich_batch, TextModels};
    use hearth_core::models::DeviceChoice;
    let test = demo_app();
    let models = TextModels::load(&crate::embeddings_support::models_dir(), DeviceChoice::Cpu).unwrap();
    while enrich_batch(test.app.store(), &models, 64).unwrap() > 0 {}
    let found = test.app.search("stargazing with a telescope", Some(5), None).unwrap();
    assert!(found.semantic);
    let astronomy = found.posts.iter().filter(|post| post.author.handle == "priya@nightsky.example").count();
    assert!(
        astronomy >= 3,
        "{astronomy} of the top five are astronomy posts: {:?}",
        found.posts.iter().map(|p| &p.text).collect::<Vec<_>>()
    );
    assert!(found.total >= 5);
}
