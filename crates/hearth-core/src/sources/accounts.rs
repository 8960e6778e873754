//! Network accounts on the sync service: signing in (Mastodon's OAuth in the user's browser,
//! with PKCE and a one-shot listener on 127.0.0.1; Bluesky's app password), syncing an
//! account's timeline and notifications, sending the outbox (actions taken in Hearth, oldest
//! first, each retried until the server takes it or refuses it for good), live updates over
//! Mastodon's streaming API, and signing out (revoked on the server, forgotten here).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::http::Failure;
use super::remote::{Action, Timeline, Upload};
use super::secrets::Credentials;
use super::sync::{millis, SyncOutcome, SyncService};
use super::{bluesky, mastodon};
use crate::error::{Error, Result};
use crate::post::SourceKind;
use crate::store::accounts::{self as stored, AccountInfo, AccountRecord, NewAccount};
use crate::store::now_ms;
use crate::store::sources::{self as sources_store, SourceRecord, SyncRecord};

/// How often an account is synced when nothing streams its updates.
pub const ACCOUNT_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// How often an account whose updates stream live is synced anyway (to catch what a dropped
/// stream missed).
const LIVE_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// How long a sign-in waits for the user to approve Hearth in the browser.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// What the account's state says when the server refuses its sign-in.
pub const SIGN_IN_AGAIN: &str =
    "The server no longer accepts Hearth's sign-in (it was revoked or has expired); sign in again";

/// Sign-ins in progress and live streams, shared by the service's clones.
#[derive(Debug, Default)]
pub struct AccountsState {
    sign_ins: Mutex<HashMap<String, SignInState>>,
    /// Sign-ins the user cancelled while they waited for the browser.
    cancelled: Mutex<HashSet<String>>,
    live: Mutex<HashSet<i64>>,
    streaming: Mutex<HashSet<i64>>,
}

/// A Mastodon sign-in waiting for the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignIn {
    pub id: String,
    pub authorize_url: String,
}

/// How a sign-in is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInState {
    pub id: String,
    /// `waiting`, `done` or `failed`.
    pub state: &'static str,
    pub account: Option<AccountInfo>,
    pub error: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `bytes` random bytes, base64url without padding.
fn random_token(bytes: usize) -> Result<String> {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| Error::Internal(format!("no randomness: {error}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

/// A fresh `Idempotency-Key` for an action.
pub fn idempotency_key() -> Result<String> {
    random_token(18)
}

/// The PKCE challenge of a verifier (S256).
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the browser shows when it comes back to Hearth.
fn callback_page(title: &str, words: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         @media (prefers-color-scheme:dark){{body{{background:#1b1b1d;color:#eee}}}}</style></head>\
         <body><h1>{title}</h1><p>{words}</p></body></html>"
    )
}

/// Reads the request line of one HTTP request; answers it with `page`-making `answer`.
fn read_request_target(stream: &mut std::net::TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = std::io::BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    // The rest of the head, to the blank line (bounded).
    let mut header = String::new();
    for _ in 0..100 {
        header.clear();
        if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    (parts.next()? == "GET").then(|| parts.next().map(str::to_owned))?
}

fn respond(stream: &mut std::net::TcpStream, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

impl SyncService {
    /// Starts signing in to a Mastodon server: registers Hearth there, listens on a random
    /// port of 127.0.0.1 for the browser to come back, and returns where to send the user.
    pub fn begin_mastodon_sign_in(&self, server_text: &str) -> Result<SignIn> {
        let server = mastodon::server_address(server_text)?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .map_err(|error| Error::io("listening on 127.0.0.1 for the sign-in", error))?;
        let port = listener.local_addr().map_err(|error| Error::io("reading the sign-in port", error))?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let registration = self
            .runtime
            .block_on(mastodon::register(&self.http, &server, &redirect_uri))
            .map_err(|failure| Error::Unavailable(format!("{server} did not let Hearth register: {failure}")))?;
        let verifier = random_token(48)?;
        let state = random_token(24)?;
        let id = random_token(12)?;
        let authorize_url =
            mastodon::authorize_url(&server, &registration, &redirect_uri, &state, &code_challenge(&verifier))
                .map_err(|failure| Error::invalid(failure.message))?;
        lock(&self.accounts.sign_ins)
            .insert(id.clone(), SignInState { id: id.clone(), state: "waiting", account: None, error: None });
        let service = self.clone();
        let sign_in_id = id.clone();
        let spawned = std::thread::Builder::new().name("hearth-sign-in".into()).spawn(move || {
            let outcome = service.await_callback(&listener, &state, &sign_in_id).and_then(|code| {
                service.finish_mastodon_sign_in(&server, &registration, &code, &redirect_uri, &verifier)
            });
            lock(&service.accounts.cancelled).remove(&sign_in_id);
            let mut sign_ins = lock(&service.accounts.sign_ins);
            let entry = sign_ins.entry(sign_in_id.clone()).or_insert_with(|| SignInState {
                id: sign_in_id.clone(),
                state: "waiting",
                account: None,
                error: None,
            });
            match outcome {
                Ok(account) => {
                    entry.state = "done";
                    entry.account = Some(account);
                }
                Err(error) => {
                    entry.state = "failed";
                    entry.error = Some(error.to_string());
                }
            }
            drop(sign_ins);
            service.changes.bump();
        });
        spawned.map_err(|error| Error::Internal(format!("cannot wait for the sign-in: {error}")))?;
        Ok(SignIn { id, authorize_url: authorize_url.to_string() })
    }

    /// Stops waiting for a sign-in the user gave up on (its listener closes at once).
    pub fn cancel_sign_in(&self, id: &str) -> Result<SignInState> {
        let state = self.sign_in_state(id)?;
        if state.state == "waiting" {
            lock(&self.accounts.cancelled).insert(id.to_owned());
        }
        Ok(state)
    }

    /// How a sign-in is going.
    pub fn sign_in_state(&self, id: &str) -> Result<SignInState> {
        lock(&self.accounts.sign_ins).get(id).cloned().ok_or_else(|| Error::not_found("sign-in", id))
    }

    /// Waits for the browser to come back to `/callback` with the code (other requests, such
    /// as a favicon, are answered 404 and waited past). The `state` must match.
    fn await_callback(&self, listener: &std::net::TcpListener, state: &str, sign_in_id: &str) -> Result<String> {
        let deadline = std::time::Instant::now() + SIGN_IN_TIMEOUT;
        listener.set_nonblocking(true).map_err(|error| Error::io("waiting for the sign-in", error))?;
        loop {
            let (mut stream, _) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    if lock(&self.accounts.cancelled).contains(sign_in_id) {
                        return Err(Error::invalid("the sign-in was cancelled"));
                    }
                    if std::time::Instant::now() > deadline {
                        return Err(Error::Unavailable(
                            "the sign-in was not approved within 10 minutes; start again".into(),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                Err(error) => return Err(Error::io("waiting for the sign-in", error)),
            };
            let _ = stream.set_nonblocking(false);
            let Some(target) = read_request_target(&mut stream) else { continue };
            let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else { continue };
            if url.path() != "/callback" {
                respond(
                    &mut stream,
                    "404 Not Found",
                    &callback_page("Not here", "This address only takes Hearth's sign-in."),
                );
                continue;
            }
            let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
            if query.get("state").map(String::as_str) != Some(state) {
                respond(
                    &mut stream,
                    "400 Bad Request",
                    &callback_page(
                        "Sign-in not accepted",
                        "This answer does not belong to Hearth's sign-in. Start again from Hearth.",
                    ),
                );
                return Err(Error::invalid(
                    "the server's answer did not match the sign-in Hearth started; start again",
                ));
            }
            if let Some(code) = query.get("code").filter(|code| !code.is_empty()) {
                respond(
                    &mut stream,
                    "200 OK",
                    &callback_page("Signed in to Hearth", "You can close this window and go back to Hearth."),
                );
                return Ok(code.clone());
            }
            let why = query.get("error_description").or_else(|| query.get("error")).cloned();
            respond(&mut stream, "200 OK", &callback_page("Hearth was not allowed", "You can close this window."));
            return Err(Error::invalid(match why {
                Some(why) => format!("the server did not allow Hearth: {why}"),
                None => "the server did not allow Hearth".to_owned(),
            }));
        }
    }

    fn finish_mastodon_sign_in(
        &self,
        server: &Url,
        registration: &mastodon::Registration,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<AccountInfo> {
        let unreachable = |failure: Failure| Error::Unavailable(format!("signing in to {server} failed: {failure}"));
        let token = self
            .runtime
            .block_on(mastodon::exchange_code(&self.http, server, registration, code, redirect_uri, verifier))
            .map_err(unreachable)?;
        let me =
            self.runtime.block_on(mastodon::verify_credentials(&self.http, server, &token)).map_err(unreachable)?;
        let credentials = Credentials {
            access_token: token,
            refresh_token: None,
            client_id: Some(registration.client_id.clone()),
            client_secret: Some(registration.client_secret.clone()),
        };
        let server_text = server.as_str().trim_end_matches('/').to_owned();
        self.save_account(
            &NewAccount {
                kind: SourceKind::Mastodon,
                server: &server_text,
                remote_account_id: &me.id,
                handle: &me.handle,
                display_name: &me.display_name,
                storage: self.secrets.preferred(),
            },
            &credentials,
        )
    }

    /// Signs in to Bluesky with a handle and an app password.
    pub fn add_bluesky_account(&self, handle: &str, app_password: &str, service: Option<&str>) -> Result<AccountInfo> {
        let handle = bluesky::parse_handle(handle)?;
        let service = bluesky::service_address(service.unwrap_or(bluesky::DEFAULT_SERVICE))?;
        if app_password.trim().is_empty() {
            return Err(Error::invalid("type the app password made for Hearth in Bluesky's settings"));
        }
        let session = self
            .runtime
            .block_on(bluesky::create_session(&self.http, &service, &handle, app_password.trim()))
            .map_err(|failure| match failure.status {
                Some(401) => Error::invalid(format!("Bluesky did not accept {handle} with that app password")),
                _ => Error::Unavailable(format!("signing in to {service} failed: {failure}")),
            })?;
        let server_text = service.as_str().trim_end_matches('/').to_owned();
        let mut credentials = session.credentials();
        let display_name = self
            .runtime
            .block_on(bluesky::display_name(&self.http, &service, &mut credentials, &session.did))
            .unwrap_or_else(|| session.handle.clone());
        self.save_account(
            &NewAccount {
                kind: SourceKind::Bluesky,
                server: &server_text,
                remote_account_id: &session.did,
                handle: &session.handle,
                display_name: &display_name,
                storage: self.secrets.preferred(),
            },
            &credentials,
        )
    }

    /// Files the sign-in and the account, then syncs it once.
    fn save_account(&self, account: &NewAccount<'_>, credentials: &Credentials) -> Result<AccountInfo> {
        let key = stored::account_address(account.kind, account.server, account.handle);
        self.secrets.save(account.storage, &key, credentials)?;
        let source_id = self.store.write(|connection| stored::add(connection, account, now_ms()))?;
        let source = self.store.read(|connection| sources_store::record(connection, source_id))?;
        self.runtime.block_on(self.sync_account(&source));
        self.start_stream(source_id);
        self.account_info(source_id)
    }

    /// One account as the UI shows it.
    pub fn account_info(&self, source_id: i64) -> Result<AccountInfo> {
        self.accounts()?
            .into_iter()
            .find(|account| account.id == source_id)
            .ok_or_else(|| Error::not_found("account", source_id))
    }

    /// Every account, with whether it streams live.
    pub fn accounts(&self) -> Result<Vec<AccountInfo>> {
        let mut accounts = self.store.read(|connection| stored::list(connection, now_ms()))?;
        let live = lock(&self.accounts.live);
        for account in &mut accounts {
            account.live = live.contains(&account.id);
        }
        Ok(accounts)
    }

    /// Signs out: revokes the token on the server (if it answers), forgets it here, and removes
    /// the account's posts except the ones the user liked.
    pub fn remove_account(&self, source_id: i64) -> Result<()> {
        let account = self.store.read(|connection| stored::record(connection, source_id))?;
        if let Ok(Some(credentials)) = self.secrets.load(account.storage, &account.secret_key) {
            if let Ok(server) = Url::parse(&account.server) {
                // Best effort: signing out here must work even when the server is gone.
                let _ = self.runtime.block_on(async {
                    match account.kind {
                        SourceKind::Bluesky => bluesky::delete_session(&self.http, &server, &credentials).await,
                        _ => match (&credentials.client_id, &credentials.client_secret) {
                            (Some(client_id), Some(client_secret)) => {
                                let registration = mastodon::Registration {
                                    client_id: client_id.clone(),
                                    client_secret: client_secret.clone(),
                                };
                                mastodon::revoke(&self.http, &server, &registration, &credentials.access_token).await
                            }
                            _ => Ok(()),
                        },
                    }
                });
            }
        }
        self.secrets.forget(account.storage, &account.secret_key)?;
        self.store.write(|connection| {
            stored::forget(connection, source_id)?;
            sources_store::remove(connection, source_id, true, now_ms()).map(drop)
        })?;
        lock(&self.accounts.live).remove(&source_id);
        self.changes.bump();
        Ok(())
    }

    /// Queues an action for the account a post came through (or, with `account_id`, a new
    /// post of the user's), and wakes the sender.
    pub fn queue_action(&self, source_id: i64, post_id: Option<i64>, action: &Action) -> Result<()> {
        let key = idempotency_key()?;
        self.store.write(|connection| stored::enqueue(connection, source_id, post_id, action, &key, now_ms()))?;
        self.wake();
        Ok(())
    }

    fn credentials(&self, account: &AccountRecord) -> std::result::Result<Credentials, Failure> {
        match self.secrets.load(account.storage, &account.secret_key) {
            Ok(Some(credentials)) => Ok(credentials),
            Ok(None) => Err(Failure { message: SIGN_IN_AGAIN.into(), retry_after: None, status: Some(401) }),
            Err(error) => Err(Failure::new(error.to_string())),
        }
    }

    /// Keeps credentials the network refreshed.
    fn keep_refreshed(&self, account: &AccountRecord, before: &Credentials, after: &Credentials) {
        if before != after {
            let _ = self.secrets.save(account.storage, &account.secret_key, after);
        }
    }

    /// Marks the account as needing a new sign-in.
    fn signed_out(&self, source_id: i64) {
        let _ = self.store.write(|connection| stored::set_signed_out(connection, source_id, true, Some(SIGN_IN_AGAIN)));
        lock(&self.accounts.live).remove(&source_id);
        self.changes.bump();
    }

    /// Records that an account cannot sync until the user signs in again (no retries: the
    /// next sign-in makes it due).
    fn needs_sign_in(&self, source: &SourceRecord) -> SyncOutcome {
        self.record_failed_sync(source, format!("{SIGN_IN_AGAIN}."), now_ms() + millis(super::MAX_INTERVAL))
    }

    /// Syncs one account: sends its outbox first, then fetches what is new. Never fails (a
    /// failure is recorded on the account).
    pub(super) async fn sync_account(&self, source: &SourceRecord) -> SyncOutcome {
        let account = match self.store.read(|connection| stored::record(connection, source.id)) {
            Ok(account) => account,
            Err(error) => return self.record_failure(source, &Failure::new(error.to_string())),
        };
        if account.signed_out {
            return self.needs_sign_in(source);
        }
        self.send_actions(&account).await;
        let fetched = match self.credentials(&account) {
            Ok(mut credentials) => {
                let before = credentials.clone();
                let fetched = self.fetch_account(&account, &mut credentials).await;
                self.keep_refreshed(&account, &before, &credentials);
                fetched
            }
            Err(failure) => Err(failure),
        };
        let timeline = match fetched {
            Ok(timeline) => timeline,
            Err(failure) if failure.status == Some(401) => {
                self.signed_out(source.id);
                return self.needs_sign_in(source);
            }
            Err(failure) => return self.record_failure(source, &failure),
        };
        let now = now_ms();
        let live = lock(&self.accounts.live).contains(&source.id);
        let next = now + millis(if live { LIVE_INTERVAL } else { ACCOUNT_INTERVAL });
        let written = self.store.write(|connection| {
            // Signed out while it was being fetched: what came is dropped.
            stored::record(connection, source.id)?;
            let written = stored::store_timeline(connection, source.id, &timeline, now)?;
            sources_store::record_sync(connection, source.id, &SyncRecord::success(now, next))?;
            Ok(("ok", written.new, written.updated, next))
        });
        self.finish(source, written).await
    }

    async fn fetch_account(
        &self,
        account: &AccountRecord,
        credentials: &mut Credentials,
    ) -> std::result::Result<Timeline, Failure> {
        match account.kind {
            SourceKind::Bluesky => bluesky::fetch(&self.http, account, credentials, now_ms()).await,
            _ => mastodon::fetch(&self.http, account, &credentials.access_token, now_ms()).await,
        }
    }

    /// A post's thread, fetched from its account's server now and kept (replies that are not
    /// in the timeline stay out of it). Returns the posts' ids, oldest ancestor first.
    pub fn thread(&self, post_id: i64) -> Result<Vec<i64>> {
        let account = self
            .store
            .read(|connection| stored::of_post(connection, post_id))?
            .ok_or_else(|| Error::invalid("only posts from a Mastodon or Bluesky account have threads"))?;
        let refs = self.store.read(|connection| stored::post_refs(connection, post_id))?;
        let mut credentials = self.credentials(&account).map_err(|failure| Error::Unavailable(failure.message))?;
        let before = credentials.clone();
        let fetched = self.runtime.block_on(async {
            match account.kind {
                SourceKind::Bluesky => {
                    bluesky::thread(&self.http, &account, &mut credentials, &refs.remote_id, now_ms()).await
                }
                _ => mastodon::thread(&self.http, &account, &credentials.access_token, &refs.remote_id, now_ms()).await,
            }
        });
        self.keep_refreshed(&account, &before, &credentials);
        let posts = match fetched {
            Ok(posts) => posts,
            Err(failure) if failure.status == Some(401) => {
                self.signed_out(account.source_id);
                return Err(Error::Unavailable(format!("{SIGN_IN_AGAIN}.")));
            }
            Err(failure) => return Err(Error::Unavailable(format!("the thread could not be fetched: {failure}"))),
        };
        let ids =
            self.store.write(|connection| stored::store_thread(connection, account.source_id, &posts, now_ms()))?;
        (self.on_new_posts)();
        Ok(ids)
    }

    /// Sends what is due in every account's outbox; returns whether anything was tried.
    pub(super) async fn send_due_actions(&self) -> bool {
        let accounts =
            self.store.read(|connection| stored::accounts_with_due_actions(connection, now_ms())).unwrap_or_default();
        let mut tried = false;
        for source_id in accounts {
            if let Ok(account) = self.store.read(|connection| stored::record(connection, source_id)) {
                tried |= self.send_actions(&account).await > 0;
            }
        }
        tried
    }

    /// Sends an account's due actions in order; stops at the first that cannot go now (the
    /// server is away), so they go in the order they were made. Returns how many were tried.
    async fn send_actions(&self, account: &AccountRecord) -> usize {
        if account.signed_out {
            return 0;
        }
        let Ok(due) = self.store.read(|connection| stored::due_actions(connection, account.source_id, now_ms())) else {
            return 0;
        };
        if due.is_empty() {
            return 0;
        }
        let Ok(mut credentials) = self.credentials(account) else {
            self.signed_out(account.source_id);
            return 0;
        };
        let before = credentials.clone();
        let mut tried = 0;
        for item in due {
            tried += 1;
            let refs = match item.post_id {
                Some(post_id) => self.store.read(|connection| stored::post_refs(connection, post_id)).ok(),
                None => None,
            };
            let uploads = match (&item.action, item.post_id) {
                (Action::Post { .. }, Some(post_id)) => self.uploads_of(post_id).unwrap_or_default(),
                _ => Vec::new(),
            };
            let sent = match account.kind {
                SourceKind::Bluesky => {
                    bluesky::send(&self.http, account, &mut credentials, &item.action, refs.as_ref(), &uploads).await
                }
                _ => {
                    mastodon::send(
                        &self.http,
                        account,
                        &credentials.access_token,
                        &item.action,
                        refs.as_ref(),
                        &uploads,
                        &item.idempotency_key,
                    )
                    .await
                }
            };
            let now = now_ms();
            match sent {
                Ok(sent) => {
                    let recorded = self.store.write(|connection| {
                        stored::action_done(connection, item.id)?;
                        if let Some(post_id) = item.post_id {
                            match &item.action {
                                Action::Post { .. } => stored::record_sent_post(connection, post_id, &sent)?,
                                Action::Favourite => {
                                    stored::set_own_record(connection, post_id, false, sent.record.as_deref())?
                                }
                                Action::Unfavourite => stored::set_own_record(connection, post_id, false, None)?,
                                Action::Boost => {
                                    stored::set_own_record(connection, post_id, true, sent.record.as_deref())?
                                }
                                Action::Unboost => stored::set_own_record(connection, post_id, true, None)?,
                            }
                        }
                        Ok(())
                    });
                    if let Err(error) = recorded {
                        // Sent, but not written down: shown, never sent again unseen.
                        let message = format!("sent, but Hearth could not record it: {error}");
                        let _ =
                            self.store.write(|connection| stored::action_failed(connection, item.id, &message, None));
                    }
                }
                Err(failure) if failure.status == Some(401) => {
                    let _ = self
                        .store
                        .write(|connection| stored::action_failed(connection, item.id, SIGN_IN_AGAIN, Some(now)));
                    self.signed_out(account.source_id);
                    break;
                }
                Err(failure)
                    if failure
                        .status
                        .is_some_and(|status| (400..500).contains(&status) && status != 408 && status != 429) =>
                {
                    // Refused for good (the post is gone, the text too long): shown, not retried.
                    let message = format!("{} refused it: {}", account.handle, failure.message);
                    let _ = self.store.write(|connection| stored::action_failed(connection, item.id, &message, None));
                }
                Err(failure) => {
                    let wait = super::next_after_failure(item.attempts + 1, failure.retry_after, item.id)
                        .min(Duration::from_secs(30 * 60));
                    let message = format!("{}; trying again {}", failure.message, super::in_words(wait));
                    let _ = self.store.write(|connection| {
                        stored::action_failed(connection, item.id, &message, Some(now + millis(wait)))
                    });
                    break;
                }
            }
        }
        self.keep_refreshed(account, &before, &credentials);
        self.changes.bump();
        tried
    }

    /// A stored post's pictures, to send with it.
    fn uploads_of(&self, post_id: i64) -> Result<Vec<Upload>> {
        let rows = self.store.read(|connection| stored::post_images(connection, post_id))?;
        rows.into_iter()
            .map(|(path, mime, alt_text)| {
                let bytes = crate::media::read_file(&self.data_dir, &path)?;
                Ok(Upload { bytes, mime, alt_text })
            })
            .collect()
    }

    /// Streams a Mastodon account's live updates (new posts, notifications) on the sync
    /// runtime, reconnecting with a back-off while the account is signed in.
    pub fn start_stream(&self, source_id: i64) {
        let Ok(account) = self.store.read(|connection| stored::record(connection, source_id)) else { return };
        if account.kind != SourceKind::Mastodon || !lock(&self.accounts.streaming).insert(source_id) {
            return;
        }
        let service = self.clone();
        self.runtime.spawn(async move {
            let mut failures = 0_u32;
            loop {
                let Ok(account) = service.store.read(|connection| stored::record(connection, source_id)) else { break };
                if account.signed_out || service.owner_gone() {
                    break;
                }
                let connected = service.stream_once(&account).await;
                lock(&service.accounts.live).remove(&source_id);
                service.changes.bump();
                failures = if connected { 0 } else { failures.saturating_add(1) };
                // Waits in short steps, so the task ends soon after the app is gone.
                let wait = Duration::from_secs(2_u64.saturating_pow(failures.min(8)).min(300));
                let until = tokio::time::Instant::now() + wait;
                while tokio::time::Instant::now() < until && !service.owner_gone() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            lock(&service.accounts.streaming).remove(&source_id);
        });
    }

    /// One connection to the user stream, until it ends. Returns whether it connected.
    async fn stream_once(&self, account: &AccountRecord) -> bool {
        let Ok(server) = Url::parse(&account.server) else { return false };
        let Ok(url) = mastodon::stream_url(&server) else { return false };
        let Ok(credentials) = self.credentials(account) else { return false };
        let response = self
            .http
            .client()
            .get(url)
            .bearer_auth(&credentials.access_token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await;
        let Ok(mut response) = response else { return false };
        if response.status().as_u16() == 401 {
            self.signed_out(account.source_id);
            return false;
        }
        if !response.status().is_success() {
            return false;
        }
        lock(&self.accounts.live).insert(account.source_id);
        self.changes.bump();
        let mut buffer = String::new();
        // Heartbeats arrive every 15 s or so; silence for 2 minutes means the stream is dead.
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_secs(120), response.chunk()).await {
            if self.owner_gone() {
                break;
            }
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            if buffer.len() > 4_000_000 {
                break;
            }
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim();
                    } else if let Some(part) = line.strip_prefix("data:") {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(part.strip_prefix(' ').unwrap_or(part));
                    }
                }
                if let Some(timeline) = mastodon::streamed(event, &data, &server, now_ms()) {
                    let now = now_ms();
                    let written = self.store.write(|connection| {
                        stored::record(connection, account.source_id)?;
                        stored::store_timeline(connection, account.source_id, &timeline, now)
                    });
                    if written.is_ok_and(|written| written.new + written.updated > 0)
                        || !timeline.notifications.is_empty()
                    {
                        (self.on_new_posts)();
                        self.fetch_media(Some(account.source_id)).await;
                        (self.on_new_posts)();
                    }
                }
            }
        }
        true
    }

    /// Starts live updates for every signed-in Mastodon account.
    pub fn start_streams(&self) {
        let accounts = self.accounts().unwrap_or_default();
        for account in accounts
            .into_iter()
            .filter(|account| account.kind == SourceKind::Mastodon && account.state != "sign_in_again")
        {
            self.start_stream(account.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenges_follow_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let token = random_token(48).unwrap();
        assert_eq!(token.len(), 64);
        assert_ne!(token, random_token(48).unwrap());
    }
}
