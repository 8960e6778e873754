//! Decoding untrusted images safely, and resampling them as the image classifier expects.
//!
//! `decode` accepts JPEG, PNG, WebP and GIF (its first frame) only, with explicit limits on
//! the file size, the dimensions and what the decoder may allocate; it applies the EXIF
//! orientation, so a phone photo comes out upright. Any failure is an `invalid_input` error
//! that says what was wrong. `resample` is Pillow's antialiased bilinear resize (a triangle
//! filter widened by the scale factor) computed in floating point, so the classifier sees
//! what the reference computation sees (`models/images/make_reference.py`).

use std::io::Cursor;

pub use image::RgbImage;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};

/// Images larger than this are refused before decoding.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
/// Largest width or height accepted.
pub const MAX_SIDE: u32 = 12_000;
/// Most a decoder may allocate for one image.
pub const MAX_DECODE_BYTES: u64 = 400 * 1024 * 1024;

/// The formats `decode` accepts, by their content (never by file name).
const FORMATS: [ImageFormat; 4] = [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP, ImageFormat::Gif];

/// Decodes an image file's bytes to upright RGB (alpha dropped, GIFs' first frame).
pub fn decode(bytes: &[u8]) -> Result<RgbImage> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::invalid(format!(
            "the image is {} MB; the most accepted is {} MB",
            bytes.len() / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| Error::invalid(format!("cannot read the image: {error}")))?;
    match reader.format() {
        Some(format) if FORMATS.contains(&format) => {}
        Some(format) => {
            return Err(Error::invalid(format!("{format:?} images are not supported (JPEG, PNG, WebP and GIF are)")))
        }
        None => return Err(Error::invalid("not an image (JPEG, PNG, WebP or GIF)")),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(describe)?;
    let orientation = decoder.orientation().map_err(describe)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(describe)?;
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

fn describe(error: image::ImageError) -> Error {
    match error {
        image::ImageError::Limits(limit) => {
            Error::invalid(format!("the image is too large to open safely ({limit}; at most {MAX_SIDE} pixels a side)"))
        }
        image::ImageError::Unsupported(detail) => Error::invalid(format!("unsupported image: {detail}")),
        other => Error::invalid(format!("the image is damaged or truncated: {other}")),
    }
}

/// One channel of `image` (0–255 as floats), cropped to `crop` = (left, top, width, height)
/// and resized to `size × size` as Pillow's `Image.resize(..., BILINEAR, box=...)` does on a
/// 32-bit float image: horizontal pass, then vertical, each a normalised triangle filter whose
/// support grows with the downscale factor; sums in f64, results stored as f32.
pub fn resample(image: &RgbImage, channel: usize, crop: (u32, u32, u32, u32), size: usize) -> Vec<f32> {
    let (left, top, crop_width, crop_height) = crop;
    let width = image.width() as usize;
    let height = image.height() as usize;
    let horizontal = coefficients(f64::from(left), f64::from(left + crop_width), width, size);
    let vertical = coefficients(f64::from(top), f64::from(top + crop_height), height, size);
    // Only the rows the vertical pass reads.
    let first_row = vertical.iter().map(|(start, _)| *start).min().unwrap_or(0);
    let last_row = vertical.iter().map(|(start, weights)| start + weights.len()).max().unwrap_or(0);
    let raw = image.as_raw();
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

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn every_supported_format_decodes_and_others_are_named() {
        let image = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(5, 3, |x, y| {
            image::Rgba([u8::try_from(x * 50).unwrap(), u8::try_from(y * 80).unwrap(), 7, 128])
        }));
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP, ImageFormat::Gif] {
            let bytes = match format {
                ImageFormat::Jpeg => encode(&DynamicImage::ImageRgb8(image.to_rgb8()), format),
                _ => encode(&image, format),
            };
            let decoded = decode(&bytes).unwrap_or_else(|error| panic!("{format:?}: {error}"));
            assert_eq!(decoded.dimensions(), (5, 3), "{format:?}");
        }
        // A TIFF header: a real image format, but not one Hearth accepts.
        let tiff = b"II*\x00\x08\x00\x00\x00\x00\x00";
        assert!(decode(tiff).unwrap_err().to_string().contains("Tiff images are not supported"));
        assert!(decode(b"hello, not an image").unwrap_err().to_string().contains("not an image"));
    }

    #[test]
    fn damaged_truncated_and_oversized_images_are_clear_errors() {
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8, y as u8, 0])));
        let png = encode(&image, ImageFormat::Png);
        let error = decode(&png[..png.len() / 2]).unwrap_err().to_string();
        assert!(error.contains("damaged or truncated"), "{error}");
        // A PNG header that claims 100,000 × 100,000 pixels.
        let mut huge = png.clone();
        huge[16..20].copy_from_slice(&100_000_u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000_u32.to_be_bytes());
        let error = decode(&huge).unwrap_err().to_string();
        assert!(error.contains("too large") || error.contains("damaged"), "{error}");
    }

    #[test]
    fn resampling_a_flat_image_keeps_its_value_and_weights_sum_to_one() {
        let image = RgbImage::from_pixel(300, 200, image::Rgb([10, 20, 30]));
        let out = resample(&image, 1, (50, 0, 200, 200), 224);
        assert!(out.iter().all(|value| (value - 20.0).abs() < 1e-4));
        for (_, weights) in coefficients(0.0, 1000.0, 1000, 224) {
            assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
