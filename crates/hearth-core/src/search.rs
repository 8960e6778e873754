//! Search over everything seen: full text (FTS5) now; semantic search joins it later.

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
    pub total: i64,
}

/// Posts whose text matches every word of `query` (the last word as a prefix), best first;
/// with `tone`, only posts the tone model tagged so.
pub fn search(store: &Store, query: &str, limit: Option<i64>, tone: Option<&str>) -> Result<SearchResult> {
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
        let (ids, total) = posts::full_text_search(connection, &fts_query, limit, tone)?;
        Ok(SearchResult { posts: posts::load_posts(connection, &ids)?, total })
    })
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
    fn typed_text_becomes_a_safe_fts_query() {
        assert_eq!(to_fts_query("sourdough").as_deref(), Some("\"sourdough\"*"));
        assert_eq!(to_fts_query("  tomato  SEEDS ").as_deref(), Some("\"tomato\" \"SEEDS\"*"));
        assert_eq!(to_fts_query("a OR b NOT c").as_deref(), Some("\"a\" \"OR\" \"b\" \"NOT\" \"c\"*"));
        assert_eq!(to_fts_query("text:\"x\" *").as_deref(), Some("\"text\" \"x\"*"));
        assert_eq!(to_fts_query("don't").as_deref(), Some("\"don't\"*"));
        assert_eq!(to_fts_query("  ** \"\" "), None);
    }
}
