// The composer: a post's text, images with their alt text (suggested by the on-device model),
// audio or a voice memo, and where it goes: "Hearth only" (a local note, the default every time
// it opens) or one of the signed-in accounts. Replying to a post from an account goes to that
// account, and says whom it replies to.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, readAsBase64 } from './api';
import type { Account, Attachment, NewPost, Post } from './types';
import { charCount, guessMime, hasErrors, LIMITS, validateDraft, type DraftErrors } from './validate';
import { formatBytes, formatDuration } from './format';
import * as I from './icons';
import { useVoiceMemo, VoiceMemoButton, VoiceMemoPanel } from './VoiceMemo';
import { atHandle, kindLabel, personName, sentText } from './networks';

/** Bluesky's own limit on a post's length (graphemes; counted here as characters). */
export const BLUESKY_TEXT_MAX = 300;

/** The accounts a post can go to: all but those that must be signed in to again. */
export function postableAccounts(accounts: Account[]): Account[] {
  return accounts.filter((a) => a.state !== 'sign_in_again');
}

/** The text a reply starts with: the author's handle on Mastodon (where replies mention), else nothing. */
export function replyPrefill(post: Post): string {
  return post.source.kind === 'mastodon' ? `${atHandle(post.author.handle)} ` : '';
}

/**
 * Where an image's alt-text suggestion stands: being asked for, in the field and not yet edited
 * (`suggested`), nothing useful came back (`none`: the model was unsure or could not run), or
 * nothing to show (`idle`: not asked, or the user's own text is in the field).
 */
type Suggestion = 'idle' | 'describing' | 'suggested' | 'none';

type Picked = {
  id: number;
  file: File;
  name: string;
  mime: string;
  size: number;
  url: string;
  alt: string;
  broken?: boolean;
  suggestion: Suggestion;
};

let nextId = 1;
function pick(file: File): Picked {
  return {
    id: nextId++,
    file,
    name: file.name || 'file',
    mime: guessMime(file.name, file.type),
    size: file.size,
    url: URL.createObjectURL(file),
    alt: '',
    suggestion: 'idle',
  };
}

/** Whether the image model is worth asking about a file: an image the backend would accept. */
function describable(p: Picked): boolean {
  return (LIMITS.imageMimes as readonly string[]).includes(p.mime) && p.size > 0 && p.size <= LIMITS.imageBytes;
}

/**
 * The alt text the on-device image model suggests for `file`, or null when it is unsure, is not
 * installed or cannot read the file: a suggestion is a help, never something to fail over.
 */
async function suggestAlt(file: Blob): Promise<string | null> {
  try {
    const { description } = await api.describeImage(await readAsBase64(file));
    return description?.trim().slice(0, LIMITS.altTextMax) || null;
  } catch {
    return null;
  }
}

const SUGGESTED_NOTE = 'Suggested by the on-device model — check and edit it';

type Props = {
  open: boolean;
  onClose: () => void;
  /** The post made, and what to tell the user about it ("Sent to @alice@mastodon.example"). */
  onPosted: (p: Post, note?: string) => void;
  /** The signed-in accounts (a post can go to one of them); none by default. */
  accounts?: Account[];
  /** The post being replied to, when replying. */
  replyTo?: Post | null;
};

export function Compose({ open, onClose, onPosted, accounts = [], replyTo = null }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const imageInput = useRef<HTMLInputElement>(null);
  const audioInput = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [images, setImages] = useState<Picked[]>([]);
  const [audio, setAudio] = useState<Picked | null>(null);
  const [audioMs, setAudioMs] = useState<number | null>(null);
  // blob: URL whose preview the webview could not play (the file is still attached and sent).
  const [previewFailed, setPreviewFailed] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const [sendError, setSendError] = useState<string | null>(null);
  // The account the post goes to; null: Hearth only (a local note).
  const [target, setTarget] = useState<number | null>(null);
  // The text a reply was started with, cleared again if the composer is next opened for a new post.
  const prefilled = useRef<string | null>(null);
  // A recorded voice memo is attached like an audio file chosen from disk (it replaces one).
  const memo = useVoiceMemo((file) => {
    const picked = pick(file);
    setAudio((cur) => {
      if (cur) URL.revokeObjectURL(cur.url);
      return picked;
    });
    setAudioMs(null);
  });
  const recording = memo.state !== 'idle';
  // Read by the deferred focus below: a recording started meanwhile keeps its Stop button focused.
  const recordingNow = useRef(recording);
  recordingNow.current = recording;

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open) {
      // Every time it opens a post goes to Hearth only, unless it replies to a post from an account.
      setTarget(replyTo ? replyTo.source.id : null);
      // A draft the user wrote stays; an empty one, or a reply's untouched mention, starts afresh.
      if (text.trim() === '' || text === prefilled.current) {
        const start = replyTo ? replyPrefill(replyTo) : '';
        setText(start);
        prefilled.current = start || null;
      }
    }
    if (open && !d.open) {
      d.showModal();
      requestAnimationFrame(() => {
        if (!recordingNow.current) textarea.current?.focus();
      });
    } else if (!open && d.open) {
      d.close();
    }
    // Closing the composer lets go of the microphone; the recording is thrown away.
    if (!open) memo.discard(true);
  }, [open]);

  const draft = {
    text,
    images: images.map((i) => ({ name: i.name, mime: i.mime, size: i.size, alt_text: i.alt })),
    audio: audio ? { name: audio.name, mime: audio.mime, size: audio.size } : null,
  };
  const choices = postableAccounts(accounts);
  const account = target === null ? null : (accounts.find((a) => a.id === target) ?? null);
  const bluesky = account?.kind === 'bluesky' || (replyTo?.source.kind === 'bluesky' && target !== null);
  const textMax = bluesky ? BLUESKY_TEXT_MAX : LIMITS.textMax;
  const allErrors = networkErrors(validateDraft(draft), draft, bluesky);
  // Blank-text errors only after a submit attempt; limit violations show immediately.
  const errors: DraftErrors = {
    ...allErrors,
    text: allErrors.text && (submitted || charCount(text.trimEnd()) > textMax) ? allErrors.text : undefined,
  };
  const chars = charCount(text.trimEnd());
  const remaining = textMax - chars;
  const nearAt = Math.min(250, Math.round(textMax / 10));

  const reset = () => {
    images.forEach((i) => URL.revokeObjectURL(i.url));
    if (audio) URL.revokeObjectURL(audio.url);
    setText('');
    setImages([]);
    setAudio(null);
    setAudioMs(null);
    setSubmitted(false);
    setSendError(null);
    setTarget(null);
    prefilled.current = null;
    memo.clear();
  };

  const submit = async () => {
    if (sending) return;
    if (recording) {
      setSendError('Stop or discard the recording first.');
      return;
    }
    setSubmitted(true);
    setSendError(null);
    if (hasErrors(allErrors)) return;
    setSending(true);
    try {
      const imgs: Attachment[] = await Promise.all(
        images.map(async (i) => ({
          file_name: i.name,
          mime: i.mime,
          data_base64: await readAsBase64(i.file),
          alt_text: i.alt.trim() || null,
        })),
      );
      const aud: Attachment | null = audio
        ? { file_name: audio.name, mime: audio.mime, data_base64: await readAsBase64(audio.file), alt_text: null }
        : null;
      const request: NewPost = { text, images: imgs, audio: aud };
      // Absent, not null, for a local note: the request stays as it always was.
      if (target !== null) request.account_id = target;
      if (replyTo) request.reply_to = replyTo.id;
      const post = await api.createPost(request);
      const sentTo = target !== null ? (account?.handle ?? replyTo?.source.name ?? '') : null;
      reset();
      onPosted(post, sentTo === null ? undefined : await sentNote(target!, sentTo));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError('internal', 'The post could not be sent.');
      setSendError(e.message);
    } finally {
      setSending(false);
    }
  };

  const addImages = (files: FileList | null) => {
    if (!files) return;
    const picked = [...files].map(pick);
    for (const p of picked) if (describable(p)) p.suggestion = 'describing';
    setImages((cur) => [...cur, ...picked]);
    for (const p of picked) if (p.suggestion === 'describing') void describe(p);
  };

  /**
   * Asks the image model about a newly attached image. The answer fills the alt-text field only
   * while it is still empty; an image removed (or posted) meanwhile is no longer in the list, so
   * its answer is dropped.
   */
  const describe = async (p: Picked) => {
    const description = await suggestAlt(p.file);
    setImages((cur) =>
      cur.map((c) => {
        if (c.id !== p.id || c.suggestion !== 'describing') return c;
        if (c.alt.trim()) return { ...c, suggestion: 'idle' };
        return description ? { ...c, alt: description, suggestion: 'suggested' } : { ...c, suggestion: 'none' };
      }),
    );
  };

  const removeImage = (id: number) => {
    setImages((cur) => {
      const gone = cur.find((i) => i.id === id);
      if (gone) URL.revokeObjectURL(gone.url);
      return cur.filter((i) => i.id !== id);
    });
  };

  const setAudioFile = (files: FileList | null) => {
    const f = files?.[0];
    if (!f) return;
    if (audio) URL.revokeObjectURL(audio.url);
    setAudio(pick(f));
    setAudioMs(null);
    memo.clear();
  };

  return (
    <dialog
      ref={dialog}
      class="dialog compose"
      aria-labelledby="compose-title"
      onCancel={(e) => {
        // Escape never throws a recording away: Discard does.
        if (sending || recording) e.preventDefault();
        else onClose();
      }}
      onClose={() => open && onClose()}
      onClick={(e) => {
        // Click on the backdrop closes (the dialog element itself is the backdrop target).
        if (e.target === dialog.current && !sending && !recording) onClose();
      }}
    >
      <form
        class="dialog-body"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void submit();
          }
        }}
      >
        <div class="dialog-head">
          <h2 id="compose-title">{replyTo ? 'Reply' : 'New post'}</h2>
          <button type="button" class="icon-btn" aria-label="Close" onClick={onClose} disabled={sending}>
            <I.Close />
          </button>
        </div>

        {replyTo ? (
          <ReplyingTo post={replyTo} />
        ) : (
          <div class="compose-target">
            <label for="compose-target">Post to</label>
            <select
              id="compose-target"
              data-testid="compose-target"
              value={target === null ? '' : String(target)}
              disabled={sending}
              aria-describedby="compose-target-help"
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                setTarget(v === '' ? null : Number(v));
              }}
            >
              <option value="">Hearth only (a local note)</option>
              {choices.map((a) => (
                <option key={a.id} value={String(a.id)}>
                  {atHandle(a.handle)} ({kindLabel(a.kind)})
                </option>
              ))}
            </select>
            <span id="compose-target-help" class="muted small">
              {account ? `Public on ${kindLabel(account.kind)} as ${atHandle(account.handle)}` : 'Stays on this device'}
            </span>
          </div>
        )}
        <label class="sr-only" for="compose-text">
          Post text
        </label>
        <textarea
          id="compose-text"
          ref={textarea}
          data-testid="compose-text"
          class={'compose-text' + (errors.text ? ' invalid' : '')}
          placeholder={replyTo ? 'Write your reply' : 'What’s on your mind?'}
          rows={5}
          value={text}
          aria-invalid={Boolean(errors.text)}
          aria-describedby="compose-count compose-text-error"
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          disabled={sending}
        />
        <div class="compose-meta">
          <span id="compose-text-error" class="field-error" role={errors.text ? 'alert' : undefined}>
            {errors.text ?? ''}
          </span>
          <span
            id="compose-count"
            class={'counter' + (remaining < 0 ? ' over' : remaining <= nearAt ? ' near' : '')}
            aria-label={`${chars} of ${textMax} characters`}
          >
            {chars.toLocaleString('en')} / {textMax.toLocaleString('en')}
          </span>
        </div>

        {images.length > 0 && (
          <ul class="attach-grid" aria-label="Attached images">
            {images.map((img, i) => (
              <li key={img.id} class="attach-item">
                {img.broken ? (
                  <span class="attach-broken" title={img.name}>
                    <I.ImageIcon size={20} />
                    <span>{img.name}</span>
                  </span>
                ) : (
                  <img
                    src={img.url}
                    alt=""
                    onError={() => setImages((cur) => cur.map((c) => (c.id === img.id ? { ...c, broken: true } : c)))}
                  />
                )}
                <button
                  type="button"
                  class="remove"
                  aria-label={`Remove image ${i + 1} (${img.name})`}
                  onClick={() => removeImage(img.id)}
                  disabled={sending}
                >
                  <I.Close size={14} />
                </button>
                <label class="sr-only" for={`alt-${img.id}`}>
                  Description of image {i + 1}
                </label>
                <input
                  id={`alt-${img.id}`}
                  class={'alt-input' + (img.suggestion === 'suggested' ? ' suggested' : '')}
                  data-testid="alt-input"
                  type="text"
                  placeholder="Describe this image"
                  value={img.alt}
                  maxLength={LIMITS.altTextMax}
                  disabled={sending}
                  aria-describedby={`alt-${img.id}-note`}
                  onInput={(e) => {
                    const v = (e.target as HTMLInputElement).value;
                    // Once edited the text is the user's: no note, and no later suggestion replaces it.
                    setImages((cur) =>
                      cur.map((c) =>
                        c.id === img.id ? { ...c, alt: v, suggestion: c.suggestion === 'describing' ? c.suggestion : 'idle' } : c,
                      ),
                    );
                  }}
                />
                <AltNote id={`alt-${img.id}-note`} suggestion={img.suggestion} />
              </li>
            ))}
          </ul>
        )}
        {errors.images && (
          <p class="field-error" role="alert">
            {errors.images}
          </p>
        )}

        {audio && (
          <div class="attach-audio" data-testid="compose-audio">
            <div class="attach-audio-head">
              <I.Music size={16} />
              <span class="file-name">{audio.name}</span>
              <span class="muted">
                {formatBytes(audio.size)}
                {audioMs != null && ` · ${formatDuration(audioMs)}`}
              </span>
              <button
                type="button"
                class="icon-btn small"
                aria-label={`Remove audio ${audio.name}`}
                onClick={() => {
                  URL.revokeObjectURL(audio.url);
                  setAudio(null);
                  memo.clear();
                }}
                disabled={sending}
              >
                <I.Close size={14} />
              </button>
            </div>
            {previewFailed === audio.url ? (
              <p class="audio-error">This audio can’t play here, but it will still be attached.</p>
            ) : (
              <audio
                controls
                preload="metadata"
                src={audio.url}
                onError={() => setPreviewFailed(audio.url)}
                onLoadedMetadata={(e) => {
                  const d = (e.target as HTMLAudioElement).duration;
                  if (Number.isFinite(d)) setAudioMs(d * 1000);
                }}
              />
            )}
          </div>
        )}
        <VoiceMemoPanel memo={memo} />
        {errors.audio && (
          <p class="field-error" role="alert">
            {errors.audio}
          </p>
        )}
        {errors.form && (
          <p class="field-error" role="alert">
            {errors.form}
          </p>
        )}
        {sendError && (
          <p class="send-error" role="alert">
            {sendError}
          </p>
        )}

        <div class="dialog-foot">
          <input
            ref={imageInput}
            type="file"
            data-testid="compose-images-input"
            accept={LIMITS.imageMimes.join(',')}
            multiple
            hidden
            onChange={(e) => {
              addImages((e.target as HTMLInputElement).files);
              (e.target as HTMLInputElement).value = '';
            }}
          />
          <input
            ref={audioInput}
            type="file"
            accept={['audio/*', '.wav', '.mp3', '.ogg', '.flac', '.m4a', '.weba'].join(',')}
            hidden
            onChange={(e) => {
              setAudioFile((e.target as HTMLInputElement).files);
              (e.target as HTMLInputElement).value = '';
            }}
          />
          <button
            type="button"
            class="btn ghost"
            onClick={() => imageInput.current?.click()}
            disabled={sending || images.length >= LIMITS.imagesMax}
            title={images.length >= LIMITS.imagesMax ? 'At most 4 images' : undefined}
          >
            <I.ImageIcon size={16} /> Images
          </button>
          <button type="button" class="btn ghost" onClick={() => audioInput.current?.click()} disabled={sending || recording}>
            <I.Music size={16} /> {audio ? 'Replace audio' : 'Audio'}
          </button>
          <VoiceMemoButton memo={memo} disabled={sending} />
          <span class="spacer" />
          <span class="hint" aria-hidden="true">
            Ctrl+Enter
          </span>
          <button type="submit" class="btn primary" data-testid="compose-submit" disabled={sending} aria-busy={sending}>
            {sending && <span class="spinner" aria-hidden="true" />}
            {sending ? (replyTo ? 'Replying…' : 'Posting…') : replyTo ? 'Reply' : 'Post'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * The draft's errors with what the chosen network refuses added: Bluesky takes at most 300
 * characters and no audio.
 */
function networkErrors(errors: DraftErrors, draft: { text: string; audio: unknown }, bluesky: boolean): DraftErrors {
  if (!bluesky) return errors;
  const out = { ...errors };
  const chars = charCount(draft.text.trimEnd());
  if (!out.text && chars > BLUESKY_TEXT_MAX) {
    out.text = `Bluesky posts can be at most ${BLUESKY_TEXT_MAX} characters (${(chars - BLUESKY_TEXT_MAX).toLocaleString('en')} over).`;
  }
  if (!out.audio && draft.audio) out.audio = 'Bluesky posts cannot carry audio. Remove it, or post to Hearth only.';
  return out;
}

/**
 * What to say once a post went to an account, from the account as it is now (still on its way,
 * sent, or waiting for the server); a plain "sending" when the accounts cannot be read.
 */
async function sentNote(accountId: number, handle: string): Promise<string> {
  try {
    const list = await api.accounts();
    return sentText((Array.isArray(list) ? list : []).find((a) => a.id === accountId) ?? null, handle);
  } catch {
    return sentText(null, handle);
  }
}

/** Whom a reply answers: their name and handle, where the post came from, and the start of it. */
function ReplyingTo({ post }: { post: Post }) {
  const excerpt = post.text.trim().replace(/\s+/g, ' ');
  return (
    <div class="replying-to" data-testid="replying-to">
      <p>
        Replying to <strong>{personName(post.author)}</strong>{' '}
        <span class="muted">
          {atHandle(post.author.handle)} on {kindLabel(post.source.kind)}
        </span>
      </p>
      {excerpt && <p class="replying-to-excerpt muted small">{excerpt.length > 140 ? excerpt.slice(0, 139) + '…' : excerpt}</p>}
    </div>
  );
}

/**
 * The quiet line under an image's alt-text field (a polite live region, so it is read out
 * when the suggestion arrives): "Describing…" while the image model looks, then the note that
 * the text in the field is the model's, or that it had nothing to suggest.
 */
function AltNote({ id, suggestion }: { id: string; suggestion: Suggestion }) {
  return (
    <span id={id} class={'alt-note' + (suggestion === 'suggested' ? ' suggested' : '')} data-testid="alt-note" aria-live="polite">
      {suggestion === 'describing' && (
        <>
          <span class="spinner" aria-hidden="true" /> Describing…
        </>
      )}
      {suggestion === 'suggested' && SUGGESTED_NOTE}
      {suggestion === 'none' && 'No suggestion from the on-device model'}
    </span>
  );
}
