//! `hearth train-sentiment`: embeds the labelled data with the on-device sentence model, trains
//! the tone head (hearth-core's `models::sentiment::train`), and writes the weights and a
//! metrics report. `cargo xtask train sentiment` prepares the data and runs this.

use std::path::Path;
use std::time::Instant;

use hearth_core::models::sentiment::{evaluate, train, Example, SentimentHead, Tone, TrainingOptions};
use hearth_core::models::DeviceChoice;
use hearth_core::App;

/// `label<TAB>text` lines.
fn read_labelled(path: &Path) -> anyhow::Result<Vec<(Tone, String)>> {
    let text =
        std::fs::read_to_string(path).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            let (label, text) = line
                .split_once('\t')
                .ok_or_else(|| anyhow::anyhow!("{}:{}: expected label<TAB>text", path.display(), number + 1))?;
            let tone = Tone::parse(label.trim())
                .ok_or_else(|| anyhow::anyhow!("{}:{}: unknown label {label:?}", path.display(), number + 1))?;
            Ok((tone, text.trim().to_owned()))
        })
        .collect()
}

/// The first sentence of a long text (plot summaries teach "neutral" only for long texts otherwise).
fn first_sentence(text: &str) -> Option<&str> {
    let end = text.find(". ")?;
    let sentence = &text[..=end];
    (sentence.split_whitespace().count() >= 4).then_some(sentence)
}

pub fn train_sentiment(app: &App, data: &Path, out: &Path, fixed_set: Option<&Path>) -> anyhow::Result<()> {
    let started = Instant::now();
    let device = DeviceChoice::Cpu.device()?;
    let embedder = app.text_embedder(DeviceChoice::Cpu)?;
    let embed = |rows: &[(Tone, String)]| -> anyhow::Result<Vec<Example>> {
        let texts: Vec<&str> = rows.iter().map(|(_, text)| text.as_str()).collect();
        let mut examples = Vec::with_capacity(rows.len());
        for (chunk_rows, chunk_texts) in rows.chunks(512).zip(texts.chunks(512)) {
            for ((tone, _), embedding) in chunk_rows.iter().zip(embedder.embed(chunk_texts)?) {
                examples.push(Example { embedding, tone: *tone });
            }
            eprint!("\rembedded {} of {}", examples.len(), rows.len());
        }
        eprintln!();
        Ok(examples)
    };
    let mut train_rows = read_labelled(&data.join("train.tsv"))?;
    let extra_neutral: Vec<(Tone, String)> = train_rows
        .iter()
        .filter(|(tone, _)| *tone == Tone::Neutral)
        .filter_map(|(_, text)| first_sentence(text).map(|sentence| (Tone::Neutral, sentence.to_owned())))
        .collect();
    train_rows.extend(extra_neutral);
    let validation_rows = read_labelled(&data.join("validation.tsv"))?;
    let test_rows = read_labelled(&data.join("test.tsv"))?;
    let train_examples = embed(&train_rows)?;
    let validation_examples = embed(&validation_rows)?;
    let test_examples = embed(&test_rows)?;
    let embedding_seconds = started.elapsed().as_secs_f64();

    // Square root of inverse class frequency, scaled to average 1.
    let counts: Vec<f32> = Tone::ALL
        .iter()
        .map(|tone| train_examples.iter().filter(|example| example.tone == *tone).count().max(1) as f32)
        .collect();
    let raw: Vec<f32> = counts.iter().map(|count| (train_examples.len() as f32 / count).sqrt()).collect();
    let mean = raw.iter().sum::<f32>() / 3.0;
    let options =
        TrainingOptions { class_weights: [raw[0] / mean, raw[1] / mean, raw[2] / mean], ..TrainingOptions::default() };
    let trained = train(&train_examples, &validation_examples, &options, &device)?;
    let head = SentimentHead::from_safetensors(&trained.weights, &device)?;
    let score = |examples: &[Example]| -> anyhow::Result<hearth_core::models::sentiment::Evaluation> {
        let embeddings: Vec<Vec<f32>> = examples.iter().map(|example| example.embedding.clone()).collect();
        let predicted: Vec<Tone> = head.classify(&embeddings, &device)?.into_iter().map(|tone| tone.label).collect();
        let truth: Vec<Tone> = examples.iter().map(|example| example.tone).collect();
        Ok(evaluate(&predicted, &truth))
    };
    let fixed = match fixed_set {
        Some(path) => Some(score(&embed(&read_labelled(path)?)?)?),
        None => None,
    };
    let report = serde_json::json!({
        "model_id": hearth_core::models::sentiment::MODEL_ID,
        "model_version": hearth_core::models::sentiment::MODEL_VERSION,
        "embedding_model": hearth_core::app::TEXT_EMBEDDING_MODEL,
        "architecture": "384 -> 128 (ReLU) -> 3, softmax; labels positive, neutral, negative",
        "command": "cargo xtask train sentiment",
        "options": options,
        "train_examples": train_examples.len(),
        "train_counts": { "positive": counts[0], "neutral": counts[1], "negative": counts[2] },
        "best_epoch": trained.best_epoch,
        "validation_macro_f1_by_epoch": trained.validation_macro_f1_by_epoch,
        "train": score(&train_examples)?,
        "validation": score(&validation_examples)?,
        "test": score(&test_examples)?,
        "fixed_set": fixed,
        "seconds": { "embedding": embedding_seconds, "total": started.elapsed().as_secs_f64() },
    });
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("sentiment-head.safetensors"), &trained.weights)?;
    std::fs::write(out.join("metrics.json"), serde_json::to_string_pretty(&report)? + "\n")?;
    println!(
        "best epoch {}: test accuracy {:.4}, macro-F1 {:.4}; wrote {}",
        trained.best_epoch,
        report["test"]["accuracy"].as_f64().unwrap_or(0.0),
        report["test"]["macro_f1"].as_f64().unwrap_or(0.0),
        out.display()
    );
    Ok(())
}
