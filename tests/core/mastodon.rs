//! Mastodon accounts against a real Mastodon API server on 127.0.0.1 (`mastodon-mock`, see
//! `mastodon_server.rs`): signing in through the OAuth flow, syncing the home timeline without
//! gaps or duplicates while others post, every action round-tripping to the server (also
//! after the server was down), revoked sign-ins, hostile HTML and oversized pictures, live
//! updates, notifications, and signing out.

use std::time::{Duration, Instant};

use hearth_core::interactions::InteractionKind;
use hearth_core::post::SourceKind;
use hearth_core::{NewPost, Post};
use serde_json::Value;

use crate::mastodon_server::MastodonServer;
use crate::support::{
    account_posts, empty_app, image, interact as like, remote_id, sync, use_the_secrets_file, TestApp, PNG_1X1,
};

/// Signs `user` in through the whole browser flow; returns the account's id.
fn sign_in(test: &TestApp, server: &MastodonServer, user: &str) -> i64 {
    use_the_secrets_file();
    let sign_in = test.app.begin_mastodon_sign_in(&server.server()).unwrap();
    assert!(sign_in.authorize_url.contains("code_challenge_method=S256"), "PKCE: {}", sign_in.authorize_url);
    assert_eq!(test.app.sign_in_state(&sign_in.id).unwrap().state, "waiting");
    let page = server.approve(&sign_in.authorize_url, user);
    assert!(page.contains("Signed in to Hearth"), "{page}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = test.app.sign_in_state(&sign_in.id).unwrap();
        match state.state {
            "done" => return state.account.unwrap().id,
            "failed" => panic!("sign-in failed: {:?}", state.error),
            _ => {}
        }
        assert!(Instant::now() < deadline, "the sign-in did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn signing_in_keeps_the_token_out_of_the_database_and_brings_the_timeline() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let account = test.app.accounts().unwrap().into_iter().find(|account| account.id == account_id).unwrap();
    assert_eq!(account.kind, SourceKind::Mastodon);
    assert_eq!(account.handle, format!("@{}", server.handle("alice")));
    assert_eq!(account.display_name, "Alice");
    assert_eq!(account.state, "ok");
    assert_eq!(account.token_storage, "file");

    // The token is in the private file, never in SQLite.
    let secrets = std::fs::read_to_string(test.dir.path().join("secrets.json")).unwrap();
    let token = serde_json::from_str::<Value>(&secrets).unwrap().as_object().unwrap().values().next().unwrap().clone();
    let token: Value = serde_json::from_str(token.as_str().unwrap()).unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    assert!(token.len() > 10);
    for file in ["hearth.db", "hearth.db-wal"] {
        let bytes = std::fs::read(test.dir.path().join(file)).unwrap_or_default();
        assert!(!bytes.windows(token.len()).any(|window| window == token.as_bytes()), "the token is in {file}");
    }
    assert_eq!(server.get(&token, "/api/v1/accounts/verify_credentials")["username"], "alice");
    // An account is not a feed: it is not listed as a subscription, nor exported as one.
    assert!(test.app.sources().unwrap().is_empty());
    assert!(!test.app.export_opml().unwrap().contains("mastodon:"), "{}", test.app.export_opml().unwrap());

    let posts = account_posts(&test, account_id);
    let texts: Vec<&str> = posts.iter().map(|post| post.text.as_str()).collect();
    assert!(texts.contains(&"Hello from Bob, the first post of the timeline"), "{texts:?}");
    assert!(texts.contains(&"Carol's garden is in bloom"), "{texts:?}");
    let bob = posts.iter().find(|post| post.text.starts_with("Hello from Bob")).unwrap();
    assert_eq!(bob.author.handle, server.handle("bob"));
    assert_eq!(bob.author.display_name, "Bob");
    assert_eq!(bob.source.kind, SourceKind::Mastodon);
}

#[test]
fn incremental_sync_misses_nothing_and_stores_nothing_twice_while_others_post() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let before = account_posts(&test, account_id).len();

    // More than one page (40) arrives between two syncs, some while the first sync runs.
    let mut sent = Vec::new();
    for index in 0..45 {
        sent.push(
            server.post("bob-token", &[("status", &format!("Bob's numbered post {index}"))])["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let poster = {
        let url = server.url("/api/v1/statuses");
        std::thread::spawn(move || {
            (0..10)
                .map(|index| {
                    let reply: Value = ureq::post(&url)
                        .set("Authorization", "Bearer carol-token")
                        .send_form(&[("status", &format!("Carol writes during the sync {index}"))])
                        .unwrap()
                        .into_json()
                        .unwrap();
                    reply["id"].as_str().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        })
    };
    let first = sync(&test, account_id);
    assert_eq!(first.status, "ok", "{first:?}");
    sent.extend(poster.join().unwrap());
    let second = sync(&test, account_id);
    assert_eq!(second.status, "ok", "{second:?}");
    let third = sync(&test, account_id);
    assert_eq!(third.new, 0, "nothing new, nothing twice: {third:?}");

    let posts = account_posts(&test, account_id);
    assert_eq!(posts.len(), before + 55, "every post, once");
    let ids: std::collections::HashSet<String> = posts.iter().map(|post| remote_id(&test, post.id)).collect();
    assert_eq!(ids.len(), posts.len(), "no duplicates");
    for id in &sent {
        assert!(ids.contains(id), "status {id} was missed");
    }
}

#[test]
fn a_boost_is_shown_once_as_a_boost_and_content_warnings_and_sensitive_media_are_kept() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let carols =
        account_posts(&test, account_id).into_iter().find(|post| post.text.starts_with("Carol's garden")).unwrap();
    // Bob boosts Carol's post, which alice already has from Carol herself.
    server.act("bob-token", &remote_id(&test, carols.id), "reblog");
    let hidden = server.post(
        "bob-token",
        &[("status", "The ending of the film"), ("spoiler_text", "Film spoilers"), ("sensitive", "true")],
    );
    sync(&test, account_id);
    let posts = account_posts(&test, account_id);
    let garden: Vec<&Post> = posts.iter().filter(|post| post.text.starts_with("Carol's garden")).collect();
    assert_eq!(garden.len(), 1, "the boosted post is shown once");
    assert_eq!(garden[0].boosted_by.as_ref().unwrap().handle, format!("@{}", server.handle("bob")));
    assert_eq!(garden[0].counts.boosts, 1);
    let spoiler = posts.iter().find(|post| remote_id(&test, post.id) == hidden["id"].as_str().unwrap()).unwrap();
    assert_eq!(spoiler.content_warning.as_deref(), Some("Film spoilers"));
    assert!(spoiler.sensitive);
}

#[test]
fn likes_boosts_replies_and_posts_with_pictures_reach_the_server() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let bob =
        account_posts(&test, account_id).into_iter().find(|post| post.text.starts_with("Hello from Bob")).unwrap();
    let status_id = remote_id(&test, bob.id);

    like(&test, bob.id, InteractionKind::Like);
    like(&test, bob.id, InteractionKind::Boost);
    assert_eq!(test.app.outbox().unwrap().len(), 2, "queued until sent");
    sync(&test, account_id);
    assert!(test.app.outbox().unwrap().is_empty(), "{:?}", test.app.outbox().unwrap());
    let status = server.status("alice-token", &status_id);
    assert_eq!((status["favourited"].as_bool(), status["reblogged"].as_bool()), (Some(true), Some(true)));
    let post = test.app.get_post(bob.id).unwrap();
    assert!(post.state.liked && post.boosted);
    assert_eq!(post.counts.likes, 1, "the like counted once after the server echoes it");

    like(&test, bob.id, InteractionKind::Unlike);
    like(&test, bob.id, InteractionKind::Unboost);
    sync(&test, account_id);
    let status = server.status("alice-token", &status_id);
    assert_eq!((status["favourited"].as_bool(), status["reblogged"].as_bool()), (Some(false), Some(false)));

    // A reply, through the account the post came from.
    let reply = test
        .app
        .create_post(&NewPost { text: "Welcome, Bob!".into(), reply_to: Some(bob.id), ..NewPost::default() })
        .unwrap();
    assert_eq!(reply.source.id, account_id);
    // A post with a picture and its alt text.
    let picture = image(PNG_1X1, Some("A single red dot"));
    let new = test
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
    let replies = server.get("alice-token", &format!("/api/v1/statuses/{status_id}/context"));
    let descendants = replies["descendants"].as_array().unwrap();
    assert_eq!(descendants.len(), 1);
    assert!(descendants[0]["content"].as_str().unwrap().contains("Welcome, Bob!"));
    let timeline = server.get(
        "alice-token",
        &format!(
            "/api/v1/accounts/{}/statuses",
            server.get("alice-token", "/api/v1/accounts/verify_credentials")["id"].as_str().unwrap()
        ),
    );
    let pictures: Vec<&Value> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|status| status["content"].as_str().unwrap().contains("A picture from Hearth"))
        .collect();
    assert_eq!(pictures.len(), 1, "posted once");
    assert_eq!(pictures[0]["media_attachments"][0]["description"], "A single red dot");
    // The post kept in Hearth is the one on the server: the next sync does not bring it twice.
    let mine: Vec<Post> = account_posts(&test, account_id)
        .into_iter()
        .filter(|post| post.text.contains("A picture from Hearth"))
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, new.id);
}

#[test]
fn an_action_made_while_the_server_is_down_goes_out_once_it_is_back() {
    let mut server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let bob =
        account_posts(&test, account_id).into_iter().find(|post| post.text.starts_with("Hello from Bob")).unwrap();
    let status_id = remote_id(&test, bob.id);
    server.stop();

    like(&test, bob.id, InteractionKind::Like);
    let outcome = sync(&test, account_id);
    assert_eq!(outcome.status, "failed");
    let waiting = test.app.outbox().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].state, "pending");
    assert!(waiting[0].last_error.as_deref().unwrap().contains("trying again"), "{waiting:?}");
    let account = test.app.accounts().unwrap().remove(0);
    assert_eq!((account.state, account.pending_actions), ("failing", 1));

    server.run();
    test.app.retry_outbox(waiting[0].id).unwrap();
    sync(&test, account_id);
    assert!(test.app.outbox().unwrap().is_empty());
    assert_eq!(server.status("alice-token", &status_id)["favourited"], true);
    assert_eq!(server.status("alice-token", &status_id)["favourites_count"], 1, "sent once");
}

#[test]
fn a_revoked_sign_in_asks_to_sign_in_again_and_keeps_what_was_queued() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(test.dir.path().join("secrets.json")).unwrap()).unwrap();
    let saved: Value =
        serde_json::from_str(secrets.as_object().unwrap().values().next().unwrap().as_str().unwrap()).unwrap();
    ureq::post(&server.url("/oauth/revoke")).send_form(&[("token", saved["access_token"].as_str().unwrap())]).unwrap();

    let bob =
        account_posts(&test, account_id).into_iter().find(|post| post.text.starts_with("Hello from Bob")).unwrap();
    like(&test, bob.id, InteractionKind::Like);
    let outcome = sync(&test, account_id);
    assert_eq!(outcome.status, "failed");
    let account = test.app.accounts().unwrap().remove(0);
    assert_eq!(account.state, "sign_in_again");
    assert!(account.last_error.unwrap().contains("sign in again"));
    assert_eq!(test.app.outbox().unwrap().len(), 1, "the like waits for the new sign-in");

    // Signing in again keeps the account, and the like goes out.
    assert_eq!(sign_in(&test, &server, "alice"), account_id);
    sync(&test, account_id);
    assert!(test.app.outbox().unwrap().is_empty());
    assert_eq!(server.status("alice-token", &remote_id(&test, bob.id))["favourited"], true);
}

#[test]
fn hostile_html_is_cleaned_and_oversized_pictures_are_refused() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let status = server.post("bob-token", &[("status", "placeholder")]);
    let id = status["id"].as_str().unwrap();
    server.set_content(
        id,
        r#"<p>Look <script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">here</a>
           <iframe src="http://evil.example"></iframe><a href="https://ok.example/" onclick="x()">ok</a></p>"#,
    );
    // An 11 MB "picture" on the server.
    let mut big = PNG_1X1.to_vec();
    big.resize(11 * 1024 * 1024, 0);
    let media: Value = ureq::post(&server.url("/api/v2/media"))
        .set("Authorization", "Bearer bob-token")
        .set("Content-Type", "multipart/form-data; boundary=XYZ")
        .send_bytes(&[b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n".as_slice(), &big, b"\r\n--XYZ--\r\n"].concat())
        .unwrap()
        .into_json()
        .unwrap();
    server.post("bob-token", &[("status", "A huge picture"), ("media_ids[]", media["id"].as_str().unwrap())]);
    sync(&test, account_id);

    let posts = account_posts(&test, account_id);
    let hostile = posts.iter().find(|post| remote_id(&test, post.id) == id).unwrap();
    let html = hostile.html.as_deref().unwrap();
    for bad in ["<script", "onerror", "javascript:", "<iframe", "onclick", "alert(1)"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    assert!(html.contains("https://ok.example/"), "{html}");
    let huge = posts.iter().find(|post| post.text == "A huge picture").unwrap();
    assert_eq!(huge.media.len(), 1);
    assert!(!huge.media[0].cached, "an 11 MB picture is not fetched");
    let error: Option<String> = test
        .app
        .store()
        .read(|connection| {
            Ok(connection.query_row("SELECT fetch_error FROM media WHERE post_id = ?1", [huge.id], |row| row.get(0))?)
        })
        .unwrap();
    assert!(error.unwrap().contains("larger than 10 MB"));
}

#[test]
fn notifications_live_updates_and_signing_out() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    // Live: Bob's new post arrives without a sync.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !test.app.accounts().unwrap()[0].live {
        assert!(Instant::now() < deadline, "the stream did not connect");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.post("bob-token", &[("status", "Live from Bob")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !account_posts(&test, account_id).iter().any(|post| post.text == "Live from Bob") {
        assert!(Instant::now() < deadline, "the streamed post did not arrive");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Notifications: Dave mentions Alice; Bob favourites and boosts her post.
    let mine = server.post("alice-token", &[("status", "Alice's own words")]);
    server.post("dave-token", &[("status", "@alice hello there")]);
    server.act("bob-token", mine["id"].as_str().unwrap(), "favourite");
    server.act("bob-token", mine["id"].as_str().unwrap(), "reblog");
    sync(&test, account_id);
    let notifications = test.app.notifications(None).unwrap();
    let kinds: Vec<&str> = notifications.iter().map(|notification| notification.kind.as_str()).collect();
    for kind in ["mention", "favourite", "boost"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let mention = notifications.iter().find(|notification| notification.kind == "mention").unwrap();
    assert_eq!(mention.actor.handle, format!("@{}", server.handle("dave")));
    assert!(mention.excerpt.as_deref().unwrap().contains("hello there"));
    assert!(!mention.read);
    let favourite = notifications.iter().find(|notification| notification.kind == "favourite").unwrap();
    assert!(test.app.get_post(favourite.post_id.unwrap()).unwrap().text.contains("Alice's own words"));
    // Marked read up to the newest one seen: one that arrives after stays new.
    let newest_seen = notifications.iter().map(|notification| notification.id).max().unwrap();
    server.post("dave-token", &[("status", "@alice one more thing")]);
    sync(&test, account_id);
    test.app.mark_notifications_read(Some(newest_seen)).unwrap();
    let after = test.app.notifications(None).unwrap();
    let unread: Vec<&str> =
        after.iter().filter(|notification| !notification.read).filter_map(|n| n.excerpt.as_deref()).collect();
    assert_eq!(unread.len(), 1, "{unread:?}");
    assert!(unread[0].contains("one more thing"));
    test.app.mark_notifications_read(None).unwrap();
    assert!(test.app.notifications(None).unwrap().iter().all(|notification| notification.read));

    // Signing out revokes the token on the server and forgets it here; liked posts stay.
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(test.dir.path().join("secrets.json")).unwrap()).unwrap();
    let saved: Value =
        serde_json::from_str(secrets.as_object().unwrap().values().next().unwrap().as_str().unwrap()).unwrap();
    let token = saved["access_token"].as_str().unwrap().to_owned();
    let bob =
        account_posts(&test, account_id).into_iter().find(|post| post.text.starts_with("Hello from Bob")).unwrap();
    like(&test, bob.id, InteractionKind::Like);
    test.app.remove_account(account_id).unwrap();
    assert!(test.app.accounts().unwrap().is_empty());
    let refused = ureq::get(&server.url("/api/v1/accounts/verify_credentials"))
        .set("Authorization", &format!("Bearer {token}"))
        .call();
    assert!(matches!(refused, Err(ureq::Error::Status(401, _))), "the token still works");
    let secrets = std::fs::read_to_string(test.dir.path().join("secrets.json")).unwrap();
    assert!(!secrets.contains(&token));
    assert!(test.app.get_post(bob.id).is_ok(), "the liked post stays");
    assert!(test.app.notifications(None).unwrap().is_empty());
}

#[test]
fn bad_sign_in_input_gets_a_clear_error() {
    let test = empty_app();
    for bad in ["", "ftp://example.social", "https://user:pw@example.social"] {
        let error = test.app.begin_mastodon_sign_in(bad).unwrap_err();
        assert_eq!(error.code(), hearth_core::ErrorCode::InvalidInput, "{bad:?}: {error}");
    }
    // Nothing answers on this port.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let error = test.app.begin_mastodon_sign_in(&format!("http://127.0.0.1:{port}")).unwrap_err();
    assert_eq!(error.code(), hearth_core::ErrorCode::Unavailable);
    assert!(error.to_string().contains("could not be reached"), "{error}");
    // A sign-in given up on stops waiting, and its address no longer answers.
    let server = MastodonServer::start();
    let sign_in = test.app.begin_mastodon_sign_in(&server.server()).unwrap();
    test.app.cancel_sign_in(&sign_in.id).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while test.app.sign_in_state(&sign_in.id).unwrap().state == "waiting" {
        assert!(Instant::now() < deadline, "the cancelled sign-in still waits");
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = test.app.sign_in_state(&sign_in.id).unwrap();
    assert_eq!((state.state, state.error.as_deref()), ("failed", Some("the sign-in was cancelled")));
    let callback = url::Url::parse(&sign_in.authorize_url).unwrap();
    let redirect = callback.query_pairs().find(|(name, _)| name == "redirect_uri").unwrap().1.into_owned();
    assert!(ureq::get(&redirect).call().is_err(), "the listener is closed");
    // Replies and posts to accounts are checked before anything is kept.
    let error =
        test.app.create_post(&NewPost { text: "hi".into(), account_id: Some(9999), ..NewPost::default() }).unwrap_err();
    assert_eq!(error.code(), hearth_core::ErrorCode::NotFound);
}

#[test]
fn a_thread_comes_from_the_server_and_strangers_replies_stay_out_of_the_timeline() {
    let server = MastodonServer::start();
    let test = empty_app();
    let account_id = sign_in(&test, &server, "alice");
    let bob =
        account_posts(&test, account_id).into_iter().find(|post| post.text.starts_with("Hello from Bob")).unwrap();
    let bob_id = remote_id(&test, bob.id);
    let carol = server.post("carol-token", &[("status", "@bob Carol answers"), ("in_reply_to_id", &bob_id)]);
    let dave = server
        .post("dave-token", &[("status", "@bob Dave, a stranger to Alice, answers too"), ("in_reply_to_id", &bob_id)]);
    sync(&test, account_id);

    let thread = test.app.thread(bob.id).unwrap();
    let ids: Vec<String> = thread.iter().map(|post| remote_id(&test, post.id)).collect();
    assert_eq!(
        ids,
        vec![bob_id.clone(), carol["id"].as_str().unwrap().to_owned(), dave["id"].as_str().unwrap().to_owned()]
    );
    assert_eq!(thread[0].id, bob.id, "the post keeps its id");
    let timeline: Vec<String> = account_posts(&test, account_id).iter().map(|post| remote_id(&test, post.id)).collect();
    assert!(
        !timeline.contains(&dave["id"].as_str().unwrap().to_owned()),
        "a reply fetched for the thread is not in the timeline"
    );
    // Opening the thread of Carol's reply shows what it answers.
    let carols = thread.iter().find(|post| post.text.contains("Carol answers")).unwrap();
    let up = test.app.thread(carols.id).unwrap();
    assert_eq!(up[0].id, bob.id);
    // A local note has no thread.
    let note = test.app.create_post(&NewPost { text: "just here".into(), ..NewPost::default() }).unwrap();
    assert_eq!(test.app.thread(note.id).unwrap_err().code(), hearth_core::ErrorCode::InvalidInput);
}
