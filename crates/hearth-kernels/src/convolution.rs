//! Kernels for the image classifier (`hearth_core::models::efficientnet_lite`), on images laid
//! out channels-last (NHWC: batch, row, column, channel), where a 1×1 convolution is one matrix
//! multiply and a depthwise convolution runs along contiguous channels. Padding is given per
//! side, for TensorFlow's "same" padding (more at the bottom and right).

use rayon::prelude::*;

/// The geometry of a convolution over a batch of NHWC images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_height: usize,
    pub out_width: usize,
}

impl Window {
    /// TensorFlow's "same" padding: the output is ⌈input / stride⌉ on each side, and the
    /// padding that takes is split with the odd pixel at the bottom and right.
    pub fn same(batch: usize, height: usize, width: usize, channels: usize, kernel: usize, stride: usize) -> Self {
        let out_height = height.div_ceil(stride);
        let out_width = width.div_ceil(stride);
        let pad = |out: usize, size: usize| ((out - 1) * stride + kernel).saturating_sub(size);
        Self {
            batch,
            height,
            width,
            channels,
            kernel,
            stride,
            pad_top: pad(out_height, height) / 2,
            pad_left: pad(out_width, width) / 2,
            out_height,
            out_width,
        }
    }

    fn input_len(&self) -> usize {
        self.batch * self.height * self.width * self.channels
    }

    /// The input row and column a kernel tap reads for an output position, if inside.
    #[inline(always)]
    fn source(&self, out: usize, tap: usize, pad: usize, size: usize) -> Option<usize> {
        (out * self.stride + tap).checked_sub(pad).filter(|&at| at < size)
    }
}

/// Depthwise convolution plus bias, then ReLU6 when `relu6`: `weights` holds
/// `kernel × kernel × channels` values (tap row, tap column, channel), `bias` one per channel.
/// Writes `batch × out_height × out_width × channels` values to `out`.
///
/// # Panics
/// If a slice's length does not match the window.
pub fn depthwise(input: &[f32], window: Window, weights: &[f32], bias: &[f32], relu6: bool, out: &mut [f32]) {
    let Window { channels, kernel, height, width, out_height, out_width, .. } = window;
    assert_eq!(input.len(), window.input_len(), "depthwise: input");
    assert_eq!(weights.len(), kernel * kernel * channels, "depthwise: weights");
    assert_eq!(bias.len(), channels, "depthwise: bias");
    assert_eq!(out.len(), window.batch * out_height * out_width * channels, "depthwise: out");
    let image_len = height * width * channels;
    // One task per output row of one image.
    out.par_chunks_mut(out_width * channels).enumerate().for_each(|(row_index, out_row)| {
        let (image, y) = (row_index / out_height, row_index % out_height);
        depthwise_row(&input[image * image_len..(image + 1) * image_len], window, y, weights, bias, relu6, out_row);
    });
}

/// Channels accumulated together in `depthwise_row`: two AVX registers' worth.
const LANES: usize = 16;

/// One output row of `depthwise`: for each pixel, a block of channels at a time sums every
/// tap in registers and is stored once (rather than reading and writing the row per tap).
/// Compiled twice: for AVX2 + FMA, picked at run time where the CPU has them, and baseline.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn depthwise_row(
    image: &[f32],
    window: Window,
    y: usize,
    weights: &[f32],
    bias: &[f32],
    relu6: bool,
    out_row: &mut [f32],
) {
    let Window { channels, kernel, height, width, .. } = window;
    let rows: Vec<(usize, usize)> = (0..kernel)
        .filter_map(|ky| window.source(y, ky, window.pad_top, height).map(|source_y| (ky, source_y)))
        .collect();
    // (weight offset, input offset) of each tap inside the image, reused pixel to pixel.
    let mut taps: Vec<(usize, usize)> = Vec::with_capacity(kernel * kernel);
    for (x, pixel) in out_row.chunks_exact_mut(channels).enumerate() {
        taps.clear();
        for &(ky, source_y) in &rows {
            for kx in 0..kernel {
                if let Some(source_x) = window.source(x, kx, window.pad_left, width) {
                    taps.push(((ky * kernel + kx) * channels, (source_y * width + source_x) * channels));
                }
            }
        }
        let mut start = 0;
        while start + LANES <= channels {
            let mut sums: [f32; LANES] = bias[start..start + LANES].try_into().unwrap_or([0.0; LANES]);
            for &(weight_at, input_at) in &taps {
                let weight: &[f32; LANES] =
                    weights[weight_at + start..weight_at + start + LANES].try_into().unwrap_or(&[0.0; LANES]);
                let input: &[f32; LANES] =
                    image[input_at + start..input_at + start + LANES].try_into().unwrap_or(&[0.0; LANES]);
                for lane in 0..LANES {
                    sums[lane] += input[lane] * weight[lane];
                }
            }
            pixel[start..start + LANES].copy_from_slice(&sums);
            start += LANES;
        }
        for channel in start..channels {
            pixel[channel] = bias[channel]
                + taps
                    .iter()
                    .map(|&(weight_at, input_at)| image[input_at + channel] * weights[weight_at + channel])
                    .sum::<f32>();
        }
        if relu6 {
            for value in pixel.iter_mut() {
                *value = value.clamp(0.0, 6.0);
            }
        }
    }
}

/// The patches a `kernel × kernel` convolution reads, one row per output position
/// (`batch × out_height × out_width` rows of `kernel × kernel × channels`, tap row, tap
/// column, channel; zeros where a tap falls in the padding): a convolution is then one matrix
/// multiply.
///
/// # Panics
/// If `input` does not match the window.
pub fn patches(input: &[f32], window: Window) -> Vec<f32> {
    let Window { channels, kernel, height, width, out_height, out_width, .. } = window;
    assert_eq!(input.len(), window.input_len(), "patches: input");
    let row_len = kernel * kernel * channels;
    let mut rows = vec![0.0_f32; window.batch * out_height * out_width * row_len];
    let image_len = height * width * channels;
    rows.par_chunks_mut(out_width * row_len).enumerate().for_each(|(row_index, out_rows)| {
        let (image, y) = (row_index / out_height, row_index % out_height);
        let image_in = &input[image * image_len..(image + 1) * image_len];
        for (x, row) in out_rows.chunks_exact_mut(row_len).enumerate() {
            for ky in 0..kernel {
                let Some(source_y) = window.source(y, ky, window.pad_top, height) else { continue };
                for kx in 0..kernel {
                    let Some(source_x) = window.source(x, kx, window.pad_left, width) else { continue };
                    let at = (source_y * width + source_x) * channels;
                    let tap = (ky * kernel + kx) * channels;
                    row[tap..tap + channels].copy_from_slice(&image_in[at..at + channels]);
                }
            }
        }
    });
    rows
}

/// `rows[r][c] += bias[c]`, then `+= residual[r][c]` when given, then ReLU6 when `relu6`.
///
/// # Panics
/// If `rows` (or `residual`) is not a whole number of rows of `bias.len()`.
pub fn bias_activation(rows: &mut [f32], bias: &[f32], residual: Option<&[f32]>, relu6: bool) {
    let width = bias.len();
    assert!(width > 0 && rows.len() % width == 0, "bias_activation: {} values in rows of {width}", rows.len());
    if let Some(residual) = residual {
        assert_eq!(residual.len(), rows.len(), "bias_activation: residual");
    }
    let per_task = super::rows_per_task(rows.len() / width, width) * width;
    rows.par_chunks_mut(per_task).enumerate().for_each(|(task, chunk)| {
        let start = task * per_task;
        bias_activation_rows(chunk, bias, residual.map(|residual| &residual[start..start + chunk.len()]), relu6);
    });
}

#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn bias_activation_rows(rows: &mut [f32], bias: &[f32], residual: Option<&[f32]>, relu6: bool) {
    let width = bias.len();
    for (index, row) in rows.chunks_exact_mut(width).enumerate() {
        for (value, &add) in row.iter_mut().zip(bias) {
            *value += add;
        }
        if let Some(residual) = residual {
            for (value, &add) in row.iter_mut().zip(&residual[index * width..(index + 1) * width]) {
                *value += add;
            }
        }
        if relu6 {
            for value in row.iter_mut() {
                *value = value.clamp(0.0, 6.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: every output, every tap, in NHWC.
    fn reference(input: &[f32], window: Window, weights: &[f32], bias: &[f32]) -> Vec<f32> {
        let Window { channels, kernel, height, width, out_height, out_width, .. } = window;
        let mut out = Vec::new();
        for image in 0..window.batch {
            for y in 0..out_height {
                for x in 0..out_width {
                    for c in 0..channels {
                        let mut sum = bias[c];
                        for ky in 0..kernel {
                            for kx in 0..kernel {
                                let sy = (y * window.stride + ky) as isize - window.pad_top as isize;
                                let sx = (x * window.stride + kx) as isize - window.pad_left as isize;
                                if sy >= 0 && sx >= 0 && (sy as usize) < height && (sx as usize) < width {
                                    let at = ((image * height + sy as usize) * width + sx as usize) * channels + c;
                                    sum += input[at] * weights[(ky * kernel + kx) * channels + c];
                                }
                            }
                        }
                        out.push(sum);
                    }
                }
            }
        }
        out
    }

    fn values(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        // 224 → 112 with a 3×3 stride-2 kernel pads 0 on top and 1 at the bottom.
        let window = Window::same(1, 224, 224, 3, 3, 2);
        assert_eq!((window.out_height, window.pad_top, window.pad_left), (112, 0, 0));
        let window = Window::same(1, 14, 14, 8, 5, 1);
        assert_eq!((window.out_height, window.pad_top), (14, 2));
        let window = Window::same(1, 7, 9, 8, 5, 2);
        assert_eq!((window.out_height, window.out_width, window.pad_top, window.pad_left), (4, 5, 2, 2));
    }

    #[test]
    fn depthwise_and_patches_match_the_definition() {
        for (height, width, channels, kernel, stride) in [(7, 9, 5, 3, 1), (8, 8, 16, 5, 2), (5, 6, 3, 3, 2)] {
            let window = Window::same(2, height, width, channels, kernel, stride);
            let input = values(window.input_len(), 7);
            let weights = values(kernel * kernel * channels, 11);
            let bias = values(channels, 13);
            let expected = reference(&input, window, &weights, &bias);
            let mut out = vec![0.0; expected.len()];
            depthwise(&input, window, &weights, &bias, false, &mut out);
            for (a, b) in out.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            depthwise(&input, window, &weights, &bias, true, &mut out);
            assert!(out.iter().zip(&expected).all(|(a, b)| (a - b.clamp(0.0, 6.0)).abs() < 1e-5));

            // Patches times the kernel as a matrix is the same convolution, one channel at a time
            // summed: check a full convolution to one output channel.
            let rows = patches(&input, window);
            let row_len = kernel * kernel * channels;
            for (position, row) in rows.chunks_exact(row_len).enumerate() {
                let dense: f32 = row.iter().zip(&weights).map(|(a, b)| a * b).sum();
                let per_channel: f32 = (0..channels).map(|c| expected[position * channels + c] - bias[c]).sum();
                assert!((dense - per_channel).abs() < 1e-4, "{dense} vs {per_channel}");
            }
        }
    }

    #[test]
    fn bias_activation_adds_the_residual_and_clamps() {
        let mut rows = vec![1.0, -2.0, 7.0, 0.5];
        bias_activation(&mut rows, &[0.5, 0.0], Some(&[0.0, 1.0, 0.0, -1.0]), true);
        assert_eq!(rows, [1.5, 0.0, 6.0, 0.0]);
        let mut rows = vec![1.0, -2.0];
        bias_activation(&mut rows, &[1.0, 1.0], None, false);
        assert_eq!(rows, [2.0, -1.0]);
    }
}
