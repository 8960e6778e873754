//! The shipped tone head: it loads from the binary, scores the social-style fixtures in
//! `tests/fixtures/sentiment/` as its training report says (and the 240-post set better than
//! VADER), and gets plain cases right. Needs the embedding model's weights (`cargo xtask models`).

use hearth_core::models::sentiment::{classify_texts, evaluate, SentimentHead, Tone};
use hearth_core::models::text::TextEmbedder;
use hearth_core::models::Catalog;

use crate::embeddings_support::{models_dir, repo_root};

fn tone_of(embedder: &TextEmbedder, head: &SentimentHead, texts: &[&str]) -> Vec<(Tone, f32)> {
    let device = candle_core::Device::Cpu;
    let vectors = embedder.embed(texts).unwrap();
    classify_texts(head, embedder, texts, &vectors, &device).unwrap().into_iter().map(|t| (t.label, t.score)).collect()
}

fn loaded() -> (TextEmbedder, SentimentHead) {
    let catalog = Catalog::bundled().unwrap();
    let dir = catalog.model("all-minilm-l6-v2").unwrap().installed_dir(&models_dir()).unwrap_or_else(|error| {
        panic!("{error}\n(the model tests need the weights: run `cargo xtask models` or `cargo xtask test`)")
    });
    let device = candle_core::Device::Cpu;
    (TextEmbedder::load(&dir, &device).unwrap(), SentimentHead::bundled(&device).unwrap())
}

/// `[category<TAB>]label<TAB>text` rows of a fixture.
fn labelled(file: &str) -> Vec<(Tone, String)> {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/sentiment").join(file)).unwrap();
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let (label, text) = (fields[fields.len() - 2], fields[fields.len() - 1]);
            (Tone::parse(label).unwrap(), text.trim().to_owned())
        })
        .collect()
}

fn report(file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("models/sentiment").join(file)).unwrap()).unwrap()
}

#[test]
fn the_shipped_head_scores_the_social_sets_as_its_training_report_says_and_beats_vader() {
    let (embedder, head) = loaded();
    let metrics = report("metrics.json");
    let vader = report("vader_baseline.json");
    for (file, set, size) in [("fixed_set.tsv", "fixed_set", 45), ("social_eval.tsv", "social_eval", 240)] {
        let rows = labelled(file);
        assert_eq!(rows.len(), size);
        let texts: Vec<&str> = rows.iter().map(|(_, text)| text.as_str()).collect();
        let predicted: Vec<Tone> = tone_of(&embedder, &head, &texts).into_iter().map(|(tone, _)| tone).collect();
        let truth: Vec<Tone> = rows.iter().map(|(tone, _)| *tone).collect();
        let evaluation = evaluate(&predicted, &truth);
        let reported = metrics["evaluations"][set]["all"]["accuracy"].as_f64().unwrap();
        // Batches grouped differently can move a borderline text by a rounding error: allow one.
        assert!(
            (evaluation.accuracy - reported).abs() <= 1.0 / size as f64 + 1e-9,
            "{set}: accuracy {} but the training report says {reported}",
            evaluation.accuracy
        );
        let vader_accuracy = vader["evaluations"][set]["all"]["accuracy"].as_f64().unwrap();
        if set == "social_eval" {
            assert!(evaluation.accuracy > vader_accuracy, "{set}: {} vs VADER {vader_accuracy}", evaluation.accuracy);
        }
    }
    assert!(metrics["evaluations"]["test"]["all"]["macro_f1"].as_f64().unwrap() > 0.7);
}

#[test]
fn plain_cases_get_the_obvious_tone_and_a_matching_signed_score() {
    let (embedder, head) = loaded();
    let tones = tone_of(
        &embedder,
        &head,
        &["This is wonderful, I loved every minute of it!", "An awful, miserable waste of time. I hated it."],
    );
    assert_eq!(tones[0].0, Tone::Positive);
    assert!(tones[0].1 > 0.3, "{tones:?}");
    assert_eq!(tones[1].0, Tone::Negative);
    assert!(tones[1].1 < -0.3, "{tones:?}");
}
