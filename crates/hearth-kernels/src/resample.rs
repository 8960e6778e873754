//! Pillow's antialiased bilinear resize, exactly, in floating point: what the image classifier's
//! preprocessing needs to match the reference computation (`hearth_core::images`).

/// One channel of an interleaved RGB image (`pixels`, `width × height × 3` bytes, 0–255 read
/// as floats), cropped to `crop` = (left, top, width, height) and resized to `size × size` as
/// Pillow's `Image.resize(..., BILINEAR, box=...)` does on a 32-bit float image: horizontal
/// pass, then vertical, each a normalised triangle filter whose support grows with the
/// downscale factor; sums in f64, results stored as f32.
///
/// # Panics
/// If `pixels` is shorter than `width × height × 3`.
pub fn resample(
    pixels: &[u8],
    width: usize,
    height: usize,
    channel: usize,
    crop: (u32, u32, u32, u32),
    size: usize,
) -> Vec<f32> {
    assert!(pixels.len() >= width * height * 3, "resample: {} bytes for {width} × {height}", pixels.len());
    let (left, top, crop_width, crop_height) = crop;
    let horizontal = coefficients(f64::from(left), f64::from(left + crop_width), width, size);
    let vertical = coefficients(f64::from(top), f64::from(top + crop_height), height, size);
    // Only the rows the vertical pass reads.
    let first_row = vertical.iter().map(|(start, _)| *start).min().unwrap_or(0);
    let last_row = vertical.iter().map(|(start, weights)| start + weights.len()).max().unwrap_or(0);
    let raw = pixels;
    let mut rows = vec![0.0_f32; (last_row - first_row) * size];
    for y in first_row..last_row {
        let line = &raw[y * width * 3..(y + 1) * width * 3];
        for (x, (start, weights)) in horizontal.iter().enumerate() {
            let sum: f64 = weights
                .iter()
                .enumerate()
                .map(|(offset, weight)| f64::from(line[(start + offset) * 3 + channel]) * weight)
                .sum();
            #[allow(clippy::cast_possible_truncation)]
            let value = sum as f32;
            rows[(y - first_row) * size + x] = value;
        }
    }
    let mut out = vec![0.0_f32; size * size];
    for (y, (start, weights)) in vertical.iter().enumerate() {
        for x in 0..size {
            let sum: f64 = weights
                .iter()
                .enumerate()
                .map(|(offset, weight)| f64::from(rows[(start + offset - first_row) * size + x]) * weight)
                .sum();
            #[allow(clippy::cast_possible_truncation)]
            let value = sum as f32;
            out[y * size + x] = value;
        }
    }
    out
}

/// Pillow's `precompute_coeffs` for the bilinear filter: for each output pixel, the first
/// input pixel it reads and the normalised weights.
fn coefficients(start: f64, end: f64, input_size: usize, output_size: usize) -> Vec<(usize, Vec<f64>)> {
    #[allow(clippy::cast_precision_loss)]
    let scale = (end - start) / output_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the triangle's support is 1
    let inverse_scale = 1.0 / filter_scale;
    (0..output_size)
        .map(|index| {
            #[allow(clippy::cast_precision_loss)]
            let center = start + (index as f64 + 0.5) * scale;
            // C's (int) truncates towards zero.
            #[allow(clippy::cast_possible_truncation)]
            let first = ((center - support + 0.5) as i64).max(0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let last = ((center + support + 0.5) as i64).min(input_size as i64);
            let mut weights: Vec<f64> = (first..last.max(first))
                .map(|x| {
                    #[allow(clippy::cast_precision_loss)]
                    let distance = ((x as f64 - center + 0.5) * inverse_scale).abs();
                    if distance < 1.0 {
                        1.0 - distance
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total != 0.0 {
                for weight in &mut weights {
                    *weight /= total;
                }
            }
            #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
            (first as usize, weights)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_image_keeps_its_value_and_weights_sum_to_one() {
        let pixels: Vec<u8> = (0..300 * 200).flat_map(|_| [10, 20, 30]).collect();
        let out = resample(&pixels, 300, 200, 1, (50, 0, 200, 200), 224);
        assert!(out.iter().all(|value| (value - 20.0).abs() < 1e-4));
        for (_, weights) in coefficients(0.0, 1000.0, 1000, 224) {
            assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn halving_weighs_neighbours_as_pillow_does() {
        // Pillow: Image.fromarray([[0, 40, 80, 120]], "F").resize((2, 1), BILINEAR)
        // gives [[28.571428, 91.42857]] (weights 3/7, 3/7, 1/7 and 1/7, 3/7, 3/7). Resized to
        // 2 × 2, the one source row is both output rows.
        let pixels: Vec<u8> = [0_u8, 40, 80, 120].iter().flat_map(|&v| [v, v, v]).collect();
        let out = resample(&pixels, 4, 1, 0, (0, 0, 4, 1), 2);
        for row in out.chunks(2) {
            assert!((row[0] - 28.571_428).abs() < 1e-4 && (row[1] - 91.428_57).abs() < 1e-4, "{out:?}");
        }
    }
}
