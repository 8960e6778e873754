// Notifications: the words for each kind ("Bob boosted your post"), the unread count on the
// Notifications button (asked for every 30 seconds and when a sync round ends), the view that
// marks them read when it opens (and its empty state), its `i` shortcut and Esc, and opening the
// post a notification is about.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { App } from './App';
import { notificationText, unreadBadgeText, unreadText } from './networks';
import { NOTIFICATIONS_POLL_MS } from './Notifications';
import type { Notification, Post } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

const bob = { handle: 'bob@mastodon.example', display_name: 'Bob' };

function note(over: Partial<Notification> = {}): Notification {
  return {
    id: 1,
    account_id: 7,
    kind: 'boost',
    actor: bob,
    post_id: 12,
    excerpt: 'Tomatoes are ripening early this year',
    created_at: new Date(Date.now() - 5 * 60_000).toISOString(),
    read: false,
    ...over,
  };
}

describe('the words for notifications', () => {
  it('say who did what', () => {
    const cases: [Notification['kind'], string][] = [
      ['mention', 'Carol mentioned you'],
      ['reply', 'Carol replied to your post'],
      ['favourite', 'Carol liked your post'],
      ['boost', 'Carol boosted your post'],
      ['follow', 'Carol followed you'],
      ['quote', 'Carol quoted your post'],
      ['other', 'New activity from Carol'],
    ];
    for (const [kind, text] of cases) {
      expect(notificationText({ kind, actor: { handle: 'carol.bsky.social', display_name: 'Carol' } })).toBe(text);
    }
  });

  it('fall back to the handle, with its @, when there is no display name', () => {
    expect(notificationText({ kind: 'boost', actor: { handle: 'bob@mastodon.example', display_name: ' ' } })).toBe(
      '@bob@mastodon.example boosted your post',
    );
    expect(notificationText({ kind: 'mention', actor: { handle: '@carol.bsky.social', display_name: '' } })).toBe('@carol.bsky.social mentioned you');
  });

  it('count the unread ones for the button', () => {
    expect(unreadBadgeText(0)).toBe('');
    expect(unreadBadgeText(3)).toBe('3');
    expect(unreadBadgeText(120)).toBe('99+');
    expect(unreadText(3)).toBe('3 unread');
    expect(unreadText(0)).toBe('None unread');
  });
});

type Reply = Response | Promise<Response>;

/**
 * A fake backend for the app: the feed holds `feedPost`; `/api/notifications` answers with
 * `server.notifications` (marked read by POST /api/notifications/read); `/api/posts/12` is the
 * post they are about; `push` sends a sync state down the progress stream.
 */
function backend(notifications: Notification[], routes: Record<string, () => Reply> = {}) {
  const encoder = new TextEncoder();
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const server = {
    notifications,
    /** The `up_to_id` of each mark-read request. */
    markedUpTo: [] as (number | undefined)[],
    fetch: vi.fn(async (url: string, init?: RequestInit): Promise<Response> => {
      const key = `${init?.method ?? 'GET'} ${url}`;
      if (routes[key]) return routes[key]();
      if (url === '/api/events') {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            streams.push(c);
            init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      }
      if (url.startsWith('/api/feed')) return json({ posts: [feedPost], next_cursor: null });
      if (key === 'GET /api/notifications?limit=50') return json(server.notifications);
      if (key === 'POST /api/notifications/read') {
        // Up to the newest the page saw (all without it), as the backend does.
        const upTo = (JSON.parse(String(init?.body ?? '{}')) as { up_to_id?: number }).up_to_id;
        server.markedUpTo.push(upTo);
        server.notifications = server.notifications.map((n) => (upTo === undefined || n.id <= upTo ? { ...n, read: true } : n));
        return json({});
      }
      if (key === 'GET /api/posts/12') return json(aboutPost);
      return json({ code: 'not_found', message: `no ${key}` }, 404);
    }),
    requests: () => server.fetch.mock.calls.map((c) => [(c[1] as RequestInit | undefined)?.method ?? 'GET', c[0]]),
    count: (key: string) => server.requests().filter(([m, u]) => `${m} ${u}` === key).length,
    push: async (state: 'idle' | 'syncing', done = 0) => {
      const progress = {
        models: [],
        enrichment: { state: 'idle', done: 0, total: 0, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'w', done: 0, total: 0, message: null, current: null } },
        sync: { state, done, total: 2, current: null, current_source_id: null },
      };
      await act(async () => {
        for (const s of streams) s.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify(progress)}\n\n`));
      });
    },
  };
  vi.stubGlobal('fetch', server.fetch);
  return server;
}

const feedPost = samplePost({ id: 100, text: 'A post in the feed' });
const aboutPost: Post = samplePost({
  id: 12,
  text: 'Tomatoes are ripening early this year',
  source: { id: 7, kind: 'mastodon', name: '@me@mastodon.example' },
});

async function mountApp() {
  await act(async () => render(h(App, {}), host));
  await settle();
  await settle();
}

async function press(key: string, target: EventTarget = document.body) {
  await act(async () => {
    target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
  });
  await settle();
}

async function click(el: HTMLElement) {
  await act(async () => el.click());
  await settle();
  await settle();
}

const navButton = () => host.querySelector<HTMLButtonElement>('[data-testid="notifications-button"]')!;
const badge = () => host.querySelector<HTMLElement>('[data-testid="notifications-badge"]')!;
const items = () => [...host.querySelectorAll<HTMLElement>('[data-testid="notification"]')];

describe('the Notifications button', () => {
  it('is named Notifications, and says how many are unread', async () => {
    backend([note(), note({ id: 2, kind: 'mention' }), note({ id: 3, read: true })]);
    await mountApp();
    expect(navButton().getAttribute('aria-label')).toBe('Notifications');
    expect(navButton().getAttribute('aria-keyshortcuts')).toBe('i');
    expect(navButton().closest('nav')!.getAttribute('aria-label')).toBe('Views');
    expect(badge().hidden).toBe(false);
    expect(badge().textContent).toBe('2');
    expect(host.querySelector(`#${navButton().getAttribute('aria-describedby')}`)!.textContent).toBe('2 unread');
  });

  it('asks again every 30 seconds and when a sync round ends, keeping the count when it cannot', async () => {
    vi.useFakeTimers();
    const server = backend([]);
    await act(async () => render(h(App, {}), host));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(server.count('GET /api/notifications?limit=50')).toBe(1);
    expect(badge().hidden).toBe(true);

    server.notifications = [note()];
    await act(async () => {
      await vi.advanceTimersByTimeAsync(NOTIFICATIONS_POLL_MS);
    });
    expect(server.count('GET /api/notifications?limit=50')).toBe(2);
    expect(badge().textContent).toBe('1');

    server.notifications = [note(), note({ id: 2 })];
    await server.push('syncing');
    await server.push('syncing', 1);
    expect(server.count('GET /api/notifications?limit=50')).toBe(2);
    await server.push('idle', 2);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(server.count('GET /api/notifications?limit=50')).toBe(3);
    expect(badge().textContent).toBe('2');

    server.fetch.mockImplementation(async (url: string) =>
      url.startsWith('/api/notifications') ? json({ code: 'internal', message: 'the database is locked' }, 500) : json({}, 404),
    );
    await act(async () => {
      await vi.advanceTimersByTimeAsync(NOTIFICATIONS_POLL_MS);
    });
    expect(badge().textContent).toBe('2');
  });
});

describe('the Notifications view', () => {
  it('lists them newest first, marks the new ones, and marks them all read on opening', async () => {
    const server = backend([
      note(),
      note({ id: 2, kind: 'mention', actor: { handle: 'carol.bsky.social', display_name: 'Carol' }, excerpt: '@me look at this' }),
      note({ id: 3, kind: 'follow', post_id: null, excerpt: null, read: true }),
    ]);
    await mountApp();
    await click(navButton());
    expect(host.querySelector('main h1')!.textContent).toBe('Notifications');
    expect(navButton().getAttribute('aria-current')).toBe('page');
    expect(items().map((i) => i.querySelector('[data-testid="notification-text"]')!.textContent)).toEqual([
      'Bob boosted your post',
      'Carol mentioned you',
      'Bob followed you',
    ]);
    expect(items()[0].querySelector('.notification-excerpt')!.textContent).toBe('Tomatoes are ripening early this year');
    expect(items()[0].querySelector('time')!.textContent).toBe('5m');
    expect(items().map((i) => i.querySelector('.new-badge')?.textContent ?? null)).toEqual(['New', 'New', null]);
    // Those about a post open it; a follow is about no post.
    expect(items().map((i) => i.querySelector('button')?.getAttribute('data-testid') ?? null)).toEqual([
      'notification-open',
      'notification-open',
      null,
    ]);
    expect(server.count('POST /api/notifications/read')).toBe(1);
    expect(server.markedUpTo).toEqual([3]);
    expect(badge().hidden).toBe(true);
    expect(host.querySelector('#notifications-unread')!.textContent).toBe('None unread');
  });

  it('marks nothing read when nothing is unread, and says what to do when there are none', async () => {
    const server = backend([]);
    await mountApp();
    await press('i');
    expect(host.querySelector('[data-testid="notifications-empty"]')!.textContent).toBe(
      'No notifications yet.Sign in to Mastodon or Bluesky in Settings to see mentions, likes and boosts here.',
    );
    expect(server.count('POST /api/notifications/read')).toBe(0);
    await press('Escape');
    expect(host.querySelector('[data-testid="notifications"]')).toBeNull();
    expect(host.querySelector('[data-testid="feed"]')).not.toBeNull();
  });

  it('says when they cannot be read, and reads them again on Retry', async () => {
    let fail = true;
    backend([note()], {
      'GET /api/notifications?limit=50': () => (fail ? json({ code: 'internal', message: 'the database is locked' }, 500) : json([note()])),
    });
    await mountApp();
    await press('i');
    const alert = host.querySelector('[data-testid="notifications"] [role="alert"]')!;
    expect(alert.textContent).toContain('Couldn’t load your notifications');
    expect(alert.textContent).toContain('The database is locked.');
    fail = false;
    await click(alert.querySelector('button')!);
    expect(items().length).toBe(1);
  });

  it('opens the post a notification is about, and goes back to the list', async () => {
    const server = backend([note()]);
    await mountApp();
    await press('i');
    await click(items()[0].querySelector('button')!);
    expect(server.count('GET /api/posts/12')).toBe(1);
    expect(host.querySelector('main h1')!.textContent).toBe('Post');
    const cards = [...host.querySelectorAll('[data-testid="post-card"]')];
    expect(cards.map((c) => c.getAttribute('data-post-id'))).toEqual(['12']);
    expect(document.activeElement).toBe(cards[0]);
    // The card works as in the feed: Boost is there for a post from an account.
    expect(cards[0].querySelector('[data-testid="boost-button"]')).not.toBeNull();
    await press('Escape');
    expect(host.querySelector('main h1')!.textContent).toBe('Notifications');
    await click(host.querySelector<HTMLButtonElement>('[aria-label="Back to feed"]')!);
    expect(host.querySelector('[data-testid="feed"] [data-post-id="100"]')).not.toBeNull();
  });

  it('is listed among the keyboard shortcuts', async () => {
    backend([]);
    await mountApp();
    const rows = [...host.ownerDocument.querySelectorAll('dialog.help .shortcut')].map((r) => [
      r.querySelector('dt')?.textContent,
      r.querySelector('dd')?.textContent,
    ]);
    expect(rows).toContainEqual(['i', 'Notifications: mentions, likes and boosts from your accounts']);
    expect(rows).toContainEqual(['b', 'Boost the focused post, or undo the boost (posts from your accounts)']);
  });
});
