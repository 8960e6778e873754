// Client-side validation of a draft, mirroring the limits in docs/api.md, of what is typed
// when subscribing to a feed (its address, its tags), and when signing in to Mastodon or Bluesky
// (a server's address, a handle, an app password).

export const MiB = 1024 * 1024;

export const LIMITS = {
  textMax: 5000,
  altTextMax: 1500,
  searchMax: 500,
  imagesMax: 4,
  imageBytes: 10 * MiB,
  audioBytes: 25 * MiB,
  bodyBytes: 40 * MiB,
  imageMimes: ['image/png', 'image/jpeg', 'image/gif', 'image/webp'],
  audioMimes: ['audio/wav', 'audio/x-wav', 'audio/mpeg', 'audio/ogg', 'audio/flac', 'audio/mp4', 'audio/webm'],
} as const;

export type DraftFile = { name: string; mime: string; size: number; alt_text?: string };
export type Draft = { text: string; images: DraftFile[]; audio: DraftFile | null };
export type DraftErrors = { text?: string; images?: string; audio?: string; form?: string };

/** Characters as the backend counts them (Unicode scalar values). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function base64Len(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** Rough size of the JSON body for a draft. */
export function estimateBodyBytes(d: Draft): number {
  let total = new TextEncoder().encode(d.text).length + 256;
  for (const f of [...d.images, ...(d.audio ? [d.audio] : [])]) {
    total += base64Len(f.size) + f.name.length + (f.alt_text?.length ?? 0) * 3 + 128;
  }
  return total;
}

/** Returns an object of plain-language error messages; empty when the draft can be sent. */
export function validateDraft(d: Draft): DraftErrors {
  const errors: DraftErrors = {};
  // The backend trims trailing whitespace before counting.
  const chars = charCount(d.text.trimEnd());
  const hasMedia = d.images.length > 0 || d.audio !== null;
  if (chars > LIMITS.textMax) {
    errors.text = `Posts can be at most ${LIMITS.textMax.toLocaleString('en')} characters (${(chars - LIMITS.textMax).toLocaleString('en')} over).`;
  } else if (!hasMedia && d.text.trim() === '') {
    errors.text = 'Write something or attach an image or audio.';
  }

  if (d.images.length > LIMITS.imagesMax) {
    errors.images = `You can attach at most ${LIMITS.imagesMax} images.`;
  } else {
    const badType = d.images.find((f) => !(LIMITS.imageMimes as readonly string[]).includes(f.mime));
    const tooBig = d.images.find((f) => f.size > LIMITS.imageBytes);
    if (badType) errors.images = `“${badType.name}” is not a PNG, JPEG, GIF or WebP image.`;
    else if (tooBig) errors.images = `“${tooBig.name}” is larger than 10 MB.`;
  }

  if (d.audio) {
    if (!(LIMITS.audioMimes as readonly string[]).includes(d.audio.mime)) {
      errors.audio = `“${d.audio.name}” is not a supported audio file (WAV, MP3, OGG, FLAC, M4A or WebM).`;
    } else if (d.audio.size > LIMITS.audioBytes) {
      errors.audio = `“${d.audio.name}” is larger than 25 MB.`;
    }
  }

  if (!errors.images && !errors.audio && estimateBodyBytes(d) > LIMITS.bodyBytes) {
    errors.form = 'The attachments are too large to send together (about 30 MB in total at most).';
  }
  return errors;
}

export function hasErrors(e: DraftErrors): boolean {
  return Boolean(e.text || e.images || e.audio || e.form);
}

/** Best-effort MIME for a file whose browser-reported type is empty. */
export function guessMime(name: string, reported: string): string {
  if (reported) return reported === 'audio/mp3' ? 'audio/mpeg' : reported === 'audio/x-flac' ? 'audio/flac' : reported;
  const ext = name.toLowerCase().split('.').pop() ?? '';
  const map: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    wav: 'audio/wav',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    oga: 'audio/ogg',
    opus: 'audio/ogg',
    flac: 'audio/flac',
    m4a: 'audio/mp4',
    weba: 'audio/webm',
  };
  return map[ext] ?? 'application/octet-stream';
}

/** The address of a feed (or of the site that has one) as typed, checked before it is sent. */
export type FeedAddress = { ok: true; url: string } | { ok: false; message: string };

/**
 * Checks a feed's address before asking the backend to subscribe: an absolute http(s) URL with a
 * host. "example.com/feed" gets "https://" in front; anything with another scheme is refused.
 */
export function checkFeedAddress(input: string): FeedAddress {
  const typed = input.trim();
  if (!typed) return { ok: false, message: 'Type the address of a feed, or of the site that has one.' };
  // No scheme at all ("example.com/feed", "localhost:8080/feed"): https is meant. "mailto:…" and
  // the like keep theirs, and are refused below.
  const withScheme = /^[a-z][a-z0-9+.-]*:(?!\d)/i.test(typed) ? typed : `https://${typed.replace(/^\/+/, '')}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, message: 'That is not a web address. It should look like https://example.com/feed.xml.' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: 'Only http and https addresses can be followed.' };
  }
  if (!url.hostname || /\s/.test(typed)) {
    return { ok: false, message: 'That is not a web address. It should look like https://example.com/feed.xml.' };
  }
  return { ok: true, url: url.href };
}

/** Tags typed as a comma-separated list: trimmed, blanks dropped, each once (the first spelling wins). */
export function parseTags(text: string): string[] {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const part of text.split(',')) {
    const tag = part.trim().replace(/\s+/g, ' ');
    const key = tag.toLowerCase();
    if (!tag || seen.has(key)) continue;
    seen.add(key);
    tags.push(tag);
  }
  return tags;
}

/** What is typed to sign in, checked before it is sent: the value to send, or why it cannot be. */
export type Checked = { ok: true; value: string } | { ok: false; message: string };

/**
 * Checks a server's address (a Mastodon server, a Bluesky PDS) and returns its origin:
 * "mastodon.social" -> "https://mastodon.social". A handle typed instead ("@alice@mastodon.social")
 * gives its server, and a profile's address ("https://mastodon.social/@alice") its origin.
 */
export function checkServerAddress(input: string, example = 'mastodon.social'): Checked {
  let typed = input.trim();
  if (!typed) return { ok: false, message: `Type your server’s address, like ${example}.` };
  // "@alice@mastodon.social" or "alice@mastodon.social": the part after the last "@".
  const handle = /^@?[^@\s/:]+@([^@\s/]+)$/.exec(typed);
  if (handle) typed = handle[1];
  const withScheme = /^[a-z][a-z0-9+.-]*:(?!\d)/i.test(typed) ? typed : `https://${typed.replace(/^\/+/, '')}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, message: `That is not a server’s address. It should look like ${example}.` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: 'Only http and https addresses can be used.' };
  }
  if (!url.hostname || /\s/.test(typed) || url.username || url.password) {
    return { ok: false, message: `That is not a server’s address. It should look like ${example}.` };
  }
  return { ok: true, value: url.origin };
}

const DOMAIN_HANDLE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const DID = /^did:[a-z]+:[a-z0-9._:%-]+$/i;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Checks a Bluesky handle ("alice.bsky.social", with or without its "@"), or the account's DID or
 * e-mail address, which Bluesky also signs in with. Returns it without the "@".
 */
export function checkBlueskyHandle(input: string): Checked {
  const typed = input.trim().replace(/^@/, '');
  if (!typed) return { ok: false, message: 'Type your Bluesky handle, like alice.bsky.social.' };
  if (DID.test(typed) || EMAIL.test(typed)) return { ok: true, value: typed };
  if (!typed.includes('.')) return { ok: false, message: `Type your full handle, like ${typed}.bsky.social.` };
  if (!DOMAIN_HANDLE.test(typed)) return { ok: false, message: 'That is not a Bluesky handle. It should look like alice.bsky.social.' };
  return { ok: true, value: typed };
}

/** Checks that an app password was typed; it is sent as typed (spaces at the ends dropped). */
export function checkAppPassword(input: string): Checked {
  const typed = input.trim();
  if (!typed) return { ok: false, message: 'Type an app password. You can make one in Bluesky’s settings.' };
  return { ok: true, value: typed };
}
