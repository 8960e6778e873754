// Voice memos: recording from the microphone through the Web Audio API (an AudioWorklet, else a
// ScriptProcessorNode) down to a 16 kHz WAV file, the 10-minute limit, letting go of the
// microphone, and the composer's recorder: Record, the recording panel, Stop, Discard, the memo
// attached and posted like an audio file, and plain errors when there is no microphone to use.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { json, samplePost, settle, useHost } from './test-support';
import {
  Downsampler,
  MAX_RECORDING_SECONDS,
  recordingErrorMessage,
  RecordingError,
  startRecording,
  voiceMemoFileName,
  type AudioEnvironment,
} from './recorder';
import { Compose } from './Compose';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

// ---- a fake microphone and Web Audio -----------------------------------------------------------

type FakeNode = { connect: ReturnType<typeof vi.fn>; disconnect: ReturnType<typeof vi.fn> };
const fakeNode = (): FakeNode => ({ connect: vi.fn(), disconnect: vi.fn() });

/** A microphone stream whose one track can be stopped. */
function microphone() {
  const track = { stop: vi.fn() };
  const stream = { getTracks: () => [track] } as unknown as MediaStream;
  return { track, stream, getUserMedia: vi.fn(async () => stream) };
}

type ScriptNode = FakeNode & { onaudioprocess: ((e: { inputBuffer: { getChannelData(c: number): Float32Array } }) => void) | null };

/** An AudioContext class at `sampleRate`, with an AudioWorklet when `worklet` says how addModule answers. */
function audioContext(sampleRate: number, worklet?: 'loads' | 'fails') {
  const made: FakeContext[] = [];
  class FakeContext {
    sampleRate = sampleRate;
    state = 'running';
    destination = fakeNode();
    closed = false;
    modules: string[] = [];
    processor: ScriptNode | null = null;
    audioWorklet = worklet
      ? {
          addModule: async (url: string) => {
            this.modules.push(url);
            if (worklet === 'fails') throw new DOMException('refused by the Content-Security-Policy', 'AbortError');
          },
        }
      : undefined;
    constructor() {
      made.push(this);
    }
    createMediaStreamSource() {
      return fakeNode();
    }
    createGain() {
      return { ...fakeNode(), gain: { value: 1 } };
    }
    createScriptProcessor() {
      this.processor = { ...fakeNode(), onaudioprocess: null };
      return this.processor;
    }
    async resume() {}
    async close() {
      this.closed = true;
    }
  }
  return { Context: FakeContext as unknown as typeof AudioContext, made };
}

/** An AudioWorkletNode class whose port answers "flush" with `{ flushed: true }`. */
function workletNode() {
  const made: { options: AudioWorkletNodeOptions; name: string; port: { onmessage: ((e: { data: unknown }) => void) | null; posted: unknown[] } }[] = [];
  class FakeWorkletNode {
    connect = vi.fn();
    disconnect = vi.fn();
    port: { onmessage: ((e: { data: unknown }) => void) | null; posted: unknown[]; postMessage: (m: unknown) => void };
    constructor(_context: unknown, name: string, options: AudioWorkletNodeOptions) {
      const port = {
        onmessage: null as ((e: { data: unknown }) => void) | null,
        posted: [] as unknown[],
        postMessage: (m: unknown) => {
          port.posted.push(m);
          if (m === 'flush') setTimeout(() => port.onmessage?.({ data: { flushed: true } }), 0);
        },
      };
      this.port = port;
      made.push({ options, name, port });
    }
  }
  return { Node: FakeWorkletNode as unknown as typeof AudioWorkletNode, made };
}

/** `seconds` of a constant `value` at `rate`, in blocks of 4096. */
function blocks(seconds: number, rate: number, value = 0.5): Float32Array[] {
  const out: Float32Array[] = [];
  for (let left = Math.round(seconds * rate); left > 0; left -= 4096) out.push(new Float32Array(Math.min(4096, left)).fill(value));
  return out;
}

function feed(processor: ScriptNode | null, data: Float32Array[]) {
  for (const d of data) processor!.onaudioprocess!({ inputBuffer: { getChannelData: () => d } });
}

function wavInfo(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    riff: String.fromCharCode(...bytes.subarray(0, 4)),
    rate: view.getUint32(24, true),
    samples: view.getUint32(40, true) / 2,
    first: bytes.length > 44 ? view.getInt16(44, true) : null,
  };
}

// ---- recording ---------------------------------------------------------------------------------

describe('Downsampler', () => {
  it('averages 48 kHz down to 16 kHz, wherever the blocks split', () => {
    const input = Float32Array.from({ length: 48 }, (_, i) => i);
    const whole = new Downsampler(48_000, 16_000);
    whole.push(input);
    expect(whole.rate).toBe(16_000);
    expect([...whole.samples()]).toEqual(Array.from({ length: 16 }, (_, i) => 3 * i + 1));
    for (const cut of [1, 2, 5, 47]) {
      const split = new Downsampler(48_000, 16_000);
      split.push(input.subarray(0, cut));
      split.push(input.subarray(cut));
      expect([...split.samples()], `cut at ${cut}`).toEqual([...whole.samples()]);
    }
  });

  it('handles rates that do not divide, and keeps lower rates as they are', () => {
    const cd = new Downsampler(44_100, 16_000);
    for (const b of blocks(2, 44_100)) cd.push(b);
    expect(Math.abs(cd.length - 32_000)).toBeLessThanOrEqual(1);
    expect(cd.samples().every((s) => Math.abs(s - 0.5) < 1e-6)).toBe(true);

    const phone = new Downsampler(8000, 16_000);
    phone.push(new Float32Array([0.1, 0.2, 0.3]));
    expect(phone.rate).toBe(8000);
    expect([...phone.samples()].map((s) => Math.round(s * 10) / 10)).toEqual([0.1, 0.2, 0.3]);
  });

  it('stops taking samples at its limit', () => {
    const capped = new Downsampler(16_000, 16_000, 10);
    capped.push(new Float32Array(25).fill(0.25));
    expect(capped.length).toBe(10);
    expect(capped.full).toBe(true);
  });
});

describe('startRecording', () => {
  it('says when recording is not available here', async () => {
    await expect(startRecording({}, {})).rejects.toBeInstanceOf(RecordingError);
    await expect(startRecording({}, { mediaDevices: microphone() })).rejects.toThrow('Recording is not available here.');
  });

  it('passes on what the microphone refused, in plain words', async () => {
    const { Context } = audioContext(48_000);
    const denied = { getUserMedia: vi.fn(async () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))) };
    const err = await startRecording({}, { mediaDevices: denied, AudioContext: Context }).catch((e) => e);
    expect(recordingErrorMessage(err)).toBe('Hearth is not allowed to use the microphone. Allow microphone access and try again.');
    expect(recordingErrorMessage(new DOMException('', 'NotFoundError'))).toBe('No microphone was found. Connect one and try again.');
    expect(recordingErrorMessage(new DOMException('', 'NotReadableError'))).toBe('The microphone could not be started. Another app may be using it.');
    expect(recordingErrorMessage(new Error('odd'))).toBe('The microphone could not be started.');
  });

  it('captures with a ScriptProcessorNode where there is no AudioWorklet, as a 16 kHz WAV', async () => {
    const mic = microphone();
    const { Context, made } = audioContext(48_000);
    const recording = await startRecording({}, { mediaDevices: mic, AudioContext: Context });
    expect(recording.capture).toBe('script-processor');
    expect(mic.getUserMedia).toHaveBeenCalledWith({ audio: expect.objectContaining({ channelCount: { ideal: 1 } }) });
    feed(made[0].processor, blocks(1, 48_000));
    expect(recording.seconds()).toBeCloseTo(1);
    const memo = await recording.stop();
    expect(memo.sampleRate).toBe(16_000);
    expect(memo.seconds).toBeCloseTo(1);
    expect(memo.capped).toBe(false);
    expect(wavInfo(memo.wav)).toEqual({ riff: 'RIFF', rate: 16_000, samples: 16_000, first: 16_384 });
    // The microphone is let go.
    expect(mic.track.stop).toHaveBeenCalled();
    expect(made[0].closed).toBe(true);
  });

  it('captures with the AudioWorklet when its module loads, and takes its last samples on stop', async () => {
    const mic = microphone();
    const { Context, made } = audioContext(16_000, 'loads');
    const worklet = workletNode();
    const env: AudioEnvironment = { mediaDevices: mic, AudioContext: Context, AudioWorkletNode: worklet.Node };
    const recording = await startRecording({}, env);
    expect(recording.capture).toBe('worklet');
    expect(made[0].modules).toHaveLength(1);
    expect(made[0].modules[0]).toContain('capture-worklet');
    const [node] = worklet.made;
    expect(node.name).toBe('hearth-capture');
    expect(node.options).toMatchObject({ channelCount: 1, channelCountMode: 'explicit' });
    expect(made[0].processor).toBeNull();

    for (const samples of blocks(0.5, 16_000)) node.port.onmessage!({ data: { samples } });
    const stopped = recording.stop();
    // What the worklet still held arrives before its answer to "flush".
    node.port.onmessage!({ data: { samples: new Float32Array(8000).fill(0.5) } });
    const memo = await stopped;
    expect(node.port.posted).toEqual(['flush']);
    expect(wavInfo(memo.wav).samples).toBe(16_000);
    expect(mic.track.stop).toHaveBeenCalled();
  });

  it('falls back to the ScriptProcessorNode when the worklet cannot load', async () => {
    const { Context, made } = audioContext(48_000, 'fails');
    const recording = await startRecording({}, { mediaDevices: microphone(), AudioContext: Context, AudioWorkletNode: workletNode().Node });
    expect(recording.capture).toBe('script-processor');
    expect(made[0].processor).not.toBeNull();
    recording.discard();
  });

  it('stops taking samples at the limit and says so once', async () => {
    const { Context, made } = audioContext(16_000);
    const onLimit = vi.fn();
    const recording = await startRecording({ onLimit, maxSeconds: 1 }, { mediaDevices: microphone(), AudioContext: Context });
    feed(made[0].processor, blocks(1.5, 16_000));
    expect(onLimit).toHaveBeenCalledTimes(1);
    const memo = await recording.stop();
    expect(memo.capped).toBe(true);
    expect(wavInfo(memo.wav).samples).toBe(16_000);
  });

  it('keeps nothing and lets go of the microphone when discarded', async () => {
    const mic = microphone();
    const { Context, made } = audioContext(48_000);
    const recording = await startRecording({}, { mediaDevices: mic, AudioContext: Context });
    recording.discard();
    expect(mic.track.stop).toHaveBeenCalled();
    expect(made[0].closed).toBe(true);
  });

  it('names memos after when they were recorded', () => {
    expect(voiceMemoFileName(new Date(2024, 5, 14, 9, 5))).toBe('voice-memo-2024-06-14-0905.wav');
    expect(voiceMemoFileName(new Date(2025, 11, 31, 23, 59))).toBe('voice-memo-2025-12-31-2359.wav');
  });
});

// ---- the composer --------------------------------------------------------------------------------

describe('Compose voice memo', () => {
  let mic: ReturnType<typeof microphone>;
  let contexts: ReturnType<typeof audioContext>;

  /** The browser as the composer sees it: a microphone (or what getUserMedia throws) and Web Audio at `rate`. */
  function browser({ rate = 48_000, refuse }: { rate?: number; refuse?: string } = {}) {
    mic = microphone();
    if (refuse) mic.getUserMedia.mockImplementation(async () => Promise.reject(new DOMException('no', refuse)));
    Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia: mic.getUserMedia }, configurable: true });
    contexts = audioContext(rate);
    vi.stubGlobal('AudioContext', contexts.Context);
    vi.stubGlobal('AudioWorkletNode', undefined);
  }
  afterEach(() => {
    delete (navigator as unknown as Record<string, unknown>).mediaDevices;
  });

  function backend() {
    const fetch = vi.fn(async (url: string, _init?: RequestInit) =>
      url === '/api/posts' ? json(samplePost({ id: 9 }), 201) : json({ code: 'not_found', message: 'no' }, 404),
    );
    vi.stubGlobal('fetch', fetch);
    return () => fetch.mock.calls.filter((c) => c[0] === '/api/posts').map((c) => JSON.parse(String(c[1]!.body)));
  }

  async function mount(props: { open?: boolean; onClose?: () => void; onPosted?: () => void } = {}) {
    await act(async () => render(h(Compose, { open: true, onClose: () => {}, onPosted: () => {}, ...props }), host));
  }

  const q = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  const click = async (id: string) => {
    await act(async () => (q(id) as HTMLButtonElement).click());
    await settle();
  };

  async function record() {
    await click('voice-memo-record');
    await settle();
    expect(q('voice-recording')?.getAttribute('data-state')).toBe('recording');
  }

  it('records, shows the time, and attaches the memo as a WAV that posts like an audio file', async () => {
    browser();
    const posts = backend();
    await mount();
    const button = q('voice-memo-record') as HTMLButtonElement;
    expect(button.getAttribute('aria-label')).toBe('Record voice memo');
    expect(button.textContent).toBe(' Voice memo');
    await record();

    const panel = q('voice-recording')!;
    expect(panel.getAttribute('role')).toBe('group');
    expect(panel.textContent).toContain('Recording');
    expect(panel.getAttribute('data-capture')).toBe('script-processor');
    expect(q('voice-memo-elapsed')!.textContent).toBe('0:00 / 10:00');
    expect(q('voice-memo-elapsed')!.getAttribute('role')).toBe('timer');
    expect(document.activeElement).toBe(q('voice-memo-stop'));
    expect(button.disabled).toBe(true);

    feed(contexts.made[0].processor, blocks(2, 48_000));
    await act(async () => {
      await new Promise((r) => setTimeout(r, 300));
    });
    expect(q('voice-memo-elapsed')!.textContent).toBe('0:02 / 10:00');

    await click('voice-memo-stop');
    await settle();
    expect(q('voice-recording')).toBeNull();
    expect(mic.track.stop).toHaveBeenCalled();
    const attached = q('compose-audio')!;
    expect(attached.querySelector('.file-name')!.textContent).toMatch(/^voice-memo-\d{4}-\d{2}-\d{2}-\d{4}\.wav$/);
    expect(attached.querySelector('audio')!.getAttribute('src')).toMatch(/^blob:/);
    expect(attached.querySelector('button[aria-label^="Remove audio voice-memo-"]')).not.toBeNull();
    expect(q('voice-memo-status')!.getAttribute('role')).toBe('status');
    expect(q('voice-memo-status')!.textContent).toBe('Voice memo attached (0:02).');
    expect(document.activeElement).toBe(button);

    await act(async () => {
      host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    for (let i = 0; i < 20 && posts().length === 0; i++) await settle();
    const [sent] = posts();
    expect(sent.audio.mime).toBe('audio/wav');
    expect(sent.audio.file_name).toMatch(/^voice-memo-\d{4}-\d{2}-\d{2}-\d{4}\.wav$/);
    const wav = Uint8Array.from(atob(sent.audio.data_base64), (c) => c.charCodeAt(0));
    expect(wavInfo(wav)).toMatchObject({ riff: 'RIFF', rate: 16_000, samples: 32_000 });
  });

  it('is removed like any audio attachment, and a second memo replaces the first', async () => {
    browser();
    await mount();
    await record();
    feed(contexts.made[0].processor, blocks(1, 48_000));
    await click('voice-memo-stop');
    expect(q('voice-memo-status')!.textContent).toBe('Voice memo attached (0:01).');
    await act(async () => host.querySelector<HTMLButtonElement>('button[aria-label^="Remove audio voice-memo-"]')!.click());
    expect(q('compose-audio')).toBeNull();
    expect(q('voice-memo-status')!.textContent).toBe('');

    for (const seconds of [1, 3]) {
      await record();
      feed(contexts.made.at(-1)!.processor, blocks(seconds, 48_000));
      await click('voice-memo-stop');
    }
    expect(host.querySelectorAll('[data-testid="compose-audio"]')).toHaveLength(1);
    expect(q('voice-memo-status')!.textContent).toBe('Voice memo attached (0:03).');
    expect(q('compose-audio')!.textContent).toContain('93.7 KB'); // 3 s at 16 kHz, 16-bit: 96,044 bytes
  });

  it('discards a recording, letting go of the microphone', async () => {
    browser();
    await mount();
    await record();
    feed(contexts.made[0].processor, blocks(1, 48_000));
    await click('voice-memo-discard');
    expect(q('voice-recording')).toBeNull();
    expect(q('compose-audio')).toBeNull();
    expect(mic.track.stop).toHaveBeenCalled();
    expect(contexts.made[0].closed).toBe(true);
    expect(q('voice-memo-status')!.textContent).toBe('Recording discarded.');
    expect(document.activeElement).toBe(q('voice-memo-record'));
  });

  it('stops by itself at the 10-minute limit and says so', async () => {
    browser({ rate: 4000 });
    await mount();
    await record();
    feed(contexts.made[0].processor, blocks(MAX_RECORDING_SECONDS + 5, 4000, 0.1));
    for (let i = 0; i < 10 && q('voice-recording'); i++) await settle();
    expect(q('voice-recording')).toBeNull();
    expect(q('voice-memo-status')!.textContent).toBe('Recording stopped at the 10-minute limit. The voice memo (10:00) is attached.');
    expect(q('compose-audio')).not.toBeNull();
    expect(mic.track.stop).toHaveBeenCalled();
  });

  it('explains a refused microphone inline', async () => {
    browser({ refuse: 'NotAllowedError' });
    await mount();
    await click('voice-memo-record');
    const error = q('voice-memo-error')!;
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe('Hearth is not allowed to use the microphone. Allow microphone access and try again.');
    expect(q('voice-recording')).toBeNull();
    const button = q('voice-memo-record') as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.getAttribute('aria-describedby')).toBe('voice-memo-error');
  });

  it('explains a missing microphone, and a browser without one', async () => {
    browser({ refuse: 'NotFoundError' });
    await mount();
    await click('voice-memo-record');
    expect(q('voice-memo-error')!.textContent).toBe('No microphone was found. Connect one and try again.');

    render(null, host);
    delete (navigator as unknown as Record<string, unknown>).mediaDevices;
    await mount();
    await click('voice-memo-record');
    expect(q('voice-memo-error')!.textContent).toBe('Recording is not available here.');
  });

  it('keeps the recording on Escape and asks for it to be stopped before posting', async () => {
    browser();
    const posts = backend();
    const onClose = vi.fn();
    await mount({ onClose });
    await act(async () => {
      const text = host.querySelector<HTMLTextAreaElement>('[data-testid="compose-text"]')!;
      text.value = 'Listen to this';
      text.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await record();
    const cancel = new Event('cancel', { cancelable: true });
    await act(async () => {
      host.querySelector('dialog')!.dispatchEvent(cancel);
    });
    expect(cancel.defaultPrevented).toBe(true);
    expect(onClose).not.toHaveBeenCalled();

    await act(async () => {
      host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    expect(host.querySelector('.send-error')!.textContent).toBe('Stop or discard the recording first.');
    expect(posts()).toEqual([]);
    expect(q('voice-recording')).not.toBeNull();
  });

  it('lets go of the microphone when the composer closes', async () => {
    browser();
    await mount();
    await record();
    await mount({ open: false });
    expect(mic.track.stop).toHaveBeenCalled();
    expect(q('voice-recording')).toBeNull();
  });
});
