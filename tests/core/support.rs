//! Shared set-up for core tests: a fresh app in a temp dir, with or without the demo.

use hearth_core::{App, Config, FeedMode, FeedQuery, Post};

pub struct TestApp {
    pub app: App,
    // Kept alive for the test's duration; deleted on drop.
    pub dir: tempfile::TempDir,
}

pub fn empty_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = App::open(Config::in_dir(dir.path().to_path_buf()).expect("config")).expect("open app");
    TestApp { app, dir }
}

pub fn demo_app() -> TestApp {
    let test_app = empty_app();
    test_app.app.import_demo().expect("import demo");
    test_app
}

/// Every post of the feed in `mode`, following cursors to the end.
pub fn whole_feed(app: &App, mode: FeedMode) -> Vec<Post> {
    let mut posts = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.feed(&FeedQuery { mode, cursor, limit: Some(25), ..FeedQuery::default() }).expect("feed page");
        posts.extend(page.posts);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return posts,
        }
    }
}

/// A tiny valid PNG (1x1, red).
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49,
    0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A PNG attachment of these bytes, with its alt text.
pub fn image(bytes: &[u8], alt: Option<&str>) -> hearth_core::Attachment {
    hearth_core::Attachment {
        file_name: "photo.png".into(),
        mime: "image/png".into(),
        data_base64: base64(bytes),
        alt_text: alt.map(Into::into),
    }
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Account tests keep sign-ins in the 0600 file, whatever keychain the machine has.
pub fn use_the_secrets_file() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("HEARTH_SECRETS", "file"));
}

/// An account's posts in the timeline, newest first.
pub fn account_posts(test: &TestApp, account_id: i64) -> Vec<Post> {
    whole_feed(&test.app, FeedMode::Chronological).into_iter().filter(|post| post.source.id == account_id).collect()
}

/// What a post is called on its server.
pub fn remote_id(test: &TestApp, post_id: i64) -> String {
    test.app
        .store()
        .read(|connection| {
            Ok(connection
                .query_row("SELECT remote_id FROM posts WHERE id = ?1", [post_id], |row| row.get::<_, String>(0))?)
        })
        .unwrap()
}

/// Syncs one account now (its outbox first).
pub fn sync(test: &TestApp, account_id: i64) -> hearth_core::sources::sync::SyncOutcome {
    test.app.sync_sources(Some(account_id)).unwrap().remove(0)
}

/// Records an interaction with a post.
pub fn interact(test: &TestApp, post_id: i64, kind: hearth_core::InteractionKind) {
    test.app.record_interaction(&hearth_core::InteractionInput::on_post(post_id, kind)).unwrap();
}
