// What the component tests share: a fresh host element per test with everything the app
// touches reset afterwards, a JSON `Response`, a sample post, and a way to let effects settle.
import { afterEach, beforeEach, vi } from 'vitest';
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { _resetForTests } from './api';
import type { Post } from './types';

/**
 * Registers the per-test set-up and clean-up; call once at the top of a test file. Returns a
 * getter for the current test's host element.
 */
export function useHost(): () => HTMLElement {
  let host: HTMLElement;
  beforeEach(() => {
    host = document.createElement('div');
    document.body.appendChild(host);
  });
  afterEach(() => {
    render(null, host);
    host.remove();
    vi.useRealTimers();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    _resetForTests();
    sessionStorage.clear();
    localStorage.clear();
    window.history.replaceState(null, '', '/');
  });
  return () => host;
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A tagged demo post (plain text, no title); `over` replaces any field. */
export function samplePost(over: Partial<Post> = {}): Post {
  return {
    id: 1,
    source: { id: 1, kind: 'demo', name: 'Demo' },
    author: { id: 1, handle: 'ada', display_name: 'Ada', avatar_color: '#336699' },
    title: null,
    text: 'Hello',
    html: null,
    created_at: '2024-01-01T00:00:00Z',
    url: null,
    media: [],
    counts: { likes: 0, boosts: 0, replies: 0 },
    state: { liked: false, hidden: false, show_less: false },
    reason: null,
    reasons: [],
    tone: { label: 'positive', score: 0.7 },
    content_warning: null,
    sensitive: false,
    boosted_by: null,
    boosted: false,
    via: [],
    ...over,
  };
}

/** Lets pending promises and the effects they trigger run (real timers). */
export async function settle() {
  await act(async () => {
    await new Promise((r) => setTimeout(r, 0));
  });
}
