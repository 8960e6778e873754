//! Tone: positive / neutral / negative for any text, from a small classifier head (one hidden
//! layer) over the sentence embedding of the text with its emoji spelled out (`tone_text`). The head is trained by `hearth
//! train-sentiment` (run by `cargo xtask train sentiment`) with candle-nn, deterministically
//! from a fixed seed, and its weights (about 200 KB) ship inside the binary with their metrics
//! in `models/sentiment/`.

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{Linear, Module, Optimizer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::text::TextEmbedder;
use crate::random::SplitMix64;

/// Bumped whenever the shipped head is retrained; stored with every tone enrichment.
pub const MODEL_VERSION: &str = "2";
pub const MODEL_ID: &str = "hearth-sentiment-head";
const HIDDEN: usize = 128;
const INPUT: usize = super::text::DIMENSION;
const BUNDLED_WEIGHTS: &[u8] = include_bytes!("../../../../models/sentiment/sentiment-head.safetensors");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Positive,
    Neutral,
    Negative,
}

impl Tone {
    pub const ALL: [Tone; 3] = [Tone::Positive, Tone::Neutral, Tone::Negative];

    pub fn index(self) -> usize {
        match self {
            Self::Positive => 0,
            Self::Neutral => 1,
            Self::Negative => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Positive => "positive",
            Self::Neutral => "neutral",
            Self::Negative => "negative",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tone| tone.as_str() == text)
    }
}

/// The tone of one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ToneScore {
    pub label: Tone,
    /// Signed polarity in [-1, 1]: P(positive) − P(negative); ≥ 0 leans positive.
    pub score: f32,
    /// P(positive), P(neutral), P(negative).
    pub probabilities: [f32; 3],
}

/// The classifier head: 384 → 128 (ReLU) → 3.
pub struct SentimentHead {
    hidden: Linear,
    output: Linear,
}

impl std::fmt::Debug for SentimentHead {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SentimentHead").finish_non_exhaustive()
    }
}

fn candle(what: &'static str) -> impl Fn(candle_core::Error) -> Error {
    move |error| Error::Internal(format!("{what}: {error}"))
}

impl SentimentHead {
    /// The head shipped inside this binary.
    pub fn bundled(device: &Device) -> Result<Self> {
        Self::from_safetensors(BUNDLED_WEIGHTS, device)
    }

    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|error| Error::Internal(format!("the sentiment weights cannot be read: {error}")))?;
        let get = |name: &str| {
            tensors.get(name).cloned().ok_or_else(|| Error::Internal(format!("the sentiment weights lack {name}")))
        };
        let head = Self {
            hidden: Linear::new(get("hidden.weight")?, Some(get("hidden.bias")?)),
            output: Linear::new(get("output.weight")?, Some(get("output.bias")?)),
        };
        let probe = Tensor::zeros((1, INPUT), DType::F32, device).map_err(candle("probe"))?;
        head.logits(&probe).map_err(|_| Error::Internal("the sentiment weights have the wrong shapes".into()))?;
        Ok(head)
    }

    fn logits(&self, embeddings: &Tensor) -> candle_core::Result<Tensor> {
        self.output.forward(&self.hidden.forward(embeddings)?.relu()?)
    }

    /// Tones of a batch of unit-length sentence embeddings.
    pub fn classify(&self, embeddings: &[Vec<f32>], device: &Device) -> Result<Vec<ToneScore>> {
        if embeddings.is_empty() {
            return Ok(Vec::new());
        }
        let flat: Vec<f32> = embeddings.iter().flatten().copied().collect();
        if flat.len() != embeddings.len() * INPUT {
            return Err(Error::invalid(format!("sentiment needs {INPUT}-dimensional embeddings")));
        }
        let input = Tensor::from_vec(flat, (embeddings.len(), INPUT), device).map_err(candle("input"))?;
        let probabilities = self
            .logits(&input)
            .and_then(|logits| candle_nn::ops::softmax(&logits, D::Minus1))
            .and_then(|probabilities| probabilities.to_vec2::<f32>())
            .map_err(candle("the sentiment head failed"))?;
        Ok(probabilities
            .into_iter()
            .map(|p| {
                let probabilities = [p[0], p[1], p[2]];
                let best = (0..3).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b])).unwrap_or(1);
                ToneScore { label: Tone::ALL[best], score: probabilities[0] - probabilities[2], probabilities }
            })
            .collect())
    }
}

/// The longest emoji sequence `tone_text` looks for, in chars (a family with skin tones).
const LONGEST_EMOJI: usize = 10;

/// The text the tone head reads: `text` with every emoji replaced by its Unicode name ("bus is
/// late again 🙄" reads "bus is late again (face with rolling eyes)"). The embedding model's
/// vocabulary has no emoji — it reads each as one unknown token — so without this a post whose
/// feeling is in its emoji looks neutral. Skin tones are dropped; text without emoji is returned
/// as it is.
pub fn tone_text(text: &str) -> std::borrow::Cow<'_, str> {
    // ASCII characters that are also emoji (digits, #, *) stay as they are, so ASCII text
    // (most posts) needs no look-ups at all.
    if text.is_ascii() {
        return std::borrow::Cow::Borrowed(text);
    }
    let starts: Vec<usize> = text.char_indices().map(|(index, _)| index).chain([text.len()]).collect();
    let mut spelled = String::new();
    let mut copied_to = 0;
    let mut position = 0;
    while position + 1 < starts.len() {
        if text.as_bytes()[starts[position]].is_ascii() {
            position += 1;
            continue;
        }
        let longest = (starts.len() - 1 - position).min(LONGEST_EMOJI);
        let found = (1..=longest).rev().find_map(|length| {
            emojis::get(&text[starts[position]..starts[position + length]]).map(|emoji| (length, emoji))
        });
        match found {
            Some((length, emoji)) => {
                spelled.push_str(&text[copied_to..starts[position]]);
                let name: Vec<&str> = emoji.name().split(": ").filter(|part| !part.contains("skin tone")).collect();
                spelled.push_str(&format!(" ({}) ", name.join(" ")));
                position += length;
                copied_to = starts[position];
            }
            None => position += 1,
        }
    }
    if copied_to == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    spelled.push_str(&text[copied_to..]);
    std::borrow::Cow::Owned(spelled.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Tones of `texts`, given the embeddings of the texts as written (`embeddings`, which are what
/// is stored for search and ranking): a text with emoji is embedded again as its `tone_text`.
pub fn classify_texts(
    head: &SentimentHead,
    embedder: &TextEmbedder,
    texts: &[&str],
    embeddings: &[Vec<f32>],
    device: &Device,
) -> Result<Vec<ToneScore>> {
    let spelled: Vec<(usize, String)> = texts
        .iter()
        .enumerate()
        .filter_map(|(index, text)| match tone_text(text) {
            std::borrow::Cow::Owned(spelled) => Some((index, spelled)),
            std::borrow::Cow::Borrowed(_) => None,
        })
        .collect();
    let mut inputs = embeddings.to_vec();
    let respelled: Vec<&str> = spelled.iter().map(|(_, text)| text.as_str()).collect();
    for ((index, _), vector) in spelled.iter().zip(embedder.embed(&respelled)?) {
        inputs[*index] = vector;
    }
    head.classify(&inputs, device)
}

// ----- training -----

/// One labelled example, already embedded.
#[derive(Debug, Clone)]
pub struct Example {
    pub embedding: Vec<f32>,
    pub tone: Tone,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingOptions {
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Loss weight per class (positive, neutral, negative).
    pub class_weights: [f32; 3],
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            seed: 20_261_122,
            epochs: 40,
            batch_size: 128,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            class_weights: [1.0, 1.0, 1.0],
        }
    }
}

/// Accuracy, macro-F1, per-class F1 and the confusion matrix (rows: truth; columns: prediction).
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub f1: [f64; 3],
    pub precision: [f64; 3],
    pub recall: [f64; 3],
    pub confusion: [[usize; 3]; 3],
}

pub fn evaluate(predicted: &[Tone], truth: &[Tone]) -> Evaluation {
    let mut confusion = [[0_usize; 3]; 3];
    for (predicted, truth) in predicted.iter().zip(truth) {
        confusion[truth.index()][predicted.index()] += 1;
    }
    let ratio = |numerator: usize, denominator: usize| {
        if denominator == 0 {
            0.0
        } else {
            numerator as f64 / denominator as f64
        }
    };
    let mut precision = [0.0; 3];
    let mut recall = [0.0; 3];
    let mut f1 = [0.0; 3];
    for class in 0..3 {
        let true_positive = confusion[class][class];
        precision[class] = ratio(true_positive, (0..3).map(|row| confusion[row][class]).sum());
        recall[class] = ratio(true_positive, confusion[class].iter().sum());
        let sum = precision[class] + recall[class];
        f1[class] = if sum == 0.0 { 0.0 } else { 2.0 * precision[class] * recall[class] / sum };
    }
    Evaluation {
        examples: truth.len(),
        accuracy: ratio((0..3).map(|class| confusion[class][class]).sum(), truth.len()),
        macro_f1: f1.iter().sum::<f64>() / 3.0,
        f1,
        precision,
        recall,
        confusion,
    }
}

/// A trained head and how it did on the selection set, epoch by epoch.
pub struct Trained {
    pub weights: Vec<u8>,
    pub best_epoch: usize,
    pub selection_macro_f1_by_epoch: Vec<f64>,
}

/// Trains the head on `train`, keeping the epoch with the best macro-F1 on `selection`.
pub fn train(train: &[Example], selection: &[Example], options: &TrainingOptions, device: &Device) -> Result<Trained> {
    let mut random = SplitMix64(options.seed);
    // Kaiming-uniform-style initialisation from our own generator.
    let mut uniform = |rows: usize, columns: usize, bound: f32| -> Result<Var> {
        let values: Vec<f32> = (0..rows * columns).map(|_| random.symmetric() * bound).collect();
        Var::from_tensor(&Tensor::from_vec(values, (rows, columns), device).map_err(candle("init"))?)
            .map_err(candle("init"))
    };
    let hidden_weight = uniform(HIDDEN, INPUT, (1.0 / INPUT as f32).sqrt())?;
    let hidden_bias = Var::zeros(HIDDEN, DType::F32, device).map_err(candle("init"))?;
    let output_weight = uniform(3, HIDDEN, (1.0 / HIDDEN as f32).sqrt())?;
    let output_bias = Var::zeros(3, DType::F32, device).map_err(candle("init"))?;
    let variables = [hidden_weight.clone(), hidden_bias.clone(), output_weight.clone(), output_bias.clone()];
    let mut optimiser = candle_nn::AdamW::new(
        variables.to_vec(),
        candle_nn::ParamsAdamW { lr: options.learning_rate, weight_decay: options.weight_decay, ..Default::default() },
    )
    .map_err(candle("optimiser"))?;
    let class_weights = Tensor::new(&options.class_weights, device).map_err(candle("weights"))?;
    let head = |variables: &[Var; 4]| SentimentHead {
        hidden: Linear::new(variables[0].as_tensor().clone(), Some(variables[1].as_tensor().clone())),
        output: Linear::new(variables[2].as_tensor().clone(), Some(variables[3].as_tensor().clone())),
    };
    let selection_embeddings: Vec<Vec<f32>> = selection.iter().map(|example| example.embedding.clone()).collect();
    let selection_truth: Vec<Tone> = selection.iter().map(|example| example.tone).collect();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut best: Option<(f64, usize, Vec<u8>)> = None;
    let mut by_epoch = Vec::new();
    for epoch in 1..=options.epochs {
        random.shuffle(&mut order);
        for batch in order.chunks(options.batch_size) {
            let inputs: Vec<f32> = batch.iter().flat_map(|&index| train[index].embedding.iter().copied()).collect();
            let targets: Vec<u32> = batch.iter().map(|&index| train[index].tone.index() as u32).collect();
            let step = || -> candle_core::Result<Tensor> {
                let inputs = Tensor::from_vec(inputs, (batch.len(), INPUT), device)?;
                let targets = Tensor::from_vec(targets, batch.len(), device)?;
                let logits = head(&variables).logits(&inputs)?;
                let log_probabilities = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
                let picked = log_probabilities.gather(&targets.unsqueeze(1)?, 1)?.squeeze(1)?;
                let weights = class_weights.index_select(&targets, 0)?;
                (picked * &weights)?.sum_all()?.neg()? / weights.sum_all()?.to_scalar::<f32>()? as f64
            };
            let loss = step().map_err(candle("training step"))?;
            optimiser.backward_step(&loss).map_err(candle("training step"))?;
        }
        let predicted: Vec<Tone> =
            head(&variables).classify(&selection_embeddings, device)?.into_iter().map(|score| score.label).collect();
        let macro_f1 = evaluate(&predicted, &selection_truth).macro_f1;
        by_epoch.push(macro_f1);
        if best.as_ref().is_none_or(|(best_f1, _, _)| macro_f1 > *best_f1) {
            best = Some((macro_f1, epoch, save(&variables)?));
        }
    }
    let (_, best_epoch, weights) = best.ok_or_else(|| Error::invalid("training needs at least one epoch"))?;
    Ok(Trained { weights, best_epoch, selection_macro_f1_by_epoch: by_epoch })
}

fn save(variables: &[Var; 4]) -> Result<Vec<u8>> {
    let names = ["hidden.weight", "hidden.bias", "output.weight", "output.bias"];
    let mut map = std::collections::HashMap::new();
    for (name, variable) in names.iter().zip(variables) {
        map.insert((*name).to_owned(), variable.as_tensor().copy().map_err(candle("save"))?);
    }
    let directory = std::env::temp_dir().join(format!("hearth-sentiment-{}", std::process::id()));
    std::fs::create_dir_all(&directory).map_err(|error| Error::io("cannot create a temp dir", error))?;
    let path = directory.join("head.safetensors");
    candle_core::safetensors::save(&map, &path).map_err(candle("save"))?;
    let bytes = std::fs::read(&path).map_err(|error| Error::io("cannot read the saved head", error))?;
    let _ = std::fs::remove_dir_all(&directory);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_text_spells_out_emoji_and_leaves_other_text_alone() {
        assert_eq!(tone_text("bus is 20 min late again 🙄"), "bus is 20 min late again (face with rolling eyes)");
        assert_eq!(tone_text("new plant baby 🌱💚"), "new plant baby (seedling) (green heart)");
        // Skin tones and variation selectors are part of the emoji, not extra text.
        assert_eq!(tone_text("nice one 👍🏽"), "nice one (thumbs up)");
        assert_eq!(tone_text("❤️"), "(red heart)");
        assert_eq!(tone_text("🇳🇿 trip!"), "(flag New Zealand) trip!");
        assert!(matches!(tone_text("no emoji here, 100 # * words"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(tone_text(""), "");
        assert_eq!(tone_text("中文 éclair"), "中文 éclair");
    }

    #[test]
    fn evaluation_counts_what_it_should() {
        use Tone::{Negative as N, Neutral as U, Positive as P};
        let evaluation = evaluate(&[P, P, N, U, N], &[P, N, N, U, U]);
        assert_eq!(evaluation.confusion, [[1, 0, 0], [0, 1, 1], [1, 0, 1]]);
        assert!((evaluation.accuracy - 0.6).abs() < 1e-9);
        assert!((evaluation.f1[0] - 2.0 / 3.0).abs() < 1e-9);
    }
}
