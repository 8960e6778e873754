//! The HTTP API of browser mode, driven in-process through the real router: tokens, Host
//! checks, body limits and `{code, message}` errors, and that a rejected request changes
//! nothing in the database.

#![allow(clippy::unwrap_used)] // Test set-up fails loudly, and that is the point.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use hearth_cli::serve::{router, ServeOptions, MAX_BODY_BYTES};
use hearth_core::{App, Config};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

// Shared with the core tests, which use all of it.
#[allow(dead_code)]
#[path = "../core/mastodon_server.rs"]
mod mastodon_server;

const TOKEN: &str = "test-token-0123456789abcdef";
const PORT: u16 = 4321;

struct Server {
    app: App,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn server() -> Server {
    server_of(App::open_with_demo)
}

/// A server over the app that `open` makes in a fresh data directory.
fn server_of(open: fn(Config) -> hearth_core::Result<App>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let ui_dir = dir.path().join("ui");
    std::fs::create_dir_all(&ui_dir).unwrap();
    std::fs::write(ui_dir.join("index.html"), "<!doctype html><title>Hearth</title>").unwrap();
    let app = open(Config::in_dir(dir.path().join("data")).unwrap()).unwrap();
    let router = router(app.clone(), ServeOptions { token: TOKEN.into(), port: PORT, ui_dir });
    Server { app, router, _dir: dir }
}

/// A request addressed to the server, carrying the token.
fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    bare(method, uri)
        .header(header::HOST, format!("127.0.0.1:{PORT}"))
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
}

/// A request with neither Host nor token: each test adds what it is about.
fn bare(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

async fn send(server: &Server, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let response = server.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value, headers)
}

async fn get(server: &Server, uri: &str) -> (StatusCode, Value) {
    let (status, value, _) = send(server, request("GET", uri).body(Body::empty()).unwrap()).await;
    (status, value)
}

async fn post_json(server: &Server, uri: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = request("POST", uri).header(header::CONTENT_TYPE, "application/json").body(body.into()).unwrap();
    let (status, value, _) = send(server, request).await;
    (status, value)
}

/// Everything a rejected request must leave as it was.
fn snapshot(app: &App) -> (i64, i64, i64, i64, Value) {
    let status = app.status().unwrap();
    let mutes = serde_json::to_value(app.mutes().unwrap()).unwrap();
    (status.posts, status.media, status.interactions, status.authors, mutes)
}

fn assert_error(status: StatusCode, body: &Value, expected_status: StatusCode, expected_code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], expected_code, "{body}");
    assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
}

#[tokio::test]
async fn the_feed_and_a_post_are_served_with_the_token() {
    let server = server();
    let (status, page) = get(&server, "/api/feed?mode=chronological&limit=5").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let posts = page["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 5);
    for field in ["id", "author", "text", "created_at", "media", "source", "state", "counts"] {
        assert!(posts[0].get(field).is_some(), "missing {field}");
    }
    assert!(page["next_cursor"].is_string());
    let id = posts[0]["id"].as_i64().unwrap();
    let (status, post) = get(&server, &format!("/api/posts/{id}")).await;
    assert_eq!((status, post["id"].as_i64()), (StatusCode::OK, Some(id)));
}

#[tokio::test]
async fn requests_without_the_right_token_get_401_and_change_nothing() {
    let server = server();
    let before = snapshot(&server.app);
    let no_token = Request::builder()
        .method("POST")
        .uri("/api/interactions")
        .header(header::HOST, format!("127.0.0.1:{PORT}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"post_id": 1, "kind": "like"}).to_string()))
        .unwrap();
    let (status, body, _) = send(&server, no_token).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let wrong_token = bare("GET", "/api/feed")
        .header(header::HOST, format!("127.0.0.1:{PORT}"))
        .header(header::AUTHORIZATION, "Bearer wrong")
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = send(&server, wrong_token).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    // A query-string token is accepted for media only, never for data.
    let query_token = Request::builder()
        .uri(format!("/api/feed?token={TOKEN}"))
        .header(header::HOST, format!("127.0.0.1:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = send(&server, query_token).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(snapshot(&server.app), before);
}

#[tokio::test]
async fn a_foreign_host_header_is_refused() {
    let server = server();
    for host in ["evil.example:4321", "127.0.0.1:9999", "localhost.evil.example:4321", ""] {
        let request = bare("GET", "/api/status")
            .header(header::HOST, host)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = send(&server, request).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "unauthorized");
    }
    let (status, _) = get(&server, "/api/status").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_is_a_clear_400_and_changes_nothing() {
    let server = server();
    let before = snapshot(&server.app);
    for body in [
        "{not json",
        "[]",
        r#"{"post_id": 1}"#,
        r#"{"post_id": 1, "kind": "explode"}"#,
        r#"{"post_id": "one", "kind": "like"}"#,
    ] {
        let (status, error) = post_json(&server, "/api/interactions", body).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let (status, error) = post_json(&server, "/api/posts", r#"{"text": 5}"#).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, error) = post_json(&server, "/api/posts", r#"{"text": "hi", "sneaky": true}"#).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, error) = post_json(&server, "/api/posts", r#"{"text": "   "}"#).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(snapshot(&server.app), before);
}

#[tokio::test]
async fn an_oversize_body_is_a_413_and_changes_nothing() {
    let server = server();
    let before = snapshot(&server.app);
    let huge = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_BODY_BYTES + 1));
    let (status, error) = post_json(&server, "/api/posts", huge).await;
    assert_error(status, &error, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(snapshot(&server.app), before);
}

#[tokio::test]
async fn unknown_ids_are_404s_and_change_nothing() {
    let server = server();
    let before = snapshot(&server.app);
    let (status, error) = get(&server, "/api/posts/987654").await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (status, error) =
        post_json(&server, "/api/interactions", json!({"post_id": 987654, "kind": "like"}).to_string()).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (status, error) = get(&server, "/api/posts/not-a-number").await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, error) = get(&server, "/api/media/987654").await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    let (status, error) = get(&server, "/api/nope").await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(snapshot(&server.app), before);
}

#[tokio::test]
async fn bad_query_strings_are_clear_errors() {
    let server = server();
    for uri in [
        "/api/feed?mode=sideways",
        "/api/feed?limit=abc",
        "/api/feed?limit=1000",
        "/api/feed?cursor=zzz",
        "/api/search",
        "/api/search?q=%20",
    ] {
        let (status, error) = get(&server, uri).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "invalid_input");
    }
}

#[tokio::test]
async fn like_search_and_compose_work_over_http() {
    let server = server();
    let (_, page) = get(&server, "/api/feed?mode=chronological&limit=1").await;
    let id = page["posts"][0]["id"].as_i64().unwrap();
    let (status, liked) =
        post_json(&server, "/api/interactions", json!({"post_id": id, "kind": "like"}).to_string()).await;
    assert_eq!((status, &liked["state"]["liked"]), (StatusCode::OK, &json!(true)));
    let (status, created) =
        post_json(&server, "/api/posts", json!({"text": "Marmalade experiment, day three", "images": []}).to_string())
            .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, found) = get(&server, "/api/search?q=marmalade").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["posts"][0]["id"], created["id"]);
    let (_, page) = get(&server, "/api/feed?mode=chronological&limit=1").await;
    assert_eq!(page["posts"][0]["id"], created["id"]);
}

#[tokio::test]
async fn media_is_served_with_its_type_and_a_query_token() {
    let server = server();
    let (_, page) = get(&server, "/api/feed?mode=chronological&has_media=image&limit=1").await;
    let media = &page["posts"][0]["media"][0];
    let request = Request::builder()
        .uri(format!("/api/media/{}?token={TOKEN}", media["id"]))
        .header(header::HOST, format!("localhost:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let response = server.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], media["mime"].as_str().unwrap());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(i64::try_from(bytes.len()).unwrap(), media["size_bytes"].as_i64().unwrap());
}

#[tokio::test]
async fn the_ui_is_served_with_a_strict_content_security_policy() {
    let server = server();
    let request =
        Request::builder().uri("/").header(header::HOST, format!("127.0.0.1:{PORT}")).body(Body::empty()).unwrap();
    let response = server.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
}

/// Reads server-sent events from `body` until one named `progress` arrives; returns its data.
async fn next_progress_event(body: &mut axum::body::Body, buffer: &mut String) -> Value {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if frame.lines().any(|line| line == "event: progress") {
                let data: String =
                    frame.lines().filter_map(|line| line.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
                return serde_json::from_str(&data).unwrap();
            }
            continue;
        }
        let frame = tokio::time::timeout(std::time::Duration::from_secs(60), body.frame())
            .await
            .expect("a progress event within a minute")
            .expect("the stream is still open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buffer.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_pushed_as_server_sent_events() {
    // The interactive app runs the enrichment pipeline, whose progress the stream carries.
    let Server { app, router, _dir } = server_of(App::open_interactive);

    let unauthorised = router
        .clone()
        .oneshot(
            bare("GET", "/api/events").header(header::HOST, format!("127.0.0.1:{PORT}")).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);

    let response = router.oneshot(request("GET", "/api/events").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    let mut buffer = String::new();

    // The state as it is now, at once.
    let first = next_progress_event(&mut body, &mut buffer).await;
    assert_eq!(first["models"][0]["id"], "all-minilm-l6-v2", "{first}");
    assert!(first["enrichment"]["state"].is_string(), "{first}");

    // A new post wakes the pipeline and is counted at once (whatever the worker is doing, even
    // loading its models); the report reaches the stream without being asked for.
    app.create_post(&serde_json::from_value(json!({"text": "a post the pipeline should count"})).unwrap()).unwrap();
    let (_, posts_with_text) = hearth_core::enrich::coverage(app.store()).unwrap();
    loop {
        let event = next_progress_event(&mut body, &mut buffer).await;
        if event["enrichment"]["total"].as_i64().unwrap() == posts_with_text {
            let state = event["enrichment"]["state"].as_str().unwrap();
            assert!(["starting", "working", "idle", "unavailable"].contains(&state), "{event}");
            break;
        }
    }
}

#[tokio::test]
async fn describe_image_suggests_alt_text_and_refuses_what_is_not_an_image() {
    use base64::Engine as _;
    let server = server();
    let before = snapshot(&server.app);
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images");
    let espresso =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(fixtures.join("espresso.png")).unwrap());
    let (status, body) =
        post_json(&server, "/api/images/describe", json!({ "data_base64": espresso }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["labels"][0]["label"], "espresso");
    assert_eq!(body["labels"].as_array().unwrap().len(), 5);
    assert_eq!(body["description"], "Probably an espresso.");

    let text = base64::engine::general_purpose::STANDARD.encode("just words");
    let (status, body) = post_json(&server, "/api/images/describe", json!({ "data_base64": text }).to_string()).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    assert!(body["message"].as_str().unwrap().contains("not an image"), "{body}");
    let (status, body) = post_json(&server, "/api/images/describe", json!({ "data_base64": "%%%" }).to_string()).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(snapshot(&server.app), before, "describing stores nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcription_is_cancelled_and_asked_for_again_over_http() {
    let server = server_of(App::open_interactive);
    // The demo's oldest voice memo: the worker starts with the newest, so it is still waiting.
    let (_, feed) = get(&server, "/api/feed?mode=chronological&limit=100").await;
    let mut memos: Vec<&Value> =
        feed["posts"].as_array().unwrap().iter().filter(|post| post["media"][0]["kind"] == "audio").collect();
    memos.reverse();
    let memo = memos.first().expect("the demo has voice memos");
    let media_id = memo["media"][0]["id"].as_i64().unwrap();

    let (status, post) = post_json(&server, &format!("/api/media/{media_id}/transcription/cancel"), "").await;
    assert_eq!(status, StatusCode::OK, "{post}");
    assert_eq!(post["id"], memo["id"]);
    let transcript = &post["media"][0]["transcript"];
    assert!(["cancelled", "transcribing"].contains(&transcript["status"].as_str().unwrap()), "{transcript}");

    let (status, post) = post_json(&server, &format!("/api/media/{media_id}/transcription/retry"), "").await;
    if status == StatusCode::OK {
        let state = post["media"][0]["transcript"]["status"].as_str().unwrap().to_owned();
        assert!(["waiting", "transcribing"].contains(&state.as_str()), "{post}");
    } else {
        // Still being stopped: asking again while it runs is a conflict, said plainly.
        assert_error(status, &post, StatusCode::CONFLICT, "conflict");
    }

    let (status, body) = post_json(&server, "/api/media/999999/transcription/retry", "").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_speech_model_is_chosen_over_http_and_bad_choices_are_refused() {
    let server = server_of(App::open_interactive);
    let (status, body) =
        post_json(&server, "/api/speech-model", json!({ "model": "whisper-small-en" }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["speech"]["model"], "whisper-small-en");
    let (_, enrichment) = get(&server, "/api/enrichment").await;
    assert_eq!(enrichment["speech"]["model"], "whisper-small-en");

    for bad in [json!({ "model": "all-minilm-l6-v2" }), json!({ "model": "" }), json!({ "model": "x", "extra": 1 })] {
        let (status, body) = post_json(&server, "/api/speech-model", bad.to_string()).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let (_, enrichment) = get(&server, "/api/enrichment").await;
    assert_eq!(enrichment["speech"]["model"], "whisper-small-en", "a refused choice changes nothing");
    let (status, body) =
        post_json(&server, "/api/speech-model", json!({ "model": "whisper-tiny-en" }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["speech"]["model"], "whisper-tiny-en");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_managed_over_http() {
    // Python's own web server serves the published feeds.
    let feeds = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds");
    let mut python = std::process::Command::new("python3")
        .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
        .current_dir(feeds)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(python.stdout.take().unwrap()), &mut line).unwrap();
    let port = line.split(" port ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned();
    let feed_url = format!("http://127.0.0.1:{port}/atom/atom_example_xhtml.xml");

    let server = server_of(App::open);
    let (status, list) = get(&server, "/api/sources").await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, source) = post_json(&server, "/api/sources", json!({ "url": feed_url }).to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{source}");
    assert_eq!(source["item_count"], 1);
    let id = source["id"].as_i64().unwrap();
    let (status, renamed) =
        post_json(&server, &format!("/api/sources/{id}"), json!({ "name": "Red Blob", "tags": ["games"] }).to_string())
            .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!((renamed["name"].as_str(), renamed["tags"][0].as_str()), (Some("Red Blob"), Some("games")));

    let (status, sync) = post_json(&server, "/api/sync", json!({ "source_id": id }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{sync}");
    assert!(sync["state"].is_string(), "{sync}");

    let (status, _, headers) = send(&server, request("GET", "/api/opml/export").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/x-opml"));
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("hearth-subscriptions.opml"));

    let opml = "<opml version=\"2.0\"><body><outline text=\"Games\"><outline type=\"rss\" text=\"X\" xmlUrl=\"https://x.test/feed\"/></outline></body></opml>";
    let (status, import) = post_json(&server, "/api/opml/import", json!({ "opml": opml }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{import}");
    assert_eq!(import["added"], 1);

    for (uri, body) in [
        ("/api/sources", json!({ "url": "ftp://x.test/feed" })),
        ("/api/sources", json!({ "address": "https://x.test" })),
        ("/api/opml/import", json!({ "opml": "not opml" })),
        (&*format!("/api/sources/{id}"), json!({ "name": "" })),
    ] {
        let (status, body) = post_json(&server, uri, body.to_string()).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    }
    let (status, removed) =
        post_json(&server, &format!("/api/sources/{id}/remove"), json!({ "keep_liked": true }).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["removed_posts"], 1);
    let (status, body) = post_json(&server, &format!("/api/sources/{id}/remove"), "{}").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let _ = python.kill();
    let _ = python.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_are_signed_in_listed_and_signed_out_over_http() {
    std::env::set_var("HEARTH_SECRETS", "file");
    let mastodon = mastodon_server::MastodonServer::start();
    let server = server_of(App::open);
    let (status, list) = get(&server, "/api/accounts").await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    let (status, body) = post_json(&server, "/api/accounts/mastodon", json!({ "server": "" }).to_string()).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, body) =
        post_json(&server, "/api/accounts/mastodon", json!({ "server": mastodon.server(), "extra": 1 }).to_string())
            .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");

    let (status, sign_in) =
        post_json(&server, "/api/accounts/mastodon", json!({ "server": mastodon.server() }).to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{sign_in}");
    let id = sign_in["id"].as_str().unwrap().to_owned();
    let authorize_url = sign_in["authorize_url"].as_str().unwrap().to_owned();
    let page = tokio::task::block_in_place(|| mastodon.approve(&authorize_url, "alice"));
    assert!(page.contains("Signed in to Hearth"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let account = loop {
        let (status, state) = get(&server, &format!("/api/accounts/sign-in/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{state}");
        match state["state"].as_str().unwrap() {
            "done" => break state["account"].clone(),
            "failed" => panic!("{state}"),
            _ => assert!(std::time::Instant::now() < deadline, "the sign-in did not finish"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((account["kind"].as_str(), account["state"].as_str()), (Some("mastodon"), Some("ok")));
    assert_eq!(account["token_storage"], "file");
    let (_, list) = get(&server, "/api/accounts").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (status, body) = get(&server, "/api/accounts/sign-in/no-such-sign-in").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = get(&server, "/api/notifications?limit=0").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, notifications) = get(&server, "/api/notifications").await;
    assert_eq!((status, notifications.is_array()), (StatusCode::OK, true));
    let (status, body) =
        post_json(&server, "/api/accounts/bluesky", json!({ "handle": "nobody", "app_password": "x" }).to_string())
            .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, body) = post_json(&server, "/api/outbox/999/retry", "{}").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, outbox) = get(&server, "/api/outbox").await;
    assert_eq!((status, outbox), (StatusCode::OK, json!([])));

    let account_id = account["id"].as_i64().unwrap();
    let (status, _) = post_json(&server, &format!("/api/accounts/{account_id}/remove"), "{}").await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = get(&server, "/api/accounts").await;
    assert_eq!(list, json!([]));
}
