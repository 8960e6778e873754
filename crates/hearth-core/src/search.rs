//! Search over everything seen, hybrid: full-text matches (FTS5, BM25) in posts' text and in
//! what their images show (the image model's labels), and posts whose text or images are
//! close in meaning to the query (embeddings), merged by reciprocal rank fusion — so
//! "vegetable patch" finds a post about runner beans, "coffee" a photo of an espresso, and an
//! exact word still comes first. Without the embedding model it is words alone, and says so. This room compares stored vectors; the query's
//! vector comes from the caller (`App`), which runs the model.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::post::Post;
use crate::store::{posts, Store};

pub const DEFAULT_SEARCH_LIMIT: i64 = 30;
pub const MAX_SEARCH_LIMIT: i64 = 100;
pub const MAX_QUERY_CHARS: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub posts: Vec<Post>,
    /// About how many posts matched (by words or by meaning), of which `posts` are the best.
    pub total: i64,
    /// Whether meaning was searched too (false when the embedding model is not installed).
    pub semantic: bool,
}

/// How many of each list's best are fused.
const FUSED_DEPTH: usize = 100;
/// Reciprocal rank fusion's damping constant (the usual 60).
const FUSION_K: f64 = 60.0;
/// Cosine a post needs to the query to count as a match by meaning (all-MiniLM-L6-v2:
/// unrelated texts sit around 0.1).
const MIN_SEMANTIC_COSINE: f32 = 0.3;

/// Posts whose text matches every word of `query` (the last word as a prefix) or whose meaning
/// is close to it (given the query's `query_vector`), best first; with `tone`, only posts the
/// tone model tagged so.
pub fn search(
    store: &Store,
    query: &str,
    query_vector: Option<&[f32]>,
    limit: Option<i64>,
    tone: Option<&str>,
) -> Result<SearchResult> {
    if let Some(tone) = tone {
        if !["positive", "neutral", "negative"].contains(&tone) {
            return Err(Error::invalid(format!("tone must be positive, neutral or negative, not {tone:?}")));
        }
    }
    let limit = limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
        return Err(Error::invalid(format!("limit must be between 1 and {MAX_SEARCH_LIMIT}, not {limit}")));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(Error::invalid(format!("a search can be at most {MAX_QUERY_CHARS} characters")));
    }
    let Some(fts_query) = to_fts_query(query) else {
        return Err(Error::invalid("type a word to search for"));
    };
    store.read(|connection| {
        let depth = i64::try_from(FUSED_DEPTH).unwrap_or(100);
        let (by_words, word_total) = posts::full_text_search(connection, &fts_query, depth, tone)?;
        let (by_media_words, media_word_total) = posts::media_word_search(connection, &fts_query, depth, tone)?;
        let Some(query_vector) = query_vector else {
            let fused = fuse(&[&by_words, &by_media_words]);
            let total = i64::try_from(fused.len()).unwrap_or(i64::MAX).max(word_total.max(media_word_total));
            let ids: Vec<i64> = fused.into_iter().take(usize::try_from(limit).unwrap_or(0)).collect();
            return Ok(SearchResult { posts: posts::load_posts(connection, &ids)?, total, semantic: false });
        };
        // A post is as close as its text or its closest image.
        let mut closest: std::collections::HashMap<i64, f32> = std::collections::HashMap::new();
        let model = crate::ranking::EMBEDDING_MODEL;
        for (id, vector) in posts::searchable_vectors(connection, model, tone)?
            .into_iter()
            .chain(posts::searchable_image_vectors(connection, model, tone)?)
        {
            let cosine = hearth_kernels::dot(&vector, query_vector);
            let best = closest.entry(id).or_insert(cosine);
            *best = best.max(cosine);
        }
        let mut by_meaning: Vec<(i64, f32)> =
            closest.into_iter().filter(|(_, cosine)| *cosine >= MIN_SEMANTIC_COSINE).collect();
        by_meaning.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        let meaning_total = by_meaning.len();
        let by_meaning: Vec<i64> = by_meaning.into_iter().take(FUSED_DEPTH).map(|(id, _)| id).collect();
        let fused = fuse(&[&by_words, &by_media_words, &by_meaning]);
        // Matches beyond the fused depth still count in the total (which can then count a post
        // found two ways twice: it is "about").
        let beyond = usize::try_from(word_total).unwrap_or(0).saturating_sub(by_words.len())
            + usize::try_from(media_word_total).unwrap_or(0).saturating_sub(by_media_words.len())
            + meaning_total.saturating_sub(by_meaning.len());
        let total = i64::try_from(fused.len() + beyond).unwrap_or(i64::MAX).max(word_total);
        let ids: Vec<i64> = fused.into_iter().take(usize::try_from(limit).unwrap_or(0)).collect();
        Ok(SearchResult { posts: posts::load_posts(connection, &ids)?, total, semantic: true })
    })
}

/// Reciprocal rank fusion: each list gives an id 1 / (k + rank); best total first.
fn fuse(lists: &[&[i64]]) -> Vec<i64> {
    let mut scores: Vec<(i64, f64)> = Vec::new();
    for list in lists {
        for (rank, id) in list.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let gain = 1.0 / (FUSION_K + rank as f64 + 1.0);
            match scores.iter_mut().find(|(seen, _)| seen == id) {
                Some((_, score)) => *score += gain,
                None => scores.push((*id, gain)),
            }
        }
    }
    // Stable sort: equal scores keep the words-first order they were met in.
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    scores.into_iter().map(|(id, _)| id).collect()
}

/// Turns what a person typed into a safe FTS5 query: each word quoted (so `AND`, `*`, `"` and
/// column filters are just text), all words required, the last one matched as a prefix.
pub fn to_fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = typed
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_'))
        .map(|word| word.trim_matches('\''))
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{}\"", word.replace('"', "")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    query.push('*');
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_posts_found_both_ways_and_keeps_word_order_on_ties() {
        assert_eq!(fuse(&[&[1, 2, 3], &[3, 4]]), [3, 1, 2, 4]);
        assert_eq!(fuse(&[&[7, 8], &[]]), [7, 8]);
    }

    #[test]
    fn typed_text_becomes_a_safe_fts_query() {
        assert_eq!(to_fts_query("sourdough").as_deref(), Some("\"sourdough\"*"));
        assert_eq!(to_fts_query("  tomato  SEEDS ").as_deref(), Some("\"tomato\" \"SEEDS\"*"));
        assert_eq!(to_fts_query("a OR b NOT c").as_deref(), Some("\"a\" \"OR\" \"b\" \"NOT\" \"c\"*"));
        assert_eq!(to_fts_query("text:\"x\" *").as_deref(), Some("\"text\" \"x\"*"));
        assert_eq!(to_fts_query("don't").as_deref(), Some("\"don't\"*"));
        assert_eq!(to_fts_query("  ** \"\" "), None);
    }
}
