//! Tone: positive / neutral / negative for any text. The tone model is multilingual-e5-small
//! (`e5`; 12 layers, trained by its authors on a billion text pairs in a hundred languages) with
//! its top layer fine-tuned for tone: the lower eleven layers run as shipped, the tuned layer and
//! a small classifier head (one hidden layer) over the mean-pooled, unit-length result come from
//! Hearth's own weights. `hearth train-sentiment` (run by `cargo xtask train sentiment`)
//! fine-tunes the layer and trains the head with candle-nn, deterministically from a fixed seed;
//! the weights (a few MB, f16) ship inside the binary with their metrics in `models/sentiment/`.
//! The training data holds the three tones in unequal shares (neutral is the rarest) while social
//! posts hold them about equally, so the head's logits are shifted by the training shares'
//! logarithms (`prior_adjustment`) before the softmax; how strongly is chosen by the training
//! command on a social-style set.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{Linear, Module, Optimizer, VarBuilder};
use candle_transformers::models::bert::Config;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::e5::E5Model;
use crate::models::encoder::Layer as PackedLayer;
use crate::models::text::{Forward, TextEmbedder};
use crate::random::SplitMix64;

/// Bumped whenever the shipped model is retrained; stored with every tone enrichment.
pub const MODEL_VERSION: &str = "5";
pub const MODEL_ID: &str = "hearth-sentiment";
const HIDDEN: usize = 128;
const INPUT: usize = super::text::DIMENSION;
/// Texts per forward pass of the tuned layers.
const BATCH_SIZE: usize = 32;
const BUNDLED_WEIGHTS: &[u8] = include_bytes!("../../../../models/sentiment/sentiment.safetensors");
/// The tone weights' optional shift of the head's logits (3 values; none means zeros).
const PRIOR_ADJUSTMENT: &str = "prior_adjustment";

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

fn candle(what: &'static str) -> impl Fn(candle_core::Error) -> Error {
    move |error| Error::Internal(format!("{what}: {error}"))
}

/// A layer norm's scale and shift, written with candle's differentiable operations (candle-nn's
/// fused layer norm has no backward pass).
struct Norm {
    weight: Tensor,
    bias: Tensor,
    epsilon: f64,
}

impl Norm {
    fn load(variables: &VarBuilder, width: usize, epsilon: f64) -> candle_core::Result<Self> {
        Ok(Self { weight: variables.get(width, "weight")?, bias: variables.get(width, "bias")?, epsilon })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let centred = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
        centred
            .broadcast_div(&(variance + self.epsilon)?.sqrt()?)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

fn linear(variables: &VarBuilder, inputs: usize, outputs: usize) -> candle_core::Result<Linear> {
    Ok(Linear::new(variables.get((outputs, inputs), "weight")?, Some(variables.get(outputs, "bias")?)))
}

/// One BERT layer over padded batches `(texts, tokens, hidden)`, with BERT's own parameter
/// names, from candle's differentiable operations: what training fine-tunes and what runs the
/// tuned layers (on any device). The same arithmetic as candle-transformers' `BertLayer`.
struct ToneLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
    heads: usize,
}

impl ToneLayer {
    fn load(variables: &VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let attention = variables.pp("attention");
        let (hidden, intermediate, epsilon) = (config.hidden_size, config.intermediate_size, config.layer_norm_eps);
        Ok(Self {
            query: linear(&attention.pp("self").pp("query"), hidden, hidden)?,
            key: linear(&attention.pp("self").pp("key"), hidden, hidden)?,
            value: linear(&attention.pp("self").pp("value"), hidden, hidden)?,
            attention_output: linear(&attention.pp("output").pp("dense"), hidden, hidden)?,
            attention_norm: Norm::load(&attention.pp("output").pp("LayerNorm"), hidden, epsilon)?,
            intermediate: linear(&variables.pp("intermediate").pp("dense"), hidden, intermediate)?,
            output: linear(&variables.pp("output").pp("dense"), intermediate, hidden)?,
            output_norm: Norm::load(&variables.pp("output").pp("LayerNorm"), hidden, epsilon)?,
            heads: config.num_attention_heads,
        })
    }

    /// `states` `(texts, tokens, hidden)`; `mask_bias` `(texts, 1, 1, tokens)`: 0 for a real
    /// token, a large negative number for padding.
    fn forward(&self, states: &Tensor, mask_bias: &Tensor) -> candle_core::Result<Tensor> {
        let (texts, tokens, hidden) = states.dims3()?;
        let head_size = hidden / self.heads;
        let split = |projection: &Linear| -> candle_core::Result<Tensor> {
            projection.forward(states)?.reshape((texts, tokens, self.heads, head_size))?.transpose(1, 2)?.contiguous()
        };
        let (query, key, value) = (split(&self.query)?, split(&self.key)?, split(&self.value)?);
        let scores = (query.matmul(&key.t()?.contiguous()?)? / (head_size as f64).sqrt())?.broadcast_add(mask_bias)?;
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let context = weights.matmul(&value)?.transpose(1, 2)?.reshape((texts, tokens, hidden))?;
        let attended = self.attention_norm.forward(&(self.attention_output.forward(&context)? + states)?)?;
        let intermediate = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm.forward(&(self.output.forward(&intermediate)? + attended)?)
    }
}

/// The tuned layers and the classifier head (384 → 128, ReLU → 3, plus the prior adjustment):
/// everything of the tone model above the encoder's lower layers.
struct ToneNetwork {
    layers: Vec<ToneLayer>,
    hidden: Linear,
    output: Linear,
    /// Added to the logits (`prior_adjustment`); zeros while training.
    prior_adjustment: Tensor,
}

impl ToneNetwork {
    /// Layers `layers.0`, `layers.1`, … (shaped as the encoder's `config`), the head `hidden`,
    /// `output` and, where present, `prior_adjustment` from `variables`.
    fn load(variables: &VarBuilder, layers: usize, config: &Config) -> candle_core::Result<Self> {
        let prior_adjustment = if variables.contains_tensor(PRIOR_ADJUSTMENT) {
            variables.get(3, PRIOR_ADJUSTMENT)?
        } else {
            Tensor::zeros(3, DType::F32, variables.device())?
        };
        Ok(Self {
            layers: (0..layers)
                .map(|index| ToneLayer::load(&variables.pp(format!("layers.{index}")), config))
                .collect::<candle_core::Result<_>>()?,
            hidden: linear(&variables.pp("hidden"), INPUT, HIDDEN)?,
            output: linear(&variables.pp("output"), HIDDEN, 3)?,
            prior_adjustment,
        })
    }

    /// Logits `(texts, 3)` of a batch of lower-layer token states (`tokens × hidden` each).
    fn logits(&self, batch: &[&[f32]], device: &Device) -> candle_core::Result<Tensor> {
        self.head(&self.pooled(batch, device)?)
    }

    /// The head's logits `(texts, 3)` of pooled vectors `(texts, hidden)`, prior adjustment included.
    fn head(&self, pooled: &Tensor) -> candle_core::Result<Tensor> {
        self.output.forward(&self.hidden.forward(pooled)?.relu()?)?.broadcast_add(&self.prior_adjustment)
    }

    /// What the head reads: the tuned layers' states, mean-pooled over real tokens, unit length.
    fn pooled(&self, batch: &[&[f32]], device: &Device) -> candle_core::Result<Tensor> {
        let (states, mask) = padded(batch, device)?;
        let mask_bias = ((mask.ones_like()? - &mask)? * -1e9)?.unsqueeze(1)?.unsqueeze(1)?;
        let mut states = states;
        for layer in &self.layers {
            states = layer.forward(&states, &mask_bias)?;
        }
        // Mean over real tokens, then unit length.
        let mask = mask.unsqueeze(2)?;
        let mean = states.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&mask.sum(1)?.clamp(1.0, f64::MAX)?)?;
        mean.broadcast_div(&mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?)
    }
}

/// Token states laid into `(texts, longest, hidden)` with zeros after each text, and the mask
/// `(texts, longest)`: 1 for a real token.
fn padded(batch: &[&[f32]], device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let longest = batch.iter().map(|states| states.len() / INPUT).max().unwrap_or(0).max(1);
    let mut values = vec![0.0_f32; batch.len() * longest * INPUT];
    let mut mask = vec![0.0_f32; batch.len() * longest];
    for (index, states) in batch.iter().enumerate() {
        values[index * longest * INPUT..][..states.len()].copy_from_slice(states);
        mask[index * longest..][..states.len() / INPUT].fill(1.0);
    }
    Ok((
        Tensor::from_vec(values, (batch.len(), longest, INPUT), device)?,
        Tensor::from_vec(mask, (batch.len(), longest), device)?,
    ))
}

fn scores(logits: &Tensor) -> candle_core::Result<Vec<ToneScore>> {
    let probabilities = candle_nn::ops::softmax(logits, D::Minus1)?.to_vec2::<f32>()?;
    Ok(probabilities
        .into_iter()
        .map(|p| {
            let probabilities = [p[0], p[1], p[2]];
            let best = (0..3).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b])).unwrap_or(1);
            ToneScore { label: Tone::ALL[best], score: probabilities[0] - probabilities[2], probabilities }
        })
        .collect())
}

/// The shift of the head's logits that corrects for the training data's tone shares: for each
/// tone −`strength`·ln(its share of `counts`, the training examples per tone). At strength 1 the
/// model predicts as if the three tones were equally common ("logit adjustment", Menon et al.
/// 2021, applied after training); at 0 it keeps the training data's shares.
pub fn prior_adjustment(counts: [usize; 3], strength: f32) -> [f32; 3] {
    let total = counts.iter().sum::<usize>().max(1) as f64;
    counts.map(|count| (-f64::from(strength) * (count.max(1) as f64 / total).ln()) as f32)
}

/// The tone weights file `weights` with its logits' shift set to `adjustment` (see
/// `prior_adjustment`); everything else is kept as it is.
pub fn with_prior_adjustment(weights: &[u8], adjustment: [f32; 3]) -> Result<Vec<u8>> {
    let mut tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu)
        .map_err(|error| Error::Internal(format!("the sentiment weights cannot be read: {error}")))?;
    let layer_dtype = tensors.get("layers.0.output.dense.weight").map_or(DType::F32, Tensor::dtype);
    tensors.insert(PRIOR_ADJUSTMENT.to_owned(), Tensor::new(&adjustment, &Device::Cpu).map_err(candle("adjustment"))?);
    save(&tensors, layer_dtype)
}

/// Indices of `lengths` in batches of `size` that group similar lengths, longest first.
fn batches_by_length(lengths: &[usize], size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(lengths[index]));
    order.chunks(size).map(<[usize]>::to_vec).collect()
}

/// The tone model: the encoder's lower layers, then the tuned layers and the head. Load it once
/// and share it (`Arc`); `classify` from any thread.
pub struct ToneModel {
    lower: TextEmbedder,
    network: ToneNetwork,
    /// On the CPU, the tuned layers again as the packed encoder's layers (the same weights):
    /// what `classify` runs there, without padding.
    packed_layers: Option<(Vec<PackedLayer>, usize)>,
    device: Device,
}

impl std::fmt::Debug for ToneModel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ToneModel").field("device", &self.device).finish_non_exhaustive()
    }
}

/// The tone model's encoder from `encoder_path` (multilingual-e5-small), cut below its top
/// `tuned` layers: the lower layers ready to run on `device`, the encoder's shape, and its own
/// top layers' weights renamed `layers.N.…` (where fine-tuning starts).
fn split_encoder(
    encoder_path: &Path,
    tuned: usize,
    device: &Device,
) -> Result<(TextEmbedder, Config, HashMap<String, Tensor>)> {
    let mut model = E5Model::load(encoder_path)?;
    let config = model.config.clone();
    if config.hidden_size != INPUT {
        return Err(super::e5::damaged(encoder_path, &format!("it is {} wide, not {INPUT}", config.hidden_size)));
    }
    if tuned > config.num_hidden_layers {
        return Err(Error::Internal(format!("{tuned} tuned layers for an encoder of {}", config.num_hidden_layers)));
    }
    let top = model.split_top(tuned);
    let forward = if device.is_cpu() { Forward::Packed } else { Forward::Padded };
    Ok((TextEmbedder::from_e5(model, encoder_path, device, forward)?, config, top))
}

/// How many tuned layers a tone weights file holds (`layers.N.…`).
fn tuned_layers(tensors: &HashMap<String, Tensor>) -> usize {
    (0..).take_while(|index| tensors.contains_key(&format!("layers.{index}.output.dense.weight"))).count()
}

impl ToneModel {
    /// The tone model shipped inside this binary, over the encoder file at `encoder_path`
    /// (multilingual-e5-small's `e5-small-q4.bin`).
    pub fn load(encoder_path: &Path, device: &Device) -> Result<Self> {
        Self::from_weights(encoder_path, BUNDLED_WEIGHTS, device)
    }

    /// A tone model from the bytes of a tone weights file (as `hearth train-sentiment` writes).
    pub fn from_weights(encoder_path: &Path, weights: &[u8], device: &Device) -> Result<Self> {
        let unreadable =
            |error: &dyn std::fmt::Display| Error::Internal(format!("the sentiment weights cannot be read: {error}"));
        let tensors = candle_core::safetensors::load_buffer(weights, device).map_err(|error| unreadable(&error))?;
        let tuned = tuned_layers(&tensors);
        let (lower, config, _) = split_encoder(encoder_path, tuned, device)?;
        let variables = VarBuilder::from_tensors(tensors, DType::F32, device);
        let network = ToneNetwork::load(&variables, tuned, &config).map_err(|error| unreadable(&error))?;
        let packed_layers = if device.is_cpu() {
            let layers = (0..tuned)
                .map(|index| PackedLayer::load(variables.pp(format!("layers.{index}")), &config))
                .collect::<candle_core::Result<Vec<_>>>()
                .map_err(|error| unreadable(&error))?;
            Some((layers, config.num_attention_heads))
        } else {
            None
        };
        Ok(Self { lower, network, packed_layers, device: device.clone() })
    }

    /// Replaces the shift added to the head's logits (what a weights file's `prior_adjustment`
    /// holds; see `prior_adjustment`): for trying strengths without loading the model again.
    pub fn set_prior_adjustment(&mut self, adjustment: [f32; 3]) -> Result<()> {
        self.network.prior_adjustment = Tensor::new(&adjustment, &self.device).map_err(candle("adjustment"))?;
        Ok(())
    }

    /// The tone of each text, in input order.
    pub fn classify(&self, texts: &[&str]) -> Result<Vec<ToneScore>> {
        self.classify_lower_states(&self.lower.token_states(texts)?)
    }

    /// The tone of each text from its lower-layer token states.
    fn classify_lower_states(&self, states: &[Vec<f32>]) -> Result<Vec<ToneScore>> {
        let lengths: Vec<usize> = states.iter().map(Vec::len).collect();
        let mut tones = vec![None; states.len()];
        for batch in batches_by_length(&lengths, BATCH_SIZE) {
            let inputs: Vec<&[f32]> = batch.iter().map(|&index| states[index].as_slice()).collect();
            let logits = match &self.packed_layers {
                Some((layers, heads)) => self.packed_logits(layers, *heads, &inputs),
                None => self.network.logits(&inputs, &self.device),
            };
            let scored = logits.and_then(|logits| scores(&logits)).map_err(candle("the tone model failed"))?;
            for (&index, tone) in batch.iter().zip(scored) {
                tones[index] = Some(tone);
            }
        }
        Ok(tones.into_iter().flatten().collect())
    }

    /// `ToneNetwork::logits` on the CPU through the packed encoder's layers: the batch's
    /// states laid end to end with no padding, then mean-pooled per text.
    fn packed_logits(&self, layers: &[PackedLayer], heads: usize, batch: &[&[f32]]) -> candle_core::Result<Tensor> {
        let lengths: Vec<usize> = batch.iter().map(|states| states.len() / INPUT).collect();
        let mut state = Tensor::from_vec(batch.concat(), (lengths.iter().sum::<usize>(), INPUT), &self.device)?;
        for layer in layers {
            state = layer.forward(&state, &lengths, heads)?;
        }
        let values = state.flatten_all()?.to_vec1::<f32>()?;
        let mut pooled = Vec::with_capacity(batch.len() * INPUT);
        let mut rows = values.chunks_exact(INPUT);
        for &length in &lengths {
            let mut mean = vec![0.0_f32; INPUT];
            for row in rows.by_ref().take(length) {
                for (sum, value) in mean.iter_mut().zip(row) {
                    *sum += value;
                }
            }
            let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            pooled.extend(mean.iter().map(|x| x / norm));
        }
        self.network.head(&Tensor::from_vec(pooled, (batch.len(), INPUT), &self.device)?)
    }

    /// The vector the head reads for each text (the tuned layers' output, mean-pooled, unit
    /// length). With the encoder's own top layer in place of a tuned one it is the text's e5
    /// embedding, which is how the tuned layers' arithmetic is tested.
    pub fn pooled(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let states = self.lower.token_states(texts)?;
        let inputs: Vec<&[f32]> = states.iter().map(Vec::as_slice).collect();
        self.network
            .pooled(&inputs, &self.device)
            .and_then(|pooled| pooled.to_vec2::<f32>())
            .map_err(candle("the tone model failed"))
    }

    /// The tone of each example (lower-layer states already computed by a `ToneTrainer` over
    /// the same encoder) through the padded layers that training runs: for scoring a
    /// freshly trained model, and for holding `classify`'s packed path to them.
    pub fn classify_states(&self, examples: &[Example]) -> Result<Vec<ToneScore>> {
        classify_examples(&self.network, examples, &self.device)
    }
}

// ----- training -----

/// One labelled example: the lower layers' token states of its text (`ToneTrainer::lower_states`).
#[derive(Debug, Clone)]
pub struct Example {
    pub states: Vec<f32>,
    pub tone: Tone,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingOptions {
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    /// How many of the encoder's top layers are fine-tuned.
    pub tuned_layers: usize,
    /// Peak learning rate of the tuned layers (warmed up over the first 6 % of steps, then
    /// decayed linearly to zero; the head follows the same schedule).
    pub layer_learning_rate: f64,
    /// Peak learning rate of the freshly initialised head.
    pub head_learning_rate: f64,
    pub weight_decay: f64,
    /// Loss weight per class (positive, neutral, negative).
    pub class_weights: [f32; 3],
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            seed: 20_261_122,
            epochs: 3,
            batch_size: 32,
            tuned_layers: 1,
            layer_learning_rate: 5e-5,
            head_learning_rate: 1e-3,
            weight_decay: 1e-2,
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

/// A trained tone model and how it did on the selection set, epoch by epoch.
pub struct Trained {
    pub weights: Vec<u8>,
    pub best_epoch: usize,
    pub selection_macro_f1_by_epoch: Vec<f64>,
}

/// Fine-tunes the top layers of the encoder and trains the head over them.
pub struct ToneTrainer {
    lower: TextEmbedder,
    /// The tuned layers' starting weights: the encoder's own top layers, renamed `layers.N.…`.
    initial_layers: HashMap<String, Tensor>,
    tuned_layers: usize,
    config: Config,
    device: Device,
}

impl std::fmt::Debug for ToneTrainer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ToneTrainer").field("tuned_layers", &self.tuned_layers).finish_non_exhaustive()
    }
}

impl ToneTrainer {
    /// A trainer that tunes the top `tuned_layers` layers of the encoder file at `encoder_path`.
    pub fn new(encoder_path: &Path, tuned_layers: usize, device: &Device) -> Result<Self> {
        let (lower, config, initial_layers) = split_encoder(encoder_path, tuned_layers, device)?;
        Ok(Self { lower, initial_layers, tuned_layers, config, device: device.clone() })
    }

    /// The lower layers' token states of each text.
    pub fn lower_states(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.lower.token_states(texts)
    }

    /// A tone weights file before any training: the encoder's own top layers and a head of
    /// zeros. Its tone model reads every text as the encoder does (its pooled vector is the
    /// text's e5 embedding) and has no opinion on tone; tests hold the tuned layers' arithmetic
    /// to the encoder's with it.
    pub fn untrained_weights(&self) -> Result<Vec<u8>> {
        let mut tensors = self.initial_layers.clone();
        for (name, shape) in [
            ("hidden.weight", &[HIDDEN, INPUT][..]),
            ("hidden.bias", &[HIDDEN]),
            ("output.weight", &[3, HIDDEN]),
            ("output.bias", &[3]),
        ] {
            tensors.insert(name.to_owned(), Tensor::zeros(shape, DType::F32, &self.device).map_err(candle("init"))?);
        }
        save(&tensors, DType::F32)
    }

    /// Trains on `train`, keeping the epoch with the best macro-F1 on `selection`; `progress`
    /// hears (epoch, batches done, batches per epoch, mean loss so far this epoch).
    pub fn train(
        &self,
        train: &[Example],
        selection: &[Example],
        options: &TrainingOptions,
        progress: &mut dyn FnMut(usize, usize, usize, f64),
    ) -> Result<Trained> {
        if options.tuned_layers != self.tuned_layers {
            return Err(Error::invalid("the options and the trainer disagree on the tuned layers"));
        }
        let device = &self.device;
        let mut random = SplitMix64(options.seed);
        let mut variables: HashMap<String, Var> = HashMap::new();
        for (name, tensor) in &self.initial_layers {
            variables.insert(name.clone(), Var::from_tensor(tensor).map_err(candle("init"))?);
        }
        let layer_variables: Vec<Var> = variables.values().cloned().collect();
        // The head: Kaiming-uniform-style initialisation from our own generator.
        let mut uniform = |rows: usize, columns: usize| -> Result<Var> {
            let bound = (1.0 / columns as f32).sqrt();
            let values: Vec<f32> = (0..rows * columns).map(|_| random.symmetric() * bound).collect();
            Var::from_tensor(&Tensor::from_vec(values, (rows, columns), device).map_err(candle("init"))?)
                .map_err(candle("init"))
        };
        let head = [
            ("hidden.weight", uniform(HIDDEN, INPUT)?),
            ("hidden.bias", Var::zeros(HIDDEN, DType::F32, device).map_err(candle("init"))?),
            ("output.weight", uniform(3, HIDDEN)?),
            ("output.bias", Var::zeros(3, DType::F32, device).map_err(candle("init"))?),
        ];
        let head_variables: Vec<Var> = head.iter().map(|(_, variable)| variable.clone()).collect();
        for (name, variable) in head {
            variables.insert(name.to_owned(), variable);
        }
        let tensors: HashMap<String, Tensor> =
            variables.iter().map(|(name, variable)| (name.clone(), variable.as_tensor().clone())).collect();
        let network =
            ToneNetwork::load(&VarBuilder::from_tensors(tensors, DType::F32, device), self.tuned_layers, &self.config)
                .map_err(candle("the tone network"))?;
        let adamw = |variables: Vec<Var>, lr: f64| {
            candle_nn::AdamW::new(
                variables,
                candle_nn::ParamsAdamW { lr, weight_decay: options.weight_decay, ..Default::default() },
            )
            .map_err(candle("optimiser"))
        };
        let mut layer_optimiser = adamw(layer_variables, options.layer_learning_rate)?;
        let mut head_optimiser = adamw(head_variables, options.head_learning_rate)?;
        let class_weights = Tensor::new(&options.class_weights, device).map_err(candle("weights"))?;

        let lengths: Vec<usize> = train.iter().map(|example| example.states.len()).collect();
        let batches_per_epoch = train.len().div_ceil(options.batch_size.max(1));
        let total_steps = (batches_per_epoch * options.epochs).max(1);
        let warmup = (total_steps as f64 * 0.06).max(1.0);
        let mut step = 0_usize;
        let mut best: Option<(f64, usize, Vec<u8>)> = None;
        let mut by_epoch = Vec::new();
        for epoch in 1..=options.epochs {
            let batches = shuffled_batches(&lengths, options.batch_size.max(1), &mut random);
            let mut loss_sum = 0.0;
            for (done, batch) in batches.iter().enumerate() {
                let factor = ((step + 1) as f64 / warmup).min(1.0) * (1.0 - step as f64 / total_steps as f64);
                layer_optimiser.set_learning_rate(options.layer_learning_rate * factor);
                head_optimiser.set_learning_rate(options.head_learning_rate * factor);
                let inputs: Vec<&[f32]> = batch.iter().map(|&index| train[index].states.as_slice()).collect();
                let targets: Vec<u32> = batch.iter().map(|&index| train[index].tone.index() as u32).collect();
                let loss = (|| -> candle_core::Result<Tensor> {
                    let targets = Tensor::from_vec(targets, batch.len(), device)?;
                    let logits = network.logits(&inputs, device)?;
                    let log_probabilities = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
                    let picked = log_probabilities.gather(&targets.unsqueeze(1)?, 1)?.squeeze(1)?;
                    let weights = class_weights.index_select(&targets, 0)?;
                    (picked * &weights)?.sum_all()?.neg()? / weights.sum_all()?.to_scalar::<f32>()? as f64
                })()
                .map_err(candle("training step"))?;
                loss_sum += f64::from(loss.to_scalar::<f32>().map_err(candle("training step"))?);
                let gradients = loss.backward().map_err(candle("training step"))?;
                layer_optimiser.step(&gradients).map_err(candle("training step"))?;
                head_optimiser.step(&gradients).map_err(candle("training step"))?;
                step += 1;
                progress(epoch, done + 1, batches.len(), loss_sum / (done + 1) as f64);
            }
            let predicted: Vec<Tone> =
                classify_examples(&network, selection, device)?.into_iter().map(|score| score.label).collect();
            let truth: Vec<Tone> = selection.iter().map(|example| example.tone).collect();
            let macro_f1 = evaluate(&predicted, &truth).macro_f1;
            by_epoch.push(macro_f1);
            if best.as_ref().is_none_or(|(best_f1, _, _)| macro_f1 > *best_f1) {
                let tensors = variables.iter().map(|(name, variable)| (name.clone(), variable.as_tensor().clone()));
                best = Some((macro_f1, epoch, save(&tensors.collect(), DType::F16)?));
            }
        }
        let (_, best_epoch, weights) = best.ok_or_else(|| Error::invalid("training needs at least one epoch"))?;
        Ok(Trained { weights, best_epoch, selection_macro_f1_by_epoch: by_epoch })
    }
}

/// Batches for one epoch: the examples shuffled, then in pools of 50 batches sorted by length
/// (so a batch pads little), and the batches shuffled again.
fn shuffled_batches(lengths: &[usize], size: usize, random: &mut SplitMix64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    random.shuffle(&mut order);
    let mut batches: Vec<Vec<usize>> = order
        .chunks(size * 50)
        .flat_map(|pool| {
            let mut pool = pool.to_vec();
            pool.sort_by_key(|&index| lengths[index]);
            pool.chunks(size).map(<[usize]>::to_vec).collect::<Vec<_>>()
        })
        .collect();
    random.shuffle(&mut batches);
    batches
}

/// Tones of already-computed lower-layer states, through the padded layers.
fn classify_examples(network: &ToneNetwork, examples: &[Example], device: &Device) -> Result<Vec<ToneScore>> {
    let lengths: Vec<usize> = examples.iter().map(|example| example.states.len()).collect();
    let mut tones = vec![None; examples.len()];
    for batch in batches_by_length(&lengths, BATCH_SIZE) {
        let inputs: Vec<&[f32]> = batch.iter().map(|&index| examples[index].states.as_slice()).collect();
        let scored =
            network.logits(&inputs, device).and_then(|logits| scores(&logits)).map_err(candle("evaluation"))?;
        for (&index, score) in batch.iter().zip(scored) {
            tones[index] = Some(score);
        }
    }
    Ok(tones.into_iter().flatten().collect())
}

/// The weights as a safetensors file: the tuned layers in `layer_dtype` (f16 for what ships;
/// they are loaded back as f32), the head in f32.
fn save(tensors: &HashMap<String, Tensor>, layer_dtype: DType) -> Result<Vec<u8>> {
    let mut map = HashMap::new();
    for (name, tensor) in tensors {
        let dtype = if name.starts_with("layers.") { layer_dtype } else { DType::F32 };
        map.insert(name.clone(), tensor.to_dtype(dtype).map_err(candle("save"))?);
    }
    let directory = std::env::temp_dir().join(format!("hearth-sentiment-{}", std::process::id()));
    std::fs::create_dir_all(&directory).map_err(|error| Error::io("cannot create a temp dir", error))?;
    let path = directory.join("sentiment.safetensors");
    candle_core::safetensors::save(&map, &path).map_err(candle("save"))?;
    let bytes = std::fs::read(&path).map_err(|error| Error::io("cannot read the saved model", error))?;
    let _ = std::fs::remove_dir_all(&directory);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_counts_what_it_should() {
        use Tone::{Negative as N, Neutral as U, Positive as P};
        let evaluation = evaluate(&[P, P, N, U, N], &[P, N, N, U, U]);
        assert_eq!(evaluation.confusion, [[1, 0, 0], [0, 1, 1], [1, 0, 1]]);
        assert!((evaluation.accuracy - 0.6).abs() < 1e-9);
        assert!((evaluation.f1[0] - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn the_prior_adjustment_lifts_rare_tones_by_the_log_of_their_share() {
        assert_eq!(prior_adjustment([5, 1, 4], 0.0), [0.0; 3]);
        let full = prior_adjustment([2, 1, 1], 1.0);
        for (value, expected) in full.iter().zip([2.0_f32.ln(), 4.0_f32.ln(), 4.0_f32.ln()]) {
            assert!((value - expected).abs() < 1e-6, "{full:?}");
        }
        let half = prior_adjustment([2, 1, 1], 0.5);
        assert!((half[1] - full[1] / 2.0).abs() < 1e-6, "{half:?}");
        // Equal shares need no shift beyond a constant (which the softmax ignores).
        let equal = prior_adjustment([7, 7, 7], 1.0);
        assert!(equal.iter().all(|value| (value - equal[0]).abs() < 1e-6), "{equal:?}");
        // A tone with no examples is treated as having one, not as impossible.
        assert!(prior_adjustment([0, 5, 5], 1.0).iter().all(|value| value.is_finite()));
    }
}
