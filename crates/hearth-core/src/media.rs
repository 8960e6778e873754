//! Attachment bytes: recognising what a file really is (never trusting its name or declared
//! type), reading its dimensions or duration, and storing it content-addressed on disk.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::post::MediaKind;

pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_AUDIO_BYTES: usize = 25 * 1024 * 1024;

/// What the bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: MediaKind,
    pub mime: &'static str,
    pub extension: &'static str,
}

/// Recognises the image and audio formats Hearth accepts from their first bytes.
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let image = |mime, extension| Some(Sniffed { kind: MediaKind::Image, mime, extension });
    let audio = |mime, extension| Some(Sniffed { kind: MediaKind::Audio, mime, extension });
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => image("image/png", "png"),
        [0xff, 0xd8, 0xff, ..] => image("image/jpeg", "jpg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => image("image/gif", "gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => image("image/webp", "webp"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => audio("audio/wav", "wav"),
        [b'f', b'L', b'a', b'C', ..] => audio("audio/flac", "flac"),
        [b'O', b'g', b'g', b'S', ..] => audio("audio/ogg", "ogg"),
        [b'I', b'D', b'3', ..] => audio("audio/mpeg", "mp3"),
        [0xff, second, ..] if second & 0xe0 == 0xe0 => audio("audio/mpeg", "mp3"),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => audio("audio/mp4", "m4a"),
        [0x1a, 0x45, 0xdf, 0xa3, ..] => audio("audio/webm", "webm"),
        _ => None,
    }
}

/// Width and height of an image, if its header says.
pub fn image_dimensions(bytes: &[u8]) -> Option<(i64, i64)> {
    let size = imagesize::blob_size(bytes).ok()?;
    Some((i64::try_from(size.width).ok()?, i64::try_from(size.height).ok()?))
}

/// Duration of a PCM WAV file from its header; `None` for other formats or odd headers.
pub fn wav_duration_ms(bytes: &[u8]) -> Option<i64> {
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let (mut at, mut byte_rate, mut data_len) = (12_usize, None, None);
    while at + 8 <= bytes.len() {
        let id = bytes.get(at..at + 4)?;
        let len = usize::try_from(u32_at(at + 4)?).ok()?;
        if id == b"fmt " {
            byte_rate = u32_at(at + 8 + 8);
        } else if id == b"data" {
            data_len = Some(len.min(bytes.len().saturating_sub(at + 8)));
            break;
        }
        at = at.checked_add(8 + len + (len & 1))?;
    }
    let byte_rate = u64::from(byte_rate.filter(|rate| *rate > 0)?);
    let data_len = u64::try_from(data_len?).ok()?;
    i64::try_from(data_len * 1000 / byte_rate).ok()
}

/// A file stored under the media directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Relative to the data directory, `media/<sha256>.<ext>`.
    pub relative_path: String,
    pub sha256: String,
    pub size_bytes: i64,
}

/// Writes `bytes` to `data_dir/media/<sha256>.<ext>` (atomically: temp file, then rename).
/// The same content is stored once, however often it is attached.
pub fn store_file(data_dir: &Path, bytes: &[u8], extension: &str) -> Result<StoredFile> {
    let sha256 = hex(&Sha256::digest(bytes));
    let relative_path = format!("media/{sha256}.{extension}");
    let final_path = data_dir.join(&relative_path);
    if !final_path.exists() {
        let media_dir = data_dir.join("media");
        std::fs::create_dir_all(&media_dir)
            .map_err(|error| Error::io(format!("cannot create {}", media_dir.display()), error))?;
        let temporary_path = media_dir.join(format!(".{sha256}.{}.partial", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary_path)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary_path, &final_path)
        };
        if let Err(error) = write() {
            let _ = std::fs::remove_file(&temporary_path);
            return Err(Error::io(format!("cannot save {}", final_path.display()), error));
        }
    }
    Ok(StoredFile { relative_path, sha256, size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX) })
}

/// Reads a stored file back by its relative path (`media/<sha256>.<ext>`, as `store_file`
/// wrote it; anything else is refused).
pub fn read_file(data_dir: &Path, relative_path: &str) -> Result<Vec<u8>> {
    if relative_path.contains("..") || relative_path.starts_with('/') || !relative_path.starts_with("media/") {
        return Err(Error::Internal(format!("{relative_path} is not a media file path")));
    }
    let path = data_dir.join(relative_path);
    std::fs::read(&path).map_err(|error| Error::io(format!("cannot read {}", path.display()), error))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content_not_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").map(|s| s.mime), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]).map(|s| s.mime), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a....").map(|s| s.mime), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|s| s.mime), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt ").map(|s| (s.kind, s.mime)), Some((MediaKind::Audio, "audio/wav")));
        assert_eq!(sniff(b"OggS\0").map(|s| s.mime), Some("audio/ogg"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"MZ\x90\0 executable"), None);
        assert_eq!(sniff(b""), None);
    }

    fn wav(seconds: u32) -> Vec<u8> {
        let (rate, data_len) = (16_000_u32, 16_000 * 2 * seconds);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16_u32.to_le_bytes());
        bytes.extend_from_slice(&1_u16.to_le_bytes()); // PCM
        bytes.extend_from_slice(&1_u16.to_le_bytes()); // mono
        bytes.extend_from_slice(&rate.to_le_bytes());
        bytes.extend_from_slice(&(rate * 2).to_le_bytes());
        bytes.extend_from_slice(&2_u16.to_le_bytes());
        bytes.extend_from_slice(&16_u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data_len.to_le_bytes());
        bytes.resize(bytes.len() + data_len as usize, 0);
        bytes
    }

    #[test]
    fn wav_duration_comes_from_the_header() {
        assert_eq!(wav_duration_ms(&wav(3)), Some(3_000));
        assert_eq!(wav_duration_ms(&wav(3)[..30]), None);
        assert_eq!(wav_duration_ms(b"OggS"), None);
    }

    #[test]
    fn stored_files_are_content_addressed_and_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = store_file(dir.path(), b"hello", "png").unwrap();
        let second = store_file(dir.path(), b"hello", "png").unwrap();
        assert_eq!(first, second);
        assert_eq!(first.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(std::fs::read(dir.path().join(&first.relative_path)).unwrap(), b"hello");
        assert_eq!(std::fs::read_dir(dir.path().join("media")).unwrap().count(), 1);
    }
}
