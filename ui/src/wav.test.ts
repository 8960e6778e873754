// The WAV files voice memos are sent as: a 44-byte RIFF/WAVE header for mono 16-bit PCM, then
// the samples, clamped and rounded.
import { describe, expect, it } from 'vitest';
import { encodeWav, WAV_HEADER_BYTES } from './wav';

const text = (bytes: Uint8Array, at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length));

function samplesOf(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = WAV_HEADER_BYTES; at < bytes.length; at += 2) out.push(view.getInt16(at, true));
  return out;
}

describe('encodeWav', () => {
  it('writes a RIFF/WAVE header for mono 16-bit PCM', () => {
    const bytes = encodeWav(new Float32Array(5), 16_000);
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(WAV_HEADER_BYTES + 10);
    expect(text(bytes, 0, 4)).toBe('RIFF');
    expect(view.getUint32(4, true)).toBe(36 + 10);
    expect(text(bytes, 8, 4)).toBe('WAVE');
    expect(text(bytes, 12, 4)).toBe('fmt ');
    expect(view.getUint32(16, true)).toBe(16);
    expect(view.getUint16(20, true)).toBe(1); // PCM
    expect(view.getUint16(22, true)).toBe(1); // mono
    expect(view.getUint32(24, true)).toBe(16_000);
    expect(view.getUint32(28, true)).toBe(32_000); // bytes a second
    expect(view.getUint16(32, true)).toBe(2); // bytes a frame
    expect(view.getUint16(34, true)).toBe(16); // bits a sample
    expect(text(bytes, 36, 4)).toBe('data');
    expect(view.getUint32(40, true)).toBe(10);
  });

  it('keeps other sample rates in the header', () => {
    const view = new DataView(encodeWav(new Float32Array(1), 44_100).buffer);
    expect(view.getUint32(24, true)).toBe(44_100);
    expect(view.getUint32(28, true)).toBe(88_200);
  });

  it('writes an empty recording as a header alone', () => {
    const bytes = encodeWav(new Float32Array(0), 16_000);
    expect(bytes.length).toBe(WAV_HEADER_BYTES);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(36);
    expect(new DataView(bytes.buffer).getUint32(40, true)).toBe(0);
  });

  it('scales samples to the 16-bit range, little-endian', () => {
    const bytes = encodeWav(new Float32Array([0, 1, -1, 0.5, -0.5, 0.25]), 8000);
    expect(samplesOf(bytes)).toEqual([0, 32767, -32768, 16384, -16384, 8192]);
    // 1.0 is 0x7fff: low byte first.
    expect([bytes[46], bytes[47]]).toEqual([0xff, 0x7f]);
  });

  it('clamps samples outside -1..1 and writes NaN as silence', () => {
    const bytes = encodeWav(new Float32Array([1.5, -2, 1e9, -Infinity, Infinity, NaN]), 16_000);
    expect(samplesOf(bytes)).toEqual([32767, -32768, 32767, -32768, 32767, 0]);
  });

  it('refuses a sample rate that is not a positive whole number', () => {
    for (const rate of [0, -16_000, 44_100.5, NaN, Infinity]) {
      expect(() => encodeWav(new Float32Array(1), rate), String(rate)).toThrow(RangeError);
    }
  });
});
