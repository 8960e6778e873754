// Transcripts on post cards: each state of an audio attachment's transcription (waiting, a
// progress bar fed by the pushed progress with Cancel, failed with "Try again", cancelled with
// "Transcribe", done), the finished transcript's segments seeking the card's player and following
// it as it plays, long transcripts collapsed, and one shared progress subscription for every card
// that fetches a post again when its transcript may have arrived.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import { AudioPlayer, PostCard, type CardHandlers } from './PostCard';
import {
  activeSegment,
  collapsedCount,
  isLongTranscript,
  segmentTime,
  speechModelName,
  transcribedBy,
  transcribingText,
  transcriptMayHaveChanged,
} from './transcription';
import type { EnrichmentStatus, Media, Post, SpeechTranscription, Transcript, TranscriptSegment } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

const SEGMENTS: TranscriptSegment[] = [
  { start: 0, end: 4.2, text: ' Heard a tawny owl calling from the churchyard.' },
  { start: 4.2, end: 7.9, text: ' Two calls, then silence.' },
  { start: 65.5, end: 70, text: ' And again at midnight.' },
];

function transcript(over: Partial<Transcript> = {}): Transcript {
  return {
    status: 'done',
    text: SEGMENTS.map((s) => s.text.trim()).join(' '),
    segments: SEGMENTS,
    model: 'whisper-tiny-en',
    error: null,
    ...over,
  };
}

function memo(over: Partial<Transcript> | null = {}, id = 7): Media {
  return {
    id,
    kind: 'audio',
    mime: 'audio/wav',
    size_bytes: 1234,
    alt_text: null,
    width: null,
    height: null,
    duration_ms: 70_000,
    labels: [],
    machine_description: null,
    transcript: over === null ? null : transcript(over),
    remote_url: null,
    cached: true,
  };
}

function speech(over: Partial<SpeechTranscription> = {}): SpeechTranscription {
  return { model: 'whisper-tiny-en', done: 0, total: 2, message: null, current: null, ...over };
}

async function player(media: Media, props: { speech?: SpeechTranscription | null; onPostUpdated?: (p: Post) => void } = {}) {
  await act(async () => render(h(AudioPlayer, { media, ...props }), host));
}

const box = () => host.querySelector<HTMLElement>('[data-testid="transcript"]');
const segments = () => [...host.querySelectorAll<HTMLButtonElement>('[data-testid="transcript-segment"]')];
const audioEl = () => host.querySelector('audio')!;

describe('transcript words', () => {
  it('names the speech models', () => {
    expect(speechModelName('whisper-tiny-en')).toBe('Whisper tiny.en');
    expect(speechModelName('whisper-base-en')).toBe('Whisper base.en');
    expect(speechModelName('whisper-small-en')).toBe('Whisper small.en');
    expect(speechModelName('whisper-medium')).toBe('Whisper medium');
    expect(speechModelName('some-other-model')).toBe('some-other-model');
    expect(speechModelName(null)).toBeNull();
    expect(transcribedBy('whisper-tiny-en')).toBe('Transcribed on this device by Whisper tiny.en');
    expect(transcribedBy(null)).toBe('Transcribed on this device');
  });

  it('writes segment times as m:ss, rounded down', () => {
    expect(segmentTime(0)).toBe('0:00');
    expect(segmentTime(4.99)).toBe('0:04');
    expect(segmentTime(65.5)).toBe('1:05');
    expect(segmentTime(600)).toBe('10:00');
    expect(segmentTime(3725)).toBe('1:02:05');
    expect(segmentTime(-3)).toBe('0:00');
    expect(segmentTime(NaN)).toBe('0:00');
  });

  it('says how far transcribing got', () => {
    expect(transcribingText(0.4)).toBe('Transcribing: 40%');
    expect(transcribingText(0.996)).toBe('Transcribing: 100%');
    expect(transcribingText(1.7)).toBe('Transcribing: 100%');
    expect(transcribingText(null)).toBe('Transcribing');
  });

  it('finds the segment playing', () => {
    expect(activeSegment(SEGMENTS, null)).toBe(-1);
    expect(activeSegment(SEGMENTS, 0)).toBe(0);
    expect(activeSegment(SEGMENTS, 4.2)).toBe(1);
    expect(activeSegment(SEGMENTS, 7.8)).toBe(1);
    // A pause between segments, and after the last.
    expect(activeSegment(SEGMENTS, 30)).toBe(-1);
    expect(activeSegment(SEGMENTS, 66)).toBe(2);
    expect(activeSegment(SEGMENTS, 71)).toBe(-1);
    expect(activeSegment([], 1)).toBe(-1);
  });

  it('collapses transcripts longer than about three lines', () => {
    const short = (n: number) => Array.from({ length: n }, (_, i) => ({ start: i, end: i + 1, text: `Part ${i}.` }));
    expect(collapsedCount(short(3))).toBe(3);
    expect(isLongTranscript(short(3))).toBe(false);
    expect(collapsedCount(short(6))).toBe(3);
    expect(isLongTranscript(short(6))).toBe(true);
    const wordy = Array.from({ length: 3 }, (_, i) => ({ start: i, end: i + 1, text: 'x'.repeat(150) }));
    expect(collapsedCount(wordy)).toBe(1);
    expect(isLongTranscript(wordy)).toBe(true);
    expect(isLongTranscript([{ start: 0, end: 60, text: 'y'.repeat(500) }])).toBe(true);
  });

  it('tells when a card’s transcript may have changed', () => {
    const running = speech({ current: { media_id: 7, post_id: 1, fraction: 0.5 } });
    // The job moved off this recording.
    expect(transcriptMayHaveChanged(running, speech({ done: 1 }), [7])).toBe(true);
    expect(transcriptMayHaveChanged(running, speech({ current: { media_id: 8, post_id: 2, fraction: 0 } }), [7])).toBe(true);
    // Still running, or another card's job.
    expect(transcriptMayHaveChanged(running, { ...running, current: { media_id: 7, post_id: 1, fraction: 0.6 } }, [7])).toBe(false);
    expect(transcriptMayHaveChanged(running, speech({ current: null }), [9])).toBe(false);
    // Another recording finished: a job too quick to be seen may have been this one.
    expect(transcriptMayHaveChanged(speech({ done: 1 }), speech({ done: 2 }), [9])).toBe(true);
    // Nothing to compare with yet, or nothing waiting.
    expect(transcriptMayHaveChanged(null, speech({ done: 2 }), [7])).toBe(false);
    expect(transcriptMayHaveChanged(speech({ done: 1 }), speech({ done: 2 }), [])).toBe(false);
  });
});

describe('a finished transcript', () => {
  it('lists the segments with their times, marked as machine-generated', async () => {
    await player(memo());
    expect(box()!.getAttribute('data-status')).toBe('done');
    const note = host.querySelector('[data-testid="transcript-note"]')!;
    expect(note.textContent).toBe('Machine-generated transcript. Transcribed on this device by Whisper tiny.en');
    const list = host.querySelector('ol.transcript-segments')!;
    expect(list.getAttribute('aria-labelledby')).toBe(note.id);
    expect(segments().map((s) => s.querySelector('.segment-time')!.textContent)).toEqual(['0:00', '0:04', '1:05']);
    expect(segments().map((s) => s.querySelector('.segment-text')!.textContent)).toEqual([
      'Heard a tawny owl calling from the churchyard.',
      'Two calls, then silence.',
      'And again at midnight.',
    ]);
    // Buttons a keyboard reaches, named for what they do.
    for (const s of segments()) {
      expect(s.tagName).toBe('BUTTON');
      expect(s.getAttribute('type')).toBe('button');
    }
    expect(segments()[1].textContent).toBe('Play from 0:04 Two calls, then silence.');
    expect(segments().some((s) => s.hasAttribute('aria-current'))).toBe(false);
    expect(host.querySelector('[data-testid="transcript-toggle"]')).toBeNull();
  });

  it('plays the recording from a segment’s start when it is pressed, and marks it', async () => {
    const play = vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    await player(memo());
    await act(async () => segments()[1].click());
    expect(audioEl().currentTime).toBeCloseTo(4.2);
    expect(play).toHaveBeenCalledTimes(1);
    expect(segments()[1].getAttribute('aria-current')).toBe('true');
    expect(segments().filter((s) => s.hasAttribute('aria-current'))).toHaveLength(1);

    // The player had not loaded the file yet: once it knows the duration the position is set again.
    audioEl().currentTime = 0;
    await act(async () => {
      audioEl().dispatchEvent(new Event('loadedmetadata'));
    });
    expect(audioEl().currentTime).toBeCloseTo(4.2);
  });

  it('follows the player as it plays', async () => {
    vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    await player(memo());
    const at = async (seconds: number) => {
      audioEl().currentTime = seconds;
      await act(async () => {
        audioEl().dispatchEvent(new Event('timeupdate'));
      });
      return segments().findIndex((s) => s.getAttribute('aria-current') === 'true');
    };
    expect(await at(1)).toBe(0);
    expect(await at(5)).toBe(1);
    expect(await at(30)).toBe(-1);
    expect(await at(66)).toBe(2);
    await act(async () => {
      audioEl().dispatchEvent(new Event('ended'));
    });
    expect(segments().some((s) => s.hasAttribute('aria-current'))).toBe(false);
  });

  it('collapses a long transcript behind “Show full transcript”', async () => {
    const many = Array.from({ length: 6 }, (_, i) => ({ start: i * 5, end: i * 5 + 5, text: `Sentence number ${i + 1}.` }));
    await player(memo({ segments: many, text: many.map((s) => s.text).join(' ') }));
    expect(segments()).toHaveLength(3);
    const toggle = host.querySelector<HTMLButtonElement>('[data-testid="transcript-toggle"]')!;
    expect(toggle.textContent).toBe('Show full transcript');
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(toggle.getAttribute('aria-controls')).toBe(host.querySelector('ol.transcript-segments')!.id);
    expect(host.querySelector('ol.transcript-segments')!.classList.contains('collapsed')).toBe(true);

    await act(async () => toggle.click());
    expect(segments()).toHaveLength(6);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(toggle.textContent).toBe('Show less of the transcript');
    expect(host.querySelector('ol.transcript-segments')!.classList.contains('collapsed')).toBe(false);
  });

  it('shows the words without buttons when the player cannot play', async () => {
    await player(memo());
    await act(async () => {
      audioEl().dispatchEvent(new Event('error'));
    });
    expect(host.querySelector('audio')).toBeNull();
    expect(segments()).toHaveLength(3);
    expect(segments().every((s) => s.tagName === 'SPAN')).toBe(true);
  });

  it('says when no speech was heard, and shows a transcript without segments as text', async () => {
    await player(memo({ segments: [], text: '' }));
    expect(box()!.textContent).toContain('No speech was heard.');
    render(null, host);
    await player(memo({ segments: [], text: 'Just the words.', model: null }));
    expect(box()!.textContent).toContain('Transcribed on this device');
    expect(host.querySelector('.transcript-plain')!.textContent).toBe('Just the words.');
  });

  it('shows nothing for an attachment without a transcript', async () => {
    await player(memo(null));
    expect(box()).toBeNull();
    expect(host.querySelector('[data-testid="audio-card"]')).not.toBeNull();
  });
});

describe('a transcript on its way', () => {
  it('waits, quietly, saying why when the progress says', async () => {
    await player(memo({ status: 'waiting', text: '', segments: [], model: null }));
    expect(box()!.getAttribute('data-status')).toBe('waiting');
    const state = host.querySelector('.transcript-state')!;
    expect(state.textContent).toBe('Waiting to be transcribed');
    expect(state.classList.contains('muted')).toBe(true);
    expect(host.querySelector('progress')).toBeNull();

    await player(memo({ status: 'waiting', text: '', segments: [], model: null }), {
      speech: speech({ message: 'transcription waits: the file system is read-only' }),
    });
    expect(box()!.textContent).toContain('The file system is read-only.');
  });

  it('points at Settings when the speech model is missing, not at the command line', async () => {
    const backend = 'transcription waits: the model whisper-base-en is not installed: run `hearth models fetch whisper-base-en`';
    await player(memo({ status: 'waiting', text: '', segments: [], model: null }), { speech: speech({ message: backend }) });
    const reason = host.querySelector('.transcript-reason')!.textContent;
    expect(reason).toBe('The speech model is not downloaded yet: download it in Settings → Models.');
    expect(reason).not.toContain('hearth models');
  });

  it('shows how far transcribing got, from the pushed progress for this recording', async () => {
    const busy = memo({ status: 'transcribing', text: '', segments: [], model: null });
    await player(busy, { speech: speech({ current: { media_id: 7, post_id: 1, fraction: 0.4 } }) });
    let bar = host.querySelector('progress')!;
    expect(bar.getAttribute('value')).toBe('0.4');
    expect(bar.getAttribute('max')).toBe('1');
    expect(bar.getAttribute('aria-valuetext')).toBe('Transcribing: 40%');
    const label = host.querySelector(`#${bar.getAttribute('aria-labelledby')}`)!;
    expect(label.textContent).toBe('Transcribing… 40%');

    // Another recording's job: indeterminate.
    await player(busy, { speech: speech({ current: { media_id: 8, post_id: 2, fraction: 0.9 } }) });
    bar = host.querySelector('progress')!;
    expect(bar.hasAttribute('value')).toBe(false);
    expect(bar.getAttribute('aria-valuetext')).toBe('Transcribing');
    expect(host.querySelector('[data-testid="transcript-cancel"]')).not.toBeNull();
  });

  it('shows a waiting recording as transcribing once its job runs', async () => {
    await player(memo({ status: 'waiting', text: '', segments: [], model: null }), {
      speech: speech({ current: { media_id: 7, post_id: 1, fraction: 0.25 } }),
    });
    expect(box()!.getAttribute('data-status')).toBe('transcribing');
    expect(host.querySelector('progress')!.getAttribute('aria-valuetext')).toBe('Transcribing: 25%');
  });

  it('cancels, hands on the post that comes back and moves focus to what replaced the button', async () => {
    const cancelled = samplePost({ id: 1, media: [memo({ status: 'cancelled', text: '', segments: [], model: null })] });
    const fetch = vi.fn(async () => json(cancelled));
    vi.stubGlobal('fetch', fetch);
    const onPostUpdated = vi.fn();
    await player(memo({ status: 'transcribing', text: '', segments: [], model: null }), { onPostUpdated });
    const cancel = host.querySelector<HTMLButtonElement>('[data-testid="transcript-cancel"]')!;
    expect(cancel.textContent).toBe('Cancel');
    expect(cancel.getAttribute('aria-label')).toBe('Cancel transcription');
    cancel.focus();
    await act(async () => cancel.click());
    await settle();
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/media/7/transcription/cancel');
    expect(init.method).toBe('POST');
    expect(onPostUpdated).toHaveBeenCalledWith(cancelled);

    // The feed puts the returned post in place.
    await player(cancelled.media[0], { onPostUpdated });
    expect(box()!.getAttribute('data-status')).toBe('cancelled');
    expect(host.querySelector('.transcript-state')!.textContent).toBe('Transcription cancelled');
    const again = host.querySelector<HTMLButtonElement>('[data-testid="transcript-retry"]')!;
    expect(again.textContent).toBe('Transcribe');
    expect(document.activeElement).toBe(again);

    fetch.mockImplementation(async () => json(samplePost({ id: 1, media: [memo({ status: 'waiting', text: '', segments: [], model: null })] })));
    await act(async () => again.click());
    await settle();
    expect((fetch.mock.calls[1] as unknown as [string])[0]).toBe('/api/media/7/transcription/retry');
    expect(onPostUpdated).toHaveBeenCalledTimes(2);
  });

  it('says why it failed, in plain words, and tries again', async () => {
    const fetch = vi.fn(async () => json(samplePost({ id: 1, media: [memo({ status: 'waiting', text: '', segments: [], model: null })] })));
    vi.stubGlobal('fetch', fetch);
    const onPostUpdated = vi.fn();
    await player(memo({ status: 'failed', text: '', segments: [], error: 'the recording could not be decoded' }), { onPostUpdated });
    expect(box()!.getAttribute('data-status')).toBe('failed');
    expect(host.querySelector('.transcript-state')!.textContent).toBe('Transcription failed: The recording could not be decoded.');
    const retry = host.querySelector<HTMLButtonElement>('[data-testid="transcript-retry"]')!;
    expect(retry.textContent).toBe('Try again');
    await act(async () => retry.click());
    await settle();
    expect(fetch.mock.calls.map((c) => (c as unknown as [string, RequestInit])[1].method + ' ' + (c as unknown as [string])[0])).toEqual([
      'POST /api/media/7/transcription/retry',
    ]);
    expect(onPostUpdated).toHaveBeenCalledTimes(1);
  });

  it('shows a refused action inline and keeps the button', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ code: 'conflict', message: 'the transcription already finished' }, 409)));
    const onPostUpdated = vi.fn();
    await player(memo({ status: 'transcribing', text: '', segments: [], model: null }), { onPostUpdated });
    await act(async () => host.querySelector<HTMLButtonElement>('[data-testid="transcript-cancel"]')!.click());
    await settle();
    expect(host.querySelector('[role="alert"]')!.textContent).toBe('The transcription already finished.');
    expect(host.querySelector<HTMLButtonElement>('[data-testid="transcript-cancel"]')!.disabled).toBe(false);
    expect(onPostUpdated).not.toHaveBeenCalled();
  });
});

describe('cards waiting for transcripts', () => {
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

  function enrichment(s: SpeechTranscription): EnrichmentStatus {
    return { state: 'working', done: 0, total: 0, message: null, images: { done: 0, total: 0, message: null }, speech: s };
  }

  /** A fake backend: `/api/events` streams what `push` sends; posts come from `posts`. */
  function backend(posts: Map<number, Post>, initial: SpeechTranscription) {
    const encoder = new TextEncoder();
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/events') {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            streams.push(c);
            init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      }
      if (url === '/api/enrichment') return json(enrichment(initial));
      const post = /^\/api\/posts\/(\d+)$/.exec(url);
      if (post && posts.has(Number(post[1]))) return json(posts.get(Number(post[1])));
      return json({ code: 'not_found', message: 'no such route' }, 404);
    });
    vi.stubGlobal('fetch', fetch);
    const push = async (s: SpeechTranscription) => {
      await act(async () => {
        streams.at(-1)!.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify({ models: [], enrichment: enrichment(s) })}\n\n`));
      });
      await settle();
      await settle();
    };
    const urls = () => fetch.mock.calls.map((c) => (c as unknown as [string])[0]);
    return { fetch, streams, push, urls };
  }

  async function cards(posts: Post[], onPostUpdated: (p: Post) => void) {
    await act(async () =>
      render(
        h(
          'div',
          null,
          posts.map((post, index) =>
            h(PostCard, {
              ...handlers,
              onPostUpdated,
              key: post.id,
              post,
              index,
              setSize: posts.length,
              tabbable: index === 0,
              collapsed: undefined,
              expanded: false,
              now: new Date('2024-01-02T00:00:00Z'),
            }),
          ),
        ),
        host,
      ),
    );
    await settle();
  }

  const waiting: Partial<Transcript> = { status: 'waiting', text: '', segments: [], model: null };

  it('share one progress stream, show the running job and fetch a post again when its transcript is done', async () => {
    const first = samplePost({ id: 1, media: [memo(waiting, 7)] });
    const second = samplePost({ id: 2, media: [memo(waiting, 8)] });
    const doneFirst = samplePost({ id: 1, media: [memo({}, 7)] });
    const server = backend(new Map([[1, doneFirst], [2, second]]), speech({ done: 0, total: 2 }));
    const onPostUpdated = vi.fn();
    await cards([first, second], onPostUpdated);
    expect(server.urls().filter((u) => u === '/api/events')).toHaveLength(1);
    expect(server.urls().filter((u) => u === '/api/enrichment')).toHaveLength(1);

    await server.push(speech({ done: 0, total: 2, current: { media_id: 7, post_id: 1, fraction: 0.5 } }));
    const card = (id: number) => host.querySelector(`[data-post-id="${id}"]`)!;
    expect(card(1).querySelector('[data-testid="transcript"]')!.getAttribute('data-status')).toBe('transcribing');
    expect(card(1).querySelector('progress')!.getAttribute('aria-valuetext')).toBe('Transcribing: 50%');
    expect(card(2).querySelector('[data-testid="transcript"]')!.getAttribute('data-status')).toBe('waiting');
    expect(server.urls().filter((u) => u.startsWith('/api/posts/'))).toEqual([]);

    // The job moved on to the second recording: the first post is fetched again and handed on.
    await server.push(speech({ done: 1, total: 2, current: { media_id: 8, post_id: 2, fraction: 0 } }));
    expect(server.urls().filter((u) => u === '/api/posts/1')).toHaveLength(1);
    expect(onPostUpdated).toHaveBeenCalledWith(doneFirst);
  });

  it('fetch a waiting post again when a recording finished unseen', async () => {
    const first = samplePost({ id: 1, media: [memo(waiting, 7)] });
    const doneFirst = samplePost({ id: 1, media: [memo({}, 7)] });
    const server = backend(new Map([[1, doneFirst]]), speech({ done: 0, total: 1 }));
    const onPostUpdated = vi.fn();
    await cards([first], onPostUpdated);
    await server.push(speech({ done: 1, total: 1 }));
    expect(server.urls().filter((u) => u === '/api/posts/1')).toHaveLength(1);
    expect(onPostUpdated).toHaveBeenCalledWith(doneFirst);
  });

  it('do not listen when no transcript is on its way, and stop listening when they go', async () => {
    const server = backend(new Map(), speech());
    await cards([samplePost({ id: 1, media: [memo({}, 7)] }), samplePost({ id: 2 })], vi.fn());
    expect(server.fetch).not.toHaveBeenCalled();

    await cards([samplePost({ id: 3, media: [memo(waiting, 9)] })], vi.fn());
    expect(server.urls()).toContain('/api/events');
    const init = (server.fetch.mock.calls.find((c) => (c as unknown as [string])[0] === '/api/events') as unknown as [string, RequestInit])[1];
    expect(init.signal!.aborted).toBe(false);
    await act(async () => render(null, host));
    expect(init.signal!.aborted).toBe(true);
  });
});
