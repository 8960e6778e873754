//! Bluesky accounts against the AT Protocol reference network on 127.0.0.1 (see
//! `bluesky_network.rs`): signing in with an app password, the timeline with pictures and
//! alt text, incremental sync without gaps or duplicates, likes, reposts, replies and posts
//! with pictures round-tripping to the PDS, expired tokens refreshed, a revoked session asking
//! to sign in again, notifications, and one post seen through two accounts shown once.

use std::time::{Duration, Instant};

use hearth_core::app::BlueskySignIn;
use hearth_core::interactions::InteractionKind;
use hearth_core::post::SourceKind;
use hearth_core::{ErrorCode, NewPost, Post};
use serde_json::{json, Value};

use crate::bluesky_network::{network, now, ACCESS_TTL};
use crate::support::{
    account_posts, empty_app, image, interact, remote_id, sync, use_the_secrets_file, whole_feed, TestApp, PNG_1X1,
};

fn sign_in(test: &TestApp, user: &str) -> i64 {
    use_the_secrets_file();
    let network = network();
    let request = BlueskySignIn {
        handle: format!("@{}", network.handle(user)),
        app_password: network.app_password(user),
        service: Some(network.pds.clone()),
    };
    test.app.add_bluesky_account(&request).unwrap().id
}

/// Syncs until `done` holds (the AppView indexes writes within about a second).
fn sync_until(test: &TestApp, account_id: i64, what: &str, done: impl Fn(&TestApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let outcome = sync(test, account_id);
        assert_ne!(outcome.status, "failed", "{outcome:?}");
        if done(test) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not happen");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn saved_credentials(test: &TestApp) -> Value {
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(test.dir.path().join("secrets.json")).unwrap()).unwrap();
    serde_json::from_str(secrets.as_object().unwrap().values().next().unwrap().as_str().unwrap()).unwrap()
}

#[test]
fn signing_in_brings_the_timeline_with_pictures_and_actions_reach_the_server() {
    let network = network();
    let test = empty_app();
    let account_id = sign_in(&test, "alice");
    let account = test.app.accounts().unwrap().remove(0);
    assert_eq!((account.kind, account.state, account.token_storage), (SourceKind::Bluesky, "ok", "file"));
    assert_eq!(account.handle, "@alice.test");
    assert_eq!(account.display_name, "Alice", "the name on her profile");

    let posts = account_posts(&test, account_id);
    let bob_uri = network.ready["posts"]["bob"]["uri"].as_str().unwrap();
    let carol_uri = network.ready["posts"]["carol"]["uri"].as_str().unwrap();
    let bob = posts.iter().find(|post| remote_id(&test, post.id) == bob_uri).expect("bob's post");
    let carol = posts.iter().find(|post| remote_id(&test, post.id) == carol_uri).expect("carol's post");
    assert_eq!(bob.author.handle, "bob.test");
    assert_eq!(carol.media.len(), 1);
    assert_eq!(carol.media[0].alt_text.as_deref(), network.ready["posts"]["carol"]["alt"].as_str());
    assert!(carol.media[0].cached, "the picture is fetched by Hearth");

    interact(&test, bob.id, InteractionKind::Like);
    interact(&test, carol.id, InteractionKind::Boost);
    let reply = test
        .app
        .create_post(&NewPost { text: "Replying from Hearth".into(), reply_to: Some(bob.id), ..NewPost::default() })
        .unwrap();
    let picture = image(PNG_1X1, Some("One red dot"));
    let mine = test
        .app
        .create_post(&NewPost {
            text: "A picture from Hearth".into(),
            images: vec![picture],
            account_id: Some(account_id),
            ..NewPost::default()
        })
        .unwrap();
    sync(&test, account_id);
    assert!(test.app.outbox().unwrap().is_empty(), "{:?}", test.app.outbox().unwrap());

    // The AppView indexes writes within about a second: the server's view is awaited.
    let server_view = |uris: &[&str], done: &dyn Fn(&[Value]) -> bool| -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = network.posts(&network.session("alice"), uris);
            if done(&seen) {
                return seen;
            }
            assert!(Instant::now() < deadline, "the server never showed it: {seen:?}");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let viewer =
        |seen: &[Value], uri: &str| seen.iter().find(|post| post["uri"] == uri).map(|post| post["viewer"].clone());
    server_view(&[bob_uri, carol_uri], &|seen| {
        viewer(seen, bob_uri).is_some_and(|v| v["like"].is_string())
            && viewer(seen, carol_uri).is_some_and(|v| v["repost"].is_string())
    });
    let reply_uri = remote_id(&test, reply.id);
    let mine_uri = remote_id(&test, mine.id);
    let written = server_view(&[&reply_uri, &mine_uri], &|seen| seen.len() == 2);
    let reply_record = &written.iter().find(|post| post["uri"] == reply_uri.as_str()).unwrap()["record"];
    assert_eq!(reply_record["reply"]["parent"]["uri"], bob_uri);
    assert_eq!(reply_record["reply"]["root"]["uri"], bob_uri);
    let picture_post = written.iter().find(|post| post["uri"] == mine_uri.as_str()).unwrap();
    assert_eq!(picture_post["record"]["embed"]["images"][0]["alt"], "One red dot");

    // Undoing deletes the records.
    interact(&test, bob.id, InteractionKind::Unlike);
    interact(&test, carol.id, InteractionKind::Unboost);
    sync(&test, account_id);
    server_view(&[bob_uri, carol_uri], &|seen| {
        seen.iter().all(|post| post["viewer"]["like"].is_null() && post["viewer"]["repost"].is_null())
    });
    // What Hearth posted is not brought back twice by the next sync.
    sync_until(&test, account_id, "the picture post coming back", |test| {
        account_posts(test, account_id).iter().filter(|post| post.text == "A picture from Hearth").count() == 1
    });
}

#[test]
fn incremental_sync_misses_nothing_and_expired_tokens_are_refreshed() {
    let network = network();
    let test = empty_app();
    let account_id = sign_in(&test, "alice");
    let first_token = saved_credentials(&test)["access_token"].as_str().unwrap().to_owned();

    // More than a page (50) between two syncs (other tests post at the same time, too).
    let bob = network.session("bob");
    let mut written = Vec::new();
    for index in 0..60 {
        written.push(
            network.write_post(&bob, &format!("Bob's numbered skeet {index}"))["uri"].as_str().unwrap().to_owned(),
        );
    }
    let numbered = |test: &TestApp| -> Vec<Post> {
        account_posts(test, account_id)
            .into_iter()
            .filter(|post| post.text.starts_with("Bob's numbered skeet"))
            .collect()
    };
    // The access token has expired by the time of the sync: it is refreshed, not a failure.
    std::thread::sleep(ACCESS_TTL + Duration::from_secs(1));
    sync_until(&test, account_id, "all 60 posts arriving", |test| numbered(test).len() >= 60);
    assert_ne!(saved_credentials(&test)["access_token"].as_str().unwrap(), first_token, "the refreshed token is kept");
    sync(&test, account_id);
    let posts = numbered(&test);
    assert_eq!(posts.len(), 60, "each once");
    let ids: std::collections::HashSet<String> = posts.iter().map(|post| remote_id(&test, post.id)).collect();
    for uri in &written {
        assert!(ids.contains(uri), "{uri} was missed");
    }
    let all = account_posts(&test, account_id);
    let distinct: std::collections::HashSet<String> = all.iter().map(|post| remote_id(&test, post.id)).collect();
    assert_eq!(distinct.len(), all.len(), "no post stored twice");
}

#[test]
fn a_revoked_session_asks_to_sign_in_again() {
    let test = empty_app();
    let account_id = sign_in(&test, "alice");
    let network = network();
    // Signed out elsewhere: the refresh token is revoked, and the access token runs out.
    let refresh = saved_credentials(&test)["refresh_token"].as_str().unwrap().to_owned();
    network.call(&refresh, "com.atproto.server.deleteSession");
    std::thread::sleep(ACCESS_TTL + Duration::from_secs(1));
    let outcome = sync(&test, account_id);
    assert_eq!(outcome.status, "failed");
    let account = test.app.accounts().unwrap().remove(0);
    assert_eq!(account.state, "sign_in_again", "{account:?}");
    // Signing in again brings the same account back.
    assert_eq!(sign_in(&test, "alice"), account_id);
    assert_eq!(test.app.accounts().unwrap().remove(0).state, "ok");
    // A wrong app password is refused plainly.
    let error = test
        .app
        .add_bluesky_account(&BlueskySignIn {
            handle: "alice.test".into(),
            app_password: "wrong-wrong-wrong-wrong".into(),
            service: Some(network.pds.clone()),
        })
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput, "{error}");
    assert!(error.to_string().contains("did not accept"), "{error}");
}

#[test]
fn notifications_arrive_and_a_post_seen_through_two_accounts_is_shown_once() {
    let network = network();
    let test = empty_app();
    let alice_id = sign_in(&test, "alice");
    // Carol follows Bob too, and signs in to the same Hearth.
    let carol = network.session("carol");
    let bob_did = network.accounts["bob"]["did"].as_str().unwrap();
    network.create(
        &carol,
        "app.bsky.graph.follow",
        json!({"$type": "app.bsky.graph.follow", "subject": bob_did, "createdAt": now()}),
    );
    let bob = network.session("bob");
    let shared = network.write_post(&bob, "Seen by Alice and Carol alike");
    let shared_uri = shared["uri"].as_str().unwrap().to_owned();
    // Bob replies to one of Alice's posts and likes it.
    let alice = network.session("alice");
    let hers = network.write_post(&alice, "Alice asks a question");
    network.create(
        &bob,
        "app.bsky.feed.like",
        json!({"$type": "app.bsky.feed.like", "subject": hers, "createdAt": now()}),
    );
    network.create(
        &bob,
        "app.bsky.feed.post",
        json!({
            "$type": "app.bsky.feed.post", "text": "Bob answers Alice", "createdAt": now(),
            "reply": {"root": hers, "parent": hers},
        }),
    );
    sync_until(&test, alice_id, "the notifications", |test| {
        let kinds: Vec<String> = test.app.notifications(None).unwrap().into_iter().map(|n| n.kind).collect();
        kinds.contains(&"reply".to_owned()) && kinds.contains(&"favourite".to_owned())
    });
    let notifications = test.app.notifications(None).unwrap();
    let reply = notifications.iter().find(|notification| notification.kind == "reply").unwrap();
    assert_eq!(reply.actor.handle, "@bob.test");
    assert_eq!(reply.excerpt.as_deref(), Some("Bob answers Alice"));

    let carol_id = sign_in(&test, "carol");
    sync_until(&test, alice_id, "the shared post", |test| {
        account_posts(test, alice_id).iter().any(|post| remote_id(test, post.id) == shared_uri)
    });
    sync_until(&test, carol_id, "the shared post through carol", |test| {
        test.app
            .store()
            .read(|connection| {
                Ok(connection.query_row(
                    "SELECT count(*) FROM posts WHERE source_id = ?1 AND canonical = ?2",
                    rusqlite::params![carol_id, shared_uri],
                    |row| row.get::<_, i64>(0),
                )?)
            })
            .unwrap()
            == 1
    });
    let feed = whole_feed(&test.app, hearth_core::FeedMode::Ranked);
    let copies: Vec<&Post> = feed.iter().filter(|post| post.text == "Seen by Alice and Carol alike").collect();
    assert_eq!(copies.len(), 1, "shown once in the merged timeline");
    let via: Vec<i64> = copies[0].via.iter().map(|via| via.account_id).collect();
    assert_eq!(via, vec![alice_id, carol_id]);
}

#[test]
fn a_thread_comes_from_the_server() {
    let network = network();
    let test = empty_app();
    let account_id = sign_in(&test, "alice");
    let bob = network.session("bob");
    let root = network.write_post(&bob, "Bob starts a thread");
    let carol = network.session("carol");
    network.create(
        &carol,
        "app.bsky.feed.post",
        json!({
            "$type": "app.bsky.feed.post", "text": "Carol answers Bob", "createdAt": now(),
            "reply": {"root": root, "parent": root},
        }),
    );
    let root_uri = root["uri"].as_str().unwrap().to_owned();
    sync_until(&test, account_id, "bob's thread start", |test| {
        account_posts(test, account_id).iter().any(|post| remote_id(test, post.id) == root_uri)
    });
    let post = account_posts(&test, account_id).into_iter().find(|post| remote_id(&test, post.id) == root_uri).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let thread = loop {
        let thread = test.app.thread(post.id).unwrap();
        if thread.len() >= 2 || Instant::now() > deadline {
            break thread;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let texts: Vec<&str> = thread.iter().map(|post| post.text.as_str()).collect();
    assert_eq!(texts, vec!["Bob starts a thread", "Carol answers Bob"]);
    assert_eq!(thread[0].id, post.id);
}
