// Posts from Mastodon and Bluesky accounts on cards, and writing to those accounts: who boosted
// a post, where it came from ("Mastodon", the other accounts it also came through), a content
// warning that keeps the post closed until opened, sensitive pictures blurred until shown, Boost
// (the button and the `b` key, undone on failure), Reply (the composer in reply mode), and the
// composer's "Post to" choice with what it says once a post went to an account.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { App } from './App';
import { Compose, postableAccounts, replyPrefill } from './Compose';
import { PostCard, type CardHandlers } from './PostCard';
import { alsoViaText, kindLabel } from './networks';
import type { Account, Media, Post } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

function picture(id: number): Media {
  return {
    id,
    kind: 'image',
    mime: 'image/png',
    size_bytes: 2048,
    alt_text: 'A beach at dusk',
    width: 640,
    height: 480,
    duration_ms: null,
    labels: [],
    machine_description: null,
    transcript: null,
    remote_url: null,
    cached: true,
  };
}

const fromMastodon = (over: Partial<Post> = {}) =>
  samplePost({
    id: 12,
    source: { id: 7, kind: 'mastodon', name: '@me@mastodon.example' },
    author: { id: 4, handle: 'bob@mastodon.example', display_name: 'Bob', avatar_color: '#335577' },
    text: 'Tomatoes are ripening early this year',
    counts: { likes: 2, boosts: 3, replies: 1 },
    ...over,
  });

function account(over: Partial<Account> = {}): Account {
  return {
    id: 7,
    kind: 'mastodon',
    server: 'https://mastodon.example',
    handle: '@me@mastodon.example',
    display_name: 'Me',
    state: 'ok',
    last_sync_at: null,
    next_sync_at: null,
    last_error: null,
    token_storage: 'keychain',
    pending_actions: 0,
    live: true,
    ...over,
  };
}

const handlers: CardHandlers = {
  onLike: () => {},
  onHide: () => {},
  onUnhide: () => {},
  onShowLess: () => {},
  onRestore: () => {},
  onMute: () => {},
  onOpen: () => {},
  onOpenLink: () => {},
  onFocusCard: () => {},
  observeDwell: () => {},
  unobserveDwell: () => {},
  onPostUpdated: () => {},
  onBoost: () => {},
  onReply: () => {},
};

function card(post: Post, over: Partial<CardHandlers> = {}) {
  render(
    h(PostCard, {
      ...handlers,
      ...over,
      post,
      index: 0,
      setSize: 1,
      tabbable: true,
      collapsed: undefined,
      expanded: false,
      now: new Date('2024-01-02T00:00:00Z'),
    }),
    host,
  );
}

const q = <T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = host) => root.querySelector<T>(`[data-testid="${id}"]`);

async function click(el: HTMLElement) {
  await act(async () => el.click());
  await settle();
}

describe('where a post came from', () => {
  it('names the account after its kind, and who boosted the post', () => {
    card(fromMastodon({ boosted_by: { handle: 'carol@mastodon.example', display_name: 'Carol' } }));
    expect(q('source-kind')!.textContent).toBe('Mastodon');
    expect(q('source-badge')!.textContent).toBe('@me@mastodon.example');
    expect(q('source-badge')!.getAttribute('title')).toBe('From your Mastodon account @me@mastodon.example');
    const boosted = q('boosted-by')!;
    expect(boosted.textContent!.trim()).toBe('Carol boosted');
    expect(boosted.querySelector('svg')!.getAttribute('aria-hidden')).toBe('true');
    // Above the author's name.
    expect(boosted.compareDocumentPosition(host.querySelector('.card-head')!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it('labels feeds as Feed, and says which other accounts a merged post also came through', () => {
    card(samplePost({ source: { id: 3, kind: 'rss', name: 'Harbour News' } }));
    expect(q('source-kind')!.textContent).toBe('Feed');
    expect(q('source-badge')!.textContent).toBe('Harbour News');
    expect(q('post-via')).toBeNull();
    expect(q('boosted-by')).toBeNull();
    card(samplePost());
    expect(q('source-kind')).toBeNull();
    expect(q('source-badge')!.textContent).toBe('Demo');

    const merged = fromMastodon({
      via: [
        { account_id: 7, kind: 'mastodon', name: '@me@mastodon.example' },
        { account_id: 8, kind: 'bluesky', name: '@me.bsky.social' },
      ],
    });
    card(merged);
    expect(q('post-via')!.textContent).toBe('Also via @me.bsky.social (Bluesky)');
    expect(alsoViaText(fromMastodon({ via: [{ account_id: 7, kind: 'mastodon', name: 'x' }] }))).toBe('');
    expect(kindLabel('bluesky')).toBe('Bluesky');
  });
});

describe('a content warning', () => {
  const warned = () =>
    fromMastodon({ title: 'A title', content_warning: 'Spoilers for the finale', media: [picture(5)] });

  it('keeps the title, the text and the media closed until the post is opened', async () => {
    const onOpen = vi.fn();
    card(warned(), { onOpen });
    expect(q('content-warning')!.querySelector('.cw-text')!.textContent).toBe('Content warning: Spoilers for the finale');
    const toggle = q<HTMLButtonElement>('cw-toggle')!;
    expect(toggle.textContent).toBe('Show post');
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(host.querySelector('.post-text')).toBeNull();
    expect(host.querySelector('[data-testid="post-title"]')).toBeNull();
    expect(host.querySelector('img')).toBeNull();
    expect(host.textContent).not.toContain('Tomatoes');
    // The card is described by the warning while closed.
    const article = host.querySelector('article')!;
    expect(host.querySelector(`#${article.getAttribute('aria-describedby')}`)!.textContent).toContain('Spoilers for the finale');

    await click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(toggle.textContent).toBe('Hide post');
    const body = host.querySelector(`#${toggle.getAttribute('aria-controls')}`)!;
    expect(body.querySelector('.post-text')!.textContent).toBe('Tomatoes are ripening early this year');
    expect(body.querySelector('[data-testid="post-title"]')!.textContent).toBe('A title');
    expect(body.querySelectorAll('img').length).toBe(1);
    expect(onOpen).toHaveBeenCalledTimes(1);

    await click(toggle);
    expect(host.querySelector('.post-text')).toBeNull();
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(onOpen).toHaveBeenCalledTimes(1);
  });

  it('is not there for a post without one', () => {
    card(fromMastodon({ content_warning: '  ' }));
    expect(q('content-warning')).toBeNull();
    expect(host.querySelector('.post-text')!.textContent).toBe('Tomatoes are ripening early this year');
  });
});

describe('sensitive pictures', () => {
  it('are blurred, out of reach, behind one button that shows them and hides them again', async () => {
    card(fromMastodon({ sensitive: true, media: [picture(5), picture(6)] }));
    const box = q('sensitive-media')!;
    const blurred = box.querySelector<HTMLElement>('.sensitive-blur')!;
    expect(box.getAttribute('data-shown')).toBe('false');
    expect(blurred.getAttribute('aria-hidden')).toBe('true');
    expect(blurred.hasAttribute('inert')).toBe(true);
    expect(blurred.querySelectorAll('img').length).toBe(2);
    const toggle = q<HTMLButtonElement>('sensitive-toggle')!;
    expect(toggle.tagName).toBe('BUTTON');
    expect(toggle.type).toBe('button');
    expect(toggle.textContent!.trim()).toBe('Show sensitive pictures');

    toggle.focus();
    await click(toggle);
    expect(box.getAttribute('data-shown')).toBe('true');
    expect(box.classList.contains('shown')).toBe(true);
    expect(blurred.hasAttribute('aria-hidden')).toBe(false);
    expect(blurred.hasAttribute('inert')).toBe(false);
    // The same button, so the focus stays on it.
    expect(q('sensitive-toggle')).toBe(toggle);
    expect(document.activeElement).toBe(toggle);
    expect(toggle.getAttribute('aria-label')).toBe('Hide sensitive pictures');

    await click(toggle);
    expect(box.getAttribute('data-shown')).toBe('false');
  });

  it('says picture for one, and leaves other posts’ pictures alone', () => {
    card(fromMastodon({ sensitive: true, media: [picture(5)] }));
    expect(q('sensitive-toggle')!.textContent!.trim()).toBe('Show sensitive picture');
    card(fromMastodon({ sensitive: false, media: [picture(5)] }));
    expect(q('sensitive-media')).toBeNull();
    expect(host.querySelectorAll('img').length).toBe(1);
    card(fromMastodon({ sensitive: true, media: [] }));
    expect(q('sensitive-media')).toBeNull();
  });
});

describe('Boost and Reply on a card', () => {
  it('are there for posts from accounts only', async () => {
    const onBoost = vi.fn();
    const onReply = vi.fn();
    card(fromMastodon({ boosted: true }), { onBoost, onReply });
    const boost = q<HTMLButtonElement>('boost-button')!;
    expect(boost.getAttribute('aria-label')).toBe('Boost post by Bob');
    expect(boost.getAttribute('aria-pressed')).toBe('true');
    expect(boost.getAttribute('title')).toBe('Undo boost');
    expect(boost.textContent).toBe('3');
    const reply = q<HTMLButtonElement>('reply-button')!;
    expect(reply.getAttribute('aria-label')).toBe('Reply to post by Bob');
    const order = [...host.querySelectorAll('.actions button')].map((b) => b.getAttribute('data-testid'));
    expect(order.slice(0, 3)).toEqual(['like-button', 'boost-button', 'reply-button']);
    await click(boost);
    await click(reply);
    expect(onBoost).toHaveBeenCalledTimes(1);
    expect(onReply).toHaveBeenCalledTimes(1);

    card(samplePost({ source: { id: 3, kind: 'rss', name: 'Harbour News' } }));
    expect(q('boost-button')).toBeNull();
    expect(q('reply-button')).toBeNull();
  });
});

type Reply = Response | Promise<Response>;

/** A fake backend for the app: the feed holds `posts`; interactions and posts are answered by `routes`. */
function backend(posts: Post[], routes: Record<string, (body: any) => Reply> = {}) {
  const fetch = vi.fn(async (url: string, init?: RequestInit): Promise<Response> => {
    const key = `${init?.method ?? 'GET'} ${url}`;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    if (routes[key]) return routes[key](body);
    if (url.startsWith('/api/feed')) return json({ posts, next_cursor: null });
    if (key === 'GET /api/notifications?limit=50') return json([]);
    return json({ code: 'not_found', message: `no ${key}` }, 404);
  });
  vi.stubGlobal('fetch', fetch);
  const bodies = (key: string) =>
    fetch.mock.calls
      .filter((c) => `${(c[1] as RequestInit | undefined)?.method ?? 'GET'} ${c[0]}` === key)
      .map((c) => JSON.parse(String((c[1] as RequestInit).body)));
  return { fetch, bodies };
}

async function mountApp() {
  await act(async () => render(h(App, {}), host));
  await settle();
  await settle();
}

const toastText = () => host.querySelector('.toasts')!.textContent;

describe('boosting in the feed', () => {
  it('toggles with the button and the b key, sending boost and unboost', async () => {
    const post = fromMastodon();
    const server = backend([post], {
      'POST /api/interactions': (input) =>
        json({ ...post, boosted: input.kind === 'boost', counts: { ...post.counts, boosts: input.kind === 'boost' ? 4 : 3 } }),
    });
    await mountApp();
    const boost = () => q<HTMLButtonElement>('boost-button')!;
    expect(boost().getAttribute('aria-pressed')).toBe('false');
    await click(boost());
    expect(boost().getAttribute('aria-pressed')).toBe('true');
    expect(boost().textContent).toBe('4');
    expect(toastText()).toContain('Boosted');

    const cardEl = host.querySelector<HTMLElement>('[data-testid="post-card"]')!;
    cardEl.focus();
    await act(async () => {
      cardEl.dispatchEvent(new KeyboardEvent('keydown', { key: 'b', bubbles: true, cancelable: true }));
    });
    await settle();
    expect(boost().getAttribute('aria-pressed')).toBe('false');
    expect(boost().textContent).toBe('3');
    expect(server.bodies('POST /api/interactions').map((b) => b.kind)).toEqual(['boost', 'unboost']);
  });

  it('puts the boost back and says why when it fails', async () => {
    backend([fromMastodon()], {
      'POST /api/interactions': () => json({ code: 'unavailable', message: 'mastodon.example cannot be reached' }, 503),
    });
    await mountApp();
    await click(q<HTMLButtonElement>('boost-button')!);
    expect(q('boost-button')!.getAttribute('aria-pressed')).toBe('false');
    expect(q('boost-button')!.textContent).toBe('3');
    expect(toastText()).toContain('Could not boost the post: Mastodon.example cannot be reached.');
  });

  it('leaves the b key alone on posts that cannot be boosted', async () => {
    const server = backend([samplePost()]);
    await mountApp();
    const cardEl = host.querySelector<HTMLElement>('[data-testid="post-card"]')!;
    cardEl.focus();
    await act(async () => {
      cardEl.dispatchEvent(new KeyboardEvent('keydown', { key: 'b', bubbles: true, cancelable: true }));
    });
    await settle();
    expect(server.bodies('POST /api/interactions')).toEqual([]);
  });
});

describe('replying', () => {
  it('opens the composer in reply mode, mentioning a Mastodon author, and sends the reply to the post’s account', async () => {
    const post = fromMastodon();
    const server = backend([post], {
      'GET /api/accounts': () => json([account()]),
      'POST /api/posts': (body) => json(samplePost({ id: 50, text: body.text, source: post.source }), 201),
    });
    await mountApp();
    await click(q<HTMLButtonElement>('reply-button')!);
    await settle();
    expect(host.querySelector('#compose-title')!.textContent).toBe('Reply');
    expect(q('replying-to')!.textContent).toContain('Replying to Bob @bob@mastodon.example on Mastodon');
    expect(q('replying-to')!.textContent).toContain('Tomatoes are ripening early this year');
    // Replies go to the account the post came from: there is nothing to choose.
    expect(q('compose-target')).toBeNull();
    const text = q<HTMLTextAreaElement>('compose-text')!;
    expect(text.value).toBe('@bob@mastodon.example ');
    await act(async () => {
      text.value = '@bob@mastodon.example Mine too!';
      text.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(q('compose-submit')!.textContent).toBe('Reply');
    await act(async () => {
      host.querySelector<HTMLFormElement>('dialog.compose form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    for (let i = 0; i < 5; i++) await settle();
    expect(server.bodies('POST /api/posts')).toEqual([
      { text: '@bob@mastodon.example Mine too!', images: [], audio: null, account_id: 7, reply_to: 12 },
    ]);
    expect(toastText()).toContain('Sent to @me@mastodon.example');
    // The reply stays out of the feed's way; the post counts one reply more.
    expect([...host.querySelectorAll('[data-testid="feed"] [data-testid="post-card"]')].map((c) => c.getAttribute('data-post-id'))).toEqual(['12']);
    expect(q('reply-button')!.textContent).toBe('2');
    expect((host.querySelector('dialog.compose') as HTMLDialogElement).open).toBe(false);
  });

  it('starts a Bluesky reply empty, and forgets an untouched mention when the reply is left', async () => {
    expect(replyPrefill(fromMastodon())).toBe('@bob@mastodon.example ');
    expect(replyPrefill(fromMastodon({ source: { id: 8, kind: 'bluesky', name: '@me.bsky.social' } }))).toBe('');
    const carol = fromMastodon({ id: 13, author: { id: 5, handle: 'carol@social.example', display_name: 'Carol', avatar_color: '#553377' } });
    backend([fromMastodon(), carol], { 'GET /api/accounts': () => json([account()]) });
    await mountApp();
    const text = () => q<HTMLTextAreaElement>('compose-text')!;
    const close = async () => {
      await click(host.querySelector<HTMLButtonElement>('dialog.compose [aria-label="Close"]')!);
    };
    const replyButtons = () => [...host.querySelectorAll<HTMLButtonElement>('[data-testid="reply-button"]')];
    await click(replyButtons()[0]);
    expect(text().value).toBe('@bob@mastodon.example ');
    await close();
    await click(replyButtons()[1]);
    expect(text().value).toBe('@carol@social.example ');
    await close();
    await click(q<HTMLButtonElement>('compose-button')!);
    expect(text().value).toBe('');
    expect(host.querySelector('#compose-title')!.textContent).toBe('New post');
    expect(q<HTMLSelectElement>('compose-target')!.value).toBe('');
    // A draft the user wrote is theirs: a reply opened after it keeps it.
    await act(async () => {
      text().value = 'My own draft';
      text().dispatchEvent(new Event('input', { bubbles: true }));
    });
    await close();
    await click(replyButtons()[0]);
    expect(text().value).toBe('My own draft');
  });
});

describe('the composer’s Post to choice', () => {
  const accounts = [
    account(),
    account({ id: 8, kind: 'bluesky', handle: '@me.bsky.social', server: 'https://pds.example', state: 'failing' }),
    account({ id: 9, handle: '@old@mastodon.example', state: 'sign_in_again' }),
  ];

  function composeBackend(after: Account[] = accounts) {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/posts') {
        const body = JSON.parse(String(init!.body));
        return json(samplePost({ id: 60, text: body.text }), 201);
      }
      if (url === '/api/accounts') return json(after);
      return json({ code: 'not_found', message: 'no' }, 404);
    });
    vi.stubGlobal('fetch', fetch);
    return () => fetch.mock.calls.filter((c) => c[0] === '/api/posts').map((c) => JSON.parse(String((c[1] as RequestInit).body)));
  }

  async function mount(onPosted = vi.fn()) {
    await act(async () => render(h(Compose, { open: true, onClose: () => {}, onPosted, accounts }), host));
    return onPosted;
  }

  const select = () => q<HTMLSelectElement>('compose-target')!;

  async function choose(value: string) {
    await act(async () => {
      select().value = value;
      select().dispatchEvent(new Event('change', { bubbles: true }));
    });
  }

  async function write(text: string) {
    const box = q<HTMLTextAreaElement>('compose-text')!;
    await act(async () => {
      box.value = text;
      box.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }

  async function post() {
    await act(async () => {
      host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    for (let i = 0; i < 5; i++) await settle();
  }

  it('offers Hearth only first, chosen every time, and the accounts that can be posted to', async () => {
    composeBackend();
    await mount();
    expect(host.querySelector(`label[for="${select().id}"]`)!.textContent).toBe('Post to');
    expect([...select().options].map((o) => [o.value, o.textContent])).toEqual([
      ['', 'Hearth only (a local note)'],
      ['7', '@me@mastodon.example (Mastodon)'],
      ['8', '@me.bsky.social (Bluesky)'],
    ]);
    expect(select().value).toBe('');
    expect(host.querySelector('#compose-target-help')!.textContent).toBe('Stays on this device');
    expect(postableAccounts(accounts).map((a) => a.id)).toEqual([7, 8]);
  });

  it('sends a local note as before, without an account', async () => {
    const bodies = composeBackend();
    const onPosted = await mount();
    await write('Just for me');
    await post();
    expect(bodies()).toEqual([{ text: 'Just for me', images: [], audio: null }]);
    expect(onPosted).toHaveBeenCalledWith(expect.objectContaining({ id: 60 }), undefined);
  });

  it('sends the chosen account, and says honestly where the post is', async () => {
    const bodies = composeBackend([account({ pending_actions: 1, state: 'failing' })]);
    const onPosted = await mount();
    await choose('7');
    expect(host.querySelector('#compose-target-help')!.textContent).toBe('Public on Mastodon as @me@mastodon.example');
    await write('Hello, fediverse');
    await post();
    expect(bodies()).toEqual([{ text: 'Hello, fediverse', images: [], audio: null, account_id: 7 }]);
    expect(onPosted).toHaveBeenCalledWith(expect.objectContaining({ id: 60 }), 'Will be sent when @me@mastodon.example is reachable');
    // The next post starts at Hearth only again.
    expect(select().value).toBe('');
  });

  it('holds a Bluesky post to Bluesky’s 300 characters', async () => {
    const bodies = composeBackend();
    await mount();
    await choose('8');
    expect(host.querySelector('#compose-count')!.textContent).toBe('0 / 300');
    await write('x'.repeat(301));
    expect(host.querySelector('#compose-text-error')!.textContent).toBe('Bluesky posts can be at most 300 characters (1 over).');
    await post();
    expect(bodies()).toEqual([]);
    await choose('');
    expect(host.querySelector('#compose-text-error')!.textContent).toBe('');
    expect(host.querySelector('#compose-count')!.textContent).toBe('301 / 5,000');
  });
});
