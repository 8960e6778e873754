//! The daily digest, "what happened today": the last day's posts grouped into topics by their
//! embeddings, each topic named by its commonest telling word and led by its most central
//! post, topics ordered by how much this user cares (the ranker's profile) and then by size.

use serde::Serialize;

use crate::error::Result;
use crate::interactions::MuteRule;
use crate::post::{format_timestamp, Post};
use crate::ranking::profile::keywords;
use crate::ranking::{self, Profile};
use crate::store::posts::{self, Candidate, CandidateQuery};
use crate::store::{enrichments, interactions as log, Store};

/// "Today" is the last 24 hours.
pub const WINDOW_MS: i64 = 24 * 3_600_000;
/// Posts considered at most.
const MAX_POSTS: i64 = 2_000;
/// Cosine to a topic's centre at which a post joins it (all-MiniLM-L6-v2: posts on one topic
/// are typically 0.2–0.4 apart, unrelated ones about 0.1).
const JOIN_COSINE: f32 = 0.3;
pub const MAX_TOPICS: usize = 10;
/// Posts shown per topic, the central one first.
const POSTS_PER_TOPIC: usize = 4;

#[derive(Debug, Clone, Serialize)]
pub struct DigestTopic {
    /// A word that names the topic (or the central post's opening, when none stands out).
    pub title: String,
    /// Posts in the topic today.
    pub size: usize,
    /// The most central post first, then the next most central.
    pub posts: Vec<Post>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    /// The start of the window (RFC 3339, UTC).
    pub since: String,
    /// Posts in the window (visible ones: not hidden, not muted).
    pub posts: usize,
    /// Of those, posts not yet embedded (not in any topic).
    pub not_yet_read: usize,
    pub topics: Vec<DigestTopic>,
}

struct Cluster {
    members: Vec<usize>,
    sum: Vec<f32>,
}

impl Cluster {
    fn centre_cosine(&self, vector: &[f32]) -> f32 {
        let norm = self.sum.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        hearth_kernels::dot(&self.sum, vector) / norm
    }
}

/// The digest of the 24 hours before `now_ms`, for `profile`.
pub fn digest(store: &Store, profile: &Profile, now_ms: i64) -> Result<Digest> {
    let since_ms = now_ms - WINDOW_MS;
    store.read(|connection| {
        let muted: Vec<MuteRule> =
            log::muted_words(connection)?.iter().filter_map(|word| MuteRule::parse(word).ok()).collect();
        let candidates: Vec<Candidate> = posts::candidates(
            connection,
            &CandidateQuery {
                since_ms: Some(since_ms),
                recent_since_ms: Some(now_ms - ranking::QUIET_WINDOW_MS),
                limit: MAX_POSTS,
                ..CandidateQuery::default()
            },
        )?
        .into_iter()
        .filter(|candidate| {
            candidate.created_at_ms <= now_ms && !muted.iter().any(|rule| rule.matches(&candidate.text))
        })
        .collect();
        let ids: Vec<i64> = candidates.iter().map(|candidate| candidate.id).collect();
        let vectors = enrichments::post_vectors(connection, &ids, "embedding", ranking::EMBEDDING_MODEL)?;
        // Most engaged first, so a topic's early members are its strongest.
        let mut order: Vec<usize> =
            (0..candidates.len()).filter(|&index| vectors.contains_key(&candidates[index].id)).collect();
        let engagement =
            |candidate: &Candidate| candidate.counts.likes + 2 * candidate.counts.boosts + candidate.counts.replies;
        order.sort_by_key(|&index| std::cmp::Reverse(engagement(&candidates[index])));
        let mut clusters: Vec<Cluster> = Vec::new();
        for index in order {
            let vector = &vectors[&candidates[index].id];
            let best = clusters
                .iter()
                .enumerate()
                .map(|(position, cluster)| (position, cluster.centre_cosine(vector)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let cluster = match best {
                Some((position, cosine)) if cosine >= JOIN_COSINE => &mut clusters[position],
                _ => {
                    clusters.push(Cluster { members: Vec::new(), sum: vec![0.0; vector.len()] });
                    clusters.last_mut().expect("just pushed")
                }
            };
            cluster.members.push(index);
            for (sum, value) in cluster.sum.iter_mut().zip(vector) {
                *sum += value;
            }
        }
        // Each topic: members by centrality, and how much this user would care.
        let mut topics: Vec<(f64, Vec<usize>)> = clusters
            .into_iter()
            .map(|cluster| {
                let mut members = cluster.members.clone();
                let centrality = |index: usize| cluster.centre_cosine(&vectors[&candidates[index].id]);
                members.sort_by(|a, b| centrality(*b).total_cmp(&centrality(*a)));
                let central = &candidates[members[0]];
                let care =
                    profile.score(&ranking::item(central, vectors.get(&central.id).map(Vec::as_slice)), now_ms).score;
                #[allow(clippy::cast_precision_loss)]
                let size = (members.len() as f64).ln();
                (care + 0.5 * size, members)
            })
            .collect();
        topics.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.len().cmp(&a.1.len())));
        let mut digest_topics = Vec::new();
        for (_, members) in topics.into_iter().take(MAX_TOPICS) {
            let shown: Vec<i64> = members.iter().take(POSTS_PER_TOPIC).map(|&index| candidates[index].id).collect();
            let texts: Vec<&str> = members.iter().map(|&index| candidates[index].text.as_str()).collect();
            digest_topics.push(DigestTopic {
                title: title(&texts),
                size: members.len(),
                posts: posts::load_posts(connection, &shown)?,
            });
        }
        Ok(Digest {
            since: format_timestamp(since_ms),
            posts: candidates.len(),
            not_yet_read: candidates.len() - vectors.len().min(candidates.len()),
            topics: digest_topics,
        })
    })
}

/// The word most of `texts` share (ties: alphabetical), else the first text's opening words.
/// (A bag of words is a blunt namer; "the topic of the central post" is the honest fallback.)
fn title(texts: &[&str]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for text in texts {
        for word in keywords(text) {
            *counts.entry(word).or_default() += 1;
        }
    }
    // A word names the topic when at least two posts and half of them use it.
    let needed = texts.len().div_ceil(2).max(2);
    let shared =
        counts.into_iter().filter(|(_, count)| *count >= needed).max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    match shared {
        Some((word, _)) => {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or(word)
        }
        None => {
            let opening: Vec<&str> =
                texts.first().map(|text| text.split_whitespace().take(6).collect()).unwrap_or_default();
            let mut title = opening.join(" ");
            if texts.first().is_some_and(|text| text.split_whitespace().count() > 6) {
                title.push('…');
            }
            title
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_is_named_by_a_shared_word_or_its_opening() {
        assert_eq!(title(&["Tomatoes are ripening", "More tomatoes today", "Garden news"]), "Tomatoes");
        assert_eq!(title(&["One lonely post about nothing much at all really"]), "One lonely post about nothing much…");
    }
}
