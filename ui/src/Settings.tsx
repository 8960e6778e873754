// Settings: the sections (accounts, subscriptions, appearance, muted, personalisation, models,
// status, shortcuts, about), each a panel with a link to it at the top.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api, ApiError, onProgress } from './api';
import type { EnrichmentStatus, ImageLabelling, ModelStatus, Mutes, SpeechTranscription, Status } from './types';
import {
  downloadError,
  downloadText,
  enrichmentText,
  imageLabellingText,
  labelledText,
  learnedText,
  sizeMB,
  speechText,
  taggedText,
  transcribedText,
} from './format';
import type { ThemeChoice } from './theme';
import { SHORTCUTS } from './keyboard';
import { SourcesSection } from './Sources';
import { AccountsSection } from './Accounts';
import * as I from './icons';

/** How each `device` setting reads in the status list. */
const DEVICE_NAMES: Record<Status['device'], string> = {
  auto: 'Automatic (a GPU when present, else the CPU)',
  cpu: 'CPU',
  cuda: 'NVIDIA GPU (CUDA)',
  metal: 'Apple GPU (Metal)',
};

type Props = {
  theme: ThemeChoice;
  onTheme: (t: ThemeChoice) => void;
  onBack: () => void;
  /** Something here changed what the feed shows (mutes, a personalisation reset). */
  onFeedChanged: () => void;
  toast: (msg: string, kind?: 'info' | 'error') => void;
};

type Section = { id: string; title: string; render: () => JSX.Element };

function errText(e: unknown): string {
  return e instanceof ApiError ? e.message : 'Something went wrong.';
}

export function ShortcutList() {
  return (
    <dl class="shortcuts">
      {SHORTCUTS.map((s) => (
        <div class="shortcut" key={s.keys}>
          <dt>
            <kbd>{s.keys}</kbd>
          </dt>
          <dd>{s.label}</dd>
        </div>
      ))}
      <div class="shortcut">
        <dt>
          <kbd>Esc</kbd>
        </dt>
        <dd>Close dialogs, leave search, settings, notifications or today’s digest</dd>
      </div>
      <div class="shortcut">
        <dt>
          <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
        </dt>
        <dd>Send the post you are writing</dd>
      </div>
    </dl>
  );
}

type PersonalisationProps = {
  /** The status Settings loaded (shared with the Status section); null until it arrives. */
  status: Status | null;
  /** Why the status could not be read (the Status section shows it too). */
  statusError: string | null;
  onRetry: () => void;
  /** Called with the status the backend returned after a reset. */
  onReset: (status: Status) => void;
};

/**
 * Settings → Personalisation: what the ranker on this device has learned, and a reset behind an
 * inline confirmation step that can also delete the interaction history.
 */
export function PersonalisationSection({ status, statusError, onRetry, onReset }: PersonalisationProps) {
  const [confirming, setConfirming] = useState(false);
  const [forget, setForget] = useState(false);
  const [resetting, setResetting] = useState(false);
  const [resetError, setResetError] = useState<string | null>(null);
  const [done, setDone] = useState('');
  const resetButton = useRef<HTMLButtonElement>(null);
  const forgetBox = useRef<HTMLInputElement>(null);
  // Focus goes back to "Reset personalisation" once the confirmation step has closed and the
  // button is enabled again (a disabled button cannot take focus).
  const refocus = useRef(false);

  useEffect(() => {
    if (confirming) forgetBox.current?.focus();
  }, [confirming]);
  useEffect(() => {
    if (refocus.current && !confirming && !resetting) {
      refocus.current = false;
      resetButton.current?.focus();
    }
  }, [confirming, resetting]);

  const open = () => {
    setForget(false);
    setResetError(null);
    setDone('');
    setConfirming(true);
  };
  const close = () => {
    refocus.current = true;
    setConfirming(false);
    setResetError(null);
  };
  const reset = async () => {
    setResetting(true);
    setResetError(null);
    try {
      const fresh = await api.resetPersonalisation(forget);
      onReset(fresh);
      setDone(
        (forget ? 'Personalisation reset and your interaction history deleted.' : 'Personalisation reset.') +
          ' Your feed is back in its starting order.',
      );
      close();
    } catch (e) {
      setResetError(errText(e));
    } finally {
      setResetting(false);
    }
  };

  const learned = status?.personalisation;
  return (
    <div class="personalisation" data-testid="personalisation">
      {learned ? (
        <>
          <p>
            Your feed is ranked on this device from what you do.{' '}
            <span data-testid="interactions-learned">{learnedText(learned.interactions_learned)}</span>
          </p>
          {learned.interests.length > 0 ? (
            <p data-testid="interests">Interests it has found: {learned.interests.join(', ')}</p>
          ) : learned.interactions_learned === 0 ? (
            <p class="muted">Nothing learned yet, so your feed is in its starting order: newest and most varied first.</p>
          ) : (
            <p class="muted">No clear interests yet.</p>
          )}
        </>
      ) : statusError ? (
        <p class="muted">
          Could not read what Hearth has learned.{' '}
          <button type="button" class="link-btn" onClick={onRetry}>
            Retry
          </button>
        </p>
      ) : (
        <p class="muted">Loading…</p>
      )}
      <button
        ref={resetButton}
        type="button"
        class="btn"
        data-testid="reset-personalisation"
        aria-expanded={confirming}
        aria-controls="personalisation-confirm"
        disabled={resetting}
        onClick={() => (confirming ? close() : open())}
      >
        Reset personalisation
      </button>
      {confirming && (
        <div
          id="personalisation-confirm"
          class="confirm"
          role="group"
          aria-labelledby="personalisation-confirm-title"
          aria-describedby="personalisation-confirm-text"
          onKeyDown={(e) => {
            if (e.key === 'Escape' && !resetting) {
              // Handled here, so the app does not also leave Settings.
              e.preventDefault();
              close();
            }
          }}
        >
          <p>
            <strong id="personalisation-confirm-title">Reset personalisation?</strong>{' '}
            <span id="personalisation-confirm-text">
              Hearth forgets what it has learned, and your feed goes back to its starting order.
            </span>
          </p>
          <label class="check">
            <input
              ref={forgetBox}
              type="checkbox"
              data-testid="reset-forget"
              checked={forget}
              disabled={resetting}
              aria-describedby="personalisation-forget-help"
              onChange={(e) => setForget((e.target as HTMLInputElement).checked)}
            />
            Also delete my interaction history
          </label>
          <p class="muted small" id="personalisation-forget-help">
            Hearth learns from this record of what you did. Your likes and hides stay on the posts either way.
          </p>
          {resetError && (
            <p class="inline-error" role="alert">
              Could not reset: {resetError}
            </p>
          )}
          <div class="row">
            <button type="button" class="btn primary" data-testid="reset-confirm" disabled={resetting} onClick={() => void reset()}>
              {resetting ? 'Resetting…' : 'Reset'}
            </button>
            <button type="button" class="btn" data-testid="reset-cancel" disabled={resetting} onClick={close}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <p class="small reset-done" role="status" data-testid="reset-done">
        {done}
      </p>
    </div>
  );
}

/**
 * Settings → Models: the models, and the progress of tone tagging, image labelling and speech
 * transcription. They are fetched once, then kept current by the progress the backend pushes
 * while the section is mounted.
 */
export function ModelsSection() {
  const [models, setModels] = useState<ModelStatus[] | null>(null);
  const [modelsError, setModelsError] = useState<string | null>(null);
  const [enrichment, setEnrichment] = useState<EnrichmentStatus | null>(null);
  const [enrichmentError, setEnrichmentError] = useState<string | null>(null);
  const [progressError, setProgressError] = useState<string | null>(null);
  // Pushed updates so far: a reply that was in flight while one arrived is older than it, and is dropped.
  const pushes = useRef(0);

  const unlessPushed = async <T,>(request: Promise<T>): Promise<T | null> => {
    const before = pushes.current;
    const reply = await request;
    return pushes.current === before ? reply : null;
  };
  const loadModels = () => {
    setModelsError(null);
    unlessPushed(api.models()).then(
      (list) => {
        if (list) setModels(list);
      },
      (e) => setModelsError(errText(e)),
    );
  };
  const download = async (id: string) => {
    const list = await unlessPushed(api.downloadModel(id));
    if (list) setModels(list);
  };

  useEffect(() => {
    loadModels();
    unlessPushed(api.enrichmentStatus()).then(
      (status) => {
        if (status) setEnrichment(status);
      },
      (e) => setEnrichmentError(errText(e)),
    );
    return onProgress(
      (p) => {
        pushes.current += 1;
        setModels(p.models);
        setEnrichment(p.enrichment);
        setModelsError(null);
        setEnrichmentError(null);
        setProgressError(null);
      },
      (e) => setProgressError(errText(e)),
    );
  }, []);

  return (
    <>
      <ModelList
        models={models}
        loadError={modelsError}
        onRetry={loadModels}
        progressError={progressError}
        download={download}
      />
      <h3>Tone tagging</h3>
      <EnrichmentProgress status={enrichment} error={enrichmentError ?? progressError} />
      <h3>Image labelling</h3>
      {/* The tagging progress above already says when the progress cannot be read. */}
      <ImageLabellingProgress status={enrichment ? (enrichment.images ?? null) : null} />
      <h3>Speech transcription</h3>
      <SpeechModelChoice
        models={models}
        chosen={enrichment?.speech?.model ?? null}
        onChosen={setEnrichment}
        download={download}
      />
      <SpeechProgress status={enrichment ? (enrichment.speech ?? null) : null} />
    </>
  );
}

/** The on-device tagging pipeline's progress. */
export function EnrichmentProgress({ status, error }: { status: EnrichmentStatus | null; error: string | null }) {
  const total = status ? Math.max(0, status.total) : 0;
  const done = status ? Math.max(0, Math.min(status.done, total)) : 0;
  // Indeterminate (no value) until there is something to measure.
  // With nothing to tag (total 0) a finished or stopped pipeline shows a settled bar, not a spinner.
  const busy = status?.state === 'starting' || status?.state === 'working';
  const determinate = status !== null && (total > 0 ? status.state !== 'starting' || done > 0 : !busy);
  const max = total > 0 ? total : 1;
  const value = total > 0 ? done : status?.state === 'idle' ? 1 : 0;
  const stateText = status ? enrichmentText(status) : 'Loading…';

  return (
    <div class="enrichment" data-testid="enrichment-progress" data-state={status?.state ?? 'loading'}>
      <p class="muted small">
        Hearth tags the tone of each post with a small model that runs on this device. Calm mode uses these tags.
      </p>
      <p class="enrichment-line" aria-live="polite">
        <span id="enrichment-state">{stateText}</span>
        {status && <span class="muted">{taggedText(done, total)}</span>}
      </p>
      {/* Keyed so that going back to indeterminate drops the value attribute. */}
      {determinate ? (
        <progress key="d" aria-labelledby="enrichment-state" aria-valuetext={taggedText(done, total)} max={max} value={value} />
      ) : (
        <progress key="i" aria-labelledby="enrichment-state" />
      )}
      {error && (
        <p class="inline-error" role="alert">
          Could not read the progress: {error}
        </p>
      )}
    </div>
  );
}

/** A background job's counts, why it waits (if it does), as the backend reports them. */
type JobCounts = { done: number; total: number; message: string | null };

type JobProgressProps = {
  status: JobCounts | null;
  testId: string;
  /** The id of the state line, which labels the bar. */
  stateId: string;
  /** What the job does, in a sentence or two. */
  about: string;
  /** The state in plain words ("Up to date", "Working…", why it waits). */
  stateText: (status: JobCounts) => string;
  /** "Labelled 3 of 12 images" and the like. */
  countText: (done: number, total: number) => string;
};

/**
 * How far an on-device model has got through the stored items, and why they wait when they do
 * (the model is not installed, say). `status` is null until the first reply.
 */
function JobProgress({ status, testId, stateId, about, stateText, countText }: JobProgressProps) {
  const total = status ? Math.max(0, status.total) : 0;
  const done = status ? Math.max(0, Math.min(status.done, total)) : 0;
  const waiting = Boolean(status?.message?.trim());
  // Indeterminate until the first reply; with nothing to do at all a settled (full) bar.
  const max = total > 0 ? total : 1;
  const value = total > 0 ? done : waiting ? 0 : 1;

  return (
    <div
      class="enrichment"
      data-testid={testId}
      data-state={status === null ? 'loading' : waiting ? 'waiting' : total > 0 && done < total ? 'working' : 'idle'}
    >
      <p class="muted small">{about}</p>
      <p class="enrichment-line" aria-live="polite">
        <span id={stateId}>{status ? stateText(status) : 'Loading…'}</span>
        {status && <span class="muted">{countText(done, total)}</span>}
      </p>
      {status !== null ? (
        <progress key="d" aria-labelledby={stateId} aria-valuetext={countText(done, total)} max={max} value={value} />
      ) : (
        <progress key="i" aria-labelledby={stateId} />
      )}
    </div>
  );
}

/** How far the on-device image model has got labelling the stored images. */
export function ImageLabellingProgress({ status }: { status: ImageLabelling | null }) {
  return (
    <JobProgress
      status={status}
      testId="image-progress"
      stateId="image-labelling-state"
      about="Hearth labels what each image shows with a small model that runs on this device. Images without alt text get a short description from these labels, always marked as machine-generated."
      stateText={imageLabellingText}
      countText={labelledText}
    />
  );
}

type SpeechModelChoiceProps = {
  /** Every model (null while loading); the speech ones are offered. */
  models: ModelStatus[] | null;
  /** The speech model in use, as the backend reports it (null while loading). */
  chosen: string | null;
  onChosen: (status: EnrichmentStatus) => void;
  download: (id: string) => Promise<void>;
};

/**
 * Which speech model transcribes: tiny.en ships with Hearth; base.en and small.en are larger,
 * more accurate downloads. Choosing one that is not installed starts its download; recordings
 * wait for it, and transcripts already made stay.
 */
export function SpeechModelChoice({ models, chosen, onChosen, download }: SpeechModelChoiceProps) {
  const [saving, setSaving] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const speech = (models ?? []).filter((m) => m.task === 'speech-recognition');
  if (speech.length === 0 || chosen === null) return null;

  const choose = async (m: ModelStatus) => {
    if (m.id === chosen || saving) return;
    setSaving(m.id);
    setError(null);
    try {
      onChosen(await api.setSpeechModel(m.id));
      if (m.state !== 'installed' && !isFetching(m)) await download(m.id);
    } catch (e) {
      setError(errText(e));
    } finally {
      setSaving(null);
    }
  };

  return (
    <fieldset class="speech-model" data-testid="speech-model" aria-busy={saving !== null}>
      <legend>Speech model</legend>
      {speech.map((m) => {
        const installed = m.state === 'installed' || m.download?.state === 'done';
        return (
          <label key={m.id} class="speech-model-option" data-model-id={m.id}>
            <input
              type="radio"
              name="speech-model"
              value={m.id}
              checked={m.id === (saving ?? chosen)}
              disabled={saving !== null}
              onChange={() => void choose(m)}
            />
            <span>
              <strong>{m.name}</strong>{' '}
              <span class="muted small">
                {sizeMB(m.size_bytes)} · {installed ? 'installed' : isFetching(m) ? 'downloading…' : 'download on choosing'}
              </span>
            </span>
          </label>
        );
      })}
      <p class="muted small">
        Larger models write more accurate transcripts but take longer. New recordings use the chosen model; use “Try
        again” on a transcript to redo it.
      </p>
      {error && (
        <p class="inline-error" role="alert">
          Could not change the speech model: {error}
        </p>
      )}
    </fieldset>
  );
}

/** How far the on-device speech model has got transcribing the stored audio attachments. */
export function SpeechProgress({ status }: { status: SpeechTranscription | null }) {
  return (
    <JobProgress
      status={status}
      testId="speech-progress"
      stateId="speech-transcription-state"
      about="Hearth writes down what is said in each voice memo and audio post with a speech model that runs on this device. Transcripts are always marked as machine-generated."
      stateText={speechText}
      countText={transcribedText}
    />
  );
}

function isFetching(m: ModelStatus): boolean {
  return m.download?.state === 'fetching';
}

type ModelListProps = {
  models: ModelStatus[] | null;
  loadError: string | null;
  onRetry: () => void;
  progressError: string | null;
  /** Starts a model's download; rejects when the backend refuses. */
  download: (id: string) => Promise<void>;
};

/** The on-device models, whether each is installed, and downloads with progress. */
function ModelList({ models, loadError, onRetry, progressError, download }: ModelListProps) {
  // Errors from starting a download, by model id (the backend refused before fetching began).
  const [startErrors, setStartErrors] = useState<Record<string, string>>({});
  const [starting, setStarting] = useState<Record<string, boolean>>({});

  const start = async (m: ModelStatus) => {
    setStarting((s) => ({ ...s, [m.id]: true }));
    setStartErrors(({ [m.id]: _, ...rest }) => rest);
    try {
      await download(m.id);
    } catch (e) {
      setStartErrors((s) => ({ ...s, [m.id]: errText(e) }));
    } finally {
      setStarting(({ [m.id]: _, ...rest }) => rest);
    }
  };

  if (loadError) {
    return (
      <p class="inline-error" role="alert">
        Could not list the models: {loadError}{' '}
        <button type="button" class="link-btn" onClick={onRetry}>
          Retry
        </button>
      </p>
    );
  }
  if (!models) return <p class="muted">Loading…</p>;
  if (models.length === 0) return <p class="muted">No models are known to this version of Hearth.</p>;

  return (
    <div class="models">
      <ul class="model-list" aria-label="Models">
        {models.map((m) => {
          const dl = m.download;
          const installed = m.state === 'installed' || dl?.state === 'done';
          const failed = !installed && dl?.state === 'failed';
          const running = isFetching(m);
          const labelId = `model-${m.id.replace(/[^A-Za-z0-9_-]/g, '-')}-progress`;
          const total = dl ? Math.max(0, dl.bytes_total) : 0;
          const done = dl ? Math.max(0, total > 0 ? Math.min(dl.bytes_done, total) : dl.bytes_done) : 0;
          const startError = startErrors[m.id];
          return (
            <li
              key={m.id}
              class="model-row"
              data-testid="model-row"
              data-model-id={m.id}
              data-state={running ? 'fetching' : failed ? 'failed' : installed ? 'installed' : 'missing'}
            >
              <div class="model-main">
                <div class="model-head">
                  <strong class="model-name">{m.name}</strong>
                  <span class={'model-state ' + (installed ? 'ok' : 'missing')}>
                    {installed ? 'Installed' : running ? 'Downloading…' : 'Not installed'}
                  </span>
                </div>
                <p class="model-meta muted small">
                  {m.task} · {sizeMB(m.size_bytes)} · {m.licence}
                </p>
                {!installed && !running && m.detail && <p class="model-detail muted small">{m.detail}</p>}
                {running && dl && (
                  <div class="model-progress">
                    <p class="small" id={labelId} aria-live="polite">
                      {downloadText(dl.file, done, total)}
                    </p>
                    {total > 0 ? (
                      <progress key="d" aria-labelledby={labelId} max={total} value={done} />
                    ) : (
                      <progress key="i" aria-labelledby={labelId} />
                    )}
                    {dl.source && <p class="muted small model-source">From {dl.source}</p>}
                  </div>
                )}
                {failed && dl && (
                  <p class="inline-error" role="alert">
                    Download failed: {downloadError(dl.error)}
                  </p>
                )}
                {startError && (
                  <p class="inline-error" role="alert">
                    Could not start the download: {startError}
                  </p>
                )}
              </div>
              {!installed && !running && (
                <button
                  type="button"
                  class="btn small"
                  data-testid="model-download"
                  disabled={!!starting[m.id]}
                  aria-label={failed || startError ? `Try downloading ${m.name} again` : `Download ${m.name}`}
                  onClick={() => void start(m)}
                >
                  {failed || startError ? 'Try again' : 'Download'}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {/* Without a running download the list does not move; the tagging progress shows the error too. */}
      {progressError && models.some(isFetching) && (
        <p class="inline-error" role="alert">
          Could not read the download progress: {progressError}
        </p>
      )}
    </div>
  );
}

export function Settings({ theme, onTheme, onBack, onFeedChanged, toast }: Props) {
  const [status, setStatus] = useState<Status | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [mutes, setMutes] = useState<Mutes | null>(null);
  const [mutesError, setMutesError] = useState<string | null>(null);
  const [word, setWord] = useState('');
  const [busy, setBusy] = useState(false);

  const loadStatus = () => {
    setStatusError(null);
    api.status().then(setStatus, (e) => setStatusError(errText(e)));
  };
  const loadMutes = () => {
    setMutesError(null);
    api.mutes().then(setMutes, (e) => setMutesError(errText(e)));
  };
  useEffect(() => {
    loadStatus();
    loadMutes();
  }, []);

  const act = async (input: Parameters<typeof api.recordInteraction>[0], done: string) => {
    setBusy(true);
    try {
      await api.recordInteraction(input);
      toast(done);
      onFeedChanged();
      loadMutes();
    } catch (e) {
      toast(errText(e), 'error');
    } finally {
      setBusy(false);
    }
  };

  const sections: Section[] = [
    // First: what is in the feed is what people come to Settings for most.
    {
      id: 'accounts',
      title: 'Accounts',
      render: () => <AccountsSection onChanged={onFeedChanged} />,
    },
    {
      id: 'sources',
      title: 'Subscriptions',
      render: () => <SourcesSection />,
    },
    {
      id: 'appearance',
      title: 'Appearance',
      render: () => (
        <fieldset class="theme-choice">
          <legend>Theme</legend>
          {(['system', 'light', 'dark'] as ThemeChoice[]).map((t) => (
            <label key={t} class={'radio-card' + (theme === t ? ' on' : '')}>
              <input type="radio" name="theme" value={t} checked={theme === t} onChange={() => onTheme(t)} />
              <span class={`swatch swatch-${t}`} aria-hidden="true" />
              {t === 'system' ? 'Match system' : t === 'light' ? 'Light' : 'Dark'}
            </label>
          ))}
        </fieldset>
      ),
    },
    {
      id: 'muted',
      title: 'Muted',
      render: () => (
        <div class="mutes">
          {mutesError && (
            <p class="inline-error" role="alert">
              {mutesError}{' '}
              <button type="button" class="link-btn" onClick={loadMutes}>
                Retry
              </button>
            </p>
          )}
          <h3>Accounts</h3>
          {mutes && mutes.authors.length === 0 && <p class="muted">You have not muted anyone.</p>}
          {mutes && mutes.authors.length > 0 && (
            <ul class="mute-list">
              {mutes.authors.map((a) => (
                <li key={a.id}>
                  <span>
                    <strong>{a.display_name}</strong> <span class="muted">@{a.handle}</span>
                  </span>
                  <button
                    type="button"
                    class="btn small"
                    disabled={busy}
                    aria-label={`Unmute ${a.display_name}`}
                    onClick={() => act({ kind: 'unmute_author', value: String(a.id), post_id: null }, `Unmuted @${a.handle}`)}
                  >
                    Unmute
                  </button>
                </li>
              ))}
            </ul>
          )}
          <h3>Words</h3>
          {mutes && mutes.words.length === 0 && <p class="muted">No muted words.</p>}
          {mutes && mutes.words.length > 0 && (
            <ul class="mute-list">
              {mutes.words.map((w) => (
                <li key={w}>
                  <span>{w}</span>
                  <button
                    type="button"
                    class="btn small"
                    disabled={busy}
                    aria-label={`Unmute the word ${w}`}
                    onClick={() => act({ kind: 'unmute_word', value: w, post_id: null }, `Unmuted “${w}”`)}
                  >
                    Unmute
                  </button>
                </li>
              ))}
            </ul>
          )}
          <form
            class="add-word"
            onSubmit={(e) => {
              e.preventDefault();
              const w = word.trim();
              if (!w) return;
              void act({ kind: 'mute_word', value: w, post_id: null }, `Muted “${w}”`).then(() => setWord(''));
            }}
          >
            <label for="mute-word">Mute a word</label>
            <div class="row">
              <input
                id="mute-word"
                type="text"
                value={word}
                maxLength={100}
                placeholder="e.g. spoilers"
                onInput={(e) => setWord((e.target as HTMLInputElement).value)}
              />
              <button type="submit" class="btn" disabled={busy || !word.trim()}>
                Mute
              </button>
            </div>
            <p class="muted small">Posts containing this word will no longer appear in your feed.</p>
          </form>
        </div>
      ),
    },
    {
      id: 'personalisation',
      title: 'Personalisation',
      render: () => (
        <PersonalisationSection
          status={status}
          statusError={statusError}
          onRetry={loadStatus}
          onReset={(fresh) => {
            setStatus(fresh);
            setStatusError(null);
            onFeedChanged();
          }}
        />
      ),
    },
    {
      id: 'models',
      title: 'Models',
      render: () => <ModelsSection />,
    },
    {
      id: 'status',
      title: 'Status',
      render: () => (
        <div>
          {statusError && (
            <p class="inline-error" role="alert">
              {statusError}{' '}
              <button type="button" class="link-btn" onClick={loadStatus}>
                Retry
              </button>
            </p>
          )}
          {!status && !statusError && <p class="muted">Loading…</p>}
          {status && (
            <dl class="kv">
              <dt>Version</dt>
              <dd>{status.version}</dd>
              <dt>Data folder</dt>
              <dd>
                <code>{status.data_dir}</code>
              </dd>
              <dt>Database</dt>
              <dd>
                <code>{status.database_path}</code>
              </dd>
              <dt>Posts</dt>
              <dd>{status.posts.toLocaleString()}</dd>
              <dt>Authors</dt>
              <dd>{status.authors.toLocaleString()}</dd>
              <dt>Sources</dt>
              <dd>{status.sources.toLocaleString()}</dd>
              <dt>Media files</dt>
              <dd>{status.media.toLocaleString()}</dd>
              <dt>Interactions</dt>
              <dd>{status.interactions.toLocaleString()}</dd>
              <dt>Demo posts</dt>
              <dd>{status.demo_imported ? 'Imported' : 'Not imported'}</dd>
              <dt>Models run on</dt>
              <dd>
                {DEVICE_NAMES[status.device]} <span class="muted">(set <code>device</code> in{' '}
                <code>{status.config_path}</code>)</span>
              </dd>
            </dl>
          )}
        </div>
      ),
    },
    {
      id: 'shortcuts',
      title: 'Keyboard shortcuts',
      render: () => <ShortcutList />,
    },
    {
      id: 'about',
      title: 'About & privacy',
      render: () => (
        <div class="about">
          <p>
            Hearth is a social client whose intelligence runs on this device. Your posts, likes, hides and the
            signals used to order your feed are stored only in the data folder above.
          </p>
          <p>
            Nothing you do here is sent to an analytics service or a cloud model. The interface loads no
            external fonts, scripts or trackers.
          </p>
        </div>
      ),
    },
  ];

  return (
    <section class="settings" aria-labelledby="settings-title">
      <div class="settings-head">
        <button type="button" class="icon-btn" aria-label="Back to feed" onClick={onBack}>
          <I.ArrowLeft />
        </button>
        <h1 id="settings-title">Settings</h1>
      </div>
      <nav class="section-nav" aria-label="Settings sections">
        {sections.map((s) => (
          <a key={s.id} href={`#settings-${s.id}`} onClick={(e) => {
            e.preventDefault();
            document.getElementById(`settings-${s.id}`)?.scrollIntoView({ block: 'start' });
          }}>
            {s.title}
          </a>
        ))}
      </nav>
      {sections.map((s) => (
        <section key={s.id} id={`settings-${s.id}`} class="panel" aria-labelledby={`settings-${s.id}-title`}>
          <h2 id={`settings-${s.id}-title`}>{s.title}</h2>
          {s.render()}
        </section>
      ))}
    </section>
  );
}
