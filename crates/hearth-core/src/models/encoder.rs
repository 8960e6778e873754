//! The BERT encoder that runs Hearth's sentence embeddings on the CPU. Same weights and the same
//! arithmetic as candle-transformers' `BertModel` (which still runs them on GPUs, and which the
//! tests hold this one against), arranged for speed: the sequences of a batch are packed end to
//! end with no padding, so no work is spent on pad tokens and no attention mask is needed; the
//! query, key and value projections are one matrix multiply; attention, bias + GELU and
//! bias + residual + layer norm are single passes from `hearth-kernels` that write in place.
//! The matrix multiplies stay candle's (gemm).

use candle_core::{CpuStorage, Device, InplaceOp1, InplaceOp2, Layout, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use hearth_kernels::LayerNorm;

use super::e5::QuantizedRows;

/// A layer norm's learned scale and shift.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    epsilon: f32,
}

impl Norm {
    fn load(variables: VarBuilder, width: usize, epsilon: f64) -> candle_core::Result<Self> {
        Ok(Self {
            gamma: variables.get(width, "weight")?.to_vec1()?,
            beta: variables.get(width, "bias")?.to_vec1()?,
            epsilon: epsilon as f32,
        })
    }

    fn kernel(&self) -> LayerNorm<'_> {
        LayerNorm { gamma: &self.gamma, beta: &self.beta, epsilon: self.epsilon }
    }
}

/// A linear layer kept as its transposed weight (inputs × outputs, ready for `x · W`) and bias.
struct Projection {
    weight: Tensor,
    bias: Vec<f32>,
}

impl Projection {
    fn load(variables: VarBuilder, inputs: usize, outputs: usize) -> candle_core::Result<Self> {
        Ok(Self {
            weight: variables.get((outputs, inputs), "weight")?.t()?.contiguous()?,
            bias: variables.get(outputs, "bias")?.to_vec1()?,
        })
    }

    /// Several projections of the same input as one (their outputs side by side).
    fn fused(parts: Vec<Projection>) -> candle_core::Result<Self> {
        let weights: Vec<&Tensor> = parts.iter().map(|part| &part.weight).collect();
        Ok(Self { weight: Tensor::cat(&weights, 1)?, bias: parts.iter().flat_map(|part| part.bias.clone()).collect() })
    }
}

/// One BERT layer over packed sequences (see `PackedBert`).
pub(crate) struct Layer {
    query_key_value: Projection,
    attention_output: Projection,
    attention_norm: Norm,
    intermediate: Projection,
    output: Projection,
    output_norm: Norm,
}

impl Layer {
    pub(crate) fn load(variables: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let (hidden, intermediate) = (config.hidden_size, config.intermediate_size);
        let attention = variables.pp("attention");
        let projections = ["query", "key", "value"]
            .into_iter()
            .map(|name| Projection::load(attention.pp("self").pp(name), hidden, hidden))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            query_key_value: Projection::fused(projections)?,
            attention_output: Projection::load(attention.pp("output").pp("dense"), hidden, hidden)?,
            attention_norm: Norm::load(attention.pp("output").pp("LayerNorm"), hidden, config.layer_norm_eps)?,
            intermediate: Projection::load(variables.pp("intermediate").pp("dense"), hidden, intermediate)?,
            output: Projection::load(variables.pp("output").pp("dense"), intermediate, hidden)?,
            output_norm: Norm::load(variables.pp("output").pp("LayerNorm"), hidden, config.layer_norm_eps)?,
        })
    }

    /// The layer over packed sequences of `lengths` tokens: `(tokens, hidden)` in and out.
    pub(crate) fn forward(&self, state: &Tensor, lengths: &[usize], heads: usize) -> candle_core::Result<Tensor> {
        let projected = state.matmul(&self.query_key_value.weight)?;
        let context = projected.apply_op1_no_bwd(&Attention { bias: &self.query_key_value.bias, lengths, heads })?;
        let attended = context.matmul(&self.attention_output.weight)?;
        attended.inplace_op2(
            state,
            &AddBiasResidualNorm { bias: &self.attention_output.bias, norm: &self.attention_norm },
        )?;
        let intermediate = attended.matmul(&self.intermediate.weight)?;
        intermediate.inplace_op1(&AddBiasGelu { bias: &self.intermediate.bias })?;
        let output = intermediate.matmul(&self.output.weight)?;
        output.inplace_op2(&attended, &AddBiasResidualNorm { bias: &self.output.bias, norm: &self.output_norm })?;
        Ok(output)
    }
}

/// A word-embedding table: f32 rows, or 4-bit rows dequantised as tokens need them.
pub(crate) enum WordTable {
    Dense(Vec<f32>),
    Quantized(QuantizedRows),
}

impl WordTable {
    fn extend_row(&self, id: usize, hidden: usize, out: &mut Vec<f32>) {
        match self {
            Self::Dense(values) => out.extend_from_slice(&values[id * hidden..(id + 1) * hidden]),
            Self::Quantized(rows) => rows.extend_row(id, out),
        }
    }
}

/// A BERT encoder for packed sequences on the CPU.
pub struct PackedBert {
    word_embeddings: WordTable,
    position_embeddings: Vec<f32>,
    /// Hearth's inputs are single texts: every token has type 0.
    token_type_embedding: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden_size: usize,
    heads: usize,
    max_positions: usize,
    vocabulary: usize,
}

impl PackedBert {
    /// Loads the weights of a BERT `config` from `variables` (on the CPU); refuses what this
    /// encoder does not implement rather than computing something else.
    pub fn load(variables: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        Self::load_with_words(variables, config, None)
    }

    /// `load`, with the word embeddings given (4-bit ones, say) rather than read from `variables`.
    pub(crate) fn load_with_words(
        variables: VarBuilder,
        config: &Config,
        words: Option<WordTable>,
    ) -> candle_core::Result<Self> {
        if !variables.device().is_cpu() {
            candle_core::bail!("the packed BERT encoder runs on the CPU only");
        }
        if config.hidden_act != HiddenAct::Gelu {
            candle_core::bail!("the packed BERT encoder implements the exact GELU only, not {:?}", config.hidden_act);
        }
        if config.hidden_size % config.num_attention_heads != 0 {
            candle_core::bail!(
                "{} hidden units do not split into {} heads",
                config.hidden_size,
                config.num_attention_heads
            );
        }
        let hidden = config.hidden_size;
        let embeddings = variables.pp("embeddings");
        let table = |name: &str, rows: usize| -> candle_core::Result<Vec<f32>> {
            embeddings.get((rows, hidden), &format!("{name}.weight"))?.flatten_all()?.to_vec1()
        };
        let layers = (0..config.num_hidden_layers)
            .map(|index| Layer::load(variables.pp(format!("encoder.layer.{index}")), config))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            word_embeddings: match words {
                Some(words) => words,
                None => WordTable::Dense(table("word_embeddings", config.vocab_size)?),
            },
            position_embeddings: table("position_embeddings", config.max_position_embeddings)?,
            token_type_embedding: table("token_type_embeddings", config.type_vocab_size)?[..hidden].to_vec(),
            embedding_norm: Norm::load(embeddings.pp("LayerNorm"), hidden, config.layer_norm_eps)?,
            layers,
            hidden_size: hidden,
            heads: config.num_attention_heads,
            max_positions: config.max_position_embeddings,
            vocabulary: config.vocab_size,
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// The last hidden state of every token of `sequences` (token ids, each starting at
    /// position 0), packed end to end: one row of `hidden_size` per token, `(tokens, hidden)`.
    pub fn forward(&self, sequences: &[&[u32]]) -> candle_core::Result<Tensor> {
        let hidden = self.hidden_size;
        let lengths: Vec<usize> = sequences.iter().map(|sequence| sequence.len()).collect();
        let tokens: usize = lengths.iter().sum();
        let mut words = Vec::with_capacity(tokens * hidden);
        let mut positions = Vec::with_capacity(tokens * hidden);
        for sequence in sequences {
            if sequence.len() > self.max_positions {
                candle_core::bail!(
                    "a sequence of {} tokens is longer than the model's {}",
                    sequence.len(),
                    self.max_positions
                );
            }
            for (position, &id) in sequence.iter().enumerate() {
                let id = id as usize;
                if id >= self.vocabulary {
                    candle_core::bail!("token id {id} is outside the vocabulary of {}", self.vocabulary);
                }
                self.word_embeddings.extend_row(id, hidden, &mut words);
                positions.extend_from_slice(&self.position_embeddings[position * hidden..(position + 1) * hidden]);
            }
        }
        // (word + token type) + position, then the embedding layer norm.
        hearth_kernels::add_bias_residual_layer_norm(
            &mut words,
            &positions,
            &self.token_type_embedding,
            self.embedding_norm.kernel(),
        );
        let mut state = Tensor::from_vec(words, (tokens, hidden), &Device::Cpu)?;
        for layer in &self.layers {
            state = layer.forward(&state, &lengths, self.heads)?;
        }
        Ok(state)
    }
}

/// The `f32` values of a contiguous CPU tensor.
pub(super) fn values<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("{op}: input is not contiguous") };
    Ok(&storage.as_slice::<f32>()?[start..end])
}

pub(super) fn values_mut<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a mut [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("{op}: input is not contiguous") };
    match storage {
        CpuStorage::F32(values) => Ok(&mut values[start..end]),
        _ => candle_core::bail!("{op}: expects f32 values"),
    }
}

/// Self-attention of packed sequences, from the fused projection's output (`tokens × 3·hidden`)
/// to the heads' context (`tokens × hidden`).
struct Attention<'a> {
    bias: &'a [f32],
    lengths: &'a [usize],
    heads: usize,
}

impl candle_core::CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "packed-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let projected = values(storage, layout, self.name())?;
        let tokens: usize = self.lengths.iter().sum();
        let hidden = self.bias.len() / 3;
        if layout.dims() != [tokens, 3 * hidden] {
            candle_core::bail!("packed-attention: expected ({tokens}, {}), got {:?}", 3 * hidden, layout.dims());
        }
        let mut context = vec![0.0_f32; tokens * hidden];
        hearth_kernels::attention(projected, self.bias, self.lengths, self.heads, &mut context);
        Ok((CpuStorage::F32(context), Shape::from((tokens, hidden))))
    }
}

/// `x ← gelu(x + bias)`, row by row.
struct AddBiasGelu<'a> {
    bias: &'a [f32],
}

impl InplaceOp1 for AddBiasGelu<'_> {
    fn name(&self) -> &'static str {
        "add-bias-gelu"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        if layout.dims().last() != Some(&self.bias.len()) {
            candle_core::bail!("add-bias-gelu: rows of {:?} for a bias of {}", layout.dims(), self.bias.len());
        }
        hearth_kernels::add_bias_gelu(values_mut(storage, layout, self.name())?, self.bias);
        Ok(())
    }
}

/// `x ← layer_norm(x + bias + residual)`, row by row.
struct AddBiasResidualNorm<'a> {
    bias: &'a [f32],
    norm: &'a Norm,
}

impl InplaceOp2 for AddBiasResidualNorm<'_> {
    fn name(&self) -> &'static str {
        "add-bias-residual-norm"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> candle_core::Result<()> {
        if layout.dims() != residual_layout.dims() || layout.dims().last() != Some(&self.bias.len()) {
            candle_core::bail!(
                "add-bias-residual-norm: {:?} plus {:?} with a bias of {}",
                layout.dims(),
                residual_layout.dims(),
                self.bias.len()
            );
        }
        let residual = values(residual, residual_layout, self.name())?;
        hearth_kernels::add_bias_residual_layer_norm(
            values_mut(storage, layout, self.name())?,
            residual,
            self.bias,
            self.norm.kernel(),
        );
        Ok(())
    }
}
