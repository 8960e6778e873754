//! The shipped tone model: it loads from the binary, scores the social-style fixtures in
//! `tests/fixtures/sentiment/` as its training report says (and the 240-post set better than
//! VADER), and gets plain cases right; its tuned layers compute what the embedding model's own
//! layers compute; training learns and is deterministic; damaged weights are refused plainly.
//! Needs the embedding model's weights (`cargo xtask models`).

use std::collections::HashMap;
use std::path::PathBuf;

use hearth_core::models::sentiment::{evaluate, Example, Tone, ToneModel, ToneTrainer, TrainingOptions};
use hearth_core::models::text::{cosine, TextEmbedder};
use hearth_core::models::Catalog;

use crate::embeddings_support::{models_dir, repo_root};

fn embedding_dir() -> PathBuf {
    let catalog = Catalog::bundled().unwrap();
    catalog.model("all-minilm-l6-v2").unwrap().installed_dir(&models_dir()).unwrap_or_else(|error| {
        panic!("{error}\n(the model tests need the weights: run `cargo xtask models` or `cargo xtask test`)")
    })
}

fn tone_of(model: &ToneModel, texts: &[&str]) -> Vec<(Tone, f32)> {
    model.classify(texts).unwrap().into_iter().map(|t| (t.label, t.score)).collect()
}

fn loaded() -> ToneModel {
    ToneModel::load(&embedding_dir(), &candle_core::Device::Cpu).unwrap()
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
fn the_shipped_model_scores_the_social_sets_as_its_training_report_says_and_beats_vader() {
    let model = loaded();
    let metrics = report("metrics.json");
    let vader = report("vader_baseline.json");
    for (file, set, size) in [("fixed_set.tsv", "fixed_set", 45), ("social_eval.tsv", "social_eval", 240)] {
        let rows = labelled(file);
        assert_eq!(rows.len(), size);
        let texts: Vec<&str> = rows.iter().map(|(_, text)| text.as_str()).collect();
        let predicted: Vec<Tone> = tone_of(&model, &texts).into_iter().map(|(tone, _)| tone).collect();
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
    let model = loaded();
    let tones = tone_of(
        &model,
        &["This is wonderful, I loved every minute of it!", "An awful, miserable waste of time. I hated it."],
    );
    assert_eq!(tones[0].0, Tone::Positive);
    assert!(tones[0].1 > 0.3, "{tones:?}");
    assert_eq!(tones[1].0, Tone::Negative);
    assert!(tones[1].1 < -0.3, "{tones:?}");
}

/// A tone weights file whose tuned layer is the embedding model's own last layer (so the tone
/// model's pooled vector must be the embedding), with a head of zeros.
fn weights_with_the_models_own_top_layer(dir: &std::path::Path) -> Vec<u8> {
    let device = candle_core::Device::Cpu;
    let all = candle_core::safetensors::load(dir.join("model.safetensors"), &device).unwrap();
    let mut tensors: HashMap<String, candle_core::Tensor> = all
        .into_iter()
        .filter_map(|(name, tensor)| Some((format!("layers.0.{}", name.strip_prefix("encoder.layer.5.")?), tensor)))
        .collect();
    assert_eq!(tensors.len(), 16, "BERT layers have 16 tensors");
    for (name, shape) in [
        ("hidden.weight", &[128, 384][..]),
        ("hidden.bias", &[128]),
        ("output.weight", &[3, 128]),
        ("output.bias", &[3]),
    ] {
        tensors.insert(name.into(), candle_core::Tensor::zeros(shape, candle_core::DType::F32, &device).unwrap());
    }
    let path = tempfile::tempdir().unwrap().keep().join("tone.safetensors");
    candle_core::safetensors::save(&tensors, &path).unwrap();
    std::fs::read(&path).unwrap()
}

#[test]
fn the_tuned_layers_compute_what_the_embedding_models_own_layers_compute() {
    let dir = embedding_dir();
    let device = candle_core::Device::Cpu;
    let model = ToneModel::from_weights(&dir, &weights_with_the_models_own_top_layer(&dir), &device).unwrap();
    let embedder = TextEmbedder::load(&dir, &device).unwrap();
    // Lengths that differ a lot, so the padded batch masks most of the short texts' rows.
    let long = "The committee met on Tuesday to discuss the new bike lanes. ".repeat(12);
    let texts = ["ok", "The bus was late again this morning.", long.as_str(), "Ünïcödé and 中文 text", ""];
    let pooled = model.pooled(&texts).unwrap();
    let embedded = embedder.embed(&texts).unwrap();
    for ((text, tone_vector), embedding) in texts.iter().zip(&pooled).zip(&embedded) {
        let similarity = cosine(tone_vector, embedding);
        assert!(similarity > 0.99999, "{text:?}: cosine {similarity}");
        let largest = tone_vector.iter().zip(embedding).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        assert!(largest < 2e-4, "{text:?}: a component differs by {largest}");
    }
}

#[test]
fn damaged_tone_weights_are_refused_with_a_plain_error() {
    let dir = embedding_dir();
    let device = candle_core::Device::Cpu;
    let error = ToneModel::from_weights(&dir, b"not a safetensors file", &device).unwrap_err();
    assert!(error.to_string().contains("sentiment weights cannot be read"), "{error}");
    let mut weights = weights_with_the_models_own_top_layer(&dir);
    weights.truncate(weights.len() / 2);
    let error = ToneModel::from_weights(&dir, &weights, &device).unwrap_err();
    assert!(error.to_string().contains("sentiment weights cannot be read"), "{error}");
}

#[test]
fn training_learns_the_labels_and_is_deterministic() {
    let dir = embedding_dir();
    let device = candle_core::Device::Cpu;
    let trainer = ToneTrainer::new(&dir, 1, &device).unwrap();
    let rows = [
        (Tone::Positive, "I love this, what a wonderful day"),
        (Tone::Positive, "Best meal I have had in years, thank you!"),
        (Tone::Positive, "So happy with how the garden turned out"),
        (Tone::Positive, "great news, we won 🎉"),
        (Tone::Neutral, "The meeting is at 3pm in room 4"),
        (Tone::Neutral, "The library opens at nine on Saturdays"),
        (Tone::Neutral, "Bus 12 now stops at the station"),
        (Tone::Neutral, "Season two is out on Friday"),
        (Tone::Negative, "This is awful, I hate waiting all day"),
        (Tone::Negative, "Worst service ever, never again"),
        (Tone::Negative, "My phone broke and the repair failed 😡"),
        (Tone::Negative, "so sad and tired of this miserable rain"),
    ];
    let texts: Vec<&str> = rows.iter().map(|(_, text)| *text).collect();
    let examples: Vec<Example> = trainer
        .lower_states(&texts)
        .unwrap()
        .into_iter()
        .zip(&rows)
        .map(|(states, (tone, _))| Example { states, tone: *tone })
        .collect();
    let options = TrainingOptions {
        epochs: 6,
        batch_size: 4,
        layer_learning_rate: 1e-4,
        head_learning_rate: 1e-2,
        ..TrainingOptions::default()
    };
    let trained = trainer.train(&examples, &examples, &options, &mut |_, _, _, _| {}).unwrap();
    let again = trainer.train(&examples, &examples, &options, &mut |_, _, _, _| {}).unwrap();
    assert_eq!(trained.weights, again.weights, "the same seed and data give the same weights");
    let model = ToneModel::from_weights(&dir, &trained.weights, &device).unwrap();
    let scored = model.classify(&texts).unwrap();
    let predicted: Vec<Tone> = scored.iter().map(|tone| tone.label).collect();
    let truth: Vec<Tone> = rows.iter().map(|(tone, _)| *tone).collect();
    let evaluation = evaluate(&predicted, &truth);
    assert!(evaluation.accuracy >= 11.0 / 12.0, "{:?}", evaluation.confusion);
    // In use the CPU runs the tuned layer packed; training runs it padded: the same numbers.
    for ((text, packed), padded) in texts.iter().zip(&scored).zip(model.classify_states(&examples).unwrap()) {
        for (a, b) in packed.probabilities.iter().zip(padded.probabilities) {
            assert!((a - b).abs() < 1e-4, "{text:?}: {packed:?} vs {padded:?}");
        }
    }
}

#[test]
fn lower_layer_states_agree_between_the_packed_and_the_padded_forward_pass() {
    // The tone model reads these states on the CPU from the packed encoder and on a GPU from
    // candle-transformers' BERT: both must give the same states for each text.
    use hearth_core::models::text::Forward;
    let dir = embedding_dir();
    let device = candle_core::Device::Cpu;
    let packed = TextEmbedder::load_layers(&dir, &device, Forward::Packed, Some(5)).unwrap();
    let padded = TextEmbedder::load_layers(&dir, &device, Forward::Padded, Some(5)).unwrap();
    let texts = ["short", "a somewhat longer sentence about the weather in leeds today", "🙂 (slightly smiling face)"];
    let (a, b) = (packed.token_states(&texts).unwrap(), padded.token_states(&texts).unwrap());
    for ((text, a), b) in texts.iter().zip(&a).zip(&b) {
        assert_eq!(a.len(), b.len(), "{text:?}: token counts differ");
        assert_eq!(a.len() % 384, 0);
        let largest = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0_f32, f32::max);
        assert!(largest < 1e-3, "{text:?}: a state differs by {largest}");
    }
}

#[test]
fn embedding_and_tone_together_give_what_each_gives_alone() {
    // The enrichment pipeline runs the shared lower layers once for both; texts with emoji
    // (read with the emoji spelled out) take a tone pass of their own.
    let dir = embedding_dir();
    let device = candle_core::Device::Cpu;
    let (model, embedder) = (loaded(), TextEmbedder::load(&dir, &device).unwrap());
    let texts = [
        "the bus was late again and i missed the start of the film",
        "new plant baby 🌱💚",
        "ok",
        "Absolutely loved the concert last night",
        "",
        "meeting moved to 7am 😭",
    ];
    // On the CPU the embedding pass keeps the states after the shared layers, and they are the
    // states a model of only those layers gives (otherwise nothing is shared).
    use hearth_core::models::text::Forward;
    let lower = TextEmbedder::load_layers(&dir, &device, Forward::Packed, Some(5)).unwrap();
    for ((text, (_, kept)), alone) in
        texts.iter().zip(embedder.embed_keeping(&texts, 5).unwrap()).zip(lower.token_states(&texts).unwrap())
    {
        let kept = kept.unwrap_or_else(|| panic!("{text:?}: no states kept"));
        assert_eq!(kept.len(), alone.len(), "{text:?}");
        assert!(kept.iter().zip(&alone).all(|(a, b)| (a - b).abs() < 1e-5), "{text:?}: kept states differ");
    }
    let (vectors, tones) = hearth_core::models::sentiment::embed_and_classify(&embedder, &model, &texts).unwrap();
    let (alone_vectors, alone_tones) = (embedder.embed(&texts).unwrap(), model.classify(&texts).unwrap());
    for (index, text) in texts.iter().enumerate() {
        assert!(cosine(&vectors[index], &alone_vectors[index]) > 0.99999, "{text:?}: embeddings differ");
        assert_eq!(tones[index].label, alone_tones[index].label, "{text:?}");
        for (together, alone) in tones[index].probabilities.iter().zip(alone_tones[index].probabilities) {
            assert!((together - alone).abs() < 1e-4, "{text:?}: {:?} vs {alone_tones:?}", tones[index]);
        }
    }
}
