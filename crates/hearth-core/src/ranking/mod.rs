//! The order of the ranked feed, learned on this machine from this user's interactions.
//!
//! A recommender in four stages: the feed gathers candidates (`feed`), `profile` turns each
//! into features for this user (interest and dislike centroids over embeddings, author and
//! source affinity, recency, engagement, tone, media, already seen, quiet authors) and scores
//! them with weights it learns online, `diversity` re-ranks the top for variety, and `explain`
//! says in plain words why each post is where it is. The profile learns from the interaction
//! log after every interaction (`learn`), is kept in the settings table, and survives restarts;
//! `reset` forgets it without touching the log.

pub mod diversity;
pub mod evaluation;
pub mod explain;
pub mod profile;

use std::collections::HashMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::sentiment::Tone;
use crate::store::posts::{self, Candidate};
use crate::store::{enrichments, interactions as log, settings};
pub use profile::Profile;
use profile::{Item, MediaType, Signal};

/// Where the learned state lives in the settings table.
const STATE_KEY: &str = "ranking.state";
/// The embedding model whose vectors the ranker compares.
pub const EMBEDDING_MODEL: &str = crate::app::TEXT_EMBEDDING_MODEL;
/// "Rarely posts" is judged over this window.
pub const QUIET_WINDOW_MS: i64 = 30 * 24 * 3_600_000;
/// Posts each interaction is contrasted with when the scorer learns.
const CONTRASTS: usize = 2;
/// Events learned per pass (a long backlog is learned over several passes).
const EVENTS_PER_PASS: i64 = 5_000;
/// How many interactions may wait for their post's embedding before the oldest is dropped.
const MAX_AWAITING: usize = 500;

/// One candidate's place in the ranked feed.
#[derive(Debug, Clone, Copy)]
pub struct Ranked {
    pub post_id: i64,
    /// Where the post is in `RankingInput::candidates`.
    pub index: usize,
    pub score: f64,
    /// What the score was made of, for `RankingStrategy::explain`.
    pub scored: profile::Scored,
}

/// The feed order, and what a typical candidate looked like (reasons are relative to it).
#[derive(Debug, Clone)]
pub struct Ranking {
    pub order: Vec<Ranked>,
    pub typical: [f64; profile::FEATURES.len()],
}

/// Everything a strategy ranks with.
#[derive(Debug, Clone, Copy)]
pub struct RankingInput<'a> {
    pub candidates: &'a [Candidate],
    /// Post id → unit-length sentence embedding, for the candidates that have one.
    pub embeddings: &'a HashMap<i64, Vec<f32>>,
    pub profile: &'a Profile,
}

/// Orders candidate posts for one user at one moment.
pub trait RankingStrategy: Send + Sync {
    /// A stable name, shown in diagnostics and stored with learned state.
    fn name(&self) -> &'static str;
    /// Every candidate in feed order, best first.
    fn rank(&self, input: &RankingInput<'_>, now_ms: i64) -> Ranking;
    /// Why `ranked` is where it is, in plain words, strongest first (asked only for the posts
    /// on the page being shown).
    fn explain(&self, input: &RankingInput<'_>, ranking: &Ranking, ranked: &Ranked, now_ms: i64) -> Vec<String>;
}

/// The learned ranker: profile score, then re-ranking for variety; reasons on request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Personalised;

impl RankingStrategy for Personalised {
    fn name(&self) -> &'static str {
        "personalised-v1"
    }

    fn rank(&self, input: &RankingInput<'_>, now_ms: i64) -> Ranking {
        let items: Vec<Item<'_>> = input
            .candidates
            .iter()
            .map(|candidate| item(candidate, input.embeddings.get(&candidate.id).map(Vec::as_slice)))
            .collect();
        let mut scored: Vec<(usize, profile::Scored)> =
            input.profile.score_many(&items, now_ms).into_iter().enumerate().collect();
        // Best first; ties by newer, then by id, so the order is stable.
        scored.sort_by(|(a, a_scored), (b, b_scored)| {
            let (a_candidate, b_candidate) = (&input.candidates[*a], &input.candidates[*b]);
            b_scored
                .score
                .total_cmp(&a_scored.score)
                .then(b_candidate.created_at_ms.cmp(&a_candidate.created_at_ms))
                .then(b_candidate.id.cmp(&a_candidate.id))
        });
        let mut typical = [0.0; profile::FEATURES.len()];
        for (_, scored) in &scored {
            for (sum, value) in typical.iter_mut().zip(&scored.features) {
                *sum += value;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let count = scored.len().max(1) as f64;
        for sum in &mut typical {
            *sum /= count;
        }
        let entries: Vec<diversity::Entry<'_>> = scored
            .iter()
            .map(|(index, scored)| diversity::Entry {
                score: scored.score,
                author_id: input.candidates[*index].author_id,
                embedding: items[*index].embedding,
            })
            .collect();
        let order = diversity::rerank(&entries)
            .into_iter()
            .map(|position| {
                let (index, scored) = scored[position];
                Ranked { post_id: input.candidates[index].id, index, score: scored.score, scored }
            })
            .collect();
        Ranking { order, typical }
    }

    fn explain(&self, input: &RankingInput<'_>, ranking: &Ranking, ranked: &Ranked, now_ms: i64) -> Vec<String> {
        let candidate = &input.candidates[ranked.index];
        let item = item(candidate, input.embeddings.get(&candidate.id).map(Vec::as_slice));
        explain::reasons(input.profile, &item, candidate.counts, &ranked.scored, &ranking.typical, now_ms)
    }
}

/// A candidate as the profile sees it.
pub fn item<'a>(candidate: &'a Candidate, embedding: Option<&'a [f32]>) -> Item<'a> {
    #[allow(clippy::cast_precision_loss)] // counts are far below 2^52
    let engagement = (candidate.counts.likes + 2 * candidate.counts.boosts + candidate.counts.replies) as f64;
    Item {
        text: &candidate.text,
        embedding,
        author_id: Some(candidate.author_id),
        source_id: Some(candidate.source_id),
        created_at_ms: Some(candidate.created_at_ms),
        engagement,
        tone: candidate.tone.as_deref().and_then(Tone::parse),
        media: if candidate.n_audio > 0 {
            MediaType::Audio
        } else if candidate.n_images > 0 {
            MediaType::Image
        } else {
            MediaType::Text
        },
        seen: candidate.seen,
        shown_less: candidate.state.show_less,
        author_recent_posts: candidate.author_recent_posts,
    }
}

/// What an interaction kind says, if it says anything about the post.
pub fn signal(kind: &str, dwell_ms: Option<i64>) -> Option<Signal> {
    Some(match kind {
        "like" => Signal::Positive { strength: 1.0, reply: false },
        "boost" => Signal::Positive { strength: 1.5, reply: false },
        "reply" => Signal::Positive { strength: 2.0, reply: true },
        "open" => Signal::Positive { strength: 0.3, reply: false },
        // A read of eight seconds or more is interest; a glance is not.
        "dwell" if dwell_ms.unwrap_or(0) >= 8_000 => Signal::Positive { strength: 0.5, reply: false },
        "hide" => Signal::Negative { strength: 1.0 },
        "show_less" => Signal::Negative { strength: 1.5 },
        _ => return None,
    })
}

/// The learned state as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// The last interaction id learned from.
    learned_through: i64,
    profile: Profile,
    /// Interactions whose post had no embedding yet: their interest is learned when it has.
    awaiting_embedding: Vec<Awaiting>,
}

/// An interaction waiting for its post's embedding.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Awaiting {
    post_id: i64,
    kind: String,
    dwell_ms: Option<i64>,
}

fn load_state(connection: &Connection) -> Result<State> {
    // A state this version cannot read (older or damaged) is relearned from the log.
    Ok(settings::get(connection, STATE_KEY)?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

fn save_state(connection: &Connection, state: &State, now_ms: i64) -> Result<()> {
    let text = serde_json::to_string(state)
        .map_err(|error| crate::error::Error::Internal(format!("cannot save the ranking state: {error}")))?;
    settings::set(connection, STATE_KEY, &text, now_ms)
}

/// What the ranker compares posts by: each post's text embedding, joined by the embedding of
/// what its images show (the image labels, embedded as a caption) — so a photo of a cat counts
/// as "about cats" for interests, dislikes and variety, and a post that is only a photo has a
/// place at all. Text and images weigh the same; the result is a unit vector.
pub fn post_embeddings(connection: &Connection, post_ids: &[i64]) -> Result<HashMap<i64, Vec<f32>>> {
    let mut vectors = enrichments::post_vectors(connection, post_ids, "embedding", EMBEDDING_MODEL)?;
    for (post_id, images) in enrichments::image_vectors_of_posts(connection, post_ids, "embedding", EMBEDDING_MODEL)? {
        let dimension = images[0].len();
        #[allow(clippy::cast_precision_loss)]
        let share = 1.0 / images.len() as f32;
        let mut combined =
            vectors.remove(&post_id).filter(|text| text.len() == dimension).unwrap_or_else(|| vec![0.0; dimension]);
        for image in images.iter().filter(|image| image.len() == dimension) {
            for (value, add) in combined.iter_mut().zip(image) {
                *value += add * share;
            }
        }
        let norm = combined.iter().map(|value| value * value).sum::<f32>().sqrt();
        if norm > 0.0 {
            combined.iter_mut().for_each(|value| *value /= norm);
            vectors.insert(post_id, combined);
        }
    }
    Ok(vectors)
}

/// The profile as learned so far (without learning anything new).
pub fn load(connection: &Connection) -> Result<Profile> {
    Ok(load_state(connection)?.profile)
}

/// Learns from every interaction logged since the last call, and returns the profile. Call
/// inside a write transaction, after each interaction and before ranking.
pub fn learn(connection: &Connection, now_ms: i64) -> Result<Profile> {
    let mut state = load_state(connection)?;
    let mut changed = false;
    // Interests of earlier interactions whose posts have an embedding by now.
    if !state.awaiting_embedding.is_empty() {
        let post_ids: Vec<i64> = state.awaiting_embedding.iter().map(|awaiting| awaiting.post_id).collect();
        let vectors = post_embeddings(connection, &post_ids)?;
        let mut still_waiting = Vec::new();
        for awaiting in std::mem::take(&mut state.awaiting_embedding) {
            let Some(candidate) = posts::candidate(connection, awaiting.post_id, now_ms - QUIET_WINDOW_MS)? else {
                continue; // the post is gone
            };
            match (vectors.get(&awaiting.post_id), signal(&awaiting.kind, awaiting.dwell_ms)) {
                (Some(vector), Some(signal)) => {
                    state.profile.learn_interest(signal, &item(&candidate, Some(vector)));
                    changed = true;
                }
                (None, Some(_)) => still_waiting.push(awaiting),
                (_, None) => {}
            }
        }
        changed |= still_waiting.len() != post_ids.len();
        state.awaiting_embedding = still_waiting;
    }
    loop {
        let events = log::after(connection, state.learned_through, EVENTS_PER_PASS)?;
        let Some(last) = events.last() else { break };
        let done = last.id;
        for event in &events {
            learn_event(connection, &mut state, event, now_ms)?;
        }
        state.learned_through = done;
        changed = true;
        if i64::try_from(events.len()).unwrap_or(0) < EVENTS_PER_PASS {
            break;
        }
    }
    if changed {
        save_state(connection, &state, now_ms)?;
    }
    Ok(state.profile)
}

fn learn_event(connection: &Connection, state: &mut State, event: &log::LoggedInteraction, now_ms: i64) -> Result<()> {
    if event.kind == "mute_author" {
        if let Some(author_id) = event.author_id {
            state.profile.penalise_author(author_id, 5.0);
        }
        return Ok(());
    }
    let (Some(signal), Some(post_id)) = (signal(&event.kind, event.dwell_ms), event.post_id) else {
        return Ok(());
    };
    let recent_since = event.created_at_ms - QUIET_WINDOW_MS;
    let Some(candidate) = posts::candidate(connection, post_id, recent_since)? else { return Ok(()) };
    let seed = u64::try_from(event.id).unwrap_or(0);
    let contrast_ids = posts::untouched_posts(connection, seed, post_id, CONTRASTS)?;
    let mut ids = contrast_ids.clone();
    ids.push(post_id);
    let vectors = post_embeddings(connection, &ids)?;
    let contrast_candidates: Vec<Candidate> = contrast_ids
        .iter()
        .map(|&id| posts::candidate(connection, id, recent_since))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let contrast: Vec<Item<'_>> = contrast_candidates
        .iter()
        .map(|candidate| item(candidate, vectors.get(&candidate.id).map(Vec::as_slice)))
        .collect();
    let embedding = vectors.get(&post_id).map(Vec::as_slice);
    // Features as they were when the user acted: the post was not yet seen or shown less.
    let mut acted_on = item(&candidate, embedding);
    acted_on.seen = false;
    acted_on.shown_less = false;
    state.profile.learn(signal, &acted_on, &contrast, event.created_at_ms.min(now_ms));
    if embedding.is_none() {
        state.awaiting_embedding.push(Awaiting { post_id, kind: event.kind.clone(), dwell_ms: event.dwell_ms });
        if state.awaiting_embedding.len() > MAX_AWAITING {
            state.awaiting_embedding.remove(0);
        }
    }
    Ok(())
}

/// Forgets everything learned; interactions from now on are learned afresh. The log stays.
pub fn reset(connection: &Connection, now_ms: i64) -> Result<()> {
    let state = State { learned_through: log::last_id(connection)?, ..State::default() };
    save_state(connection, &state, now_ms)
}
