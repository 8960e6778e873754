//! The order of the ranked feed. `RankingStrategy` is the interface the feed asks; the strategy
//! here, `RecencyEngagement`, is the named placeholder until the learned ranker replaces it.

use std::collections::HashMap;

use crate::store::posts::Candidate;

/// What a strategy knows about the user beyond each candidate.
#[derive(Debug, Clone, Default)]
pub struct UserSignals {
    /// `author_id -> number of hide / show_less events` on that author's posts.
    pub demoted_authors: HashMap<i64, i64>,
}

/// One candidate's place in the ranked feed, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub post_id: i64,
    pub score: f64,
    pub reason: String,
}

/// Orders candidate posts for one user at one moment.
pub trait RankingStrategy: Send + Sync {
    /// A stable name, shown in diagnostics and stored with learned state.
    fn name(&self) -> &'static str;
    /// Scores every candidate, best first; ties broken by newer first.
    fn rank(&self, candidates: &[Candidate], signals: &UserSignals, now_ms: i64) -> Vec<Ranked>;
}

/// Placeholder: a post's score is its freshness (halving every 36 hours) blended with its
/// network engagement, damped for posts and authors the user asked to see less of.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecencyEngagement;

const HALF_LIFE_HOURS: f64 = 36.0;
const RECENCY_WEIGHT: f64 = 0.65;
const ENGAGEMENT_WEIGHT: f64 = 0.35;
/// Engagement (likes + 2 boosts + replies) that counts as "as popular as it gets".
const ENGAGEMENT_SATURATION: f64 = 200.0;
/// Normalised engagement from which a post is called popular in its explanation.
const POPULAR_ENGAGEMENT: f64 = 0.6;

impl RankingStrategy for RecencyEngagement {
    fn name(&self) -> &'static str {
        "recency-engagement-v1"
    }

    fn rank(&self, candidates: &[Candidate], signals: &UserSignals, now_ms: i64) -> Vec<Ranked> {
        let mut ranked: Vec<(Ranked, i64)> = candidates
            .iter()
            .map(|candidate| {
                #[allow(clippy::cast_precision_loss)] // milliseconds and counts are far below 2^52
                let age_hours = ((now_ms - candidate.created_at_ms).max(0) as f64) / 3_600_000.0;
                let recency = 0.5_f64.powf(age_hours / HALF_LIFE_HOURS);
                #[allow(clippy::cast_precision_loss)]
                let engagement_total =
                    (candidate.counts.likes + 2 * candidate.counts.boosts + candidate.counts.replies) as f64;
                let engagement = ((1.0 + engagement_total).ln() / (1.0 + ENGAGEMENT_SATURATION).ln()).min(1.0);
                let mut score = RECENCY_WEIGHT * recency + ENGAGEMENT_WEIGHT * engagement;
                let author_demotions = signals.demoted_authors.get(&candidate.author_id).copied().unwrap_or(0);
                if candidate.state.show_less {
                    score *= 0.2;
                }
                if author_demotions > 0 {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
                    let damping = 0.75_f64.powi(author_demotions.min(8) as i32);
                    score *= damping;
                }
                let reason = explain(candidate, age_hours, recency, engagement, author_demotions);
                (Ranked { post_id: candidate.id, score, reason }, candidate.created_at_ms)
            })
            .collect();
        ranked.sort_by(|(a, a_time), (b, b_time)| {
            b.score.total_cmp(&a.score).then(b_time.cmp(a_time)).then(b.post_id.cmp(&a.post_id))
        });
        ranked.into_iter().map(|(ranked, _)| ranked).collect()
    }
}

fn explain(candidate: &Candidate, age_hours: f64, recency: f64, engagement: f64, author_demotions: i64) -> String {
    if candidate.state.show_less {
        return "Lower because you asked to see less like this".to_owned();
    }
    if author_demotions > 0 {
        return "Lower because you asked to see less from this author".to_owned();
    }
    let freshness = if age_hours < 1.0 {
        "new in the last hour".to_owned()
    } else if age_hours < 24.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let hours = age_hours.round() as u64;
        format!("posted {hours} hour{} ago", if hours == 1 { "" } else { "s" })
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let days = (age_hours / 24.0).round() as u64;
        format!("posted {days} day{} ago", if days == 1 { "" } else { "s" })
    };
    let counts = candidate.counts;
    let popularity = format!(
        "{} like{} and {} boost{}",
        counts.likes,
        if counts.likes == 1 { "" } else { "s" },
        counts.boosts,
        if counts.boosts == 1 { "" } else { "s" }
    );
    if engagement >= POPULAR_ENGAGEMENT && engagement * ENGAGEMENT_WEIGHT >= 0.5 * recency * RECENCY_WEIGHT {
        format!("Popular: {popularity}; {freshness}")
    } else {
        let mut reason = freshness;
        if let Some(first) = reason.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        format!("{reason}; {popularity}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::{Counts, PostState};

    const HOUR: i64 = 3_600_000;

    fn candidate(id: i64, author_id: i64, age_hours: i64, likes: i64) -> Candidate {
        Candidate {
            id,
            author_id,
            source_id: 1,
            text: String::new(),
            created_at_ms: 1_000 * HOUR - age_hours * HOUR,
            counts: Counts { likes, boosts: 0, replies: 0 },
            state: PostState::default(),
            n_images: 0,
            n_audio: 0,
        }
    }

    fn order(ranked: &[Ranked]) -> Vec<i64> {
        ranked.iter().map(|ranked| ranked.post_id).collect()
    }

    #[test]
    fn newer_posts_come_first_when_engagement_is_equal() {
        let ranked = RecencyEngagement.rank(
            &[candidate(1, 1, 50, 3), candidate(2, 2, 1, 3), candidate(3, 3, 10, 3)],
            &UserSignals::default(),
            1_000 * HOUR,
        );
        assert_eq!(order(&ranked), [2, 3, 1]);
    }

    #[test]
    fn a_very_popular_post_outranks_a_slightly_newer_quiet_one() {
        let ranked = RecencyEngagement.rank(
            &[candidate(1, 1, 2, 0), candidate(2, 2, 6, 180)],
            &UserSignals::default(),
            1_000 * HOUR,
        );
        assert_eq!(order(&ranked), [2, 1]);
        assert!(ranked[0].reason.starts_with("Popular: 180 likes"), "{}", ranked[0].reason);
    }

    #[test]
    fn show_less_sinks_the_post_and_its_author() {
        let mut shown_less = candidate(1, 1, 0, 10);
        shown_less.state.show_less = true;
        let same_author = candidate(2, 1, 1, 10);
        let other = candidate(3, 2, 3, 10);
        let signals = UserSignals { demoted_authors: HashMap::from([(1, 3)]) };
        let ranked = RecencyEngagement.rank(&[shown_less, same_author, other], &signals, 1_000 * HOUR);
        assert_eq!(order(&ranked), [3, 2, 1]);
        assert_eq!(ranked[2].reason, "Lower because you asked to see less like this");
    }
}
