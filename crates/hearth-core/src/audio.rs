//! Decoding untrusted audio for speech recognition: WAV, FLAC, MP3, Ogg Vorbis and AAC/M4A
//! (symphonia, pure Rust), mixed down to mono and resampled to the 16 kHz Whisper hears.
//!
//! Limits come first: a file over `MAX_FILE_BYTES`, or one that says or turns out to be longer
//! than `MAX_SECONDS`, is refused before it can fill memory. A corrupt packet in the middle of
//! a file is skipped (as players do); a file that yields no sound, or that cannot be read at
//! all, is an `invalid_input` error that says what was wrong.

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::error::{Error, Result};

/// The sample rate Whisper works at.
pub const SAMPLE_RATE: u32 = 16_000;
/// Audio files larger than this are refused before decoding.
pub const MAX_FILE_BYTES: usize = 512 * 1024 * 1024;
/// Longest recording accepted: three hours.
pub const MAX_SECONDS: f64 = 3.0 * 3600.0;
/// A packet that fails to decode is skipped; this many in a row mean the file is broken.
const MAX_BAD_PACKETS_IN_A_ROW: usize = 20;

/// Mono audio at `SAMPLE_RATE`.
#[derive(Debug, Clone)]
pub struct Audio {
    pub samples: Vec<f32>,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(SAMPLE_RATE)
    }
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::invalid(format!("cannot read the audio: {detail}"))
}

/// Decodes an audio file's bytes to mono 16 kHz. `extension` (without the dot), when known,
/// helps the format probe; the content decides.
pub fn decode(bytes: Vec<u8>, extension: Option<&str>) -> Result<Audio> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::invalid(format!(
            "the audio file is {} MB; the most accepted is {} MB",
            bytes.len() / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if bytes.is_empty() {
        return Err(invalid("the file is empty"));
    }
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let format_options = FormatOptions { enable_gapless: true, ..Default::default() };
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &format_options, &MetadataOptions::default())
        .map_err(|_| invalid("it is not a supported audio format (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A)"))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| invalid("it has no audio track"))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let rate = params.sample_rate.ok_or_else(|| invalid("it does not say its sample rate"))?;
    if !(4_000..=384_000).contains(&rate) {
        return Err(invalid(format!("a sample rate of {rate} Hz")));
    }
    if let Some(frames) = params.n_frames {
        if frames as f64 / f64::from(rate) > MAX_SECONDS {
            return Err(too_long());
        }
    }
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|_| invalid("its codec is not supported"))?;
    let max_frames = (MAX_SECONDS * f64::from(rate)) as usize;
    let mut mono: Vec<f32> = Vec::new();
    let mut buffer: Option<SampleBuffer<f32>> = None;
    let mut bad_in_a_row = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(DecodeError::IoError(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => break,
            // A truncated file ends early; what came before it is kept.
            Err(DecodeError::IoError(_)) => break,
            Err(DecodeError::ResetRequired) => break,
            Err(error) => return Err(invalid(error)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(DecodeError::DecodeError(_)) | Err(DecodeError::IoError(_)) => {
                bad_in_a_row += 1;
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    return Err(invalid("too many damaged packets"));
                }
                continue;
            }
            Err(error) => return Err(invalid(error)),
        };
        bad_in_a_row = 0;
        let channels = decoded.spec().channels.count().max(1);
        let frames = decoded.frames();
        let samples = match &mut buffer {
            Some(samples) if samples.capacity() >= frames * channels => samples,
            _ => buffer.insert(SampleBuffer::new(decoded.capacity() as u64, *decoded.spec())),
        };
        samples.copy_interleaved_ref(decoded);
        mono.extend(samples.samples().chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32));
        if mono.len() > max_frames {
            return Err(too_long());
        }
    }
    if mono.is_empty() {
        return Err(invalid("it holds no sound that could be decoded"));
    }
    let samples = resample(&mono, rate, SAMPLE_RATE);
    Ok(Audio { samples })
}

/// `audio` as a 16-bit PCM mono WAV file at `SAMPLE_RATE` (samples clamped to [-1, 1]).
pub fn wav_bytes(audio: &Audio) -> Vec<u8> {
    let data_bytes = u32::try_from(audio.samples.len() * 2).unwrap_or(u32::MAX);
    let mut bytes = Vec::with_capacity(44 + audio.samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&data_bytes.saturating_add(36).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16_u32.to_le_bytes());
    bytes.extend_from_slice(&1_u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1_u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    bytes.extend_from_slice(&2_u16.to_le_bytes());
    bytes.extend_from_slice(&16_u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_bytes.to_le_bytes());
    for sample in &audio.samples {
        bytes.extend_from_slice(&((sample.clamp(-1.0, 1.0) * 32_767.0).round() as i16).to_le_bytes());
    }
    bytes
}

fn too_long() -> Error {
    Error::invalid(format!("the recording is longer than {} hours, the most accepted", MAX_SECONDS / 3600.0))
}

/// Half-width of the resampling filter, in input samples at the lower of the two rates.
const TAPS_PER_SIDE: usize = 24;

/// Resamples mono audio with a windowed-sinc low-pass (Blackman window; the cut-off at the
/// lower rate's Nyquist frequency, so downsampling does not alias).
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let ratio = f64::from(to) / f64::from(from);
    // Below 1 when downsampling: the filter widens to cut at the new Nyquist frequency.
    let cutoff = ratio.min(1.0);
    let half_width = TAPS_PER_SIDE as f64 / cutoff;
    let output_length = ((input.len() as f64) * ratio).round() as usize;
    let window = |distance: f64| {
        let position = (distance / half_width + 1.0) / 2.0; // 0..1 across the window
        let angle = 2.0 * std::f64::consts::PI * position;
        0.42 - 0.5 * angle.cos() + 0.08 * (2.0 * angle).cos()
    };
    let sinc =
        |x: f64| if x.abs() < 1e-9 { 1.0 } else { (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x) };
    (0..output_length)
        .map(|index| {
            let centre = index as f64 / ratio;
            let first = (centre - half_width).ceil().max(0.0) as usize;
            let last = ((centre + half_width).floor() as usize).min(input.len() - 1);
            let (mut sum, mut weights) = (0.0_f64, 0.0_f64);
            for (offset, sample) in input[first..=last].iter().enumerate() {
                let distance = (first + offset) as f64 - centre;
                let weight = cutoff * sinc(distance * cutoff) * window(distance);
                sum += weight * f64::from(*sample);
                weights += weight;
            }
            // Normalised, so a constant stays constant up to the edges.
            if weights.abs() > 1e-12 {
                (sum / weights) as f32
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit PCM WAV file of `samples` at `rate`, `channels` interleaved.
    pub(crate) fn wav(samples: &[i16], rate: u32, channels: u16) -> Vec<u8> {
        let data_bytes = (samples.len() * 2) as u32;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data_bytes).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16_u32.to_le_bytes());
        bytes.extend_from_slice(&1_u16.to_le_bytes());
        bytes.extend_from_slice(&channels.to_le_bytes());
        bytes.extend_from_slice(&rate.to_le_bytes());
        bytes.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
        bytes.extend_from_slice(&(channels * 2).to_le_bytes());
        bytes.extend_from_slice(&16_u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data_bytes.to_le_bytes());
        for sample in samples {
            bytes.extend_from_slice(&sample.to_le_bytes());
        }
        bytes
    }

    fn tone(frequency: f64, rate: u32, seconds: f64) -> Vec<f32> {
        (0..(f64::from(rate) * seconds) as usize)
            .map(|index| (2.0 * std::f64::consts::PI * frequency * index as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    /// Amplitude of `frequency` in `samples` (a single-bin DFT), 1.0 for a full-scale sine.
    fn amplitude(samples: &[f32], frequency: f64, rate: u32) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (index, sample) in samples.iter().enumerate() {
            let angle = 2.0 * std::f64::consts::PI * frequency * index as f64 / f64::from(rate);
            re += f64::from(*sample) * angle.cos();
            im += f64::from(*sample) * angle.sin();
        }
        2.0 * (re * re + im * im).sqrt() / samples.len() as f64
    }

    #[test]
    fn resampling_keeps_speech_frequencies_and_removes_what_16_khz_cannot_hold() {
        let speech = resample(&tone(440.0, 44_100, 1.0), 44_100, SAMPLE_RATE);
        assert_eq!(speech.len(), 16_000);
        assert!((amplitude(&speech, 440.0, SAMPLE_RATE) - 1.0).abs() < 0.02);
        // 12 kHz is above 16 kHz's Nyquist frequency: it must not fold back to 4 kHz.
        let high = resample(&tone(12_000.0, 48_000, 1.0), 48_000, SAMPLE_RATE);
        assert!(amplitude(&high, 4_000.0, SAMPLE_RATE) < 0.01, "{}", amplitude(&high, 4_000.0, SAMPLE_RATE));
        let up = resample(&tone(300.0, 8_000, 1.0), 8_000, SAMPLE_RATE);
        assert_eq!(up.len(), 16_000);
        assert!((amplitude(&up, 300.0, SAMPLE_RATE) - 1.0).abs() < 0.02);
    }

    #[test]
    fn stereo_wav_is_mixed_down_and_resampled() {
        // Left a 440 Hz tone, right silence, at 22.05 kHz.
        let left = tone(440.0, 22_050, 0.5);
        let interleaved: Vec<i16> = left.iter().flat_map(|&sample| [(sample * 16_000.0) as i16, 0]).collect();
        let audio = decode(wav(&interleaved, 22_050, 2), Some("wav")).unwrap();
        assert!((audio.seconds() - 0.5).abs() < 0.01, "{}", audio.seconds());
        let expected = 16_000.0 / 32_768.0 / 2.0;
        assert!((amplitude(&audio.samples, 440.0, SAMPLE_RATE) - expected).abs() < 0.01);
    }

    #[test]
    fn written_wav_reads_back_the_same() {
        let audio = Audio { samples: tone(440.0, SAMPLE_RATE, 0.25).iter().map(|sample| sample * 0.5).collect() };
        let back = decode(wav_bytes(&audio), Some("wav")).unwrap();
        assert_eq!(back.samples.len(), audio.samples.len());
        let largest = audio.samples.iter().zip(&back.samples).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        assert!(largest < 1e-4, "{largest}");
    }

    #[test]
    fn damaged_and_unsupported_files_are_clear_errors() {
        let cases: [(&str, Vec<u8>); 4] = [
            ("empty", Vec::new()),
            ("text", b"this is not audio at all, just words".to_vec()),
            ("header only", wav(&[], 16_000, 1)),
            ("cut inside the header", wav(&[1, 2, 3], 16_000, 1)[..30].to_vec()),
        ];
        for (what, bytes) in cases {
            let error = decode(bytes, None).unwrap_err();
            assert_eq!(error.code(), crate::error::ErrorCode::InvalidInput, "{what}: {error}");
            assert!(error.to_string().starts_with("cannot read the audio"), "{what}: {error}");
        }
        // A file cut in the middle of its samples keeps what it has.
        let whole = wav(&vec![1000; 16_000], 16_000, 1);
        let cut = decode(whole[..whole.len() / 2].to_vec(), Some("wav")).unwrap();
        assert!(cut.seconds() > 0.4 && cut.seconds() < 0.6, "{}", cut.seconds());
    }
}
