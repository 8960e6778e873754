import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { ModelList, MODEL_POLL_MS } from './Settings';
import { App } from './App';
import { _resetForTests } from './api';
import { downloadError, downloadText, sizeMB } from './format';
import type { ModelStatus, Post } from './types';

let host: HTMLElement;
beforeEach(() => {
  host = document.createElement('div');
  document.body.appendChild(host);
});
afterEach(() => {
  render(null, host);
  host.remove();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  _resetForTests();
  sessionStorage.clear();
  localStorage.clear();
  window.history.replaceState(null, '', '/');
});

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

const MB = 1024 * 1024;

function model(over: Partial<ModelStatus> = {}): ModelStatus {
  return {
    id: 'tone',
    name: 'Tone classifier',
    task: 'Tone tagging',
    version: '1',
    licence: 'Apache-2.0',
    description: 'Tags the tone of posts.',
    size_bytes: Math.round(90.9 * MB),
    state: 'missing',
    detail: 'model.onnx is not in ~/.hearth/models/tone',
    path: '/home/u/.hearth/models/tone',
    sources: ['https://example.org/tone'],
    download: null,
    ...over,
  };
}

function fetching(done: number, total = Math.round(90.9 * MB)): NonNullable<ModelStatus['download']> {
  return { state: 'fetching', source: 'https://example.org/tone', file: 'model.onnx', bytes_done: done, bytes_total: total, error: null };
}

async function tick(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

function row(id = 'tone'): HTMLElement {
  return host.querySelector<HTMLElement>(`[data-testid="model-row"][data-model-id="${id}"]`)!;
}

describe('model words', () => {
  it('formats sizes and progress', () => {
    expect(sizeMB(Math.round(90.9 * MB))).toBe('90.9 MB');
    expect(sizeMB(10)).toBe('0.1 MB');
    expect(downloadText('model.onnx', Math.round(12.3 * MB), Math.round(90.9 * MB))).toBe('model.onnx — 12.3 of 90.9 MB');
    expect(downloadText(null, 2 * MB, 0)).toBe('Downloading — 2.0 MB');
    expect(downloadError('checksum mismatch for model.onnx')).toBe('Checksum mismatch for model.onnx.');
    expect(downloadError(null)).toBe('The download did not finish.');
  });
});

describe('ModelList', () => {
  it('lists the models with their state, size and licence', async () => {
    vi.useFakeTimers();
    const list = [model(), model({ id: 'embed', name: 'Embedder', task: 'Similarity', state: 'installed', detail: null, licence: 'MIT' })];
    const fetch = vi.fn(async () => json(list));
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(ModelList, {}), host));
    await tick();
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe('/api/models');
    const rows = host.querySelectorAll('[data-testid="model-row"]');
    expect(rows.length).toBe(2);
    const missing = row('tone');
    expect(missing.textContent).toContain('Tone classifier');
    expect(missing.textContent).toContain('Tone tagging');
    expect(missing.textContent).toContain('90.9 MB');
    expect(missing.textContent).toContain('Apache-2.0');
    expect(missing.textContent).toContain('Not installed');
    expect(missing.querySelector('.model-detail')?.textContent).toBe('model.onnx is not in ~/.hearth/models/tone');
    const button = missing.querySelector('[data-testid="model-download"]')!;
    expect(button.textContent).toBe('Download');
    expect(button.getAttribute('aria-label')).toBe('Download Tone classifier');
    const installed = row('embed');
    expect(installed.textContent).toContain('Installed');
    expect(installed.querySelector('[data-testid="model-download"]')).toBeNull();
    // Nothing is downloading, so nothing polls.
    await tick(MODEL_POLL_MS * 3);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('downloads, shows progress polled every second, and ends Installed', async () => {
    vi.useFakeTimers();
    const polls = [
      [model({ download: fetching(Math.round(12.3 * MB)) })],
      [model({ state: 'installed', detail: null, download: { ...fetching(0), state: 'done', bytes_done: Math.round(90.9 * MB) } })],
    ];
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
      if (init?.method === 'POST') return json([model({ download: fetching(0) })], 202);
      return json(polls.length && fetch.mock.calls.length > 2 ? polls.shift()! : [model()]);
    });
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(ModelList, {}), host));
    await tick();
    await act(async () => (row().querySelector('[data-testid="model-download"]') as HTMLButtonElement).click());
    await tick();
    const calls = () => fetch.mock.calls.map((c) => [(c[1] as RequestInit | undefined)?.method, c[0]]);
    expect(calls()).toEqual([
      ['GET', '/api/models'],
      ['POST', '/api/models/tone/download'],
    ]);
    expect(row().getAttribute('data-state')).toBe('fetching');
    expect(row().querySelector('[data-testid="model-download"]')).toBeNull();
    let bar = row().querySelector('progress')!;
    const labelId = bar.getAttribute('aria-labelledby')!;
    expect(host.querySelector(`#${labelId}`)?.textContent).toBe('model.onnx — 0.0 of 90.9 MB');
    expect(row().textContent).toContain('From https://example.org/tone');

    await tick(MODEL_POLL_MS);
    expect(fetch).toHaveBeenCalledTimes(3);
    bar = row().querySelector('progress')!;
    expect(bar.getAttribute('max')).toBe(String(Math.round(90.9 * MB)));
    expect(bar.getAttribute('value')).toBe(String(Math.round(12.3 * MB)));
    expect(row().textContent).toContain('model.onnx — 12.3 of 90.9 MB');

    await tick(MODEL_POLL_MS);
    expect(fetch).toHaveBeenCalledTimes(4);
    expect(row().getAttribute('data-state')).toBe('installed');
    expect(row().textContent).toContain('Installed');
    expect(row().querySelector('progress')).toBeNull();

    // Done: polling stops.
    await tick(MODEL_POLL_MS * 5);
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it('explains a failed download and offers to try again', async () => {
    vi.useFakeTimers();
    const failed = model({ download: { ...fetching(5 * MB), state: 'failed', error: 'could not reach example.org' } });
    const fetch = vi.fn(async (_url: string, init?: RequestInit) =>
      init?.method === 'POST' ? json([model({ download: fetching(0) })], 202) : json([failed]),
    );
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(ModelList, {}), host));
    await tick();
    expect(row().getAttribute('data-state')).toBe('failed');
    expect(row().querySelector('[role="alert"]')?.textContent).toBe('Download failed: Could not reach example.org.');
    const retry = row().querySelector<HTMLButtonElement>('[data-testid="model-download"]')!;
    expect(retry.textContent).toBe('Try again');
    expect(retry.getAttribute('aria-label')).toBe('Try downloading Tone classifier again');
    await act(async () => retry.click());
    await tick();
    expect(fetch.mock.calls.at(-1)?.[0]).toBe('/api/models/tone/download');
    expect(row().getAttribute('data-state')).toBe('fetching');
  });

  it('shows why a download could not start', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn(async (_url: string, init?: RequestInit) =>
      init?.method === 'POST' ? json({ code: 'conflict', message: 'a download is already running' }, 409) : json([model()]),
    );
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(ModelList, {}), host));
    await tick();
    await act(async () => (row().querySelector('[data-testid="model-download"]') as HTMLButtonElement).click());
    await tick();
    expect(row().querySelector('[role="alert"]')?.textContent).toBe('Could not start the download: A download is already running.');
    expect(row().querySelector('[data-testid="model-download"]')?.textContent).toBe('Try again');
  });
});

describe('search tone filter', () => {
  const post: Post = {
    id: 1,
    source: { id: 1, kind: 'demo', name: 'Demo' },
    author: { id: 1, handle: 'ada', display_name: 'Ada', avatar_color: '#336699' },
    text: 'Tea time',
    created_at: '2024-01-01T00:00:00Z',
    url: null,
    media: [],
    counts: { likes: 0, boosts: 0, replies: 0 },
    state: { liked: false, hidden: false, show_less: false },
    reason: null,
    tone: { label: 'positive', score: 0.7 },
  };

  async function settle() {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }

  it('re-runs the search with the chosen tone', async () => {
    const fetch = vi.fn(async (url: string) =>
      json(url.startsWith('/api/search') ? { posts: [post], total: 1 } : { posts: [], next_cursor: null }),
    );
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(App, {}), host));
    await settle();
    expect(host.querySelector('[data-testid="search-tone"]')).toBeNull();

    const input = host.querySelector<HTMLInputElement>('[data-testid="search-input"]')!;
    await act(async () => {
      input.value = 'tea';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      input.form!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await settle();
    const searches = () => fetch.mock.calls.map((c) => (c as unknown as [string])[0]).filter((u) => u.startsWith('/api/search'));
    expect(searches()).toEqual(['/api/search?q=tea&limit=50']);

    const filter = host.querySelector('[data-testid="search-tone"]')!;
    expect(filter.getAttribute('role')).toBe('radiogroup');
    expect(filter.getAttribute('aria-label')).toBe('Filter results by tone');
    const option = (tone: string) => filter.querySelector<HTMLButtonElement>(`[data-tone="${tone}"]`)!;
    expect(option('all').getAttribute('aria-checked')).toBe('true');
    expect([...filter.querySelectorAll('[role="radio"]')].map((b) => b.textContent)).toEqual(['All', 'Positive', 'Neutral', 'Negative']);

    await act(async () => option('negative').click());
    await settle();
    expect(searches().at(-1)).toBe('/api/search?q=tea&limit=50&tone=negative');
    expect(option('negative').getAttribute('aria-checked')).toBe('true');
    expect(option('all').getAttribute('aria-checked')).toBe('false');

    await act(async () => {
      option('negative').dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
    });
    await settle();
    expect(searches().at(-1)).toBe('/api/search?q=tea&limit=50&tone=neutral');

    await act(async () => option('all').click());
    await settle();
    expect(searches().at(-1)).toBe('/api/search?q=tea&limit=50');
    expect(searches().length).toBe(4);
  });
});
