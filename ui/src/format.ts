// Pure formatting helpers (no DOM).

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Compact relative time: "now", "5m", "3h", "2d", then "Mar 5" / "Mar 5, 2023". */
export function relativeTime(iso: string | Date, now: Date = new Date()): string {
  const d = iso instanceof Date ? iso : new Date(iso);
  const t = d.getTime();
  if (Number.isNaN(t)) return '';
  const secs = Math.floor((now.getTime() - t) / 1000);
  if (secs < 45) return 'now'; // includes small clock skew into the future
  const mins = Math.floor(secs / 60);
  if (secs < 3600) return `${Math.max(1, mins)}m`;
  const hours = Math.floor(secs / 3600);
  if (hours < 24) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 7) return `${days}d`;
  const base = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  return d.getFullYear() === now.getFullYear() ? base : `${base}, ${d.getFullYear()}`;
}

/** Full local date and time, for the title of a <time> element. */
export function absoluteTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
}

/** Local time of day, short ("20:27" or "8:27 PM", as the locale writes it). */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(undefined, { timeStyle: 'short' });
}

function counted(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** The digest's opening line: "27 posts since 20:27 in 10 topics" (no topics: "3 posts since 20:27"). */
export function digestSummary(posts: number, since: string, topics: number): string {
  const head = `${counted(posts, 'post', 'posts')} since ${clockTime(since)}`;
  return topics > 0 ? `${head} in ${counted(topics, 'topic', 'topics')}` : head;
}

/** "3 posts are still being read by the on-device model." */
export function notYetReadText(n: number): string {
  return `${counted(n, 'post is', 'posts are')} still being read by the on-device model.`;
}

/** A digest topic's size: "(1 post)", "(12 posts)". */
export function topicSizeText(size: number): string {
  return `(${counted(size, 'post', 'posts')})`;
}

export type Segment = { type: 'text'; value: string } | { type: 'link'; value: string; href: string };

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** Splits text into plain-text and http(s) link segments. Never produces HTML. */
export function linkify(text: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    const start = m.index ?? 0;
    // Trim trailing punctuation that is almost never part of the link.
    while (url.length > 0) {
      const ch = url[url.length - 1];
      if ('.,;:!?\'"'.includes(ch)) {
        url = url.slice(0, -1);
      } else if (ch === ')' && count(url, '(') < count(url, ')')) {
        url = url.slice(0, -1);
      } else if (ch === ']' && count(url, '[') < count(url, ']')) {
        url = url.slice(0, -1);
      } else break;
    }
    if (!isHttpUrl(url)) continue;
    if (start > last) out.push({ type: 'text', value: text.slice(last, start) });
    out.push({ type: 'link', value: url, href: url });
    last = start + url.length;
  }
  if (last < text.length) out.push({ type: 'text', value: text.slice(last) });
  return out;
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

/** Shortens a URL for display: drops the scheme and "www.", ellipsises long paths. */
export function displayUrl(url: string, max = 40): string {
  const s = url.replace(/^https?:\/\//i, '').replace(/^www\./i, '');
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** Up to two initials from a display name (falls back to the handle). */
export function initials(displayName: string, handle = ''): string {
  const words = (displayName || handle).replace(/^@/, '').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]][0] ?? '';
  const second = words.length > 1 ? ([...words[words.length - 1]][0] ?? '') : '';
  return (first + second).toUpperCase();
}

/** Black or white text, whichever contrasts more with a "#rrggbb" background. */
export function textColorOn(hex: string): '#ffffff' | '#111111' {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return '#ffffff';
  const n = parseInt(m[1], 16);
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  const L = 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  const contrastWhite = 1.05 / (L + 0.05);
  const contrastBlack = (L + 0.05) / (0.0611 + 0.05); // #111111
  return contrastWhite >= contrastBlack ? '#ffffff' : '#111111';
}

export function safeColor(hex: string): string {
  return /^#[0-9a-f]{6}$/i.test(hex) ? hex : '#6b7280';
}

/** "12", "1.2K", "3.4M" */
export function compactCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${trim1(n / 1000)}K`;
  return `${trim1(n / 1_000_000)}M`;
}
function trim1(x: number): string {
  return (Math.floor(x * 10) / 10).toFixed(1).replace(/\.0$/, '');
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '';
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${trim1(n / 1024)} KB`;
  return `${trim1(n / (1024 * 1024))} MB`;
}

const SOURCE_LABELS: Record<string, string> = {
  local: 'You',
  demo: 'Demo',
  rss: 'RSS',
  mastodon: 'Mastodon',
  bluesky: 'Bluesky',
};

export function sourceLabel(kind: string): string {
  return SOURCE_LABELS[kind] ?? kind;
}

const TONE_WORDS: Record<string, string> = { positive: 'Positive', neutral: 'Neutral', negative: 'Negative' };

/**
 * A tone tag in words: `text` for the chip ("Negative") and `description` for its tooltip and
 * accessible name ("Tone: negative (score −0.82), tagged on this device"). Null for unknown labels.
 */
export function toneText(tone: { label: string; score: number } | null | undefined): { text: string; description: string } | null {
  if (!tone || !(tone.label in TONE_WORDS)) return null;
  const score = Number.isFinite(tone.score) ? Math.max(-1, Math.min(1, tone.score)) : 0;
  const fixed = Math.abs(score).toFixed(2);
  const signed = fixed === '0.00' ? fixed : (score < 0 ? '\u2212' : '') + fixed;
  return {
    text: TONE_WORDS[tone.label],
    description: `Tone: ${tone.label} (score ${signed}), tagged on this device`,
  };
}

/** The enrichment pipeline's state in plain words for Settings → Models. */
export function enrichmentText(s: { state: string; done: number; total: number; message: string | null }): string {
  const detail = s.message?.trim();
  switch (s.state) {
    case 'starting':
      return 'Starting…';
    case 'working':
      return 'Working…';
    case 'idle':
      return 'Up to date';
    case 'unavailable':
      return detail ? `Models not installed: ${detail}` : 'Models not installed';
    case 'off':
      return detail ? `Tone tagging is off: ${detail}` : 'Tone tagging is off';
    default:
      return detail ?? s.state;
  }
}

/** "Tagged 1,204 of 3,000 posts". */
export function taggedText(done: number, total: number): string {
  const d = Math.max(0, Math.min(done, total));
  return `Tagged ${d.toLocaleString()} of ${total.toLocaleString()} ${total === 1 ? 'post' : 'posts'}`;
}

const MB = 1024 * 1024;

/** Bytes as megabytes with one decimal: 95_315_968 -> "90.9". */
export function megabytes(n: number): string {
  const v = Number.isFinite(n) && n > 0 ? n / MB : 0;
  return v.toFixed(1);
}

/** "90.9 MB" (at least "0.1 MB" for anything non-empty). */
export function sizeMB(n: number): string {
  const v = Number.isFinite(n) && n > 0 ? Math.max(0.1, n / MB) : 0;
  return `${v.toFixed(1)} MB`;
}

/** A model download's progress: "model.onnx — 12.3 of 90.9 MB" (without the total when unknown). */
export function downloadText(file: string | null, done: number, total: number): string {
  const name = file?.trim() || 'Downloading';
  const amount = total > 0 ? `${megabytes(Math.min(done, total))} of ${megabytes(total)} MB` : `${megabytes(done)} MB`;
  return `${name} — ${amount}`;
}

/** A failed download's error as a plain sentence. */
export function downloadError(error: string | null | undefined): string {
  const e = error?.trim();
  return e ? asSentence(e) : 'The download did not finish.';
}

/** "a plain phrase" -> "A plain phrase." (backend messages are lower-case phrases). */
export function asSentence(e: string): string {
  const first = e.charAt(0).toUpperCase() + e.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}

/**
 * The reasons to list under "Why this post?": `reasons`, or the single `reason` when the list is
 * empty (or missing); none outside ranked mode. Blank entries are dropped.
 */
export function reasonsToShow(post: { reason: string | null; reasons?: string[] | null }): string[] {
  const listed = (post.reasons ?? []).filter((r) => r.trim() !== '');
  if (listed.length > 0) return listed;
  return post.reason?.trim() ? [post.reason] : [];
}

/** Whether a ranking reason explains why a post sits lower ("Lower: you have seen it already"). */
export function isDemotion(reason: string): boolean {
  return /^lower\b/i.test(reason.trim());
}

/** "Learned from 1 interaction." / "Learned from 1,204 interactions." */
export function learnedText(interactions: number): string {
  const n = Math.max(0, Math.floor(Number.isFinite(interactions) ? interactions : 0));
  return `Learned from ${n.toLocaleString()} ${n === 1 ? 'interaction' : 'interactions'}.`;
}

/** What marks a description the image model wrote, wherever one is shown or read out. */
export const MACHINE_PREFIX = 'Machine-generated description:';

/**
 * The alt text of an image in a post: the author's own when there is any (it always wins),
 * else the image model's description marked as machine-generated, else empty.
 * `human` and `machine` say which one it is, for the badge next to the image.
 */
export function imageAlt(m: { alt_text: string | null; machine_description?: string | null }): {
  alt: string;
  human: string | null;
  machine: string | null;
} {
  const human = m.alt_text?.trim() ? m.alt_text : null;
  if (human) return { alt: human, human, machine: null };
  const machine = m.machine_description?.trim() || null;
  return { alt: machine ? `${MACHINE_PREFIX} ${machine}` : '', human: null, machine };
}

/** "Labelled 12 of 40 images". */
export function labelledText(done: number, total: number): string {
  const d = Math.max(0, Math.min(done, total));
  return `Labelled ${d.toLocaleString()} of ${total.toLocaleString()} ${total === 1 ? 'image' : 'images'}`;
}

/** Image labelling in plain words for Settings → Models: why images wait, or how far it got. */
export function imageLabellingText(s: { done: number; total: number; message: string | null }): string {
  const detail = s.message?.trim();
  if (detail) return asSentence(detail);
  return s.total <= 0 || s.done >= s.total ? 'Up to date' : 'Working…';
}

/** "Transcribed 3 of 12 recordings". */
export function transcribedText(done: number, total: number): string {
  const d = Math.max(0, Math.min(done, total));
  return `Transcribed ${d.toLocaleString()} of ${total.toLocaleString()} ${total === 1 ? 'recording' : 'recordings'}`;
}

/** Speech transcription in plain words for Settings → Models: why recordings wait, or how far it got. */
export function speechText(s: { done: number; total: number; message: string | null }): string {
  const detail = s.message?.trim();
  if (detail) return asSentence(detail);
  return s.total <= 0 || s.done >= s.total ? 'Up to date' : 'Working…';
}

// ---------------------------------------------------------------------------------------------
// Feed subscriptions (Settings → Subscriptions)

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A stretch of time in words, in the largest unit that fits: "1 minute", "25 minutes",
 * "3 hours", "2 days" (at least a minute). `round` turns the count in that unit into a whole number.
 */
export function durationWords(ms: number, round: (x: number) => number = Math.floor): string {
  const t = Math.max(0, ms);
  const [n, one, many] =
    t < HOUR ? [t / MINUTE, 'minute', 'minutes'] : t < DAY ? [t / HOUR, 'hour', 'hours'] : [t / DAY, 'day', 'days'];
  return counted(Math.max(1, round(n)), one, many);
}

/** How long ago `iso` was: "just now" (under a minute, or a little in the future), "5 minutes ago", "2 days ago". */
export function agoText(iso: string, now: Date = new Date()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const ms = now.getTime() - t;
  return ms < MINUTE ? 'just now' : `${durationWords(ms)} ago`;
}

/** How long until `iso`: "in 25 minutes", "in 2 hours"; "in a moment" when under a minute or already past. */
export function inText(iso: string, now: Date = new Date()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const ms = t - now.getTime();
  return ms < MINUTE ? 'in a moment' : `in ${durationWords(ms, Math.round)}`;
}

/** The host a feed is read from, without "www.": "https://www.example.com/feed.xml" -> "example.com". */
export function feedHost(url: string): string {
  try {
    const host = new URL(url).host;
    return host.replace(/^www\./i, '') || url;
  } catch {
    return url;
  }
}

type SourceStateFields = {
  state: string;
  paused: boolean;
  last_sync_at: string | null;
  next_sync_at: string | null;
  last_error: string | null;
};

/**
 * Where a subscription stands, in plain words: "Synced 5 minutes ago · next in 25 minutes",
 * "Not synced yet", "Paused", "Failing: <why>", "Syncing…". `fetching`: the refresh running now
 * is fetching it.
 */
export function sourceStateText(s: SourceStateFields, now: Date = new Date(), fetching = false): string {
  if (fetching || s.state === 'syncing') return 'Syncing…';
  if (s.paused || s.state === 'paused') return 'Paused';
  if (s.state === 'failing') {
    const why = s.last_error?.trim();
    return why ? `Failing: ${why}` : 'Failing';
  }
  const last = s.last_sync_at ? agoText(s.last_sync_at, now) : '';
  const next = s.next_sync_at ? inText(s.next_sync_at, now) : '';
  return [last ? `Synced ${last}` : 'Not synced yet', next ? `next ${next}` : ''].filter(Boolean).join(' · ');
}

/** "12 posts", "1 post". */
export function postCountText(n: number): string {
  return counted(Math.max(0, n), 'post', 'posts');
}

/**
 * A running refresh in words: "Refreshing 3 of 12: Example Blog" while a feed is being fetched,
 * else "Refreshing feeds: 2 of 12 done"; '' when nothing is refreshing.
 */
export function syncText(s: { state: string; done: number; total: number; current: string | null }): string {
  if (s.state !== 'syncing') return '';
  const total = Math.max(0, s.total);
  const done = Math.max(0, Math.min(s.done, total));
  const current = s.current?.trim();
  if (current && total > 0) return `Refreshing ${Math.min(done + 1, total).toLocaleString()} of ${total.toLocaleString()}: ${current}`;
  return `Refreshing feeds: ${done.toLocaleString()} of ${total.toLocaleString()} done`;
}

/** "Refreshed 2 of 12 feeds" (the refresh bar's value in words). */
export function refreshedText(done: number, total: number): string {
  const d = Math.max(0, Math.min(done, total));
  return `Refreshed ${d.toLocaleString()} of ${total.toLocaleString()} ${total === 1 ? 'feed' : 'feeds'}`;
}

/** What an OPML import did: "Added 5 feeds, 2 already subscribed." (and how many could not be added). */
export function opmlImportText(r: { added: number; existing: number; errors: unknown[] }): string {
  const added = r.added > 0 ? `Added ${counted(r.added, 'feed', 'feeds')}` : 'Added no feeds';
  const existing = r.existing > 0 ? `, ${r.existing.toLocaleString()} already subscribed` : '';
  const failed = r.errors.length > 0 ? `; ${counted(r.errors.length, 'feed', 'feeds')} could not be added` : '';
  return `${added}${existing}${failed}.`;
}

/** What removing a subscription deleted: "Removed 12 posts; kept 2 you liked." */
export function removedText(r: { removed_posts: number; kept_posts: number }): string {
  const removed = `Removed ${counted(Math.max(0, r.removed_posts), 'post', 'posts')}`;
  return r.kept_posts > 0 ? `${removed}; kept ${r.kept_posts.toLocaleString()} you liked.` : `${removed}.`;
}
