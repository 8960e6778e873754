import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { ModelsSection } from './Settings';
import { App } from './App';
import { downloadError, downloadText, sizeMB } from './format';
import type { EnrichmentStatus, ModelStatus } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

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
    optional: false,
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

/**
 * A fake backend for the Models section: `reply` answers the JSON requests, and each
 * `/api/events` request gets a stream that `push` writes events to (it errors when aborted, as a
 * real fetch body does).
 */
function backend(reply: (url: string, init?: RequestInit) => Response | Promise<Response>) {
  const encoder = new TextEncoder();
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    if (url !== '/api/events') return reply(url, init);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        streams.push(c);
        init?.signal?.addEventListener('abort', () => c.error(new DOMException('The operation was aborted.', 'AbortError')));
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  });
  vi.stubGlobal('fetch', fetch);
  const push = async (event: 'progress' | 'error', payload: unknown) => {
    streams.at(-1)!.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`));
    await tick();
  };
  const requests = () => fetch.mock.calls.map((c) => [(c[1] as RequestInit | undefined)?.method, c[0]]);
  return { fetch, push, requests };
}

const idle: EnrichmentStatus = { state: 'idle', done: 0, total: 0, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } };

function enrichmentBox(): HTMLElement {
  return host.querySelector<HTMLElement>('[data-testid="enrichment-progress"]')!;
}

describe('ModelsSection', () => {
  it('lists the models with their state, size and licence, and does not poll', async () => {
    vi.useFakeTimers();
    const list = [model(), model({ id: 'embed', name: 'Embedder', task: 'Similarity', state: 'installed', detail: null, licence: 'MIT' })];
    const server = backend((url) => json(url === '/api/models' ? list : { state: 'working', done: 2, total: 8, message: null }));
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    expect(server.requests()).toEqual([
      ['GET', '/api/models'],
      ['GET', '/api/enrichment'],
      ['GET', '/api/events'],
    ]);
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
    expect(enrichmentBox().textContent).toContain('Tagged 2 of 8 posts');
    // Progress is pushed, so nothing is fetched again however long the page stays open.
    await tick(60_000);
    expect(server.fetch).toHaveBeenCalledTimes(3);
  });

  it('downloads and shows the pushed progress until Installed', async () => {
    vi.useFakeTimers();
    const server = backend((url, init) => {
      if (init?.method === 'POST') return json([model({ download: fetching(0) })], 202);
      return json(url === '/api/models' ? [model()] : idle);
    });
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    await act(async () => (row().querySelector('[data-testid="model-download"]') as HTMLButtonElement).click());
    await tick();
    expect(server.requests()).toEqual([
      ['GET', '/api/models'],
      ['GET', '/api/enrichment'],
      ['GET', '/api/events'],
      ['POST', '/api/models/tone/download'],
    ]);
    expect(row().getAttribute('data-state')).toBe('fetching');
    expect(row().querySelector('[data-testid="model-download"]')).toBeNull();
    let bar = row().querySelector('progress')!;
    const labelId = bar.getAttribute('aria-labelledby')!;
    expect(host.querySelector(`#${labelId}`)?.textContent).toBe('model.onnx — 0.0 of 90.9 MB');
    expect(host.querySelector(`#${labelId}`)?.getAttribute('aria-live')).toBe('polite');
    expect(row().textContent).toContain('From https://example.org/tone');

    await server.push('progress', {
      models: [model({ download: fetching(Math.round(12.3 * MB)) })],
      enrichment: { state: 'starting', done: 0, total: 0, message: null },
    });
    bar = row().querySelector('progress')!;
    expect(bar.getAttribute('max')).toBe(String(Math.round(90.9 * MB)));
    expect(bar.getAttribute('value')).toBe(String(Math.round(12.3 * MB)));
    expect(host.querySelector(`#${labelId}`)?.textContent).toBe('model.onnx — 12.3 of 90.9 MB');
    expect(enrichmentBox().textContent).toContain('Starting…');

    await server.push('progress', {
      models: [model({ state: 'installed', detail: null, download: { ...fetching(0), state: 'done', bytes_done: Math.round(90.9 * MB) } })],
      enrichment: { state: 'working', done: 3, total: 10, message: null },
    });
    expect(row().getAttribute('data-state')).toBe('installed');
    expect(row().textContent).toContain('Installed');
    expect(row().querySelector('progress')).toBeNull();
    const tagBar = enrichmentBox().querySelector('progress')!;
    expect(tagBar.getAttribute('max')).toBe('10');
    expect(tagBar.getAttribute('value')).toBe('3');
    expect(enrichmentBox().textContent).toContain('Tagged 3 of 10 posts');
    expect(server.fetch).toHaveBeenCalledTimes(4);
  });

  it('shows when the progress cannot be read, until it can again', async () => {
    vi.useFakeTimers();
    const running = [model({ download: fetching(5 * MB) })];
    const server = backend((url) => json(url === '/api/models' ? running : idle));
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    expect(host.querySelector('[role="alert"]')).toBeNull();
    await server.push('error', { code: 'internal', message: 'could not read the download state' });
    const alerts = () => [...host.querySelectorAll('[role="alert"]')].map((a) => a.textContent);
    expect(alerts()).toEqual([
      'Could not read the download progress: Could not read the download state.',
      'Could not read the progress: Could not read the download state.',
    ]);
    await server.push('progress', { models: [model({ download: fetching(6 * MB) })], enrichment: idle });
    expect(alerts()).toEqual([]);
    expect(row().querySelector('progress')?.getAttribute('value')).toBe(String(6 * MB));
  });

  it('keeps pushed progress over an older reply that arrives after it', async () => {
    vi.useFakeTimers();
    let answerModels!: (r: Response) => void;
    const server = backend((url) => (url === '/api/models' ? new Promise<Response>((r) => (answerModels = r)) : json(idle)));
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    await server.push('progress', { models: [model({ download: fetching(7 * MB) })], enrichment: idle });
    expect(row().querySelector('progress')?.getAttribute('value')).toBe(String(7 * MB));
    answerModels(json([model()]));
    await tick();
    expect(row().getAttribute('data-state')).toBe('fetching');
    expect(row().querySelector('progress')?.getAttribute('value')).toBe(String(7 * MB));
  });

  it('stops listening when it goes away', async () => {
    vi.useFakeTimers();
    const server = backend((url) => json(url === '/api/models' ? [model()] : idle));
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    const init = server.fetch.mock.calls[2][1] as RequestInit;
    expect(server.fetch.mock.calls[2][0]).toBe('/api/events');
    expect(init.signal?.aborted).toBe(false);
    await act(async () => render(null, host));
    expect(init.signal?.aborted).toBe(true);
    await tick(60_000);
    expect(server.fetch).toHaveBeenCalledTimes(3);
  });

  it('explains a failed download and offers to try again', async () => {
    vi.useFakeTimers();
    const failed = model({ download: { ...fetching(5 * MB), state: 'failed', error: 'could not reach example.org' } });
    const server = backend((url, init) =>
      init?.method === 'POST' ? json([model({ download: fetching(0) })], 202) : json(url === '/api/models' ? [failed] : idle),
    );
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    expect(row().getAttribute('data-state')).toBe('failed');
    expect(row().querySelector('[role="alert"]')?.textContent).toBe('Download failed: Could not reach example.org.');
    const retry = row().querySelector<HTMLButtonElement>('[data-testid="model-download"]')!;
    expect(retry.textContent).toBe('Try again');
    expect(retry.getAttribute('aria-label')).toBe('Try downloading Tone classifier again');
    await act(async () => retry.click());
    await tick();
    expect(server.requests().at(-1)).toEqual(['POST', '/api/models/tone/download']);
    expect(row().getAttribute('data-state')).toBe('fetching');
  });

  it('shows why a download could not start', async () => {
    vi.useFakeTimers();
    backend((url, init) =>
      init?.method === 'POST'
        ? json({ code: 'conflict', message: 'a download is already running' }, 409)
        : json(url === '/api/models' ? [model()] : idle),
    );
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    await act(async () => (row().querySelector('[data-testid="model-download"]') as HTMLButtonElement).click());
    await tick();
    expect(row().querySelector('[role="alert"]')?.textContent).toBe('Could not start the download: A download is already running.');
    expect(row().querySelector('[data-testid="model-download"]')?.textContent).toBe('Try again');
  });

  it('offers to retry when the list cannot be read', async () => {
    vi.useFakeTimers();
    const replies = [json({ code: 'internal', message: 'models folder unreadable' }, 500), json([model()])];
    const server = backend((url) => (url === '/api/models' ? replies.shift()! : json(idle)));
    await act(async () => render(h(ModelsSection, {}), host));
    await tick();
    const alert = host.querySelector('[role="alert"]')!;
    expect(alert.textContent).toBe('Could not list the models: Models folder unreadable. Retry');
    await act(async () => alert.querySelector('button')!.click());
    await tick();
    expect(server.requests().filter(([, url]) => url === '/api/models').length).toBe(2);
    expect(row().getAttribute('data-state')).toBe('missing');
  });
});

describe('search tone filter', () => {
  const post = samplePost({ text: 'Tea time' });

  it('re-runs the search with the chosen tone', async () => {
    const fetch = vi.fn(async (url: string) =>
      json(url.startsWith('/api/search') ? { posts: [post], total: 1, semantic: false } : { posts: [], next_cursor: null }),
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
