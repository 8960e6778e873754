// Mastodon and Bluesky accounts: the calls in both transports, the words for an account's state
// and its outbox, checking what is typed to sign in, waiting for a Mastodon sign-in (asked every
// second until done, failed or cancelled), and Settings → Accounts: signing in to Mastodon through
// the browser and to Bluesky with an app password, Sign in again, Sign out (asked first), and the
// actions a server refused with Try again and Discard.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { json, settle, useHost } from './test-support';
import { api, ApiError, buildRequest, calls } from './api';
import { AccountsSection } from './Accounts';
import { SIGN_IN_GIVE_UP_MS, watchSignIn } from './SignIn';
import { Settings } from './Settings';
import {
  accountStateText,
  atHandle,
  outboxFailedText,
  pendingActionsText,
  sentText,
  tokenStorageText,
} from './networks';
import { checkAppPassword, checkBlueskyHandle, checkServerAddress } from './validate';
import type { Account, OutboxItem, SignInState } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

type W = Window & { __TAURI_INTERNALS__?: unknown };

const NOW = new Date('2024-06-15T12:00:00Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000).toISOString();

function account(over: Partial<Account> = {}): Account {
  return {
    id: 7,
    kind: 'mastodon',
    server: 'https://mastodon.example',
    handle: '@alice@mastodon.example',
    display_name: 'Alice',
    state: 'ok',
    last_sync_at: minutes(-5),
    next_sync_at: minutes(25),
    last_error: null,
    token_storage: 'keychain',
    pending_actions: 0,
    live: false,
    ...over,
  };
}

const bluesky = (over: Partial<Account> = {}) =>
  account({ id: 8, kind: 'bluesky', server: 'https://pds.bsky.example', handle: '@alice.bsky.social', display_name: 'Alice B', live: false, ...over });

function failedItem(over: Partial<OutboxItem> = {}): OutboxItem {
  return {
    id: 31,
    account_id: 7,
    action: 'favourite',
    post_id: 12,
    state: 'failed',
    attempts: 3,
    last_error: 'the server answered 422 (record not found)',
    created_at: minutes(-30),
    ...over,
  };
}

describe('the account calls', () => {
  it('build the documented commands and HTTP requests', () => {
    const cases: [ReturnType<typeof calls.accounts>, string, unknown, string, string, unknown][] = [
      [calls.accounts(), 'accounts', undefined, 'GET', '/api/accounts', undefined],
      [calls.beginMastodonSignIn('https://mastodon.example'), 'begin_mastodon_sign_in', { server: 'https://mastodon.example' }, 'POST', '/api/accounts/mastodon', { server: 'https://mastodon.example' }],
      [calls.signInState('s-1'), 'sign_in_state', { id: 's-1' }, 'GET', '/api/accounts/sign-in/s-1', undefined],
      [
        calls.addBlueskyAccount('alice.bsky.social', 'abcd-efgh-ijkl-mnop', 'https://pds.example'),
        'add_bluesky_account',
        { request: { handle: 'alice.bsky.social', app_password: 'abcd-efgh-ijkl-mnop', service: 'https://pds.example' } },
        'POST',
        '/api/accounts/bluesky',
        { handle: 'alice.bsky.social', app_password: 'abcd-efgh-ijkl-mnop', service: 'https://pds.example' },
      ],
      [
        calls.addBlueskyAccount('alice.bsky.social', 'pw', null),
        'add_bluesky_account',
        { request: { handle: 'alice.bsky.social', app_password: 'pw' } },
        'POST',
        '/api/accounts/bluesky',
        { handle: 'alice.bsky.social', app_password: 'pw' },
      ],
      [calls.removeAccount(7), 'remove_account', { id: 7 }, 'POST', '/api/accounts/7/remove', {}],
      [calls.notifications(50), 'notifications', { limit: 50 }, 'GET', '/api/notifications?limit=50', undefined],
      [calls.notifications(), 'notifications', {}, 'GET', '/api/notifications', undefined],
      [calls.cancelSignIn('s 1'), 'cancel_sign_in', { id: 's 1' }, 'POST', '/api/accounts/sign-in/s%201/cancel', {}],
      [calls.markNotificationsRead(), 'mark_notifications_read', undefined, 'POST', '/api/notifications/read', {}],
      [calls.markNotificationsRead(12), 'mark_notifications_read', { upToId: 12 }, 'POST', '/api/notifications/read', { up_to_id: 12 }],
      [calls.outbox(), 'outbox', undefined, 'GET', '/api/outbox', undefined],
      [calls.retryOutbox(31), 'retry_outbox', { id: 31 }, 'POST', '/api/outbox/31/retry', {}],
      [calls.discardOutbox(31), 'discard_outbox', { id: 31 }, 'POST', '/api/outbox/31/discard', {}],
      [calls.createPost({ text: 'hi', images: [], audio: null, account_id: 7, reply_to: 12 }), 'create_post', { post: { text: 'hi', images: [], audio: null, account_id: 7, reply_to: 12 } }, 'POST', '/api/posts', { text: 'hi', images: [], audio: null, account_id: 7, reply_to: 12 }],
      [calls.recordInteraction({ post_id: 12, kind: 'unboost' }), 'record_interaction', { input: { post_id: 12, kind: 'unboost' } }, 'POST', '/api/interactions', { post_id: 12, kind: 'unboost' }],
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
    // A sign-in id is a path segment, never more.
    expect(calls.signInState('a/b?c').path).toBe('/api/accounts/sign-in/a%2Fb%3Fc');
  });

  it('invoke the documented commands inside the desktop app', async () => {
    const w = window as W;
    const replies: Record<string, unknown> = {
      accounts: [account()],
      begin_mastodon_sign_in: { id: 's-1', authorize_url: 'https://mastodon.example/oauth/authorize?x=1' },
      sign_in_state: { id: 's-1', state: 'waiting', account: null, error: null },
      add_bluesky_account: bluesky(),
      remove_account: {},
      notifications: [],
      mark_notifications_read: {},
      outbox: [failedItem()],
      retry_outbox: {},
      discard_outbox: {},
    };
    const invoke = vi.fn(async (command: string) => replies[command]);
    w.__TAURI_INTERNALS__ = { invoke };
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    try {
      await expect(api.accounts()).resolves.toEqual([account()]);
      await api.beginMastodonSignIn('https://mastodon.example');
      await api.signInState('s-1');
      await expect(api.addBlueskyAccount('alice.bsky.social', 'pw')).resolves.toEqual(bluesky());
      await api.removeAccount(7);
      await api.notifications(50);
      await api.markNotificationsRead();
      await api.outbox();
      await api.retryOutbox(31);
      await api.discardOutbox(31);
      expect(fetch).not.toHaveBeenCalled();
      expect(invoke.mock.calls.map((c) => [(c as unknown[])[0], (c as unknown[])[1]])).toEqual([
        ['accounts', {}],
        ['begin_mastodon_sign_in', { server: 'https://mastodon.example' }],
        ['sign_in_state', { id: 's-1' }],
        ['add_bluesky_account', { request: { handle: 'alice.bsky.social', app_password: 'pw' } }],
        ['remove_account', { id: 7 }],
        ['notifications', { limit: 50 }],
        ['mark_notifications_read', {}],
        ['outbox', {}],
        ['retry_outbox', { id: 31 }],
        ['discard_outbox', { id: 31 }],
      ]);
    } finally {
      delete w.__TAURI_INTERNALS__;
    }
  });

  it('turn a refused sign-in into an ApiError with the backend’s words', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'unauthorized', message: 'bluesky refused that handle and app password' }, 401)));
    await expect(api.addBlueskyAccount('alice.bsky.social', 'wrong')).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'Bluesky refused that handle and app password.',
    });
  });
});

describe('the words for accounts', () => {
  it('say where an account stands', () => {
    expect(accountStateText(account(), NOW)).toBe('Synced 5 minutes ago · next in 25 minutes');
    expect(accountStateText(account({ state: 'new', last_sync_at: null, next_sync_at: null }), NOW)).toBe('Not synced yet');
    expect(accountStateText(account({ state: 'syncing' }), NOW)).toBe('Syncing…');
    expect(accountStateText(account({ state: 'failing', last_error: 'Could not reach mastodon.example.' }), NOW)).toBe(
      'Failing: Could not reach mastodon.example.',
    );
    expect(accountStateText(account({ state: 'sign_in_again', last_error: 'The server revoked Hearth’s sign-in.' }), NOW)).toBe(
      'Sign in again: The server revoked Hearth’s sign-in.',
    );
    expect(accountStateText(account({ state: 'sign_in_again', last_error: null }), NOW)).toBe(
      'Sign in again: the server no longer accepts Hearth’s sign-in.',
    );
  });

  it('count the actions waiting, and say where the sign-in is kept', () => {
    expect(pendingActionsText(0)).toBe('');
    expect(pendingActionsText(1)).toBe('1 action waiting to be sent');
    expect(pendingActionsText(3)).toBe('3 actions waiting to be sent');
    expect(tokenStorageText('keychain')).toBe('Sign-in kept in the system keychain');
    expect(tokenStorageText('file')).toBe('Sign-in kept in a file only you can read');
    expect(atHandle('alice.bsky.social')).toBe('@alice.bsky.social');
    expect(atHandle('@alice@mastodon.example')).toBe('@alice@mastodon.example');
  });

  it('say why an action was not sent', () => {
    expect(outboxFailedText(failedItem())).toBe('A like was not sent after 3 tries: The server answered 422 (record not found).');
    expect(outboxFailedText(failedItem({ action: 'unboost', attempts: 1, last_error: null }))).toBe('Undoing a boost was not sent after 1 try.');
    expect(outboxFailedText(failedItem({ action: 'reply', attempts: 2 }))).toMatch(/^A reply was not sent after 2 tries: /);
  });

  it('say honestly what happened to a post sent to an account', () => {
    expect(sentText(account(), 'x')).toBe('Sent to @alice@mastodon.example');
    expect(sentText(account({ pending_actions: 1, state: 'failing' }), 'x')).toBe('Will be sent when @alice@mastodon.example is reachable');
    expect(sentText(account({ pending_actions: 1, state: 'sign_in_again' }), 'x')).toBe(
      'Will be sent to @alice@mastodon.example once you sign in again',
    );
    expect(sentText(account({ pending_actions: 2 }), 'x')).toBe('Posted; sending to @alice@mastodon.example…');
    expect(sentText(null, 'alice@mastodon.example')).toBe('Posted; sending to @alice@mastodon.example…');
  });
});

describe('checking what is typed to sign in', () => {
  it('takes a server’s address, a handle or a profile’s address, and gives the origin', () => {
    expect(checkServerAddress('mastodon.example')).toEqual({ ok: true, value: 'https://mastodon.example' });
    expect(checkServerAddress('  https://mastodon.example/  ')).toEqual({ ok: true, value: 'https://mastodon.example' });
    expect(checkServerAddress('@alice@mastodon.example')).toEqual({ ok: true, value: 'https://mastodon.example' });
    expect(checkServerAddress('alice@mastodon.example')).toEqual({ ok: true, value: 'https://mastodon.example' });
    expect(checkServerAddress('https://mastodon.example/@alice')).toEqual({ ok: true, value: 'https://mastodon.example' });
    expect(checkServerAddress('http://127.0.0.1:8080')).toEqual({ ok: true, value: 'http://127.0.0.1:8080' });
    expect(checkServerAddress('localhost:3000')).toEqual({ ok: true, value: 'https://localhost:3000' });
  });

  it('refuses other addresses with a plain reason', () => {
    expect(checkServerAddress('  ')).toEqual({ ok: false, message: 'Type your server’s address, like mastodon.social.' });
    expect(checkServerAddress('ftp://mastodon.example')).toEqual({ ok: false, message: 'Only http and https addresses can be used.' });
    expect(checkServerAddress('javascript:alert(1)').ok).toBe(false);
    expect(checkServerAddress('masto don.example').ok).toBe(false);
    expect(checkServerAddress('https://user:pw@mastodon.example').ok).toBe(false);
  });

  it('takes a Bluesky handle with or without its @, or a DID or e-mail address', () => {
    expect(checkBlueskyHandle(' @alice.bsky.social ')).toEqual({ ok: true, value: 'alice.bsky.social' });
    expect(checkBlueskyHandle('alice.example.com')).toEqual({ ok: true, value: 'alice.example.com' });
    expect(checkBlueskyHandle('did:plc:abc123xyz')).toEqual({ ok: true, value: 'did:plc:abc123xyz' });
    expect(checkBlueskyHandle('alice@example.com')).toEqual({ ok: true, value: 'alice@example.com' });
    expect(checkBlueskyHandle('')).toEqual({ ok: false, message: 'Type your Bluesky handle, like alice.bsky.social.' });
    expect(checkBlueskyHandle('alice')).toEqual({ ok: false, message: 'Type your full handle, like alice.bsky.social.' });
    expect(checkBlueskyHandle('al ice.bsky.social').ok).toBe(false);
    expect(checkBlueskyHandle('-alice.bsky.social').ok).toBe(false);
    expect(checkAppPassword('  ').ok).toBe(false);
    expect(checkAppPassword(' abcd-efgh-ijkl-mnop ')).toEqual({ ok: true, value: 'abcd-efgh-ijkl-mnop' });
  });
});

async function tick(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe('waiting for a Mastodon sign-in', () => {
  const state = (s: SignInState['state'], over: Partial<SignInState> = {}): SignInState => ({ id: 's-1', state: s, account: null, error: null, ...over });

  it('asks every second, one request at a time, until it is done', async () => {
    vi.useFakeTimers();
    const replies = [state('waiting'), state('waiting'), state('done', { account: account() })];
    let inFlight = 0;
    let most = 0;
    const check = vi.fn(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1500)); // slower than the interval
      inFlight--;
      return replies.shift()!;
    });
    const done = vi.fn();
    const failed = vi.fn();
    watchSignIn('s-1', { done, failed }, { check });
    expect(check).not.toHaveBeenCalled();
    await tick(1000);
    expect(check).toHaveBeenCalledTimes(1);
    await tick(2500); // the reply, then the next second
    expect(check).toHaveBeenCalledTimes(2);
    await tick(2500);
    expect(check).toHaveBeenCalledTimes(3);
    await tick(1500);
    expect(done).toHaveBeenCalledWith(account());
    expect(failed).not.toHaveBeenCalled();
    expect(most).toBe(1);
    await tick(10_000);
    expect(check).toHaveBeenCalledTimes(3);
  });

  it('asks the backend through the ordinary call, and reports a refusal in its words', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn(async () => json(state('failed', { error: 'the user denied access' })));
    vi.stubGlobal('fetch', fetch);
    const done = vi.fn();
    const failed = vi.fn();
    watchSignIn('s-1', { done, failed });
    await tick(1000);
    expect((fetch.mock.calls[0] as unknown[])[0]).toBe('/api/accounts/sign-in/s-1');
    expect(failed).toHaveBeenCalledWith('The user denied access.');
    expect(done).not.toHaveBeenCalled();
  });

  it('waits out Hearth being briefly unreachable, but stops at any other error', async () => {
    vi.useFakeTimers();
    const errors = [new ApiError('unavailable', 'Could not reach Hearth.'), new ApiError('not_found', 'That sign-in has expired.')];
    const check = vi.fn(async () => {
      throw errors.shift()!;
    });
    const failed = vi.fn();
    watchSignIn('s-1', { done: vi.fn(), failed }, { check });
    await tick(1000);
    expect(failed).not.toHaveBeenCalled();
    await tick(1000);
    expect(failed).toHaveBeenCalledWith('That sign-in has expired.');
    await tick(5000);
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('gives up after a while, and stops at once when cancelled', async () => {
    vi.useFakeTimers();
    const check = vi.fn(async () => state('waiting'));
    const failed = vi.fn();
    watchSignIn('s-1', { done: vi.fn(), failed }, { check });
    await tick(SIGN_IN_GIVE_UP_MS + 1000);
    expect(failed).toHaveBeenCalledWith('Hearth waited too long for the approval. Try again.');

    const later = vi.fn(async () => state('done', { account: account() }));
    const done = vi.fn();
    const stop = watchSignIn('s-2', { done, failed: vi.fn() }, { check: later });
    stop();
    await tick(5000);
    expect(later).not.toHaveBeenCalled();
    expect(done).not.toHaveBeenCalled();
  });
});

type Reply = Response | Promise<Response>;

/**
 * A fake backend for the section: `server.accounts` and `server.outbox` are what the next fetch
 * sees, `routes` answers "METHOD /path" with the parsed JSON body, and `push` sends a sync state.
 */
function backend(list: Account[], routes: Record<string, (body: any) => Reply> = {}) {
  const encoder = new TextEncoder();
  let stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  const server = {
    accounts: list,
    outbox: [] as OutboxItem[],
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
      if (key === 'GET /api/accounts') return json(server.accounts);
      if (key === 'GET /api/outbox') return json(server.outbox);
      return json({ code: 'not_found', message: `no ${key}` }, 404);
    }),
    requests: () =>
      server.fetch.mock.calls
        .filter((c) => c[0] !== '/api/events')
        .map((c) => {
          const init = c[1] as RequestInit | undefined;
          return [init?.method ?? 'GET', c[0], init?.body ? JSON.parse(String(init.body)) : undefined];
        }),
    posts: () => server.requests().filter(([method]) => method === 'POST'),
    push: async (sync: { state: 'idle' | 'syncing'; done: number; total: number }) => {
      const progress = {
        models: [],
        enrichment: { state: 'idle', done: 0, total: 0, message: null, images: { done: 0, total: 0, message: null }, speech: { model: 'w', done: 0, total: 0, message: null, current: null } },
        sync: { ...sync, current: null, current_source_id: null },
      };
      await act(async () => {
        stream!.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify(progress)}\n\n`));
      });
    },
  };
  vi.stubGlobal('fetch', server.fetch);
  return server;
}

const byTestId = <T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = host) => root.querySelector<T>(`[data-testid="${id}"]`)!;
const rows = () => [...host.querySelectorAll<HTMLElement>('[data-testid="account-row"]')];
const row = (id: number) => host.querySelector<HTMLElement>(`[data-testid="account-row"][data-account-id="${id}"]`)!;
/** The form control a label names, as the browser (and an e2e test's getByLabel) finds it. */
const byLabel = <T extends HTMLElement = HTMLInputElement>(text: string) => {
  const label = [...host.querySelectorAll('label')].find((l) => l.textContent?.trim() === text);
  expect(label, `a label “${text}”`).toBeTruthy();
  return host.ownerDocument.getElementById(label!.htmlFor) as T;
};
const button = (name: string, root: ParentNode = host) =>
  [...root.querySelectorAll<HTMLButtonElement>('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent?.trim()) === name)!;

async function mount() {
  await act(async () => render(h(AccountsSection, { clock: () => NOW }), host));
  await settle();
  await settle();
}

async function click(el: HTMLElement, wait: () => Promise<void> = settle) {
  await act(async () => el.click());
  await wait();
}

async function type(input: HTMLInputElement, value: string) {
  await act(async () => {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

async function submit(form: HTMLFormElement, wait: () => Promise<void> = settle) {
  await act(async () => {
    form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
  });
  await wait();
}

describe('Settings → Accounts', () => {
  it('lists each account with its kind, names, server, state, waiting actions, live updates and sign-in storage', async () => {
    backend([
      account({ live: true, pending_actions: 3 }),
      bluesky({ token_storage: 'file', state: 'failing', last_error: 'Could not reach pds.bsky.example.' }),
    ]);
    await mount();
    expect(rows().length).toBe(2);
    const first = row(7);
    expect(byTestId('account-kind', first).textContent).toBe('Mastodon');
    expect(first.querySelector('.account-name')!.textContent).toBe('Alice');
    expect(first.querySelector('.account-server')!.textContent).toBe('@alice@mastodon.example · mastodon.example');
    expect(byTestId('account-state', first).textContent).toBe('Synced 5 minutes ago · next in 25 minutes');
    expect(byTestId('account-pending', first).textContent).toBe('3 actions waiting to be sent');
    expect(byTestId('account-live', first).textContent).toBe('Live');
    expect(byTestId('account-storage', first).textContent!.trim()).toBe('Sign-in kept in the system keychain');
    expect(first.querySelector('[data-testid="account-sign-in-again"]')).toBeNull();

    const second = row(8);
    expect(byTestId('account-kind', second).textContent).toBe('Bluesky');
    expect(byTestId('account-state', second).textContent).toBe('Failing: Could not reach pds.bsky.example.');
    expect(second.getAttribute('data-state')).toBe('failing');
    expect(second.querySelector('[data-testid="account-pending"]')).toBeNull();
    expect(second.querySelector('[data-testid="account-live"]')).toBeNull();
    expect(byTestId('account-storage', second).textContent!.trim()).toBe('Sign-in kept in a file only you can read');
    const actions = second.querySelector('[role="group"]')!;
    expect(actions.getAttribute('aria-label')).toBe('Actions for @alice.bsky.social');
    expect([...actions.querySelectorAll('button')].map((b) => [b.textContent, b.getAttribute('aria-label')])).toEqual([
      ['Sign out', 'Sign out of @alice.bsky.social'],
    ]);
  });

  it('says what to do when there are none, with the sign-in forms and their labels', async () => {
    backend([]);
    await mount();
    expect(byTestId('accounts-empty').textContent).toBe('No accounts yet. Sign in below to follow your Mastodon or Bluesky timeline here.');
    for (const label of ['Mastodon server', 'Bluesky handle', 'App password', 'Bluesky server']) expect(byLabel(label)).toBeTruthy();
    expect(byLabel('App password').type).toBe('password');
    expect(byLabel('Bluesky server').value).toBe('');
    expect(byLabel('Bluesky server').closest('details')!.open).toBe(false);
    expect(byLabel('Bluesky server').closest('details')!.querySelector('summary')!.textContent).toBe('Advanced');
    expect(host.querySelector('#bluesky-app-password-help a')!.textContent).toBe('Use an app password, not your main password');
    expect(button('Sign in with Mastodon').type).toBe('submit');
    expect(button('Sign in with Bluesky').type).toBe('submit');
  });

  it('signs in to Mastodon through the browser, waiting for the approval, then lists the account', async () => {
    vi.useFakeTimers();
    const open = vi.spyOn(window, 'open').mockImplementation(() => null);
    const states: SignInState['state'][] = ['waiting', 'done'];
    const server = backend([], {
      'POST /api/accounts/mastodon': () => json({ id: 's-1', authorize_url: 'https://mastodon.example/oauth/authorize?client_id=x' }),
      'GET /api/accounts/sign-in/s-1': () => {
        const s = states.shift()!;
        if (s === 'done') server.accounts = [account({ state: 'new', last_sync_at: null })];
        return json({ id: 's-1', state: s, account: s === 'done' ? account() : null, error: null });
      },
    });
    await act(async () => render(h(AccountsSection, { clock: () => NOW }), host));
    await tick();

    await type(byLabel('Mastodon server'), '@alice@mastodon.example');
    await submit(byTestId<HTMLFormElement>('add-mastodon'), () => tick());
    expect(server.posts()).toEqual([['POST', '/api/accounts/mastodon', { server: 'https://mastodon.example' }]]);
    // Browser mode: a new tab that cannot reach back into Hearth.
    expect(open).toHaveBeenCalledWith('https://mastodon.example/oauth/authorize?client_id=x', '_blank', 'noopener,noreferrer');
    const waiting = byTestId('sign-in-waiting');
    expect(waiting.querySelector('[role="status"]')!.textContent).toBe('Waiting for you to approve Hearth in your browser…');
    expect(waiting.querySelector('a')!.getAttribute('href')).toBe('https://mastodon.example/oauth/authorize?client_id=x');
    expect(document.activeElement).toBe(byTestId('sign-in-cancel'));
    expect(button('Sign in with Mastodon').disabled).toBe(true);

    await tick(1000);
    expect(host.querySelector('[data-testid="sign-in-waiting"]')).not.toBeNull();
    await tick(1000);
    expect(host.querySelector('[data-testid="sign-in-waiting"]')).toBeNull();
    expect(server.requests().filter(([, url]) => url === '/api/accounts/sign-in/s-1').length).toBe(2);
    expect(byTestId('accounts-notice').textContent).toBe('Signed in as @alice@mastodon.example.');
    expect(rows().length).toBe(1);
    expect(byTestId('account-state', row(7)).textContent).toBe('Not synced yet · next in 25 minutes');
    expect(document.activeElement).toBe(host.querySelector('#accounts-list-title'));
    await tick(5000);
    expect(server.requests().filter(([, url]) => url === '/api/accounts/sign-in/s-1').length).toBe(2);
  });

  it('leaves opening the browser to the desktop app, and stops waiting on Cancel', async () => {
    vi.useFakeTimers();
    const open = vi.spyOn(window, 'open').mockImplementation(() => null);
    const replies: Record<string, unknown> = {
      accounts: [],
      outbox: [],
      begin_mastodon_sign_in: { id: 's-9', authorize_url: 'https://mastodon.example/oauth/authorize' },
      sign_in_state: { id: 's-9', state: 'waiting', account: null, error: null },
    };
    const asked: string[] = [];
    mockIPC((command) => {
      asked.push(command);
      return replies[command] ?? null;
    }, { shouldMockEvents: true });
    try {
      await act(async () => render(h(AccountsSection, { clock: () => NOW }), host));
      await tick();
      await type(byLabel('Mastodon server'), 'mastodon.example');
      await submit(byTestId<HTMLFormElement>('add-mastodon'), () => tick());
      expect(asked).toContain('begin_mastodon_sign_in');
      expect(open).not.toHaveBeenCalled();
      expect(byTestId('sign-in-waiting')).not.toBeNull();
      await tick(1000);
      const polls = () => asked.filter((c) => c === 'sign_in_state').length;
      expect(polls()).toBe(1);
      await click(byTestId('sign-in-cancel'), () => tick());
      expect(host.querySelector('[data-testid="sign-in-waiting"]')).toBeNull();
      expect(asked).toContain('cancel_sign_in');
      await tick(5000);
      expect(polls()).toBe(1);
      expect(button('Sign in with Mastodon').disabled).toBe(false);
      expect(document.activeElement).toBe(button('Sign in with Mastodon'));
    } finally {
      // Unmounted while the mocks are still there: the event listeners go before they do.
      await act(async () => render(null, host));
      await tick();
      clearMocks();
      delete (window as W).__TAURI_INTERNALS__;
    }
  });

  it('checks the server’s address first, and shows why a sign-in failed', async () => {
    vi.useFakeTimers();
    vi.spyOn(window, 'open').mockImplementation(() => null);
    const server = backend([], {
      'POST /api/accounts/mastodon': () => json({ id: 's-1', authorize_url: 'https://mastodon.example/oauth/authorize' }),
      'GET /api/accounts/sign-in/s-1': () => json({ id: 's-1', state: 'failed', account: null, error: 'the server refused to register Hearth' }),
    });
    await act(async () => render(h(AccountsSection, { clock: () => NOW }), host));
    await tick();
    const input = byLabel('Mastodon server');
    await submit(byTestId<HTMLFormElement>('add-mastodon'), () => tick());
    expect(byTestId('mastodon-error').textContent).toBe('Type your server’s address, like mastodon.social.');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(server.posts()).toEqual([]);

    await type(input, 'mastodon.example');
    expect(host.querySelector('[data-testid="mastodon-error"]')).toBeNull();
    await submit(byTestId<HTMLFormElement>('add-mastodon'), () => tick());
    await tick(1000);
    expect(byTestId('mastodon-error').textContent).toBe('Could not sign in: The server refused to register Hearth.');
    expect(byTestId('mastodon-error').getAttribute('role')).toBe('alert');
    expect(host.querySelector('[data-testid="sign-in-waiting"]')).toBeNull();
    expect(document.activeElement).toBe(input);
    expect(button('Sign in with Mastodon').disabled).toBe(false);
  });

  it('signs in to Bluesky with an app password, sending the server only when one is given', async () => {
    const server = backend([], {
      'POST /api/accounts/bluesky': (body) => {
        if (body.app_password === 'wrong') return json({ code: 'unauthorized', message: 'bluesky refused that handle and app password' }, 401);
        server.accounts = [bluesky()];
        return json(bluesky(), 201);
      },
    });
    await mount();
    const form = byTestId<HTMLFormElement>('add-bluesky');
    await submit(form);
    expect(byTestId('bluesky-error').textContent).toBe('Type your Bluesky handle, like alice.bsky.social.');
    expect(document.activeElement).toBe(byLabel('Bluesky handle'));
    await type(byLabel('Bluesky handle'), 'alice');
    await submit(form);
    expect(byTestId('bluesky-error').textContent).toBe('Type your full handle, like alice.bsky.social.');
    await type(byLabel('Bluesky handle'), '@alice.bsky.social');
    await submit(form);
    expect(byTestId('bluesky-error').textContent).toBe('Type an app password. You can make one in Bluesky’s settings.');
    expect(document.activeElement).toBe(byLabel('App password'));
    expect(byLabel('App password').getAttribute('aria-describedby')).toBe('bluesky-error bluesky-app-password-help');
    expect(server.posts()).toEqual([]);

    await type(byLabel('App password'), 'wrong');
    await submit(form);
    expect(byTestId('bluesky-error').textContent).toBe('Could not sign in: Bluesky refused that handle and app password.');
    expect(byLabel('Bluesky handle').value).toBe('@alice.bsky.social');

    await type(byLabel('App password'), 'abcd-efgh-ijkl-mnop');
    await submit(form);
    expect(server.posts().at(-1)).toEqual(['POST', '/api/accounts/bluesky', { handle: 'alice.bsky.social', app_password: 'abcd-efgh-ijkl-mnop' }]);
    expect(byTestId('accounts-notice').textContent).toBe('Signed in as @alice.bsky.social.');
    expect(rows().length).toBe(1);
    // Nothing of the sign-in stays in the form.
    expect(byLabel('App password').value).toBe('');
    expect(byLabel('Bluesky handle').value).toBe('');

    await type(byLabel('Bluesky handle'), 'bob.example.com');
    await type(byLabel('App password'), 'pw');
    await type(byLabel('Bluesky server'), 'ftp://pds.example');
    await submit(form);
    expect(byTestId('bluesky-error').textContent).toBe('Only http and https addresses can be used.');
    expect(byLabel('Bluesky server').closest('details')!.open).toBe(true);
    await type(byLabel('Bluesky server'), 'pds.example');
    await submit(form);
    expect(server.posts().at(-1)).toEqual([
      'POST',
      '/api/accounts/bluesky',
      { handle: 'bob.example.com', app_password: 'pw', service: 'https://pds.example' },
    ]);
  });

  it('asks again for a Bluesky app password when the server refused the saved sign-in', async () => {
    const server = backend([bluesky({ state: 'sign_in_again', last_error: 'The app password was revoked.' })], {
      'POST /api/accounts/bluesky': () => {
        server.accounts = [bluesky()];
        return json(bluesky(), 201);
      },
    });
    await mount();
    expect(byTestId('account-state', row(8)).textContent).toBe('Sign in again: The app password was revoked.');
    const again = byTestId<HTMLButtonElement>('account-sign-in-again', row(8));
    expect(again.getAttribute('aria-expanded')).toBe('false');
    await click(again);
    expect(again.getAttribute('aria-expanded')).toBe('true');
    const input = byLabel('App password for @alice.bsky.social');
    expect(input.type).toBe('password');
    expect(document.activeElement).toBe(input);
    await type(input, 'new-pass-word-1234');
    await submit(input.form!);
    expect(server.posts()).toEqual([
      ['POST', '/api/accounts/bluesky', { handle: 'alice.bsky.social', app_password: 'new-pass-word-1234', service: 'https://pds.bsky.example' }],
    ]);
    expect(byTestId('accounts-notice').textContent).toBe('Signed in to @alice.bsky.social again.');
    expect(row(8).getAttribute('data-state')).toBe('ok');
    expect(row(8).querySelector('[data-testid="account-sign-in-again"]')).toBeNull();
  });

  it('restarts the Mastodon sign-in for the account’s own server', async () => {
    vi.useFakeTimers();
    vi.spyOn(window, 'open').mockImplementation(() => null);
    const server = backend([account({ state: 'sign_in_again', last_error: 'The server revoked the sign-in.' })], {
      'POST /api/accounts/mastodon': () => json({ id: 's-2', authorize_url: 'https://mastodon.example/oauth/authorize' }),
      'GET /api/accounts/sign-in/s-2': () => {
        server.accounts = [account()];
        return json({ id: 's-2', state: 'done', account: account(), error: null });
      },
    });
    await act(async () => render(h(AccountsSection, { clock: () => NOW }), host));
    await tick();
    await click(byTestId('account-sign-in-again', row(7)), () => tick());
    expect(server.posts()).toEqual([['POST', '/api/accounts/mastodon', { server: 'https://mastodon.example' }]]);
    expect(byTestId('sign-in-waiting', row(7))).not.toBeNull();
    // Only the row's own panel: the add form is not waiting.
    expect(byTestId('add-mastodon').querySelector('[data-testid="sign-in-waiting"]')).toBeNull();
    await tick(1000);
    expect(byTestId('accounts-notice').textContent).toBe('Signed in to @alice@mastodon.example again.');
    expect(row(7).getAttribute('data-state')).toBe('ok');
  });

  it('signs out after asking, saying the liked posts stay', async () => {
    const onChanged = vi.fn();
    const server = backend([account({ pending_actions: 2 }), bluesky()], {
      'POST /api/accounts/7/remove': () => {
        server.accounts = [bluesky()];
        return json({});
      },
    });
    await act(async () => render(h(AccountsSection, { clock: () => NOW, onChanged }), host));
    await settle();
    await settle();
    const signOut = button('Sign out of @alice@mastodon.example');
    expect(signOut.textContent).toBe('Sign out');
    await click(signOut);
    const dialog = byTestId('sign-out-dialog');
    expect(dialog.getAttribute('role')).toBe('alertdialog');
    expect(host.querySelector(`#${dialog.getAttribute('aria-labelledby')}`)!.textContent).toBe('Sign out of @alice@mastodon.example?');
    expect(host.querySelector(`#${dialog.getAttribute('aria-describedby')}`)!.textContent).toContain('Posts you liked stay in Hearth.');
    expect(byTestId('sign-out-pending').textContent).toBe('The 2 actions still waiting to be sent will not be sent.');
    expect(document.activeElement).toBe(byTestId('sign-out-cancel'));

    // Cancel changes nothing and gives the focus back.
    await click(byTestId('sign-out-cancel'));
    expect(host.querySelector('[data-testid="sign-out-dialog"]')).toBeNull();
    expect(document.activeElement).toBe(signOut);
    expect(server.posts()).toEqual([]);

    await click(signOut);
    await click(byTestId('sign-out-confirm'));
    expect(server.posts()).toEqual([['POST', '/api/accounts/7/remove', {}]]);
    expect(host.querySelector('[data-testid="sign-out-dialog"]')).toBeNull();
    expect(rows().map((r) => r.getAttribute('data-account-id'))).toEqual(['8']);
    expect(byTestId('accounts-notice').textContent).toBe('Signed out of @alice@mastodon.example. Posts you liked stay in Hearth.');
    expect(document.activeElement).toBe(host.querySelector('#accounts-list-title'));
    expect(onChanged).toHaveBeenCalled();
  });

  it('lists the actions a server refused under their account, with Try again and Discard', async () => {
    const server = backend([account({ pending_actions: 1 })], {
      'POST /api/outbox/31/retry': () => {
        server.outbox = [failedItem({ id: 32, action: 'boost' })];
        return json({});
      },
      'POST /api/outbox/32/discard': () => {
        server.outbox = [];
        server.accounts = [account()];
        return json({});
      },
    });
    server.outbox = [failedItem(), failedItem({ id: 40, state: 'pending' }), failedItem({ id: 41, account_id: 99 })];
    await mount();
    const items = () => [...row(7).querySelectorAll<HTMLElement>('[data-testid="outbox-item"]')];
    expect(items().map((i) => i.getAttribute('data-outbox-id'))).toEqual(['31']);
    expect(row(7).querySelector('ul.outbox-list')!.getAttribute('aria-label')).toBe('Actions not sent to @alice@mastodon.example');
    expect(items()[0].querySelector('p')!.textContent).toBe('A like was not sent after 3 tries: The server answered 422 (record not found).');
    expect([...items()[0].querySelectorAll('button')].map((b) => [b.textContent, b.getAttribute('aria-label')])).toEqual([
      ['Try again', 'Try sending a like again'],
      ['Discard', 'Discard a like'],
    ]);

    await click(byTestId('outbox-retry', items()[0]));
    expect(server.posts()).toEqual([['POST', '/api/outbox/31/retry', {}]]);
    expect(items().map((i) => i.getAttribute('data-outbox-id'))).toEqual(['32']);
    await click(byTestId('outbox-discard', items()[0]));
    expect(items()).toEqual([]);
    expect(row(7).querySelector('[data-testid="account-pending"]')).toBeNull();
  });

  it('reads the accounts again when a sync round ends', async () => {
    const server = backend([account({ state: 'syncing' })]);
    await mount();
    expect(byTestId('account-state', row(7)).textContent).toBe('Syncing…');
    await server.push({ state: 'syncing', done: 0, total: 2 });
    server.accounts = [account({ last_sync_at: minutes(0) })];
    await server.push({ state: 'idle', done: 2, total: 2 });
    await settle();
    await settle();
    expect(byTestId('account-state', row(7)).textContent).toBe('Synced just now · next in 25 minutes');
  });

  it('is the first section of Settings', async () => {
    backend([account()]);
    const props = { theme: 'system' as const, onTheme: vi.fn(), onBack: vi.fn(), onFeedChanged: vi.fn(), toast: vi.fn() };
    await act(async () => render(h(Settings, props), host));
    await settle();
    await settle();
    const sections = [...host.querySelectorAll<HTMLElement>('section.panel')];
    expect(sections[0].id).toBe('settings-accounts');
    expect(host.querySelector('#settings-accounts-title')!.textContent).toBe('Accounts');
    expect(sections[0].querySelector('[data-testid="accounts"]')).not.toBeNull();
    expect(sections[1].id).toBe('settings-sources');
  });
});
