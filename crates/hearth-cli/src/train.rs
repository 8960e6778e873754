//! `hearth train-sentiment`: runs the labelled data through the tone encoder's lower layers,
//! fine-tunes its top layer(s) and trains the tone head over them (hearth-core's
//! `models::sentiment::ToneTrainer`), chooses how strongly to correct for the training data's
//! tone shares (`models::sentiment::prior_adjustment`), and writes the weights and a metrics
//! report.
//! `cargo xtask train sentiment` prepares the data and runs this.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use hearth_core::models::sentiment::{
    evaluate, prior_adjustment, with_prior_adjustment, Evaluation, Example, Tone, ToneModel, ToneTrainer,
    TrainingOptions,
};
use hearth_core::models::DeviceChoice;
use hearth_core::App;

/// One labelled text; `category` comes from a third column (`category<TAB>label<TAB>text`).
struct Labelled {
    category: Option<String>,
    tone: Tone,
    text: String,
}

/// `label<TAB>text` or `category<TAB>label<TAB>text` lines.
fn read_labelled(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    let text =
        std::fs::read_to_string(path).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            let (category, label, text) = match fields.as_slice() {
                [label, text] => (None, *label, *text),
                [category, label, text] => (Some((*category).to_owned()), *label, *text),
                _ => anyhow::bail!("{}:{}: expected [category<TAB>]label<TAB>text", path.display(), number + 1),
            };
            let tone = Tone::parse(label.trim())
                .ok_or_else(|| anyhow::anyhow!("{}:{}: unknown label {label:?}", path.display(), number + 1))?;
            Ok(Labelled { category, tone, text: text.trim().to_owned() })
        })
        .collect()
}

/// The first sentence of a long text (plot summaries teach "neutral" only for long texts otherwise).
fn first_sentence(text: &str) -> Option<&str> {
    let end = text.find(". ")?;
    let sentence = &text[..=end];
    (sentence.split_whitespace().count() >= 4).then_some(sentence)
}

/// The prior-adjustment strengths tried on the `adjust_on` set, from none to fully balanced.
const STRENGTHS: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Trains the tone model on `data/train.tsv` (model selection on `validation.tsv`; the prior
/// adjustment's strength, where `adjust_on` names a set, by accuracy on that set), scores
/// `test.tsv`, every `test-SOURCE.tsv` beside it and each `evaluation_sets` file (overall and,
/// where the file has a category column, per category), and writes the weights and
/// `metrics.json` to `out`.
pub fn train_sentiment(
    app: &App,
    data: &Path,
    out: &Path,
    evaluation_sets: &[std::path::PathBuf],
    select_on: Option<&Path>,
    adjust_on: Option<&Path>,
    options: TrainingOptions,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let device = DeviceChoice::Cpu.device()?;
    let encoder_path = app.tone_encoder_path()?;
    let trainer = ToneTrainer::new(&encoder_path, options.tuned_layers, &device)?;
    let mut texts_done = 0_usize;
    let mut embed = |rows: &[Labelled]| -> anyhow::Result<Vec<Example>> {
        let mut examples = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(512) {
            let texts: Vec<&str> = chunk.iter().map(|row| row.text.as_str()).collect();
            let states = trainer.lower_states(&texts)?;
            examples.extend(chunk.iter().zip(states).map(|(row, states)| Example { states, tone: row.tone }));
            texts_done += chunk.len();
            eprint!("\rthrough the lower layers: {texts_done} texts");
        }
        Ok(examples)
    };
    let mut train_rows = read_labelled(&data.join("train.tsv"))?;
    let extra_neutral: Vec<Labelled> = train_rows
        .iter()
        .filter(|row| row.tone == Tone::Neutral && row.text.split_whitespace().count() > 40)
        .filter_map(|row| {
            first_sentence(&row.text).map(|sentence| Labelled {
                category: None,
                tone: Tone::Neutral,
                text: sentence.to_owned(),
            })
        })
        .collect();
    train_rows.extend(extra_neutral);
    let validation_rows = read_labelled(&data.join("validation.tsv"))?;
    let selection_file = select_on.map_or_else(|| data.join("validation.tsv"), Path::to_path_buf);
    let selection_rows = read_labelled(&selection_file)?;
    let adjustment_rows = adjust_on.map(read_labelled).transpose()?;
    let mut test_sets = vec![("test".to_owned(), read_labelled(&data.join("test.tsv"))?)];
    let mut source_tests: Vec<std::path::PathBuf> = std::fs::read_dir(data)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("test-") && name.ends_with(".tsv"))
        })
        .collect();
    source_tests.sort();
    for path in source_tests.iter().chain(evaluation_sets) {
        let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("set").to_owned();
        test_sets.push((name, read_labelled(path)?));
    }
    let train_examples = embed(&train_rows)?;
    let validation_examples = embed(&validation_rows)?;
    let selection_examples = embed(&selection_rows)?;
    let adjustment_examples = adjustment_rows.as_deref().map(&mut embed).transpose()?;
    let test_examples: Vec<Vec<Example>> =
        test_sets.iter().map(|(_, rows)| embed(rows)).collect::<anyhow::Result<_>>()?;
    eprintln!();
    let embedding_seconds = started.elapsed().as_secs_f64();

    // Square root of inverse class frequency, scaled to average 1.
    let counts = Tone::ALL.map(|tone| train_examples.iter().filter(|example| example.tone == tone).count());
    let raw: Vec<f32> =
        counts.iter().map(|&count| (train_examples.len() as f32 / count.max(1) as f32).sqrt()).collect();
    let mean = raw.iter().sum::<f32>() / 3.0;
    let options = TrainingOptions { class_weights: [raw[0] / mean, raw[1] / mean, raw[2] / mean], ..options };
    let mut last_report = Instant::now();
    let trained = trainer.train(&train_examples, &selection_examples, &options, &mut |epoch, done, total, loss| {
        if done == total || last_report.elapsed().as_secs() >= 5 {
            eprint!("\repoch {epoch}: {done} of {total} batches, loss {loss:.4}   ");
            last_report = Instant::now();
        }
        if done == total {
            eprintln!();
        }
    })?;
    let mut model = ToneModel::from_weights(&encoder_path, &trained.weights, &device)?;
    let score_with = |model: &ToneModel, examples: &[Example]| -> anyhow::Result<Evaluation> {
        let predicted: Vec<Tone> = model.classify_states(examples)?.into_iter().map(|score| score.label).collect();
        let truth: Vec<Tone> = examples.iter().map(|example| example.tone).collect();
        Ok(evaluate(&predicted, &truth))
    };
    // Each strength on the adjustment set; the most accurate is kept (the weaker on a tie).
    let mut tried: Vec<(f32, Evaluation)> = Vec::new();
    if let Some(examples) = &adjustment_examples {
        for strength in STRENGTHS {
            model.set_prior_adjustment(prior_adjustment(counts, strength))?;
            tried.push((strength, score_with(&model, examples)?));
        }
    }
    let mut strength = 0.0;
    let mut best_accuracy = f64::NEG_INFINITY;
    for (candidate, evaluation) in &tried {
        if evaluation.accuracy > best_accuracy {
            (strength, best_accuracy) = (*candidate, evaluation.accuracy);
        }
    }
    let adjustment = prior_adjustment(counts, strength);
    let weights = with_prior_adjustment(&trained.weights, adjustment)?;
    model.set_prior_adjustment(adjustment)?;
    let score = |examples: &[Example]| score_with(&model, examples);
    // Each evaluation set overall, and per category where it has them.
    let mut evaluations = BTreeMap::new();
    for ((name, rows), examples) in test_sets.iter().zip(&test_examples) {
        let mut categories = BTreeMap::new();
        let mut names: Vec<&str> = rows.iter().filter_map(|row| row.category.as_deref()).collect();
        names.sort_unstable();
        names.dedup();
        for category in names {
            let subset: Vec<Example> = rows
                .iter()
                .zip(examples)
                .filter(|(row, _)| row.category.as_deref() == Some(category))
                .map(|(_, example)| example.clone())
                .collect();
            categories.insert(category.to_owned(), score(&subset)?);
        }
        evaluations.insert(
            name.clone(),
            serde_json::json!({ "all": score(examples)?, "by_category": (!categories.is_empty()).then_some(categories) }),
        );
    }
    let report = serde_json::json!({
        "model_id": hearth_core::models::sentiment::MODEL_ID,
        "model_version": hearth_core::models::sentiment::MODEL_VERSION,
        "encoder": hearth_core::models::e5::MODEL_ID,
        "architecture": format!(
            "{} of the encoder's top layers fine-tuned (f16), mean pooling, unit length, 384 -> 128 (ReLU) -> 3, plus the prior adjustment, softmax; labels positive, neutral, negative",
            options.tuned_layers
        ),
        "command": "cargo xtask train sentiment",
        "options": options,
        "train_examples": train_examples.len(),
        "train_counts": { "positive": counts[0], "neutral": counts[1], "negative": counts[2] },
        "prior_adjustment": {
            "formula": "logit[tone] += -strength * ln(train share of tone)",
            "chosen_on": adjust_on.map(|path| path.strip_prefix(std::env::current_dir().unwrap_or_default()).unwrap_or(path)),
            "strength": strength,
            "logit_shift": { "positive": adjustment[0], "neutral": adjustment[1], "negative": adjustment[2] },
            "accuracy_by_strength": tried
                .iter()
                .map(|(strength, evaluation)| serde_json::json!({ "strength": strength, "accuracy": evaluation.accuracy, "macro_f1": evaluation.macro_f1 }))
                .collect::<Vec<_>>(),
        },
        "best_epoch": trained.best_epoch,
        "epoch_selected_on": selection_file.strip_prefix(std::env::current_dir()?).unwrap_or(&selection_file),
        "selection_macro_f1_by_epoch": trained.selection_macro_f1_by_epoch,
        "train": score(&train_examples)?,
        "validation": score(&validation_examples)?,
        "evaluations": evaluations,
        "seconds": { "lower_layers": embedding_seconds, "total": started.elapsed().as_secs_f64() },
    });
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("sentiment.safetensors"), &weights)?;
    std::fs::write(out.join("metrics.json"), serde_json::to_string_pretty(&report)? + "\n")?;
    println!(
        "best epoch {}: test accuracy {:.4}, macro-F1 {:.4}; wrote {}",
        trained.best_epoch,
        report["evaluations"]["test"]["all"]["accuracy"].as_f64().unwrap_or(0.0),
        report["evaluations"]["test"]["all"]["macro_f1"].as_f64().unwrap_or(0.0),
        out.display()
    );
    Ok(())
}
