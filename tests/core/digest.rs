//! The daily digest on the demo feed with real embeddings: today's posts in topics, each led
//! by its most central post, and the topic the user has been liking comes first.

use hearth_core::enrich::{enrich_batch, TextModels};
use hearth_core::models::DeviceChoice;
use hearth_core::{InteractionInput, InteractionKind};

use crate::embeddings_support::models_dir;
use crate::support::demo_app;

#[test]
fn todays_posts_come_in_topics_and_the_liked_topic_leads() {
    let test = demo_app();
    let models = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    while enrich_batch(test.app.store(), &models, 64).unwrap() > 0 {}
    let digest = test.app.digest().unwrap();
    assert!(digest.posts >= 10, "the demo has posts from today: {}", digest.posts);
    assert!(!digest.topics.is_empty() && digest.topics.len() <= hearth_core::digest::MAX_TOPICS);
    assert!(digest.topics.iter().map(|topic| topic.size).sum::<usize>() <= digest.posts);
    assert!(digest.topics.iter().all(|topic| !topic.title.is_empty() && (1..=4).contains(&topic.posts.len())));

    // Like three coffee posts (from any day): coffee leads today's digest.
    let coffee = test.app.search("espresso coffee roast", Some(20), None).unwrap().posts;
    let coffee: Vec<_> = coffee.iter().filter(|post| post.author.handle == "kenji@pourover.example").take(3).collect();
    assert_eq!(coffee.len(), 3);
    for post in &coffee {
        test.app.record_interaction(&InteractionInput::on_post(post.id, InteractionKind::Like)).unwrap();
    }
    let digest = test.app.digest().unwrap();
    let first = &digest.topics[0];
    assert!(
        first.posts.iter().any(|post| post.author.handle == "kenji@pourover.example"),
        "{:?}",
        digest.topics.iter().map(|topic| &topic.title).collect::<Vec<_>>()
    );
}
