// Feed subscriptions: the calls in both transports (the OPML export read as text), the words for
// a feed's state and a refresh, checking a feed's address and tags, and Settings → Subscriptions:
// adding, renaming, tagging, pausing, removing (asked first), refreshing with the pushed progress,
// OPML import and export, and the empty state.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, settle, useHost } from './test-support';
import { api, buildRequest, calls } from './api';
import { OPML_FILE_NAME, SourcesSection } from './Sources';
import { Settings } from './Settings';
import {
  agoText,
  durationWords,
  feedHost,
  inText,
  opmlImportText,
  postCountText,
  refreshedText,
  removedText,
  sourceStateText,
  syncText,
} from './format';
import { checkFeedAddress, parseTags } from './validate';
import type { OpmlImport, SourceInfo, SyncStatus } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

type W = Window & { __TAURI_INTERNALS__?: unknown };

const NOW = new Date('2024-06-15T12:00:00Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000).toISOString();

function source(over: Partial<SourceInfo> = {}): SourceInfo {
  return {
    id: 3,
    kind: 'rss',
    name: 'Harbour News',
    url: 'https://www.harbour.example/feed.xml',
    site_url: 'https://www.harbour.example/',
    tags: ['local'],
    paused: false,
    state: 'ok',
    last_sync_at: minutes(-5),
    next_sync_at: minutes(25),
    last_error: null,
    item_count: 42,
    ...over,
  };
}

const OPML = '<?xml version="1.0"?><opml version="2.0"><body><outline type="rss" xmlUrl="https://www.harbour.example/feed.xml"/></body></opml>';

describe('the words for feeds', () => {
  it('counts time in the largest unit that fits', () => {
    expect(durationWords(30_000)).toBe('1 minute');
    expect(durationWords(5 * 60_000)).toBe('5 minutes');
    expect(durationWords(90 * 60_000)).toBe('1 hour');
    expect(durationWords(90 * 60_000, Math.round)).toBe('2 hours');
    expect(durationWords(3 * 86_400_000)).toBe('3 days');
  });

  it('says how long ago, and how long until', () => {
    expect(agoText(minutes(-0.5), NOW)).toBe('just now');
    expect(agoText(minutes(2), NOW)).toBe('just now');
    expect(agoText(minutes(-5), NOW)).toBe('5 minutes ago');
    expect(agoText(minutes(-1), NOW)).toBe('1 minute ago');
    expect(agoText(minutes(-180), NOW)).toBe('3 hours ago');
    expect(agoText(minutes(-2 * 1440), NOW)).toBe('2 days ago');
    expect(agoText('not a date', NOW)).toBe('');
    expect(inText(minutes(25), NOW)).toBe('in 25 minutes');
    expect(inText(minutes(24.6), NOW)).toBe('in 25 minutes');
    expect(inText(minutes(0.5), NOW)).toBe('in a moment');
    expect(inText(minutes(-3), NOW)).toBe('in a moment');
    expect(inText(minutes(120), NOW)).toBe('in 2 hours');
    expect(inText('not a date', NOW)).toBe('');
  });

  it('puts a feed’s state in plain words', () => {
    expect(sourceStateText(source(), NOW)).toBe('Synced 5 minutes ago · next in 25 minutes');
    expect(sourceStateText(source({ next_sync_at: null }), NOW)).toBe('Synced 5 minutes ago');
    expect(sourceStateText(source({ state: 'new', last_sync_at: null, next_sync_at: minutes(0) }), NOW)).toBe(
      'Not synced yet · next in a moment',
    );
    expect(sourceStateText(source({ state: 'paused', paused: true, next_sync_at: null }), NOW)).toBe('Paused');
    expect(sourceStateText(source({ paused: true }), NOW)).toBe('Paused');
    expect(sourceStateText(source({ state: 'syncing' }), NOW)).toBe('Syncing…');
    expect(sourceStateText(source(), NOW, true)).toBe('Syncing…');
    const why = 'The server answered 503 (service unavailable); trying again in 20 minutes.';
    expect(sourceStateText(source({ state: 'failing', last_error: why }), NOW)).toBe(`Failing: ${why}`);
    expect(sourceStateText(source({ state: 'failing', last_error: null }), NOW)).toBe('Failing');
  });

  it('puts a refresh, an import and a removal in plain words', () => {
    expect(syncText({ state: 'syncing', done: 2, total: 12, current: 'Harbour News' })).toBe('Refreshing 3 of 12: Harbour News');
    expect(syncText({ state: 'syncing', done: 12, total: 12, current: 'Last' })).toBe('Refreshing 12 of 12: Last');
    expect(syncText({ state: 'syncing', done: 2, total: 12, current: null })).toBe('Refreshing feeds: 2 of 12 done');
    expect(syncText({ state: 'idle', done: 12, total: 12, current: null })).toBe('');
    expect(refreshedText(2, 12)).toBe('Refreshed 2 of 12 feeds');
    expect(refreshedText(1, 1)).toBe('Refreshed 1 of 1 feed');
    expect(opmlImportText({ added: 5, existing: 2, errors: [] })).toBe('Added 5 feeds, 2 already subscribed.');
    expect(opmlImportText({ added: 1, existing: 0, errors: [] })).toBe('Added 1 feed.');
    expect(opmlImportText({ added: 0, existing: 3, errors: [{}, {}] })).toBe('Added no feeds, 3 already subscribed; 2 feeds could not be added.');
    expect(removedText({ removed_posts: 12, kept_posts: 2 })).toBe('Removed 12 posts; kept 2 you liked.');
    expect(removedText({ removed_posts: 1, kept_posts: 0 })).toBe('Removed 1 post.');
    expect(postCountText(1)).toBe('1 post');
    expect(postCountText(1204)).toBe('1,204 posts');
    expect(feedHost('https://www.harbour.example/feed.xml')).toBe('harbour.example');
    expect(feedHost('http://localhost:8080/feed')).toBe('localhost:8080');
    expect(feedHost('not a url')).toBe('not a url');
  });
});

describe('checking what is typed', () => {
  it('takes http(s) addresses, adding https:// when it was left out', () => {
    expect(checkFeedAddress('https://harbour.example/feed.xml')).toEqual({ ok: true, url: 'https://harbour.example/feed.xml' });
    expect(checkFeedAddress('  http://harbour.example  ')).toEqual({ ok: true, url: 'http://harbour.example/' });
    expect(checkFeedAddress('harbour.example/feed')).toEqual({ ok: true, url: 'https://harbour.example/feed' });
    expect(checkFeedAddress('localhost:8080/feed')).toEqual({ ok: true, url: 'https://localhost:8080/feed' });
  });

  it('refuses anything else with a plain reason', () => {
    expect(checkFeedAddress('   ')).toEqual({ ok: false, message: 'Type the address of a feed, or of the site that has one.' });
    for (const other of ['javascript:alert(1)', 'mailto:a@example.com', 'ftp://harbour.example/feed', 'file:///etc/passwd', 'data:text/xml,<rss/>']) {
      expect(checkFeedAddress(other)).toEqual({ ok: false, message: 'Only http and https addresses can be followed.' });
    }
    for (const bad of ['https://', 'http://exa mple.com', 'https://[nope']) {
      expect(checkFeedAddress(bad).ok).toBe(false);
    }
  });

  it('reads tags from a comma-separated list', () => {
    expect(parseTags('news, Science ,, news,  long   tag ')).toEqual(['news', 'Science', 'long tag']);
    expect(parseTags(' , ')).toEqual([]);
  });
});

describe('the subscription calls', () => {
  it('build the documented commands and HTTP requests', () => {
    const cases: [ReturnType<typeof calls.sources>, string, unknown, string, string, unknown][] = [
      [calls.sources(), 'sources', undefined, 'GET', '/api/sources', undefined],
      [calls.addSource('https://h.example/feed'), 'add_source', { url: 'https://h.example/feed' }, 'POST', '/api/sources', { url: 'https://h.example/feed' }],
      [calls.updateSource(3, { name: 'Harbour', tags: undefined }), 'update_source', { id: 3, change: { name: 'Harbour' } }, 'POST', '/api/sources/3', { name: 'Harbour' }],
      [calls.updateSource(3, { tags: ['a'], paused: true }), 'update_source', { id: 3, change: { tags: ['a'], paused: true } }, 'POST', '/api/sources/3', { tags: ['a'], paused: true }],
      [calls.removeSource(3, true), 'remove_source', { id: 3, keepLiked: true }, 'POST', '/api/sources/3/remove', { keep_liked: true }],
      [calls.syncNow(), 'sync_now', { sourceId: null }, 'POST', '/api/sync', { source_id: null }],
      [calls.syncNow(3), 'sync_now', { sourceId: 3 }, 'POST', '/api/sync', { source_id: 3 }],
      [calls.importOpml(OPML), 'import_opml', { opml: OPML }, 'POST', '/api/opml/import', { opml: OPML }],
      [calls.exportOpml(), 'export_opml', undefined, 'GET', '/api/opml/export', undefined],
    ];
    for (const [call, command, args, method, path, body] of cases) {
      expect(call.command).toBe(command);
      expect(call.args).toEqual(args);
      const { url, init } = buildRequest(call, 'tok');
      expect([init.method, url]).toEqual([method, path]);
      expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
      if (body === undefined) expect(init.body).toBeUndefined();
      else expect(JSON.parse(String(init.body))).toEqual(body);
    }
    expect((buildRequest(calls.exportOpml(), null).init.headers as Record<string, string>).Accept).toMatch(/^text\/x-opml/);
    expect((buildRequest(calls.sources(), null).init.headers as Record<string, string>).Accept).toBe('application/json');
  });

  it('send the token over HTTP and resolve to the backend’s replies', async () => {
    window.history.replaceState(null, '', '/?token=T9');
    const removed = { removed_posts: 4, kept_posts: 1 };
    const sync: SyncStatus = { state: 'syncing', done: 0, total: 1, current: null, current_source_id: null };
    const fetch = vi.fn(async (url: string) =>
      url === '/api/sources'
        ? json([source()])
        : url.endsWith('/remove')
          ? json(removed)
          : url === '/api/sync'
            ? json(sync)
            : url === '/api/opml/export'
              ? new Response(OPML, { headers: { 'content-type': 'text/x-opml' } })
              : json(source()),
    );
    vi.stubGlobal('fetch', fetch);
    await expect(api.sources()).resolves.toEqual([source()]);
    await expect(api.updateSource(3, { paused: true })).resolves.toEqual(source());
    await expect(api.removeSource(3, false)).resolves.toEqual(removed);
    await expect(api.syncNow(3)).resolves.toEqual(sync);
    await expect(api.exportOpml()).resolves.toBe(OPML);
    for (const c of fetch.mock.calls) {
      const init = (c as unknown as [string, RequestInit])[1];
      expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T9');
    }
    const removeCall = fetch.mock.calls[2] as unknown as [string, RequestInit];
    expect(JSON.parse(String(removeCall[1].body))).toEqual({ keep_liked: false });
  });

  it('read the OPML export as text, and its refusals as errors', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('', { headers: { 'content-type': 'text/x-opml' } })));
    await expect(api.exportOpml()).resolves.toBe('');
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'internal', message: 'the database is locked' }, 500)));
    await expect(api.exportOpml()).rejects.toMatchObject({ code: 'internal', message: 'The database is locked.' });
  });

  it('turn the backend’s refusals to subscribe into ApiErrors', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'invalid_input', message: 'no feed found at https://h.example/' }, 400)));
    await expect(api.addSource('https://h.example/')).rejects.toMatchObject({ code: 'invalid_input', message: 'No feed found at https://h.example/.' });
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'unavailable', message: 'could not reach h.example' }, 503)));
    await expect(api.addSource('https://h.example/')).rejects.toMatchObject({ code: 'unavailable', message: 'Could not reach h.example.' });
  });

  it('invoke the documented commands with camelCase arguments inside the desktop app', async () => {
    const w = window as W;
    const replies: Record<string, unknown> = {
      sources: [source()],
      add_source: source(),
      update_source: source({ name: 'Harbour' }),
      remove_source: { removed_posts: 1, kept_posts: 0 },
      sync_now: { state: 'syncing', done: 0, total: 2, current: null, current_source_id: null },
      import_opml: { added: 1, existing: 0, errors: [] },
      export_opml: OPML,
    };
    const invoke = vi.fn(async (command: string) => replies[command]);
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    try {
      await api.sources();
      await api.addSource('https://h.example/feed');
      await api.updateSource(3, { name: 'Harbour' });
      await api.removeSource(3, true);
      await api.syncNow();
      await api.syncNow(3);
      await api.importOpml(OPML);
      await expect(api.exportOpml()).resolves.toBe(OPML);
      expect(fetch).not.toHaveBeenCalled();
      expect(invoke.mock.calls.map((c) => [(c as unknown[])[0], (c as unknown[])[1]])).toEqual([
        ['sources', {}],
        ['add_source', { url: 'https://h.example/feed' }],
        ['update_source', { id: 3, change: { name: 'Harbour' } }],
        ['remove_source', { id: 3, keepLiked: true }],
        ['sync_now', { sourceId: null }],
        ['sync_now', { sourceId: 3 }],
        ['import_opml', { opml: OPML }],
        ['export_opml', {}],
      ]);
    } finally {
      delete w.__TAURI_INTERNALS__;
    }
  });
});

type Reply = Response | Promise<Response>;

/**
 * A fake backend for the section: the list is `server.list` (change it to change what the next
 * fetch sees), `routes` answers "METHOD /path" with the parsed JSON body, and `push` sends a
 * refresh state down the progress stream.
 */
function backend(list: SourceInfo[], routes: Record<string, (body: any) => Reply> = {}) {
  const encoder = new TextEncoder();
  let stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  const server = {
    list,
    fetch: vi.fn(async (url: string, init?: RequestInit): Promise<Response> => {
      if (url === '/api/events') {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            stream = c;
            init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      }
      const key = `${init?.method ?? 'GET'} ${url}`;
      if (routes[key]) return routes[key](init?.body ? JSON.parse(String(init.body)) : undefined);
      if (key === 'GET /api/sources') return json(server.list);
      if (key === 'GET /api/status' || key === 'GET /api/mutes' || key === 'GET /api/models' || key === 'GET /api/enrichment') {
        return json({ code: 'not_found', message: 'not in this test' }, 404);
      }
      return json({ code: 'not_found', message: `no ${key}` }, 404);
    }),
    /** The requests made, as [method, url, body], leaving out the progress stream. */
    requests: () =>
      server.fetch.mock.calls
        .filter((c) => c[0] !== '/api/events')
        .map((c) => {
          const init = c[1] as RequestInit | undefined;
          return [init?.method ?? 'GET', c[0], init?.body ? JSON.parse(String(init.body)) : undefined];
        }),
    posts: () => server.requests().filter(([method]) => method === 'POST'),
    listFetches: () => server.requests().filter(([method, url]) => method === 'GET' && url === '/api/sources').length,
    push: async (sync: SyncStatus) => {
      const progress = {
        models: [],
        enrichment: {
          state: 'idle',
          done: 0,
          total: 0,
          message: null,
          images: { done: 0, total: 0, message: null },
          speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null },
        },
        sync,
      };
      await act(async () => {
        stream!.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify(progress)}\n\n`));
      });
      await settle();
    },
  };
  vi.stubGlobal('fetch', server.fetch);
  return server;
}

/** Answers later: `answer` settles the request it was made for. */
function later() {
  let resolve!: (r: Response) => void;
  const promise = new Promise<Response>((r) => (resolve = r));
  return {
    promise,
    answer: async (r: Response) => {
      await act(async () => resolve(r));
      await settle();
      await settle();
    },
  };
}

async function mount() {
  await act(async () => render(h(SourcesSection, { clock: () => NOW }), host));
  await settle();
  await settle();
}

const byTestId = <T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = host) =>
  root.querySelector<T>(`[data-testid="${id}"]`)!;
const rows = () => [...host.querySelectorAll<HTMLElement>('[data-testid="source-row"]')];
const row = (id: number) => host.querySelector<HTMLElement>(`[data-testid="source-row"][data-source-id="${id}"]`)!;

async function click(el: HTMLElement) {
  await act(async () => el.click());
  await settle();
}

async function type(input: HTMLInputElement, value: string) {
  await act(async () => {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

async function submit(form: HTMLFormElement) {
  await act(async () => {
    form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  });
  await settle();
}

describe('Settings → Subscriptions', () => {
  it('says what to do when there are no subscriptions yet', async () => {
    backend([]);
    await mount();
    expect(byTestId('sources-empty').textContent).toBe(
      'No subscriptions yet. Add a feed by its address or import an OPML file from another reader.',
    );
    expect(byTestId<HTMLButtonElement>('refresh-all').disabled).toBe(true);
    expect(byTestId<HTMLButtonElement>('opml-export').disabled).toBe(true);
    expect(byTestId<HTMLButtonElement>('opml-import').disabled).toBe(false);
    expect(byTestId<HTMLButtonElement>('opml-import').textContent).toBe('Import OPML…');
  });

  it('lists each feed with its name, host, tags, posts and state in words', async () => {
    const why = 'The server answered 503 (service unavailable); trying again in 20 minutes.';
    backend([
      source(),
      source({ id: 4, name: 'Quiet Blog', url: 'https://quiet.example/atom', tags: [], paused: true, state: 'paused', next_sync_at: null, item_count: 1 }),
      source({ id: 5, name: 'Broken', url: 'http://broken.example/rss', state: 'failing', last_error: why }),
      source({ id: 6, name: 'Fresh', state: 'new', last_sync_at: null, next_sync_at: null, item_count: 0 }),
    ]);
    await mount();
    expect(rows().map((r) => r.querySelector('.source-name')!.textContent)).toEqual(['Harbour News', 'Quiet Blog', 'Broken', 'Fresh']);
    const first = row(3);
    expect(first.querySelector('.source-host')!.textContent).toBe('harbour.example');
    expect(first.querySelector('.source-host')!.getAttribute('title')).toBe('https://www.harbour.example/feed.xml');
    expect(byTestId('source-count', first).textContent).toBe('42 posts');
    expect([...byTestId('source-tags', first).querySelectorAll('li')].map((li) => li.textContent)).toEqual(['local']);
    expect(byTestId('source-tags', first).getAttribute('aria-label')).toBe('Tags');
    expect(byTestId('source-state', first).textContent).toBe('Synced 5 minutes ago · next in 25 minutes');
    expect(byTestId('source-state', row(4)).textContent).toBe('Paused');
    expect(row(4).querySelector('[data-testid="source-tags"]')).toBeNull();
    expect(byTestId('source-count', row(4)).textContent).toBe('1 post');
    expect(byTestId('source-state', row(5)).textContent).toBe(`Failing: ${why}`);
    expect(row(5).getAttribute('data-state')).toBe('failing');
    expect(byTestId('source-state', row(6)).textContent).toBe('Not synced yet');
    const actions = first.querySelector('[role="group"]')!;
    expect(actions.getAttribute('aria-label')).toBe('Actions for Harbour News');
    expect([...actions.querySelectorAll('button')].map((b) => [b.textContent, b.getAttribute('aria-label')])).toEqual([
      ['Refresh', 'Refresh Harbour News'],
      ['Rename', 'Rename Harbour News'],
      ['Tags', 'Tags for Harbour News'],
      ['Pause', 'Pause Harbour News'],
      ['Remove', 'Remove Harbour News'],
    ]);
    expect(byTestId('source-pause', row(4)).textContent).toBe('Resume');
    expect(host.querySelector('ul.source-list')!.getAttribute('aria-labelledby')).toBe('sources-list-title');
  });

  it('says when the list cannot be read, and reads it again on Retry', async () => {
    const server = backend([source()], { 'GET /api/sources': () => json({ code: 'internal', message: 'the database is locked' }, 500) });
    await mount();
    const alert = host.querySelector('[role="alert"]')!;
    expect(alert.textContent).toContain('Could not list your subscriptions: The database is locked.');
    server.fetch.mockImplementation(async (url: string) => (url === '/api/sources' ? json([source()]) : json({}, 404)));
    await click(alert.querySelector('button')!);
    expect(rows().length).toBe(1);
  });
});

describe('adding a feed', () => {
  it('checks the address before sending it, and says what is wrong beside it', async () => {
    const server = backend([]);
    await mount();
    const input = byTestId<HTMLInputElement>('add-feed-url');
    expect(host.querySelector(`label[for="${input.id}"]`)!.textContent).toBe('Add a feed');
    await type(input, 'javascript:alert(1)');
    await submit(input.form!);
    const error = byTestId('add-feed-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe('Only http and https addresses can be followed.');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toContain(error.id);
    expect(server.posts()).toEqual([]);
    // Typing again clears the complaint.
    await type(input, 'harbour.example');
    expect(host.querySelector('[data-testid="add-feed-error"]')).toBeNull();
    expect(input.hasAttribute('aria-invalid')).toBe(false);
  });

  it('subscribes, busy while the backend checks the feed, and lists the new feed', async () => {
    const reply = later();
    const server = backend([source()], { 'POST /api/sources': () => reply.promise });
    await mount();
    const input = byTestId<HTMLInputElement>('add-feed-url');
    await type(input, '  quiet.example/atom ');
    await submit(input.form!);
    expect(server.posts()).toEqual([['POST', '/api/sources', { url: 'https://quiet.example/atom' }]]);
    const button = byTestId<HTMLButtonElement>('add-feed-submit');
    expect(button.disabled).toBe(true);
    expect(button.textContent).toBe('Adding…');
    expect(input.form!.getAttribute('aria-busy')).toBe('true');
    expect(input.readOnly).toBe(true);

    await reply.answer(json(source({ id: 7, name: 'Quiet Blog', url: 'https://quiet.example/atom', state: 'new', last_sync_at: null })));
    expect(rows().map((r) => r.getAttribute('data-source-id'))).toEqual(['3', '7']);
    expect(input.value).toBe('');
    expect(button.disabled).toBe(false);
    expect(button.textContent).toBe('Add');
    expect(byTestId('sources-notice').textContent).toBe('Subscribed to Quiet Blog.');
    expect(byTestId('sources-notice').getAttribute('role')).toBe('status');
  });

  it('shows the backend’s refusal inline and keeps what was typed', async () => {
    backend([], { 'POST /api/sources': () => json({ code: 'invalid_input', message: 'no feed found at https://harbour.example/' }, 400) });
    await mount();
    const input = byTestId<HTMLInputElement>('add-feed-url');
    await type(input, 'https://harbour.example/');
    await submit(input.form!);
    expect(byTestId('add-feed-error').textContent).toBe('Could not add that feed: No feed found at https://harbour.example/.');
    expect(input.value).toBe('https://harbour.example/');
    expect(byTestId('sources-empty')).not.toBeNull();
  });
});

describe('changing a feed', () => {
  it('renames a feed in place, focus moving to the field and back', async () => {
    const server = backend([source()], { 'POST /api/sources/3': (body) => json(source({ ...body })) });
    await mount();
    const rename = byTestId<HTMLButtonElement>('source-rename', row(3));
    await click(rename);
    expect(rename.getAttribute('aria-expanded')).toBe('true');
    const input = byTestId<HTMLInputElement>('source-edit-input', row(3));
    expect(rename.getAttribute('aria-controls')).toBe(input.form!.id);
    expect(document.activeElement).toBe(input);
    expect(input.value).toBe('Harbour News');
    expect(host.querySelector(`label[for="${input.id}"]`)!.textContent).toBe('New name for Harbour News');

    await type(input, '  The   Harbour ');
    await submit(input.form!);
    expect(server.posts()).toEqual([['POST', '/api/sources/3', { name: 'The Harbour' }]]);
    expect(row(3).querySelector('.source-name')!.textContent).toBe('The Harbour');
    expect(row(3).querySelector('[data-testid="source-edit-input"]')).toBeNull();
    expect(document.activeElement).toBe(byTestId('source-rename', row(3)));
  });

  it('leaves the name as it was on Escape, an empty name, or no change', async () => {
    const server = backend([source()]);
    await mount();
    await click(byTestId('source-rename', row(3)));
    let input = byTestId<HTMLInputElement>('source-edit-input', row(3));
    await type(input, '   ');
    await submit(input.form!);
    expect(byTestId('source-error', row(3)).textContent).toBe('A feed needs a name.');

    const escape = new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true });
    const reachedDocument = vi.fn();
    document.addEventListener('keydown', reachedDocument);
    await act(async () => {
      input.dispatchEvent(escape);
    });
    document.removeEventListener('keydown', reachedDocument);
    expect(escape.defaultPrevented).toBe(true);
    expect(reachedDocument).not.toHaveBeenCalled();
    expect(row(3).querySelector('[data-testid="source-edit-input"]')).toBeNull();
    expect(document.activeElement).toBe(byTestId('source-rename', row(3)));

    await click(byTestId('source-rename', row(3)));
    input = byTestId<HTMLInputElement>('source-edit-input', row(3));
    await submit(input.form!);
    expect(row(3).querySelector('[data-testid="source-edit-input"]')).toBeNull();
    expect(server.posts()).toEqual([]);
  });

  it('edits the tags as a comma-separated list', async () => {
    const server = backend([source()], { 'POST /api/sources/3': (body) => json(source({ ...body })) });
    await mount();
    await click(byTestId('source-tags-edit', row(3)));
    const input = byTestId<HTMLInputElement>('source-edit-input', row(3));
    expect(input.value).toBe('local');
    expect(host.querySelector(`label[for="${input.id}"]`)!.textContent).toBe('Tags for Harbour News, separated by commas');
    await type(input, 'local, Boats ,, boats, weather');
    await submit(input.form!);
    expect(server.posts()).toEqual([['POST', '/api/sources/3', { tags: ['local', 'Boats', 'weather'] }]]);
    expect([...byTestId('source-tags', row(3)).querySelectorAll('li')].map((li) => li.textContent)).toEqual(['local', 'Boats', 'weather']);
    expect(document.activeElement).toBe(byTestId('source-tags-edit', row(3)));
  });

  it('keeps the form open and says why when a change is refused', async () => {
    backend([source()], { 'POST /api/sources/3': () => json({ code: 'invalid_input', message: 'a name is at most 200 characters' }, 400) });
    await mount();
    await click(byTestId('source-rename', row(3)));
    const input = byTestId<HTMLInputElement>('source-edit-input', row(3));
    await type(input, 'Harbour');
    await submit(input.form!);
    expect(byTestId('source-error', row(3)).textContent).toBe('Could not rename: A name is at most 200 characters.');
    expect(byTestId('source-error', row(3)).getAttribute('role')).toBe('alert');
    expect(byTestId<HTMLInputElement>('source-edit-input', row(3)).value).toBe('Harbour');
  });

  it('pauses and resumes a feed', async () => {
    const server = backend([source()], {
      'POST /api/sources/3': (body) =>
        json(source(body.paused ? { paused: true, state: 'paused', next_sync_at: null } : { paused: false, state: 'ok' })),
    });
    await mount();
    await click(byTestId('source-pause', row(3)));
    expect(server.posts()).toEqual([['POST', '/api/sources/3', { paused: true }]]);
    expect(byTestId('source-state', row(3)).textContent).toBe('Paused');
    const toggle = byTestId('source-pause', row(3));
    expect(toggle.textContent).toBe('Resume');
    expect(toggle.getAttribute('aria-label')).toBe('Resume Harbour News');
    await click(toggle);
    expect(server.posts()[1]).toEqual(['POST', '/api/sources/3', { paused: false }]);
    expect(byTestId('source-state', row(3)).textContent).toBe('Synced 5 minutes ago · next in 25 minutes');
    expect(byTestId('source-pause', row(3)).textContent).toBe('Pause');
  });

  it('says so when pausing fails', async () => {
    backend([source()], { 'POST /api/sources/3': () => json({ code: 'not_found', message: 'no source with id 3' }, 404) });
    await mount();
    await click(byTestId('source-pause', row(3)));
    expect(byTestId('source-error', row(3)).textContent).toBe('Could not pause: No source with id 3.');
    expect(byTestId('source-pause', row(3)).textContent).toBe('Pause');
  });
});

describe('removing a feed', () => {
  const dialog = () => host.querySelector<HTMLDialogElement>('[data-testid="remove-dialog"]');

  it('asks first, in a dialog that Cancel closes with nothing removed', async () => {
    const server = backend([source()]);
    await mount();
    const remove = byTestId<HTMLButtonElement>('source-remove', row(3));
    expect(remove.getAttribute('aria-haspopup')).toBe('dialog');
    await click(remove);
    const d = dialog()!;
    expect(d.open).toBe(true);
    expect(d.getAttribute('role')).toBe('alertdialog');
    expect(host.querySelector(`#${d.getAttribute('aria-labelledby')}`)!.textContent).toBe('Remove Harbour News?');
    expect(host.querySelector(`#${d.getAttribute('aria-describedby')}`)!.textContent).toContain('deletes its posts');
    const liked = byTestId<HTMLInputElement>('remove-liked');
    expect(liked.checked).toBe(false);
    expect(liked.closest('label')!.textContent).toBe('Also remove posts I liked');
    expect(document.activeElement).toBe(byTestId('remove-cancel'));

    await click(byTestId('remove-cancel'));
    expect(dialog()).toBeNull();
    expect(document.activeElement).toBe(byTestId('source-remove', row(3)));
    expect(server.posts()).toEqual([]);
  });

  it('closes on Escape without leaving Settings', async () => {
    const server = backend([source()]);
    await mount();
    await click(byTestId('source-remove', row(3)));
    const reachedDocument = vi.fn();
    document.addEventListener('keydown', reachedDocument);
    const escape = new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true });
    await act(async () => {
      byTestId('remove-liked').dispatchEvent(escape);
    });
    document.removeEventListener('keydown', reachedDocument);
    expect(escape.defaultPrevented).toBe(true);
    expect(reachedDocument).not.toHaveBeenCalled();
    expect(dialog()).toBeNull();
    expect(server.posts()).toEqual([]);
  });

  it('keeps the posts you liked unless asked, and says what went', async () => {
    const reply = later();
    const server = backend([source(), source({ id: 4, name: 'Quiet Blog' })], { 'POST /api/sources/3/remove': () => reply.promise });
    await mount();
    await click(byTestId('source-remove', row(3)));
    await click(byTestId('remove-confirm'));
    expect(server.posts()).toEqual([['POST', '/api/sources/3/remove', { keep_liked: true }]]);
    expect(byTestId<HTMLButtonElement>('remove-confirm').disabled).toBe(true);
    expect(byTestId<HTMLButtonElement>('remove-confirm').textContent).toBe('Removing…');
    expect(byTestId<HTMLButtonElement>('remove-cancel').disabled).toBe(true);

    await reply.answer(json({ removed_posts: 12, kept_posts: 2 }));
    expect(dialog()).toBeNull();
    expect(rows().map((r) => r.getAttribute('data-source-id'))).toEqual(['4']);
    expect(byTestId('sources-notice').textContent).toBe('Unsubscribed from Harbour News. Removed 12 posts; kept 2 you liked.');
    expect(document.activeElement).toBe(host.querySelector('#sources-list-title'));
  });

  it('removes the liked posts too when the box is ticked', async () => {
    const server = backend([source()], { 'POST /api/sources/3/remove': () => json({ removed_posts: 14, kept_posts: 0 }) });
    await mount();
    await click(byTestId('source-remove', row(3)));
    await click(byTestId('remove-liked'));
    expect(byTestId<HTMLInputElement>('remove-liked').checked).toBe(true);
    await click(byTestId('remove-confirm'));
    expect(server.posts()).toEqual([['POST', '/api/sources/3/remove', { keep_liked: false }]]);
    expect(byTestId('sources-notice').textContent).toBe('Unsubscribed from Harbour News. Removed 14 posts.');
    expect(byTestId('sources-empty')).not.toBeNull();
  });

  it('stays open and says why when the removal fails', async () => {
    backend([source()], { 'POST /api/sources/3/remove': () => json({ code: 'internal', message: 'the database is locked' }, 500) });
    await mount();
    await click(byTestId('source-remove', row(3)));
    await click(byTestId('remove-confirm'));
    expect(dialog()!.querySelector('[role="alert"]')!.textContent).toBe('Could not remove the feed: The database is locked.');
    expect(byTestId<HTMLButtonElement>('remove-confirm').disabled).toBe(false);
    expect(rows().length).toBe(1);
  });
});

describe('refreshing', () => {
  const second = source({ id: 4, name: 'Quiet Blog', url: 'https://quiet.example/atom' });

  it('refreshes every feed, following the pushed progress, and reads the list again as feeds finish', async () => {
    const server = backend([source(), second], {
      'POST /api/sync': () => json({ state: 'syncing', done: 0, total: 2, current: 'Harbour News', current_source_id: 3 }),
    });
    await mount();
    expect(server.listFetches()).toBe(1);
    const all = byTestId<HTMLButtonElement>('refresh-all');
    expect(all.textContent).toBe('Refresh all');
    await click(all);
    expect(server.posts()).toEqual([['POST', '/api/sync', { source_id: null }]]);

    const state = host.querySelector('#sources-sync-state')!;
    expect(state.getAttribute('aria-live')).toBe('polite');
    expect(state.textContent).toBe('Refreshing 1 of 2: Harbour News');
    let bar = byTestId('sync-progress').querySelector('progress')!;
    expect(bar.getAttribute('aria-labelledby')).toBe('sources-sync-state');
    expect([bar.getAttribute('max'), bar.getAttribute('value')]).toEqual(['2', '0']);
    expect(bar.getAttribute('aria-valuetext')).toBe('Refreshed 0 of 2 feeds');
    expect(byTestId('source-state', row(3)).textContent).toBe('Syncing…');
    expect(byTestId('source-state', row(4)).textContent).toBe('Synced 5 minutes ago · next in 25 minutes');
    expect(all.disabled).toBe(true);
    expect(all.textContent).toBe('Refreshing…');
    expect(byTestId<HTMLButtonElement>('source-refresh', row(4)).disabled).toBe(true);

    server.list = [source({ item_count: 45, last_sync_at: minutes(0) }), second];
    await server.push({ state: 'syncing', done: 1, total: 2, current: 'Quiet Blog', current_source_id: 4 });
    expect(state.textContent).toBe('Refreshing 2 of 2: Quiet Blog');
    bar = byTestId('sync-progress').querySelector('progress')!;
    expect(bar.getAttribute('value')).toBe('1');
    expect(server.listFetches()).toBe(2);
    expect(byTestId('source-count', row(3)).textContent).toBe('45 posts');
    expect(byTestId('source-state', row(3)).textContent).toBe('Synced just now · next in 25 minutes');
    expect(byTestId('source-state', row(4)).textContent).toBe('Syncing…');

    await server.push({ state: 'idle', done: 2, total: 2, current: null, current_source_id: null });
    expect(state.textContent).toBe('');
    expect(byTestId('sync-progress').querySelector('progress')).toBeNull();
    expect(server.listFetches()).toBe(3);
    expect(all.disabled).toBe(false);
    expect(all.textContent).toBe('Refresh all');
  });

  it('follows a refresh the backend started on its own', async () => {
    const server = backend([source()]);
    await mount();
    await server.push({ state: 'syncing', done: 0, total: 1, current: null, current_source_id: null });
    expect(host.querySelector('#sources-sync-state')!.textContent).toBe('Refreshing feeds: 0 of 1 done');
    expect(byTestId<HTMLButtonElement>('refresh-all').disabled).toBe(true);
    await server.push({ state: 'idle', done: 1, total: 1, current: null, current_source_id: null });
    expect(server.listFetches()).toBe(2);
  });

  it('refreshes a single feed from its row', async () => {
    const server = backend([source(), second], { 'POST /api/sync': () => json({ state: 'syncing', done: 0, total: 1, current: 'Quiet Blog', current_source_id: 4 }) });
    await mount();
    await click(byTestId('source-refresh', row(4)));
    expect(server.posts()).toEqual([['POST', '/api/sync', { source_id: 4 }]]);
    expect(byTestId('source-state', row(4)).textContent).toBe('Syncing…');
    expect(host.querySelector('#sources-sync-state')!.textContent).toBe('Refreshing 1 of 1: Quiet Blog');
  });

  it('keeps a pushed state newer than the reply that started the refresh', async () => {
    const reply = later();
    const server = backend([source()], { 'POST /api/sync': () => reply.promise });
    await mount();
    await click(byTestId('refresh-all'));
    await server.push({ state: 'idle', done: 1, total: 1, current: null, current_source_id: null });
    await reply.answer(json({ state: 'syncing', done: 0, total: 1, current: 'Harbour News' }));
    expect(host.querySelector('#sources-sync-state')!.textContent).toBe('');
    expect(byTestId<HTMLButtonElement>('refresh-all').disabled).toBe(false);
  });

  it('says why a refresh could not start', async () => {
    backend([source()], { 'POST /api/sync': () => json({ code: 'conflict', message: 'a refresh is already running' }, 409) });
    await mount();
    await click(byTestId('refresh-all'));
    expect(byTestId('sync-progress').querySelector('[role="alert"]')!.textContent).toBe(
      'Could not start refreshing: A refresh is already running.',
    );
    backend([source()], { 'POST /api/sync': () => json({ code: 'unavailable', message: 'could not reach harbour.example' }, 503) });
    await click(byTestId('source-refresh', row(3)));
    expect(byTestId('source-error', row(3)).textContent).toBe('Could not refresh: Could not reach harbour.example.');
  });
});

describe('OPML', () => {
  async function pick(contents: string, name = 'subscriptions.opml') {
    const input = byTestId<HTMLInputElement>('opml-file');
    Object.defineProperty(input, 'files', { value: [new File([contents], name, { type: 'text/x-opml' })], configurable: true });
    await act(async () => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    for (let i = 0; i < 20 && !byTestId('opml-result').textContent && !host.querySelector('.opml [role="alert"]'); i++) await settle();
  }

  it('imports a file chosen from disk, and says what it added and what failed', async () => {
    const result: OpmlImport = {
      added: 5,
      existing: 2,
      errors: [{ url: 'https://broken.example/feed', message: 'no feed found there' }],
    };
    const server = backend([], { 'POST /api/opml/import': () => json(result) });
    await mount();
    const input = byTestId<HTMLInputElement>('opml-file');
    expect(input.type).toBe('file');
    expect(input.accept).toContain('.opml');
    expect(input.accept).toContain('.xml');
    server.list = [source()];
    await pick(OPML);
    expect(server.posts()).toEqual([['POST', '/api/opml/import', { opml: OPML }]]);
    expect(byTestId('opml-result').textContent).toBe('Added 5 feeds, 2 already subscribed; 1 feed could not be added.');
    expect(byTestId('opml-result').getAttribute('role')).toBe('status');
    const errors = byTestId('opml-errors');
    expect(errors.getAttribute('aria-label')).toBe('Feeds that could not be added');
    expect([...errors.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['https://broken.example/feed: No feed found there.']);
    // The list is read again with the new feeds.
    expect(server.listFetches()).toBe(2);
    expect(rows().length).toBe(1);
  });

  it('says why an import failed', async () => {
    backend([], { 'POST /api/opml/import': () => json({ code: 'invalid_input', message: 'that is not an OPML file' }, 400) });
    await mount();
    await pick('<html></html>', 'page.xml');
    expect(host.querySelector('.opml [role="alert"]')!.textContent).toBe('Could not import that file: That is not an OPML file.');
  });

  it('exports the subscriptions as hearth-subscriptions.opml', async () => {
    const server = backend([source()], {
      'GET /api/opml/export': () => new Response(OPML, { headers: { 'content-type': 'text/x-opml' } }),
    });
    const blobs: Blob[] = [];
    const createObjectURL = vi.fn((b: Blob) => {
      blobs.push(b);
      return 'blob:hearth/1';
    });
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const clicked: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this);
      expect(this.isConnected).toBe(true);
    });
    await mount();
    await click(byTestId('opml-export'));
    for (let i = 0; i < 10 && clicked.length === 0; i++) await settle();

    const exportCall = server.fetch.mock.calls.find((c) => c[0] === '/api/opml/export')!;
    expect(((exportCall[1] as RequestInit).headers as Record<string, string>).Accept).toMatch(/^text\/x-opml/);
    expect(blobs.length).toBe(1);
    expect(await blobs[0].text()).toBe(OPML);
    expect(blobs[0].type).toBe('text/x-opml');
    expect(clicked.length).toBe(1);
    expect(clicked[0].download).toBe(OPML_FILE_NAME);
    expect(clicked[0].getAttribute('href')).toBe('blob:hearth/1');
    expect(clicked[0].isConnected).toBe(false);
    expect(byTestId('opml-result').textContent).toBe('Saved your subscriptions as hearth-subscriptions.opml.');
  });

  it('says why an export failed', async () => {
    backend([source()], { 'GET /api/opml/export': () => json({ code: 'internal', message: 'the database is locked' }, 500) });
    await mount();
    await click(byTestId('opml-export'));
    expect(host.querySelector('.opml [role="alert"]')!.textContent).toBe('Could not export: The database is locked.');
  });
});

describe('Settings', () => {
  it('has Subscriptions as its own section, right after Accounts, with a heading and a link to it', async () => {
    backend([source()]);
    const props = { theme: 'system' as const, onTheme: vi.fn(), onBack: vi.fn(), onFeedChanged: vi.fn(), toast: vi.fn() };
    await act(async () => render(h(Settings, props), host));
    await settle();
    await settle();
    const section = host.querySelector<HTMLElement>('#settings-sources')!;
    expect(section.getAttribute('aria-labelledby')).toBe('settings-sources-title');
    expect(host.querySelector('#settings-sources-title')!.textContent).toBe('Subscriptions');
    const links = [...host.querySelectorAll<HTMLAnchorElement>('nav.section-nav a')];
    expect(links.slice(0, 2).map((l) => [l.textContent, l.getAttribute('href')])).toEqual([
      ['Accounts', '#settings-accounts'],
      ['Subscriptions', '#settings-sources'],
    ]);
    expect(section.querySelector('[data-testid="add-feed-url"]')).not.toBeNull();
    expect(section.querySelectorAll('[data-testid="source-row"]').length).toBe(1);
  });
});
