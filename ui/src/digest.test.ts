// Today’s digest in the app: the view, its topics and cards, j/k through them, Esc, the `t` key,
// and its place among the shortcuts; and the search results that match by meaning.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { App } from './App';
import { digestSummary } from './format';
import type { Digest, Post } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

const SINCE = '2024-06-14T20:27:00Z';

const feedPost = samplePost({ id: 100, text: 'A post in the feed' });
const garden1 = samplePost({ id: 1, text: 'Tomatoes are ripening', author: { id: 2, handle: 'gus', display_name: 'Gus', avatar_color: '#228833' } });
const garden2 = samplePost({ id: 2, text: 'Compost tips' });
const stars = samplePost({ id: 3, text: 'Saturn tonight', author: { id: 3, handle: 'vera', display_name: 'Vera', avatar_color: '#112244' } });

function digest(over: Partial<Digest> = {}): Digest {
  return {
    since: SINCE,
    posts: 27,
    not_yet_read: 3,
    topics: [
      { title: 'gardens', size: 5, posts: [garden1, garden2] },
      { title: 'astronomy', size: 1, posts: [stars] },
    ],
    ...over,
  };
}

type Reply = Response | Promise<Response>;

/**
 * A fake backend: the feed holds one post, `/api/digest` answers from `digests` in turn (the last
 * one again when they run out), a search finds `searchResult`, and an interaction returns its post.
 */
function backend(digests: (() => Reply)[], searchResult: { posts: Post[]; total: number; semantic: boolean } | null = null) {
  let nth = 0;
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    if (url === '/api/digest') return digests[Math.min(nth++, digests.length - 1)]();
    if (url.startsWith('/api/feed')) return json({ posts: [feedPost], next_cursor: null });
    if (url.startsWith('/api/search')) return json(searchResult ?? { posts: [], total: 0, semantic: false });
    if (url === '/api/interactions') {
      const input = JSON.parse(String(init?.body)) as { post_id: number; kind: string };
      const post = [garden1, garden2, stars, feedPost].find((p) => p.id === input.post_id)!;
      const liked = input.kind === 'like';
      return json({ ...post, state: { ...post.state, liked }, counts: { ...post.counts, likes: liked ? 1 : 0 } });
    }
    return json({ code: 'not_found', message: `no ${url}` }, 404);
  });
  vi.stubGlobal('fetch', fetch);
  const requests = () => fetch.mock.calls.map((c) => [(c[1] as RequestInit | undefined)?.method, c[0]]);
  return { fetch, requests };
}

async function mountApp() {
  await act(async () => render(h(App, {}), host));
  await settle();
}

async function press(key: string, target: EventTarget = document.body) {
  const event = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true });
  await act(async () => {
    target.dispatchEvent(event);
  });
  await settle();
  return event;
}

const digestButton = () => host.querySelector<HTMLButtonElement>('[data-testid="digest-button"]')!;
const heading = () => host.querySelector('main h1');
const sections = () => [...host.querySelectorAll<HTMLElement>('section[data-testid="digest-topic"]')];
const sectionName = (s: HTMLElement) => host.querySelector(`#${s.getAttribute('aria-labelledby')}`);
const cardIds = (root: ParentNode) => [...root.querySelectorAll('[data-testid="post-card"]')].map((c) => c.getAttribute('data-post-id'));
const byTestId = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const digestRequests = (server: ReturnType<typeof backend>) => server.requests().filter(([, url]) => url === '/api/digest');

describe('Today’s digest', () => {
  it('opens from the header and shows each topic as a section of post cards', async () => {
    let answer!: (r: Response) => void;
    const server = backend([() => new Promise<Response>((r) => (answer = r))]);
    await mountApp();
    expect(digestButton().getAttribute('aria-label')).toBe("Today's digest");
    expect(digestButton().getAttribute('aria-keyshortcuts')).toBe('t');
    expect(digestButton().hasAttribute('aria-current')).toBe(false);

    await act(async () => digestButton().click());
    // Loading: the heading and placeholder cards, no sections yet.
    expect(heading()?.textContent).toBe('Today');
    expect(host.querySelector('.skeletons')).not.toBeNull();
    expect(sections()).toEqual([]);
    expect(digestButton().getAttribute('aria-current')).toBe('page');

    await act(async () => answer(json(digest())));
    await settle();
    expect(host.querySelector('.skeletons')).toBeNull();
    expect(digestRequests(server)).toEqual([['GET', '/api/digest']]);
    expect(byTestId('digest-summary')?.textContent).toBe(digestSummary(27, SINCE, 2));
    expect(byTestId('digest-summary')?.textContent).toMatch(/^27 posts since .*27.* in 2 topics$/);
    expect(byTestId('digest-not-yet-read')?.textContent?.trim()).toBe('3 posts are still being read by the on-device model.');

    expect(sections().length).toBe(2);
    const [gardens, astronomy] = sections();
    expect(sectionName(gardens)?.tagName).toBe('H2');
    expect(sectionName(gardens)?.textContent).toBe('gardens (5 posts)');
    expect(sectionName(astronomy)?.textContent).toBe('astronomy (1 post)');
    expect(cardIds(gardens)).toEqual(['1', '2']);
    expect(cardIds(astronomy)).toEqual(['3']);
    // The feed's own cards: one of them tabbable across every topic, numbered within its topic.
    expect([...host.querySelectorAll('[data-testid="post-card"]')].map((c) => c.getAttribute('tabindex'))).toEqual(['0', '-1', '-1']);
    expect([...gardens.querySelectorAll('[data-testid="post-card"]')].map((c) => c.getAttribute('aria-posinset'))).toEqual(['1', '2']);
    expect(gardens.querySelector('[role="feed"]')?.getAttribute('aria-labelledby')).toBe(gardens.getAttribute('aria-labelledby'));
    expect(cardIds(host)).not.toContain('100');
  });

  it('likes and hides posts the way the feed does', async () => {
    const server = backend([() => json(digest())]);
    await mountApp();
    await act(async () => digestButton().click());
    await settle();
    const astronomy = sections()[1];
    const like = astronomy.querySelector<HTMLButtonElement>('[data-testid="like-button"]')!;
    expect(like.getAttribute('aria-label')).toBe('Like post by Vera');
    await act(async () => like.click());
    await settle();
    expect(sections()[1].querySelector('[data-testid="like-button"]')?.getAttribute('aria-pressed')).toBe('true');
    const interactions = server.fetch.mock.calls.filter((c) => c[0] === '/api/interactions');
    expect(interactions.map((c) => JSON.parse(String((c[1] as RequestInit).body)))).toEqual([{ post_id: 3, kind: 'like' }]);

    await act(async () => sections()[0].querySelector<HTMLButtonElement>('[data-testid="hide-button"]')!.click());
    await settle();
    expect(sections()[0].querySelector('.collapsed-line')?.textContent).toContain('Post hidden');
  });

  it('says so when nothing is new', async () => {
    backend([() => json(digest({ posts: 0, not_yet_read: 0, topics: [] }))]);
    await mountApp();
    await act(async () => digestButton().click());
    await settle();
    expect(heading()?.textContent).toBe('Today');
    const empty = byTestId('empty-state')!;
    expect(empty.querySelector('.state-title')?.textContent).toBe('Nothing new in the last 24 hours.');
    expect(sections()).toEqual([]);
    expect(byTestId('digest-summary')).toBeNull();
    expect(byTestId('digest-not-yet-read')).toBeNull();
  });

  it('explains why there are no topics while the model is still reading', async () => {
    backend([() => json(digest({ posts: 4, not_yet_read: 4, topics: [] }))]);
    await mountApp();
    await act(async () => digestButton().click());
    await settle();
    expect(byTestId('digest-summary')?.textContent).toBe(digestSummary(4, SINCE, 0));
    expect(byTestId('digest-not-yet-read')?.textContent?.trim()).toBe('4 posts are still being read by the on-device model.');
    expect(byTestId('no-topics')?.textContent).toContain('No topics yet');
    expect(byTestId('empty-state')).toBeNull();
  });

  it('shows why it failed and loads again on Retry', async () => {
    const server = backend([() => json({ code: 'unavailable', message: 'the database is busy' }, 503), () => json(digest())]);
    await mountApp();
    await act(async () => digestButton().click());
    await settle();
    const alert = host.querySelector<HTMLElement>('[data-testid="error-state"]')!;
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.querySelector('.state-title')?.textContent).toBe('Couldn’t load today’s digest');
    expect(alert.textContent).toContain('The database is busy.');
    expect(sections()).toEqual([]);

    const retry = [...alert.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Retry')!;
    await act(async () => retry.click());
    await settle();
    expect(digestRequests(server).length).toBe(2);
    expect(byTestId('error-state')).toBeNull();
    expect(sections().length).toBe(2);
  });

  it('opens with t, closes with Escape or "Back to feed", and t does nothing while typing', async () => {
    const server = backend([() => json(digest())]);
    await mountApp();
    expect(cardIds(host)).toEqual(['100']);

    // Typed into the search field, t is just a letter.
    const input = host.querySelector<HTMLInputElement>('[data-testid="search-input"]')!;
    const typed = await press('t', input);
    expect(typed.defaultPrevented).toBe(false);
    expect(digestRequests(server)).toEqual([]);
    expect(sections()).toEqual([]);

    const opened = await press('t');
    expect(opened.defaultPrevented).toBe(true);
    expect(heading()?.textContent).toBe('Today');
    expect(sections().length).toBe(2);

    await press('Escape');
    expect(sections()).toEqual([]);
    expect(heading()?.textContent).toBe('Ranked feed');
    expect(cardIds(host)).toEqual(['100']);
    expect(digestButton().hasAttribute('aria-current')).toBe(false);

    await press('t');
    expect(sections().length).toBe(2);
    expect(digestRequests(server).length).toBe(2);
    const back = host.querySelector<HTMLButtonElement>('main button[aria-label="Back to feed"]')!;
    await act(async () => back.click());
    await settle();
    expect(sections()).toEqual([]);
    expect(cardIds(host)).toEqual(['100']);
  });

  it('moves through every topic with j and k', async () => {
    backend([() => json(digest())]);
    await mountApp();
    await press('t');
    const cards = () => [...host.querySelectorAll<HTMLElement>('[data-testid="post-card"]')];
    await press('j');
    expect(document.activeElement).toBe(cards()[0]);
    await press('j');
    await press('j');
    // From the last post of the first topic into the next topic.
    expect(document.activeElement).toBe(cards()[2]);
    expect(cards()[2].closest('section')).toBe(sections()[1]);
    expect(cards().map((c) => c.getAttribute('tabindex'))).toEqual(['-1', '-1', '0']);
    await press('k');
    expect(document.activeElement).toBe(cards()[1]);
  });

  it('is listed among the keyboard shortcuts', async () => {
    backend([() => json(digest())]);
    await mountApp();
    const rows = [...host.ownerDocument.querySelectorAll('dialog.help .shortcut')].map((r) => [
      r.querySelector('dt')?.textContent,
      r.querySelector('dd')?.textContent,
    ]);
    expect(rows).toContainEqual(['t', 'Today’s digest: the last 24 hours in topics']);
    expect(rows).toContainEqual(['Esc', 'Close dialogs, leave search, settings, notifications or today’s digest']);
  });
});

describe('search by meaning', () => {
  async function search(result: { posts: Post[]; total: number; semantic: boolean }) {
    backend([() => json(digest())], result);
    await mountApp();
    const input = host.querySelector<HTMLInputElement>('[data-testid="search-input"]')!;
    await act(async () => {
      input.value = 'stars';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      input.form!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await settle();
  }

  it('notes when results include posts that match by meaning', async () => {
    await search({ posts: [stars], total: 1, semantic: true });
    expect(heading()?.textContent).toBe('Results for “stars” · 1 post');
    const note = byTestId('semantic-note')!;
    expect(note.textContent?.trim()).toBe('Includes posts that match by meaning');
    expect(note.classList.contains('muted')).toBe(true);
    // Under the result count, above the results.
    expect(host.querySelector('.list-head')?.nextElementSibling).toBe(note);
  });

  it('says nothing when the results match by words alone', async () => {
    await search({ posts: [stars], total: 1, semantic: false });
    expect(cardIds(host)).toEqual(['3']);
    expect(byTestId('semantic-note')).toBeNull();
  });
});
