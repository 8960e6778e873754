import { describe, expect, it } from 'vitest';
import { charCount, guessMime, hasErrors, LIMITS, MiB, validateDraft, type DraftFile } from './validate';

const img = (over: Partial<DraftFile> = {}): DraftFile => ({ name: 'a.png', mime: 'image/png', size: 1000, ...over });
const aud = (over: Partial<DraftFile> = {}): DraftFile => ({ name: 'a.ogg', mime: 'audio/ogg', size: 1000, ...over });

describe('validateDraft', () => {
  it('accepts ordinary text', () => {
    expect(hasErrors(validateDraft({ text: 'hello', images: [], audio: null }))).toBe(false);
  });
  it('rejects blank text without media, but allows it with media', () => {
    expect(validateDraft({ text: '  \n ', images: [], audio: null }).text).toMatch(/Write something/);
    expect(hasErrors(validateDraft({ text: '', images: [img()], audio: null }))).toBe(false);
    expect(hasErrors(validateDraft({ text: '', images: [], audio: aud() }))).toBe(false);
  });
  it('limits text to 5,000 characters, counting code points', () => {
    expect(validateDraft({ text: 'x'.repeat(5000), images: [], audio: null }).text).toBeUndefined();
    expect(validateDraft({ text: 'x'.repeat(5001), images: [], audio: null }).text).toMatch(/at most 5,000.*1 over/);
    // 5,000 emoji are 10,000 UTF-16 units but 5,000 characters.
    expect(charCount('😀'.repeat(5000))).toBe(5000);
    expect(validateDraft({ text: '😀'.repeat(5000), images: [], audio: null }).text).toBeUndefined();
    // Trailing whitespace is trimmed by the backend, so it does not count.
    expect(validateDraft({ text: 'x'.repeat(5000) + '  \n', images: [], audio: null }).text).toBeUndefined();
  });
  it('limits images to 4, image types and 10 MiB each', () => {
    expect(validateDraft({ text: 'x', images: [img(), img(), img(), img()], audio: null }).images).toBeUndefined();
    expect(validateDraft({ text: 'x', images: [img(), img(), img(), img(), img()], audio: null }).images).toMatch(/at most 4/);
    expect(validateDraft({ text: 'x', images: [img({ name: 'v.svg', mime: 'image/svg+xml' })], audio: null }).images).toMatch(/v\.svg/);
    expect(validateDraft({ text: 'x', images: [img({ size: 10 * MiB })], audio: null }).images).toBeUndefined();
    expect(validateDraft({ text: 'x', images: [img({ size: 10 * MiB + 1 })], audio: null }).images).toMatch(/10 MB/);
  });
  it('limits audio type and 25 MiB', () => {
    for (const mime of LIMITS.audioMimes) {
      expect(validateDraft({ text: 'x', images: [], audio: aud({ mime }) }).audio).toBeUndefined();
    }
    expect(validateDraft({ text: 'x', images: [], audio: aud({ mime: 'audio/aac' }) }).audio).toMatch(/not a supported/);
    expect(validateDraft({ text: 'x', images: [], audio: aud({ size: 25 * MiB + 1 }) }).audio).toMatch(/25 MB/);
  });
  it('rejects drafts whose request body would exceed 40 MiB', () => {
    // Base64 grows data by 4/3: 4 x 8 MiB is ~42.7 MiB encoded, 3 x 8 MiB is 32 MiB.
    const big = [img({ size: 8 * MiB }), img({ size: 8 * MiB }), img({ size: 8 * MiB }), img({ size: 8 * MiB })];
    expect(validateDraft({ text: 'x', images: big, audio: null }).form).toMatch(/too large/);
    expect(validateDraft({ text: 'x', images: big.slice(0, 3), audio: null }).form).toBeUndefined();
  });
});

describe('guessMime', () => {
  it('fills in missing types from the extension and normalises aliases', () => {
    expect(guessMime('x.JPG', '')).toBe('image/jpeg');
    expect(guessMime('x.flac', '')).toBe('audio/flac');
    expect(guessMime('x.mp3', 'audio/mp3')).toBe('audio/mpeg');
    expect(guessMime('x.bin', '')).toBe('application/octet-stream');
  });
});
