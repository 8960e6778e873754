//! What the ranker has learned about this user, and how it learns: interest and dislike
//! centroids over post embeddings, author and source affinity, tone and media preferences, and
//! the weights of a linear scorer trained online by pairwise (BPR-style) updates — each
//! positive interaction should outrank a post the user did not touch; hides and "show less"
//! teach through the dislike centroids and affinities (see `Profile::learn`). Plain data in, plain data out: no SQLite, so the offline evaluation
//! (`ranking::evaluation`) runs the very same code on other people's logs.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::models::sentiment::Tone;

/// The features of a post for this user, each roughly in [-1, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Closeness to the nearest of the user's interest centroids (`similarity`).
    Interest,
    /// Closeness to the nearest centroid of what the user hid or asked to see less of.
    Dislike,
    /// How much the user engages with the author (negative after hides).
    Author,
    /// How much the user engages with the source.
    Source,
    /// Halves every 36 hours.
    Recency,
    /// Network engagement (likes, boosts, replies), log-scaled.
    Engagement,
    /// How often the user likes posts of this tone, above chance.
    Tone,
    /// How often the user likes posts with this kind of media, above chance.
    Media,
    /// The user has opened it or read it already.
    Seen,
    /// The author posts rarely.
    QuietAuthor,
    /// The user asked to see less of this very post.
    ShownLess,
}

pub const FEATURES: [Feature; 11] = [
    Feature::Interest,
    Feature::Dislike,
    Feature::Author,
    Feature::Source,
    Feature::Recency,
    Feature::Engagement,
    Feature::Tone,
    Feature::Media,
    Feature::Seen,
    Feature::QuietAuthor,
    Feature::ShownLess,
];
const N: usize = FEATURES.len();

/// The weights a new profile starts from, and which learning is pulled back towards: a
/// sensible cold-start order (fresh, engaging, quiet voices first) in which personal signals
/// count as soon as they exist.
const PRIOR_WEIGHTS: [f64; N] = [1.6, -2.0, 1.0, 0.4, 1.0, 0.5, 0.5, 0.3, -0.6, 0.25, -3.0];
/// Chosen on MovieLens' validation split (`hearth eval-ranking --validation`) with the
/// synthetic users as a check: 0.2, 0.4 and 0.8 gave NDCG@10 0.243, 0.264 and 0.275.
const LEARNING_RATE: f64 = 0.8;
/// Pull towards the prior per update, so a handful of events cannot wreck the order.
const PRIOR_PULL: f64 = 0.002;
const HALF_LIFE_HOURS: f64 = 36.0;
/// Engagement (likes + 2 boosts + replies) that counts as "as popular as it gets".
const ENGAGEMENT_SATURATION: f64 = 200.0;
const MAX_INTERESTS: usize = 12;
const MAX_DISLIKES: usize = 8;
/// Cosine above which a post joins an existing centroid rather than starting its own. (With
/// all-MiniLM-L6-v2, posts on one topic are typically 0.2–0.4 apart, unrelated ones about 0.1.)
const JOIN_SIMILARITY: f32 = 0.3;
/// How far above the typical cosine (in standard deviations) counts as fully similar.
const SIMILARITY_SPREADS: f64 = 4.0;
/// The baseline learns like a running mean over about this many observations.
const BASELINE_MEMORY: f64 = 200.0;
/// An interest not renewed for this many interactions counts half.
const INTEREST_HALF_LIFE_EVENTS: f64 = 30.0;
const KEYWORDS_KEPT: usize = 16;

/// Media kinds, for the media preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Text,
    Image,
    Audio,
}

impl MediaType {
    fn index(self) -> usize {
        match self {
            Self::Text => 0,
            Self::Image => 1,
            Self::Audio => 2,
        }
    }
}

/// A post as the ranker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub text: &'a str,
    /// Its unit-length sentence embedding, once the enrichment pipeline has made one.
    pub embedding: Option<&'a [f32]>,
    pub author_id: Option<i64>,
    pub source_id: Option<i64>,
    pub created_at_ms: Option<i64>,
    /// likes + 2 × boosts + replies on its network.
    pub engagement: f64,
    pub tone: Option<Tone>,
    pub media: MediaType,
    pub seen: bool,
    pub shown_less: bool,
    /// The author's posts in the last 30 days.
    pub author_recent_posts: i64,
}

/// What an interaction says about the post it was on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// A like, boost, reply, open or long read, with its strength.
    Positive { strength: f64, reply: bool },
    /// A hide or "show less", with its strength.
    Negative { strength: f64 },
}

/// A cluster of posts the user engaged with (or pushed away).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Centroid {
    pub vector: Vec<f32>,
    pub weight: f64,
    /// How many posts joined it.
    pub posts: u32,
    /// Salient words of those posts, with counts: what the explanation calls it.
    pub keywords: BTreeMap<String, f64>,
    /// The profile's event count when a post last joined: interests fade unless renewed.
    #[serde(default)]
    pub last_event: u64,
}

impl Centroid {
    /// The word that best names this cluster, if any stands out.
    pub fn topic(&self) -> Option<&str> {
        self.keywords
            .iter()
            .filter(|(_, count)| **count >= 2.0 || self.posts <= 1)
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(word, _)| word.as_str())
    }
}

/// Affinity with one author or source.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Affinity {
    pub score: f64,
    pub replies: u32,
    pub positives: u32,
}

/// Everything learned; serialised as JSON in the settings table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub weights: [f64; N],
    pub interests: Vec<Centroid>,
    pub dislikes: Vec<Centroid>,
    pub authors: HashMap<i64, Affinity>,
    pub sources: HashMap<i64, Affinity>,
    /// Positive-interaction counts per tone (positive, neutral, negative).
    pub tones: [f64; 3],
    /// Positive-interaction counts per media kind (text, image, audio).
    pub media: [f64; 3],
    /// Interactions learned from.
    pub events: u64,
    /// Typical closeness of posts the user passed over, to the interests and to the dislikes.
    #[serde(default)]
    pub interest_baseline: Baseline,
    #[serde(default)]
    pub dislike_baseline: Baseline,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            weights: PRIOR_WEIGHTS,
            interests: Vec::new(),
            dislikes: Vec::new(),
            authors: HashMap::new(),
            sources: HashMap::new(),
            tones: [0.0; 3],
            media: [0.0; 3],
            events: 0,
            interest_baseline: Baseline::default(),
            dislike_baseline: Baseline::default(),
        }
    }
}

/// The scored features of one item.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub score: f64,
    pub features: [f64; N],
    /// Which interest centroid `Interest` came from.
    pub interest: Option<usize>,
}

/// What cosine an ordinary post (one the user did not act on) has to the nearest centroid: the
/// similarity features measure closeness above this, so they mean the same whether a
/// collection's texts are all alike (film blurbs) or all different (social posts).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Baseline {
    pub mean: f64,
    pub variance: f64,
    pub observations: f64,
}

impl Default for Baseline {
    /// For all-MiniLM-L6-v2 on social posts: unrelated texts sit about 0.1 ± 0.1 apart.
    fn default() -> Self {
        Self { mean: 0.1, variance: 0.01, observations: 0.0 }
    }
}

impl Baseline {
    fn observe(&mut self, cosine: f32) {
        let value = f64::from(cosine);
        self.observations = (self.observations + 1.0).min(BASELINE_MEMORY);
        let rate = 1.0 / self.observations.max(1.0);
        let delta = value - self.mean;
        self.mean += rate * delta;
        self.variance = (1.0 - rate) * (self.variance + rate * delta * delta);
    }

    /// A cosine as a feature in [0, 1]: 0 at or below the typical post, 1 when far above it.
    fn similarity(&self, cosine: f32) -> f64 {
        let spread = self.variance.sqrt().max(0.05);
        ((f64::from(cosine) - self.mean) / (SIMILARITY_SPREADS * spread)).clamp(0.0, 1.0)
    }
}

fn closest(centroids: &[Centroid], embedding: &[f32]) -> Option<(usize, f32)> {
    centroids
        .iter()
        .enumerate()
        .map(|(index, centroid)| (index, hearth_kernels::dot(&centroid.vector, embedding)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The best faded similarity among `cosines` (one per centroid, in order), and its centroid.
fn best_fresh(centroids: &[Centroid], cosines: &[f32], baseline: &Baseline, now_event: u64) -> Option<(usize, f64)> {
    centroids
        .iter()
        .zip(cosines)
        .enumerate()
        .map(|(index, (centroid, &cosine))| {
            #[allow(clippy::cast_precision_loss)]
            let age = now_event.saturating_sub(centroid.last_event) as f64;
            let fade = 0.5_f64.powf(age / INTEREST_HALF_LIFE_EVENTS);
            (index, baseline.similarity(cosine) * fade)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Smoothed share of `counts[index]` above chance (1/3), in [-1/3, 2/3].
fn preference(counts: &[f64; 3], index: usize) -> f64 {
    let total: f64 = counts.iter().sum();
    (counts[index] + 1.0) / (total + 3.0) - 1.0 / 3.0
}

impl Profile {
    /// The features and score of `item` at `now_ms`.
    pub fn score(&self, item: &Item<'_>, now_ms: i64) -> Scored {
        self.score_many(std::slice::from_ref(item), now_ms).pop().unwrap_or(Scored {
            score: 0.0,
            features: [0.0; N],
            interest: None,
        })
    }

    /// `score` for many items at once: their closeness to every centroid is one table, computed
    /// across the cores.
    pub fn score_many(&self, items: &[Item<'_>], now_ms: i64) -> Vec<Scored> {
        let rows: Vec<&[f32]> = items.iter().map(|item| item.embedding.unwrap_or(&[])).collect();
        let interests: Vec<&[f32]> = self.interests.iter().map(|centroid| centroid.vector.as_slice()).collect();
        let dislikes: Vec<&[f32]> = self.dislikes.iter().map(|centroid| centroid.vector.as_slice()).collect();
        let interest_table = hearth_kernels::dot_table(&rows, &interests);
        let dislike_table = hearth_kernels::dot_table(&rows, &dislikes);
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let interest_cosines = &interest_table[index * interests.len()..(index + 1) * interests.len()];
                let dislike_cosines = &dislike_table[index * dislikes.len()..(index + 1) * dislikes.len()];
                self.score_with(item, now_ms, interest_cosines, dislike_cosines)
            })
            .collect()
    }

    fn score_with(&self, item: &Item<'_>, now_ms: i64, interest_cosines: &[f32], dislike_cosines: &[f32]) -> Scored {
        let mut features = [0.0; N];
        let mut interest = None;
        if item.embedding.is_some() {
            if let Some((index, value)) =
                best_fresh(&self.interests, interest_cosines, &self.interest_baseline, self.events)
            {
                features[0] = value;
                interest = Some(index);
            }
            if let Some(cosine) = dislike_cosines.iter().copied().max_by(f32::total_cmp) {
                features[1] = self.dislike_baseline.similarity(cosine);
            }
        }
        let affinity = |map: &HashMap<i64, Affinity>, id: Option<i64>, scale: f64| {
            id.and_then(|id| map.get(&id)).map_or(0.0, |affinity| (affinity.score / scale).tanh())
        };
        features[2] = affinity(&self.authors, item.author_id, 3.0);
        features[3] = affinity(&self.sources, item.source_id, 10.0);
        #[allow(clippy::cast_precision_loss)] // milliseconds are far below 2^52
        if let Some(created_at_ms) = item.created_at_ms {
            let age_hours = (now_ms - created_at_ms).max(0) as f64 / 3_600_000.0;
            features[4] = 0.5_f64.powf(age_hours / HALF_LIFE_HOURS);
        }
        features[5] = ((1.0 + item.engagement.max(0.0)).ln() / (1.0 + ENGAGEMENT_SATURATION).ln()).min(1.0);
        if let Some(tone) = item.tone {
            features[6] = preference(&self.tones, tone.index());
        }
        features[7] = preference(&self.media, item.media.index());
        features[8] = f64::from(u8::from(item.seen));
        #[allow(clippy::cast_precision_loss)]
        {
            features[9] = 1.0 / (1.0 + item.author_recent_posts.max(0) as f64 / 4.0);
        }
        features[10] = f64::from(u8::from(item.shown_less));
        let score = features.iter().zip(&self.weights).map(|(value, weight)| value * weight).sum();
        Scored { score, features, interest }
    }

    /// Learns from one interaction with `item`; `contrast` are posts the user did not interact
    /// with at that time (the pairwise comparisons). Features are taken before the profile
    /// changes, as they were when the user acted.
    ///
    /// Only positive interactions train the scorer's weights. A hidden post was hidden from a
    /// page the ranker chose, so it shares what the user usually reads — their topics, busy
    /// threads, fresh posts — with the posts they like; ranking it below random contrast posts
    /// would teach the weights to distrust exactly those signals. A negative interaction teaches
    /// through the dislike centroids, author and source affinity, and `shown_less` instead.
    /// (On MovieLens' validation split, training the weights on negatives as well cost about
    /// a fifth of NDCG@10: `hearth eval-ranking --validation`.)
    pub fn learn(&mut self, signal: Signal, item: &Item<'_>, contrast: &[Item<'_>], now_ms: i64) {
        let acted_on = self.score(item, now_ms).features;
        for other in contrast {
            if let Some(embedding) = other.embedding {
                if let Some((_, cosine)) = closest(&self.interests, embedding) {
                    self.interest_baseline.observe(cosine);
                }
                if let Some((_, cosine)) = closest(&self.dislikes, embedding) {
                    self.dislike_baseline.observe(cosine);
                }
            }
        }
        if matches!(signal, Signal::Positive { .. }) {
            for other in contrast {
                let other = self.score(other, now_ms).features;
                // The pair should order as: the post acted on above the other.
                let difference: [f64; N] = std::array::from_fn(|index| acted_on[index] - other[index]);
                let margin: f64 = difference.iter().zip(&self.weights).map(|(d, w)| d * w).sum();
                let gradient = 1.0 - 1.0 / (1.0 + (-margin).exp());
                for index in 0..N {
                    self.weights[index] += LEARNING_RATE * gradient * difference[index]
                        - PRIOR_PULL * (self.weights[index] - PRIOR_WEIGHTS[index]);
                }
            }
        }
        self.learn_interest(signal, item);
        let (change, reply) = match signal {
            Signal::Positive { strength, reply } => (strength, reply),
            Signal::Negative { strength } => (-strength, false),
        };
        for (map, id) in [(&mut self.authors, item.author_id), (&mut self.sources, item.source_id)] {
            if let Some(id) = id {
                let affinity = map.entry(id).or_default();
                affinity.score += change;
                if change > 0.0 {
                    affinity.positives += 1;
                    affinity.replies += u32::from(reply);
                }
            }
        }
        if change > 0.0 {
            if let Some(tone) = item.tone {
                self.tones[tone.index()] += change;
            }
            self.media[item.media.index()] += change;
        }
        self.events += 1;
    }

    /// The embedding part of `learn`: the post joins (or starts) an interest or dislike centroid.
    pub fn learn_interest(&mut self, signal: Signal, item: &Item<'_>) {
        let Some(embedding) = item.embedding else { return };
        let keywords = keywords(item.text);
        match signal {
            Signal::Positive { strength, .. } => {
                absorb(&mut self.interests, MAX_INTERESTS, embedding, strength, &keywords, self.events)
            }
            Signal::Negative { strength } => {
                absorb(&mut self.dislikes, MAX_DISLIKES, embedding, strength, &keywords, self.events)
            }
        }
    }

    /// Lowers the affinity with an author (a mute: should the user unmute, the author starts low).
    pub fn penalise_author(&mut self, author_id: i64, amount: f64) {
        self.authors.entry(author_id).or_default().score -= amount;
    }
}

/// Adds `embedding` (with `weight`) to the closest centroid if it is close enough, else starts
/// a new one; when the list is full, the closest takes it anyway.
fn absorb(
    centroids: &mut Vec<Centroid>,
    limit: usize,
    embedding: &[f32],
    weight: f64,
    keywords: &[String],
    now_event: u64,
) {
    let index = match closest(centroids, embedding) {
        Some((index, similarity)) if similarity >= JOIN_SIMILARITY || centroids.len() >= limit => index,
        _ => {
            centroids.push(Centroid { vector: vec![0.0; embedding.len()], ..Centroid::default() });
            centroids.len() - 1
        }
    };
    let centroid = &mut centroids[index];
    #[allow(clippy::cast_possible_truncation)]
    let (old, new) = (centroid.weight as f32, weight as f32);
    for (value, added) in centroid.vector.iter_mut().zip(embedding) {
        *value = *value * old + added * new;
    }
    let norm = centroid.vector.iter().map(|value| value * value).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    for value in &mut centroid.vector {
        *value /= norm;
    }
    centroid.weight += weight;
    centroid.posts += 1;
    centroid.last_event = now_event;
    for word in keywords {
        *centroid.keywords.entry(word.clone()).or_default() += 1.0;
    }
    if centroid.keywords.len() > KEYWORDS_KEPT {
        let mut ranked: Vec<(String, f64)> = std::mem::take(&mut centroid.keywords).into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(KEYWORDS_KEPT);
        centroid.keywords = ranked.into_iter().collect();
    }
}

/// Words common enough in English to say nothing about a topic.
const STOP_WORDS: &[&str] = &[
    "about",
    "after",
    "again",
    "all",
    "also",
    "and",
    "any",
    "are",
    "back",
    "been",
    "before",
    "being",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "done",
    "down",
    "each",
    "even",
    "ever",
    "every",
    "from",
    "get",
    "gets",
    "going",
    "gonna",
    "got",
    "had",
    "has",
    "have",
    "her",
    "here",
    "him",
    "his",
    "how",
    "into",
    "its",
    "just",
    "know",
    "like",
    "made",
    "make",
    "many",
    "more",
    "most",
    "much",
    "must",
    "need",
    "never",
    "new",
    "not",
    "now",
    "off",
    "old",
    "once",
    "one",
    "only",
    "our",
    "out",
    "over",
    "really",
    "right",
    "said",
    "same",
    "see",
    "she",
    "should",
    "since",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "through",
    "time",
    "today",
    "too",
    "two",
    "under",
    "until",
    "very",
    "want",
    "was",
    "way",
    "well",
    "went",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "would",
    "year",
    "years",
    "yet",
    "you",
    "your",
    "yours",
    "finally",
    "first",
    "last",
    "little",
    "next",
    "week",
    "day",
    "days",
    "morning",
    "night",
    "tonight",
    "yesterday",
    "tomorrow",
    "thanks",
    "thank",
    "please",
    "good",
    "great",
    "love",
    "nice",
    "best",
    "better",
    "lot",
    "lots",
    "bit",
    "maybe",
    "look",
    "looks",
    "looking",
    "take",
    "took",
];

/// The words of `text` that could name a topic: lower case, four letters or more, not a stop
/// word, no links or handles; each once.
pub fn keywords(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split_whitespace()
        .filter(|word| !word.contains("://") && !word.starts_with('@'))
        .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|word| word.chars().count() >= 4 && word.chars().all(char::is_alphabetic))
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .collect();
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32]) -> Vec<f32> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        values.iter().map(|v| v / norm).collect()
    }

    fn item<'a>(text: &'a str, embedding: &'a [f32], author_id: i64) -> Item<'a> {
        Item {
            text,
            embedding: Some(embedding),
            author_id: Some(author_id),
            source_id: Some(1),
            created_at_ms: Some(0),
            engagement: 0.0,
            tone: None,
            media: MediaType::Text,
            seen: false,
            shown_less: false,
            author_recent_posts: 3,
        }
    }

    #[test]
    fn a_like_builds_an_interest_that_lifts_similar_posts_and_names_its_topic() {
        let garden = unit(&[1.0, 0.1, 0.0]);
        let garden_too = unit(&[0.9, 0.2, 0.1]);
        let finance = unit(&[0.0, 0.1, 1.0]);
        let mut profile = Profile::default();
        let before = profile.score(&item("", &garden_too, 2), 0).score;
        assert!((before - profile.score(&item("", &finance, 3), 0).score).abs() < 1e-9, "cold start is neutral");
        let contrast = item("", &finance, 3);
        profile.learn(
            Signal::Positive { strength: 1.0, reply: false },
            &item("Tomatoes in the garden", &garden, 1),
            &[contrast],
            0,
        );
        profile.learn(
            Signal::Positive { strength: 1.0, reply: false },
            &item("Garden beans", &garden_too, 1),
            &[contrast],
            0,
        );
        let similar = profile.score(&item("", &garden_too, 2), 0);
        let unrelated = profile.score(&item("", &finance, 3), 0);
        assert!(similar.score > unrelated.score + 0.5, "{} vs {}", similar.score, unrelated.score);
        assert_eq!(profile.interests.len(), 1);
        assert_eq!(profile.interests[0].posts, 2);
        assert_eq!(profile.interests[0].topic(), Some("garden"));
        assert!(profile.authors[&1].score > 0.0);
    }

    #[test]
    fn show_less_demotes_similar_posts_through_the_dislike_and_leaves_the_weights() {
        let topic = unit(&[1.0, 0.0, 0.0]);
        let near = unit(&[0.95, 0.05, 0.0]);
        let other = unit(&[0.0, 1.0, 0.0]);
        let mut profile = Profile::default();
        let before = profile.score(&item("", &near, 2), 0).score - profile.score(&item("", &other, 3), 0).score;
        profile.learn(Signal::Negative { strength: 1.5 }, &item("crypto again", &topic, 1), &[item("", &other, 3)], 0);
        let after = profile.score(&item("", &near, 2), 0).score - profile.score(&item("", &other, 3), 0).score;
        assert!(after < before - 1.0, "{before} -> {after}");
        assert!(profile.authors[&1].score < 0.0);
        // A hidden post came from a page the ranker chose: it must not teach the weights to
        // distrust what that page was chosen by.
        assert_eq!(profile.weights, PRIOR_WEIGHTS);
    }

    #[test]
    fn keywords_skip_stop_words_links_and_handles() {
        assert_eq!(
            keywords("Finally repotted the Monstera! see https://x.example/a @ada@garden.example monstera"),
            ["monstera", "repotted"]
        );
    }
}
