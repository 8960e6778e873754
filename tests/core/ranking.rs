//! The learned ranker on real embeddings (all-MiniLM-L6-v2 through the enrichment pipeline):
//! a varied cold start, visible adaptation after a few likes, "show less" and "hide" demoting
//! similar posts on the next refresh, mutes removing posts, reasons in plain words, and learned
//! state that survives a restart and can be reset. The posts are all by one author, so what
//! moves them is what they are about, not who wrote them. Needs the model weights.

use std::collections::HashMap;

use hearth_core::enrich::{enrich_batch, TextModels};
use hearth_core::models::DeviceChoice;
use hearth_core::{App, Config, FeedMode, FeedQuery, InteractionInput, InteractionKind, NewPost, Post};

use crate::embeddings_support::models_dir;
use crate::support::{demo_app, empty_app, whole_feed, TestApp};

const TOPICS: &[(&str, &[&str])] = &[
    (
        "gardening",
        &[
            "Planted out the tomato seedlings in the greenhouse this morning.",
            "The runner beans have climbed right to the top of their canes.",
            "Turned the compost heap; it is steaming nicely in the cold air.",
            "Slugs got to the lettuces overnight, time for copper tape around the raised bed.",
            "Sowed a row of carrots and another of beetroot on the allotment.",
            "The apple tree is covered in blossom, fingers crossed for no late frost.",
            "Mulched the roses with well-rotted manure before the rain.",
        ],
    ),
    (
        "crypto",
        &[
            "Bitcoin dropped eight percent overnight and my portfolio is a sea of red.",
            "Another crypto exchange froze withdrawals today, be careful where you keep your coins.",
            "Ethereum gas fees are through the roof again this week.",
            "Everyone in my feed is shilling a new memecoin; I am staying out.",
            "Moved my tokens to a hardware wallet after the latest exchange hack.",
            "The blockchain conference keynote was three hours of NFT promises.",
        ],
    ),
    (
        "astronomy",
        &[
            "Saturn's rings were crisp through the telescope tonight, seeing was excellent.",
            "The Perseid meteor shower peaks this week, look north-east after midnight.",
            "Captured the Andromeda galaxy with a thirty minute exposure from the dark site.",
            "Clear skies at last, spent two hours observing Jupiter's moons.",
            "The new moon means a perfect weekend for deep sky photography.",
        ],
    ),
    (
        "cooking",
        &[
            "Slow-cooked ragù for four hours, the kitchen smells incredible.",
            "Baked sourdough with a crackly crust and an open crumb.",
            "Made a big pot of lentil soup with cumin and lemon for the week.",
            "Tried a new recipe for Thai green curry with homemade paste.",
            "Homemade pasta is easier than I thought: flour, eggs and patience.",
        ],
    ),
    (
        "cycling",
        &[
            "Rode sixty kilometres into a headwind, legs are finished.",
            "Fitted new tyres on the road bike before Sunday's club ride.",
            "The new protected bike lane on the high street makes my commute so much calmer.",
            "Climbed the big hill without stopping for the first time this year.",
            "Cleaned and oiled the chain after a muddy gravel ride.",
        ],
    ),
];

/// An app with the topic posts above (one author, in an interleaved order), all enriched.
fn topic_app() -> (TestApp, HashMap<i64, &'static str>) {
    let test = empty_app();
    let mut topic_of = HashMap::new();
    let longest = TOPICS.iter().map(|(_, texts)| texts.len()).max().unwrap();
    for index in 0..longest {
        for (topic, texts) in TOPICS {
            if let Some(text) = texts.get(index) {
                let post = test.app.create_post(&NewPost { text: (*text).to_owned(), ..NewPost::default() }).unwrap();
                topic_of.insert(post.id, *topic);
            }
        }
    }
    enrich_all(&test.app);
    (test, topic_of)
}

fn enrich_all(app: &App) {
    let models = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    while enrich_batch(app.store(), &models, 64).unwrap() > 0 {}
}

fn ranked(app: &App) -> Vec<Post> {
    whole_feed(app, FeedMode::Ranked)
}

fn act(app: &App, post_id: i64, kind: InteractionKind) {
    app.record_interaction(&InteractionInput::on_post(post_id, kind)).unwrap();
}

fn ids_of(topic_of: &HashMap<i64, &str>, topic: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = topic_of.iter().filter(|(_, t)| **t == topic).map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids
}

/// Mean position (0 = top) of `ids` in `feed`.
fn mean_position(feed: &[Post], ids: &[i64]) -> f64 {
    let positions: Vec<usize> = ids.iter().filter_map(|id| feed.iter().position(|post| post.id == *id)).collect();
    assert_eq!(positions.len(), ids.len(), "every post is in the feed");
    positions.iter().sum::<usize>() as f64 / positions.len() as f64
}

#[test]
fn a_cold_start_is_varied_and_a_few_likes_bring_that_topic_up_with_a_reason() {
    let (test, topic_of) = topic_app();
    let cold = ranked(&test.app);
    let mut cold_topics: Vec<&str> = cold[..10].iter().map(|post| topic_of[&post.id]).collect();
    cold_topics.sort_unstable();
    cold_topics.dedup();
    assert!(cold_topics.len() >= 4, "the first ten posts cover several topics: {cold_topics:?}");

    let gardening = ids_of(&topic_of, "gardening");
    let (liked, others) = gardening.split_at(3);
    let before = mean_position(&cold, others);
    for &post_id in liked {
        act(&test.app, post_id, InteractionKind::Like);
    }
    let warm = ranked(&test.app);
    let after = mean_position(&warm, others);
    assert!(after + 5.0 < before, "the other gardening posts rise: mean position {before:.1} -> {after:.1}");
    let top_unliked: Vec<&Post> = warm.iter().filter(|post| !liked.contains(&post.id)).take(5).collect();
    let gardening_on_top = top_unliked.iter().filter(|post| topic_of[&post.id] == "gardening").count();
    assert!(gardening_on_top >= 3, "{gardening_on_top} of the top five unliked posts are about gardening");
    let explained = warm.iter().find(|post| others.contains(&post.id)).unwrap();
    assert!(
        explained
            .reasons
            .first()
            .is_some_and(|reason| reason.starts_with("Similar to") && reason.contains("you liked")),
        "{:?}",
        explained.reasons
    );
    assert_eq!(explained.reason.as_deref(), explained.reasons.first().map(String::as_str));
    assert!(explained.reasons.len() <= 3);
}

#[test]
fn show_less_and_hide_push_similar_posts_down_on_the_next_refresh() {
    for kind in [InteractionKind::ShowLess, InteractionKind::Hide] {
        let (test, topic_of) = topic_app();
        let crypto = ids_of(&topic_of, "crypto");
        let (target, others) = crypto.split_first().unwrap();
        let before = mean_position(&ranked(&test.app), others);
        act(&test.app, *target, kind);
        let after_feed = ranked(&test.app);
        let after = mean_position(&after_feed, others);
        assert!(after > before + 5.0, "{kind:?}: the other crypto posts sink: mean position {before:.1} -> {after:.1}");
        let position = after_feed.iter().position(|post| post.id == *target);
        match kind {
            InteractionKind::Hide => assert_eq!(position, None, "a hidden post leaves the feed"),
            _ => assert!(position.unwrap() >= after_feed.len() - 3, "the post itself goes to the bottom"),
        }
        let lowered = after_feed.iter().find(|post| others.contains(&post.id)).unwrap();
        assert!(
            after_feed.iter().filter(|post| others.contains(&post.id)).all(|post| !post.reasons.is_empty()),
            "{:?}",
            lowered.reasons
        );
    }
}

#[test]
fn mutes_remove_posts_by_author_word_and_pattern() {
    let test = demo_app();
    let app = &test.app;
    let some_post = ranked(app).into_iter().next().unwrap();
    app.record_interaction(&InteractionInput::on_post(some_post.id, InteractionKind::MuteAuthor)).unwrap();
    for (word, check) in [
        ("tomatoes", Box::new(|text: &str| text.to_lowercase().contains("tomatoes")) as Box<dyn Fn(&str) -> bool>),
        ("/\\bdeep (sky|field)\\b/", Box::new(|text: &str| text.to_lowercase().contains("deep field"))),
    ] {
        assert!(ranked(app).iter().any(|post| check(&post.text)), "the demo has a post for {word}");
        app.record_interaction(&InteractionInput {
            post_id: None,
            kind: InteractionKind::MuteWord,
            dwell_ms: None,
            value: Some(word.to_owned()),
        })
        .unwrap();
        assert!(!ranked(app).iter().any(|post| check(&post.text)), "{word} is muted");
    }
    let feed = ranked(app);
    assert!(feed.iter().all(|post| post.author.id != some_post.author.id));
    let bad = app.record_interaction(&InteractionInput {
        post_id: None,
        kind: InteractionKind::MuteWord,
        dwell_ms: None,
        value: Some("/(unclosed/".to_owned()),
    });
    assert_eq!(bad.unwrap_err().code(), hearth_core::ErrorCode::InvalidInput);
}

#[test]
fn learned_state_survives_a_restart_and_reset_forgets_it_but_keeps_the_log() {
    let (test, topic_of) = topic_app();
    let cold: Vec<i64> = ranked(&test.app).iter().map(|post| post.id).collect();
    for &post_id in &ids_of(&topic_of, "astronomy")[..3] {
        act(&test.app, post_id, InteractionKind::Like);
    }
    let warm: Vec<i64> = ranked(&test.app).iter().map(|post| post.id).collect();
    assert_ne!(warm, cold);
    let interactions = test.app.status().unwrap().interactions;

    let learned = test.app.status().unwrap().personalisation;
    assert_eq!(learned.interactions_learned, 3);
    assert_eq!(learned.interests.len(), 1, "{:?}", learned.interests);

    let reopened = App::open(Config::in_dir(test.dir.path().to_path_buf()).unwrap()).unwrap();
    assert_eq!(
        ranked(&reopened).iter().map(|post| post.id).collect::<Vec<_>>(),
        warm,
        "the same order after a restart"
    );
    assert_eq!(reopened.status().unwrap().personalisation.interactions_learned, 3);

    reopened.reset_personalisation(false).unwrap();
    let forgotten = reopened.status().unwrap().personalisation;
    assert_eq!((forgotten.interactions_learned, forgotten.interests.len()), (0, 0));
    assert_ne!(ranked(&reopened).iter().map(|post| post.id).collect::<Vec<_>>(), warm, "no longer personalised");
    assert_eq!(reopened.status().unwrap().interactions, interactions, "the log stays");
    reopened.reset_personalisation(true).unwrap();
    assert_eq!(reopened.status().unwrap().interactions, 0, "unless the user asks");
}

#[test]
fn ranked_pages_still_cover_every_post_once_with_reasons() {
    let test = demo_app();
    enrich_all(&test.app);
    let page = test.app.feed(&FeedQuery { mode: FeedMode::Ranked, limit: Some(30), ..FeedQuery::default() }).unwrap();
    assert_eq!(page.posts.len(), 30);
    assert!(page.posts.iter().all(|post| !post.reasons.is_empty() && post.reasons.len() <= 3));
    // A quiet author's post says so.
    let all = ranked(&test.app);
    assert!(all.iter().any(|post| post.reasons.iter().any(|reason| reason == "New from someone who rarely posts")));
}
