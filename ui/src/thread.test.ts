// A post's thread: the Thread button on posts from accounts (and only there), the view that says
// where it is fetching the thread from, then shows the posts it answers, the post itself (marked
// and focused) and the replies indented; liking and j/k in it; what it says when the server
// cannot be reached, and Try again; and Back (the button and Esc) to the view it was opened from.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { App } from './App';
import { PostCard, type CardHandlers } from './PostCard';
import { splitThread } from './ThreadView';
import { hasThread, threadLoadingText, threadServerName } from './networks';
import type { Notification, Post } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

const mastodon = { id: 7, kind: 'mastodon' as const, name: '@me@mastodon.example' };
const person = (id: number, name: string) => ({ id, handle: `${name.toLowerCase()}@mastodon.example`, display_name: name, avatar_color: '#335577' });

const bobPost = samplePost({ id: 12, source: mastodon, author: person(4, 'Bob'), text: 'Tomatoes are ripening early this year' });
const demoPost = samplePost({ id: 100, text: 'A demo post' });
const feedItem = samplePost({ id: 101, source: { id: 3, kind: 'rss', name: 'Harbour News' }, text: 'A feed item' });
const skyPost = samplePost({
  id: 102,
  source: { id: 8, kind: 'bluesky', name: '@me.bsky.social' },
  author: { id: 9, handle: 'erin.bsky.social', display_name: 'Erin', avatar_color: '#553377' },
  text: 'Hello from Bluesky',
});

/** The thread of post 12: Carol's post it answers, Bob's post, then two replies. */
const thread: Post[] = [
  samplePost({ id: 10, source: mastodon, author: person(5, 'Carol'), text: 'When do your tomatoes ripen?' }),
  bobPost,
  samplePost({ id: 13, source: mastodon, author: person(6, 'Dan'), text: 'Mine too!' }),
  samplePost({ id: 14, source: mastodon, author: person(5, 'Carol'), text: 'Lucky you.' }),
];

type Reply = Response | Promise<Response>;

/** A fake backend: the feed, search, notifications, the posts' threads, and `routes` over all of them. */
function backend(routes: Record<string, () => Reply> = {}) {
  const server = {
    fetch: vi.fn(async (url: string, init?: RequestInit): Promise<Response> => {
      const key = `${init?.method ?? 'GET'} ${url}`;
      if (routes[key]) return routes[key]();
      if (url.startsWith('/api/feed')) return json({ posts: [bobPost, demoPost, feedItem, skyPost], next_cursor: null });
      if (url.startsWith('/api/search')) return json({ posts: [bobPost], total: 1, semantic: false });
      if (key === 'GET /api/posts/12/thread') return json(thread);
      if (key === 'GET /api/posts/13/thread') return json(thread.slice(0, 3));
      if (key === 'GET /api/posts/12') return json(bobPost);
      if (key === 'POST /api/interactions') return json(null);
      if (url.startsWith('/api/notifications')) return json([]);
      return json({ code: 'not_found', message: `no ${key}` }, 404);
    }),
    count: (key: string) =>
      server.fetch.mock.calls.filter((c) => `${(c[1] as RequestInit | undefined)?.method ?? 'GET'} ${c[0]}` === key).length,
    bodies: (key: string) =>
      server.fetch.mock.calls
        .filter((c) => `${(c[1] as RequestInit | undefined)?.method ?? 'GET'} ${c[0]}` === key)
        .map((c) => JSON.parse(String((c[1] as RequestInit).body))),
  };
  vi.stubGlobal('fetch', server.fetch);
  return server;
}

/** A reply the test sends when it chooses to. */
function later() {
  let resolve: (r: Response) => void = () => {};
  const promise = new Promise<Response>((r) => (resolve = r));
  return { promise, resolve: async (r: Response) => {
    await act(async () => resolve(r));
    await settle();
    await settle();
  } };
}

async function mountApp() {
  await act(async () => render(h(App, {}), host));
  await settle();
  await settle();
}

async function press(key: string, target: EventTarget = document.activeElement ?? document.body) {
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

const q = <T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = host) => root.querySelector<T>(`[data-testid="${id}"]`);
const cardOf = (id: number) => host.querySelector<HTMLElement>(`[data-testid="post-card"][data-post-id="${id}"]`)!;
const cardIds = () => [...host.querySelectorAll<HTMLElement>('[data-testid="post-card"]')].map((c) => Number(c.dataset.postId));
const heading = () => host.querySelector('main h1')!.textContent;
const threadButton = (id: number) => q<HTMLButtonElement>('thread-button', cardOf(id));

describe('the Thread button', () => {
  it('is on posts from Mastodon and Bluesky accounts, named for the author, next to Reply', async () => {
    backend();
    await mountApp();
    const button = threadButton(12)!;
    expect(button.getAttribute('aria-label')).toBe('Show the thread of the post by Bob');
    expect(button.textContent).toBe('Thread');
    expect(button.previousElementSibling!.getAttribute('data-testid')).toBe('reply-button');
    expect(threadButton(102)!.getAttribute('aria-label')).toBe('Show the thread of the post by Erin');
    // Local, demo and feed posts have no thread to fetch.
    expect(threadButton(100)).toBeNull();
    expect(threadButton(101)).toBeNull();
  });

  it('is left out when the card is given nowhere to show a thread', () => {
    const noop = () => {};
    const handlers: CardHandlers = {
      onLike: noop,
      onHide: noop,
      onUnhide: noop,
      onShowLess: noop,
      onRestore: noop,
      onMute: noop,
      onOpen: noop,
      onOpenLink: noop,
      onFocusCard: noop,
      observeDwell: noop,
      unobserveDwell: noop,
      onPostUpdated: noop,
    };
    const props = { ...handlers, post: bobPost, index: 0, setSize: 1, tabbable: true, collapsed: undefined, expanded: false, now: new Date() };
    render(h(PostCard, props), host);
    expect(q('thread-button')).toBeNull();
    const onThread = vi.fn();
    render(h(PostCard, { ...props, onThread }), host);
    q('thread-button')!.click();
    expect(onThread).toHaveBeenCalledWith(bobPost);
  });
});

describe('the words for a thread', () => {
  it('say which server the thread comes from', () => {
    expect(threadServerName(mastodon)).toBe('mastodon.example');
    expect(threadServerName({ kind: 'mastodon', name: 'me@social.example' })).toBe('social.example');
    expect(threadServerName({ kind: 'mastodon', name: 'My account' })).toBe('Mastodon');
    expect(threadServerName({ kind: 'bluesky', name: '@me.bsky.social' })).toBe('Bluesky');
    expect(threadLoadingText(mastodon)).toBe('Fetching the thread from mastodon.example…');
    expect(hasThread(bobPost)).toBe(true);
    expect(hasThread(feedItem)).toBe(false);
  });

  it('split the thread at the post it was opened for', () => {
    expect(splitThread(thread, 12)).toEqual({ head: thread.slice(0, 2), replies: thread.slice(2) });
    expect(splitThread(thread, 10)).toEqual({ head: thread.slice(0, 1), replies: thread.slice(1) });
    expect(splitThread(thread, 99)).toEqual({ head: thread, replies: [] });
  });
});

describe('the thread view', () => {
  it('says where it is fetching from, then shows the thread with the post marked, focused and the replies indented', async () => {
    const reply = later();
    const server = backend({ 'GET /api/posts/12/thread': () => reply.promise });
    await mountApp();
    await click(threadButton(12)!);

    expect(heading()).toBe('Thread');
    const status = q('thread-loading')!;
    expect(status.getAttribute('role')).toBe('status');
    expect(status.textContent).toBe('Fetching the thread from mastodon.example…');
    expect(q('thread-back')!.getAttribute('aria-label')).toBe('Back to feed');
    expect(cardIds()).toEqual([]);
    expect(server.count('GET /api/posts/12/thread')).toBe(1);

    await reply.resolve(json(thread));
    expect(q('thread-loading')).toBeNull();
    expect(cardIds()).toEqual([10, 12, 13, 14]);
    const current = cardOf(12);
    expect(current.getAttribute('aria-current')).toBe('true');
    expect(current.classList.contains('current')).toBe(true);
    expect([10, 13, 14].map((id) => cardOf(id).getAttribute('aria-current'))).toEqual([null, null, null]);
    expect(document.activeElement).toBe(current);
    // The posts it answers and the post itself at the first level; the replies one level in.
    const replies = q('thread-replies')!;
    expect([...replies.querySelectorAll<HTMLElement>('[data-testid="post-card"]')].map((c) => c.dataset.postId)).toEqual(['13', '14']);
    expect(replies.contains(current)).toBe(false);
    // One list, in order, the post opened the one in the tab order.
    const feed = q('feed')!;
    expect(feed.getAttribute('role')).toBe('feed');
    expect(feed.getAttribute('aria-labelledby')).toBe('thread-title');
    expect([10, 12, 13, 14].map((id) => cardOf(id).getAttribute('aria-posinset'))).toEqual(['1', '2', '3', '4']);
    expect(cardOf(13).getAttribute('aria-setsize')).toBe('4');
    expect([10, 12, 13, 14].map((id) => cardOf(id).tabIndex)).toEqual([-1, 0, -1, -1]);
    // Its own thread is the one shown; the others' are a click away.
    expect(threadButton(12)).toBeNull();
    expect(threadButton(13)).not.toBeNull();
  });

  it('lets posts be liked and replied to, and j/k move through it', async () => {
    const server = backend();
    await mountApp();
    await click(threadButton(12)!);
    const like = q<HTMLButtonElement>('like-button', cardOf(13))!;
    await click(like);
    expect(server.bodies('POST /api/interactions')).toContainEqual({ post_id: 13, kind: 'like' });
    expect(q('like-button', cardOf(13))!.getAttribute('aria-pressed')).toBe('true');
    expect(q('reply-button', cardOf(14))).not.toBeNull();

    await act(async () => cardOf(12).focus());
    await press('k');
    expect(document.activeElement).toBe(cardOf(10));
    await press('j');
    await press('j');
    expect(document.activeElement).toBe(cardOf(13));
    await press('l');
    expect(server.bodies('POST /api/interactions')).toContainEqual({ post_id: 13, kind: 'unlike' });
  });

  it('says why the thread could not be fetched, and fetches it again on Try again', async () => {
    let reachable = false;
    const server = backend({
      'GET /api/posts/12/thread': () =>
        reachable ? json(thread) : json({ code: 'unavailable', message: 'the server could not be reached' }, 503),
    });
    await mountApp();
    await click(threadButton(12)!);
    const alert = q('error-state')!;
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.textContent).toContain('Couldn’t fetch the thread');
    expect(q('thread-error')!.textContent).toBe('The server could not be reached.');
    expect(cardIds()).toEqual([]);

    reachable = true;
    const retry = q<HTMLButtonElement>('thread-retry')!;
    expect(retry.textContent!.trim()).toBe('Try again');
    await click(retry);
    expect(server.count('GET /api/posts/12/thread')).toBe(2);
    expect(q('error-state')).toBeNull();
    expect(cardIds()).toEqual([10, 12, 13, 14]);
    expect(document.activeElement).toBe(cardOf(12));
  });

  it('shows the post alone when the server sends back an empty thread', async () => {
    backend({ 'GET /api/posts/12/thread': () => json([]) });
    await mountApp();
    await click(threadButton(12)!);
    expect(cardIds()).toEqual([12]);
    expect(cardOf(12).getAttribute('aria-current')).toBe('true');
  });
});

describe('going back from a thread', () => {
  it('returns to the feed with the post focused again, by the button or by Esc', async () => {
    backend();
    await mountApp();
    await click(threadButton(12)!);
    await click(q('thread-back')!);
    expect(q('thread')).toBeNull();
    expect(cardIds()).toEqual([12, 100, 101, 102]);
    expect(document.activeElement).toBe(cardOf(12));

    await click(threadButton(12)!);
    expect(heading()).toBe('Thread');
    await press('Escape');
    expect(q('thread')).toBeNull();
    expect(document.activeElement).toBe(cardOf(12));
    // The feed's own keys work as before.
    await press('j');
    expect(document.activeElement).toBe(cardOf(100));
  });

  it('returns to where the first thread was opened from, through a thread opened inside it', async () => {
    const server = backend();
    await mountApp();
    await click(threadButton(12)!);
    await click(threadButton(13)!);
    expect(server.count('GET /api/posts/13/thread')).toBe(1);
    expect(cardIds()).toEqual([10, 12, 13]);
    expect(cardOf(13).getAttribute('aria-current')).toBe('true');
    expect(q('thread-back')!.getAttribute('aria-label')).toBe('Back to feed');
    await press('Escape');
    expect(cardIds()).toEqual([12, 100, 101, 102]);
  });

  it('returns to the search results it was opened from', async () => {
    backend();
    await mountApp();
    const input = q<HTMLInputElement>('search-input')!;
    await act(async () => {
      input.value = 'tomatoes';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => input.form!.requestSubmit());
    await settle();
    expect(heading()).toContain('Results for “tomatoes”');
    await click(threadButton(12)!);
    expect(q('thread-back')!.getAttribute('aria-label')).toBe('Back to search results');
    await click(q('thread-back')!);
    expect(heading()).toContain('Results for “tomatoes”');
    expect(document.activeElement).toBe(cardOf(12));
  });

  it('opens from the post a notification is about, and goes back to it', async () => {
    const about: Notification = {
      id: 1,
      account_id: 7,
      kind: 'reply',
      actor: { handle: 'bob@mastodon.example', display_name: 'Bob' },
      post_id: 12,
      excerpt: 'Tomatoes are ripening early this year',
      created_at: new Date().toISOString(),
      read: true,
    };
    backend({ 'GET /api/notifications?limit=50': () => json([about]) });
    await mountApp();
    await press('i', document.body);
    await click(q('notification-open')!);
    expect(heading()).toBe('Post');
    await click(threadButton(12)!);
    expect(heading()).toBe('Thread');
    expect(q('thread-back')!.getAttribute('aria-label')).toBe('Back to the post');
    await press('Escape');
    expect(heading()).toBe('Post');
    expect(document.activeElement).toBe(cardOf(12));
    await press('Escape');
    expect(heading()).toBe('Notifications');
  });
});
