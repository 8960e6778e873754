// Transcripts of audio attachments: the words for their models and progress, segment times,
// which segment is playing, when a card should fetch its post again, and one shared
// subscription to the speech progress the backend pushes, which every card waiting for a
// transcript listens through (one event stream, however many cards there are).
import { useEffect, useState } from 'preact/hooks';
import { api, onProgress } from './api';
import type { SpeechTranscription, Transcript, TranscriptSegment } from './types';

/** Whether a transcript is still to come (waiting or being transcribed). */
export function isPending(t: Transcript | null | undefined): boolean {
  return t?.status === 'waiting' || t?.status === 'transcribing';
}

const MODEL_NAMES: Record<string, string> = {
  'whisper-tiny-en': 'Whisper tiny.en',
  'whisper-base-en': 'Whisper base.en',
  'whisper-small-en': 'Whisper small.en',
};

/** A speech model's name from its catalog id: "whisper-tiny-en" -> "Whisper tiny.en"; other ids as they are. */
export function speechModelName(id: string | null | undefined): string | null {
  const key = id?.trim();
  if (!key) return null;
  if (MODEL_NAMES[key]) return MODEL_NAMES[key];
  const whisper = /^whisper-([a-z0-9]+(?:-v\d+)?)(-en)?$/i.exec(key);
  return whisper ? `Whisper ${whisper[1]}${whisper[2] ? '.en' : ''}` : key;
}

/** "Transcribed on this device by Whisper tiny.en" (without the model when it is not known). */
export function transcribedBy(model: string | null | undefined): string {
  const name = speechModelName(model);
  return name ? `Transcribed on this device by ${name}` : 'Transcribed on this device';
}

/** Seconds from the start as "m:ss" ("h:mm:ss" from an hour), rounded down. */
export function segmentTime(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The accessible value of a transcription's progress bar: "Transcribing: 40%", or "Transcribing" when unknown. */
export function transcribingText(fraction: number | null | undefined): string {
  return fraction == null || !Number.isFinite(fraction) ? 'Transcribing' : `Transcribing: ${percent(fraction)}%`;
}

/** A fraction 0..1 as a whole percentage, clamped. */
export function percent(fraction: number): number {
  return Math.round(Math.max(0, Math.min(1, fraction)) * 100);
}

/** The segment playing at `time` seconds (start ≤ time < end), or -1 in a pause or outside. */
export function activeSegment(segments: TranscriptSegment[], time: number | null | undefined): number {
  if (time == null || !Number.isFinite(time)) return -1;
  for (let i = segments.length - 1; i >= 0; i--) {
    if (segments[i].start <= time) return time < segments[i].end ? i : -1;
  }
  return -1;
}

/** About three lines of transcript: longer ones are shown collapsed. */
const COLLAPSED_SEGMENTS = 3;
const COLLAPSED_CHARS = 240;

/**
 * How many segments a collapsed transcript shows (about three lines' worth, at least one), or
 * `segments.length` when the transcript is short enough to show whole.
 */
export function collapsedCount(segments: TranscriptSegment[]): number {
  let chars = 0;
  for (let i = 0; i < segments.length; i++) {
    chars += segments[i].text.trim().length;
    if (i >= COLLAPSED_SEGMENTS || (chars > COLLAPSED_CHARS && i > 0)) return i;
  }
  return segments.length;
}

/** Whether the transcript is long enough to collapse (a single long segment is clamped by CSS). */
export function isLongTranscript(segments: TranscriptSegment[]): boolean {
  return collapsedCount(segments) < segments.length || (segments.length === 1 && segments[0].text.length > COLLAPSED_CHARS);
}

/**
 * Whether a card waiting for the transcripts of `mediaIds` should fetch its post again after the
 * speech progress moved from `before` to `after`: the job running on one of them moved off it
 * (it finished, failed or was cancelled), or another recording was finished meanwhile (a job too
 * quick to be seen running).
 */
export function transcriptMayHaveChanged(
  before: SpeechTranscription | null,
  after: SpeechTranscription | null,
  mediaIds: readonly number[],
): boolean {
  if (!before || !after || mediaIds.length === 0) return false;
  const was = before.current?.media_id;
  if (was != null && mediaIds.includes(was) && after.current?.media_id !== was) return true;
  return after.done > before.done;
}

type SpeechListener = (speech: SpeechTranscription | null) => void;

/**
 * The speech progress, shared: the first listener starts one `onProgress` subscription (and asks
 * for the current state, which the desktop app does not push on subscribing); the last one to
 * leave stops it. Listeners get null until the first state arrives.
 */
export class SharedSpeechProgress {
  private listeners = new Set<SpeechListener>();
  private latest: SpeechTranscription | null = null;
  private stopListening: (() => void) | null = null;
  private run = 0;

  get current(): SpeechTranscription | null {
    return this.latest;
  }

  subscribe(listener: SpeechListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      this.run++;
      this.stopListening?.();
      this.stopListening = null;
      this.latest = null;
    };
  }

  private start() {
    const run = ++this.run;
    let pushed = false;
    this.stopListening = onProgress(
      (p) => {
        pushed = true;
        this.publish(p.enrichment?.speech ?? null);
      },
      // Cards keep what they show; Settings → Models says when the progress cannot be read.
      () => {},
    );
    api.enrichmentStatus().then(
      (status) => {
        // A state pushed meanwhile is newer than this reply.
        if (run === this.run && !pushed) this.publish(status.speech ?? null);
      },
      () => {},
    );
  }

  private publish(speech: SpeechTranscription | null) {
    this.latest = speech;
    for (const listener of [...this.listeners]) listener(speech);
  }
}

/** The one shared subscription the post cards use. */
export const speechProgress = new SharedSpeechProgress();

/** The latest speech progress while `enabled` (null otherwise, and until it arrives). */
export function useSpeechProgress(enabled: boolean, shared: SharedSpeechProgress = speechProgress): SpeechTranscription | null {
  const [speech, setSpeech] = useState<SpeechTranscription | null>(null);
  useEffect(() => {
    if (!enabled) {
      setSpeech(null);
      return;
    }
    const unsubscribe = shared.subscribe(setSpeech);
    setSpeech(shared.current);
    return unsubscribe;
  }, [enabled, shared]);
  return enabled ? speech : null;
}
