//! Offline evaluation of the ranker, with the very code that ranks the feed (`Profile`).
//!
//! `leave_one_out` replays other people's rating logs: for each user the last interaction by
//! time is held out, the user's earlier ratings are learned as their own log would be (4 and
//! up positive, 2 and below negative, 3 says nothing), and the held-out item is ranked among
//! items the user never rated — by Hearth, by popularity, and at random. `simulate` follows
//! synthetic users with hidden topic interests through their first interactions. Neither runs
//! a model: callers hand in the embeddings.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::profile::{Item, MediaType, Profile, Signal};
use crate::error::{Error, Result};
use crate::random::SplitMix64;

/// One rating from a log: `user,item,rating,timestamp`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub user: String,
    pub item: String,
    pub rating: f64,
    pub timestamp: i64,
}

/// One method's score over the users evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScore {
    pub method: String,
    pub hr: f64,
    pub ndcg: f64,
    pub users: usize,
    pub k: usize,
}

/// A tiny CSV reader (RFC 4180: quoted fields, doubled quotes, commas and newlines inside
/// quotes) that names the line of any problem.
pub fn parse_csv(text: &str, what: &str) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut field_started = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if !field_started => {
                quoted = true;
                field_started = true;
            }
            (false, '"') => {
                return Err(Error::invalid(format!("{what}, line {line}: a quote in the middle of an unquoted field")))
            }
            (false, ',') => {
                row.push(std::mem::take(&mut field));
                field_started = false;
            }
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                field_started = false;
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
                line += 1;
            }
            (false, c) => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if quoted {
        return Err(Error::invalid(format!("{what}: a quoted field is never closed")));
    }
    if field_started || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// Checks the header and returns the data rows.
fn with_header(rows: Vec<Vec<String>>, header: &[&str], what: &str) -> Result<Vec<Vec<String>>> {
    let mut rows = rows.into_iter();
    let first = rows.next().ok_or_else(|| Error::invalid(format!("{what} is empty")))?;
    let found: Vec<&str> = first.iter().map(|name| name.trim()).collect();
    if found != header {
        return Err(Error::invalid(format!("{what} must start with the header {:?}, not {found:?}", header.join(","))));
    }
    rows.enumerate()
        .map(|(index, row)| {
            if row.len() == header.len() {
                Ok(row)
            } else {
                Err(Error::invalid(format!(
                    "{what}, row {}: {} fields where {} were expected",
                    index + 2,
                    row.len(),
                    header.len()
                )))
            }
        })
        .collect()
}

/// Ratings from CSV text with the header `user,item,rating,timestamp`.
pub fn read_ratings(text: &str) -> Result<Vec<Rating>> {
    let what = "the interactions file";
    with_header(parse_csv(text, what)?, &["user", "item", "rating", "timestamp"], what)?
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let bad =
                |field: &str| Error::invalid(format!("{what}, row {}: {field} {:?} is not a number", index + 2, row));
            Ok(Rating {
                user: row[0].trim().to_owned(),
                item: row[1].trim().to_owned(),
                rating: row[2].trim().parse().map_err(|_| bad("the rating"))?,
                timestamp: row[3].trim().parse::<f64>().map_err(|_| bad("the timestamp"))? as i64,
            })
        })
        .collect()
}

/// Items from CSV text with the header `item,text`: id → text.
pub fn read_items(text: &str) -> Result<Vec<(String, String)>> {
    let what = "the items file";
    Ok(with_header(parse_csv(text, what)?, &["item", "text"], what)?
        .into_iter()
        .map(|mut row| {
            let text = row.pop().unwrap_or_default();
            (row.pop().unwrap_or_default().trim().to_owned(), text)
        })
        .collect())
}

fn seed_for(seed: u64, name: &str) -> u64 {
    name.bytes()
        .fold(seed ^ 0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Hit and discounted gain of the target (index 0 of `scores`) at cut-off `k`, with ties
/// counted at their mean rank.
fn hit_and_gain(scores: &[f64], k: usize) -> (f64, f64) {
    let target = scores[0];
    let above = scores[1..].iter().filter(|&&score| score > target).count();
    let tied = scores[1..].iter().filter(|&&score| score == target).count();
    // Mean over the tied orders: the target is equally likely at each of ranks above..=above+tied.
    let (mut hit, mut gain) = (0.0, 0.0);
    for rank in above..=above + tied {
        if rank < k {
            hit += 1.0;
            #[allow(clippy::cast_precision_loss)]
            let position = rank as f64;
            gain += 1.0 / (position + 2.0).log2();
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let orders = (tied + 1) as f64;
    (hit / orders, gain / orders)
}

/// The log without each user's last interaction by time (the validation split: tune on what
/// `leave_one_out` then holds out, and the test interactions stay unseen). Equal timestamps
/// keep the file's order, as in `leave_one_out`.
pub fn without_last_per_user(ratings: Vec<Rating>) -> Vec<Rating> {
    let mut last: HashMap<&str, (i64, usize)> = HashMap::new();
    for (index, rating) in ratings.iter().enumerate() {
        let entry = last.entry(rating.user.as_str()).or_insert((rating.timestamp, index));
        if rating.timestamp >= entry.0 {
            *entry = (rating.timestamp, index);
        }
    }
    let dropped: HashSet<usize> = last.values().map(|&(_, index)| index).collect();
    ratings.into_iter().enumerate().filter(|(index, _)| !dropped.contains(index)).map(|(_, rating)| rating).collect()
}

/// Leave-one-out HR@k and NDCG@k for Hearth, popularity and random. `embeddings` has one unit
/// vector per item id (items without one are ranked without similarity); `texts` names them.
pub fn leave_one_out(
    ratings: &[Rating],
    texts: &HashMap<String, String>,
    embeddings: &HashMap<String, Vec<f32>>,
    k: usize,
    negatives: usize,
    seed: u64,
) -> Result<Vec<MethodScore>> {
    let mut by_user: HashMap<&str, Vec<&Rating>> = HashMap::new();
    for rating in ratings {
        by_user.entry(rating.user.as_str()).or_default().push(rating);
    }
    let mut users: Vec<&str> = by_user.keys().copied().collect();
    users.sort_unstable();
    let mut held_out: HashMap<&str, &Rating> = HashMap::new();
    for (user, list) in &mut by_user {
        // Stable: equal timestamps keep the file's order.
        list.sort_by_key(|rating| rating.timestamp);
        if list.len() >= 2 {
            held_out.insert(user, list[list.len() - 1]);
        }
    }
    // Popularity over the training interactions of all users.
    let mut popularity: HashMap<&str, f64> = HashMap::new();
    for (user, list) in &by_user {
        if held_out.contains_key(user) {
            for rating in &list[..list.len() - 1] {
                *popularity.entry(rating.item.as_str()).or_default() += 1.0;
            }
        }
    }
    let most_popular = popularity.values().copied().fold(1.0, f64::max);

    let mut catalogue: Vec<&str> = texts.keys().map(String::as_str).collect();
    catalogue.sort_unstable();
    if catalogue.len() <= negatives {
        return Err(Error::invalid(format!("{} items are too few to draw {negatives} negatives", catalogue.len())));
    }
    let item = |id: &str| {
        Item {
            text: texts.get(id).map_or("", String::as_str),
            embedding: embeddings.get(id).map(Vec::as_slice),
            author_id: None,
            source_id: None,
            created_at_ms: None,
            // Counts rescaled to the range social engagement spans (0–200 "as popular as it gets").
            engagement: popularity.get(id).copied().unwrap_or(0.0) / most_popular * 200.0,
            tone: None,
            media: MediaType::Text,
            seen: false,
            shown_less: false,
            author_recent_posts: 0,
        }
    };
    let mut totals: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut evaluated = 0;
    for user in users {
        let Some(target) = held_out.get(user) else { continue };
        let list = &by_user[user];
        let touched: HashSet<&str> = list.iter().map(|rating| rating.item.as_str()).collect();
        let mut draws = SplitMix64(seed_for(seed, user));
        let untouched = |count: usize, draws: &mut SplitMix64| -> Vec<&str> {
            let mut picked: Vec<&str> = Vec::with_capacity(count);
            while picked.len() < count {
                let candidate = catalogue[draws.below(catalogue.len())];
                if !touched.contains(candidate) && !picked.contains(&candidate) {
                    picked.push(candidate);
                }
            }
            picked
        };
        let candidates: Vec<&str> =
            std::iter::once(target.item.as_str()).chain(untouched(negatives, &mut draws)).collect();
        let mut profile = Profile::default();
        for rating in &list[..list.len() - 1] {
            let signal = if rating.rating >= 4.0 {
                Signal::Positive { strength: 1.0, reply: false }
            } else if rating.rating <= 2.0 {
                Signal::Negative { strength: 1.0 }
            } else {
                continue;
            };
            let contrast: Vec<Item<'_>> = untouched(2, &mut draws).into_iter().map(item).collect();
            profile.learn(signal, &item(&rating.item), &contrast, 0);
        }
        let hearth: Vec<f64> = candidates.iter().map(|id| profile.score(&item(id), 0).score).collect();
        let popular: Vec<f64> = candidates.iter().map(|id| popularity.get(id).copied().unwrap_or(0.0)).collect();
        let random: Vec<f64> = candidates.iter().map(|_| draws.unit()).collect();
        for (method, scores) in [("hearth", hearth), ("popularity", popular), ("random", random)] {
            let (hit, gain) = hit_and_gain(&scores, k);
            let total = totals.entry(method).or_default();
            total.0 += hit;
            total.1 += gain;
        }
        evaluated += 1;
    }
    if evaluated == 0 {
        return Err(Error::invalid("no user has two or more interactions to learn from and hold out"));
    }
    #[allow(clippy::cast_precision_loss)]
    let count = evaluated as f64;
    Ok(["hearth", "popularity", "random"]
        .into_iter()
        .map(|method| {
            let (hit, gain) = totals.get(method).copied().unwrap_or_default();
            MethodScore { method: method.to_owned(), hr: hit / count, ndcg: gain / count, users: evaluated, k }
        })
        .collect())
}

/// Topics of the synthetic posts, each with words to write about it.
const SYNTHETIC_TOPICS: &[(&str, &[&str])] = &[
    (
        "gardening",
        &["tomato seedlings", "the compost heap", "runner beans", "the allotment", "rose pruning", "the greenhouse"],
    ),
    (
        "astronomy",
        &[
            "Saturn's rings",
            "the meteor shower",
            "my telescope",
            "the Andromeda galaxy",
            "Jupiter's moons",
            "a dark sky site",
        ],
    ),
    ("cycling", &["my road bike", "the club ride", "a gravel route", "new tyres", "the hill climb", "the bike lane"]),
    (
        "cooking",
        &["sourdough bread", "a slow ragù", "lentil soup", "homemade pasta", "a curry paste", "the spice rack"],
    ),
    (
        "programming",
        &[
            "a memory leak",
            "the test suite",
            "a Rust compiler error",
            "the database migration",
            "code review",
            "a flaky build",
        ],
    ),
    (
        "football",
        &[
            "the derby match",
            "our striker",
            "the penalty shootout",
            "the league table",
            "the new signing",
            "extra time",
        ],
    ),
    ("music", &["my guitar", "the choir rehearsal", "a jazz record", "the piano scales", "a live gig", "the drum kit"]),
    (
        "pets",
        &["our old cat", "the new puppy", "the vet visit", "the hamster", "a walk with the dog", "the rescue kitten"],
    ),
];

const SYNTHETIC_TEMPLATES: &[&str] = &[
    "Spent the whole afternoon on {}, and I regret nothing.",
    "Quick update about {}: it went better than expected.",
    "Does anyone else have strong opinions about {}?",
    "Small joy of the day: {}.",
    "Finally sorted out {} after weeks of putting it off.",
    "A photo I took of {} this weekend.",
];

/// A synthetic post: its topic and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticPost {
    pub topic: usize,
    pub text: String,
}

/// Every topic × subject × template: 8 × 6 × 6 = 288 posts.
pub fn synthetic_posts() -> Vec<SyntheticPost> {
    let mut posts = Vec::new();
    for (topic, (_, subjects)) in SYNTHETIC_TOPICS.iter().enumerate() {
        for subject in *subjects {
            for template in SYNTHETIC_TEMPLATES {
                posts.push(SyntheticPost { topic, text: template.replace("{}", subject) });
            }
        }
    }
    posts
}

/// Mean NDCG@k after n interactions, for each n of `checkpoints`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationPoint {
    pub method: String,
    pub interactions: usize,
    pub ndcg: f64,
    pub users: usize,
    pub k: usize,
}

/// Synthetic users, each secretly fond of two topics and tired of one, scroll the ranked list
/// of `posts` (with their `embeddings`): each turn they like the first post in the top k that
/// is on one of their topics, or ask to see less of the first one on the topic they are tired
/// of, alternating. NDCG@k counts posts on their two topics as relevant (unseen posts only).
pub fn simulate(
    posts: &[SyntheticPost],
    embeddings: &[Vec<f32>],
    users: usize,
    checkpoints: &[usize],
    k: usize,
    seed: u64,
) -> Vec<SimulationPoint> {
    let topics = SYNTHETIC_TOPICS.len();
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    let mut sums = vec![0.0; checkpoints.len()];
    for user in 0..users {
        let mut draws = SplitMix64(seed_for(seed, &user.to_string()));
        let first = draws.below(topics);
        let second = (first + 1 + draws.below(topics - 1)) % topics;
        let tired = (0..topics).cycle().skip(draws.below(topics)).find(|t| *t != first && *t != second).unwrap_or(0);
        let relevant = |post: &SyntheticPost| post.topic == first || post.topic == second;
        let mut profile = Profile::default();
        let mut touched = vec![false; posts.len()];
        let item = |index: usize| Item {
            text: &posts[index].text,
            embedding: Some(&embeddings[index]),
            author_id: None,
            source_id: None,
            created_at_ms: None,
            engagement: 0.0,
            tone: None,
            media: MediaType::Text,
            seen: false,
            shown_less: false,
            author_recent_posts: 0,
        };
        for step in 0..=last {
            // Rank the posts not yet acted on; ties broken by a per-user shuffle.
            let jitter: Vec<f64> = (0..posts.len()).map(|_| draws.unit() * 1e-9).collect();
            let mut order: Vec<usize> = (0..posts.len()).filter(|&index| !touched[index]).collect();
            let scores: Vec<f64> = (0..posts.len())
                .map(|index| {
                    if touched[index] {
                        f64::NEG_INFINITY
                    } else {
                        profile.score(&item(index), 0).score + jitter[index]
                    }
                })
                .collect();
            order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
            if let Some(position) = checkpoints.iter().position(|&checkpoint| checkpoint == step) {
                let gain: f64 = order
                    .iter()
                    .take(k)
                    .enumerate()
                    .filter(|(_, &index)| relevant(&posts[index]))
                    .map(|(rank, _)| {
                        #[allow(clippy::cast_precision_loss)]
                        let rank = rank as f64;
                        1.0 / (rank + 2.0).log2()
                    })
                    .sum();
                let relevant_left = order.iter().filter(|&&index| relevant(&posts[index])).count().min(k);
                #[allow(clippy::cast_precision_loss)]
                let ideal: f64 = (0..relevant_left).map(|rank| 1.0 / (rank as f64 + 2.0).log2()).sum();
                sums[position] += if ideal > 0.0 { gain / ideal } else { 0.0 };
            }
            if step == last {
                break;
            }
            let top: Vec<usize> = order.iter().copied().take(k).collect();
            let liked = top.iter().copied().find(|&index| relevant(&posts[index]));
            let tiring = top.iter().copied().find(|&index| posts[index].topic == tired);
            // Scrolling further when the top has nothing for them: the first relevant post at all.
            let (acted, signal) = match (step % 2, liked, tiring) {
                (1, _, Some(index)) | (_, None, Some(index)) => (Some(index), Signal::Negative { strength: 1.5 }),
                (_, Some(index), _) => (Some(index), Signal::Positive { strength: 1.0, reply: false }),
                (_, None, None) => (
                    order.iter().copied().find(|&index| relevant(&posts[index])),
                    Signal::Positive { strength: 1.0, reply: false },
                ),
            };
            let Some(acted) = acted else { break };
            // As in the app: posts picked at random among those not acted on.
            let contrast_indices: Vec<usize> =
                (0..2).map(|_| order[draws.below(order.len())]).filter(|&index| index != acted).collect();
            let contrast: Vec<Item<'_>> = contrast_indices.iter().map(|&index| item(index)).collect();
            profile.learn(signal, &item(acted), &contrast, 0);
            touched[acted] = true;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let count = users.max(1) as f64;
    checkpoints
        .iter()
        .zip(sums)
        .map(|(&interactions, sum)| SimulationPoint {
            method: "hearth (synthetic users)".to_owned(),
            interactions,
            ndcg: sum / count,
            users,
            k,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_commas_and_newlines_and_names_bad_lines() {
        let rows =
            parse_csv("item,text\n1,\"Toy Story, (1995)\"\n2,\"say \"\"hi\"\"\nthere\"\r\n3,plain\n", "f").unwrap();
        assert_eq!(rows[1], ["1", "Toy Story, (1995)"]);
        assert_eq!(rows[2], ["2", "say \"hi\"\nthere"]);
        assert_eq!(rows[3], ["3", "plain"]);
        assert!(parse_csv("a,b\n1,x\"y\n", "f").unwrap_err().to_string().contains("line 2"));
        assert!(parse_csv("a\n\"open", "f").is_err());
        assert!(read_ratings("user,item,rating\n1,2,3\n").unwrap_err().to_string().contains("header"));
        assert!(read_ratings("user,item,rating,timestamp\n1,2,five,9\n").unwrap_err().to_string().contains("row 2"));
    }

    #[test]
    fn the_validation_split_drops_each_users_last_interaction_and_only_that() {
        let log = read_ratings("user,item,rating,timestamp\na,1,5,30\nb,2,4,5\na,3,1,10\na,4,3,30\nb,5,2,1\nc,6,5,7\n")
            .unwrap();
        let kept: Vec<String> =
            without_last_per_user(log).iter().map(|rating| format!("{}:{}", rating.user, rating.item)).collect();
        // a: 4 is last (a tie at 30 keeps the file's order, as leave_one_out does); b: 2; c: 6.
        assert_eq!(kept, ["a:1", "a:3", "b:5"]);
    }

    #[test]
    fn ties_count_at_their_mean_rank() {
        assert_eq!(hit_and_gain(&[1.0, 0.0, 0.0], 1), (1.0, 1.0));
        let (hit, _) = hit_and_gain(&[1.0, 1.0, 0.0], 1);
        assert!((hit - 0.5).abs() < 1e-12);
        assert_eq!(hit_and_gain(&[0.0, 1.0, 2.0], 2).0, 0.0);
    }

    #[test]
    fn synthetic_posts_cover_every_topic_evenly() {
        let posts = synthetic_posts();
        assert_eq!(posts.len(), 288);
        assert!((0..8).all(|topic| posts.iter().filter(|post| post.topic == topic).count() == 36));
    }
}
