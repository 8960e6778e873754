//! A real Mastodon API server for tests: the third-party `mastodon-mock` (PyPI
//! `mastodon-mock==0.6.1`, stateful, SQLite-backed), started on a free port of 127.0.0.1 with
//! seeded accounts, follows and statuses, and killed when dropped. `cargo xtask test`
//! installs it into `target/test-venv`; `$HEARTH_MASTODON_MOCK` names another copy.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct MastodonServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    config: PathBuf,
}

/// The `mastodon_mock` program.
fn program() -> PathBuf {
    if let Some(path) = std::env::var_os("HEARTH_MASTODON_MOCK") {
        return PathBuf::from(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("target/test-venv/bin/mastodon_mock");
    assert!(
        path.is_file(),
        "mastodon-mock is not installed at {}: run `cargo xtask test` (it installs it), or \
         `python3 -m venv target/test-venv && target/test-venv/bin/pip install mastodon-mock==0.6.1`",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// Accounts seeded on every test server: alice follows bob and carol; dave follows alice.
const SEED: &str = include_str!("../fixtures/mastodon/seed.toml");

impl MastodonServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("mock.toml");
        let database = dir.path().join("mock.sqlite");
        std::fs::write(
            &config,
            format!(
                "domain = \"127.0.0.1:{port}\"\nurl_scheme = \"http\"\n\n[database]\npath = \"{}\"\n\n\
                 [streaming]\nheartbeat_seconds = 2.0\n{SEED}",
                database.display()
            ),
        )
        .unwrap();
        let mut server = Self { child: None, port, dir, config };
        server.run();
        server
    }

    /// Starts (or starts again, on the same port and database) the server process.
    pub fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(program())
            .args(["serve", "--config"])
            .arg(&self.config)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mastodon_mock");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ureq::get(&self.url("/api/v1/instance")).timeout(Duration::from_secs(2)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        panic!("mastodon_mock did not start on port {}:\n{log}", self.port);
    }

    /// Stops the process (the database stays for `run`).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // It can hang on SIGTERM while a stream is open; nothing in it needs a clean exit.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn server(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The address of a handle on this server (`alice@127.0.0.1:P`).
    pub fn handle(&self, user: &str) -> String {
        format!("{user}@127.0.0.1:{}", self.port)
    }

    pub fn get(&self, token: &str, path: &str) -> Value {
        ureq::get(&self.url(path)).set("Authorization", &format!("Bearer {token}")).call().unwrap().into_json().unwrap()
    }

    /// A status as `user` sees it.
    pub fn status(&self, token: &str, id: &str) -> Value {
        self.get(token, &format!("/api/v1/statuses/{id}"))
    }

    /// Posts as someone else; returns the new status.
    pub fn post(&self, token: &str, fields: &[(&str, &str)]) -> Value {
        ureq::post(&self.url("/api/v1/statuses"))
            .set("Authorization", &format!("Bearer {token}"))
            .send_form(fields)
            .unwrap()
            .into_json()
            .unwrap()
    }

    pub fn act(&self, token: &str, status_id: &str, verb: &str) -> Value {
        ureq::post(&self.url(&format!("/api/v1/statuses/{status_id}/{verb}")))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_json()
            .unwrap()
    }

    /// Approves a sign-in the way a person does on the account picker: picks `user`, and
    /// follows the redirect back to Hearth's listener. Returns the page Hearth answered.
    pub fn approve(&self, authorize_url: &str, user: &str) -> String {
        let url = url::Url::parse(authorize_url).unwrap();
        let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        // The picker page itself, as a browser would load it first.
        let page = ureq::get(authorize_url).call().unwrap().into_string().unwrap();
        assert!(page.contains(&format!("value=\"{user}\"")), "the picker offers {user}: {page}");
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let response = agent
            .post(&self.url("/oauth/authorize"))
            .send_form(&[
                ("username", user),
                ("redirect_uri", &query["redirect_uri"]),
                ("client_id", &query["client_id"]),
                ("scope", &query["scope"]),
                ("state", &query["state"]),
            ])
            .unwrap();
        assert_eq!(response.status(), 302);
        let back = response.header("location").unwrap().to_owned();
        assert!(back.starts_with("http://127.0.0.1:"), "redirected to a loopback address: {back}");
        ureq::get(&back).call().unwrap().into_string().unwrap()
    }

    /// Rewrites a status's HTML in the server's own database: what a hostile or broken server
    /// elsewhere in the federation could deliver.
    pub fn set_content(&self, status_id: &str, html: &str) {
        let connection = rusqlite::Connection::open(self.dir.path().join("mock.sqlite")).unwrap();
        connection.busy_timeout(Duration::from_secs(5)).unwrap();
        let changed = connection
            .execute(
                "UPDATE statuses SET content = ?2 WHERE id = ?1",
                rusqlite::params![status_id.parse::<i64>().unwrap(), html],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
}

impl Drop for MastodonServer {
    fn drop(&mut self) {
        self.stop();
    }
}
