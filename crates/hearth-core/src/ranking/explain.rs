//! "Why this post?": the few factors that moved a post most, in plain words.

use super::profile::{Feature, Item, MediaType, Profile, Scored, FEATURES};
use crate::models::sentiment::Tone;
use crate::post::Counts;

/// How many reasons a post carries.
pub const REASONS: usize = 3;

fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// When the post was written, as a phrase that starts a sentence.
pub fn freshness(age_hours: f64) -> String {
    if age_hours < 1.0 {
        "New in the last hour".to_owned()
    } else if age_hours < 24.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let hours = age_hours.round() as u64;
        format!("Posted {} ago", plural(hours, "hour", "hours"))
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let days = (age_hours / 24.0).round() as u64;
        format!("Posted {} ago", plural(days, "day", "days"))
    }
}

/// The reasons for one scored item, strongest first: the factors that set it apart from the
/// `typical` candidate (mean features), weighted as the scorer weighs them. Being new says
/// little when everything is new.
pub fn reasons(
    profile: &Profile,
    item: &Item<'_>,
    counts: Counts,
    scored: &Scored,
    typical: &[f64; FEATURES.len()],
    now_ms: i64,
) -> Vec<String> {
    let contributions: Vec<f64> = FEATURES
        .iter()
        .enumerate()
        .map(|(index, _)| profile.weights[index] * (scored.features[index] - typical[index]))
        .collect();
    let mut found: Vec<(f64, String)> = Vec::new();
    for (index, feature) in FEATURES.iter().enumerate() {
        let (value, contribution) = (scored.features[index], contributions[index]);
        let phrase = match feature {
            Feature::Interest if value >= 0.4 => scored.interest.map(|index| {
                let centroid = &profile.interests[index];
                let posts = if centroid.posts == 1 {
                    "a post you liked".to_owned()
                } else {
                    format!("{} posts you liked", centroid.posts)
                };
                match centroid.topic() {
                    Some(topic) => format!("Similar to {posts} about {topic}"),
                    None => format!("Similar to {posts}"),
                }
            }),
            Feature::Dislike if value >= 0.5 => Some("Lower: like posts you asked to see less of".to_owned()),
            Feature::Author if value >= 0.2 => item.author_id.and_then(|id| profile.authors.get(&id)).map(|author| {
                if author.replies >= 2 {
                    "An author you often reply to".to_owned()
                } else {
                    "An author whose posts you often like".to_owned()
                }
            }),
            Feature::Author if value <= -0.2 => Some("Lower: you hid or turned down this author's posts".to_owned()),
            Feature::Source if value >= 0.3 => Some("From a source you often engage with".to_owned()),
            #[allow(clippy::cast_precision_loss)]
            Feature::Recency if item.created_at_ms.is_some() => {
                item.created_at_ms.map(|created_at_ms| freshness((now_ms - created_at_ms).max(0) as f64 / 3_600_000.0))
            }
            Feature::Engagement if value >= 0.4 => Some(format!(
                "Popular: {} and {}",
                plural(u64::try_from(counts.likes).unwrap_or(0), "like", "likes"),
                plural(u64::try_from(counts.boosts).unwrap_or(0), "boost", "boosts")
            )),
            Feature::Tone if value >= 0.08 => item.tone.map(|tone| {
                let mood = match tone {
                    Tone::Positive => "upbeat",
                    Tone::Neutral => "matter-of-fact",
                    Tone::Negative => "critical",
                };
                format!("Has the {mood} tone you usually like")
            }),
            Feature::Media if value >= 0.08 => match item.media {
                MediaType::Image => Some("Has pictures, which you often like".to_owned()),
                MediaType::Audio => Some("Has audio, which you often like".to_owned()),
                MediaType::Text => None,
            },
            Feature::Seen if value > 0.0 => Some("Lower: you have seen it already".to_owned()),
            // Three posts or fewer in 30 days: less than one a week.
            Feature::QuietAuthor if item.author_recent_posts <= 3 => {
                Some("New from someone who rarely posts".to_owned())
            }
            Feature::ShownLess if value > 0.0 => Some("Lower because you asked to see less like this".to_owned()),
            _ => None,
        };
        if let Some(phrase) = phrase {
            found.push((contribution.abs(), phrase));
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found.into_iter().take(REASONS).map(|(_, phrase)| phrase).collect()
}
