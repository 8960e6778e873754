//! The AT Protocol reference network for tests: `@atproto/dev-env` 0.6.7 (PLC, PDS, AppView)
//! on 127.0.0.1 with a throw-away PostgreSQL, started once per test run by
//! `tests/support/bluesky/start.sh` and shared by the Bluesky tests (each uses its own Hearth
//! data folder). Access tokens live 8 seconds, so every test also exercises their refresh. The
//! network stops when this process ends (its stdin closes).

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

/// How long the network's access tokens live.
pub const ACCESS_TTL: Duration = Duration::from_secs(8);

pub struct BlueskyNetwork {
    pub pds: String,
    pub accounts: Value,
    pub ready: Value,
    // Kept open: the network stops when it closes (at exit).
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

/// The network, started on first use.
pub fn network() -> &'static BlueskyNetwork {
    static NETWORK: OnceLock<BlueskyNetwork> = OnceLock::new();
    NETWORK.get_or_init(start)
}

fn start() -> BlueskyNetwork {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let folder = root.join("tests/support/bluesky");
    assert!(
        folder.join("node_modules/.hearth-install-stamp").is_file(),
        "the Bluesky test network is not installed: run `cargo xtask test` (it installs it), or \
         tests/support/bluesky/install.sh"
    );
    let log = std::env::temp_dir().join(format!("hearth-bluesky-{}.log", std::process::id()));
    let mut child = Command::new(folder.join("start.sh"))
        .env("HEARTH_BSKY_ACCESS_TTL_SECS", ACCESS_TTL.as_secs().to_string())
        .env("HEARTH_BSKY_LOG", &log)
        .env("HEARTH_BSKY_WATCH_STDIN", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tests/support/bluesky/start.sh");
    let stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let Some(json) = line.strip_prefix("READY ") else {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("the Bluesky test network did not start (said {line:?}); its log:\n{log}");
    };
    let ready: Value = serde_json::from_str(json.trim()).unwrap();
    BlueskyNetwork {
        pds: ready["pds"].as_str().unwrap().to_owned(),
        accounts: ready["accounts"].clone(),
        ready,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    }
}

/// Someone's session on the PDS (with their main password).
pub struct Session {
    pub did: String,
    pub access: String,
}

impl BlueskyNetwork {
    pub fn handle(&self, user: &str) -> String {
        self.accounts[user]["handle"].as_str().unwrap().to_owned()
    }

    pub fn app_password(&self, user: &str) -> String {
        self.accounts[user]["app_password"].as_str().unwrap().to_owned()
    }

    pub fn session(&self, user: &str) -> Session {
        let reply = self.post(
            None,
            "com.atproto.server.createSession",
            &json!({
                "identifier": self.handle(user),
                "password": self.accounts[user]["password"],
            }),
        );
        Session {
            did: reply["did"].as_str().unwrap().to_owned(),
            access: reply["accessJwt"].as_str().unwrap().to_owned(),
        }
    }

    pub fn post(&self, token: Option<&str>, method: &str, body: &Value) -> Value {
        let mut request = ureq::post(&format!("{}/xrpc/{method}", self.pds));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        match request.send_json(body.clone()) {
            Ok(response) => response.into_json().unwrap_or(Value::Null),
            Err(ureq::Error::Status(status, response)) => {
                panic!("{method} answered {status}: {}", response.into_string().unwrap_or_default())
            }
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// A call that takes no body (`deleteSession` refuses one).
    pub fn call(&self, token: &str, method: &str) {
        ureq::post(&format!("{}/xrpc/{method}", self.pds))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|error| panic!("{method}: {error}"));
    }

    pub fn get(&self, token: &str, method: &str, query: &[(&str, &str)]) -> Value {
        let mut request =
            ureq::get(&format!("{}/xrpc/{method}", self.pds)).set("Authorization", &format!("Bearer {token}"));
        for (name, value) in query {
            request = request.query(name, value);
        }
        request.call().unwrap_or_else(|error| panic!("{method}: {error}")).into_json().unwrap()
    }

    /// Writes a record in the session's repository; returns its `{uri, cid}`.
    pub fn create(&self, session: &Session, collection: &str, record: Value) -> Value {
        self.post(
            Some(&session.access),
            "com.atproto.repo.createRecord",
            &json!({
                "repo": session.did, "collection": collection, "record": record,
            }),
        )
    }

    pub fn write_post(&self, session: &Session, text: &str) -> Value {
        self.create(
            session,
            "app.bsky.feed.post",
            json!({
                "$type": "app.bsky.feed.post", "text": text, "createdAt": now(),
            }),
        )
    }

    /// Posts as they are now, seen by `session`.
    pub fn posts(&self, session: &Session, uris: &[&str]) -> Vec<Value> {
        let query: Vec<(&str, &str)> = uris.iter().map(|uri| ("uris", *uri)).collect();
        self.get(&session.access, "app.bsky.feed.getPosts", &query)["posts"].as_array().unwrap().clone()
    }
}

pub fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap()
}
