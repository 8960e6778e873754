// A post card: who boosted it, the author, where the post came from (and the other accounts it
// also came through), a content warning that keeps the rest closed until opened, its title and
// text (a feed item's HTML through RichText), media (blurred until clicked when sensitive), the
// actions (Boost, Reply and Thread for posts from the user's accounts), and "Why this post?".
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { Post, Media, SpeechTranscription } from './types';
import { api, mediaUrl, playableMediaUrl, releasePlayableUrl } from './api';
import {
  absoluteTime,
  compactCount,
  displayUrl,
  formatDuration,
  imageAlt,
  initials,
  isDemotion,
  isHttpUrl,
  linkify,
  MACHINE_PREFIX,
  reasonsToShow,
  relativeTime,
  safeColor,
  sourceLabel,
  textColorOn,
  toneText,
} from './format';
import * as I from './icons';
import { RichBody, richContent } from './RichText';
import { TranscriptView } from './Transcript';
import { isPending, transcriptMayHaveChanged, useSpeechProgress } from './transcription';
import { alsoViaText, isFromAccount, kindLabel, personName } from './networks';

export type Collapsed = 'hidden' | 'show_less' | undefined;

export type CardHandlers = {
  onLike: (p: Post) => void;
  onHide: (p: Post) => void;
  onUnhide: (p: Post) => void;
  onShowLess: (p: Post) => void;
  onRestore: (p: Post) => void;
  onMute: (p: Post) => void;
  onOpen: (p: Post) => void;
  /** Opens an http(s) link outside Hearth (system browser / new tab). */
  onOpenLink: (p: Post, url: string) => void;
  onFocusCard: (index: number) => void;
  observeDwell: (el: Element, postId: number) => void;
  unobserveDwell: (el: Element) => void;
  /** Replaces the post with a newer copy from the backend (a transcript that arrived or changed). */
  onPostUpdated: (p: Post) => void;
  /** Boosts the post, or undoes the boost (posts from the user's accounts). */
  onBoost?: (p: Post) => void;
  /** Opens the composer to reply to the post (posts from the user's accounts). */
  onReply?: (p: Post) => void;
  /** Shows the conversation the post is part of (posts from the user's accounts). */
  onThread?: (p: Post) => void;
};

type Props = CardHandlers & {
  post: Post;
  index: number;
  setSize: number;
  tabbable: boolean;
  collapsed: Collapsed;
  expanded: boolean;
  now: Date;
  /** The heading level of a post's title: 2 in the feed and search, 3 under the digest's topic headings. */
  titleLevel?: 2 | 3;
  /** The post a thread was opened for: marked (aria-current), and without a Thread button of its own. */
  current?: boolean;
};

const LONG_TEXT = 700;

/**
 * Click handler for a link that leaves Hearth: the <a> keeps its href (copy link, hover
 * preview, screen readers) but the click goes through `onOpenLink`, because the desktop webview
 * cannot follow target=_blank links itself.
 */
function externalClick(url: string, onOpenLink: (url: string) => void) {
  return (e: MouseEvent) => {
    e.preventDefault();
    onOpenLink(url);
  };
}

/** Post text as text nodes with http(s) links; never HTML. */
export function PostText({ text, id, onOpenLink }: { text: string; id?: string; onOpenLink: (url: string) => void }) {
  return (
    <div class="post-text" id={id}>
      {linkify(text).map((seg, i) =>
        seg.type === 'link' ? (
          <a
            key={i}
            href={seg.href}
            target="_blank"
            rel="noopener noreferrer"
            title={seg.href}
            onClick={externalClick(seg.href, onOpenLink)}
          >
            {displayUrl(seg.value)}
          </a>
        ) : (
          seg.value
        ),
      )}
    </div>
  );
}

export function Avatar({ name, handle, color, size = 44 }: { name: string; handle: string; color: string; size?: number }) {
  const bg = safeColor(color);
  return (
    <span
      class="avatar"
      aria-hidden="true"
      style={{ background: bg, color: textColorOn(bg), width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.38)}px` }}
    >
      {initials(name, handle)}
    </span>
  );
}

function AltBadge({ alt }: { alt: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class="alt-badge"
        aria-expanded={open}
        aria-label={open ? 'Hide image description' : 'Show image description'}
        onClick={(e) => {
          e.stopPropagation();
          setOpen(!open);
        }}
      >
        ALT
      </button>
      {open && <p class="alt-text">{alt}</p>}
    </>
  );
}

/**
 * For an image the author left undescribed: an "AUTO" badge that reveals what the on-device
 * image model wrote, always introduced as machine-generated so it never reads as the author's.
 */
function MachineAltBadge({ id, description }: { id: number; description: string }) {
  const [open, setOpen] = useState(false);
  const textId = `media-${id}-machine-alt`;
  return (
    <>
      <button
        type="button"
        class="alt-badge machine-badge"
        data-testid="machine-alt-badge"
        aria-expanded={open}
        aria-controls={open ? textId : undefined}
        aria-label={open ? 'Hide machine-generated image description' : 'Show machine-generated image description'}
        title="Described by the on-device image model, not by the author"
        onClick={(e) => {
          e.stopPropagation();
          setOpen(!open);
        }}
      >
        AUTO
      </button>
      {open && (
        <p class="alt-text machine-alt-text" id={textId} data-testid="machine-alt-text">
          <span class="machine-alt-label">{MACHINE_PREFIX}</span> {description}
        </p>
      )}
    </>
  );
}

function ImageGrid({ images }: { images: Media[] }) {
  const shown = images.slice(0, 4);
  const single = shown.length === 1 ? shown[0] : null;
  const ratio = single && single.width && single.height ? `${single.width} / ${single.height}` : undefined;
  return (
    <div class={`media-grid n${shown.length}`}>
      {shown.map((m) => {
        // The author's alt text wins; the model's description only stands in, marked as such.
        const { alt, human, machine } = imageAlt(m);
        return (
          <figure key={m.id} class="media-item" style={single && ratio ? { aspectRatio: ratio } : undefined}>
            <img
              src={mediaUrl(m.id)}
              alt={alt}
              loading="lazy"
              decoding="async"
              width={m.width ?? undefined}
              height={m.height ?? undefined}
            />
            {human && <AltBadge alt={human} />}
            {machine && <MachineAltBadge id={m.id} description={machine} />}
          </figure>
        );
      })}
    </div>
  );
}

const AUDIO_EXT: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
  'audio/mp4': 'm4a',
  'audio/webm': 'webm',
};

/** A file name for downloading an attachment, e.g. "hearth-audio-12.mp3". */
export function audioFileName(media: Media): string {
  const ext = AUDIO_EXT[media.mime.toLowerCase()];
  return `hearth-audio-${media.id}` + (ext ? `.${ext}` : '');
}

/** The playable URL of a media item; `null` while it loads, and `failed` if it cannot. */
function usePlayableUrl(id: number): [string | null, boolean, () => void] {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let current: string | null = null;
    let cancelled = false;
    playableMediaUrl(id).then(
      (playable) => {
        if (cancelled) return releasePlayableUrl(playable);
        current = playable;
        setUrl(playable);
      },
      () => !cancelled && setFailed(true),
    );
    return () => {
      cancelled = true;
      releasePlayableUrl(current);
    };
  }, [id]);
  return [url, failed, () => setFailed(true)];
}

export type AudioPlayerProps = {
  media: Media;
  /** The pushed speech progress, while the card waits for a transcript (see `useTranscriptRefresh`). */
  speech?: SpeechTranscription | null;
  /** Called with the post the backend returned after a transcript action (Cancel, Try again). */
  onPostUpdated?: (post: Post) => void;
};

/** `HTMLMediaElement.HAVE_METADATA`: the duration is known and seeking works. */
const HAVE_METADATA = 1;

/**
 * Native <audio controls>; when the webview cannot play the file (unsupported codec, missing
 * GStreamer plugin on Linux, unreadable bytes) the element fires `error` and is replaced by a
 * plain message with a download link instead of a dead control. Under it, the transcript, whose
 * segments play the recording from where they start.
 */
export function AudioPlayer({ media, speech = null, onPostUpdated }: AudioPlayerProps) {
  const dur = formatDuration(media.duration_ms);
  const [playable, failed, fail] = usePlayableUrl(media.id);
  const src = mediaUrl(media.id);
  const audio = useRef<HTMLAudioElement>(null);
  // Where the player is, for the transcript's highlight; null until it has played or seeked.
  const [time, setTime] = useState<number | null>(null);
  const transcript = media.transcript ?? null;
  const follow = transcript?.status === 'done' && (transcript.segments?.length ?? 0) > 0;

  /** Plays from `seconds`: at once when the player knows the duration, else once it has loaded it. */
  const seek = (seconds: number) => {
    const el = audio.current;
    if (!el) return;
    el.currentTime = seconds;
    if (el.readyState < HAVE_METADATA) {
      // `preload="none"`: playing loads the file; the position is set again once it can be.
      el.addEventListener(
        'loadedmetadata',
        () => {
          if (Math.abs(el.currentTime - seconds) > 0.25) el.currentTime = seconds;
        },
        { once: true },
      );
    }
    setTime(seconds);
    void el.play()?.catch(() => {
      /* nothing to play yet (or the webview refused): the position is kept */
    });
  };

  const job = speech?.current && speech.current.media_id === media.id ? speech.current : null;
  return (
    <div class={'audio-card' + (failed ? ' failed' : '') + (transcript ? ' has-transcript' : '')} data-testid="audio-card">
      <span class="audio-icon" aria-hidden="true">
        <I.Music size={18} />
      </span>
      <div class="audio-body">
        <span class="audio-label">
          Audio{dur && <span class="muted"> · {dur}</span>}
        </span>
        {failed ? (
          <p class="audio-error" role="status" data-testid="audio-error">
            This audio can’t play here.{' '}
            <a href={playable ?? src} download={audioFileName(media)} class="audio-download">
              Download
            </a>
          </p>
        ) : (
          <audio
            ref={audio}
            controls
            preload="none"
            src={playable ?? undefined}
            aria-label={media.alt_text ?? 'Audio attachment'}
            onError={fail}
            onTimeUpdate={follow ? (e) => setTime((e.currentTarget as HTMLAudioElement).currentTime) : undefined}
            onEnded={follow ? () => setTime(null) : undefined}
          />
        )}
        <TranscriptView
          media={media}
          job={job}
          waitingReason={speech?.message ?? null}
          time={time}
          seek={failed ? null : seek}
          onPostUpdated={onPostUpdated}
        />
      </div>
    </div>
  );
}

/**
 * The speech progress for a card with audio still to be transcribed (null otherwise), through the
 * shared subscription; fetches the post again, and hands it to `onPostUpdated`, when the progress
 * says one of its transcripts may have changed. A post fetched while the backend was still
 * writing is fetched once more a little later.
 */
function useTranscriptRefresh(post: Post, onPostUpdated: ((post: Post) => void) | undefined): SpeechTranscription | null {
  const pending = post.media.filter((m) => m.kind === 'audio' && isPending(m.transcript)).map((m) => m.id);
  const speech = useSpeechProgress(pending.length > 0 && onPostUpdated !== undefined);
  const before = useRef<SpeechTranscription | null>(null);
  const fetching = useRef(false);
  const retry = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef({ post, onPostUpdated });
  latest.current = { post, onPostUpdated };

  useEffect(() => () => clearTimeout(retry.current), []);
  useEffect(() => {
    const previous = before.current;
    before.current = speech;
    if (!transcriptMayHaveChanged(previous, speech, pending) || fetching.current) return;
    const refresh = (attempt: number) => {
      fetching.current = true;
      const id = latest.current.post.id;
      api.getPost(id).then(
        (fresh) => {
          fetching.current = false;
          latest.current.onPostUpdated?.(fresh);
          const stillPending = fresh.media.some((m) => pending.includes(m.id) && isPending(m.transcript));
          const running = before.current?.current?.post_id === id;
          if (stillPending && !running && attempt < 2) retry.current = setTimeout(() => refresh(attempt + 1), 1500);
        },
        () => {
          fetching.current = false;
        },
      );
    };
    clearTimeout(retry.current);
    refresh(0);
  }, [speech]);

  return speech;
}

function VideoPlayer({ media }: { media: Media }) {
  const [playable] = usePlayableUrl(media.id);
  return (
    <video
      class="video"
      controls
      preload="none"
      src={playable ?? undefined}
      aria-label={media.alt_text ?? 'Video attachment'}
    />
  );
}

function Overflow({
  post,
  onMute,
  onOpenLink,
}: {
  post: Post;
  onMute: (p: Post) => void;
  onOpenLink: (p: Post, url: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const btn = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const first = menu.current?.querySelector<HTMLElement>('[role=menuitem]');
    first?.focus();
    const onDoc = (e: Event) => {
      if (!menu.current?.contains(e.target as Node) && !btn.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onDoc, true);
    return () => document.removeEventListener('pointerdown', onDoc, true);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) btn.current?.focus();
  };

  const onKey = (e: KeyboardEvent) => {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    } else if (e.key === 'Tab') {
      close(false);
    }
  };

  return (
    <div class="overflow">
      <button
        ref={btn}
        type="button"
        class="icon-btn action"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={`More actions for post by ${post.author.display_name}`}
        onClick={(e) => {
          e.stopPropagation();
          setOpen(!open);
        }}
      >
        <I.More />
      </button>
      {open && (
        <div class="menu" role="menu" ref={menu} onKeyDown={onKey} aria-label="Post actions">
          <button
            type="button"
            role="menuitem"
            data-testid="mute-author"
            onClick={() => {
              close(true);
              onMute(post);
            }}
          >
            <I.Mute size={16} /> Mute @{post.author.handle}
          </button>
          {post.url && (
            <a
              role="menuitem"
              href={post.url}
              target="_blank"
              rel="noopener noreferrer"
              data-testid="open-original"
              onClick={(e) => {
                e.preventDefault();
                close(false);
                onOpenLink(post, post.url!);
              }}
            >
              <I.External size={16} /> Open original
            </a>
          )}
        </div>
      )}
    </div>
  );
}

/** A quiet dot + word for the tone the on-device model tagged; nothing until the post is tagged. */
export function ToneChip({ tone }: { tone: Post['tone'] | undefined }) {
  const t = toneText(tone);
  if (!t || !tone) return null;
  return (
    <span
      class={`tone-chip tone-${tone.label}`}
      data-testid="tone-chip"
      data-tone={tone.label}
      role="img"
      aria-label={t.description}
      title={t.description}
    >
      <span class="tone-dot" aria-hidden="true" />
      <span class="tone-label" aria-hidden="true">
        {t.text}
      </span>
    </span>
  );
}

/**
 * "Why this post?": a disclosure listing the ranker's reasons, strongest first. Reasons that
 * explain a demotion ("Lower: …") are set in a quieter colour. Nothing outside ranked mode.
 */
export function WhyThisPost({ post }: { post: Pick<Post, 'reason'> & { reasons?: string[] | null } }) {
  const reasons = reasonsToShow(post);
  if (reasons.length === 0) return null;
  return (
    <details class="why" data-testid="why">
      <summary>
        <I.Info size={14} /> Why this post?
      </summary>
      <ul class="why-list" aria-label="Reasons this post is here">
        {reasons.map((reason, i) => (
          <li key={i} class={isDemotion(reason) ? 'why-lower' : undefined}>
            {reason}
          </li>
        ))}
      </ul>
    </details>
  );
}

function isInteractive(el: EventTarget | null, stop: Element): boolean {
  let n = el as Element | null;
  while (n && n !== stop) {
    const tag = n.tagName?.toLowerCase();
    if (['a', 'button', 'audio', 'video', 'input', 'textarea', 'summary', 'details', 'select', 'label'].includes(tag)) return true;
    if (n.getAttribute?.('role') === 'menu') return true;
    n = n.parentElement;
  }
  return false;
}

/**
 * Where a post came from: a feed's or an account's own name after a small label of its kind
 * ("Feed", "Mastodon", "Bluesky"); else the kind of source alone ("You", "Demo").
 */
function SourceBadge({ source }: { source: Post['source'] }) {
  const named = source.kind === 'rss' || source.kind === 'mastodon' || source.kind === 'bluesky';
  const name = source.name.trim();
  const title = !named || !name ? source.name : source.kind === 'rss' ? `From the feed ${name}` : `From your ${sourceLabel(source.kind)} account ${name}`;
  return (
    <>
      {named && (
        <span class="source-kind" data-testid="source-kind">
          {kindLabel(source.kind)}
        </span>
      )}
      <span class={`source-badge src-${source.kind}`} data-testid="source-badge" title={title}>
        {named && name ? name : sourceLabel(source.kind)}
      </span>
    </>
  );
}

/** A content warning: its text, and the toggle that shows or hides the post behind it. */
function ContentWarning({ text, id, open, bodyId, onToggle }: { text: string; id: string; open: boolean; bodyId: string; onToggle: () => void }) {
  return (
    <div class={'cw' + (open ? ' open' : '')} data-testid="content-warning">
      <p class="cw-text" id={id}>
        <span class="cw-label">Content warning:</span> {text}
      </p>
      <button
        type="button"
        class="btn small cw-toggle"
        data-testid="cw-toggle"
        aria-expanded={open}
        aria-controls={open ? bodyId : undefined}
        onClick={onToggle}
      >
        {open ? 'Hide post' : 'Show post'}
      </button>
    </div>
  );
}

/**
 * A sensitive post's pictures and videos: blurred, out of reach of the keyboard and screen
 * readers, behind one button that shows them; the same button then hides them again (so the
 * focus stays on it). The media stay mounted either way: nothing reloads or moves.
 */
function SensitiveMedia({ count, children }: { count: number; children: ComponentChildren }) {
  const [shown, setShown] = useState(false);
  const what = count === 1 ? 'sensitive picture' : 'sensitive pictures';
  return (
    <div class={'sensitive-media' + (shown ? ' shown' : '')} data-testid="sensitive-media" data-shown={String(shown)}>
      <div class="sensitive-blur" inert={!shown} aria-hidden={shown ? undefined : 'true'}>
        {children}
      </div>
      <button
        type="button"
        class={shown ? 'sensitive-hide' : 'sensitive-reveal'}
        data-testid="sensitive-toggle"
        aria-label={shown ? `Hide ${what}` : undefined}
        onClick={(e) => {
          e.stopPropagation();
          setShown(!shown);
        }}
      >
        {shown ? (
          <>
            <I.EyeOff size={14} /> Hide
          </>
        ) : (
          <span class="sensitive-label">
            <I.EyeOff size={18} /> Show {what}
          </span>
        )}
      </button>
    </div>
  );
}

export function PostCard(props: Props) {
  const { post, index, setSize, tabbable, collapsed, expanded, now, titleLevel = 2, current = false } = props;
  const ref = useRef<HTMLElement>(null);
  // A feed item's HTML as Preact elements (made once per body), and whether "Show more" opened
  // it; a click on one of its links reaches the latest post and handler.
  const latest = useRef({ post, onOpenLink: props.onOpenLink });
  latest.current = { post, onOpenLink: props.onOpenLink };
  const rich = useMemo(
    () =>
      post.html
        ? richContent(post.html, post.media ?? [], titleLevel + 1, (url) => latest.current.onOpenLink(latest.current.post, url))
        : null,
    [post.html, post.media, titleLevel],
  );
  // Opened whole by "Show more", or by opening the post (a click on the card, the `o` key).
  const [richOpen, setRichOpen] = useState(expanded);
  useEffect(() => {
    if (expanded) setRichOpen(true);
  }, [expanded]);
  // One shared subscription for every card; none while this card has no transcript to wait for.
  const speech = useTranscriptRefresh(post, collapsed ? undefined : props.onPostUpdated);
  const authorId = `post-${post.id}-author`;
  const titleId = `post-${post.id}-title`;
  const textId = `post-${post.id}-text`;
  const warningId = `post-${post.id}-warning`;
  const bodyId = `post-${post.id}-body`;
  const name = post.author.display_name || post.author.handle;
  // A content warning's post is opened by its own button, and stays closed on a fresh card.
  const [cwOpen, setCwOpen] = useState(false);

  useEffect(() => {
    const el = ref.current;
    if (!el || collapsed) return;
    props.observeDwell(el, post.id);
    return () => props.unobserveDwell(el);
  }, [post.id, collapsed]);

  // Keep keyboard focus on the card when its action buttons disappear (hide / show less).
  useEffect(() => {
    if (collapsed && ref.current && (document.activeElement === document.body || document.activeElement === null)) {
      ref.current.focus({ preventScroll: true });
    }
  }, [collapsed]);

  const common = {
    ref,
    class: 'card' + (collapsed ? ' collapsed' : '') + (current ? ' current' : ''),
    'data-testid': 'post-card',
    'data-post-id': String(post.id),
    'aria-current': current ? ('true' as const) : undefined,
    'aria-posinset': index + 1,
    'aria-setsize': setSize,
    'aria-labelledby': authorId,
    tabIndex: tabbable ? 0 : -1,
    onFocus: (e: FocusEvent) => {
      if (e.target === e.currentTarget) props.onFocusCard(index);
    },
  };

  if (collapsed) {
    return (
      <article {...common} aria-describedby={textId}>
        <span id={authorId} class="sr-only">
          {name}
        </span>
        <p class="collapsed-line" id={textId}>
          {collapsed === 'hidden' ? (
            <>
              <I.EyeOff size={16} /> Post hidden ·{' '}
              <button type="button" class="link-btn" onClick={() => props.onUnhide(post)}>
                Undo
              </button>
            </>
          ) : (
            <>
              <I.Less size={16} /> You'll see less like this ·{' '}
              <button type="button" class="link-btn" onClick={() => props.onRestore(post)}>
                Show post
              </button>
            </>
          )}
        </p>
      </article>
    );
  }

  // Images the HTML body shows in place are not shown again below it; images not stored on this device cannot be shown.
  const images = post.media.filter(
    (m) => m.kind === 'image' && m.cached !== false && !(rich && !rich.empty && rich.mediaIds.includes(m.id)),
  );
  const audios = post.media.filter((m) => m.kind === 'audio');
  const videos = post.media.filter((m) => m.kind === 'video');
  const long = post.text.length > LONG_TEXT || post.text.split('\n').length > 14;
  const liked = post.state.liked;
  const boosted = post.boosted === true;
  const title = post.title?.trim() ? post.title.trim() : null;
  const Title = titleLevel === 3 ? 'h3' : 'h2';
  // HTML that sanitises down to nothing falls back to the plain text.
  const showRich = rich !== null && !rich.empty;
  const fromAccount = isFromAccount(post);
  const alsoVia = alsoViaText(post);
  // Behind a content warning the title, the text and the media wait until the user opens them.
  const warning = post.content_warning?.trim() || null;
  const closed = warning !== null && !cwOpen;
  // A sensitive post's pictures and videos are blurred together, behind one button.
  const visual = images.length + videos.length;
  const sensitive = post.sensitive === true && visual > 0;

  const content = (
    <>
      {title && (
        <Title class="card-title" id={titleId} data-testid="post-title">
          {post.url && isHttpUrl(post.url) ? (
            <a
              href={post.url}
              target="_blank"
              rel="noopener noreferrer"
              title={post.url}
              onClick={externalClick(post.url, (url) => props.onOpenLink(post, url))}
            >
              {title}
            </a>
          ) : (
            title
          )}
        </Title>
      )}

      {showRich ? (
        <>
          <div class={'text-wrap rich-wrap' + (rich.long && !richOpen ? ' clamped' : '')}>
            <RichBody content={rich} id={textId} />
          </div>
          {rich.long && (
            <button
              type="button"
              class="link-btn show-more"
              data-testid="rich-toggle"
              aria-expanded={richOpen}
              aria-controls={textId}
              onClick={() => {
                // Reading on counts as opening the post, as "Show more" on a plain post does.
                if (!richOpen) props.onOpen(post);
                setRichOpen(!richOpen);
              }}
            >
              {richOpen ? 'Show less' : 'Show more'}
            </button>
          )}
        </>
      ) : (
        <>
          {post.text && (
            <div class={'text-wrap' + (long && !expanded ? ' clamped' : '')}>
              <PostText text={post.text} id={textId} onOpenLink={(url) => props.onOpenLink(post, url)} />
            </div>
          )}
          {!post.text && (
            <span id={textId} class="sr-only">
              Post without text
            </span>
          )}
          {long && !expanded && (
            <button type="button" class="link-btn show-more" onClick={() => props.onOpen(post)}>
              Show more
            </button>
          )}
        </>
      )}

      {sensitive ? (
        <SensitiveMedia count={visual}>
          {images.length > 0 && <ImageGrid images={images} />}
          {videos.map((v) => (
            <VideoPlayer key={v.id} media={v} />
          ))}
        </SensitiveMedia>
      ) : (
        images.length > 0 && <ImageGrid images={images} />
      )}
      {audios.map((a) => (
        <AudioPlayer key={a.id} media={a} speech={speech} onPostUpdated={props.onPostUpdated} />
      ))}
      {!sensitive &&
        videos.map((v) => (
          <VideoPlayer key={v.id} media={v} />
        ))}
    </>
  );

  return (
    <article
      {...common}
      aria-labelledby={title && !closed ? `${authorId} ${titleId}` : authorId}
      aria-describedby={closed ? warningId : textId}
      onClick={(e) => {
        if (!isInteractive(e.target, e.currentTarget as Element)) props.onOpen(post);
      }}
    >
      <div class="card-avatar">
        <Avatar name={name} handle={post.author.handle} color={post.author.avatar_color} />
      </div>
      <div class="card-main">
        {post.boosted_by && (
          <p class="boosted-by" data-testid="boosted-by">
            <I.Repeat size={14} /> {personName(post.boosted_by)} boosted
          </p>
        )}
        <header class="card-head">
          <span class="names">
            <span class="display-name" id={authorId}>
              {name}
            </span>
            <span class="handle">@{post.author.handle}</span>
          </span>
          <SourceBadge source={post.source} />
          <ToneChip tone={post.tone} />
          <time class="time" dateTime={post.created_at} title={absoluteTime(post.created_at)}>
            {relativeTime(post.created_at, now)}
          </time>
        </header>
        {alsoVia && (
          <p class="post-via" data-testid="post-via">
            {alsoVia}
          </p>
        )}

        {warning !== null && (
          <ContentWarning
            text={warning}
            id={warningId}
            open={cwOpen}
            bodyId={bodyId}
            onToggle={() => {
              // Reading on counts as opening the post, as "Show more" does.
              if (!cwOpen) props.onOpen(post);
              setCwOpen(!cwOpen);
            }}
          />
        )}
        {warning === null ? (
          content
        ) : (
          cwOpen && (
            <div class="cw-body" id={bodyId} data-testid="cw-body">
              {content}
            </div>
          )
        )}

        <WhyThisPost post={post} />

        <div class="actions" role="group" aria-label="Post actions">
          <button
            type="button"
            class={'action like' + (liked ? ' on' : '')}
            data-testid="like-button"
            aria-pressed={liked}
            aria-label={`${liked ? 'Unlike' : 'Like'} post by ${name}`}
            onClick={() => props.onLike(post)}
          >
            <I.Heart filled={liked} />
            <span class="count" aria-hidden="true">
              {post.counts.likes > 0 ? compactCount(post.counts.likes) : ''}
            </span>
          </button>
          {fromAccount && props.onBoost && (
            <button
              type="button"
              class={'action boost' + (boosted ? ' on' : '')}
              data-testid="boost-button"
              aria-pressed={boosted}
              aria-label={`Boost post by ${name}`}
              title={boosted ? 'Undo boost' : 'Boost'}
              onClick={() => props.onBoost?.(post)}
            >
              <I.Repeat />
              <span class="count" aria-hidden="true">
                {post.counts.boosts > 0 ? compactCount(post.counts.boosts) : ''}
              </span>
            </button>
          )}
          {fromAccount && props.onReply && (
            <button
              type="button"
              class="action"
              data-testid="reply-button"
              aria-label={`Reply to post by ${name}`}
              title="Reply"
              onClick={() => props.onReply?.(post)}
            >
              <I.Reply />
              <span class="count" aria-hidden="true">
                {post.counts.replies > 0 ? compactCount(post.counts.replies) : ''}
              </span>
            </button>
          )}
          {fromAccount && props.onThread && !current && (
            <button
              type="button"
              class="action"
              data-testid="thread-button"
              aria-label={`Show the thread of the post by ${name}`}
              title="Show the thread: the posts it answers and the replies to it"
              onClick={() => props.onThread?.(post)}
            >
              <I.Thread />
              <span class="action-label">Thread</span>
            </button>
          )}
          <button
            type="button"
            class="action"
            data-testid="show-less-button"
            aria-label={`Show less like this post by ${name}`}
            title="Show less like this"
            onClick={() => props.onShowLess(post)}
          >
            <I.Less />
            <span class="action-label">Less</span>
          </button>
          <button
            type="button"
            class="action"
            data-testid="hide-button"
            aria-label={`Hide post by ${name}`}
            title="Hide"
            onClick={() => props.onHide(post)}
          >
            <I.EyeOff />
            <span class="action-label">Hide</span>
          </button>
          <span class="spacer" />
          <Overflow post={post} onMute={props.onMute} onOpenLink={props.onOpenLink} />
        </div>
      </div>
    </article>
  );
}

export function SkeletonCard() {
  return (
    <div class="card skeleton" aria-hidden="true">
      <div class="card-avatar">
        <span class="avatar sk" style={{ width: '44px', height: '44px' }} />
      </div>
      <div class="card-main">
        <div class="sk sk-line" style={{ width: '40%' }} />
        <div class="sk sk-line" style={{ width: '95%' }} />
        <div class="sk sk-line" style={{ width: '80%' }} />
        <div class="sk sk-line" style={{ width: '55%' }} />
      </div>
    </div>
  );
}
