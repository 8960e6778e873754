// Recording a voice memo from the microphone with the Web Audio API: getUserMedia → an
// AudioContext → the raw samples, captured by an AudioWorklet (capture-worklet.ts) or, where a
// worklet cannot load, a ScriptProcessorNode. The samples are brought down to 16 kHz as they
// arrive (what the speech model uses; ten minutes stay under the 25 MB audio limit) and written
// as a 16-bit mono WAV file (wav.ts).
//
// Not MediaRecorder: in Chromium it records Opus in WebM (and WebKit AAC in MP4), and the
// backend's pure-Rust decoders cannot read Opus or WebM. A WAV file is read by everything.
import workletUrl from './capture-worklet?worker&url';
import { encodeWav } from './wav';

/** A recording stops by itself after this long. */
export const MAX_RECORDING_SECONDS = 10 * 60;

/** The sample rate of a voice memo (lower only when the microphone's own rate is lower). */
export const MEMO_SAMPLE_RATE = 16_000;

export type RecordedMemo = {
  wav: Uint8Array<ArrayBuffer>;
  /** Length of the recording in seconds. */
  seconds: number;
  sampleRate: number;
  /** It reached MAX_RECORDING_SECONDS and was cut there. */
  capped: boolean;
};

export type Recording = {
  /** How the samples are captured: an AudioWorklet, or the ScriptProcessorNode fallback. */
  capture: 'worklet' | 'script-processor';
  /** Seconds recorded so far. */
  seconds(): number;
  /** Stops recording, lets go of the microphone and returns the WAV file. */
  stop(): Promise<RecordedMemo>;
  /** Stops recording and lets go of the microphone, keeping nothing. */
  discard(): void;
};

/** What recording needs from the browser (the tests pass fakes). */
export type AudioEnvironment = {
  mediaDevices?: Pick<MediaDevices, 'getUserMedia'>;
  AudioContext?: typeof AudioContext;
  AudioWorkletNode?: typeof AudioWorkletNode;
};

function browserEnvironment(): AudioEnvironment {
  const g = globalThis as typeof globalThis & { webkitAudioContext?: typeof AudioContext };
  return {
    mediaDevices: navigator.mediaDevices,
    AudioContext: g.AudioContext ?? g.webkitAudioContext,
    AudioWorkletNode: g.AudioWorkletNode,
  };
}

/** A failure to start recording, with a message to show as it is. */
export class RecordingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingError';
  }
}

/** Why the microphone could not be used, in plain words, from what getUserMedia threw. */
export function recordingErrorMessage(err: unknown): string {
  if (err instanceof RecordingError) return err.message;
  const name = err && typeof err === 'object' && 'name' in err ? String((err as { name: unknown }).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'Hearth is not allowed to use the microphone. Allow microphone access and try again.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Connect one and try again.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'The microphone could not be started. Another app may be using it.';
    default:
      return 'The microphone could not be started.';
  }
}

/** The file name of a memo recorded at `at` (local time): "voice-memo-2024-06-14-2027.wav". */
export function voiceMemoFileName(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `voice-memo-${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}-${two(at.getHours())}${two(at.getMinutes())}.wav`;
}

/**
 * Brings a stream of samples down from `inputRate` to `outputRate` as blocks arrive, each output
 * sample the mean of the input samples in its span (a box filter: enough against aliasing for
 * speech, whose energy is far below 8 kHz). With `outputRate` at or above `inputRate` the samples
 * pass through unchanged. Stops taking samples once `maxSamples` are out.
 */
export class Downsampler {
  readonly rate: number;
  private readonly step: number;
  private readonly blocks: Float32Array[] = [];
  private current = new Float32Array(16_384);
  private filled = 0;
  private total = 0;
  private sum = 0;
  private count = 0;
  private consumed = 0;
  private boundary: number;

  constructor(
    inputRate: number,
    outputRate: number,
    private readonly maxSamples = Infinity,
  ) {
    this.rate = Math.min(inputRate, outputRate);
    this.step = inputRate / this.rate;
    this.boundary = this.step;
  }

  /** Samples out so far. */
  get length(): number {
    return this.total;
  }

  get full(): boolean {
    return this.total >= this.maxSamples;
  }

  push(input: Float32Array): void {
    for (let i = 0; i < input.length && !this.full; i++) {
      this.sum += input[i];
      this.count++;
      this.consumed++;
      if (this.consumed >= this.boundary) {
        this.emit(this.sum / this.count);
        this.sum = 0;
        this.count = 0;
        this.boundary += this.step;
      }
    }
  }

  /** Every sample out so far, in one array. */
  samples(): Float32Array {
    const all = new Float32Array(this.total);
    let offset = 0;
    for (const block of [...this.blocks, this.current.subarray(0, this.filled)]) {
      all.set(block, offset);
      offset += block.length;
    }
    return all;
  }

  private emit(sample: number) {
    if (this.filled === this.current.length) {
      this.blocks.push(this.current);
      this.current = new Float32Array(this.current.length);
      this.filled = 0;
    }
    this.current[this.filled++] = sample;
    this.total++;
  }
}

/** A node that hands the samples it hears to the recording, and how to get its last ones. */
type Capture = { kind: Recording['capture']; node: AudioNode; flush: () => Promise<void> };

/** How long to wait for the worklet's last samples when stopping. */
const FLUSH_WAIT_MS = 500;

/**
 * Asks for the microphone and starts recording. `onLimit` is called once when the recording
 * reaches `maxSeconds` (nothing after that is kept): the caller then stops it. Rejects with a
 * RecordingError when recording is not possible here, or with what getUserMedia threw (see
 * `recordingErrorMessage`).
 */
export async function startRecording(
  { onLimit, maxSeconds = MAX_RECORDING_SECONDS }: { onLimit?: () => void; maxSeconds?: number } = {},
  env: AudioEnvironment = browserEnvironment(),
): Promise<Recording> {
  const { mediaDevices, AudioContext: Context } = env;
  if (!mediaDevices?.getUserMedia || !Context) throw new RecordingError('Recording is not available here.');

  const stream = await mediaDevices.getUserMedia({
    audio: { channelCount: { ideal: 1 }, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const stopTracks = () => stream.getTracks().forEach((t) => t.stop());
  let context: AudioContext;
  try {
    context = new Context();
  } catch {
    stopTracks();
    throw new RecordingError('Recording is not available here.');
  }

  const memo = new Downsampler(context.sampleRate, MEMO_SAMPLE_RATE, Math.round(maxSeconds * Math.min(context.sampleRate, MEMO_SAMPLE_RATE)));
  let limitReported = false;
  const take = (samples: Float32Array) => {
    memo.push(samples);
    if (memo.full && !limitReported) {
      limitReported = true;
      onLimit?.();
    }
  };

  let capture: Capture;
  let source: MediaStreamAudioSourceNode;
  // Silent: the capture node must be pulled by the destination to run, but nothing is heard.
  let mute: GainNode;
  try {
    source = context.createMediaStreamSource(stream);
    mute = context.createGain();
    mute.gain.value = 0;
    capture = (await workletCapture(context, env, take)) ?? scriptProcessorCapture(context, take);
    source.connect(capture.node);
    capture.node.connect(mute);
    mute.connect(context.destination);
    // A context made without a fresh user gesture may start suspended.
    if (context.state === 'suspended') await context.resume();
  } catch {
    stopTracks();
    void context.close().catch(() => {});
    throw new RecordingError('The microphone could not be started.');
  }

  let finished = false;
  const release = () => {
    finished = true;
    source.disconnect();
    capture.node.disconnect();
    mute.disconnect();
    stopTracks();
    void context.close().catch(() => {});
  };

  return {
    capture: capture.kind,
    seconds: () => memo.length / memo.rate,
    async stop() {
      if (!finished) {
        await capture.flush();
        release();
      }
      const samples = memo.samples();
      return { wav: encodeWav(samples, memo.rate), seconds: samples.length / memo.rate, sampleRate: memo.rate, capped: memo.full };
    },
    discard() {
      if (!finished) release();
    },
  };
}

/** Capture through the AudioWorklet, or null where the module cannot be loaded (old engines, a CSP). */
async function workletCapture(
  context: AudioContext,
  env: AudioEnvironment,
  take: (samples: Float32Array) => void,
): Promise<Capture | null> {
  const Node = env.AudioWorkletNode;
  if (!context.audioWorklet || !Node) return null;
  try {
    await context.audioWorklet.addModule(workletUrl);
  } catch {
    return null;
  }
  const node = new Node(context, 'hearth-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    channelCount: 1,
    channelCountMode: 'explicit',
    channelInterpretation: 'speakers',
  });
  let flushed: (() => void) | null = null;
  node.port.onmessage = (e: MessageEvent<{ samples?: Float32Array; flushed?: boolean }>) => {
    if (e.data.samples) take(e.data.samples);
    if (e.data.flushed) flushed?.();
  };
  return {
    kind: 'worklet',
    node,
    flush: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FLUSH_WAIT_MS);
        flushed = () => {
          clearTimeout(timer);
          resolve();
        };
        node.port.postMessage('flush');
      }),
  };
}

/** Capture through a ScriptProcessorNode (deprecated, but everywhere). */
function scriptProcessorCapture(context: AudioContext, take: (samples: Float32Array) => void): Capture {
  const node = context.createScriptProcessor(4096, 1, 1);
  node.onaudioprocess = (e: AudioProcessingEvent) => {
    // The engine reuses the buffer, so its samples are copied.
    take(new Float32Array(e.inputBuffer.getChannelData(0)));
  };
  return { kind: 'script-processor', node, flush: async () => {} };
}
