// Speech transcription outside the cards: the cancel and retry calls in both transports, and the
// transcription progress in Settings → Models, kept current by the pushed progress.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { api, buildRequest, calls } from './api';
import { ModelsSection, SpeechModelChoice, SpeechProgress } from './Settings';
import { speechText, transcribedText } from './format';
import type { EnrichmentStatus, ModelStatus } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

type W = Window & { __TAURI_INTERNALS__?: unknown };

describe('cancelTranscription and retryTranscription', () => {
  it('post to the media item’s transcription in browser mode', () => {
    for (const [call, command, path] of [
      [calls.cancelTranscription(12), 'cancel_transcription', '/api/media/12/transcription/cancel'],
      [calls.retryTranscription(12), 'retry_transcription', '/api/media/12/transcription/retry'],
    ] as const) {
      expect(call.command).toBe(command);
      expect(call.args).toEqual({ mediaId: 12 });
      const { url, init } = buildRequest(call, 'tok');
      expect(url).toBe(path);
      expect(init.method).toBe('POST');
      expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
    }
  });

  it('send the token over HTTP and resolve to the updated post', async () => {
    window.history.replaceState(null, '', '/?token=T7');
    const post = samplePost({ id: 4 });
    const fetch = vi.fn(async () => json(post));
    vi.stubGlobal('fetch', fetch);
    await expect(api.cancelTranscription(12)).resolves.toEqual(post);
    await expect(api.retryTranscription(13)).resolves.toEqual(post);
    const seen = fetch.mock.calls.map((c) => {
      const [url, init] = c as unknown as [string, RequestInit];
      expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T7');
      return [init.method, url];
    });
    expect(seen).toEqual([
      ['POST', '/api/media/12/transcription/cancel'],
      ['POST', '/api/media/13/transcription/retry'],
    ]);
  });

  it('invoke the documented commands with a camelCase media id inside the desktop app', async () => {
    const w = window as W;
    const post = samplePost({ id: 4 });
    const invoke = vi.fn(async () => post);
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    try {
      await expect(api.cancelTranscription(12)).resolves.toEqual(post);
      await expect(api.retryTranscription(13)).resolves.toEqual(post);
      expect(fetch).not.toHaveBeenCalled();
      expect(invoke.mock.calls.map((c) => [(c as unknown[])[0], (c as unknown[])[1]])).toEqual([
        ['cancel_transcription', { mediaId: 12 }],
        ['retry_transcription', { mediaId: 13 }],
      ]);
    } finally {
      delete w.__TAURI_INTERNALS__;
    }
  });

  it('turn the backend’s refusals into ApiErrors', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'not_found', message: 'no audio with id 12' }, 404)));
    await expect(api.cancelTranscription(12)).rejects.toMatchObject({ code: 'not_found', message: 'No audio with id 12.' });
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'conflict', message: 'the transcript is already done' }, 409)));
    await expect(api.retryTranscription(12)).rejects.toMatchObject({ code: 'conflict', message: 'The transcript is already done.' });
  });
});

describe('speech transcription progress', () => {
  it('puts the progress in plain words', () => {
    expect(transcribedText(3, 12)).toBe('Transcribed 3 of 12 recordings');
    expect(transcribedText(5, 1)).toBe('Transcribed 1 of 1 recording');
    expect(speechText({ done: 3, total: 12, message: null })).toBe('Working…');
    expect(speechText({ done: 12, total: 12, message: null })).toBe('Up to date');
    expect(speechText({ done: 0, total: 0, message: null })).toBe('Up to date');
    expect(speechText({ done: 0, total: 4, message: 'transcription waits: the speech model is not installed' })).toBe(
      'Transcription waits: the speech model is not installed.',
    );
  });

  it('shows how many recordings are transcribed, as words and a bar', () => {
    render(h(SpeechProgress, { status: { model: 'whisper-tiny-en', done: 3, total: 12, message: null, current: { media_id: 4, post_id: 2, fraction: 0.5 } } }), host);
    const box = host.querySelector('[data-testid="speech-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('working');
    expect(box.textContent).toContain('Working…');
    expect(box.textContent).toContain('Transcribed 3 of 12 recordings');
    const bar = box.querySelector('progress')!;
    expect(bar.getAttribute('aria-labelledby')).toBe('speech-transcription-state');
    expect(host.querySelector('#speech-transcription-state')?.textContent).toBe('Working…');
    expect(bar.getAttribute('aria-valuetext')).toBe('Transcribed 3 of 12 recordings');
    expect(bar.getAttribute('max')).toBe('12');
    expect(bar.getAttribute('value')).toBe('3');
    expect(box.querySelector('.enrichment-line')?.getAttribute('aria-live')).toBe('polite');

    render(h(SpeechProgress, { status: { model: 'whisper-tiny-en', done: 12, total: 12, message: null, current: null } }), host);
    expect(box.getAttribute('data-state')).toBe('idle');
    expect(box.textContent).toContain('Up to date');
    expect(box.querySelector('progress')!.getAttribute('value')).toBe('12');
  });

  it('says why recordings wait', () => {
    render(
      h(SpeechProgress, { status: { model: 'whisper-tiny-en', done: 0, total: 4, message: 'the speech model is not installed', current: null } }),
      host,
    );
    const box = host.querySelector('[data-testid="speech-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('waiting');
    expect(box.textContent).toContain('The speech model is not installed.');
    expect(box.textContent).toContain('Transcribed 0 of 4 recordings');
    expect(box.querySelector('progress')!.getAttribute('value')).toBe('0');
  });

  it('is indeterminate while loading, and settled with nothing to transcribe', () => {
    render(h(SpeechProgress, { status: null }), host);
    const box = host.querySelector('[data-testid="speech-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('loading');
    expect(box.textContent).toContain('Loading…');
    expect(box.querySelector('progress')!.hasAttribute('value')).toBe(false);

    render(h(SpeechProgress, { status: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }), host);
    expect(box.getAttribute('data-state')).toBe('idle');
    expect(box.textContent).toContain('Transcribed 0 of 0 recordings');
    expect(box.querySelector('progress')!.getAttribute('value')).toBe('1');
    expect(box.querySelector('progress')!.getAttribute('max')).toBe('1');
  });

  it('follows the pushed progress in Settings → Models, below image labelling', async () => {
    const status: EnrichmentStatus = {
      state: 'working',
      done: 2,
      total: 8,
      message: null,
      images: { done: 6, total: 6, message: null },
      speech: { model: 'whisper-tiny-en', done: 1, total: 12, message: null, current: { media_id: 3, post_id: 3, fraction: 0.2 } },
    };
    const encoder = new TextEncoder();
    let stream!: ReadableStreamDefaultController<Uint8Array>;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        if (url === '/api/events') {
          const body = new ReadableStream<Uint8Array>({
            start(c) {
              stream = c;
              init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
            },
          });
          return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
        }
        return json(url === '/api/models' ? [] : status);
      }),
    );
    await act(async () => render(h(ModelsSection, {}), host));
    await settle();
    const headings = [...host.querySelectorAll('h3')].map((h3) => h3.textContent);
    expect(headings).toEqual(['Tone tagging', 'Image labelling', 'Speech transcription']);
    const box = () => host.querySelector('[data-testid="speech-progress"]')!;
    expect(host.querySelector('[data-testid="image-progress"]')!.compareDocumentPosition(box())).toBe(Node.DOCUMENT_POSITION_FOLLOWING);
    expect(box().textContent).toContain('Transcribed 1 of 12 recordings');
    expect(box().querySelector('progress')!.getAttribute('value')).toBe('1');

    const pushed = { ...status, speech: { model: 'whisper-tiny-en', done: 12, total: 12, message: null, current: null } };
    await act(async () => {
      stream.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify({ models: [], enrichment: pushed })}\n\n`));
    });
    await settle();
    expect(box().textContent).toContain('Up to date');
    expect(box().textContent).toContain('Transcribed 12 of 12 recordings');
    expect(box().querySelector('progress')!.getAttribute('value')).toBe('12');
  });
});

function speechModel(id: string, name: string, state: 'installed' | 'missing', size_bytes: number): ModelStatus {
  return {
    id,
    name,
    task: 'speech-recognition',
    version: '1',
    licence: 'MIT',
    description: '',
    size_bytes,
    optional: id !== 'whisper-tiny-en',
    state,
    detail: null,
    path: '',
    sources: [],
    download: null,
  };
}

describe('choosing the speech model', () => {
  const models = [
    { ...speechModel('all-minilm-l6-v2', 'all-MiniLM-L6-v2', 'installed', 90e6), task: 'text-embedding' },
    speechModel('whisper-tiny-en', 'Whisper tiny.en', 'installed', 77.7e6),
    speechModel('whisper-base-en', 'Whisper base.en', 'missing', 147.9e6),
  ];
  const status = (model: string): EnrichmentStatus => ({
    state: 'idle',
    done: 0,
    total: 0,
    message: null,
    images: { done: 0, total: 0, message: null },
    speech: { model, done: 0, total: 0, message: null, current: null },
  });

  it('offers just the speech models, the one in use checked, with size and state', () => {
    render(h(SpeechModelChoice, { models, chosen: 'whisper-tiny-en', onChosen: () => {}, download: async () => {} }), host);
    const group = host.querySelector('[data-testid="speech-model"]')!;
    expect(group.querySelector('legend')?.textContent).toBe('Speech model');
    const radios = [...group.querySelectorAll<HTMLInputElement>('input[type="radio"]')];
    expect(radios.map((r) => [r.value, r.checked])).toEqual([
      ['whisper-tiny-en', true],
      ['whisper-base-en', false],
    ]);
    const labels = [...group.querySelectorAll('label')].map((l) => l.textContent);
    expect(labels[0]).toContain('Whisper tiny.en');
    expect(labels[0]).toContain('installed');
    expect(labels[1]).toContain('download on choosing');
  });

  it('shows nothing until the models and the choice are known', () => {
    render(h(SpeechModelChoice, { models: null, chosen: null, onChosen: () => {}, download: async () => {} }), host);
    expect(host.querySelector('[data-testid="speech-model"]')).toBeNull();
  });

  it('saves a new choice and downloads it when it is not installed', async () => {
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => json(status(JSON.parse(String(init?.body)).model)));
    vi.stubGlobal('fetch', fetch);
    const chosen: string[] = [];
    const downloads: string[] = [];
    render(
      h(SpeechModelChoice, {
        models,
        chosen: 'whisper-tiny-en',
        onChosen: (s: EnrichmentStatus) => chosen.push(s.speech.model),
        download: async (id: string) => void downloads.push(id),
      }),
      host,
    );
    const base = host.querySelector<HTMLInputElement>('input[value="whisper-base-en"]')!;
    await act(async () => {
      base.click();
    });
    await settle();
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect([url, init.method, JSON.parse(String(init.body))]).toEqual(['/api/speech-model', 'POST', { model: 'whisper-base-en' }]);
    expect(chosen).toEqual(['whisper-base-en']);
    expect(downloads).toEqual(['whisper-base-en']);
  });

  it('says so when the choice is refused', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'invalid_input', message: 'not a speech model' }, 400)));
    const downloads: string[] = [];
    render(
      h(SpeechModelChoice, { models, chosen: 'whisper-tiny-en', onChosen: () => {}, download: async (id: string) => void downloads.push(id) }),
      host,
    );
    await act(async () => {
      host.querySelector<HTMLInputElement>('input[value="whisper-base-en"]')!.click();
    });
    await settle();
    expect(host.querySelector('[role="alert"]')?.textContent).toContain('Could not change the speech model: Not a speech model.');
    expect(downloads).toEqual([]);
  });
});
