import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import {
  _resetForTests,
  api,
  ApiError,
  buildRequest,
  calls,
  externalHref,
  mediaUrl,
  onProgress,
  openExternal,
  playableMediaUrl,
  RECONNECT_FIRST_MS,
  RECONNECT_MAX_MS,
  releasePlayableUrl,
  SseParser,
  token,
  TOKEN_KEY,
  toApiError,
} from './api';
import type { Progress } from './types';

type W = Window & { __TAURI_INTERNALS__?: unknown };
const w = window as W;

function jsonResponse(status: number, body: unknown): Response {
  return new Response(body === undefined ? '' : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

beforeEach(() => {
  _resetForTests();
  sessionStorage.clear();
  delete w.__TAURI_INTERNALS__;
  window.history.replaceState(null, '', '/');
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  delete w.__TAURI_INTERNALS__;
});

describe('token', () => {
  it('reads ?token= once, stores it and removes it from the address bar', () => {
    window.history.replaceState(null, '', '/?token=s3cret&view=x#frag');
    expect(token()).toBe('s3cret');
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe('s3cret');
    expect(window.location.search).toBe('?view=x');
    expect(window.location.hash).toBe('#frag');
    expect(window.location.href).not.toContain('s3cret');
    // A later URL change does not replace the token that was read.
    window.history.replaceState(null, '', '/?token=other');
    expect(token()).toBe('s3cret');
  });
  it('falls back to sessionStorage after a reload', () => {
    sessionStorage.setItem(TOKEN_KEY, 'kept');
    expect(token()).toBe('kept');
  });
  it('is null when there is none', () => {
    expect(token()).toBeNull();
  });
});

describe('request building', () => {
  it('builds feed query strings without empty parameters', () => {
    expect(calls.feed({ mode: 'ranked' }).path).toBe('/api/feed?mode=ranked');
    expect(calls.feed({ mode: 'chronological', cursor: 'abc=', limit: 20, has_media: null, include_hidden: true }).path).toBe(
      '/api/feed?mode=chronological&cursor=abc%3D&limit=20&include_hidden=true',
    );
  });
  it('adds calm=true to the feed query only when calm is on', () => {
    expect(calls.feed({ mode: 'ranked', calm: true }).path).toBe('/api/feed?mode=ranked&calm=true');
    expect(calls.feed({ mode: 'chronological', cursor: 'c', limit: 20, calm: true }).path).toBe(
      '/api/feed?mode=chronological&cursor=c&limit=20&calm=true',
    );
    expect(calls.feed({ mode: 'ranked', calm: false }).path).toBe('/api/feed?mode=ranked');
    expect(calls.feed({ mode: 'ranked', calm: true }).args).toEqual({ query: { mode: 'ranked', calm: true } });
    expect(calls.feed({ mode: 'ranked', calm: false }).args).toEqual({ query: { mode: 'ranked' } });
    expect(calls.feed({ mode: 'ranked', calm: undefined }).args).toEqual({ query: { mode: 'ranked' } });
  });
  it('builds the enrichment status request', () => {
    const c = calls.enrichmentStatus();
    expect(c.command).toBe('enrichment_status');
    expect(c.args).toBeUndefined();
    const { url, init } = buildRequest(c, 'tok');
    expect(url).toBe('/api/enrichment');
    expect(init.method).toBe('GET');
    expect(init.body).toBeUndefined();
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });
  it('encodes search text', () => {
    expect(calls.search('rain & tea', 5).path).toBe('/api/search?q=rain+%26+tea&limit=5');
  });
  it('adds the search tone only when one is set', () => {
    expect(calls.search('tea', 50, 'negative').path).toBe('/api/search?q=tea&limit=50&tone=negative');
    expect(calls.search('tea', 50, 'negative').args).toEqual({ query: 'tea', limit: 50, tone: 'negative' });
    expect(calls.search('tea', undefined, 'positive').path).toBe('/api/search?q=tea&tone=positive');
    expect(calls.search('tea', undefined, 'positive').args).toEqual({ query: 'tea', tone: 'positive' });
    for (const none of [undefined, null]) {
      expect(calls.search('tea', 50, none).path).toBe('/api/search?q=tea&limit=50');
      expect(calls.search('tea', 50, none).args).toEqual({ query: 'tea', limit: 50 });
    }
  });
  it('builds the digest request', () => {
    const c = calls.digest();
    expect(c.command).toBe('digest');
    expect(c.args).toBeUndefined();
    const { url, init } = buildRequest(c, 'tok');
    expect(url).toBe('/api/digest');
    expect(init.method).toBe('GET');
    expect(init.body).toBeUndefined();
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });
  it('builds the models requests', () => {
    const list = calls.models();
    expect(list.command).toBe('models');
    expect(list.args).toBeUndefined();
    const l = buildRequest(list, 'tok');
    expect(l.url).toBe('/api/models');
    expect(l.init.method).toBe('GET');
    expect(l.init.body).toBeUndefined();

    const dl = calls.downloadModel('tone-small');
    expect(dl.command).toBe('download_model');
    expect(dl.args).toEqual({ id: 'tone-small' });
    const d = buildRequest(dl, 'tok');
    expect(d.url).toBe('/api/models/tone-small/download');
    expect(d.init.method).toBe('POST');
    expect((d.init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
    // Odd characters in an id cannot change the path.
    expect(calls.downloadModel('a/b?c').path).toBe('/api/models/a%2Fb%3Fc/download');
  });
  it('builds the personalisation reset request', () => {
    for (const forget of [true, false]) {
      const c = calls.resetPersonalisation(forget);
      expect(c.command).toBe('reset_personalisation');
      expect(c.args).toEqual({ forgetInteractions: forget });
      const { url, init } = buildRequest(c, 'tok');
      expect(url).toBe('/api/personalisation/reset');
      expect(init.method).toBe('POST');
      const headers = init.headers as Record<string, string>;
      expect(headers.Authorization).toBe('Bearer tok');
      expect(headers['Content-Type']).toBe('application/json');
      expect(JSON.parse(init.body as string)).toEqual({ forget_interactions: forget });
    }
  });
  it('builds the thread request', () => {
    const c = calls.thread(12);
    expect(c.command).toBe('thread');
    expect(c.args).toEqual({ id: 12 });
    const { url, init } = buildRequest(c, 'tok');
    expect(url).toBe('/api/posts/12/thread');
    expect(init.method).toBe('GET');
    expect(init.body).toBeUndefined();
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });
  it('adds the bearer token and JSON body', () => {
    const { url, init } = buildRequest(calls.recordInteraction({ post_id: 3, kind: 'like' }), 'tok');
    expect(url).toBe('/api/interactions');
    expect(init.method).toBe('POST');
    const headers = init.headers as Record<string, string>;
    expect(headers.Authorization).toBe('Bearer tok');
    expect(headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ post_id: 3, kind: 'like' });
  });
  it('sends GETs without a body', () => {
    const { init } = buildRequest(calls.status(), 'tok');
    expect(init.method).toBe('GET');
    expect(init.body).toBeUndefined();
  });
});

describe('HTTP transport', () => {
  it('calls fetch with the token and parses the reply', async () => {
    window.history.replaceState(null, '', '/?token=T1');
    const fetch = vi.fn(async () => jsonResponse(200, { posts: [], next_cursor: null }));
    vi.stubGlobal('fetch', fetch);
    const page = await api.feed({ mode: 'chronological', limit: 20 });
    expect(page).toEqual({ posts: [], next_cursor: null });
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/feed?mode=chronological&limit=20');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T1');
  });
  it('sends calm=true and fetches the enrichment status over HTTP', async () => {
    window.history.replaceState(null, '', '/?token=T2');
    const status = { state: 'working', done: 3, total: 10, message: null };
    const fetch = vi.fn(async (url: string) =>
      jsonResponse(200, url.startsWith('/api/enrichment') ? status : { posts: [], next_cursor: null }),
    );
    vi.stubGlobal('fetch', fetch);
    await api.feed({ mode: 'ranked', limit: 20, calm: true });
    await expect(api.enrichmentStatus()).resolves.toEqual(status);
    const urls = fetch.mock.calls.map((c) => (c as unknown as [string])[0]);
    expect(urls).toEqual(['/api/feed?mode=ranked&limit=20&calm=true', '/api/enrichment']);
    for (const c of fetch.mock.calls) {
      const init = (c as unknown as [string, RequestInit])[1];
      expect(init.method).toBe('GET');
      expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T2');
    }
  });
  it('sends the search tone and the model requests over HTTP', async () => {
    window.history.replaceState(null, '', '/?token=T3');
    const list = [{ id: 'm1', state: 'missing' }];
    const fetch = vi.fn(async (url: string) =>
      url.startsWith('/api/models/m1/download')
        ? jsonResponse(202, list)
        : url.startsWith('/api/models')
          ? jsonResponse(200, list)
          : jsonResponse(200, { posts: [], total: 0, semantic: false }),
    );
    vi.stubGlobal('fetch', fetch);
    await api.search('tea', 50, 'neutral');
    await api.search('tea', 50);
    await expect(api.models()).resolves.toEqual(list);
    await expect(api.downloadModel('m1')).resolves.toEqual(list);
    const seen = fetch.mock.calls.map((c) => {
      const [url, init] = c as unknown as [string, RequestInit];
      expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T3');
      return [init.method, url];
    });
    expect(seen).toEqual([
      ['GET', '/api/search?q=tea&limit=50&tone=neutral'],
      ['GET', '/api/search?q=tea&limit=50'],
      ['GET', '/api/models'],
      ['POST', '/api/models/m1/download'],
    ]);
  });
  it('reads the digest over HTTP', async () => {
    window.history.replaceState(null, '', '/?token=T5');
    const digest = { since: '2024-06-14T20:27:00Z', posts: 0, not_yet_read: 0, topics: [] };
    const fetch = vi.fn(async () => jsonResponse(200, digest));
    vi.stubGlobal('fetch', fetch);
    await expect(api.digest()).resolves.toEqual(digest);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/digest');
    expect(init.method).toBe('GET');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T5');
  });
  it('reads a thread over HTTP, and passes on why the server could not be reached', async () => {
    window.history.replaceState(null, '', '/?token=T6');
    const posts = [{ id: 11 }, { id: 12 }, { id: 13 }];
    let reachable = true;
    const fetch = vi.fn(async () =>
      reachable ? jsonResponse(200, posts) : jsonResponse(503, { code: 'unavailable', message: 'the server did not answer' }),
    );
    vi.stubGlobal('fetch', fetch);
    await expect(api.thread(12)).resolves.toEqual(posts);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/posts/12/thread');
    expect(init.method).toBe('GET');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T6');
    reachable = false;
    const err = await api.thread(12).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe('The server did not answer.');
  });
  it('resets personalisation over HTTP and returns the new status', async () => {
    window.history.replaceState(null, '', '/?token=T4');
    const status = { interactions: 0, personalisation: { interactions_learned: 0, interests: [] } };
    const fetch = vi.fn(async () => jsonResponse(200, status));
    vi.stubGlobal('fetch', fetch);
    await expect(api.resetPersonalisation(true)).resolves.toEqual(status);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/personalisation/reset');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T4');
    expect(JSON.parse(init.body as string)).toEqual({ forget_interactions: true });
  });
  it('returns null for a JSON null reply', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, null)));
    await expect(api.recordInteraction({ kind: 'mute_word', value: 'x', post_id: null })).resolves.toBeNull();
  });
  it('turns backend errors into ApiError with code and message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(413, { code: 'payload_too_large', message: 'Too big.' })));
    const err = await api.createPost({ text: 'x', images: [], audio: null }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('payload_too_large');
    expect(err.message).toBe('Too big.');
  });
  it('maps non-JSON error replies by HTTP status', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>oops</html>', { status: 404 })));
    const err = await api.getPost(1).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('not_found');
    expect(err.message).not.toContain('<html>');
  });
  it('reports network failures as unavailable', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    const err = await api.status().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('unavailable');
  });
});

describe('Tauri transport', () => {
  it('uses invoke with the documented command names and arguments', async () => {
    const invoke = vi.fn(async (cmd: string) => (cmd === 'search' ? { posts: [], total: 0, semantic: false } : null));
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);

    await api.feed({ mode: 'ranked', cursor: 'c1', limit: 10 });
    await api.search('tea', 5);
    await api.recordInteraction({ post_id: 2, kind: 'dwell', dwell_ms: 2500 });
    await api.createPost({ text: 'hi', images: [], audio: null });
    await api.getPost(4);
    await api.mutes();
    await api.status();
    await api.importDemo();
    await api.feed({ mode: 'chronological', calm: true });
    await api.feed({ mode: 'chronological', calm: false });
    await api.enrichmentStatus();
    await api.search('tea', 5, 'negative');
    await api.models();
    await api.downloadModel('tone-small');

    expect(fetch).not.toHaveBeenCalled();
    const seen = invoke.mock.calls.map((c) => [c[0], (c as unknown[])[1]]);
    expect(seen).toEqual([
      ['feed', { query: { mode: 'ranked', cursor: 'c1', limit: 10 } }],
      ['search', { query: 'tea', limit: 5 }],
      ['record_interaction', { input: { post_id: 2, kind: 'dwell', dwell_ms: 2500 } }],
      ['create_post', { post: { text: 'hi', images: [], audio: null } }],
      ['get_post', { id: 4 }],
      ['mutes', {}],
      ['status', {}],
      ['import_demo', {}],
      ['feed', { query: { mode: 'chronological', calm: true } }],
      ['feed', { query: { mode: 'chronological' } }],
      ['enrichment_status', {}],
      ['search', { query: 'tea', limit: 5, tone: 'negative' }],
      ['models', {}],
      ['download_model', { id: 'tone-small' }],
    ]);
  });
  it('reads the digest with the documented command and no arguments', async () => {
    const digest = { since: '2024-06-14T20:27:00Z', posts: 0, not_yet_read: 0, topics: [] };
    const invoke = vi.fn(async () => digest);
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    await expect(api.digest()).resolves.toEqual(digest);
    expect(fetch).not.toHaveBeenCalled();
    expect(invoke.mock.calls.map((c) => [(c as unknown[])[0], (c as unknown[])[1]])).toEqual([['digest', {}]]);
  });
  it('reads a thread with the documented command and argument', async () => {
    const posts = [{ id: 12 }];
    const invoke = vi.fn(async () => posts);
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    await expect(api.thread(12)).resolves.toEqual(posts);
    expect(fetch).not.toHaveBeenCalled();
    expect(invoke.mock.calls.map((c) => [(c as unknown[])[0], (c as unknown[])[1]])).toEqual([['thread', { id: 12 }]]);
  });
  it('resets personalisation with the documented command and camelCase argument', async () => {
    const status = { personalisation: { interactions_learned: 0, interests: [] } };
    const invoke = vi.fn(async () => status);
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    await expect(api.resetPersonalisation(false)).resolves.toEqual(status);
    await api.resetPersonalisation(true);
    expect(fetch).not.toHaveBeenCalled();
    expect(invoke.mock.calls.map((c) => [(c as unknown[])[0], (c as unknown[])[1]])).toEqual([
      ['reset_personalisation', { forgetInteractions: false }],
      ['reset_personalisation', { forgetInteractions: true }],
    ]);
  });
  it('turns rejected {code,message} objects into ApiError', async () => {
    w.__TAURI_INTERNALS__ = { invoke: vi.fn(async () => Promise.reject({ code: 'database_too_new', message: 'Upgrade Hearth.' })) };
    const err = await api.status().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('database_too_new');
    expect(err.message).toBe('Upgrade Hearth.');
  });
  it('wraps plain string rejections', async () => {
    w.__TAURI_INTERNALS__ = { invoke: vi.fn(async () => Promise.reject('command feed not found')) };
    const err = await api.feed({ mode: 'ranked' }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('internal');
  });
});

describe('mediaUrl', () => {
  it('uses the token query in the browser', () => {
    window.history.replaceState(null, '', '/?token=a b');
    expect(mediaUrl(12)).toBe('/api/media/12?token=a%20b');
  });
  it('uses the custom protocol in Tauri', () => {
    w.__TAURI_INTERNALS__ = {};
    vi.spyOn(window.navigator, 'userAgent', 'get').mockReturnValue('Mozilla/5.0 (X11; Linux x86_64)');
    expect(mediaUrl(12)).toBe('hearth://localhost/media/12');
  });
  it('uses http://hearth.localhost on Windows', () => {
    w.__TAURI_INTERNALS__ = {};
    vi.spyOn(window.navigator, 'userAgent', 'get').mockReturnValue('Mozilla/5.0 (Windows NT 10.0; Win64; x64)');
    expect(mediaUrl(12)).toBe('http://hearth.localhost/media/12');
  });
});

describe('playableMediaUrl', () => {
  it('is the streaming HTTP URL in the browser', async () => {
    window.history.replaceState(null, '', '/?token=t');
    const fetchSpy = vi.fn();
    vi.stubGlobal('fetch', fetchSpy);
    expect(await playableMediaUrl(3)).toBe('/api/media/3?token=t');
    expect(fetchSpy).not.toHaveBeenCalled();
  });
  it('fetches the bytes into a blob: URL inside the desktop app', async () => {
    w.__TAURI_INTERNALS__ = {};
    vi.spyOn(window.navigator, 'userAgent', 'get').mockReturnValue('Mozilla/5.0 (X11; Linux x86_64)');
    const fetchSpy = vi.fn(async () => new Response(new Uint8Array([82, 73, 70, 70]), { status: 200 }));
    vi.stubGlobal('fetch', fetchSpy);
    const created = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:hearth/1');
    const revoked = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
    expect(await playableMediaUrl(3)).toBe('blob:hearth/1');
    expect(fetchSpy).toHaveBeenCalledWith('hearth://localhost/media/3');
    expect(created).toHaveBeenCalledOnce();
    releasePlayableUrl('blob:hearth/1');
    releasePlayableUrl('/api/media/3?token=t');
    expect(revoked).toHaveBeenCalledOnce();
  });
  it('turns a failed load into an ApiError', async () => {
    w.__TAURI_INTERNALS__ = {};
    vi.stubGlobal('fetch', vi.fn(async () => new Response('', { status: 404 })));
    await expect(playableMediaUrl(3)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('toApiError', () => {
  it('rejects unknown codes', () => {
    expect(toApiError({ code: 'weird', message: 'x' }, 500).code).toBe('internal');
    expect(toApiError({ code: 'conflict', message: '' }).message).toMatch(/conflicts/);
  });
  it('turns backend phrases into sentences', () => {
    expect(toApiError({ code: 'invalid_input', message: 'type a word to search for' }).message).toBe('Type a word to search for.');
  });
});

describe('openExternal', () => {
  const refused = [
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'file:///etc/passwd',
    'data:text/html,<b>x</b>',
    'mailto:someone@example.com',
    'hearth://localhost/media/1',
    'ftp://example.com/x',
    '/relative/path',
    'example.com',
    '',
    'https://',
  ];

  it('accepts only absolute http(s) URLs', () => {
    expect(externalHref('https://example.com/a?b=1#c')).toBe('https://example.com/a?b=1#c');
    expect(externalHref('  HTTP://Example.com ')).toBe('http://example.com/');
    for (const url of refused) {
      let err: unknown;
      try {
        externalHref(url);
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(ApiError);
      expect((err as ApiError).code, url).toBe('invalid_input');
    }
  });

  it('refuses other schemes without opening anything', async () => {
    const open = vi.fn();
    vi.stubGlobal('open', open);
    const invoke = vi.fn();
    for (const url of refused) {
      delete w.__TAURI_INTERNALS__;
      await expect(openExternal(url)).rejects.toMatchObject({ code: 'invalid_input' });
      w.__TAURI_INTERNALS__ = { invoke };
      await expect(openExternal(url)).rejects.toMatchObject({ code: 'invalid_input' });
    }
    expect(open).not.toHaveBeenCalled();
    expect(invoke).not.toHaveBeenCalled();
  });

  it('opens a new tab without an opener in the browser', async () => {
    const open = vi.fn(() => null);
    vi.stubGlobal('open', open);
    await openExternal('https://example.com/post/1');
    expect(open).toHaveBeenCalledWith('https://example.com/post/1', '_blank', 'noopener,noreferrer');
  });

  it('asks the Tauri opener plugin in the desktop app', async () => {
    const invoke = vi.fn(async () => undefined);
    w.__TAURI_INTERNALS__ = { invoke };
    const open = vi.fn();
    vi.stubGlobal('open', open);
    await openExternal('http://example.com/x');
    expect(open).not.toHaveBeenCalled();
    expect(invoke).toHaveBeenCalledTimes(1);
    const [cmd, args] = invoke.mock.calls[0] as unknown as [string, Record<string, unknown>];
    expect(cmd).toBe('plugin:opener|open_url');
    expect(args.url).toBe('http://example.com/x');
  });

  it('turns opener failures into ApiError', async () => {
    w.__TAURI_INTERNALS__ = { invoke: vi.fn(async () => Promise.reject('opener.open_url not allowed')) };
    const err = await openExternal('https://example.com').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('internal');
  });
});

describe('SseParser', () => {
  /** Feeds `chunks` one by one and collects every event they complete. */
  function parse(chunks: string[]) {
    const parser = new SseParser();
    return chunks.flatMap((c) => parser.push(c));
  }

  it('parses named events and defaults the name to message', () => {
    expect(parse(['event: progress\ndata: {"a":1}\n\ndata: plain\n\n'])).toEqual([
      { event: 'progress', data: '{"a":1}' },
      { event: 'message', data: 'plain' },
    ]);
  });
  it('joins several data lines with a newline and keeps other spaces', () => {
    expect(parse(['event: error\ndata: one\ndata:two\ndata:  three \ndata\n\n'])).toEqual([
      { event: 'error', data: 'one\ntwo\n three \n' },
    ]);
  });
  it('returns an event once its blank line has arrived, wherever the chunks split', () => {
    const text = 'event: progress\ndata: {"n":1}\n\nevent: progress\ndata: {"n":2}\n\n';
    const parser = new SseParser();
    expect(parser.push('event: prog')).toEqual([]);
    expect(parser.push('ress\nda')).toEqual([]);
    expect(parser.push('ta: {"n":1}\n')).toEqual([]);
    expect(parser.push('\nevent: progress\ndata: {"n":2}\n\n')).toEqual([
      { event: 'progress', data: '{"n":1}' },
      { event: 'progress', data: '{"n":2}' },
    ]);
    // Every way of cutting the text in two, and one character at a time, gives the same events.
    const whole = parse([text]);
    expect(whole.map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}']);
    for (let i = 0; i <= text.length; i++) expect(parse([text.slice(0, i), text.slice(i)]), `cut at ${i}`).toEqual(whole);
    expect(parse([...text])).toEqual(whole);
  });
  it('ignores comment lines such as keep-alives and unknown fields', () => {
    expect(parse([': keep-alive\n\n', 'id: 7\nretry: 10\n:x\nevent: progress\ndata: 1\n\n', ': ping\n\n'])).toEqual([
      { event: 'progress', data: '1' },
    ]);
  });
  it('accepts CRLF and CR line ends, even with CR and LF in different chunks', () => {
    expect(parse(['event: progress\r', '\ndata: 1\r\n\r', '\nevent: error\rdata: 2\r\r', ': next\n'])).toEqual([
      { event: 'progress', data: '1' },
      { event: 'error', data: '2' },
    ]);
    // A CR at the very end of what arrived may be half of a CRLF, so its line waits for more text.
    const parser = new SseParser();
    expect(parser.push('data: 2\r\r')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'message', data: '2' }]);
    // The CRLF's LF must not count as a second line end (which would end an event early).
    expect(parse(['data: a\r', '\ndata: b\r\n\r\n'])).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
  it('forgets the event name of an event without data', () => {
    expect(parse(['event: error\n\ndata: 3\n\n'])).toEqual([{ event: 'message', data: '3' }]);
  });
});

describe('onProgress in browser mode', () => {
  const encoder = new TextEncoder();

  function progress(done: number): Progress {
    return { models: [], enrichment: { state: 'working', done, total: 10, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }, sync: { state: 'idle', done: 0, total: 0, current: null, current_source_id: null } };
  }
  function frame(event: string, payload: unknown): string {
    return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  /**
   * A fake `fetch` for `/api/events`: each connection gets a stream the test writes to through
   * `streams`, which errors when the request is aborted (as a real fetch body does).
   * `replies` can replace the response of the next connections (e.g. with errors).
   */
  function eventServer(replies: (() => Response | Promise<Response>)[] = []) {
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    const fetch = vi.fn(async (_url: string, init: RequestInit) => {
      const reply = replies.shift();
      if (reply) return reply();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          streams.push(c);
          init.signal?.addEventListener('abort', () => c.error(new DOMException('The operation was aborted.', 'AbortError')));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    });
    vi.stubGlobal('fetch', fetch);
    const send = (text: string | Uint8Array, stream = streams.at(-1)!) =>
      stream.enqueue(typeof text === 'string' ? encoder.encode(text) : text);
    return { fetch, streams, send };
  }

  /** Lets pending promises (fetch replies, stream reads) run. */
  async function flush() {
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
  }

  it('asks for the stream with the token and hands over each progress payload', async () => {
    window.history.replaceState(null, '', '/?token=T9');
    const server = eventServer();
    const seen: Progress[] = [];
    const errors: ApiError[] = [];
    const stop = onProgress((p) => seen.push(p), (e) => errors.push(e));
    await flush();
    expect(server.fetch).toHaveBeenCalledTimes(1);
    const [url, init] = server.fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/events');
    expect(init.method).toBe('GET');
    const headers = init.headers as Record<string, string>;
    expect(headers.Authorization).toBe('Bearer T9');
    expect(headers.Accept).toBe('text/event-stream');

    server.send(': keep-alive\n\n');
    server.send(frame('progress', progress(3)).slice(0, 20));
    await flush();
    expect(seen).toEqual([]);
    server.send(frame('progress', progress(3)).slice(20) + frame('progress', progress(4)));
    await flush();
    expect(seen).toEqual([progress(3), progress(4)]);
    expect(errors).toEqual([]);
    stop();
  });

  it('decodes a character whose bytes are split between chunks', async () => {
    const server = eventServer();
    const seen: Progress[] = [];
    const stop = onProgress((p) => seen.push(p));
    await flush();
    const payload: Progress = { models: [], enrichment: { state: 'unavailable', done: 0, total: 0, message: 'no model — café ☕', images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }, sync: { state: 'idle', done: 0, total: 0, current: null, current_source_id: null } };
    const bytes = encoder.encode(frame('progress', payload));
    // Cut inside the three-byte "—" and inside the three-byte "☕".
    const dash = bytes.indexOf(0xe2);
    const cup = bytes.lastIndexOf(0xe2);
    expect(cup).toBeGreaterThan(dash);
    server.send(bytes.slice(0, dash + 1));
    server.send(bytes.slice(dash + 1, cup + 2));
    server.send(bytes.slice(cup + 2));
    await flush();
    expect(seen).toEqual([payload]);
    expect(seen[0].enrichment.message).toBe('no model — café ☕');
    stop();
  });

  it('reports error events and unreadable payloads as ApiError', async () => {
    const server = eventServer();
    const errors: ApiError[] = [];
    const listener = vi.fn();
    const stop = onProgress(listener, (e) => errors.push(e));
    await flush();
    server.send(frame('error', { code: 'internal', message: 'could not read the model folder' }));
    server.send('event: progress\ndata: {not json\n\n');
    server.send(frame('something-else', { x: 1 }));
    await flush();
    expect(listener).not.toHaveBeenCalled();
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['internal', 'Could not read the model folder.'],
      ['internal', 'Hearth sent progress that could not be read.'],
    ]);
    expect(errors[0]).toBeInstanceOf(ApiError);
    stop();
  });

  it('aborts the request when unsubscribed and delivers nothing after', async () => {
    vi.useFakeTimers();
    try {
      const server = eventServer();
      const listener = vi.fn();
      const stop = onProgress(listener);
      await vi.advanceTimersByTimeAsync(0);
      const init = (server.fetch.mock.calls[0] as unknown as [string, RequestInit])[1];
      expect(init.signal?.aborted).toBe(false);
      stop();
      expect(init.signal?.aborted).toBe(true);
      await vi.advanceTimersByTimeAsync(RECONNECT_MAX_MS * 2);
      // No reconnect after the aborted stream ended.
      expect(server.fetch).toHaveBeenCalledTimes(1);
      expect(listener).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('reconnects after a drop, waiting longer after each failure and less once connected', async () => {
    vi.useFakeTimers();
    try {
      const down = () => Promise.reject(new TypeError('Failed to fetch'));
      // Connection 1 works; 2 and 3 fail; 4 works; 5 works.
      const replies: (() => Response | Promise<Response>)[] = [];
      const server = eventServer(replies);
      const seen: number[] = [];
      const errors: string[] = [];
      const stop = onProgress((p) => seen.push(p.enrichment.done), (e) => errors.push(e.code));
      await vi.advanceTimersByTimeAsync(0);
      server.send(frame('progress', progress(1)));
      await vi.advanceTimersByTimeAsync(0);
      expect(seen).toEqual([1]);

      replies.push(down, down);
      server.streams[0].close(); // the server went away
      await vi.advanceTimersByTimeAsync(RECONNECT_FIRST_MS - 1);
      expect(server.fetch).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(server.fetch).toHaveBeenCalledTimes(2); // after 1 s: fails
      expect(errors).toEqual(['unavailable']);
      await vi.advanceTimersByTimeAsync(2 * RECONNECT_FIRST_MS - 1);
      expect(server.fetch).toHaveBeenCalledTimes(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(server.fetch).toHaveBeenCalledTimes(3); // after 2 s more: fails again
      expect(errors).toEqual(['unavailable', 'unavailable']);
      await vi.advanceTimersByTimeAsync(4 * RECONNECT_FIRST_MS - 1);
      expect(server.fetch).toHaveBeenCalledTimes(3);
      await vi.advanceTimersByTimeAsync(1);
      expect(server.fetch).toHaveBeenCalledTimes(4); // after 4 s more: connected
      expect(server.streams.length).toBe(2);
      server.send(frame('progress', progress(5)));
      await vi.advanceTimersByTimeAsync(0);
      expect(seen).toEqual([1, 5]);

      // Connected again, so the next drop is retried after the first wait again.
      server.streams[1].error(new TypeError('network error'));
      await vi.advanceTimersByTimeAsync(RECONNECT_FIRST_MS);
      expect(server.fetch).toHaveBeenCalledTimes(5);
      server.send(frame('progress', progress(6)));
      await vi.advanceTimersByTimeAsync(0);
      expect(seen).toEqual([1, 5, 6]);
      expect(errors).toEqual(['unavailable', 'unavailable']);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits at most the maximum between tries', async () => {
    vi.useFakeTimers();
    try {
      const down = () => Promise.reject(new TypeError('Failed to fetch'));
      const server = eventServer(Array.from({ length: 20 }, () => down));
      const stop = onProgress(() => {});
      let elapsed = 0;
      const times: number[] = [];
      for (let i = 0; i < 8; i++) {
        const before = server.fetch.mock.calls.length;
        while (server.fetch.mock.calls.length === before) {
          await vi.advanceTimersByTimeAsync(1000);
          elapsed += 1000;
        }
        times.push(elapsed);
      }
      expect(times).toEqual([1000, 3000, 7000, 15000, 31000, 61000, 91000, 121000]);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('turns a refused connection into ApiError and gives up on a wrong token', async () => {
    vi.useFakeTimers();
    try {
      const server = eventServer([
        () => jsonResponse(503, { code: 'unavailable', message: 'shutting down' }),
        () => jsonResponse(401, { code: 'unauthorized', message: 'missing or wrong token' }),
      ]);
      const errors: ApiError[] = [];
      const stop = onProgress(() => {}, (e) => errors.push(e));
      await vi.advanceTimersByTimeAsync(0);
      expect(errors.map((e) => [e.code, e.message])).toEqual([['unavailable', 'Shutting down.']]);
      await vi.advanceTimersByTimeAsync(RECONNECT_FIRST_MS);
      expect(server.fetch).toHaveBeenCalledTimes(2);
      expect(errors.map((e) => e.code)).toEqual(['unavailable', 'unauthorized']);
      await vi.advanceTimersByTimeAsync(RECONNECT_MAX_MS * 3);
      expect(server.fetch).toHaveBeenCalledTimes(2);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('onProgress in the desktop app', () => {
  afterEach(() => clearMocks());

  /** mockIPC with event mocking, and a spy on its invoke to see which events are (un)listened. */
  function mockEvents() {
    mockIPC(() => null, { shouldMockEvents: true });
    const invoke = vi.spyOn((w as unknown as { __TAURI_INTERNALS__: { invoke: () => unknown } }).__TAURI_INTERNALS__, 'invoke');
    return (cmd: string) =>
      invoke.mock.calls.filter((c) => (c as unknown[])[0] === cmd).map((c) => ((c as unknown[])[1] as { event: string }).event).sort();
  }

  it('listens to the progress and progress-error events until unsubscribed', async () => {
    const events = mockEvents();
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    const seen: Progress[] = [];
    const errors: ApiError[] = [];
    const stop = onProgress((p) => seen.push(p), (e) => errors.push(e));
    await new Promise((r) => setTimeout(r, 0));
    const payload: Progress = { models: [], enrichment: { state: 'idle', done: 4, total: 4, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null } }, sync: { state: 'idle', done: 0, total: 0, current: null, current_source_id: null } };
    await emit('progress', payload);
    await emit('progress-error', { code: 'internal', message: 'state lock poisoned' });
    expect(seen).toEqual([payload]);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['internal', 'State lock poisoned.']]);
    expect(events('plugin:event|listen')).toEqual(['progress', 'progress-error']);

    stop();
    await new Promise((r) => setTimeout(r, 0));
    await emit('progress', payload);
    await emit('progress-error', { code: 'internal', message: 'again' });
    expect(seen.length).toBe(1);
    expect(errors.length).toBe(1);
    expect(fetch).not.toHaveBeenCalled();
    expect(events('plugin:event|unlisten')).toEqual(['progress', 'progress-error']);
  });

  it('removes listeners that were still being added when unsubscribed', async () => {
    const events = mockEvents();
    const listener = vi.fn();
    onProgress(listener)();
    // Delivered before the listeners could be removed: still not passed on.
    await emit('progress', { models: [], enrichment: { state: 'idle', done: 0, total: 0, message: null } });
    await new Promise((r) => setTimeout(r, 0));
    expect(events('plugin:event|unlisten')).toEqual(['progress', 'progress-error']);
    await emit('progress', { models: [], enrichment: { state: 'idle', done: 0, total: 0, message: null } });
    expect(listener).not.toHaveBeenCalled();
  });
});
