//! The shipped tone model: it loads from the binary, scores the social-style fixtures in
//! `tests/fixtures/sentiment/` as its training report says (and beats VADER on them), and gets
//! plain cases right, in English and other languages; its tuned layer computes what the
//! encoder's own layer computes; training learns and is deterministic; damaged weights are
//! refused plainly. Needs the encoder's weights (`cargo xtask models`).

use std::path::PathBuf;

use hearth_core::models::sentiment::{
    evaluate, prior_adjustment, with_prior_adjustment, Example, Tone, ToneModel, ToneTrainer, TrainingOptions,
};
use hearth_core::models::text::{cosine, Forward, TextEmbedder};
use hearth_core::models::{e5, Catalog};

use crate::embeddings_support::{models_dir, repo_root};

pub(crate) fn encoder_path() -> PathBuf {
    let catalog = Catalog::bundled().unwrap();
    let dir = catalog.model(e5::MODEL_ID).unwrap().installed_dir(&models_dir()).unwrap_or_else(|error| {
        panic!("{error}\n(the model tests need the weights: run `cargo xtask models` or `cargo xtask test`)")
    });
    dir.join(e5::FILE_NAME)
}

fn tone_of(model: &ToneModel, texts: &[&str]) -> Vec<(Tone, f32)> {
    model.classify(texts).unwrap().into_iter().map(|t| (t.label, t.score)).collect()
}

fn loaded() -> ToneModel {
    ToneModel::load(&encoder_path(), &candle_core::Device::Cpu).unwrap()
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
fn the_shipped_model_scores_the_social_sets_as_its_training_report_says_and_beats_vader_by_ten_points() {
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
        // Issue #3's goal: at least 10 points of accuracy above VADER on text unlike the training data.
        let vader_accuracy = vader["evaluations"][set]["all"]["accuracy"].as_f64().unwrap();
        assert!(
            evaluation.accuracy >= vader_accuracy + 0.10 - 1e-9,
            "{set}: {} vs VADER {vader_accuracy}",
            evaluation.accuracy
        );
    }
    assert!(metrics["evaluations"]["test"]["all"]["macro_f1"].as_f64().unwrap() > 0.7);
}

#[test]
fn the_shipped_logit_shift_is_the_one_its_training_report_chose() {
    let metrics = report("metrics.json");
    let counts =
        ["positive", "neutral", "negative"].map(|tone| metrics["train_counts"][tone].as_u64().unwrap() as usize);
    let chosen = &metrics["prior_adjustment"];
    let strength = chosen["strength"].as_f64().unwrap() as f32;
    let tried = chosen["accuracy_by_strength"].as_array().unwrap();
    let best = tried.iter().map(|row| row["accuracy"].as_f64().unwrap()).fold(f64::NEG_INFINITY, f64::max);
    let first_best = tried.iter().find(|row| row["accuracy"].as_f64().unwrap() == best).unwrap();
    assert_eq!(first_best["strength"].as_f64().unwrap() as f32, strength, "{chosen}");
    let bytes = std::fs::read(repo_root().join("models/sentiment/sentiment.safetensors")).unwrap();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu).unwrap();
    let shipped = tensors["prior_adjustment"].to_vec1::<f32>().unwrap();
    for ((shipped, expected), tone) in
        shipped.iter().zip(prior_adjustment(counts, strength)).zip(["positive", "neutral", "negative"])
    {
        assert!((shipped - expected).abs() < 1e-6, "{tone}: {shipped} vs {expected}");
        let reported = chosen["logit_shift"][tone].as_f64().unwrap() as f32;
        assert!((shipped - reported).abs() < 1e-6, "{tone}: {shipped} vs the report's {reported}");
    }
}

#[test]
fn plain_cases_get_the_obvious_tone_and_a_matching_signed_score() {
    let model = loaded();
    let texts = [
        "This is wonderful, I loved every minute of it!",
        "An awful, miserable waste of time. I hated it.",
        // The encoder reads about a hundred languages: German, Spanish, French.
        "Was für ein wunderschöner Tag, ich bin so glücklich!",
        "Qué desastre, el peor servicio que he tenido nunca.",
        "Le train part à 8 heures du quai 3.",
    ];
    let tones = tone_of(&model, &texts);
    let expected = [Tone::Positive, Tone::Negative, Tone::Positive, Tone::Negative, Tone::Neutral];
    for ((text, (tone, score)), want) in texts.iter().zip(&tones).zip(expected) {
        assert_eq!(*tone, want, "{text:?}: {tones:?}");
        match want {
            Tone::Positive => assert!(*score > 0.3, "{text:?}: {score}"),
            Tone::Negative => assert!(*score < -0.3, "{text:?}: {score}"),
            Tone::Neutral => {}
        }
    }
}

#[test]
fn the_tuned_layer_computes_what_the_encoders_own_layer_computes() {
    let path = encoder_path();
    let device = candle_core::Device::Cpu;
    // A tone model whose "tuned" layer is the encoder's own top layer: its pooled vector must be
    // the text's e5 embedding.
    let untrained = ToneTrainer::new(&path, 1, &device).unwrap().untrained_weights().unwrap();
    let model = ToneModel::from_weights(&path, &untrained, &device).unwrap();
    let encoder = TextEmbedder::load_e5(&path, &device, Forward::Packed).unwrap();
    // Lengths that differ a lot, so the padded batch masks most of the short texts' rows.
    let long = "The committee met on Tuesday to discuss the new bike lanes. ".repeat(12);
    let texts = ["ok", "The bus was late again this morning.", long.as_str(), "Ünïcödé and 中文 text 🎉", ""];
    let pooled = model.pooled(&texts).unwrap();
    let embedded = encoder.embed(&texts).unwrap();
    for ((text, tone_vector), embedding) in texts.iter().zip(&pooled).zip(&embedded) {
        let similarity = cosine(tone_vector, embedding);
        assert!(similarity > 0.99999, "{text:?}: cosine {similarity}");
        let largest = tone_vector.iter().zip(embedding).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        assert!(largest < 2e-4, "{text:?}: a component differs by {largest}");
    }
    // A head of zeros has no opinion.
    for tone in model.classify(&texts).unwrap() {
        assert!(tone.probabilities.iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-6), "{tone:?}");
    }
}

#[test]
fn damaged_tone_weights_are_refused_with_a_plain_error() {
    let path = encoder_path();
    let device = candle_core::Device::Cpu;
    let error = ToneModel::from_weights(&path, b"not a safetensors file", &device).unwrap_err();
    assert!(error.to_string().contains("sentiment weights cannot be read"), "{error}");
    let mut weights = ToneTrainer::new(&path, 1, &device).unwrap().untrained_weights().unwrap();
    weights.truncate(weights.len() / 2);
    let error = ToneModel::from_weights(&path, &weights, &device).unwrap_err();
    assert!(error.to_string().contains("sentiment weights cannot be read"), "{error}");
}

#[test]
fn training_learns_the_labels_and_is_deterministic() {
    let path = encoder_path();
    let device = candle_core::Device::Cpu;
    let trainer = ToneTrainer::new(&path, 1, &device).unwrap();
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
    let model = ToneModel::from_weights(&path, &trained.weights, &device).unwrap();
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

    // The prior adjustment shifts the logits and nothing else: its probabilities are the
    // unadjusted ones times e^shift, renormalised, on both paths.
    let shift = prior_adjustment([6, 1, 3], 1.0);
    let adjusted_weights = with_prior_adjustment(&trained.weights, shift).unwrap();
    let adjusted = ToneModel::from_weights(&path, &adjusted_weights, &device).unwrap();
    let packed = adjusted.classify(&texts).unwrap();
    let padded = adjusted.classify_states(&examples).unwrap();
    for (((text, before), packed), padded) in texts.iter().zip(&scored).zip(&packed).zip(&padded) {
        let raw: Vec<f32> = before.probabilities.iter().zip(shift).map(|(p, shift)| p * shift.exp()).collect();
        let total: f32 = raw.iter().sum();
        for ((expected, a), b) in raw.iter().zip(packed.probabilities).zip(padded.probabilities) {
            assert!((expected / total - a).abs() < 1e-4, "{text:?}: {before:?} then {packed:?}");
            assert!((a - b).abs() < 1e-4, "{text:?}: {packed:?} vs {padded:?}");
        }
    }
    // Setting the shift on a loaded model (how training tries strengths) gives the same numbers.
    let mut set = ToneModel::from_weights(&path, &trained.weights, &device).unwrap();
    set.set_prior_adjustment(shift).unwrap();
    for (loaded, set) in packed.iter().zip(set.classify(&texts).unwrap()) {
        assert_eq!(loaded.probabilities, set.probabilities);
    }
    // Neutral gains ln 6 on positive and ln 3 on negative: some text must visibly move.
    assert!(scored.iter().zip(&packed).any(|(before, after)| after.probabilities[1] > before.probabilities[1] + 0.05));
    // A zero shift gives back the trained model's numbers.
    let unshifted = with_prior_adjustment(&trained.weights, [0.0; 3]).unwrap();
    let same = ToneModel::from_weights(&path, &unshifted, &device).unwrap().classify(&texts).unwrap();
    for (before, after) in scored.iter().zip(&same) {
        assert_eq!(before.probabilities, after.probabilities);
    }
}
