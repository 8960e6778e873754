//! The `hearth` binary as a script sees it: `--json` output, exit codes and one-line errors.

#![allow(clippy::unwrap_used)] // Test set-up fails loudly, and that is the point.

use std::process::{Command, Output};

use serde_json::Value;

// Shared with the core tests, which use all of it.
#[allow(dead_code)]
#[path = "../core/mastodon_server.rs"]
mod mastodon_server;

fn hearth(data_dir: &std::path::Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(arguments)
        .env_remove("HEARTH_DATA_DIR")
        .output()
        .expect("run hearth")
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect(line)).collect()
}

#[test]
fn demo_feed_like_hide_post_and_search_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let demo = hearth(dir.path(), &["demo", "--json"]);
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    assert!(json_lines(&demo)[0]["imported"].as_u64().unwrap() >= 150);
    assert_eq!(json_lines(&hearth(dir.path(), &["demo", "--json"]))[0]["imported"], 0, "demo is idempotent");

    let feed = hearth(dir.path(), &["feed", "--mode", "chronological", "--limit", "7", "--json"]);
    let posts = json_lines(&feed);
    assert_eq!(posts.len(), 7);
    for field in ["id", "author", "text", "created_at", "media"] {
        assert!(posts[0].get(field).is_some(), "missing {field}");
    }
    let first = posts[0]["id"].as_i64().unwrap().to_string();
    let second = posts[1]["id"].as_i64().unwrap().to_string();

    let liked = json_lines(&hearth(dir.path(), &["like", &first, "--json"]));
    assert_eq!(liked[0]["state"]["liked"], true);
    let hidden = hearth(dir.path(), &["hide", &second]);
    assert!(hidden.status.success());
    let after = json_lines(&hearth(dir.path(), &["feed", "--mode", "chronological", "--limit", "7", "--json"]));
    assert!(after.iter().all(|post| post["id"].as_i64().unwrap().to_string() != second));
    assert_eq!(after[0]["state"]["liked"], true);

    let image = dir.path().join("dot.png");
    std::fs::write(&image, hearth_core::demo::bundled_file("images/cat-chelsea.jpg").unwrap_or(&[])).unwrap();
    let created = hearth(
        dir.path(),
        &["post", "Brambleberry jam day", "--image", image.to_str().unwrap(), "--alt", "a cat", "--json"],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let created = &json_lines(&created)[0];
    assert_eq!(created["media"][0]["alt_text"], "a cat");

    let found = json_lines(&hearth(dir.path(), &["search", "brambleberry", "--json"]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], created["id"]);
}

#[test]
fn unknown_ids_and_bad_arguments_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for arguments in [
        &["like", "424242"][..],
        &["hide", "nope"],
        &["feed", "--limit", "0"],
        &["feed", "--mode", "sideways"],
        &["frobnicate"],
        &["post", "x", "--image", "/does/not/exist.png"],
        &["search", "   "],
    ] {
        let output = hearth(dir.path(), arguments);
        assert!(!output.status.success(), "{arguments:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{arguments:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{arguments:?} printed no error");
    }
    let like = hearth(dir.path(), &["like", "424242"]);
    let stderr = String::from_utf8_lossy(&like.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(stderr.trim(), "error: post 424242 was not found");
    let json_error = hearth(dir.path(), &["like", "424242", "--json"]);
    let body: Value = serde_json::from_slice(&json_error.stderr).unwrap();
    assert_eq!(body["code"], "not_found");
}

#[test]
fn the_data_dir_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["status", "--json"])
        .env("HEARTH_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["data_dir"], dir.path().display().to_string());
    assert!(dir.path().join("hearth.db").exists());
}

#[test]
fn the_device_comes_from_config_toml_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let device = |arguments: &[&str]| {
        let output = hearth(dir.path(), arguments);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        json_lines(&output)[0]["device"].clone()
    };
    assert_eq!(device(&["status", "--json"]), "auto", "no config.toml: auto");
    std::fs::write(dir.path().join("config.toml"), "device = \"cpu\"\n").unwrap();
    assert_eq!(device(&["status", "--json"]), "cpu");
    assert_eq!(device(&["status", "--json", "--device", "auto"]), "auto", "the flag wins");

    for (text, expected) in [
        ("device = \"tpu\"\n", "device must be auto, cpu, cuda or metal"),
        ("devise = \"cpu\"\n", "unknown field `devise`"),
        ("device = \n", "config.toml is not valid"),
    ] {
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        let output = hearth(dir.path(), &["status", "--json"]);
        assert!(!output.status.success(), "{text:?} was accepted");
        let error: Value = serde_json::from_slice(&output.stderr).unwrap();
        assert_eq!(error["code"], "invalid_input", "{text:?}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(expected) && message.contains("config.toml"), "{text:?}: {message}");
    }
}

#[test]
fn models_list_says_what_is_missing_and_embed_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let empty_models = dir.path().join("no-models");
    let list = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["models", "list", "--json"])
        .env("HEARTH_MODELS_DIR", &empty_models)
        .output()
        .unwrap();
    assert!(list.status.success());
    let models = json_lines(&list);
    assert_eq!(models[0]["id"], "all-minilm-l6-v2");
    assert_eq!(models[0]["state"], "missing");
    assert!(models[0]["size_bytes"].as_u64().unwrap() > 90_000_000);

    let embed = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["embed", "--json"])
        .env("HEARTH_MODELS_DIR", &empty_models)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!embed.status.success());
    let error: Value = serde_json::from_slice(&embed.stderr).unwrap();
    assert_eq!(error["code"], "unavailable");
    assert!(error["message"].as_str().unwrap().contains("hearth models fetch all-minilm-l6-v2"));
}

#[test]
fn embed_writes_one_vector_per_input_line_in_order() {
    use std::io::Write as _;
    let models_dir = std::env::var_os("HEARTH_MODELS_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/weights"), Into::into);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("texts.txt");
    std::fs::File::create(&input).unwrap().write_all("first line\n\nthird: café ☕\n".as_bytes()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["embed", "--json", "--device", "cpu", "--input"])
        .arg(&input)
        .env("HEARTH_MODELS_DIR", &models_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} (the weights come from `cargo xtask models`)",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    let texts: Vec<&str> = lines.iter().map(|line| line["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first line", "", "third: café ☕"]);
    for line in &lines {
        let vector = line["vector"].as_array().unwrap();
        assert_eq!(vector.len(), 384);
        let norm: f64 = vector.iter().map(|x| x.as_f64().unwrap().powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}

#[test]
fn sentiment_labels_each_line_with_a_signed_score() {
    use std::io::Write as _;
    let models_dir = std::env::var_os("HEARTH_MODELS_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/weights"), Into::into);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["sentiment", "--json", "--device", "cpu"])
        .env("HEARTH_MODELS_DIR", &models_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"What a glorious, happy morning!\nThis is the worst service I have ever had.\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["label"].as_str(), lines[1]["label"].as_str()), (Some("positive"), Some("negative")));
    let scores: Vec<f64> = lines.iter().map(|line| line["score"].as_f64().unwrap()).collect();
    assert!(scores[0] > 0.0 && scores[1] < 0.0 && scores.iter().all(|score| (-1.0..=1.0).contains(score)));
    // The three probabilities (positive, neutral, negative) sum to one, and the score is P(+) − P(−).
    for (line, score) in lines.iter().zip(&scores) {
        let p: Vec<f64> = line["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect();
        assert_eq!(p.len(), 3, "{line}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4 && (p[0] - p[2] - score).abs() < 1e-4, "{line}");
    }

    // An input file that is not there is the caller's mistake, said as such.
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["sentiment", "--json", "--device", "cpu", "--input"])
        .arg(dir.path().join("no-such-file.txt"))
        .env("HEARTH_MODELS_DIR", &models_dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error: Value = serde_json::from_str(String::from_utf8_lossy(&output.stderr).trim()).unwrap();
    assert_eq!(error["code"], "invalid_input", "{error}");
    assert!(error["message"].as_str().unwrap().contains("no-such-file.txt"), "{error}");
}

fn models_dir() -> std::path::PathBuf {
    std::env::var_os("HEARTH_MODELS_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/weights"), Into::into)
}

#[test]
fn eval_ranking_scores_hearth_popularity_and_random_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ranking");
    let run_with = |interactions: &std::path::Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["eval-ranking", "--json", "--k", "5", "--negatives", "20"])
            .args(extra)
            .arg("--interactions")
            .arg(interactions)
            .arg("--items")
            .arg(fixtures.join("items.csv"))
            .env("HEARTH_MODELS_DIR", models_dir())
            .output()
            .unwrap()
    };
    let run = |interactions: &std::path::Path| run_with(interactions, &[]);
    let output = run(&fixtures.join("interactions.csv"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = json_lines(&output);
    let methods: Vec<&str> = lines.iter().map(|line| line["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["hearth", "popularity", "random"]);
    let ndcg = |index: usize| lines[index]["ndcg"].as_f64().unwrap();
    for line in &lines {
        assert_eq!(line["users"], 24);
        assert!((0.0..=1.0).contains(&line["hr"].as_f64().unwrap()));
    }
    // Each user keeps to two of four topics: reading the items' text must pay.
    assert!(ndcg(0) > ndcg(1) && ndcg(0) > ndcg(2), "{lines:?}");

    // The validation split holds out a different interaction per user, so the figures move.
    let validation = run_with(&fixtures.join("interactions.csv"), &["--validation"]);
    assert!(validation.status.success(), "{}", String::from_utf8_lossy(&validation.stderr));
    let validation = json_lines(&validation);
    assert_eq!(validation[0]["users"], 24);
    assert_ne!(validation[0]["ndcg"], lines[0]["ndcg"], "{validation:?}");

    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "user,item,rating,timestamp\n1,2,five,3\n").unwrap();
    let output = run(&broken);
    assert!(!output.status.success());
    let error: Value = serde_json::from_str(String::from_utf8_lossy(&output.stderr).trim()).unwrap();
    assert_eq!(error["code"], "invalid_input");
    assert!(error["message"].as_str().unwrap().contains("row 2"), "{error}");
}

#[test]
fn reset_personalisation_forgets_what_was_learned_and_keeps_the_log_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    assert!(hearth(dir.path(), &["demo"]).status.success());
    let first = json_lines(&hearth(dir.path(), &["feed", "--limit", "1", "--json"]))[0]["id"].to_string();
    assert!(hearth(dir.path(), &["like", &first]).status.success());
    let status = json_lines(&hearth(dir.path(), &["status", "--json"]))[0].clone();
    assert_eq!(status["personalisation"]["interactions_learned"], 1);
    let reset = json_lines(&hearth(dir.path(), &["reset-personalisation", "--json"]));
    assert_eq!(reset[0]["interactions_learned"], 0);
    assert_eq!(json_lines(&hearth(dir.path(), &["status", "--json"]))[0]["interactions"], 1, "the log stays");
    assert!(hearth(dir.path(), &["reset-personalisation", "--forget-interactions"]).status.success());
    assert_eq!(json_lines(&hearth(dir.path(), &["status", "--json"]))[0]["interactions"], 0);
}

#[test]
fn classify_labels_each_file_in_order_and_reports_bad_ones_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let images = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images");
    let truncated = dir.path().join("truncated.png");
    let png = std::fs::read(images.join("cat.png")).unwrap();
    std::fs::write(&truncated, &png[..png.len() / 3]).unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a picture").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["classify", "--json", "--top", "3"])
        .arg(images.join("espresso.gif"))
        .arg(&truncated)
        .arg(images.join("cat.jpg"))
        .arg(&text)
        .env("HEARTH_MODELS_DIR", models_dir())
        .output()
        .unwrap();
    assert!(!output.status.success(), "some files failed, so the exit status says so");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0]["file"].as_str().unwrap().ends_with("espresso.gif"));
    let labels = lines[0]["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 3);
    assert_eq!((labels[0]["class_id"].as_u64(), labels[0]["label"].as_str()), (Some(967), Some("espresso")));
    let scores: Vec<f64> = labels.iter().map(|label| label["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|pair| pair[0] >= pair[1]) && scores[0] <= 1.0);
    assert_eq!(lines[1]["error"]["code"], "invalid_input");
    assert!(lines[1]["error"]["message"].as_str().unwrap().contains("damaged or truncated"), "{}", lines[1]);
    assert!((281..=285).contains(&lines[2]["labels"][0]["class_id"].as_u64().unwrap()), "{}", lines[2]);
    assert!(lines[3]["error"]["message"].as_str().unwrap().contains("not an image"));
}

#[test]
fn transcribe_writes_text_and_timed_segments_per_file_and_reports_bad_ones_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let speech = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/speech");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a recording").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["transcribe", "--json"])
        .arg(&text)
        .arg(speech.join("jfk.mp3"))
        .env("HEARTH_MODELS_DIR", models_dir())
        .output()
        .unwrap();
    assert!(!output.status.success(), "a file failed, so the exit status says so");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0]["file"].as_str().unwrap().ends_with("notes.txt"));
    assert_eq!(lines[0]["error"]["code"], "invalid_input", "{}", lines[0]);
    let jfk = &lines[1];
    assert!(jfk["file"].as_str().unwrap().ends_with("jfk.mp3"));
    assert_eq!(jfk["model"], "whisper-tiny-en");
    assert!((jfk["audio_seconds"].as_f64().unwrap() - 11.0).abs() < 0.1, "{jfk}");
    assert!(jfk["seconds"].as_f64().unwrap() > 0.0);
    let said = jfk["text"].as_str().unwrap().to_lowercase();
    assert!(said.contains("ask not what your country can do for you"), "{said}");
    let segments = jfk["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for segment in segments {
        let (start, end) = (segment["start"].as_f64().unwrap(), segment["end"].as_f64().unwrap());
        assert!(0.0 <= start && start <= end && end <= 11.5, "{segment}");
        assert!(!segment["text"].as_str().unwrap().is_empty());
    }
}

#[test]
fn the_speech_model_is_chosen_once_and_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let chosen = hearth(dir.path(), &["models", "use-speech", "whisper-small-en", "--json"]);
    assert!(chosen.status.success(), "{}", String::from_utf8_lossy(&chosen.stderr));
    assert_eq!(json_lines(&chosen)[0]["model"], "whisper-small-en");
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert!(config.contains("speech_model = \"whisper-small-en\""), "{config}");

    let refused = hearth(dir.path(), &["models", "use-speech", "all-minilm-l6-v2", "--json"]);
    assert!(!refused.status.success());
    let error: Value = serde_json::from_slice(&refused.stderr).unwrap();
    assert_eq!(error["code"], "invalid_input", "{error}");
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert!(config.contains("whisper-small-en"), "a refused choice changes nothing: {config}");
}

/// Python's own web server on 127.0.0.1, serving the published feeds of tests/fixtures/feeds.
struct StaticServer {
    child: std::process::Child,
    base: String,
}

impl StaticServer {
    fn start() -> Self {
        use std::io::BufRead as _;
        let feeds = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds");
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(feeds)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line.split(" port ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect(&line);
        Self { child, base: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn feeds_are_subscribed_synced_listed_exported_and_removed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = StaticServer::start();
    let added = hearth(dir.path(), &["source", "add", &format!("{}/rss09/rss091.xml", server.base), "--json"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let source = &json_lines(&added)[0];
    assert_eq!((source["name"].as_str(), source["item_count"].as_i64()), (Some("WriteTheWeb"), Some(6)), "{source}");
    let id = source["id"].as_i64().unwrap().to_string();

    let synced = hearth(dir.path(), &["sync", "--json"]);
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    assert_eq!(json_lines(&synced)[0]["status"], "unchanged", "python's server answers If-Modified-Since with 304");

    let listed = json_lines(&hearth(dir.path(), &["source", "list", "--json"]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "ok");
    let exported = hearth(dir.path(), &["opml", "export"]);
    let opml = String::from_utf8(exported.stdout).unwrap();
    assert!(opml.contains(&format!("xmlUrl=\"{}/rss09/rss091.xml\"", server.base)), "{opml}");

    let other = tempfile::tempdir().unwrap();
    let file = other.path().join("list.opml");
    std::fs::write(&file, &opml).unwrap();
    let imported = hearth(other.path(), &["opml", "import", file.to_str().unwrap(), "--json"]);
    assert_eq!(json_lines(&imported)[0]["added"], 1);

    let removed = hearth(dir.path(), &["source", "remove", &id, "--json"]);
    assert_eq!(json_lines(&removed)[0]["removed_posts"], 6);
    assert!(json_lines(&hearth(dir.path(), &["source", "list", "--json"])).is_empty());

    let refused = hearth(dir.path(), &["source", "add", "ftp://files.example/feed", "--json"]);
    assert!(!refused.status.success());
    let error: Value = serde_json::from_slice(&refused.stderr).unwrap();
    assert_eq!(error["code"], "invalid_input", "{error}");
}

#[test]
fn accounts_sign_in_sync_like_post_and_sign_out_from_the_command_line() {
    let server = mastodon_server::MastodonServer::start();
    let dir = tempfile::tempdir().unwrap();
    // The sign-in prints the approval address on stderr and waits for the browser.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--json", "account", "add", "mastodon", &server.server(), "--no-browser"])
        .env("HEARTH_SECRETS", "file")
        .env_remove("HEARTH_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let authorize_url = approval_address(&mut child);
    let page = server.approve(&authorize_url, "alice");
    assert!(page.contains("Signed in to Hearth"));
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let account = json_lines(&output).remove(0);
    assert_eq!(account["handle"], format!("@{}", server.handle("alice")));
    let account_id = account["id"].as_i64().unwrap().to_string();

    let run = |arguments: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(arguments)
            .env("HEARTH_SECRETS", "file")
            .env_remove("HEARTH_DATA_DIR")
            .output()
            .unwrap();
        assert!(output.status.success(), "{arguments:?}: {}", String::from_utf8_lossy(&output.stderr));
        output
    };
    let list = json_lines(&run(&["--json", "account", "list"]));
    assert_eq!((list.len(), list[0]["state"].as_str()), (1, Some("ok")));
    let feed = json_lines(&run(&["--json", "feed", "--mode", "chronological"]));
    let bob = feed.iter().find(|post| post["text"].as_str().unwrap().starts_with("Hello from Bob")).unwrap();
    run(&["like", &bob["id"].to_string()]);
    run(&["post", "Written in a terminal", "--account", &account_id]);
    let synced = json_lines(&run(&["--json", "sync", "--source", &account_id]));
    assert_eq!(synced[0]["status"], "ok", "{synced:?}");
    let home = server.get("alice-token", "/api/v1/timelines/home");
    let statuses = home.as_array().unwrap();
    let liked = statuses.iter().find(|status| status["content"].as_str().unwrap().contains("Hello from Bob")).unwrap();
    assert_eq!(liked["favourited"], true);
    assert!(statuses.iter().any(|status| status["content"].as_str().unwrap().contains("Written in a terminal")));

    run(&["account", "remove", &account_id]);
    assert!(json_lines(&run(&["--json", "account", "list"])).is_empty());
    // A Bluesky sign-in with a handle that is not one fails with one clear line.
    let mut bluesky = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["account", "add", "bluesky", "not a handle", "--app-password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut bluesky.stdin.take().unwrap(), b"xxxx-xxxx\n").unwrap();
    let output = bluesky.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a Bluesky handle"), "{stderr}");
}

/// A private session bus with an unlocked GNOME Keyring on it: the Secret Service a Linux
/// desktop has. Both stop when dropped.
struct Keychain {
    bus: std::process::Child,
    keyring: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Keychain {
    fn start() -> Self {
        use std::io::{BufRead, Write};
        let dir = tempfile::tempdir().unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", dir.path().join("bus").display()))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian dbus-daemon) runs");
        let mut address = String::new();
        std::io::BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
        let address = address.trim().to_owned();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian gnome-keyring; `cargo xtask test` installs it) runs");
        // The keyring's password, then end of input: it unlocks (creating) the login keyring.
        keyring.stdin.take().unwrap().write_all(b"hearth-test-keyring").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let owner = Command::new("dbus-send")
                .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
                .args(["org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"])
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&owner.stdout).contains("boolean true") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the keyring did not come up on the bus");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self { bus, keyring, address, _dir: dir }
    }
}

impl Drop for Keychain {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn sign_ins_go_to_the_system_keychain_when_there_is_one() {
    let keychain = Keychain::start();
    let server = mastodon_server::MastodonServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hearth_in_session = |arguments: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
        command
            .arg("--data-dir")
            .arg(dir.path())
            .args(arguments)
            .env("DBUS_SESSION_BUS_ADDRESS", &keychain.address)
            .env_remove("HEARTH_SECRETS")
            .env_remove("HEARTH_DATA_DIR");
        command
    };
    let mut child = hearth_in_session(&["--json", "account", "add", "mastodon", &server.server(), "--no-browser"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let authorize_url = approval_address(&mut child);
    server.approve(&authorize_url, "alice");
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let account = json_lines(&output).remove(0);
    assert_eq!(account["token_storage"], "keychain", "{account}");
    assert!(!dir.path().join("secrets.json").exists(), "nothing is written to the file");

    // Later runs read the sign-in back from the keychain.
    let id = account["id"].to_string();
    let synced = hearth_in_session(&["--json", "sync", "--source", &id]).output().unwrap();
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    assert_eq!(json_lines(&synced)[0]["status"], "ok");
    // The keychain holds Hearth's entry; signing out forgets it there.
    let hearth_entries = || {
        let found = Command::new("dbus-send")
            .args(["--session", "--print-reply", "--dest=org.freedesktop.secrets", "/org/freedesktop/secrets"])
            .args(["org.freedesktop.Secret.Service.SearchItems", "dict:string:string:service,org.hearth.app"])
            .env("DBUS_SESSION_BUS_ADDRESS", &keychain.address)
            .output()
            .unwrap();
        assert!(found.status.success(), "{}", String::from_utf8_lossy(&found.stderr));
        String::from_utf8_lossy(&found.stdout).matches("/org/freedesktop/secrets/collection/").count()
    };
    assert_eq!(hearth_entries(), 1, "one sign-in in the keychain");
    let removed = hearth_in_session(&["account", "remove", &id]).output().unwrap();
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    assert_eq!(hearth_entries(), 0, "the keychain still holds Hearth's sign-in");
}

/// The approval address `hearth account add mastodon` prints on stderr. The rest of stderr is
/// read on in the background, so the command never writes to a closed pipe.
fn approval_address(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|line| line.trim().starts_with("http://127.0.0.1:").then(|| line.trim().to_owned()))
        .expect("the approval address is printed");
    std::thread::spawn(move || lines.for_each(drop));
    address
}
