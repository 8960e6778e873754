//! `hearth eval-ranking`: reads a rating log and item texts, embeds the items with the
//! on-device model, and runs `hearth_core::ranking::evaluation` (the ranker's own code) next
//! to popularity and random; `--synthetic` follows synthetic users instead or as well.

use std::collections::HashMap;
use std::path::Path;

use hearth_core::ranking::evaluation::{
    leave_one_out, read_items, read_ratings, simulate, synthetic_posts, without_last_per_user,
};
use hearth_core::App;

/// Interactions after which the simulation reports NDCG.
const CHECKPOINTS: [usize; 8] = [0, 1, 2, 3, 5, 10, 15, 20];
const SYNTHETIC_USERS: usize = 64;

fn embed_all(app: &App, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
    let embedder = app.text_embedder(app.config().device)?;
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(256) {
        vectors.extend(embedder.embed(chunk)?);
        eprint!("\rembedded {} of {} texts", vectors.len(), texts.len());
    }
    eprintln!();
    Ok(vectors)
}

/// A rating log to evaluate on, and whether to use its validation split.
pub struct RatingLog<'a> {
    pub interactions: &'a Path,
    pub items: &'a Path,
    pub validation: bool,
}

pub fn eval_ranking(
    app: &App,
    log: Option<RatingLog<'_>>,
    k: usize,
    negatives: usize,
    seed: u64,
    synthetic: bool,
    json: bool,
) -> anyhow::Result<()> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))
    };
    if let Some(log) = log {
        let mut ratings = read_ratings(&read(log.interactions)?)?;
        if log.validation {
            ratings = without_last_per_user(ratings);
        }
        let items = read_items(&read(log.items)?)?;
        let texts: Vec<&str> = items.iter().map(|(_, text)| text.as_str()).collect();
        let vectors = embed_all(app, &texts)?;
        let embeddings: HashMap<String, Vec<f32>> = items.iter().map(|(id, _)| id.clone()).zip(vectors).collect();
        let texts: HashMap<String, String> = items.into_iter().collect();
        let scores = leave_one_out(&ratings, &texts, &embeddings, k, negatives, seed)?;
        for score in &scores {
            if json {
                println!("{}", serde_json::to_string(score)?);
            } else {
                println!(
                    "{:<12} HR@{k} {:.4}  NDCG@{k} {:.4}  ({} users)",
                    score.method, score.hr, score.ndcg, score.users
                );
            }
        }
        if !json {
            if let (Some(hearth), Some(popular)) = (
                scores.iter().find(|score| score.method == "hearth"),
                scores.iter().find(|score| score.method == "popularity"),
            ) {
                println!(
                    "Hearth vs popularity, NDCG@{k}: {:+.1}% relative",
                    (hearth.ndcg / popular.ndcg - 1.0) * 100.0
                );
            }
        }
    }
    if synthetic {
        let posts = synthetic_posts();
        let texts: Vec<&str> = posts.iter().map(|post| post.text.as_str()).collect();
        let vectors = embed_all(app, &texts)?;
        for point in simulate(&posts, &vectors, SYNTHETIC_USERS, &CHECKPOINTS, k, seed) {
            if json {
                println!("{}", serde_json::to_string(&point)?);
            } else {
                println!(
                    "synthetic users: after {:>2} interactions NDCG@{k} {:.4} ({} users)",
                    point.interactions, point.ndcg, point.users
                );
            }
        }
    }
    Ok(())
}

/// `hearth bench-ranking`: the ranker on 10,000 candidates with a profile learned from 100,000
/// interactions, and a ranked feed page end to end over `stored_posts` posts with a logged
/// history of `interactions` (learned once, before the timed pages); p50/p95 in ms.
pub fn bench_ranking(data_dir: &Path, stored_posts: usize, interactions: usize) -> anyhow::Result<()> {
    use hearth_core::post::{Counts, SourceKind};
    use hearth_core::ranking::profile::{Item, MediaType, Profile, Signal};
    use hearth_core::ranking::{Personalised, RankingInput, RankingStrategy};
    use hearth_core::store::posts::{Candidate, PostRow};
    use hearth_core::store::{enrichments, interactions as log, posts};
    use hearth_core::{Config, FeedMode, FeedQuery, InteractionKind};
    use std::time::Instant;

    const DIMENSION: usize = 384;
    const TOPICS: usize = 50;
    const CANDIDATES: usize = 10_000;
    const RUNS: usize = 30;
    /// The profile the ranker is timed with has learned this many interactions.
    const LEARNED_IN_MEMORY: usize = 100_000;
    let mut random = hearth_core::random::SplitMix64(0x5eed);
    let mut uniform = move || random.symmetric();
    // Posts cluster around topic directions, as real ones do.
    let topics: Vec<Vec<f32>> = (0..TOPICS).map(|_| (0..DIMENSION).map(|_| uniform()).collect()).collect();
    let mut vector_near = |topic: usize| -> Vec<f32> {
        let mut vector: Vec<f32> = topics[topic].iter().map(|value| value + 0.8 * uniform()).collect();
        let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
        vector.iter_mut().for_each(|value| *value /= norm);
        vector
    };
    let percentiles = |mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        let at = |share: f64| times[((times.len() - 1) as f64 * share).round() as usize];
        (at(0.5), at(0.95))
    };
    let now = 1_800_000_000_000_i64;

    // 1. The ranker alone.
    let embeddings: HashMap<i64, Vec<f32>> =
        (0..CANDIDATES).map(|index| (index as i64, vector_near(index % TOPICS))).collect();
    let candidates: Vec<Candidate> = (0..CANDIDATES)
        .map(|index| Candidate {
            id: index as i64,
            author_id: (index % 700) as i64,
            source_id: (index % 5) as i64,
            text: format!("post {index} about topic {}", index % TOPICS),
            created_at_ms: now - (index as i64) * 60_000,
            counts: Counts { likes: (index % 97) as i64, boosts: (index % 13) as i64, replies: (index % 7) as i64 },
            state: Default::default(),
            n_images: i64::from(index % 5 == 0),
            n_audio: 0,
            seen: index % 11 == 0,
            tone: Some(["positive", "neutral", "negative"][index % 3].to_owned()),
            author_recent_posts: (index % 40) as i64,
        })
        .collect();
    let started = Instant::now();
    let mut profile = Profile::default();
    let item = |index: usize| -> Item<'_> {
        hearth_core::ranking::item(&candidates[index], embeddings.get(&(index as i64)).map(Vec::as_slice))
    };
    for event in 0..LEARNED_IN_MEMORY {
        let index = (event * 7919) % CANDIDATES;
        let signal = if event % 6 == 5 {
            Signal::Negative { strength: 1.5 }
        } else {
            Signal::Positive { strength: 1.0, reply: event % 9 == 0 }
        };
        let contrast = [item((index + 1234) % CANDIDATES), item((index + 5678) % CANDIDATES)];
        profile.learn(signal, &item(index), &contrast, now);
    }
    let learn_seconds = started.elapsed().as_secs_f64();
    let _ = MediaType::Text;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let ranked = Personalised
            .rank(&RankingInput { candidates: &candidates, embeddings: &embeddings, profile: &profile }, now);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(ranked.order.len(), CANDIDATES);
    }
    let (rank_p50, rank_p95) = percentiles(times);

    // 2. A ranked page of 30, end to end, over 100,000 stored posts.
    let app = App::open(Config::in_dir(data_dir.to_path_buf())?)?;
    let started = Instant::now();
    app.store().write(|connection| {
        let source = posts::ensure_source(connection, SourceKind::Rss, "Bench", "https://bench.example/feed", now)?;
        let authors: Vec<i64> = (0..2_000)
            .map(|index| {
                posts::upsert_author(
                    connection,
                    &posts::AuthorRow {
                        source_id: source,
                        handle: &format!("author{index}@bench.example"),
                        display_name: &format!("Author {index}"),
                        bio: None,
                        is_self: false,
                    },
                )
            })
            .collect::<hearth_core::Result<_>>()?;
        for index in 0..stored_posts {
            let text = format!("Bench post {index} on topic {}", index % TOPICS);
            let id = posts::insert_post_if_new(
                connection,
                &PostRow {
                    source_id: source,
                    author_id: authors[index % authors.len()],
                    remote_id: &index.to_string(),
                    text: &text,
                    url: None,
                    created_at_ms: now - (stored_posts - index) as i64 * 20_000,
                    fetched_at_ms: now,
                    counts: Counts {
                        likes: (index % 97) as i64,
                        boosts: (index % 13) as i64,
                        replies: (index % 7) as i64,
                    },
                },
            )?;
            if let Some(id) = id {
                enrichments::put(
                    connection,
                    &enrichments::Enrichment {
                        subject: enrichments::Subject::Post(id),
                        kind: "embedding".into(),
                        model_id: hearth_core::ranking::EMBEDDING_MODEL.into(),
                        model_version: "1".into(),
                        value_json: None,
                        vector: Some(vector_near(index % TOPICS)),
                    },
                    now,
                )?;
            }
        }
        for event in 0..interactions {
            // A long history comes back to the same posts (opens, reads, likes): a quarter of them.
            let post_id = 1 + ((event * 7919) % (stored_posts / 4).max(1)) as i64;
            let kind = if event % 6 == 5 { InteractionKind::ShowLess } else { InteractionKind::Like };
            log::append(
                connection,
                &log::InteractionRow {
                    post_id: Some(post_id),
                    author_id: None,
                    kind,
                    value: None,
                    dwell_ms: None,
                    created_at_ms: now - 1_000,
                },
            )?;
        }
        Ok(())
    })?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let query = FeedQuery { mode: FeedMode::Ranked, limit: Some(30), ..FeedQuery::default() };
    app.feed(&query)?; // learns the 100,000 interactions once
    let first_feed_seconds = started.elapsed().as_secs_f64();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let page = app.feed(&query)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.posts.len(), 30);
    }
    let (feed_p50, feed_p95) = percentiles(times);
    println!(
        "{}",
        serde_json::json!({
            "rank_10k_ms": { "p50": rank_p50, "p95": rank_p95, "goal_p95": 30.0, "interactions_learned": LEARNED_IN_MEMORY },
            "feed_page_ms": { "p50": feed_p50, "p95": feed_p95, "goal_p95": 100.0, "posts": stored_posts, "interactions": interactions, "candidate_pool": hearth_core::feed::RANKED_CANDIDATE_POOL },
            "learn_in_memory_seconds": learn_seconds,
            "fill_database_seconds": fill_seconds,
            "first_feed_learning_seconds": first_feed_seconds,
            "threads": std::thread::available_parallelism().map_or(1, usize::from),
            "profile": if cfg!(debug_assertions) { "dev (dependencies at opt-level 2, kernels 3, hearth-core 1)" } else { "release" },
        })
    );
    Ok(())
}
