import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { ToneChip } from './PostCard';
import { EnrichmentProgress } from './Settings';
import { App } from './App';
import { enrichmentText, taggedText, toneText } from './format';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

describe('toneText', () => {
  it('describes the tag with a signed score', () => {
    expect(toneText({ label: 'negative', score: -0.8234 })).toEqual({
      text: 'Negative',
      description: 'Tone: negative (score \u22120.82), tagged on this device',
    });
    expect(toneText({ label: 'positive', score: 0.5 })?.description).toBe('Tone: positive (score 0.50), tagged on this device');
    expect(toneText({ label: 'neutral', score: -0.001 })?.description).toBe('Tone: neutral (score 0.00), tagged on this device');
  });
  it('is null for untagged posts and unknown labels', () => {
    expect(toneText(null)).toBeNull();
    expect(toneText(undefined)).toBeNull();
    expect(toneText({ label: 'furious', score: -1 })).toBeNull();
  });
});

describe('enrichment words', () => {
  it('puts each state in plain words', () => {
    const s = { done: 1, total: 2, message: null };
    expect(enrichmentText({ ...s, state: 'working' })).toBe('Working…');
    expect(enrichmentText({ ...s, state: 'idle' })).toBe('Up to date');
    expect(enrichmentText({ ...s, state: 'starting' })).toBe('Starting…');
    expect(enrichmentText({ ...s, state: 'unavailable', message: 'no model files in ~/.hearth/models' })).toBe(
      'Models not installed: no model files in ~/.hearth/models',
    );
    expect(enrichmentText({ ...s, state: 'off' })).toBe('Tone tagging is off');
    expect(taggedText(3, 10)).toBe('Tagged 3 of 10 posts');
    expect(taggedText(12, 10)).toBe('Tagged 10 of 10 posts');
  });
});

describe('ToneChip', () => {
  it('shows a dot and the label with a descriptive name', () => {
    render(h(ToneChip, { tone: { label: 'negative', score: -0.82 } }), host);
    const chip = host.querySelector('[data-testid="tone-chip"]')!;
    expect(chip.textContent).toBe('Negative');
    expect(chip.getAttribute('aria-label')).toBe('Tone: negative (score \u22120.82), tagged on this device');
    expect(chip.getAttribute('title')).toBe(chip.getAttribute('aria-label'));
    expect(chip.classList.contains('tone-negative')).toBe(true);
    expect(chip.querySelector('.tone-dot')).not.toBeNull();
  });
  it('renders nothing before the post is tagged', () => {
    render(h(ToneChip, { tone: null }), host);
    expect(host.querySelector('[data-testid="tone-chip"]')).toBeNull();
  });
});

describe('EnrichmentProgress', () => {
  it('shows progress in words and as a bar, and follows new states', () => {
    render(h(EnrichmentProgress, { status: { state: 'working', done: 3, total: 10, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }, error: null }), host);
    const box = host.querySelector('[data-testid="enrichment-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('working');
    expect(box.textContent).toContain('Working…');
    expect(box.textContent).toContain('Tagged 3 of 10 posts');
    let bar = box.querySelector('progress')!;
    expect(bar.getAttribute('aria-labelledby')).toBe('enrichment-state');
    expect(bar.getAttribute('aria-valuetext')).toBe('Tagged 3 of 10 posts');
    expect(bar.getAttribute('max')).toBe('10');
    expect(bar.getAttribute('value')).toBe('3');
    expect(box.querySelector('[role="alert"]')).toBeNull();

    render(h(EnrichmentProgress, { status: { state: 'idle', done: 10, total: 10, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }, error: null }), host);
    expect(box.textContent).toContain('Up to date');
    expect(box.textContent).toContain('Tagged 10 of 10 posts');
    bar = box.querySelector('progress')!;
    expect(bar.getAttribute('value')).toBe('10');
  });
  it('is indeterminate while loading', () => {
    render(h(EnrichmentProgress, { status: null, error: null }), host);
    const box = host.querySelector('[data-testid="enrichment-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('loading');
    expect(box.textContent).toContain('Loading…');
    expect(box.querySelector('progress')?.hasAttribute('value')).toBe(false);
  });
  it('explains when the models are not installed', () => {
    render(h(EnrichmentProgress, { status: { state: 'unavailable', done: 0, total: 40, message: 'model files missing', images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }, error: null }), host);
    const box = host.querySelector('[data-testid="enrichment-progress"]')!;
    expect(box.textContent).toContain('Models not installed: model files missing');
    expect(box.textContent).toContain('Tagged 0 of 40 posts');
  });
  it('shows why the progress could not be read', () => {
    render(h(EnrichmentProgress, { status: null, error: 'Could not reach Hearth. Is it still running?' }), host);
    expect(host.querySelector('[role="alert"]')?.textContent).toBe('Could not read the progress: Could not reach Hearth. Is it still running?');
  });
});

describe('calm mode', () => {
  const post = samplePost();

  it('toggles with the switch and the c key, persists, and reloads the feed with calm', async () => {
    const fetch = vi.fn(async () => json({ posts: [post], next_cursor: null }));
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(App, {}), host));
    await settle();
    const urls = () => fetch.mock.calls.map((c) => (c as unknown as [string])[0]).filter((u) => u.startsWith('/api/feed'));
    expect(urls()).toEqual(['/api/feed?mode=ranked&limit=20']);
    expect(host.querySelector('[data-testid="tone-chip"]')?.textContent).toBe('Positive');

    const toggle = host.querySelector<HTMLButtonElement>('[data-testid="calm-toggle"]')!;
    expect(toggle.getAttribute('role')).toBe('switch');
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    await act(async () => toggle.click());
    await settle();
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    expect(localStorage.getItem('hearth.calm')).toBe('true');
    expect(urls().at(-1)).toBe('/api/feed?mode=ranked&limit=20&calm=true');

    await act(async () => {
      document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'c', bubbles: true }));
    });
    await settle();
    expect(toggle.getAttribute('aria-checked')).toBe('false');
    expect(localStorage.getItem('hearth.calm')).toBe('false');
    expect(urls().at(-1)).toBe('/api/feed?mode=ranked&limit=20');
  });

  it('starts in calm mode when it was left on', async () => {
    localStorage.setItem('hearth.calm', 'true');
    const fetch = vi.fn(async () => json({ posts: [], next_cursor: null }));
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(App, {}), host));
    await settle();
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe('/api/feed?mode=ranked&limit=20&calm=true');
    expect(host.querySelector('[data-testid="calm-toggle"]')?.getAttribute('aria-checked')).toBe('true');
  });
});
