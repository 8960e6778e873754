// WAV encoding for voice memos: mono 16-bit PCM in a RIFF/WAVE file, the plainest format the
// backend's decoders read (pure logic, no DOM).

/** Bytes in the RIFF, `fmt ` and `data` headers before the first sample. */
export const WAV_HEADER_BYTES = 44;

/**
 * `samples` (mono, -1..1) as a 16-bit PCM WAV file at `sampleRate` Hz. Samples outside -1..1 are
 * clamped and NaN is written as silence; negative values scale by 32768 and positive ones by
 * 32767, so -1 and 1 reach the ends of the 16-bit range.
 */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new RangeError(`A WAV sample rate must be a positive whole number of Hz, not ${sampleRate}.`);
  }
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };

  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true); // the size of everything after this field
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // size of the fmt chunk for PCM
  view.setUint16(20, 1, true); // format 1: integer PCM
  view.setUint16(22, 1, true); // one channel
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // bytes a second
  view.setUint16(32, 2, true); // bytes a frame
  view.setUint16(34, 16, true); // bits a sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);

  for (let i = 0, offset = WAV_HEADER_BYTES; i < samples.length; i++, offset += 2) {
    view.setInt16(offset, toInt16(samples[i]), true);
  }
  return bytes;
}

/** One sample as a 16-bit integer: clamped to -1..1, rounded, NaN as 0. */
function toInt16(sample: number): number {
  if (Number.isNaN(sample)) return 0;
  const s = Math.max(-1, Math.min(1, sample));
  return s < 0 ? Math.max(-32768, Math.round(s * 32768)) : Math.min(32767, Math.round(s * 32767));
}
