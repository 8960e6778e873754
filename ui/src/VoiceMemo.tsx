// Recording a voice memo in the composer: the "Record voice memo" button, the recording panel
// (elapsed time, Stop, Discard), the error when the microphone cannot be used, and a status line
// read out when a memo is attached or discarded. The recording itself is recorder.ts's; the
// composer gets the finished WAV as a File and attaches it like an audio file chosen from disk.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Ref } from 'preact';
import {
  MAX_RECORDING_SECONDS,
  recordingErrorMessage,
  startRecording,
  voiceMemoFileName,
  type RecordedMemo,
  type Recording,
} from './recorder';
import { formatDuration } from './format';
import { segmentTime } from './transcription';
import * as I from './icons';

export type VoiceMemoState = 'idle' | 'starting' | 'recording' | 'saving';

export type VoiceMemo = {
  state: VoiceMemoState;
  /** Seconds recorded so far. */
  seconds: number;
  /** How the recording running now captures its samples (null when none is). */
  capture: Recording['capture'] | null;
  error: string | null;
  /** The last thing that happened ("Voice memo attached (0:12)."), for the status line. */
  note: string;
  start: () => void;
  stop: () => void;
  /** Throws the recording away; `quietly` leaves the status line as it is (the composer closing). */
  discard: (quietly?: boolean) => void;
  /** Forgets the error and the status line (a new draft). */
  clear: () => void;
  recordButton: Ref<HTMLButtonElement>;
  stopButton: Ref<HTMLButtonElement>;
};

/** How often the elapsed time is read while recording. */
const TICK_MS = 250;

/**
 * The voice memo recorder's state and actions. `onRecorded` gets each finished memo as a WAV
 * File named after when recording started. `start` is recorder.ts's (the tests pass a fake).
 */
export function useVoiceMemo(onRecorded: (file: File, memo: RecordedMemo) => void, start: typeof startRecording = startRecording): VoiceMemo {
  const [state, setState] = useState<VoiceMemoState>('idle');
  const [seconds, setSeconds] = useState(0);
  const [capture, setCapture] = useState<Recording['capture'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const recording = useRef<Recording | null>(null);
  // Bumped by every start and discard: a recording that starts after it was discarded is let go.
  const attempt = useRef(0);
  const startedAt = useRef(new Date());
  const limitReached = useRef(false);
  const recordButton = useRef<HTMLButtonElement>(null);
  const stopButton = useRef<HTMLButtonElement>(null);
  const previous = useRef<VoiceMemoState>('idle');
  const recorded = useRef(onRecorded);
  recorded.current = onRecorded;

  const finish = async () => {
    const r = recording.current;
    if (!r) return;
    recording.current = null;
    const run = attempt.current;
    setState('saving');
    try {
      const memo = await r.stop();
      if (run !== attempt.current) return;
      const file = new File([memo.wav], voiceMemoFileName(startedAt.current), { type: 'audio/wav' });
      recorded.current(file, memo);
      setSeconds(memo.seconds);
      // As the attached file's length is shown (rounded), not as the running timer (rounded down).
      const length = formatDuration(memo.seconds * 1000);
      setNote(
        memo.capped
          ? `Recording stopped at the ${MAX_RECORDING_SECONDS / 60}-minute limit. The voice memo (${length}) is attached.`
          : `Voice memo attached (${length}).`,
      );
    } catch {
      if (run === attempt.current) setError('The recording could not be saved.');
    } finally {
      if (run === attempt.current) setState('idle');
    }
  };

  const begin = async () => {
    if (state !== 'idle') return;
    const run = ++attempt.current;
    limitReached.current = false;
    startedAt.current = new Date();
    setError(null);
    setNote('');
    setSeconds(0);
    setState('starting');
    try {
      const r = await start({
        onLimit: () => {
          if (run !== attempt.current) return;
          limitReached.current = true;
          if (recording.current) void finish();
        },
      });
      if (run !== attempt.current) {
        r.discard();
        return;
      }
      recording.current = r;
      setCapture(r.capture);
      setState('recording');
      if (limitReached.current) void finish();
    } catch (e) {
      if (run !== attempt.current) return;
      setError(recordingErrorMessage(e));
      setState('idle');
    }
  };

  const discard = (quietly = false) => {
    const active = state !== 'idle' || recording.current !== null;
    attempt.current++;
    recording.current?.discard();
    recording.current = null;
    setState('idle');
    setSeconds(0);
    if (!quietly && active) setNote('Recording discarded.');
  };

  // The elapsed time, while recording.
  useEffect(() => {
    if (state !== 'recording') return;
    const timer = setInterval(() => setSeconds(recording.current?.seconds() ?? 0), TICK_MS);
    return () => clearInterval(timer);
  }, [state]);

  // Focus follows the controls: to Stop once recording, back to the record button afterwards.
  useEffect(() => {
    const was = previous.current;
    previous.current = state;
    if (state === 'recording') stopButton.current?.focus();
    else if (state === 'idle' && was !== 'idle') recordButton.current?.focus();
  }, [state]);

  // Closing the composer (unmounting) lets go of the microphone.
  useEffect(
    () => () => {
      attempt.current++;
      recording.current?.discard();
      recording.current = null;
    },
    [],
  );

  return {
    state,
    seconds,
    capture: state === 'idle' ? null : capture,
    error,
    note,
    start: () => void begin(),
    stop: () => void finish(),
    discard,
    clear: () => {
      setError(null);
      setNote('');
    },
    recordButton,
    stopButton,
  };
}

/** The composer's "Record voice memo" button. */
export function VoiceMemoButton({ memo, disabled }: { memo: VoiceMemo; disabled: boolean }) {
  return (
    <button
      ref={memo.recordButton}
      type="button"
      class="btn ghost"
      data-testid="voice-memo-record"
      aria-label="Record voice memo"
      aria-describedby={memo.error ? 'voice-memo-error' : undefined}
      onClick={memo.start}
      disabled={disabled || memo.state !== 'idle'}
    >
      <I.Mic size={16} /> Voice memo
    </button>
  );
}

/** While recording: what is happening, for how long, Stop and Discard. Always: the error and the status line. */
export function VoiceMemoPanel({ memo }: { memo: VoiceMemo }) {
  const { state } = memo;
  return (
    <>
      {state !== 'idle' && (
        <div class="recording" role="group" aria-labelledby="voice-memo-title" data-testid="voice-recording" data-state={state} data-capture={memo.capture ?? undefined}>
          <span class={'rec-dot' + (state === 'recording' ? ' live' : '')} aria-hidden="true" />
          <span id="voice-memo-title" class="rec-title">
            {state === 'starting' ? 'Starting the microphone…' : state === 'saving' ? 'Saving the voice memo…' : 'Recording'}
          </span>
          {state !== 'starting' && (
            <span class="rec-time" role="timer" data-testid="voice-memo-elapsed">
              {segmentTime(memo.seconds)}
              <span class="muted"> / {segmentTime(MAX_RECORDING_SECONDS)}</span>
            </span>
          )}
          <span class="spacer" />
          <button type="button" class="btn small" data-testid="voice-memo-discard" onClick={() => memo.discard()} disabled={state === 'saving'}>
            Discard
          </button>
          <button
            ref={memo.stopButton}
            type="button"
            class="btn small primary"
            data-testid="voice-memo-stop"
            aria-label="Stop recording"
            onClick={memo.stop}
            disabled={state !== 'recording'}
          >
            <I.Stop size={12} /> Stop
          </button>
        </div>
      )}
      {memo.error && (
        <p id="voice-memo-error" class="field-error" role="alert" data-testid="voice-memo-error">
          {memo.error}
        </p>
      )}
      {/* A live region: always there, so what it says next is read out. */}
      <p class="voice-memo-note muted small" role="status" data-testid="voice-memo-status">
        {memo.note}
      </p>
    </>
  );
}
