//! What the user does to posts and authors: the event kinds, their validation, and recording.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{interactions as log, now_ms, posts, Store};

/// Longest dwell we believe; anything longer is a tab left open, not reading.
pub const MAX_DWELL_MS: i64 = 30 * 60 * 1000;
/// Longest muted word or phrase.
pub const MAX_MUTED_WORD_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Like,
    Unlike,
    Boost,
    Unboost,
    Reply,
    Open,
    Dwell,
    Hide,
    Unhide,
    ShowLess,
    MuteAuthor,
    UnmuteAuthor,
    MuteWord,
    UnmuteWord,
}

impl InteractionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Unlike => "unlike",
            Self::Boost => "boost",
            Self::Unboost => "unboost",
            Self::Reply => "reply",
            Self::Open => "open",
            Self::Dwell => "dwell",
            Self::Hide => "hide",
            Self::Unhide => "unhide",
            Self::ShowLess => "show_less",
            Self::MuteAuthor => "mute_author",
            Self::UnmuteAuthor => "unmute_author",
            Self::MuteWord => "mute_word",
            Self::UnmuteWord => "unmute_word",
        }
    }

    fn needs_post(self) -> bool {
        !matches!(self, Self::MuteWord | Self::UnmuteWord | Self::MuteAuthor | Self::UnmuteAuthor)
    }
}

/// An interaction as a face submits it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    #[serde(default)]
    pub post_id: Option<i64>,
    pub kind: InteractionKind,
    #[serde(default)]
    pub dwell_ms: Option<i64>,
    /// The word for `mute_word`/`unmute_word`; an author id for `mute_author`/`unmute_author`
    /// when no `post_id` names the author.
    #[serde(default)]
    pub value: Option<String>,
}

impl InteractionInput {
    pub fn on_post(post_id: i64, kind: InteractionKind) -> Self {
        Self { post_id: Some(post_id), kind, dwell_ms: None, value: None }
    }
}

/// Validates the input against the database and appends it to the log, updating derived state,
/// in one transaction. Returns the post id the event was about, if any.
pub fn record(store: &Store, input: &InteractionInput) -> Result<Option<i64>> {
    let kind = input.kind;
    if kind.needs_post() && input.post_id.is_none() {
        return Err(Error::invalid(format!("a {} needs a post_id", kind.as_str())));
    }
    let dwell_ms = match (kind, input.dwell_ms) {
        (InteractionKind::Dwell, Some(ms)) if (0..=MAX_DWELL_MS).contains(&ms) => Some(ms),
        (InteractionKind::Dwell, Some(ms)) => {
            return Err(Error::invalid(format!("dwell_ms must be between 0 and {MAX_DWELL_MS}, not {ms}")))
        }
        (InteractionKind::Dwell, None) => return Err(Error::invalid("a dwell needs dwell_ms")),
        (_, Some(_)) => {
            return Err(Error::invalid(format!("dwell_ms only belongs to a dwell, not a {}", kind.as_str())))
        }
        (_, None) => None,
    };
    let word = match kind {
        InteractionKind::MuteWord | InteractionKind::UnmuteWord => Some(normalise_muted_word(input.value.as_deref())?),
        _ => None,
    };
    store.write(|connection| {
        let post_author = match input.post_id {
            Some(post_id) => Some(posts::author_of_post(connection, post_id)?),
            None => None,
        };
        let author_id = match kind {
            InteractionKind::MuteAuthor | InteractionKind::UnmuteAuthor => {
                let author_id = match (post_author, input.value.as_deref()) {
                    (Some(author_id), _) => author_id,
                    (None, Some(value)) => value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| Error::invalid(format!("author id must be a number, not {value:?}")))?,
                    (None, None) => return Err(Error::invalid("muting an author needs a post_id or an author id")),
                };
                if !log::author_exists(connection, author_id)? {
                    return Err(Error::not_found("author", author_id));
                }
                Some(author_id)
            }
            _ => post_author,
        };
        log::append(
            connection,
            &log::InteractionRow {
                post_id: input.post_id,
                author_id,
                kind,
                value: word.as_deref(),
                dwell_ms,
                created_at_ms: now_ms(),
            },
        )?;
        Ok(input.post_id)
    })
}

fn normalise_muted_word(value: Option<&str>) -> Result<String> {
    let word = value.unwrap_or_default().trim();
    // A pattern keeps its case (`\B` is not `\b`); it matches without regard to case anyway.
    let word = if MuteRule::is_pattern(word) { word.to_owned() } else { word.to_lowercase() };
    if word.is_empty() {
        return Err(Error::invalid("a muted word cannot be empty"));
    }
    if word.chars().count() > MAX_MUTED_WORD_CHARS {
        return Err(Error::invalid(format!("a muted word can be at most {MAX_MUTED_WORD_CHARS} characters")));
    }
    MuteRule::parse(&word)?;
    Ok(word)
}

/// One muted word, phrase or pattern, ready to test posts against. A mute written `/.../` is
/// a regular expression (Rust `regex` syntax, case-insensitive, linear time, size-limited);
/// anything else is a word or phrase matched whole.
#[derive(Debug, Clone)]
pub enum MuteRule {
    Words(String),
    Pattern(regex::Regex),
}

/// The compiled size a muted pattern may reach (a guard against patterns that explode).
const MAX_PATTERN_BYTES: usize = 256 * 1024;

impl MuteRule {
    fn is_pattern(text: &str) -> bool {
        text.len() > 2 && text.starts_with('/') && text.ends_with('/')
    }

    pub fn parse(muted: &str) -> Result<Self> {
        if !Self::is_pattern(muted) {
            return Ok(Self::Words(muted.to_lowercase()));
        }
        regex::RegexBuilder::new(&muted[1..muted.len() - 1])
            .case_insensitive(true)
            .size_limit(MAX_PATTERN_BYTES)
            .build()
            .map(Self::Pattern)
            .map_err(|error| {
                Error::invalid(format!("the muted pattern {muted} is not a valid regular expression: {error}"))
            })
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Self::Words(words) => contains_muted_word(text, words),
            Self::Pattern(pattern) => pattern.is_match(text),
        }
    }
}

/// Whether `text` contains `muted` (already lower-case) as a whole word or phrase.
pub fn contains_muted_word(text: &str, muted: &str) -> bool {
    let haystack = text.to_lowercase();
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut start = 0;
    while let Some(found) = haystack[start..].find(muted) {
        let begin = start + found;
        let end = begin + muted.len();
        let before_ok = haystack[..begin].chars().next_back().is_none_or(|c| !is_word_char(c));
        let after_ok = haystack[end..].chars().next().is_none_or(|c| !is_word_char(c));
        if before_ok && after_ok {
            return true;
        }
        start = begin + haystack[begin..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn muted_patterns_match_anywhere_without_regard_to_case() {
        let rule = MuteRule::parse("/\\bcrypto\\w*/").unwrap();
        assert!(rule.matches("New CRYPTOCURRENCY drop!"));
        assert!(!rule.matches("a cryptic crossword"));
        assert!(MuteRule::parse("/").unwrap().matches("a / b"), "a lone slash is a word");
    }

    #[test]
    fn muted_words_match_whole_words_only() {
        assert!(contains_muted_word("I love my Cat.", "cat"));
        assert!(contains_muted_word("cat", "cat"));
        assert!(!contains_muted_word("a new category", "cat"));
        assert!(!contains_muted_word("bobcat", "cat"));
        assert!(contains_muted_word("Hot take: spoilers ahead!", "spoilers ahead"));
        assert!(contains_muted_word("ÉCLAIR au café", "café"));
        assert!(!contains_muted_word("", "cat"));
    }

    #[test]
    fn muted_words_are_trimmed_lowercased_and_bounded() {
        assert_eq!(normalise_muted_word(Some("  Spoilers ")).unwrap(), "spoilers");
        assert!(normalise_muted_word(Some("   ")).is_err());
        assert!(normalise_muted_word(Some(&"x".repeat(101))).is_err());
        assert_eq!(normalise_muted_word(Some(" /\\bCrypto\\w*/ ")).unwrap(), "/\\bCrypto\\w*/");
        let error = normalise_muted_word(Some("/(unclosed/")).unwrap_err();
        assert!(error.to_string().contains("not a valid regular expression"), "{error}");
    }
}
