// Image labels in the UI: the `describeImage` call, machine-written descriptions on post cards
// (marked as such, the author's alt text always first), the composer's alt-text suggestion, and
// the image labelling progress in Settings → Models.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { api, calls, buildRequest } from './api';
import { PostCard, type CardHandlers } from './PostCard';
import { Compose } from './Compose';
import { ImageLabellingProgress, ModelsSection } from './Settings';
import { imageAlt, imageLabellingText, labelledText } from './format';
import type { EnrichmentStatus, ImageDescription, Media, Post } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

type W = Window & { __TAURI_INTERNALS__?: unknown };

const espresso: ImageDescription = {
  labels: [
    { class_id: 967, label: 'espresso', score: 0.91 },
    { class_id: 968, label: 'cup', score: 0.04 },
  ],
  description: 'Probably an espresso.',
};

function image(over: Partial<Media> = {}): Media {
  return {
    id: 5,
    kind: 'image',
    mime: 'image/png',
    size_bytes: 2048,
    alt_text: null,
    width: 640,
    height: 480,
    duration_ms: null,
    labels: espresso.labels,
    machine_description: 'Probably an espresso.',
    transcript: null,
    remote_url: null,
    cached: true,
    ...over,
  };
}

describe('describeImage', () => {
  it('posts the base64 to /api/images/describe in browser mode', async () => {
    const c = calls.describeImage('iVBORw0KGgo=');
    expect(c.command).toBe('describe_image');
    expect(c.args).toEqual({ request: { data_base64: 'iVBORw0KGgo=' } });
    const { url, init } = buildRequest(c, 'tok');
    expect(url).toBe('/api/images/describe');
    expect(init.method).toBe('POST');
    expect(JSON.parse(String(init.body))).toEqual({ data_base64: 'iVBORw0KGgo=' });
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer tok');

    const fetch = vi.fn(async () => json(espresso));
    vi.stubGlobal('fetch', fetch);
    await expect(api.describeImage('iVBORw0KGgo=')).resolves.toEqual(espresso);
    expect(fetch.mock.calls.map((call) => (call as unknown[])[0])).toEqual(['/api/images/describe']);
  });

  it('invokes describe_image with a request object inside the desktop app', async () => {
    const w = window as W;
    const invoke = vi.fn(async () => espresso);
    w.__TAURI_INTERNALS__ = { invoke };
    try {
      await expect(api.describeImage('AAAA')).resolves.toEqual(espresso);
      expect(invoke.mock.calls.map((call) => [(call as unknown[])[0], (call as unknown[])[1]])).toEqual([
        ['describe_image', { request: { data_base64: 'AAAA' } }],
      ]);
    } finally {
      delete w.__TAURI_INTERNALS__;
    }
  });

  it('turns the backend’s refusals into ApiErrors', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json({ code: 'unavailable', message: 'the image model is not installed' }, 503)),
    );
    await expect(api.describeImage('AAAA')).rejects.toMatchObject({ code: 'unavailable', message: 'The image model is not installed.' });
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'invalid_input', message: 'not an image' }, 400)));
    await expect(api.describeImage('AAAA')).rejects.toMatchObject({ code: 'invalid_input', message: 'Not an image.' });
  });
});

describe('image words', () => {
  it('prefers the author’s alt text and marks the machine’s', () => {
    expect(imageAlt({ alt_text: 'My cat asleep', machine_description: 'Probably a tabby.' })).toEqual({
      alt: 'My cat asleep',
      human: 'My cat asleep',
      machine: null,
    });
    expect(imageAlt({ alt_text: null, machine_description: 'Probably a tabby.' })).toEqual({
      alt: 'Machine-generated description: Probably a tabby.',
      human: null,
      machine: 'Probably a tabby.',
    });
    expect(imageAlt({ alt_text: '  ', machine_description: 'Probably a tabby.' }).machine).toBe('Probably a tabby.');
    expect(imageAlt({ alt_text: null, machine_description: null })).toEqual({ alt: '', human: null, machine: null });
    // A media item from before labels existed.
    expect(imageAlt({ alt_text: null })).toEqual({ alt: '', human: null, machine: null });
  });

  it('puts labelling progress in plain words', () => {
    expect(labelledText(3, 10)).toBe('Labelled 3 of 10 images');
    expect(labelledText(4, 1)).toBe('Labelled 1 of 1 image');
    expect(imageLabellingText({ done: 3, total: 10, message: null })).toBe('Working…');
    expect(imageLabellingText({ done: 10, total: 10, message: null })).toBe('Up to date');
    expect(imageLabellingText({ done: 0, total: 0, message: null })).toBe('Up to date');
    expect(imageLabellingText({ done: 0, total: 4, message: 'image labels wait: the image model is not installed' })).toBe(
      'Image labels wait: the image model is not installed.',
    );
  });
});

describe('PostCard images', () => {
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

  it('describes an undescribed image with the machine’s words, plainly marked', async () => {
    const onOpen = vi.fn();
    card(samplePost({ media: [image()] }), { onOpen });
    const img = host.querySelector('img')!;
    expect(img.getAttribute('alt')).toBe('Machine-generated description: Probably an espresso.');
    expect(host.querySelector('.alt-badge:not(.machine-badge)')).toBeNull();

    const badge = host.querySelector<HTMLButtonElement>('[data-testid="machine-alt-badge"]')!;
    expect(badge.tagName).toBe('BUTTON');
    expect(badge.textContent).toBe('AUTO');
    expect(badge.getAttribute('aria-expanded')).toBe('false');
    expect(badge.getAttribute('aria-label')).toBe('Show machine-generated image description');
    expect(badge.getAttribute('title')).toBe('Described by the on-device image model, not by the author');
    expect(host.querySelector('[data-testid="machine-alt-text"]')).toBeNull();

    await act(async () => badge.click());
    const text = host.querySelector('[data-testid="machine-alt-text"]')!;
    expect(text.textContent).toBe('Machine-generated description: Probably an espresso.');
    expect(badge.getAttribute('aria-expanded')).toBe('true');
    expect(badge.getAttribute('aria-controls')).toBe(text.id);
    expect(badge.getAttribute('aria-label')).toBe('Hide machine-generated image description');
    // Revealing the description does not open the post.
    expect(onOpen).not.toHaveBeenCalled();

    await act(async () => badge.click());
    expect(host.querySelector('[data-testid="machine-alt-text"]')).toBeNull();
  });

  it('shows the author’s alt text as before, never the machine’s', async () => {
    card(samplePost({ media: [image({ alt_text: 'A flat white on the windowsill' })] }));
    expect(host.querySelector('img')!.getAttribute('alt')).toBe('A flat white on the windowsill');
    expect(host.querySelector('[data-testid="machine-alt-badge"]')).toBeNull();
    expect(host.textContent).not.toContain('espresso');
    const badge = host.querySelector<HTMLButtonElement>('.alt-badge')!;
    expect(badge.textContent).toBe('ALT');
    await act(async () => badge.click());
    expect(host.querySelector('.alt-text')!.textContent).toBe('A flat white on the windowsill');
    expect(host.textContent).not.toContain('Machine-generated');
  });

  it('leaves an image without any description as before', () => {
    card(samplePost({ media: [image({ labels: [], machine_description: null })] }));
    expect(host.querySelector('img')!.getAttribute('alt')).toBe('');
    expect(host.querySelector('.alt-badge')).toBeNull();
  });
});

describe('Compose alt-text suggestion', () => {
  type Reply = Response | Promise<Response>;

  /** A fake backend: `describe` answers each describe request (given its base64); posts echo a post back. */
  function backend(describe: (dataBase64: string) => Reply) {
    const fetch = vi.fn(async (url: string, init?: RequestInit): Promise<Response> => {
      if (url === '/api/images/describe') return describe(JSON.parse(String(init!.body)).data_base64);
      if (url === '/api/posts') return json(samplePost({ id: 9 }), 201);
      return json({ code: 'not_found', message: 'no such route' }, 404);
    });
    vi.stubGlobal('fetch', fetch);
    const bodies = (path: string) =>
      fetch.mock.calls.filter((c) => c[0] === path).map((c) => JSON.parse(String((c[1] as RequestInit).body)));
    return { fetch, bodies };
  }

  /** Answers later: `reply` resolves the request it was made for. */
  function later() {
    let reply!: (r: Response) => void;
    const promise = new Promise<Response>((r) => (reply = r));
    return { promise, reply: async (r: Response) => {
      reply(r);
      await settle();
      await settle();
    } };
  }

  const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  /** The bytes attached as `name`: a PNG signature and the name, so each file reads differently. */
  const bytesOf = (name: string) => [...PNG, ...new TextEncoder().encode(name)];
  const base64Of = (name: string) => btoa(String.fromCharCode(...bytesOf(name)));

  async function mount(onPosted = vi.fn()) {
    await act(async () => render(h(Compose, { open: true, onClose: () => {}, onPosted }), host));
    return onPosted;
  }

  async function attach(...names: string[]) {
    const input = host.querySelector<HTMLInputElement>('[data-testid="compose-images-input"]')!;
    const files = names.map((n) => new File([new Uint8Array(bytesOf(n))], n, { type: 'image/png' }));
    Object.defineProperty(input, 'files', { value: files, configurable: true });
    await act(async () => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await settle();
  }

  /** Lets effects settle until `ready` holds (reading a file as base64 takes a few turns). */
  async function until(ready: () => boolean) {
    for (let i = 0; i < 50 && !ready(); i++) await settle();
    expect(ready()).toBe(true);
  }

  const altInput = (i = 0) => host.querySelectorAll<HTMLInputElement>('[data-testid="alt-input"]')[i];
  const note = (i = 0) => host.querySelectorAll<HTMLElement>('[data-testid="alt-note"]')[i];

  async function type(input: HTMLInputElement, value: string) {
    await act(async () => {
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }

  async function post() {
    await act(async () => {
      host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    await settle();
    await settle();
  }

  it('prefills an empty alt-text field with the suggestion, marked, and posts it', async () => {
    const answer = later();
    const server = backend(() => answer.promise);
    const onPosted = await mount();
    await attach('espresso.png');

    await until(() => server.fetch.mock.calls.length > 0);
    expect(server.bodies('/api/images/describe')).toEqual([{ data_base64: base64Of('espresso.png') }]);
    expect(note().getAttribute('aria-live')).toBe('polite');
    expect(note().textContent).toContain('Describing…');
    expect(altInput().value).toBe('');

    await answer.reply(json(espresso));
    expect(altInput().value).toBe('Probably an espresso.');
    expect(altInput().classList.contains('suggested')).toBe(true);
    expect(note().textContent).toBe('Suggested by the on-device model — check and edit it');
    expect(altInput().getAttribute('aria-describedby')).toBe(note().id);

    await post();
    const [sent] = server.bodies('/api/posts');
    expect(sent.images).toHaveLength(1);
    expect(sent.images[0].alt_text).toBe('Probably an espresso.');
    expect(onPosted).toHaveBeenCalledTimes(1);
  });

  it('never replaces alt text the user typed while waiting', async () => {
    const answer = later();
    const server = backend(() => answer.promise);
    await mount();
    await attach('espresso.png');
    await until(() => server.fetch.mock.calls.length === 1);
    await type(altInput(), 'My morning coffee');
    expect(note().textContent).toContain('Describing…');

    await answer.reply(json(espresso));
    expect(altInput().value).toBe('My morning coffee');
    expect(altInput().classList.contains('suggested')).toBe(false);
    expect(note().textContent).toBe('');

    await post();
    expect(server.bodies('/api/posts')[0].images[0].alt_text).toBe('My morning coffee');
  });

  it('makes an edited suggestion the user’s own', async () => {
    backend(() => json(espresso));
    await mount();
    await attach('espresso.png');
    await until(() => altInput().value !== '');
    expect(altInput().value).toBe('Probably an espresso.');
    await type(altInput(), 'An espresso in a blue cup');
    expect(altInput().value).toBe('An espresso in a blue cup');
    expect(altInput().classList.contains('suggested')).toBe(false);
    expect(note().textContent).toBe('');
  });

  it('drops the answer for an image removed meanwhile', async () => {
    const first = later();
    const second = later();
    const answers = new Map([
      [base64Of('one.png'), first],
      [base64Of('two.png'), second],
    ]);
    const server = backend((data) => answers.get(data)!.promise);
    await mount();
    await attach('one.png', 'two.png');
    expect(host.querySelectorAll('[data-testid="alt-input"]').length).toBe(2);
    await until(() => server.fetch.mock.calls.length === 2);

    await act(async () => host.querySelector<HTMLButtonElement>('button[aria-label^="Remove image 1"]')!.click());
    expect(host.querySelectorAll('[data-testid="alt-input"]').length).toBe(1);
    await first.reply(json({ labels: [], description: 'Probably a rocket.' }));
    // The remaining image is still waiting for its own answer, and got nothing of the first.
    expect(altInput().value).toBe('');
    expect(note().textContent).toContain('Describing…');
    await second.reply(json(espresso));
    expect(altInput().value).toBe('Probably an espresso.');
    expect(host.textContent).not.toContain('rocket');
  });

  it('stays quiet and keeps working when the model is missing or unsure', async () => {
    const replies = new Map([
      [base64Of('one.png'), json({ code: 'unavailable', message: 'the image model is not installed' }, 503)],
      [base64Of('two.png'), json({ labels: [], description: null })],
    ]);
    const server = backend((data) => replies.get(data)!);
    await mount();
    await attach('one.png', 'two.png');
    await until(() => !host.textContent!.includes('Describing…'));
    for (const i of [0, 1]) {
      expect(altInput(i).value).toBe('');
      expect(note(i).textContent).toBe('No suggestion from the on-device model');
    }
    expect(host.querySelector('[role="alert"]')).toBeNull();

    await type(altInput(0), 'A rocket on the pad');
    expect(note(0).textContent).toBe('');
    await post();
    const images = server.bodies('/api/posts')[0].images;
    expect(images.map((i: { alt_text: string | null }) => i.alt_text)).toEqual(['A rocket on the pad', null]);
  });

  it('does not hold up posting while a description is pending', async () => {
    const answer = later();
    const server = backend(() => answer.promise);
    const onPosted = await mount();
    await attach('espresso.png');
    await until(() => server.fetch.mock.calls.length === 1);
    expect(note().textContent).toContain('Describing…');
    const submit = host.querySelector<HTMLButtonElement>('[data-testid="compose-submit"]')!;
    expect(submit.disabled).toBe(false);

    await post();
    expect(server.bodies('/api/posts')[0].images[0].alt_text).toBeNull();
    expect(onPosted).toHaveBeenCalledTimes(1);
    // The posted draft is gone; its late answer changes nothing.
    expect(host.querySelectorAll('[data-testid="alt-input"]').length).toBe(0);
    await answer.reply(json(espresso));
    expect(host.querySelectorAll('[data-testid="alt-input"]').length).toBe(0);
  });

  it('does not ask about files the backend would refuse', async () => {
    const server = backend(() => json(espresso));
    await mount();
    const input = host.querySelector<HTMLInputElement>('[data-testid="compose-images-input"]')!;
    Object.defineProperty(input, 'files', { value: [new File(['hello'], 'notes.txt', { type: 'text/plain' })], configurable: true });
    await act(async () => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await settle();
    expect(server.bodies('/api/images/describe')).toEqual([]);
    expect(note().textContent).toBe('');
  });
});

describe('image labelling progress', () => {
  it('shows how many images are labelled, as words and a bar', () => {
    render(h(ImageLabellingProgress, { status: { done: 3, total: 12, message: null } }), host);
    const box = host.querySelector('[data-testid="image-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('working');
    expect(box.textContent).toContain('Working…');
    expect(box.textContent).toContain('Labelled 3 of 12 images');
    const bar = box.querySelector('progress')!;
    expect(bar.getAttribute('aria-labelledby')).toBe('image-labelling-state');
    expect(host.querySelector('#image-labelling-state')?.textContent).toBe('Working…');
    expect(bar.getAttribute('aria-valuetext')).toBe('Labelled 3 of 12 images');
    expect(bar.getAttribute('max')).toBe('12');
    expect(bar.getAttribute('value')).toBe('3');
    expect(box.querySelector('.enrichment-line')?.getAttribute('aria-live')).toBe('polite');

    render(h(ImageLabellingProgress, { status: { done: 12, total: 12, message: null } }), host);
    expect(box.getAttribute('data-state')).toBe('idle');
    expect(box.textContent).toContain('Up to date');
    expect(box.querySelector('progress')!.getAttribute('value')).toBe('12');
  });

  it('says why images wait', () => {
    render(
      h(ImageLabellingProgress, { status: { done: 0, total: 4, message: 'image labels wait: the image model is not installed' } }),
      host,
    );
    const box = host.querySelector('[data-testid="image-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('waiting');
    expect(box.textContent).toContain('Image labels wait: the image model is not installed.');
    expect(box.textContent).toContain('Labelled 0 of 4 images');
    expect(box.querySelector('progress')!.getAttribute('value')).toBe('0');
  });

  it('is indeterminate while loading', () => {
    render(h(ImageLabellingProgress, { status: null }), host);
    const box = host.querySelector('[data-testid="image-progress"]')!;
    expect(box.getAttribute('data-state')).toBe('loading');
    expect(box.textContent).toContain('Loading…');
    expect(box.querySelector('progress')!.hasAttribute('value')).toBe(false);
  });

  it('follows the pushed progress in Settings → Models', async () => {
    const status: EnrichmentStatus = {
      state: 'working',
      done: 2,
      total: 8,
      message: null,
      images: { done: 1, total: 6, message: null },
      speech: { model: 'whisper-tiny-en', done: 0, total: 0, message: null, current: null },
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
    const box = () => host.querySelector('[data-testid="image-progress"]')!;
    expect(host.querySelector('h3:nth-of-type(2)')?.textContent).toBe('Image labelling');
    expect(box().textContent).toContain('Labelled 1 of 6 images');
    expect(box().querySelector('progress')!.getAttribute('value')).toBe('1');

    const pushed = { ...status, images: { done: 6, total: 6, message: null } };
    await act(async () => {
      stream.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify({ models: [], enrichment: pushed })}\n\n`));
    });
    await settle();
    expect(box().textContent).toContain('Up to date');
    expect(box().textContent).toContain('Labelled 6 of 6 images');
    expect(box().querySelector('progress')!.getAttribute('value')).toBe('6');
  });
});
