//! Pages of the timeline: chronological (keyset paging) or ranked (asks `ranking` for order),
//! with mutes and filters applied. Later ranked pages continue the order the first page was
//! cut from (`RankedSnapshots`), so what the ranker learns while the user scrolls can neither
//! repeat a post nor skip one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::interactions::MuteRule;
use crate::post::{MediaKind, Post};
use crate::ranking::{self, Profile, Ranking, RankingInput, RankingStrategy};
use crate::store::posts::{self, Candidate, CandidateQuery};
use crate::store::{interactions as log, Store};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
/// How many of the newest posts the ranked feed considers.
pub const RANKED_CANDIDATE_POOL: i64 = 2_000;
/// Ranked orders kept for paging (each about 4 MB at a full pool); older ones are dropped, and
/// a cursor into a dropped one ranks again.
const SNAPSHOTS_KEPT: usize = 4;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedMode {
    #[default]
    Ranked,
    Chronological,
}

/// Which page of which feed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    #[serde(default)]
    pub mode: FeedMode,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub author_id: Option<i64>,
    #[serde(default)]
    pub source_id: Option<i64>,
    #[serde(default)]
    pub has_media: Option<MediaKind>,
    #[serde(default)]
    pub include_hidden: bool,
    /// Calm mode: leave out posts the tone model tagged negative.
    #[serde(default)]
    pub calm: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedPage {
    pub posts: Vec<Post>,
    pub next_cursor: Option<String>,
}

impl FeedQuery {
    /// The filters, as text: ranked pages continue a snapshot only under the same ones.
    fn filters(&self) -> String {
        format!("{:?}/{:?}/{:?}/{}/{}", self.author_id, self.source_id, self.has_media, self.include_hidden, self.calm)
    }
}

/// A ranked order as the first page saw it, with everything its reasons are drawn from.
struct Snapshot {
    as_of_ms: i64,
    filters: String,
    candidates: Vec<Candidate>,
    embeddings: HashMap<i64, Vec<f32>>,
    profile: Profile,
    ranking: Ranking,
}

/// The last few ranked orders handed out, newest first (see the module comment).
#[derive(Default)]
pub struct RankedSnapshots(Mutex<VecDeque<Arc<Snapshot>>>);

impl std::fmt::Debug for RankedSnapshots {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map_or(0, |entries| entries.len());
        formatter.debug_struct("RankedSnapshots").field("kept", &kept).finish()
    }
}

impl RankedSnapshots {
    fn find(&self, as_of_ms: i64, filters: &str) -> Option<Arc<Snapshot>> {
        let entries = self.0.lock().ok()?;
        entries.iter().find(|entry| entry.as_of_ms == as_of_ms && entry.filters == filters).cloned()
    }

    fn keep(&self, snapshot: Snapshot) -> Arc<Snapshot> {
        let snapshot = Arc::new(snapshot);
        if let Ok(mut entries) = self.0.lock() {
            entries.retain(|entry| entry.as_of_ms != snapshot.as_of_ms || entry.filters != snapshot.filters);
            entries.push_front(Arc::clone(&snapshot));
            entries.truncate(SNAPSHOTS_KEPT);
        }
        snapshot
    }
}

/// Where the next page starts. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// After the post `(created_at_ms, id)`.
    Chronological { created_at_ms: i64, post_id: i64 },
    /// Ranked as of `as_of_ms` (so pages agree), skipping `offset` posts.
    Ranked { as_of_ms: i64, offset: i64 },
}

impl Cursor {
    fn encode(self) -> String {
        match self {
            Self::Chronological { created_at_ms, post_id } => format!("c.{created_at_ms}.{post_id}"),
            Self::Ranked { as_of_ms, offset } => format!("r.{as_of_ms}.{offset}"),
        }
    }

    fn decode(text: &str) -> Result<Self> {
        let invalid = || Error::invalid(format!("the feed cursor {text:?} is not one this app made"));
        let mut parts = text.split('.');
        let (Some(tag), Some(first), Some(second), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let first: i64 = first.parse().map_err(|_| invalid())?;
        let second: i64 = second.parse().map_err(|_| invalid())?;
        match tag {
            "c" => Ok(Self::Chronological { created_at_ms: first, post_id: second }),
            "r" if second >= 0 => Ok(Self::Ranked { as_of_ms: first, offset: second }),
            _ => Err(invalid()),
        }
    }
}

/// One page of the feed. A first ranked page is ordered by `ranking` for the profile `learn`
/// returns (called only then) and kept in `snapshots`; later pages continue it.
pub fn page(
    store: &Store,
    ranking: &dyn RankingStrategy,
    snapshots: &RankedSnapshots,
    learn: impl FnOnce() -> Result<Profile>,
    query: &FeedQuery,
    now_ms: i64,
) -> Result<FeedPage> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(Error::invalid(format!("limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")));
    }
    let cursor = query.cursor.as_deref().filter(|text| !text.is_empty()).map(Cursor::decode).transpose()?;
    let base = CandidateQuery {
        author_id: query.author_id,
        source_id: query.source_id,
        has_media: query.has_media,
        include_hidden: query.include_hidden,
        calm: query.calm,
        ..CandidateQuery::default()
    };
    let filters = query.filters();
    let continued = match (query.mode, cursor) {
        (FeedMode::Ranked, Some(Cursor::Ranked { as_of_ms, .. })) => snapshots.find(as_of_ms, &filters),
        _ => None,
    };
    // Learning writes, so it happens before the read below takes the connection.
    let profile = if query.mode == FeedMode::Ranked && continued.is_none() { Some(learn()?) } else { None };
    store.read(|connection| {
        // A stored rule that no longer parses (a pattern from a future version) mutes nothing.
        let muted_words: Vec<MuteRule> =
            log::muted_words(connection)?.iter().filter_map(|word| MuteRule::parse(word).ok()).collect();
        let visible = |candidate: &Candidate| !muted_words.iter().any(|rule| rule.matches(&candidate.text));
        match (query.mode, cursor) {
            (FeedMode::Chronological, cursor @ (None | Some(Cursor::Chronological { .. }))) => {
                let mut before = match cursor {
                    Some(Cursor::Chronological { created_at_ms, post_id }) => Some((created_at_ms, post_id)),
                    _ => None,
                };
                // Gather one more visible post than asked for: if it exists, there is a next page.
                let wanted = usize::try_from(limit).unwrap_or(0) + 1;
                let mut chosen: Vec<Candidate> = Vec::with_capacity(wanted);
                loop {
                    let batch =
                        posts::candidates(connection, &CandidateQuery { before, limit: limit * 2, ..base.clone() })?;
                    let batch_was_full = i64::try_from(batch.len()).unwrap_or(0) == limit * 2;
                    before = batch.last().map(|last| (last.created_at_ms, last.id));
                    chosen.extend(batch.into_iter().filter(|candidate| visible(candidate)).take(wanted - chosen.len()));
                    if chosen.len() == wanted || !batch_was_full {
                        break;
                    }
                }
                let has_more = chosen.len() == wanted;
                chosen.truncate(wanted - 1);
                let next_cursor = chosen
                    .last()
                    .filter(|_| has_more)
                    .map(|last| Cursor::Chronological { created_at_ms: last.created_at_ms, post_id: last.id }.encode());
                let ids: Vec<i64> = chosen.iter().map(|candidate| candidate.id).collect();
                Ok(FeedPage { posts: posts::load_posts(connection, &ids)?, next_cursor })
            }
            (FeedMode::Ranked, cursor @ (None | Some(Cursor::Ranked { .. }))) => {
                let (as_of_ms, offset) = match cursor {
                    Some(Cursor::Ranked { as_of_ms, offset }) => (as_of_ms, offset),
                    _ => (now_ms, 0),
                };
                let snapshot = match (continued, profile) {
                    (Some(snapshot), _) => snapshot,
                    (None, profile) => {
                        let pool = posts::candidates(
                            connection,
                            &CandidateQuery {
                                limit: RANKED_CANDIDATE_POOL,
                                recent_since_ms: Some(as_of_ms - ranking::QUIET_WINDOW_MS),
                                ..base.clone()
                            },
                        )?;
                        let candidates: Vec<Candidate> =
                            pool.into_iter().filter(|candidate| visible(candidate)).collect();
                        let ids: Vec<i64> = candidates.iter().map(|candidate| candidate.id).collect();
                        let embeddings = ranking::post_embeddings(connection, &ids)?;
                        let profile = profile.unwrap_or_default();
                        let input =
                            RankingInput { candidates: &candidates, embeddings: &embeddings, profile: &profile };
                        let ranking = ranking.rank(&input, as_of_ms);
                        snapshots.keep(Snapshot { as_of_ms, filters, candidates, embeddings, profile, ranking })
                    }
                };
                let input = RankingInput {
                    candidates: &snapshot.candidates,
                    embeddings: &snapshot.embeddings,
                    profile: &snapshot.profile,
                };
                let order = &snapshot.ranking.order;
                // What was hidden or muted since the order was made stays out of later pages.
                let muted_authors: HashSet<i64> =
                    log::muted_authors(connection)?.iter().map(|author| author.id).collect();
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(order.len());
                let wanted = usize::try_from(limit).unwrap_or(0);
                let mut end = start;
                let mut page_posts: Vec<Post> = Vec::with_capacity(wanted);
                let mut places = Vec::with_capacity(wanted);
                while page_posts.len() < wanted && end < order.len() {
                    let batch = &order[end..(end + wanted - page_posts.len()).min(order.len())];
                    end += batch.len();
                    let ids: Vec<i64> = batch.iter().map(|ranked| ranked.post_id).collect();
                    for (post, place) in posts::load_posts(connection, &ids)?.into_iter().zip(batch) {
                        let candidate = &snapshot.candidates[place.index];
                        let still_shown = (query.include_hidden || !post.state.hidden)
                            && !muted_authors.contains(&candidate.author_id)
                            && visible(candidate);
                        if still_shown {
                            page_posts.push(post);
                            places.push(place);
                        }
                    }
                }
                for (post, place) in page_posts.iter_mut().zip(places) {
                    post.reasons = ranking.explain(&input, &snapshot.ranking, place, as_of_ms);
                    post.reason = post.reasons.first().cloned();
                }
                let next_cursor = (end < order.len())
                    .then(|| Cursor::Ranked { as_of_ms, offset: i64::try_from(end).unwrap_or(i64::MAX) }.encode());
                Ok(FeedPage { posts: page_posts, next_cursor })
            }
            _ => Err(Error::invalid("this cursor belongs to the other feed mode; start again without a cursor")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for cursor in [
            Cursor::Chronological { created_at_ms: 1_795_000_000_000, post_id: 42 },
            Cursor::Ranked { as_of_ms: 5, offset: 20 },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
        for garbage in ["", "x", "c.1", "c.a.b", "r.1.-5", "z.1.2", "c.1.2.3"] {
            assert!(Cursor::decode(garbage).is_err(), "{garbage}");
        }
    }
}
