//! Pages of the timeline: chronological (keyset paging) or ranked (asks `ranking` for order),
//! with mutes and filters applied.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::interactions::MuteRule;
use crate::post::{MediaKind, Post};
use crate::ranking::{self, Profile, RankingInput, RankingStrategy};
use crate::store::posts::{self, Candidate, CandidateQuery};
use crate::store::{enrichments, interactions as log, Store};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
/// How many of the newest posts the ranked feed considers.
pub const RANKED_CANDIDATE_POOL: i64 = 2_000;

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

/// One page of the feed; ranked pages are ordered by `ranking` for `profile`.
pub fn page(
    store: &Store,
    ranking: &dyn RankingStrategy,
    profile: &Profile,
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
                let pool = posts::candidates(
                    connection,
                    &CandidateQuery {
                        limit: RANKED_CANDIDATE_POOL,
                        recent_since_ms: Some(as_of_ms - ranking::QUIET_WINDOW_MS),
                        ..base.clone()
                    },
                )?;
                let pool: Vec<Candidate> = pool.into_iter().filter(|candidate| visible(candidate)).collect();
                let ids: Vec<i64> = pool.iter().map(|candidate| candidate.id).collect();
                let embeddings = enrichments::post_vectors(connection, &ids, "embedding", ranking::EMBEDDING_MODEL)?;
                let input = RankingInput { candidates: &pool, embeddings: &embeddings, profile };
                let ranked = ranking.rank(&input, as_of_ms);
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(ranked.order.len());
                let end = start.saturating_add(usize::try_from(limit).unwrap_or(0)).min(ranked.order.len());
                let slice = &ranked.order[start..end];
                let ids: Vec<i64> = slice.iter().map(|ranked| ranked.post_id).collect();
                let mut page_posts = posts::load_posts(connection, &ids)?;
                for (post, place) in page_posts.iter_mut().zip(slice) {
                    post.reasons = ranking.explain(&input, &ranked, place, as_of_ms);
                    post.reason = post.reasons.first().cloned();
                }
                let next_cursor = (end < ranked.order.len())
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
