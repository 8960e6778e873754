//! The image classifier against its reference: EfficientNet-Lite0 logits for fixture photos
//! within 1e-3 of PyTorch's (`models/images/make_reference.py`), the same top-5, both
//! forward paths agreeing, and every supported format (with EXIF orientation) recognised.

use std::collections::HashMap;

use candle_core::Device;
use hearth_core::images;
use hearth_core::models::efficientnet_lite::Forward;
use hearth_core::models::image_classifier::{ImageClassifier, MODEL_ID};
use hearth_core::models::Catalog;

use crate::embeddings_support::{models_dir, repo_root};

fn classifier(forward: Forward) -> ImageClassifier {
    let catalog = Catalog::bundled().unwrap();
    let dir = catalog.model(MODEL_ID).unwrap().installed_dir(&models_dir()).unwrap_or_else(|error| {
        panic!("{error} (the test command, `cargo xtask test`, fetches it)");
    });
    ImageClassifier::load_with(&dir, &Device::Cpu, forward).unwrap()
}

fn fixture(name: &str) -> image::RgbImage {
    let bytes = std::fs::read(repo_root().join("tests/fixtures/images").join(name)).unwrap();
    images::decode(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn top5(logits: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order.truncate(5);
    order
}

fn logits(classifier: &ImageClassifier, names: &[&str]) -> Vec<Vec<f32>> {
    let inputs: Vec<Vec<f32>> = names.iter().map(|name| classifier.preprocess(&fixture(name)).unwrap()).collect();
    classifier.logits(&inputs).unwrap().to_vec2::<f32>().unwrap()
}

#[test]
fn logits_match_the_pytorch_reference_within_1e_3_with_the_same_top_5() {
    let reference: HashMap<String, Vec<f32>> = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/images/reference_logits.json")).unwrap(),
    )
    .unwrap();
    let names = ["cat.png", "espresso.png", "rocket.png"];
    let classifier = classifier(Forward::ChannelsLast);
    for (name, ours) in names.iter().zip(logits(&classifier, &names)) {
        let expected = &reference[*name];
        let worst = ours.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        assert!(worst < 1e-3, "{name}: a logit is {worst} away from PyTorch's");
        assert_eq!(top5(&ours), top5(expected), "{name}");
    }
    // The photos are what the model card says they are.
    let labels = classifier.classify(&[fixture("cat.png"), fixture("espresso.png")], 5).unwrap();
    assert!((281..=285).contains(&labels[0][0].class_id), "{:?}", labels[0]);
    assert_eq!((labels[1][0].class_id, labels[1][0].label.as_str()), (967, "espresso"));
    assert!(labels[1][0].score > 0.5 && labels[1].windows(2).all(|pair| pair[0].score >= pair[1].score));
}

#[test]
fn the_candle_path_computes_what_the_channels_last_path_does() {
    let names = ["cat.png", "rocket.png"];
    let fast = logits(&classifier(Forward::ChannelsLast), &names);
    let generic = logits(&classifier(Forward::Candle), &names);
    for (a, b) in fast.iter().flatten().zip(generic.iter().flatten()) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
}

#[test]
fn jpeg_webp_gif_and_exif_rotated_photos_are_recognised() {
    let classifier = classifier(Forward::ChannelsLast);
    let names = ["cat.png", "cat.jpg", "cat-exif-rotated.jpg", "espresso.png", "espresso.webp", "espresso.gif"];
    let images: Vec<image::RgbImage> = names.iter().map(|name| fixture(name)).collect();
    // The sideways JPEG comes out upright, the same shape as the original.
    assert_eq!(images[2].dimensions(), images[0].dimensions());
    let labels = classifier.classify(&images, 5).unwrap();
    let cats = 281..=285;
    for (name, labels) in names.iter().zip(&labels) {
        let expected_cat = name.starts_with("cat");
        let top = labels[0].class_id;
        assert!(if expected_cat { cats.contains(&top) } else { top == 967 }, "{name}: {labels:?}");
    }
    // Upright means the same picture: the rotated file's labels are the plain JPEG's.
    let ids = |labels: &[hearth_core::models::image_classifier::Label]| -> Vec<usize> {
        labels.iter().map(|label| label.class_id).collect()
    };
    assert_eq!(ids(&labels[2])[..3], ids(&labels[1])[..3]);
}
