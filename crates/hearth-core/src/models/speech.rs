//! Speech to text with whisper.cpp (through whisper-rs): one `WhisperContext` per loaded model,
//! shared, and a fresh state per job. Long recordings are cut into windows of about ten
//! minutes at their quietest moment near each cut, so progress can be reported and a job
//! cancelled between and within windows; each window's timestamps are carried on by its start.
//!
//! No file reaches whisper.cpp before `whisper_ggml::check` has read its header and tensor
//! table: whisper.cpp crashes on some malformed files, and a crash would take the app with it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::audio::{Audio, SAMPLE_RATE};
use crate::error::{Error, Result};
use crate::models::{whisper_ggml, Catalog, DeviceChoice};

/// The model transcription uses unless the user picks another.
pub const DEFAULT_MODEL_ID: &str = "whisper-tiny-en";
/// The speech models in the catalog, smallest first.
pub const MODEL_IDS: [&str; 3] = ["whisper-tiny-en", "whisper-base-en", "whisper-small-en"];
/// Windows are cut near this length, at the quietest moment within `CUT_SEARCH` of it.
const WINDOW_SECONDS: f64 = 600.0;
const CUT_SEARCH_SECONDS: f64 = 5.0;

/// The version stored with every transcript (bumped when the way of transcribing changes).
pub const MODEL_VERSION: &str = "1";

/// One timed piece of a transcript (seconds from the start of the recording).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    pub text: String,
    pub segments: Vec<Segment>,
    pub model: String,
    pub audio_seconds: f64,
}

/// Where an audio attachment's transcript stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptStatus {
    /// Not transcribed yet (nothing stored).
    Waiting,
    /// The speech worker is on it now.
    Transcribing,
    Done,
    /// It could not be transcribed: `error` says why. Not tried again until asked.
    Failed,
    /// The user cancelled it. Not tried again until asked.
    Cancelled,
}

/// An audio attachment's transcript as stored (the `transcript` enrichment) and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaTranscript {
    pub status: TranscriptStatus,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

impl MediaTranscript {
    /// Nothing stored yet: the worker has not got to it.
    pub fn waiting() -> Self {
        Self { status: TranscriptStatus::Waiting, text: String::new(), segments: Vec::new(), model: None, error: None }
    }

    pub fn with_status(status: TranscriptStatus, model: &str) -> Self {
        Self { status, model: Some(model.to_owned()), ..Self::waiting() }
    }

    pub fn done(transcript: Transcript) -> Self {
        Self {
            status: TranscriptStatus::Done,
            text: transcript.text,
            segments: transcript.segments,
            model: Some(transcript.model),
            error: None,
        }
    }

    /// Whether the worker is finished with it (done, failed or cancelled).
    pub fn is_settled(&self) -> bool {
        !matches!(self.status, TranscriptStatus::Waiting | TranscriptStatus::Transcribing)
    }
}

/// A loaded speech model; cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct SpeechModel {
    context: Arc<WhisperContext>,
    id: String,
    threads: usize,
}

impl std::fmt::Debug for SpeechModel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SpeechModel").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Where a job stands, for progress bars: the fraction of the recording done (0..=1).
pub trait TranscribeProgress: Send + Sync + 'static {
    fn advanced(&self, fraction: f64);
}

impl<F: Fn(f64) + Send + Sync + 'static> TranscribeProgress for F {
    fn advanced(&self, fraction: f64) {
        self(fraction);
    }
}

impl SpeechModel {
    /// Loads the catalog model `model_id` from `models_dir`, after checking its file.
    pub fn load(models_dir: &Path, model_id: &str, device: DeviceChoice) -> Result<Self> {
        if !MODEL_IDS.contains(&model_id) {
            return Err(Error::invalid(format!(
                "{model_id} is not a speech model (choose one of {})",
                MODEL_IDS.join(", ")
            )));
        }
        let catalog = Catalog::bundled()?;
        let spec = catalog.model(model_id)?;
        let dir = spec.installed_dir(models_dir)?;
        let file =
            spec.files.first().ok_or_else(|| Error::Internal(format!("the catalog lists no file for {model_id}")))?;
        let path = dir.join(&file.name);
        whisper_ggml::check(&path).map_err(|error| Error::Unavailable(format!("model {model_id}: {error}")))?;
        whisper_rs::install_logging_hooks(); // whisper.cpp's own logging goes nowhere
        let mut parameters = WhisperContextParameters::default();
        parameters.use_gpu(matches!(device, DeviceChoice::Auto | DeviceChoice::Cuda | DeviceChoice::Metal));
        let path_text = path.to_str().ok_or_else(|| Error::invalid("the models folder's path is not valid UTF-8"))?;
        let context = WhisperContext::new_with_params(path_text, parameters)
            .map_err(|error| Error::Unavailable(format!("model {model_id} could not be loaded: {error}")))?;
        Ok(Self { context: Arc::new(context), id: model_id.to_owned(), threads: transcription_threads() })
    }

    /// The same model, transcribing with `threads` threads (at least one).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Transcribes English speech. `cancel` stops the job (soon, mid-window) with a
    /// `conflict` error; `progress` hears the fraction done.
    pub fn transcribe(
        &self,
        audio: &Audio,
        progress: Arc<dyn TranscribeProgress>,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Transcript> {
        let threads = i32::try_from(self.threads).unwrap_or(4);
        let windows = windows(&audio.samples);
        let total = audio.samples.len().max(1) as f64;
        let mut segments = Vec::new();
        for window in windows {
            if cancel.load(Ordering::Relaxed) {
                return Err(cancelled());
            }
            let offset = window.start as f64 / f64::from(SAMPLE_RATE);
            let mut state = self
                .context
                .create_state()
                .map_err(|error| Error::Internal(format!("whisper could not start: {error}")))?;
            let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
            params.set_n_threads(threads);
            params.set_language(Some("en"));
            params.set_translate(false);
            params.set_print_progress(false);
            params.set_print_realtime(false);
            params.set_print_special(false);
            params.set_print_timestamps(false);
            params.set_suppress_blank(true);
            let stop = Arc::clone(cancel);
            // Boxed on purpose: whisper-rs 0.16's trampoline reads its user data as the closure
            // type it is given, but stores a boxed trait object; with a boxed trait object as
            // that type the two agree (an unboxed closure is read as the wrong type and aborts).
            let abort: Box<dyn FnMut() -> bool> = Box::new(move || stop.load(Ordering::Relaxed));
            params.set_abort_callback_safe(abort);
            let (window_start, window_length) = (window.start as f64, window.len() as f64);
            let reporter = Arc::clone(&progress);
            params.set_progress_callback_safe(move |percent: i32| {
                let within = f64::from(percent.clamp(0, 100)) / 100.0;
                reporter.advanced((window_start + window_length * within) / total);
            });
            progress.advanced(window_start / total);
            let result = state.full(params, &audio.samples[window.clone()]);
            if cancel.load(Ordering::Relaxed) {
                return Err(cancelled());
            }
            result.map_err(|error| Error::Internal(format!("whisper failed: {error}")))?;
            for segment in state.as_iter() {
                let text = segment.to_str_lossy().map(|text| text.trim().to_owned()).unwrap_or_default();
                if text.is_empty() {
                    continue;
                }
                // whisper.cpp's timestamps are in hundredths of a second.
                let start = offset + segment.start_timestamp() as f64 / 100.0;
                let end = offset + segment.end_timestamp() as f64 / 100.0;
                segments.push(Segment { start, end: end.max(start), text });
            }
            progress.advanced((window_start + window_length) / total);
        }
        let text = segments.iter().map(|segment| segment.text.as_str()).collect::<Vec<_>>().join(" ");
        Ok(Transcript { text, segments, model: self.id.clone(), audio_seconds: audio.seconds() })
    }
}

/// Threads a transcription uses by default: the cores, up to four (whisper.cpp's own default;
/// more rarely helps a model this size).
pub fn transcription_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get()).min(4)
}

/// Threads for transcribing in the background: one core fewer, so the app and the rest of the
/// pipeline keep one. (whisper.cpp's threads wait for each other at every step, so a thread
/// that has to share its core slows the whole job down far more than its share.)
pub fn background_threads() -> usize {
    transcription_threads()
        .min(std::thread::available_parallelism().map_or(1, |cores| cores.get()).saturating_sub(1))
        .max(1)
}

fn cancelled() -> Error {
    Error::Conflict("the transcription was cancelled".into())
}

/// Cuts `samples` into windows of about `WINDOW_SECONDS`, each cut at the quietest 100 ms
/// within `CUT_SEARCH_SECONDS` of the nominal cut, so a word is rarely split.
fn windows(samples: &[f32]) -> Vec<std::ops::Range<usize>> {
    let rate = SAMPLE_RATE as usize;
    let nominal = (WINDOW_SECONDS * rate as f64) as usize;
    let search = (CUT_SEARCH_SECONDS * rate as f64) as usize;
    let step = rate / 10;
    let mut windows = Vec::new();
    let mut start = 0;
    while samples.len() - start > nominal + search {
        let centre = start + nominal;
        let quietest = (centre - search..centre + search)
            .step_by(step)
            .min_by(|&a, &b| {
                let energy = |at: usize| samples[at..at + step].iter().map(|sample| sample * sample).sum::<f32>();
                energy(a).total_cmp(&energy(b))
            })
            .map_or(centre, |at| at + step / 2);
        windows.push(start..quietest);
        start = quietest;
    }
    windows.push(start..samples.len());
    windows
}

/// Words for scoring a transcript: lower case, hyphens as spaces, other punctuation (and
/// apostrophes) dropped, and the spoken forms of a few abbreviations ("Mr." reads "mister").
pub fn normalised_words(text: &str) -> Vec<String> {
    let spelled: String = text
        .chars()
        .map(|character| match character {
            '-' | '\u{2013}' | '\u{2014}' | '/' => ' ',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .filter(|character| character.is_alphanumeric() || character.is_whitespace())
        .collect();
    spelled
        .split_whitespace()
        .map(|word| match word {
            "mr" => "mister".to_owned(),
            "mrs" => "missus".to_owned(),
            "dr" => "doctor".to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

/// Word error rate of `hypothesis` against `reference`: (substitutions + deletions +
/// insertions) / reference words, over `normalised_words`.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let (reference, hypothesis) = (normalised_words(reference), normalised_words(hypothesis));
    if reference.is_empty() {
        return if hypothesis.is_empty() { 0.0 } else { 1.0 };
    }
    // Levenshtein distance over words, one row at a time.
    let mut previous: Vec<usize> = (0..=hypothesis.len()).collect();
    for (row, said) in reference.iter().enumerate() {
        let mut current = vec![row + 1; hypothesis.len() + 1];
        for (column, heard) in hypothesis.iter().enumerate() {
            let substitution = previous[column] + usize::from(said != heard);
            current[column + 1] = substitution.min(previous[column + 1] + 1).min(current[column] + 1);
        }
        previous = current;
    }
    previous[hypothesis.len()] as f64 / reference.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_error_rate_counts_substitutions_deletions_and_insertions_after_normalising() {
        assert_eq!(word_error_rate("Ask not what your country can do!", "ask not, what your country can do"), 0.0);
        assert_eq!(word_error_rate("Mr. John Dashwood", "mister john dashwood"), 0.0);
        assert_eq!(word_error_rate("ill-disposed young man", "ill disposed young man"), 0.0);
        assert!((word_error_rate("a b c d", "a x c") - 0.5).abs() < 1e-12); // one substitution, one deletion
        assert!((word_error_rate("a b", "a b c d") - 1.0).abs() < 1e-12); // two insertions
        assert_eq!(word_error_rate("", ""), 0.0);
    }

    #[test]
    fn long_recordings_are_cut_in_quiet_places_and_nothing_is_lost() {
        let rate = SAMPLE_RATE as usize;
        // 25 minutes of "speech" with a silent second at 9 min 58 s.
        let mut samples = vec![0.5_f32; 25 * 60 * rate];
        let quiet = (9 * 60 + 58) * rate;
        samples[quiet..quiet + rate].fill(0.0);
        let windows = windows(&samples);
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0].start, 0);
        assert!((quiet..quiet + rate).contains(&windows[0].end), "{:?}", windows[0]);
        for pair in windows.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(windows.last().unwrap().end, samples.len());
        // A short recording is one window.
        assert_eq!(super::windows(&samples[..30 * rate]), vec![0..30 * rate]);
    }
}
