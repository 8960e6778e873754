//! Re-ranking for variety (maximal marginal relevance): the top of the feed is filled one post
//! at a time, each time taking the post whose score, less its closeness to what is already
//! above it and a charge for repeating a recent author, is highest. One topic or one prolific
//! author cannot flood the first screens.

/// How many of the best-scored posts are re-ordered; the rest follow by score.
pub const WINDOW: usize = 300;
/// Charge, in score units, for each unit of cosine to the closest post already placed (a
/// same-topic neighbour is about 0.5–0.7 away from a post).
const NOVELTY: f64 = 0.5;
/// Charge, in score units, per post by the same author among the last few placed.
const AUTHOR_REPEAT: f64 = 0.15;
const AUTHOR_MEMORY: usize = 6;

/// One post to place.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub score: f64,
    pub author_id: i64,
    pub embedding: Option<&'a [f32]>,
}

/// The order of `entries` (indices), which must come sorted by score, best first.
pub fn rerank(entries: &[Entry<'_>]) -> Vec<usize> {
    let window = entries.len().min(WINDOW);
    let mut remaining: Vec<usize> = (0..window).collect();
    // Closest cosine of each entry to anything placed so far, updated as posts are placed.
    let mut closeness = vec![0.0_f64; window];
    let mut placed: Vec<usize> = Vec::with_capacity(entries.len());
    while !remaining.is_empty() {
        let recent_authors = &placed[placed.len().saturating_sub(AUTHOR_MEMORY)..];
        let value = |index: usize| {
            let entry = &entries[index];
            #[allow(clippy::cast_precision_loss)]
            let repeats =
                recent_authors.iter().filter(|&&other| entries[other].author_id == entry.author_id).count() as f64;
            entry.score - NOVELTY * closeness[index] - AUTHOR_REPEAT * repeats
        };
        let (position, _) = remaining
            .iter()
            .enumerate()
            .map(|(position, &index)| (position, value(index)))
            .fold((0, f64::NEG_INFINITY), |best, candidate| if candidate.1 > best.1 { candidate } else { best });
        let chosen = remaining.remove(position);
        if let Some(chosen_embedding) = entries[chosen].embedding {
            for &index in &remaining {
                if let Some(embedding) = entries[index].embedding {
                    closeness[index] =
                        closeness[index].max(f64::from(hearth_kernels::dot(embedding, chosen_embedding)));
                }
            }
        }
        placed.push(chosen);
    }
    placed.extend(window..entries.len());
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_author_cannot_take_the_whole_top() {
        let entries: Vec<Entry<'_>> = (0..10)
            .map(|index| Entry {
                score: 1.0 - f64::from(index) * 0.01,
                author_id: i64::from(index < 6),
                embedding: None,
            })
            .collect();
        let order = rerank(&entries);
        let top_four: Vec<i64> = order[..4].iter().map(|&index| entries[index].author_id).collect();
        assert!(top_four.contains(&0), "{top_four:?}");
        assert_eq!(order.len(), 10);
    }

    #[test]
    fn near_duplicates_are_spread_out() {
        let a = [1.0_f32, 0.0];
        let b = [0.0_f32, 1.0];
        let entries = [
            Entry { score: 1.0, author_id: 1, embedding: Some(&a) },
            Entry { score: 0.99, author_id: 2, embedding: Some(&a) },
            Entry { score: 0.98, author_id: 3, embedding: Some(&a) },
            Entry { score: 0.97, author_id: 4, embedding: Some(&b) },
            Entry { score: 0.0, author_id: 5, embedding: None },
        ];
        let order = rerank(&entries);
        assert_eq!(order[0], 0);
        assert_eq!(order[1], 3, "the different topic comes second: {order:?}");
    }
}
