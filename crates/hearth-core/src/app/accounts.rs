//! The app's network accounts: signing in and out, the accounts' notifications and outbox,
//! and what the user does in Hearth that must reach a network (likes, boosts, posts, replies).

use super::App;
use crate::error::{Error, Result};
use crate::interactions::{InteractionInput, InteractionKind};
use crate::post::{NewPost, Post, SourceKind};
use crate::sources::accounts::{SignIn, SignInState};
use crate::sources::remote::Action;
use crate::store::accounts::{self as stored, AccountInfo, Notification, OutboxItem};
use crate::store::now_ms;

/// Longest Mastodon post (the common server default), and Bluesky's.
const MASTODON_MAX_CHARS: usize = 500;
const BLUESKY_MAX_CHARS: usize = 300;
/// Notifications listed at most.
const MAX_NOTIFICATIONS: i64 = 200;

/// A Bluesky sign-in as a face submits it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskySignIn {
    pub handle: String,
    pub app_password: String,
    #[serde(default)]
    pub service: Option<String>,
}

impl App {
    /// Every signed-in account, with its state.
    pub fn accounts(&self) -> Result<Vec<AccountInfo>> {
        let service = self.sync_service()?;
        let syncing = service.status().current_source_id;
        let mut accounts = service.accounts()?;
        for account in &mut accounts {
            if syncing == Some(account.id) && account.state != "sign_in_again" {
                account.state = "syncing";
            }
        }
        Ok(accounts)
    }

    /// Starts a Mastodon sign-in; the user approves Hearth at `authorize_url` in their browser.
    pub fn begin_mastodon_sign_in(&self, server: &str) -> Result<SignIn> {
        self.sync_service()?.begin_mastodon_sign_in(server)
    }

    /// Gives up on a Mastodon sign-in that waits for the browser.
    pub fn cancel_sign_in(&self, id: &str) -> Result<SignInState> {
        self.sync_service()?.cancel_sign_in(id)
    }

    pub fn sign_in_state(&self, id: &str) -> Result<SignInState> {
        self.sync_service()?.sign_in_state(id)
    }

    /// Signs in to Bluesky with an app password.
    pub fn add_bluesky_account(&self, request: &BlueskySignIn) -> Result<AccountInfo> {
        let account = self.sync_service()?.add_bluesky_account(
            &request.handle,
            &request.app_password,
            request.service.as_deref().filter(|service| !service.trim().is_empty()),
        )?;
        self.wake_enrichment();
        Ok(account)
    }

    /// Signs out: revoked on the server, forgotten here; liked posts stay.
    pub fn remove_account(&self, account_id: i64) -> Result<()> {
        self.sync_service()?.remove_account(account_id)
    }

    pub fn notifications(&self, limit: Option<i64>) -> Result<Vec<Notification>> {
        let limit = limit.unwrap_or(50);
        if !(1..=MAX_NOTIFICATIONS).contains(&limit) {
            return Err(Error::invalid(format!("limit must be between 1 and {MAX_NOTIFICATIONS}")));
        }
        self.store.read(|connection| stored::notifications(connection, limit))
    }

    /// Marks notifications read: all, or up to the newest the user saw.
    pub fn mark_notifications_read(&self, up_to_id: Option<i64>) -> Result<()> {
        self.store.write(|connection| stored::mark_notifications_read(connection, up_to_id))?;
        self.changes.bump();
        Ok(())
    }

    /// A post's thread from its account's server: ancestors first, then the post, then replies.
    pub fn thread(&self, post_id: i64) -> Result<Vec<Post>> {
        let ids = self.sync_service()?.thread(post_id)?;
        self.store.read(|connection| crate::store::posts::load_posts(connection, &ids))
    }

    /// Actions the servers have not accepted yet.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        self.store.read(stored::outbox)
    }

    pub fn retry_outbox(&self, id: i64) -> Result<()> {
        self.store.write(|connection| stored::retry_action(connection, id, now_ms()))?;
        self.sync_service()?.wake();
        Ok(())
    }

    pub fn discard_outbox(&self, id: i64) -> Result<()> {
        self.store.write(|connection| stored::discard_action(connection, id))?;
        self.changes.bump();
        Ok(())
    }

    /// A like, boost, or the undoing of one, on a post from an account goes to its server too.
    pub(super) fn send_interaction(&self, input: &InteractionInput) -> Result<()> {
        let action = match input.kind {
            InteractionKind::Like => Action::Favourite,
            InteractionKind::Unlike => Action::Unfavourite,
            InteractionKind::Boost => Action::Boost,
            InteractionKind::Unboost => Action::Unboost,
            _ => return Ok(()),
        };
        let Some(post_id) = input.post_id else { return Ok(()) };
        let Some(account) = self.store.read(|connection| stored::of_post(connection, post_id))? else { return Ok(()) };
        self.sync_service()?.queue_action(account.source_id, Some(post_id), &action)
    }

    /// Where a new post goes besides Hearth: the account named, or the one the post replied to
    /// came through; `None` for a local note.
    pub(super) fn destination(&self, new_post: &NewPost) -> Result<Option<crate::compose::ToAccount>> {
        let parent = match new_post.reply_to {
            Some(post_id) => {
                let account = self
                    .store
                    .read(|connection| stored::of_post(connection, post_id))?
                    .ok_or_else(|| Error::invalid("only posts from a Mastodon or Bluesky account can be replied to"))?;
                let refs = self.store.read(|connection| stored::post_refs(connection, post_id))?;
                Some((account, refs))
            }
            None => None,
        };
        let account = match (new_post.account_id, &parent) {
            (Some(account_id), Some((account, _))) if account.source_id != account_id => {
                return Err(Error::invalid(format!(
                    "a reply goes through the account its post came from ({})",
                    account.handle
                )))
            }
            (_, Some((account, _))) => account.clone(),
            (Some(account_id), None) => self.store.read(|connection| stored::record(connection, account_id))?,
            (None, None) => return Ok(None),
        };
        if account.signed_out {
            return Err(Error::Conflict(format!(
                "@{} needs to be signed in again first (Settings → Accounts)",
                account.handle
            )));
        }
        let (in_reply_to, in_reply_to_ref) = match &parent {
            Some((_, refs)) => (Some(refs.remote_id.clone()), refs.remote_ref.clone()),
            None => (None, None),
        };
        let mut text = new_post.text.trim_end().to_owned();
        if let (SourceKind::Mastodon, Some((_, refs))) = (account.kind, &parent) {
            // Mastodon notifies the person replied to only when the reply mentions them.
            let mention = format!("@{}", refs.handle);
            if refs.handle != account.handle && !text.contains(&mention) {
                text = format!("{mention} {text}");
            }
        }
        Ok(Some(crate::compose::ToAccount {
            source_id: account.source_id,
            max_chars: if account.kind == SourceKind::Bluesky { BLUESKY_MAX_CHARS } else { MASTODON_MAX_CHARS },
            action: Action::Post { text, in_reply_to: in_reply_to.clone(), in_reply_to_ref, root: None },
            in_reply_to,
            handle: account.handle,
            display_name: account.display_name,
            idempotency_key: crate::sources::accounts::idempotency_key()?,
        }))
    }

    /// After a post for an account was kept: the sender wakes.
    pub(super) fn post_queued(&self, post: &Post) -> Result<()> {
        if matches!(post.source.kind, SourceKind::Mastodon | SourceKind::Bluesky) {
            self.sync_service()?.wake();
        }
        Ok(())
    }
}
