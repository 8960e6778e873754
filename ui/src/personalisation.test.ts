import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { WhyThisPost } from './PostCard';
import { Settings } from './Settings';
import { App } from './App';
import { isDemotion, learnedText, reasonsToShow } from './format';
import type { Status } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

describe('reason words', () => {
  it('lists the reasons, falls back to the single reason, and is empty outside ranked mode', () => {
    expect(reasonsToShow({ reason: 'Recent', reasons: ['Recent', 'Popular: 3 likes and 1 boost'] })).toEqual([
      'Recent',
      'Popular: 3 likes and 1 boost',
    ]);
    expect(reasonsToShow({ reason: 'Recent', reasons: [] })).toEqual(['Recent']);
    expect(reasonsToShow({ reason: 'Recent' })).toEqual(['Recent']);
    expect(reasonsToShow({ reason: null, reasons: [] })).toEqual([]);
    expect(reasonsToShow({ reason: '  ', reasons: ['', ' '] })).toEqual([]);
  });
  it('tells demotions from reasons a post is higher', () => {
    expect(isDemotion('Lower: you have seen it already')).toBe(true);
    expect(isDemotion('Lower because you asked to see less like this')).toBe(true);
    expect(isDemotion('Similar to 3 posts you liked about lowercase')).toBe(false);
    expect(isDemotion('Lowered expectations')).toBe(false);
  });
  it('counts interactions in words', () => {
    expect(learnedText(0)).toBe('Learned from 0 interactions.');
    expect(learnedText(1)).toBe('Learned from 1 interaction.');
    expect(learnedText(1204)).toBe('Learned from 1,204 interactions.');
  });
});

describe('Why this post?', () => {
  const why = () => host.querySelector<HTMLDetailsElement>('details.why');
  const items = () => [...host.querySelectorAll('details.why li')];

  it('lists every reason, strongest first, under a named list', () => {
    const reasons = ['Similar to 2 posts you liked about gardens', 'Posted 2 hours ago', 'Lower: you have seen it already'];
    render(h(WhyThisPost, { post: { reason: reasons[0], reasons } }), host);
    expect(why()?.querySelector('summary')?.textContent).toContain('Why this post?');
    const list = why()!.querySelector('ul')!;
    expect(list.getAttribute('aria-label')).toBe('Reasons this post is here');
    expect(items().map((li) => li.textContent)).toEqual(reasons);
    expect(items().map((li) => li.classList.contains('why-lower'))).toEqual([false, false, true]);
  });
  it('falls back to the single reason', () => {
    render(h(WhyThisPost, { post: { reason: 'Posted 2 hours ago', reasons: [] } }), host);
    expect(items().map((li) => li.textContent)).toEqual(['Posted 2 hours ago']);
  });
  it('renders nothing without reasons', () => {
    render(h(WhyThisPost, { post: { reason: null, reasons: [] } }), host);
    expect(why()).toBeNull();
    expect(host.innerHTML).toBe('');
  });
  it('keeps the feed page reasons on a card after a like', async () => {
    const reasons = ['Posted 2 hours ago', 'Lower: you have seen it already'];
    const post = samplePost({ reason: reasons[0], reasons });
    const fetch = vi.fn(async (url: string) =>
      url.startsWith('/api/interactions')
        ? // A single post comes back without ranking reasons.
          json({ ...post, state: { ...post.state, liked: true }, counts: { ...post.counts, likes: 1 }, reason: null, reasons: [] })
        : json({ posts: [post], next_cursor: null }),
    );
    vi.stubGlobal('fetch', fetch);
    await act(async () => render(h(App, {}), host));
    await settle();
    expect(items().map((li) => li.textContent)).toEqual(reasons);
    const like = host.querySelector<HTMLButtonElement>('[data-testid="like-button"]')!;
    await act(async () => like.click());
    await settle();
    expect(like.getAttribute('aria-pressed')).toBe('true');
    expect(fetch.mock.calls.some((c) => (c as unknown as [string])[0] === '/api/interactions')).toBe(true);
    expect(items().map((li) => li.textContent)).toEqual(reasons);
    expect(items()[1].classList.contains('why-lower')).toBe(true);
  });
});

function status(over: Partial<Status['personalisation']> = {}, interactions = 12): Status {
  return {
    version: '0.1.0',
    data_dir: '/home/u/.hearth',
    database_path: '/home/u/.hearth/hearth.db',
    posts: 40,
    authors: 10,
    sources: 2,
    interactions,
    media: 3,
    demo_imported: true,
    personalisation: { interactions_learned: 5, interests: ['gardens', 'astronomy'], ...over },
    device: 'auto',
    config_path: '/home/u/.hearth/config.toml',
  };
}

/**
 * A fake backend for Settings: `reset` answers `POST /api/personalisation/reset`, the status is
 * `initial`, and the rest is empty. The progress stream stays open until the page closes it.
 */
function backend(initial: Status, reset: (body: unknown) => Response | Promise<Response>) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    if (url === '/api/events') {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          init?.signal?.addEventListener('abort', () => c.error(new DOMException('The operation was aborted.', 'AbortError')));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }
    if (url === '/api/personalisation/reset') return reset(JSON.parse(String(init?.body)));
    if (url === '/api/status') return json(initial);
    if (url === '/api/mutes') return json({ authors: [], words: [] });
    if (url === '/api/models') return json([]);
    if (url === '/api/enrichment') return json({ state: 'idle', done: 0, total: 0, message: null });
    return json({ code: 'not_found', message: `no ${url}` }, 404);
  });
  vi.stubGlobal('fetch', fetch);
  const requests = () => fetch.mock.calls.map((c) => [(c[1] as RequestInit | undefined)?.method, c[0]]);
  return { fetch, requests };
}

async function mountSettings() {
  const onFeedChanged = vi.fn();
  const props = { theme: 'system' as const, onTheme: vi.fn(), onBack: vi.fn(), onFeedChanged, toast: vi.fn() };
  await act(async () => render(h(Settings, props), host));
  await settle();
  return { onFeedChanged };
}

const section = () => host.querySelector<HTMLElement>('[data-testid="personalisation"]')!;
const resetButton = () => host.querySelector<HTMLButtonElement>('[data-testid="reset-personalisation"]')!;
const confirmStep = () => host.querySelector<HTMLElement>('#personalisation-confirm');
const byTestId = <T extends HTMLElement>(id: string) => host.querySelector<T>(`[data-testid="${id}"]`)!;
const statusValue = (name: string) => {
  const dt = [...host.querySelectorAll('dl.kv dt')].find((d) => d.textContent === name);
  return dt?.nextElementSibling?.textContent;
};

describe('Settings → Personalisation', () => {
  it('shows what was learned from the status Settings already loads', async () => {
    const server = backend(status(), () => json(status()));
    await mountSettings();
    expect(host.querySelector('#settings-personalisation-title')?.textContent).toBe('Personalisation');
    expect(section().textContent).toContain('Your feed is ranked on this device from what you do. Learned from 5 interactions.');
    expect(byTestId('interests').textContent).toBe('Interests it has found: gardens, astronomy');
    // One status request serves both this section and the Status section.
    expect(server.requests().filter(([, url]) => url === '/api/status')).toEqual([['GET', '/api/status']]);
    expect(resetButton().getAttribute('aria-expanded')).toBe('false');
    expect(confirmStep()).toBeNull();
    expect(byTestId('reset-done').getAttribute('role')).toBe('status');
  });

  it('says the feed is in its starting order before anything is learned', async () => {
    backend(status({ interactions_learned: 0, interests: [] }), () => json(status()));
    await mountSettings();
    expect(byTestId('interactions-learned').textContent).toBe('Learned from 0 interactions.');
    expect(section().textContent).toContain('starting order: newest and most varied first');
    expect(host.querySelector('[data-testid="interests"]')).toBeNull();
  });

  it('asks before resetting, and Cancel or Escape leave everything as it was', async () => {
    const server = backend(status(), () => json(status()));
    await mountSettings();
    await act(async () => resetButton().click());
    const step = confirmStep()!;
    expect(step.getAttribute('role')).toBe('group');
    expect(host.querySelector(`#${step.getAttribute('aria-labelledby')}`)?.textContent).toBe('Reset personalisation?');
    expect(resetButton().getAttribute('aria-expanded')).toBe('true');
    const forget = byTestId<HTMLInputElement>('reset-forget');
    expect(forget.checked).toBe(false);
    expect(document.activeElement).toBe(forget);
    expect(forget.closest('label')?.textContent).toBe('Also delete my interaction history');
    expect(host.querySelector(`#${forget.getAttribute('aria-describedby')}`)?.textContent).toContain(
      'Your likes and hides stay on the posts',
    );

    await act(async () => byTestId<HTMLButtonElement>('reset-cancel').click());
    expect(confirmStep()).toBeNull();
    expect(document.activeElement).toBe(resetButton());

    await act(async () => resetButton().click());
    const escape = new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true });
    await act(async () => {
      byTestId('reset-forget').dispatchEvent(escape);
    });
    expect(escape.defaultPrevented).toBe(true);
    expect(confirmStep()).toBeNull();
    expect(document.activeElement).toBe(resetButton());
    expect(server.requests().some(([method]) => method === 'POST')).toBe(false);
  });

  it('resets, optionally deleting the history, and shows the new numbers', async () => {
    let answer!: (r: Response) => void;
    const server = backend(status(), () => new Promise<Response>((r) => (answer = r)));
    const { onFeedChanged } = await mountSettings();
    expect(statusValue('Interactions')).toBe('12');

    await act(async () => resetButton().click());
    await act(async () => byTestId<HTMLInputElement>('reset-forget').click());
    expect(byTestId<HTMLInputElement>('reset-forget').checked).toBe(true);
    await act(async () => byTestId<HTMLButtonElement>('reset-confirm').click());

    expect(server.requests().filter(([method]) => method === 'POST')).toEqual([['POST', '/api/personalisation/reset']]);
    const call = server.fetch.mock.calls.find((c) => c[0] === '/api/personalisation/reset')!;
    expect(JSON.parse(String((call[1] as RequestInit).body))).toEqual({ forget_interactions: true });
    // Nothing can be pressed twice while the request runs.
    expect(byTestId<HTMLButtonElement>('reset-confirm').disabled).toBe(true);
    expect(byTestId<HTMLButtonElement>('reset-confirm').textContent).toBe('Resetting…');
    expect(byTestId<HTMLButtonElement>('reset-cancel').disabled).toBe(true);
    expect(resetButton().disabled).toBe(true);

    await act(async () => answer(json(status({ interactions_learned: 0, interests: [] }, 0))));
    await settle();
    expect(confirmStep()).toBeNull();
    expect(resetButton().disabled).toBe(false);
    expect(document.activeElement).toBe(resetButton());
    expect(byTestId('interactions-learned').textContent).toBe('Learned from 0 interactions.');
    expect(host.querySelector('[data-testid="interests"]')).toBeNull();
    expect(section().textContent).toContain('starting order');
    expect(byTestId('reset-done').textContent).toBe(
      'Personalisation reset and your interaction history deleted. Your feed is back in its starting order.',
    );
    // The Status section shows the same fresh status.
    expect(statusValue('Interactions')).toBe('0');
    expect(onFeedChanged).toHaveBeenCalledTimes(1);
    expect(server.requests().filter(([, url]) => url === '/api/status').length).toBe(1);
  });

  it('keeps the interaction history unless asked', async () => {
    const server = backend(status(), () => json(status({ interactions_learned: 0, interests: [] })));
    await mountSettings();
    await act(async () => resetButton().click());
    await act(async () => byTestId<HTMLButtonElement>('reset-confirm').click());
    await settle();
    const call = server.fetch.mock.calls.find((c) => c[0] === '/api/personalisation/reset')!;
    expect(JSON.parse(String((call[1] as RequestInit).body))).toEqual({ forget_interactions: false });
    expect(byTestId('reset-done').textContent).toBe('Personalisation reset. Your feed is back in its starting order.');
    expect(statusValue('Interactions')).toBe('12');
  });

  it('shows why a reset failed and lets it be tried again', async () => {
    backend(status(), () => json({ code: 'internal', message: 'the database is locked' }, 500));
    const { onFeedChanged } = await mountSettings();
    await act(async () => resetButton().click());
    await act(async () => byTestId<HTMLButtonElement>('reset-confirm').click());
    await settle();
    expect(confirmStep()).not.toBeNull();
    expect(confirmStep()!.querySelector('[role="alert"]')?.textContent).toBe('Could not reset: The database is locked.');
    expect(byTestId<HTMLButtonElement>('reset-confirm').disabled).toBe(false);
    expect(byTestId('interactions-learned').textContent).toBe('Learned from 5 interactions.');
    expect(byTestId('reset-done').textContent).toBe('');
    expect(onFeedChanged).not.toHaveBeenCalled();
  });
});
