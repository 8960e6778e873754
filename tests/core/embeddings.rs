//! Sentence embeddings against the reference implementation: every input of
//! `tests/fixtures/embeddings/sentences.txt` embedded by Hearth (candle) is compared with the
//! vector sentence-transformers (PyTorch CPU) produced for it (`reference.json`, made by
//! `models/reference/make_embedding_reference.py`). Needs the model's weights:
//! `cargo xtask test` fetches them (`hearth models fetch all-minilm-l6-v2`).

use hearth_core::models::text::{cosine, Forward, TextEmbedder, DIMENSION};
use hearth_core::models::Catalog;
use serde::Deserialize;

use crate::embeddings_support::{models_dir, read_reference, ReferenceItem};

#[derive(Deserialize)]
struct Reference {
    max_seq_length: usize,
    items: Vec<ReferenceItem>,
}

fn reference() -> Reference {
    read_reference("reference.json")
}

/// The embedder, from `$HEARTH_MODELS_DIR` or the repository's `models/weights/`.
fn embedder() -> TextEmbedder {
    embedder_with(Forward::Packed)
}

fn embedder_with(forward: Forward) -> TextEmbedder {
    let catalog = Catalog::bundled().unwrap();
    let dir = catalog.model("all-minilm-l6-v2").unwrap().installed_dir(&models_dir()).unwrap_or_else(|error| {
        panic!("{error}\n(the model tests need the weights: run `cargo xtask models` or `cargo xtask test`)")
    });
    TextEmbedder::load_with(&dir, &candle_core::Device::Cpu, forward).unwrap()
}

#[test]
fn every_reference_sentence_embeds_within_cosine_0_999_of_sentence_transformers() {
    let reference = reference();
    assert_eq!(reference.max_seq_length, hearth_core::models::text::MAX_TOKENS);
    assert!(reference.items.len() >= 50);
    let embedder = embedder();
    let texts: Vec<&str> = reference.items.iter().map(|item| item.text.as_str()).collect();
    let vectors = embedder.embed(&texts).unwrap();
    let mut worst = (1.0_f32, "");
    for (item, vector) in reference.items.iter().zip(&vectors) {
        assert_eq!(vector.len(), DIMENSION);
        let similarity = cosine(vector, &item.vector);
        if similarity < worst.0 {
            worst = (similarity, &item.text);
        }
        assert!(similarity >= 0.999, "cosine {similarity} for {:?}", item.text);
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    let truncated = reference.items.iter().filter(|item| item.token_count > reference.max_seq_length).count();
    assert!(truncated >= 3, "the fixture must exercise truncation");
    eprintln!("worst cosine {:.6} for {:?}", worst.0, worst.1.chars().take(60).collect::<String>());
}

/// Hearth's packed encoder (the CPU default) against candle-transformers' BERT (the GPU path)
/// on the same inputs: the two must agree far more closely than either needs to agree with
/// PyTorch, whatever the mix of lengths in a batch.
#[test]
fn the_packed_encoder_matches_candle_transformers_bert() {
    let reference = reference();
    let texts: Vec<&str> = reference.items.iter().map(|item| item.text.as_str()).collect();
    let packed = embedder_with(Forward::Packed).embed(&texts).unwrap();
    let padded = embedder_with(Forward::Padded).embed(&texts).unwrap();
    for ((text, packed), padded) in texts.iter().zip(&packed).zip(&padded) {
        let similarity = cosine(packed, padded);
        assert!(similarity > 0.99999, "cosine {similarity} for {text:?}");
        let largest_difference = packed.iter().zip(padded).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        assert!(largest_difference < 2e-4, "a component differs by {largest_difference} for {text:?}");
    }
}

#[test]
fn batching_does_not_change_a_vector_and_order_is_kept() {
    let reference = reference();
    let embedder = embedder();
    let texts: Vec<&str> = reference.items.iter().take(12).map(|item| item.text.as_str()).collect();
    let batched = embedder.embed(&texts).unwrap();
    for (text, batched_vector) in texts.iter().zip(&batched) {
        let alone = embedder.embed(&[text]).unwrap().remove(0);
        assert!(cosine(&alone, batched_vector) > 0.99999, "{text:?}");
    }
    assert!(embedder.embed(&[]).unwrap().is_empty());
}

#[test]
fn similar_sentences_are_closer_than_unrelated_ones() {
    let embedder = embedder();
    let vectors = embedder
        .embed(&[
            "My tomatoes are finally ripening in the greenhouse.",
            "The tomato plants in my garden have red fruit now.",
            "The central bank raised interest rates again.",
        ])
        .unwrap();
    assert!(cosine(&vectors[0], &vectors[1]) > cosine(&vectors[0], &vectors[2]) + 0.3);
}
