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

/// `decode` for several files at once, across the cores, in order.
pub fn decode_all(files: &[&[u8]]) -> Vec<Result<RgbImage>> {
    use rayon::prelude::*;
    files.par_iter().map(|bytes| decode(bytes)).collect()
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
/// and resized to `size × size` exactly as Pillow's bilinear resize does on a float image
/// (`hearth_kernels::resample`).
pub fn resample(image: &RgbImage, channel: usize, crop: (u32, u32, u32, u32), size: usize) -> Vec<f32> {
    hearth_kernels::resample::resample(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
        channel,
        crop,
        size,
    )
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
    fn resampling_a_flat_image_keeps_its_value() {
        let image = RgbImage::from_pixel(300, 200, image::Rgb([10, 20, 30]));
        let out = resample(&image, 1, (50, 0, 200, 200), 224);
        assert!(out.iter().all(|value| (value - 20.0).abs() < 1e-4));
    }
}
