//! Hearth's CPU kernels. `convolution` and `resample` serve the image classifier; the rest, the BERT text
//! encoder (`hearth_core::models::encoder`): attention
//! over packed sequences, bias + GELU, and bias + residual + layer norm, each split across the
//! rayon pool that candle's matrix multiply also uses. They exist because candle's generic ops
//! spend more time than the matrix multiplies around them: a scalar `erf` in double precision
//! for every GELU input, a scalar `expf` per softmax input, one pass and one fresh buffer per
//! element-wise op, and attention scores for padding. The `exp` and `erf` here are branch-free
//! polynomials the compiler turns into SIMD code; their accuracy is tested against `std`.
//!
//! Plain slices in, no candle, no unsafe code; the crate is built optimised even in debug
//! builds (`[profile.dev.package.hearth-kernels]`), as the dependencies are.

pub mod convolution;
pub mod resample;

use rayon::prelude::*;

/// Rows handed to one rayon task: enough work to outweigh the hand-off.
const MIN_ELEMENTS_PER_TASK: usize = 16 * 1024;

/// e^x with a relative error below 3e-7 over the whole `f32` range; inputs below -87 give
/// about 1.6e-38 rather than 0 (the callers subtract a maximum first, so they never get there).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 × 2^23: adding it rounds to an integer in the low bits
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    // x = n ln 2 + r with |r| ≤ ln 2 / 2, so e^x = 2^n e^r.
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let e_r =
        1.0 + r * (1.0 + r * (1.0 / 2.0 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // The low bits of `shifted` hold n + 0x40_0000; n + 127 is 2^n's biased exponent.
    let two_to_n = f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    two_to_n * e_r
}

/// The error function, within 4e-7 of the exact value (Abramowitz and Stegun 7.1.26, and its series near 0).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152, 1.061_405_4];
    // Near zero, 1 - (≈1) loses digits: there the Maclaurin series is used instead. Both are
    // computed and one is picked, so the loop stays branch-free.
    const SERIES: [f32; 6] = [1.0, -1.0 / 3.0, 1.0 / 10.0, -1.0 / 42.0, 1.0 / 216.0, -1.0 / 1320.0];
    let magnitude = x.abs();
    let square = x * x;
    let series = std::f32::consts::FRAC_2_SQRT_PI
        * x
        * (SERIES[0]
            + square
                * (SERIES[1]
                    + square * (SERIES[2] + square * (SERIES[3] + square * (SERIES[4] + square * SERIES[5])))));
    let t = 1.0 / (1.0 + P * magnitude);
    let polynomial = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let tail = (1.0 - polynomial * exp(-square)).copysign(x);
    if magnitude < 0.5 {
        series
    } else {
        tail
    }
}

/// GELU as BERT defines it, with the exact (erf) form: x Φ(x).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Sum with eight independent lanes, so the loop becomes SIMD code.
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let chunks = values.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, value) in lanes.iter_mut().zip(chunk) {
            *lane += value;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// The dot product of two vectors (of the shorter length), for callers in other crates: not
/// inlined, so it runs as this crate is built (optimised) whatever the caller's profile.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let length = a.len().min(b.len());
    dot_lanes(&a[..length], &b[..length])
}

/// `table[r * columns.len() + c] = dot(rows[r], columns[c])`, rows split across the rayon pool:
/// many posts against a few centroids at once.
pub fn dot_table(rows: &[&[f32]], columns: &[&[f32]]) -> Vec<f32> {
    let width = columns.len();
    let mut table = vec![0.0_f32; rows.len() * width];
    if width == 0 {
        return table;
    }
    let per_task = rows_per_task(rows.len(), width * 64);
    table.par_chunks_mut(per_task * width).zip(rows.par_chunks(per_task)).for_each(|(out, rows)| {
        for (out, row) in out.chunks_exact_mut(width).zip(rows) {
            for (value, column) in out.iter_mut().zip(columns) {
                *value = dot(row, column);
            }
        }
    });
    table
}

#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (a_chunk, b_chunk) in a_chunks.zip(b_chunks) {
        for ((lane, x), y) in lanes.iter_mut().zip(a_chunk).zip(b_chunk) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

#[inline(always)]
fn max(values: &[f32]) -> f32 {
    values.iter().fold(f32::NEG_INFINITY, |best, &value| if value > best { value } else { best })
}

/// How many rows of `width` one task takes so that `rows` are split in a few even parts.
fn rows_per_task(rows: usize, width: usize) -> usize {
    let by_size = MIN_ELEMENTS_PER_TASK.div_ceil(width.max(1));
    let by_threads = rows.div_ceil(4 * rayon::current_num_threads());
    by_size.max(by_threads).max(1)
}

/// `rows[r][c] = gelu(rows[r][c] + bias[c])` for rows of `bias.len()` values.
///
/// # Panics
/// If `rows` is not a whole number of rows.
pub fn add_bias_gelu(rows: &mut [f32], bias: &[f32]) {
    let width = bias.len();
    assert!(width > 0 && rows.len() % width == 0, "add_bias_gelu: {} values in rows of {width}", rows.len());
    let chunk = rows_per_task(rows.len() / width, width) * width;
    rows.par_chunks_mut(chunk).for_each(|rows| {
        for row in rows.chunks_exact_mut(width) {
            for (value, bias) in row.iter_mut().zip(bias) {
                *value = gelu(*value + bias);
            }
        }
    });
}

/// The learned scale and shift of a layer norm, and its epsilon.
#[derive(Debug, Clone, Copy)]
pub struct LayerNorm<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub epsilon: f32,
}

/// `rows[r] = layer_norm(rows[r] + bias + residual[r])`: the end of each BERT sub-layer.
///
/// # Panics
/// If the slices do not have matching shapes.
pub fn add_bias_residual_layer_norm(rows: &mut [f32], residual: &[f32], bias: &[f32], norm: LayerNorm<'_>) {
    let width = bias.len();
    assert!(
        width > 0 && rows.len() % width == 0 && residual.len() == rows.len(),
        "add_bias_residual_layer_norm: {} values, {} residual values, rows of {width}",
        rows.len(),
        residual.len()
    );
    assert!(norm.gamma.len() == width && norm.beta.len() == width, "layer norm parameters of the wrong width");
    let chunk = rows_per_task(rows.len() / width, width) * width;
    rows.par_chunks_mut(chunk).zip(residual.par_chunks(chunk)).for_each(|(rows, residual)| {
        for (row, residual) in rows.chunks_exact_mut(width).zip(residual.chunks_exact(width)) {
            for ((value, bias), residual) in row.iter_mut().zip(bias).zip(residual) {
                *value = (*value + bias) + residual;
            }
            let mean = sum(row) / width as f32;
            for value in row.iter_mut() {
                *value -= mean;
            }
            let variance = dot_lanes(row, row) / width as f32;
            let scale = 1.0 / (variance + norm.epsilon).sqrt();
            for ((value, gamma), beta) in row.iter_mut().zip(norm.gamma).zip(norm.beta) {
                *value = *value * scale * gamma + beta;
            }
        }
    });
}

/// In-place softmax of one row of scores.
#[inline(always)]
fn softmax(scores: &mut [f32]) {
    let highest = max(scores);
    for score in scores.iter_mut() {
        *score = exp(*score - highest);
    }
    let scale = 1.0 / sum(scores);
    for score in scores.iter_mut() {
        *score *= scale;
    }
}

/// Multi-head self-attention over packed sequences (no padding: sequence `s` owns the next
/// `sequence_lengths[s]` rows). `qkv` holds one row per token, `[query | key | value]`, each
/// `heads × head_size` wide, straight out of the fused projection (before its `bias`). Each
/// token attends to every token of its own sequence; `out` gets one row of `heads × head_size`
/// per token, heads side by side, as the output projection expects.
///
/// # Panics
/// If the slices do not match the shape described.
pub fn attention(qkv: &[f32], bias: &[f32], sequence_lengths: &[usize], heads: usize, out: &mut [f32]) {
    let width = bias.len();
    let hidden = width / 3;
    let tokens: usize = sequence_lengths.iter().sum();
    assert!(
        heads > 0 && hidden % heads == 0 && width == 3 * hidden,
        "attention: {width} projections do not split into 3 × {heads} heads"
    );
    assert!(
        qkv.len() == tokens * width && out.len() == tokens * hidden,
        "attention: {} projected values and {} outputs for {tokens} tokens",
        qkv.len(),
        out.len()
    );
    let mut work = Vec::with_capacity(sequence_lengths.len());
    let (mut qkv_rest, mut out_rest) = (qkv, out);
    for &length in sequence_lengths {
        let (qkv_sequence, qkv_after) = qkv_rest.split_at(length * width);
        let (out_sequence, out_after) = std::mem::take(&mut out_rest).split_at_mut(length * hidden);
        work.push((qkv_sequence, out_sequence));
        (qkv_rest, out_rest) = (qkv_after, out_after);
    }
    work.into_par_iter().with_max_len(1).for_each(|(qkv, out)| sequence_attention(qkv, bias, heads, out));
}

/// `attention` for one sequence.
fn sequence_attention(qkv: &[f32], bias: &[f32], heads: usize, out: &mut [f32]) {
    let width = bias.len();
    let hidden = width / 3;
    let head_size = hidden / heads;
    let length = qkv.len() / width;
    let scale = 1.0 / (head_size as f32).sqrt();
    // One head at a time: its queries (pre-scaled), keys and values gathered with their bias.
    let mut queries = vec![0.0_f32; length * head_size];
    let mut keys = vec![0.0_f32; length * head_size];
    let mut values = vec![0.0_f32; length * head_size];
    let mut scores = vec![0.0_f32; length];
    for head in 0..heads {
        let columns = head * head_size..(head + 1) * head_size;
        for (token, row) in qkv.chunks_exact(width).enumerate() {
            let into = token * head_size..(token + 1) * head_size;
            for (part, (gathered, factor)) in
                [(&mut queries, scale), (&mut keys, 1.0), (&mut values, 1.0)].into_iter().enumerate()
            {
                let from = part * hidden + columns.start..part * hidden + columns.end;
                for ((target, value), bias) in
                    gathered[into.clone()].iter_mut().zip(&row[from.clone()]).zip(&bias[from])
                {
                    *target = (value + bias) * factor;
                }
            }
        }
        for (query, out_row) in queries.chunks_exact(head_size).zip(out.chunks_exact_mut(hidden)) {
            for (score, key) in scores.iter_mut().zip(keys.chunks_exact(head_size)) {
                *score = dot_lanes(query, key);
            }
            softmax(&mut scores);
            let context = &mut out_row[columns.clone()];
            context.fill(0.0);
            for (&weight, value) in scores.iter().zip(values.chunks_exact(head_size)) {
                for (sum, value) in context.iter_mut().zip(value) {
                    *sum += weight * value;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> impl Iterator<Item = f32> {
        (-200_000..=200_000).map(|step| step as f32 * 1e-4)
    }

    #[test]
    fn exp_is_within_3e_7_relative() {
        for x in samples().map(|x| x * 4.0) {
            let exact = f64::from(x).exp();
            let relative = ((f64::from(exp(x)) - exact) / exact).abs();
            assert!(relative < 3e-7, "exp({x}) = {} vs {exact}: {relative:e}", exp(x));
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
    }

    #[test]
    fn erf_is_within_4e_7() {
        for x in samples() {
            let exact = libm_erf(f64::from(x));
            let error = (f64::from(erf(x)) - exact).abs();
            assert!(error < 4e-7, "erf({x}) = {} vs {exact}: {error:e}", erf(x));
        }
    }

    /// erf in double precision by its Taylor series (|x| ≤ 3) or continued fraction (beyond).
    fn libm_erf(x: f64) -> f64 {
        if x.abs() > 3.0 {
            // erfc(x) = e^{-x²}/(x√π) · 1/(1 + 1/(2x²)/(1 + 2/(2x²)/(1 + ...)))
            let a = x.abs();
            let mut fraction = 0.0;
            for k in (1..60).rev() {
                fraction = (k as f64 / 2.0) / (a + fraction);
            }
            let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + fraction);
            return (1.0 - erfc).copysign(x);
        }
        let (mut term, mut total) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn dot_table_is_every_pairwise_dot() {
        let rows: Vec<Vec<f32>> = (0..37).map(|r| (0..9).map(|c| (r * 9 + c) as f32 * 0.01).collect()).collect();
        let columns: Vec<Vec<f32>> = (0..3).map(|c| (0..9).map(|i| (c + i) as f32).collect()).collect();
        let row_refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let column_refs: Vec<&[f32]> = columns.iter().map(Vec::as_slice).collect();
        let table = dot_table(&row_refs, &column_refs);
        for (r, row) in rows.iter().enumerate() {
            for (c, column) in columns.iter().enumerate() {
                let expected: f32 = row.iter().zip(column).map(|(a, b)| a * b).sum();
                assert!((table[r * 3 + c] - expected).abs() < 1e-4);
            }
        }
        assert!(dot_table(&row_refs, &[]).is_empty());
    }

    #[test]
    fn attention_matches_a_direct_computation() {
        let (heads, head_size) = (3, 4);
        let hidden = heads * head_size;
        let lengths = [2, 5, 1];
        let tokens: usize = lengths.iter().sum();
        let qkv: Vec<f32> = (0..tokens * 3 * hidden).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let bias: Vec<f32> = (0..3 * hidden).map(|i| (i % 7) as f32 / 10.0 - 0.3).collect();
        let mut out = vec![f32::NAN; tokens * hidden];
        attention(&qkv, &bias, &lengths, heads, &mut out);

        let projected = |token: usize, part: usize, head: usize, c: usize| {
            let column = part * hidden + head * head_size + c;
            f64::from(qkv[token * 3 * hidden + column] + bias[column])
        };
        let mut start = 0;
        for length in lengths {
            for head in 0..heads {
                for i in start..start + length {
                    let scores: Vec<f64> = (start..start + length)
                        .map(|j| {
                            (0..head_size).map(|c| projected(i, 0, head, c) * projected(j, 1, head, c)).sum::<f64>()
                                / (head_size as f64).sqrt()
                        })
                        .collect();
                    let highest = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let weights: Vec<f64> = scores.iter().map(|s| (s - highest).exp()).collect();
                    let total: f64 = weights.iter().sum();
                    for c in 0..head_size {
                        let expected: f64 = (start..start + length)
                            .zip(&weights)
                            .map(|(j, w)| w / total * projected(j, 2, head, c))
                            .sum();
                        let got = f64::from(out[i * hidden + head * head_size + c]);
                        assert!((got - expected).abs() < 1e-5, "token {i} head {head} column {c}: {got} vs {expected}");
                    }
                }
            }
            start += length;
        }
    }

    #[test]
    fn layer_norm_and_gelu_match_direct_computations() {
        let width = 11;
        let rows: Vec<f32> = (0..width * 3).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let residual: Vec<f32> = (0..width * 3).map(|i| (i as f32 * 0.11).cos()).collect();
        let bias: Vec<f32> = (0..width).map(|i| i as f32 * 0.05).collect();
        let gamma: Vec<f32> = (0..width).map(|i| 1.0 + i as f32 * 0.01).collect();
        let beta: Vec<f32> = (0..width).map(|i| -(i as f32) * 0.02).collect();
        let mut normed = rows.clone();
        add_bias_residual_layer_norm(
            &mut normed,
            &residual,
            &bias,
            LayerNorm { gamma: &gamma, beta: &beta, epsilon: 1e-12 },
        );
        for r in 0..3 {
            let v: Vec<f64> =
                (0..width).map(|c| f64::from(rows[r * width + c] + bias[c] + residual[r * width + c])).collect();
            let mean = v.iter().sum::<f64>() / width as f64;
            let variance = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / width as f64;
            for c in 0..width {
                let expected = (v[c] - mean) / (variance + 1e-12).sqrt() * f64::from(gamma[c]) + f64::from(beta[c]);
                assert!((f64::from(normed[r * width + c]) - expected).abs() < 1e-5);
            }
        }
        let mut activated = rows.clone();
        add_bias_gelu(&mut activated, &bias);
        for (i, (&got, &x)) in activated.iter().zip(&rows).enumerate() {
            let x = f64::from(x + bias[i % width]);
            let expected = 0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
            assert!((f64::from(got) - expected).abs() < 1e-6, "gelu({x}) = {got} vs {expected}");
        }
    }
}
