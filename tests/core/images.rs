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

fn attachment(name: &str, alt_text: Option<&str>) -> hearth_core::post::Attachment {
    use base64::Engine as _;
    let bytes = std::fs::read(repo_root().join("tests/fixtures/images").join(name)).unwrap();
    hearth_core::post::Attachment {
        file_name: name.to_owned(),
        mime: String::new(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        alt_text: alt_text.map(str::to_owned),
    }
}

#[test]
fn the_pipeline_labels_attached_images_describes_them_and_search_finds_them_by_what_they_show() {
    use hearth_core::enrich::{enrich_batch, enrich_images_batch, image_coverage, load_image_classifier, TextModels};
    use hearth_core::models::DeviceChoice;
    use hearth_core::NewPost;

    let test = crate::support::empty_app();
    let app = &test.app;
    let post = |text: &str, images: Vec<hearth_core::post::Attachment>| {
        app.create_post(&NewPost { text: text.into(), images, ..NewPost::default() }).unwrap()
    };
    let visitor = post("Look who came to visit this morning", vec![attachment("cat.png", None)]);
    let coffee = post("Best start to the day", vec![attachment("espresso.webp", Some("My cup at the corner café"))]);
    let plain = post("A post about the weather, no pictures", Vec::new());
    assert_eq!(image_coverage(app.store()).unwrap(), (0, 2));

    let text = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    let classifier = load_image_classifier(&models_dir(), DeviceChoice::Cpu).unwrap();
    while enrich_batch(app.store(), &text, 32).unwrap() > 0 {}
    let data_dir = test.dir.path();
    assert_eq!(enrich_images_batch(app.store(), &text, &classifier, data_dir, 16).unwrap(), 2);
    assert_eq!(enrich_images_batch(app.store(), &text, &classifier, data_dir, 16).unwrap(), 0, "once only");
    assert_eq!(image_coverage(app.store()).unwrap(), (2, 2));

    let cat = &app.get_post(visitor.id).unwrap().media[0];
    assert_eq!(cat.labels.len(), 5);
    assert!((281..=285).contains(&cat.labels[0].class_id), "{:?}", cat.labels);
    let description = cat.machine_description.as_deref().unwrap();
    assert!(description.starts_with("Perhaps") && description.to_lowercase().contains("cat"), "{description}");
    let cup = &app.get_post(coffee.id).unwrap().media[0];
    assert_eq!(cup.alt_text.as_deref(), Some("My cup at the corner café"), "the author's alt text is kept");
    assert_eq!(cup.labels[0].label, "espresso");

    // Neither post's text names what its picture shows.
    let found =
        |query: &str| -> Vec<i64> { app.search(query, None, None).unwrap().posts.iter().map(|p| p.id).collect() };
    assert_eq!(found("cat").first(), Some(&visitor.id), "by the image's labels");
    assert_eq!(found("espresso").first(), Some(&coffee.id));
    assert_eq!(found("coffee").first(), Some(&coffee.id), "by meaning: the labels say espresso");
    assert!(!found("cat").contains(&plain.id));
}

#[test]
fn an_unreadable_stored_image_gets_an_error_and_the_rest_are_labelled() {
    use hearth_core::enrich::{enrich_images_batch, image_coverage, load_image_classifier, TextModels};
    use hearth_core::models::DeviceChoice;
    use hearth_core::NewPost;

    let test = crate::support::empty_app();
    let app = &test.app;
    let broken = app
        .create_post(&NewPost { text: "one".into(), images: vec![attachment("cat.png", None)], ..NewPost::default() })
        .unwrap();
    let fine = app
        .create_post(&NewPost {
            text: "two".into(),
            images: vec![attachment("espresso.png", None)],
            ..NewPost::default()
        })
        .unwrap();
    // Damage the first file on disk after it was stored (a failing disk, a bad sync).
    let media_dir = test.dir.path().join("media");
    let cat_bytes = std::fs::read(repo_root().join("tests/fixtures/images/cat.png")).unwrap();
    for entry in std::fs::read_dir(&media_dir).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::read(&path).unwrap() == cat_bytes {
            std::fs::write(&path, &cat_bytes[..cat_bytes.len() / 4]).unwrap();
        }
    }
    let text = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    let classifier = load_image_classifier(&models_dir(), DeviceChoice::Cpu).unwrap();
    assert_eq!(enrich_images_batch(app.store(), &text, &classifier, test.dir.path(), 16).unwrap(), 2);
    assert_eq!(image_coverage(app.store()).unwrap(), (2, 2), "the broken one is not retried forever");
    let broken = app.get_post(broken.id).unwrap();
    assert!(broken.media[0].labels.is_empty() && broken.media[0].machine_description.is_none());
    assert_eq!(app.get_post(fine.id).unwrap().media[0].labels[0].class_id, 967);
}

#[test]
fn what_liked_photos_show_lifts_similar_photos_in_the_ranked_feed() {
    use hearth_core::enrich::{enrich_batch, enrich_images_batch, load_image_classifier, TextModels};
    use hearth_core::models::DeviceChoice;
    use hearth_core::{FeedMode, FeedQuery, InteractionInput, InteractionKind, NewPost};

    let test = crate::support::empty_app();
    let app = &test.app;
    let post = |text: &str, image: &str| {
        app.create_post(&NewPost { text: text.into(), images: vec![attachment(image, None)], ..NewPost::default() })
            .unwrap()
    };
    // The texts say nothing about what the photos show.
    let liked = post("Look who came to visit this morning", "cat.png");
    let cat_again = post("Sunday morning", "cat-exif-rotated.jpg");
    let launch = post("Sunday morning", "rocket.png");
    let text = TextModels::load(&models_dir(), DeviceChoice::Cpu).unwrap();
    let classifier = load_image_classifier(&models_dir(), DeviceChoice::Cpu).unwrap();
    while enrich_batch(app.store(), &text, 32).unwrap() > 0 {}
    while enrich_images_batch(app.store(), &text, &classifier, test.dir.path(), 16).unwrap() > 0 {}

    let order = || -> Vec<i64> {
        let query = FeedQuery { mode: FeedMode::Ranked, limit: Some(10), ..FeedQuery::default() };
        app.feed(&query).unwrap().posts.iter().map(|post| post.id).filter(|id| *id != liked.id).collect()
    };
    let position = |order: &[i64], id: i64| order.iter().position(|other| *other == id).unwrap();
    let before = order();
    // Newest first at cold start: the rocket was posted last.
    assert!(position(&before, launch.id) < position(&before, cat_again.id), "{before:?}");
    app.record_interaction(&InteractionInput::on_post(liked.id, InteractionKind::Like)).unwrap();
    let after = order();
    assert!(position(&after, cat_again.id) < position(&after, launch.id), "{after:?}");
    let reasons = &app.get_post(cat_again.id).unwrap();
    assert!(reasons.media[0].labels.iter().any(|label| (281..=285).contains(&label.class_id)));
}
