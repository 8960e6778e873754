//! The shipped tone head: it loads from the binary, scores the fixed set of social posts in
//! `tests/fixtures/sentiment/fixed_set.tsv` exactly as its training report says, and gets
//! plain cases right. Needs the embedding model's weights (`cargo xtask models`).

use hearth_core::models::sentiment::{evaluate, SentimentHead, Tone};
use hearth_core::models::text::TextEmbedder;
use hearth_core::models::Catalog;

use crate::embeddings_support::{models_dir, repo_root};

fn tone_of(embedder: &TextEmbedder, head: &SentimentHead, texts: &[&str]) -> Vec<(Tone, f32)> {
    let device = candle_core::Device::Cpu;
    head.classify(&embedder.embed(texts).unwrap(), &device).unwrap().into_iter().map(|t| (t.label, t.score)).collect()
}

fn loaded() -> (TextEmbedder, SentimentHead) {
    let catalog = Catalog::bundled().unwrap();
    let dir = catalog.model("all-minilm-l6-v2").unwrap().installed_dir(&models_dir()).unwrap_or_else(|error| {
        panic!("{error}\n(the model tests need the weights: run `cargo xtask models` or `cargo xtask test`)")
    });
    let device = candle_core::Device::Cpu;
    (TextEmbedder::load(&dir, &device).unwrap(), SentimentHead::bundled(&device).unwrap())
}

#[test]
fn the_shipped_head_scores_the_fixed_set_as_its_training_report_says() {
    let (embedder, head) = loaded();
    let fixed = std::fs::read_to_string(repo_root().join("tests/fixtures/sentiment/fixed_set.tsv")).unwrap();
    let rows: Vec<(Tone, &str)> = fixed
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (label, text) = line.split_once('\t').unwrap();
            (Tone::parse(label).unwrap(), text)
        })
        .collect();
    assert_eq!(rows.len(), 45);
    let texts: Vec<&str> = rows.iter().map(|(_, text)| *text).collect();
    let predicted: Vec<Tone> = tone_of(&embedder, &head, &texts).into_iter().map(|(tone, _)| tone).collect();
    let truth: Vec<Tone> = rows.iter().map(|(tone, _)| *tone).collect();
    let evaluation = evaluate(&predicted, &truth);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("models/sentiment/metrics.json")).unwrap())
            .unwrap();
    let reported = report["fixed_set"]["accuracy"].as_f64().unwrap();
    assert!(
        (evaluation.accuracy - reported).abs() < 1e-9,
        "accuracy {} but the report says {reported}",
        evaluation.accuracy
    );
    assert!(evaluation.accuracy >= 0.6, "{evaluation:?}");
    assert!(report["test"]["macro_f1"].as_f64().unwrap() > 0.7);
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
