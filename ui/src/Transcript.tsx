// The transcript under an audio attachment's player: where its transcription stands (waiting, a
// progress bar with Cancel, the failure with "Try again", cancelled with "Transcribe"), and once
// done the segments, each a button that plays the recording from its start, the one playing
// marked; always introduced as machine-generated, with the model that wrote it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api';
import type { Media, Post, SpeechJob, TranscriptSegment } from './types';
import {
  activeSegment,
  collapsedCount,
  isLongTranscript,
  percent,
  segmentTime,
  transcribedBy,
  transcribingText,
} from './transcription';

export type TranscriptProps = {
  media: Media;
  /** The transcription running now when it is this attachment's (from the pushed progress). */
  job: SpeechJob | null;
  /** Why transcription waits, in plain words, when it does. */
  waitingReason: string | null;
  /** Where the card's player is, in seconds; null before it has played. */
  time: number | null;
  /** Plays the card's recording from `seconds`; null when the player cannot play it. */
  seek: ((seconds: number) => void) | null;
  /** Called with the post the backend returned after Cancel, Try again or Transcribe. */
  onPostUpdated?: (post: Post) => void;
};

/**
 * Why a recording waits, for its card: a missing speech model is pointed at Settings (the
 * backend's own words name the command-line fix, which suits a terminal, not a card).
 */
export function waitingReasonText(message: string): string {
  const text = message.trim().replace(/^transcription waits:\s*/i, '');
  if (/hearth models fetch|not installed|not downloaded|is missing/i.test(text)) {
    return 'The speech model is not downloaded yet: download it in Settings → Models.';
  }
  return sentence(text);
}

/** "a plain phrase" -> "A plain phrase." */
function sentence(text: string): string {
  const t = text.trim();
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}

export function TranscriptView({ media, job, waitingReason, time, seek, onPostUpdated }: TranscriptProps) {
  const transcript = media.transcript ?? null;
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  // After Cancel / Try again the button pressed is gone: focus goes to what replaced it.
  const refocus = useRef(false);

  // The backend may not have noticed yet that the job it runs is this one.
  const status = transcript?.status === 'waiting' && job ? 'transcribing' : transcript?.status;

  useEffect(() => {
    if (!refocus.current) return;
    refocus.current = false;
    const target = box.current?.querySelector<HTMLElement>('[data-transcript-action]') ?? box.current;
    target?.focus();
  }, [status]);

  if (!transcript || !status) return null;

  const act = async (request: (mediaId: number) => Promise<Post>) => {
    setBusy(true);
    setActionError(null);
    try {
      const post = await request(media.id);
      refocus.current = true;
      onPostUpdated?.(post);
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : 'Something went wrong.');
    } finally {
      setBusy(false);
    }
  };

  const labelId = `media-${media.id}-transcript-state`;
  let body;
  switch (status) {
    case 'waiting':
      body = (
        <>
          <p class="transcript-state muted">Waiting to be transcribed</p>
          {waitingReason?.trim() && <p class="transcript-reason muted small">{waitingReasonText(waitingReason)}</p>}
        </>
      );
      break;
    case 'transcribing': {
      const fraction = job ? job.fraction : null;
      body = (
        <div class="transcript-progress">
          <span id={labelId} class="transcript-state">
            Transcribing…{fraction != null && <span class="muted"> {percent(fraction)}%</span>}
          </span>
          {/* Keyed so that going back to indeterminate drops the value attribute. */}
          {fraction != null ? (
            <progress key="d" aria-labelledby={labelId} aria-valuetext={transcribingText(fraction)} max={1} value={Math.max(0, Math.min(1, fraction))} />
          ) : (
            <progress key="i" aria-labelledby={labelId} aria-valuetext={transcribingText(null)} />
          )}
          <button
            type="button"
            class="btn small"
            data-testid="transcript-cancel"
            data-transcript-action
            aria-label="Cancel transcription"
            disabled={busy}
            onClick={() => void act(api.cancelTranscription)}
          >
            Cancel
          </button>
        </div>
      );
      break;
    }
    case 'failed':
      body = (
        <div class="transcript-line">
          <p class="transcript-state transcript-failed">
            Transcription failed{transcript.error?.trim() ? `: ${sentence(transcript.error)}` : '.'}
          </p>
          <button
            type="button"
            class="btn small"
            data-testid="transcript-retry"
            data-transcript-action
            aria-label="Try transcribing again"
            disabled={busy}
            onClick={() => void act(api.retryTranscription)}
          >
            Try again
          </button>
        </div>
      );
      break;
    case 'cancelled':
      body = (
        <div class="transcript-line">
          <p class="transcript-state muted">Transcription cancelled</p>
          <button
            type="button"
            class="btn small"
            data-testid="transcript-retry"
            data-transcript-action
            disabled={busy}
            onClick={() => void act(api.retryTranscription)}
          >
            Transcribe
          </button>
        </div>
      );
      break;
    case 'done':
      body = <TranscriptText mediaId={media.id} text={transcript.text} segments={transcript.segments ?? []} model={transcript.model} time={time} seek={seek} />;
      break;
    default:
      return null;
  }

  return (
    <div class={`transcript transcript-${status}`} data-testid="transcript" data-status={status} ref={box} tabIndex={-1}>
      {body}
      {actionError && (
        <p class="inline-error" role="alert">
          {actionError}
        </p>
      )}
    </div>
  );
}

type TextProps = {
  mediaId: number;
  text: string;
  segments: TranscriptSegment[];
  model: string | null;
  time: number | null;
  seek: ((seconds: number) => void) | null;
};

/** A finished transcript: the machine-generated note, then the segments (collapsed when long). */
function TranscriptText({ mediaId, text, segments, model, time, seek }: TextProps) {
  const [expanded, setExpanded] = useState(false);
  const noteId = `media-${mediaId}-transcript-note`;
  const listId = `media-${mediaId}-transcript-segments`;
  const long = isLongTranscript(segments);
  const shown = long && !expanded ? segments.slice(0, Math.max(1, collapsedCount(segments))) : segments;
  const playing = activeSegment(segments, time);

  const note = (
    <p class="transcript-note" id={noteId} data-testid="transcript-note">
      <span class="machine-label">Machine-generated transcript.</span> {transcribedBy(model)}
    </p>
  );
  if (segments.length === 0) {
    return (
      <>
        {note}
        {text.trim() ? (
          <p class="transcript-plain" aria-describedby={noteId}>
            {text.trim()}
          </p>
        ) : (
          <p class="muted small">No speech was heard.</p>
        )}
      </>
    );
  }

  return (
    <>
      {note}
      <ol
        id={listId}
        class={'transcript-segments' + (long && !expanded ? ' collapsed' : '')}
        aria-labelledby={noteId}
      >
        {shown.map((segment, i) => {
          const words = (
            <>
              <span class="sr-only">Play from </span>
              <span class="segment-time">{segmentTime(segment.start)}</span>{' '}
              <span class="segment-text">{segment.text.trim()}</span>
            </>
          );
          return (
            <li key={i}>
              {seek ? (
                <button
                  type="button"
                  class="transcript-segment"
                  data-testid="transcript-segment"
                  data-start={String(segment.start)}
                  aria-current={playing === i ? 'true' : undefined}
                  onClick={() => seek(segment.start)}
                >
                  {words}
                </button>
              ) : (
                <span class="transcript-segment" data-testid="transcript-segment" data-start={String(segment.start)}>
                  <span class="segment-time">{segmentTime(segment.start)}</span>{' '}
                  <span class="segment-text">{segment.text.trim()}</span>
                </span>
              )}
            </li>
          );
        })}
      </ol>
      {long && (
        <button
          type="button"
          class="link-btn transcript-toggle"
          data-testid="transcript-toggle"
          aria-expanded={expanded}
          aria-controls={listId}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded ? 'Show less of the transcript' : 'Show full transcript'}
        </button>
      )}
    </>
  );
}
