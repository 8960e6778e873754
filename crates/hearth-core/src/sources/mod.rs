//! Sources: the networks posts come from besides the user's own notes. Feeds (RSS, Atom, JSON
//! Feed) are behind the `Network` trait (`feed.rs`); Mastodon (`mastodon.rs`) and Bluesky
//! (`bluesky.rs`) accounts bring timelines and notifications and take the user's actions
//! (`remote.rs` is their common shape, `accounts.rs` signs in and syncs them, `secrets.rs` keeps
//! their sign-ins). All fetch over one shared HTTP client (`http.rs`); `sync.rs` schedules and
//! runs the syncs in the background and writes what they bring as posts; `sanitise.rs` makes
//! remote HTML safe before it is stored; `opml.rs` reads and writes subscription lists;
//! `media.rs` fetches remote pictures and recordings into the local cache.

pub mod accounts;
pub mod bluesky;
pub mod feed;
pub mod http;
pub mod mastodon;
pub mod media;
pub mod opml;
pub mod remote;
pub mod sanitise;
pub mod secrets;
pub mod sync;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::store::sources::SourceRecord;
use feed::FeedDocument;
use http::{Failure, Fetcher, Validators};

/// A future a `Network` returns.
pub type Fetching<'a> = Pin<Box<dyn Future<Output = std::result::Result<Fetched, Failure>> + Send + 'a>>;

/// One network Hearth reads: given a subscription, fetch what it has now.
pub trait Network: Send + Sync {
    fn fetch<'a>(&'a self, source: &'a SourceRecord, http: &'a Fetcher) -> Fetching<'a>;
}

/// What one fetch brought.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per request, moved once: boxing buys nothing
pub enum Fetched {
    /// Nothing changed since the last sync (`304 Not Modified`).
    Unchanged {
        /// The source moved for good to this address.
        moved_to: Option<Url>,
    },
    Document {
        document: FeedDocument,
        validators: Validators,
        /// The source moved for good to this address.
        moved_to: Option<Url>,
    },
}

/// RSS, Atom and JSON Feed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Feeds;

/// What `Accept` says when asking for a feed.
const FEED_ACCEPT: &str =
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

impl Network for Feeds {
    fn fetch<'a>(&'a self, source: &'a SourceRecord, http: &'a Fetcher) -> Fetching<'a> {
        Box::pin(async move {
            let url = Url::parse(&source.url).map_err(|_| Failure {
                message: format!("{} is not a valid address", source.url),
                retry_after: None,
                status: None,
            })?;
            match http.get(&url, &source.validators, FEED_ACCEPT, http::Limits::feed()).await? {
                http::Response::NotModified { moved_permanently } => {
                    Ok(Fetched::Unchanged { moved_to: moved_permanently })
                }
                http::Response::Body { bytes, content_type, validators, final_url, moved_permanently } => {
                    if feed::looks_like_html(&bytes, content_type.as_deref()) {
                        return Err(Failure {
                            message: "the address now gives a web page, not a feed".into(),
                            retry_after: None,
                            status: None,
                        });
                    }
                    let document = feed::parse(&bytes, &final_url).map_err(|error| Failure {
                        message: error.to_string(),
                        retry_after: None,
                        status: None,
                    })?;
                    Ok(Fetched::Document { document, validators, moved_to: moved_permanently })
                }
            }
        })
    }
}

/// The network behind a source kind.
pub fn network(kind: crate::post::SourceKind) -> Result<&'static dyn Network> {
    match kind {
        crate::post::SourceKind::Rss => Ok(&Feeds),
        // Accounts are synced by `accounts.rs`; the demo and local notes are not synced.
        other => Err(Error::invalid(format!("{} sources are not fetched as feeds", other.as_str()))),
    }
}

/// How often a healthy feed is fetched, unless it asks for less.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// The longest wait between fetches, whatever a feed or a failing server says.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The first wait after a failure; it doubles with each failure in a row.
pub const FIRST_RETRY: Duration = Duration::from_secs(5 * 60);

/// When to fetch again after a success: the default interval, or the feed's `ttl` if longer.
pub fn next_after_success(ttl_minutes: Option<u32>) -> Duration {
    let ttl = Duration::from_secs(u64::from(ttl_minutes.unwrap_or(0)) * 60);
    ttl.max(DEFAULT_INTERVAL).min(MAX_INTERVAL)
}

/// When to try again after `failures` failures in a row (this one included): exponential
/// back-off from five minutes, or the server's `Retry-After` if longer, at most a day; spread
/// by up to a tenth per source so many failing feeds do not all come back at once.
pub fn next_after_failure(failures: i64, retry_after: Option<Duration>, source_id: i64) -> Duration {
    let exponent = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
    let backoff = FIRST_RETRY.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_INTERVAL);
    let spread = backoff.mul_f64(f64::from(u32::try_from(source_id.rem_euclid(10)).unwrap_or(0)) / 100.0);
    (backoff + spread).max(retry_after.unwrap_or_default()).min(MAX_INTERVAL)
}

/// "in 20 minutes", "in 3 hours": for error messages that say when the next try is.
pub fn in_words(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60);
    match minutes {
        0 | 1 => "in a minute".into(),
        2..=89 => format!("in {minutes} minutes"),
        _ => {
            let hours = (minutes + 30) / 60;
            if hours == 1 {
                "in an hour".into()
            } else {
                format!("in {hours} hours")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_exponentially_within_a_day_and_honour_retry_after() {
        let minutes = |failures| next_after_failure(failures, None, 0).as_secs() / 60;
        assert_eq!([minutes(1), minutes(2), minutes(3), minutes(4)], [5, 10, 20, 40]);
        assert_eq!(minutes(30), 24 * 60);
        let asked = next_after_failure(1, Some(Duration::from_secs(3 * 3600)), 0);
        assert_eq!(asked, Duration::from_secs(3 * 3600));
        assert_eq!(next_after_failure(1, Some(Duration::from_secs(30 * 24 * 3600)), 0), MAX_INTERVAL);
        assert!(next_after_failure(1, None, 7) > next_after_failure(1, None, 0), "spread per source");
        assert_eq!(next_after_success(None), DEFAULT_INTERVAL);
        assert_eq!(next_after_success(Some(120)), Duration::from_secs(7200));
        assert_eq!(next_after_success(Some(100_000)), MAX_INTERVAL);
        assert_eq!(in_words(Duration::from_secs(20 * 60)), "in 20 minutes");
        assert_eq!(in_words(Duration::from_secs(3 * 3600)), "in 3 hours");
    }
}
