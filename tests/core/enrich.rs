//! The enrichment pipeline on the demo feed with the real models: every post with text gets a
//! tone and an embedding, once; the work survives a restart; the background worker gets to
//! "idle" with everything done. Needs the embedding model's weights (`cargo xtask models`).

use std::time::{Duration, Instant};

use hearth_core::enrich::{coverage, enrich_batch, TextModels};
use hearth_core::models::DeviceChoice;
use hearth_core::{App, Config, FeedMode, NewPost};

use crate::embeddings_support::models_dir;
use crate::support::{demo_app, whole_feed};

#[test]
fn every_post_with_text_gets_a_tone_once_and_keeps_it_after_a_restart() {
    let test = demo_app();
    let models = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    let (done, total) = coverage(test.app.store()).unwrap();
    assert_eq!(done, 0);
    assert!(total >= 150);
    let mut enriched = 0;
    loop {
        let batch = enrich_batch(test.app.store(), &models, 64).unwrap();
        if batch == 0 {
            break;
        }
        enriched += batch;
    }
    assert_eq!(i64::try_from(enriched).unwrap(), total);
    assert_eq!(enrich_batch(test.app.store(), &models, 64).unwrap(), 0, "nothing is done twice");

    let reopened = App::open(Config::in_dir(test.dir.path().to_path_buf()).unwrap()).unwrap();
    let posts = whole_feed(&reopened, FeedMode::Chronological);
    for post in &posts {
        match (&post.tone, post.text.trim().is_empty()) {
            (Some(tone), false) => {
                assert!(["positive", "neutral", "negative"].contains(&tone.label.as_str()));
                assert!((-1.0..=1.0).contains(&tone.score));
            }
            (None, true) => {}
            (tone, _) => panic!("post {} {:?} has tone {tone:?}", post.id, post.text),
        }
    }
    let labels: std::collections::HashSet<&str> =
        posts.iter().filter_map(|post| post.tone.as_ref().map(|tone| tone.label.as_str())).collect();
    assert!(labels.len() >= 2, "the demo has more than one tone: {labels:?}");
}

#[test]
fn the_background_worker_tags_new_posts_without_being_asked() {
    std::env::set_var("HEARTH_MODELS_DIR", models_dir());
    let test = crate::support::empty_app();
    let app = App::open_interactive(Config {
        device: DeviceChoice::Cpu,
        ..Config::in_dir(test.dir.path().to_path_buf()).unwrap()
    })
    .unwrap();
    let post = app
        .create_post(&NewPost {
            text: "Utterly miserable day, everything went wrong and I hate it.".into(),
            ..NewPost::default()
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = app.enrichment_status().unwrap();
        assert_ne!(status.state, "unavailable", "{status:?}");
        if status.state == "idle" && status.done == status.total && app.get_post(post.id).unwrap().tone.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the worker did not finish: {status:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(app.get_post(post.id).unwrap().tone.unwrap().label, "negative");

    // A post stored while the worker idles counts at once: the status never says "all done"
    // while the post waits to be tagged.
    let before = app.enrichment_status().unwrap();
    let next = app.create_post(&NewPost { text: "What a lovely surprise!".into(), ..NewPost::default() }).unwrap();
    let status = app.enrichment_status().unwrap();
    assert_eq!(status.total, before.total + 1, "{status:?}");
    if status.done == status.total {
        assert!(app.get_post(next.id).unwrap().tone.is_some(), "all done, but the new post has no tone: {status:?}");
    } else {
        assert_eq!(status.state, "working", "{status:?}");
    }
}

#[test]
fn calm_mode_leaves_out_posts_tagged_negative() {
    let test = demo_app();
    let models = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    while enrich_batch(test.app.store(), &models, 64).unwrap() > 0 {}
    let everything = whole_feed(&test.app, FeedMode::Chronological);
    let negative =
        everything.iter().filter(|post| post.tone.as_ref().is_some_and(|tone| tone.label == "negative")).count();
    assert!(negative > 0, "the demo has negative posts");
    for mode in [FeedMode::Chronological, FeedMode::Ranked] {
        let mut calm = Vec::new();
        let mut cursor = None;
        loop {
            let page = test
                .app
                .feed(&hearth_core::FeedQuery { mode, cursor, calm: true, limit: Some(50), ..Default::default() })
                .unwrap();
            calm.extend(page.posts);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(calm.len(), everything.len() - negative, "{mode:?}");
        assert!(calm.iter().all(|post| post.tone.as_ref().is_none_or(|tone| tone.label != "negative")));
    }
}

#[test]
fn search_can_be_narrowed_to_one_tone() {
    let test = demo_app();
    let models = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    let happy = test
        .app
        .create_post(&NewPost {
            text: "The sunflower harvest was wonderful, I loved every minute of it!".into(),
            ..NewPost::default()
        })
        .unwrap();
    let sad = test
        .app
        .create_post(&NewPost {
            text: "The sunflower harvest was an awful, miserable waste of time. I hated it.".into(),
            ..NewPost::default()
        })
        .unwrap();
    while enrich_batch(test.app.store(), &models, 64).unwrap() > 0 {}
    let found = |tone| test.app.search("sunflower harvest", None, tone).unwrap().posts;
    for (tone, post) in [("positive", &happy), ("negative", &sad)] {
        let posts = found(Some(tone));
        assert_eq!(posts[0].id, post.id, "the post with both words comes first");
        // Posts found by meaning are narrowed by tone too.
        assert!(posts.iter().all(|p| p.tone.as_ref().is_some_and(|t| t.label == tone)), "{tone}");
    }
    let both: Vec<i64> = found(None).iter().take(2).map(|p| p.id).collect();
    assert!(both.contains(&happy.id) && both.contains(&sad.id));
    assert_eq!(
        test.app.search("sunflower", None, Some("angry")).unwrap_err().code(),
        hearth_core::ErrorCode::InvalidInput
    );
}
