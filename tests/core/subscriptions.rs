//! Subscriptions end to end against a real web server on 127.0.0.1 (`feed_server`): adding a
//! feed or a site, syncing with conditional GETs, edits replacing their posts without losing
//! likes, every kind of server fault reported in plain words without losing a stored post,
//! permanent moves followed, remote pictures fetched by the backend, removal, OPML.

use hearth_core::sources::http::FEED_TIMEOUT_ENV;
use hearth_core::{App, ErrorCode, FeedMode};

use crate::feed_server::{FeedServer, Route};
use crate::support::{empty_app, whole_feed, TestApp};

fn app() -> TestApp {
    // An answer that never comes fails in two seconds, not thirty.
    std::env::set_var(FEED_TIMEOUT_ENV, "2");
    empty_app()
}

/// An RSS 2.0 document of ours: `(guid, title, html body, link)` per item.
fn rss(items: &[(Option<&str>, &str, &str, Option<&str>)]) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Harbour News</title>\
         <link>https://harbour.test/</link><description>Test feed</description><ttl>60</ttl>\n",
    );
    for (index, (guid, title, body, link)) in items.iter().enumerate() {
        xml.push_str("<item>");
        if let Some(guid) = guid {
            xml.push_str(&format!("<guid isPermaLink=\"false\">{guid}</guid>"));
        }
        if let Some(link) = link {
            xml.push_str(&format!("<link>{link}</link>"));
        }
        xml.push_str(&format!(
            "<title>{title}</title><description><![CDATA[{body}]]></description>\
             <pubDate>Mon, 2{} Nov 2026 0{index}:00:00 GMT</pubDate></item>\n",
            index % 3
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml.into_bytes()
}

fn posts_of(app: &App, source_id: i64) -> Vec<hearth_core::Post> {
    whole_feed(app, FeedMode::Chronological).into_iter().filter(|post| post.source.id == source_id).collect()
}

#[test]
fn a_feed_is_subscribed_then_fetched_again_only_when_it_changed() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    server.fixture("/blog.xml", "rss2/rss_2.0_relurl_1.xml", "application/rss+xml");
    let source = app.add_source(&server.url("/blog.xml")).unwrap();
    assert_eq!((source.item_count, source.state, source.kind.as_str()), (2, "ok", "rss"), "{source:?}");
    assert!(source.last_sync_at.is_some() && source.next_sync_at.is_some() && source.last_error.is_none());
    let posts = posts_of(&app, source.id);
    assert_eq!(posts.len(), 2);
    let post = posts.iter().find(|post| post.title.as_deref() == Some("Pareto-optimal compression")).unwrap();
    assert_eq!(post.url.as_deref(), Some("https://insanity.industries/post/pareto-optimal-compression/"));
    assert!(post.text.starts_with("Pareto-optimal compression"), "{}", post.text);

    let outcomes = app.sync_sources(None).unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!((outcomes[0].status, outcomes[0].new), ("unchanged", 0), "{outcomes:?}");
    let last = server.requests("/blog.xml").pop().unwrap();
    assert!(last.if_none_match.is_some() && last.if_modified_since.is_some(), "validators sent: {last:?}");
    assert_eq!(posts_of(&app, source.id).len(), 2, "nothing stored twice");
    let error = app.add_source(&server.url("/blog.xml")).map(|again| again.id);
    assert_eq!(error.unwrap(), source.id, "subscribing again is the same subscription");
    assert_eq!(app.sources().unwrap().len(), 1);
}

#[test]
fn a_site_address_leads_to_the_feed_it_advertises() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    server.fixture("/posts/first-post/", "html/ours_autodiscovery_relative.html", "text/html; charset=utf-8");
    server.fixture("/index.xml", "rss1/rss_1.0_debian.xml", "application/rdf+xml");
    let source = app.add_source(&server.url("/posts/first-post/")).unwrap();
    assert_eq!(source.url, server.url("/index.xml"));
    assert_eq!(source.name, "Debian News");
    assert_eq!(source.item_count, 1);

    server.route(
        "/plain",
        Route::Document {
            body: b"<html><head><title>x</title></head><body>hi</body></html>".to_vec(),
            content_type: "text/html",
        },
    );
    let error = app.add_source(&server.url("/plain")).unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert!(error.to_string().contains("no feed found"), "{error}");
}

#[test]
fn addresses_are_checked_before_anything_is_fetched() {
    let TestApp { app, dir: _dir } = app();
    for bad in ["", "   ", "ftp://files.test/feed", "javascript:alert(1)", "http://"] {
        let error = app.add_source(bad).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidInput, "{bad:?}: {error}");
    }
    let error = app.add_source("http://127.0.0.1:9/feed.xml").unwrap_err();
    assert_eq!(error.code(), ErrorCode::Unavailable, "{error}");
    assert!(error.to_string().contains("could not fetch"), "{error}");
    assert!(app.sources().unwrap().is_empty());
}

#[test]
fn an_edited_entry_replaces_its_post_and_keeps_the_users_like() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    let first = rss(&[
        (Some("a"), "Harbour closed", "<p>Storm warning for the harbour tonight.</p>", Some("https://harbour.test/a")),
        (None, "Ferry times", "<p>The ferry runs hourly.</p>", Some("https://harbour.test/ferry")),
        (None, "No id, no link", "<p>Only words here.</p>", None),
    ]);
    server.route("/feed", Route::Document { body: first, content_type: "application/rss+xml" });
    let source = app.add_source(&server.url("/feed")).unwrap();
    assert_eq!(source.item_count, 3);
    let storm =
        posts_of(&app, source.id).into_iter().find(|post| post.title.as_deref() == Some("Harbour closed")).unwrap();
    app.record_interaction(&hearth_core::InteractionInput { post_id: Some(storm.id), ..like() }).unwrap();

    let second = rss(&[
        (
            Some("a"),
            "Harbour closed",
            "<p>Storm warning lifted: the harbour reopens at dawn.</p>",
            Some("https://harbour.test/a"),
        ),
        (None, "Ferry times", "<p>The ferry runs hourly.</p>", Some("https://harbour.test/ferry")),
        (None, "No id, no link", "<p>Only words here.</p>", None),
        (Some("d"), "Fish market", "<p>Fresh catch on the quay.</p>", Some("https://harbour.test/d")),
    ]);
    server.route("/feed", Route::Document { body: second, content_type: "application/rss+xml" });
    let outcome = app.sync_sources(Some(source.id)).unwrap().pop().unwrap();
    assert_eq!((outcome.status, outcome.new, outcome.updated), ("ok", 1, 1), "{outcome:?}");
    let posts = posts_of(&app, source.id);
    assert_eq!(posts.len(), 4, "{:?}", posts.iter().map(|post| &post.title).collect::<Vec<_>>());
    let edited = app.get_post(storm.id).unwrap();
    assert!(edited.text.contains("reopens at dawn"), "{}", edited.text);
    assert!(edited.state.liked, "the like survives the edit");
}

fn like() -> hearth_core::InteractionInput {
    serde_json::from_value(serde_json::json!({ "kind": "like", "post_id": 0 })).unwrap()
}

#[test]
fn server_faults_are_reported_plainly_and_lose_no_stored_post() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    server.fixture("/news.xml", "rss2/rss_2.0_relurl_1.xml", "application/rss+xml");
    let source = app.add_source(&server.url("/news.xml")).unwrap();
    let before: Vec<i64> = posts_of(&app, source.id).iter().map(|post| post.id).collect();
    let good = std::fs::read(crate::feed_documents::fixtures().join("rss2/rss_2.0_relurl_1.xml")).unwrap();
    let broken =
        std::fs::read(crate::feed_documents::fixtures().join("malformed/ours_bad_entities_unclosed.xml")).unwrap();
    let faults: Vec<(Route, &str)> = vec![
        (Route::Status { code: 500, headers: vec![] }, "500 (internal server error)"),
        (Route::Status { code: 503, headers: vec![("Retry-After", "7200".into())] }, "503 (service unavailable)"),
        (Route::Hang, "did not answer within 2 seconds"),
        (Route::Truncated { body: good.clone() }, "broke before the whole answer arrived"),
        (Route::Redirect { code: 302, location: "/loop-b".into() }, "redirects in a loop"),
        (Route::Huge { bytes: 11_000_000 }, "larger than 10 MB"),
        (Route::Document { body: broken, content_type: "application/rss+xml" }, "cannot be read"),
        (
            Route::Document {
                body: b"<!doctype html><html><body>Maintenance</body></html>".to_vec(),
                content_type: "text/html",
            },
            "web page, not a feed",
        ),
    ];
    server.route("/loop-b", Route::Redirect { code: 302, location: "/news.xml".into() });
    for (round, (fault, words)) in faults.into_iter().enumerate() {
        server.route("/news.xml", fault);
        let started = std::time::Instant::now();
        let outcome = app.sync_sources(Some(source.id)).unwrap().pop().unwrap();
        assert!(started.elapsed().as_secs() < 15, "{words}: took {:?}", started.elapsed());
        assert_eq!(outcome.status, "failed", "{words}: {outcome:?}");
        let error = outcome.error.clone().unwrap();
        assert!(error.contains(words), "expected {words:?} in {error:?}");
        assert!(error.contains("trying again in"), "{error}");
        let listed = app.sources().unwrap().pop().unwrap();
        assert_eq!((listed.state, listed.last_error.as_deref()), ("failing", Some(error.as_str())));
        let after: Vec<i64> = posts_of(&app, source.id).iter().map(|post| post.id).collect();
        assert_eq!(after, before, "round {round} ({words}) lost or added posts");
        let wait = time::OffsetDateTime::parse(&outcome.next_sync_at, &time::format_description::well_known::Rfc3339)
            .unwrap()
            - time::OffsetDateTime::now_utc();
        if words.starts_with("did not answer") {
            // No answer at all (offline, say): tried again within half an hour, however many failures.
            assert!(wait.whole_minutes() <= 30, "next sync in {wait}");
        }
        if words.starts_with("503") {
            let next =
                time::OffsetDateTime::parse(&outcome.next_sync_at, &time::format_description::well_known::Rfc3339)
                    .unwrap();
            let wait = next - time::OffsetDateTime::now_utc();
            assert!(wait.whole_minutes() >= 115, "Retry-After is honoured: next sync in {wait}");
        }
    }
    // Back to health: the failures are forgotten.
    server.route("/news.xml", Route::Document { body: good, content_type: "application/rss+xml" });
    let outcome = app.sync_sources(Some(source.id)).unwrap().pop().unwrap();
    assert_ne!(outcome.status, "failed", "{outcome:?}");
    let listed = app.sources().unwrap().pop().unwrap();
    assert_eq!((listed.state, listed.last_error), ("ok", None));
}

#[test]
fn a_feed_that_moved_for_good_is_followed_there() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    server.fixture("/old.xml", "atom/atom_example_xhtml.xml", "application/atom+xml");
    let source = app.add_source(&server.url("/old.xml")).unwrap();
    server.route("/old.xml", Route::Redirect { code: 301, location: "/new.xml".into() });
    server.fixture("/new.xml", "atom/atom_example_xhtml.xml", "application/atom+xml");
    let outcome = app.sync_sources(Some(source.id)).unwrap().pop().unwrap();
    assert_ne!(outcome.status, "failed", "{outcome:?}");
    assert_eq!(app.sources().unwrap()[0].url, server.url("/new.xml"));
    assert_eq!(posts_of(&app, source.id).len(), 1, "the same entry is not stored twice");

    // A temporary redirect leaves the address as it is.
    server.route("/new.xml", Route::Redirect { code: 302, location: "/elsewhere.xml".into() });
    server.fixture("/elsewhere.xml", "atom/atom_example_xhtml.xml", "application/atom+xml");
    app.sync_sources(Some(source.id)).unwrap();
    assert_eq!(app.sources().unwrap()[0].url, server.url("/new.xml"));
}

#[test]
fn pictures_in_entries_are_fetched_by_the_backend_into_the_cache() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    let png = std::fs::read(crate::feed_documents::fixtures().join("../images/espresso.png")).unwrap();
    server.route("/pics/espresso.png", Route::Document { body: png.clone(), content_type: "image/png" });
    server.route(
        "/pics/not-an-image.png",
        Route::Document { body: b"<html>nope</html>".to_vec(), content_type: "image/png" },
    );
    let body = "<p>Our new machine:</p><img src=\"/pics/espresso.png\" alt=\"An espresso\"><img src=\"/pics/not-an-image.png\">";
    server.route(
        "/feed",
        Route::Document {
            body: rss(&[(Some("e"), "Coffee", body, Some("/posts/coffee"))]),
            content_type: "application/rss+xml",
        },
    );
    let source = app.add_source(&server.url("/feed")).unwrap();
    let post = posts_of(&app, source.id).pop().unwrap();
    let html = post.html.clone().unwrap();
    assert!(html.contains(&format!("src=\"{}\"", server.url("/pics/espresso.png"))), "{html}");
    assert_eq!(post.url.as_deref(), Some(server.url("/posts/coffee").as_str()), "the link resolves against the feed");
    let espresso = post
        .media
        .iter()
        .find(|media| media.remote_url.as_deref() == Some(server.url("/pics/espresso.png").as_str()))
        .unwrap();
    assert!(espresso.cached, "{espresso:?}");
    assert_eq!(espresso.alt_text.as_deref(), Some("An espresso"));
    let file = app.media_file(espresso.id).unwrap();
    assert_eq!(file.mime, "image/png");
    assert_eq!(std::fs::read(&file.path).unwrap(), png);
    let fake = post
        .media
        .iter()
        .find(|media| media.remote_url.as_deref().is_some_and(|url| url.ends_with("not-an-image.png")))
        .unwrap();
    assert!(!fake.cached, "a file that is not a picture is not kept");
    assert!(app.media_file(fake.id).is_err());
}

#[test]
fn removing_a_source_keeps_the_posts_the_user_liked_unless_told_otherwise() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    server.fixture("/a.xml", "rss09/rss091.xml", "application/rss+xml");
    server.fixture("/b.xml", "rss09/rss091.xml", "application/rss+xml");
    let kept = app.add_source(&server.url("/a.xml")).unwrap();
    let gone = app.add_source(&server.url("/b.xml")).unwrap();
    for source in [kept.id, gone.id] {
        let first = posts_of(&app, source)[0].id;
        app.record_interaction(&hearth_core::InteractionInput { post_id: Some(first), ..like() }).unwrap();
    }
    let removed = app.remove_source(kept.id, true).unwrap();
    assert_eq!((removed.removed_posts, removed.kept_posts), (5, 1));
    let removed = app.remove_source(gone.id, false).unwrap();
    assert_eq!((removed.removed_posts, removed.kept_posts), (6, 0));
    assert!(app.sources().unwrap().is_empty());
    let left = whole_feed(&app, FeedMode::Chronological);
    assert_eq!(left.len(), 1);
    assert!(left[0].state.liked);
    assert_eq!(app.remove_source(gone.id, true).unwrap_err().code(), ErrorCode::NotFound);
}

#[test]
fn sources_are_renamed_tagged_paused_and_resumed() {
    let TestApp { app, dir: _dir } = app();
    let server = FeedServer::start();
    server.fixture("/f.xml", "json/jsonfeed_example_1.json", "application/feed+json");
    let source = app.add_source(&server.url("/f.xml")).unwrap();
    let change = |json: serde_json::Value| serde_json::from_value::<hearth_core::app::SourceChange>(json).unwrap();
    let renamed = app
        .update_source(
            source.id,
            &change(serde_json::json!({ "name": "  DF  ", "tags": ["apple", " tech ", "apple", ""] })),
        )
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.tags.clone()), ("DF", vec!["apple".to_owned(), "tech".to_owned()]));
    let paused = app.update_source(source.id, &change(serde_json::json!({ "paused": true }))).unwrap();
    assert_eq!((paused.state, paused.next_sync_at.clone()), ("paused", None));
    assert!(app.sync_sources(None).unwrap().is_empty(), "a paused source is not synced");
    assert_eq!(app.refresh_sources(Some(source.id)).unwrap_err().code(), ErrorCode::Conflict);
    let resumed = app.update_source(source.id, &change(serde_json::json!({ "paused": false }))).unwrap();
    assert!(!resumed.paused && resumed.next_sync_at.is_some());
    for bad in [serde_json::json!({ "name": "" }), serde_json::json!({ "tags": ["x".repeat(61)] })] {
        assert_eq!(app.update_source(source.id, &change(bad)).unwrap_err().code(), ErrorCode::InvalidInput);
    }
    assert_eq!(
        app.update_source(999, &change(serde_json::json!({ "name": "x" }))).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[test]
fn an_opml_list_subscribes_with_folders_as_tags_and_exports_back() {
    let TestApp { app, dir: _dir } = app();
    let text =
        std::fs::read_to_string(crate::feed_documents::fixtures().join("opml/ours_nested_folders.opml")).unwrap();
    let import = app.import_opml(&text).unwrap();
    assert_eq!((import.added, import.existing, import.errors.len()), (6, 0, 0), "{import:?}");
    let sources = app.sources().unwrap();
    let rust = sources.iter().find(|source| source.url == "https://this-week-in-rust.org/rss.xml").unwrap();
    assert_eq!(
        (rust.name.as_str(), rust.tags.clone(), rust.state),
        ("This Week in Rust", vec!["Tech".to_owned(), "Rust".to_owned()], "new")
    );

    let again = app.import_opml(&text).unwrap();
    assert_eq!((again.added, again.existing), (0, 6));
    let exported = app.export_opml().unwrap();
    let round = hearth_core::sources::opml::parse(&exported).unwrap();
    assert_eq!(round.len(), 6);
    for source in &sources {
        let feed = round.iter().find(|feed| feed.url == source.url).unwrap();
        assert_eq!(feed.tags, source.tags, "{exported}");
    }
    let error = app.import_opml("<opml><body><outline").unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert_eq!(app.sources().unwrap().len(), 6);
}

#[test]
fn fetched_posts_are_tagged_by_the_background_pipeline_like_any_other() {
    std::env::set_var(FEED_TIMEOUT_ENV, "2");
    std::env::set_var("HEARTH_MODELS_DIR", crate::embeddings_support::models_dir());
    let dir = tempfile::tempdir().unwrap();
    let config = hearth_core::Config {
        device: hearth_core::models::DeviceChoice::Cpu,
        ..hearth_core::Config::in_dir(dir.path().to_path_buf()).unwrap()
    };
    let app = App::open_interactive(config).unwrap();
    let server = FeedServer::start();
    let body = "<p>What a wonderful, joyful morning at the harbour: everyone loved the festival!</p>";
    server.route(
        "/feed",
        Route::Document { body: rss(&[(Some("joy"), "Festival", body, None)]), content_type: "application/rss+xml" },
    );
    let source = app.add_source(&server.url("/feed")).unwrap();
    let post_id = posts_of(&app, source.id)[0].id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let post = app.get_post(post_id).unwrap();
        if let Some(tone) = post.tone {
            assert_eq!(tone.label, "positive", "{tone:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never tagged: {:?}", app.enrichment_status());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let found = app.search("festival harbour", Some(5), None).unwrap();
    assert!(found.posts.iter().any(|post| post.id == post_id), "searchable: {:?}", found.posts);
}
