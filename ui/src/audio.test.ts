import { afterEach, describe, expect, it } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { AudioPlayer, audioFileName } from './PostCard';
import { _resetForTests } from './api';
import type { Media } from './types';

const media: Media = {
  id: 7,
  kind: 'audio',
  mime: 'audio/wav',
  size_bytes: 1234,
  alt_text: 'Voice memo about the market',
  width: null,
  height: null,
  duration_ms: 12_000,
  labels: [],
  machine_description: null,
  transcript: null,
  remote_url: null,
  cached: true,
};

let host: HTMLElement;
afterEach(() => {
  render(null, host);
  host.remove();
  _resetForTests();
  sessionStorage.clear();
  window.history.replaceState(null, '', '/');
});

async function mount() {
  window.history.replaceState(null, '', '/?token=tok');
  host = document.createElement('div');
  document.body.appendChild(host);
  // The playable URL resolves asynchronously; let it settle.
  await act(async () => render(h(AudioPlayer, { media }), host));
}

describe('AudioPlayer', () => {
  it('shows the native player while the audio can play', async () => {
    await mount();
    const audio = host.querySelector('audio')!;
    expect(audio).not.toBeNull();
    expect(audio.hasAttribute('controls')).toBe(true);
    expect(audio.getAttribute('src')).toBe('/api/media/7?token=tok');
    expect(host.querySelector('[data-testid="audio-error"]')).toBeNull();
    expect(host.textContent).toContain('0:12');
  });

  it('replaces a broken player with a message and a download link', async () => {
    await mount();
    act(() => {
      host.querySelector('audio')!.dispatchEvent(new Event('error'));
    });
    expect(host.querySelector('audio')).toBeNull();
    const msg = host.querySelector('[data-testid="audio-error"]')!;
    expect(msg.textContent).toContain('This audio can’t play here');
    const link = msg.querySelector('a')!;
    expect(link.textContent).toBe('Download');
    expect(link.getAttribute('href')).toBe('/api/media/7?token=tok');
    expect(link.getAttribute('download')).toBe('hearth-audio-7.wav');
  });

  it('names downloads after the MIME type', () => {
    expect(audioFileName({ ...media, mime: 'audio/mpeg' })).toBe('hearth-audio-7.mp3');
    expect(audioFileName({ ...media, mime: 'audio/x-unknown' })).toBe('hearth-audio-7');
  });
});
