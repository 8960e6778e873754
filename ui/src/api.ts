// The ONE module that talks to the backend (contract: docs/api.md).
// Inside the desktop app it calls Tauri commands; in browser mode (`hearth serve`) it calls the
// HTTP API with the per-run token. Every failure is thrown as an `ApiError`.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { openUrl } from '@tauri-apps/plugin-opener';
import type {
  Account,
  Digest,
  EnrichmentStatus,
  ErrorCode,
  FeedPage,
  FeedQuery,
  ImageDescription,
  InteractionInput,
  ModelStatus,
  Mutes,
  NewPost,
  Notification,
  OpmlImport,
  OutboxItem,
  Post,
  Progress,
  RemovedSource,
  SearchResult,
  SignIn,
  SignInState,
  SourceChange,
  SourceInfo,
  Status,
  SyncStatus,
  ToneLabel,
} from './types';

const ERROR_CODES: readonly ErrorCode[] = [
  'invalid_input',
  'not_found',
  'unauthorized',
  'payload_too_large',
  'conflict',
  'unavailable',
  'database_too_new',
  'internal',
];

export class ApiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

export const TOKEN_KEY = 'hearth.token';

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'invalid_input',
  401: 'unauthorized',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  503: 'unavailable',
};

const FALLBACK_MESSAGES: Record<ErrorCode, string> = {
  invalid_input: 'That request was not valid.',
  not_found: 'That item no longer exists.',
  unauthorized: 'This page is not authorised. Open the link Hearth printed when it started.',
  payload_too_large: 'That is too large to send.',
  conflict: 'That conflicts with something that already exists.',
  unavailable: 'Hearth is not reachable right now.',
  database_too_new: 'The database was written by a newer version of Hearth.',
  internal: 'Something went wrong inside Hearth.',
};

/** Turns anything thrown by a transport into an ApiError with a plain message. */
export function toApiError(err: unknown, httpStatus?: number): ApiError {
  if (err instanceof ApiError) return err;
  if (err && typeof err === 'object') {
    const o = err as { code?: unknown; message?: unknown };
    if (typeof o.code === 'string' && (ERROR_CODES as readonly string[]).includes(o.code)) {
      const code = o.code as ErrorCode;
      const message = typeof o.message === 'string' && o.message.trim() ? sentence(o.message.trim()) : FALLBACK_MESSAGES[code];
      return new ApiError(code, message);
    }
  }
  if (httpStatus !== undefined) {
    const code = STATUS_CODES[httpStatus] ?? 'internal';
    return new ApiError(code, FALLBACK_MESSAGES[code]);
  }
  if (typeof err === 'string' && err.trim()) return new ApiError('internal', err);
  return new ApiError('internal', FALLBACK_MESSAGES.internal);
}

/** "type a word" -> "Type a word." (backend messages are plain lower-case phrases). */
function sentence(s: string): string {
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}

// ---------------------------------------------------------------------------------------------
// Environment

type Win = Window & typeof globalThis;

export function isTauri(w: object = window): boolean {
  return '__TAURI_INTERNALS__' in w;
}

let cachedToken: string | null | undefined;

/**
 * Reads `?token=` from the page URL once, keeps it in sessionStorage and removes it from the
 * address bar. Later calls return the stored token.
 */
export function token(w: Win = window): string | null {
  if (cachedToken !== undefined) return cachedToken;
  const url = new URL(w.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    try {
      w.sessionStorage.setItem(TOKEN_KEY, fromUrl);
    } catch {
      /* storage may be disabled; the in-memory copy still works */
    }
    url.searchParams.delete('token');
    w.history.replaceState(w.history.state, '', url.pathname + url.search + url.hash);
    cachedToken = fromUrl;
  } else {
    let stored: string | null = null;
    try {
      stored = w.sessionStorage.getItem(TOKEN_KEY);
    } catch {
      stored = null;
    }
    cachedToken = stored;
  }
  return cachedToken;
}

/** For tests only. */
export function _resetForTests(): void {
  cachedToken = undefined;
}

/** URL of a media item's bytes, usable in <img>/<audio> src. */
export function mediaUrl(id: number, w: Win = window): string {
  if (isTauri(w)) {
    return /Windows/.test(w.navigator.userAgent)
      ? `http://hearth.localhost/media/${id}`
      : `hearth://localhost/media/${id}`;
  }
  const t = token(w);
  return `/api/media/${id}` + (t ? `?token=${encodeURIComponent(t)}` : '');
}

/**
 * A URL an <audio> or <video> element can play. WebKitGTK's media pipeline cannot read the
 * app's custom `hearth://` scheme, so inside the desktop app the bytes are fetched once and
 * played from a `blob:` URL (the caller revokes it with `releasePlayableUrl`). In the browser
 * the HTTP URL streams with range requests as usual.
 */
export async function playableMediaUrl(id: number, w: Win = window): Promise<string> {
  const url = mediaUrl(id, w);
  if (!isTauri(w)) return url;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ApiError('unavailable', `Could not load media ${id}: ${String(e)}`);
  }
  if (!response.ok) throw new ApiError('not_found', `Media ${id} could not be loaded (${response.status}).`);
  return URL.createObjectURL(await response.blob());
}

/** Frees a URL made by `playableMediaUrl` (a no-op for plain HTTP URLs). */
export function releasePlayableUrl(url: string | null | undefined): void {
  if (url && url.startsWith('blob:')) URL.revokeObjectURL(url);
}

// ---------------------------------------------------------------------------------------------
// Request building (exported for tests)

export type Call = {
  command: string;
  args?: Record<string, unknown>;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  keepalive?: boolean;
  /** What a successful HTTP reply holds: JSON (the default), or a text file read as it is. */
  reply?: 'json' | 'text';
};

function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

function dropUndefined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** The feed query as sent: `calm` only when it is true (the backend treats absence as false). */
function feedQuery(q: FeedQuery): FeedQuery {
  const { calm, ...rest } = q;
  return dropUndefined(calm === true ? { ...rest, calm: true } : rest);
}

export const calls = {
  feed: (q: FeedQuery): Call => ({
    command: 'feed',
    args: { query: feedQuery(q) },
    method: 'GET',
    path:
      '/api/feed' +
      query({
        mode: q.mode,
        cursor: q.cursor,
        limit: q.limit,
        author_id: q.author_id,
        source_id: q.source_id,
        has_media: q.has_media,
        include_hidden: q.include_hidden,
        calm: q.calm === true ? true : undefined,
      }),
  }),
  getPost: (id: number): Call => ({ command: 'get_post', args: { id }, method: 'GET', path: `/api/posts/${id}` }),
  thread: (id: number): Call => ({ command: 'thread', args: { id }, method: 'GET', path: `/api/posts/${id}/thread` }),
  recordInteraction: (input: InteractionInput, keepalive = false): Call => ({
    command: 'record_interaction',
    args: { input: dropUndefined(input) },
    method: 'POST',
    path: '/api/interactions',
    body: dropUndefined(input),
    keepalive,
  }),
  createPost: (post: NewPost): Call => ({
    command: 'create_post',
    args: { post },
    method: 'POST',
    path: '/api/posts',
    body: post,
  }),
  search: (q: string, limit?: number, tone?: ToneLabel | null): Call => ({
    command: 'search',
    // `tone` only when a filter is set (absence means every tone).
    args: dropUndefined({ query: q, limit, tone: tone ?? undefined }),
    method: 'GET',
    path: '/api/search' + query({ q, limit, tone }),
  }),
  describeImage: (dataBase64: string): Call => ({
    command: 'describe_image',
    args: { request: { data_base64: dataBase64 } },
    method: 'POST',
    path: '/api/images/describe',
    body: { data_base64: dataBase64 },
  }),
  mutes: (): Call => ({ command: 'mutes', method: 'GET', path: '/api/mutes' }),
  digest: (): Call => ({ command: 'digest', method: 'GET', path: '/api/digest' }),
  status: (): Call => ({ command: 'status', method: 'GET', path: '/api/status' }),
  resetPersonalisation: (forgetInteractions: boolean): Call => ({
    command: 'reset_personalisation',
    args: { forgetInteractions },
    method: 'POST',
    path: '/api/personalisation/reset',
    body: { forget_interactions: forgetInteractions },
  }),
  importDemo: (): Call => ({ command: 'import_demo', method: 'POST', path: '/api/demo' }),
  enrichmentStatus: (): Call => ({ command: 'enrichment_status', method: 'GET', path: '/api/enrichment' }),
  models: (): Call => ({ command: 'models', method: 'GET', path: '/api/models' }),
  downloadModel: (id: string): Call => ({
    command: 'download_model',
    args: { id },
    method: 'POST',
    path: `/api/models/${encodeURIComponent(id)}/download`,
  }),
  setSpeechModel: (model: string): Call => ({
    command: 'set_speech_model',
    args: { model },
    method: 'POST',
    path: '/api/speech-model',
    body: { model },
  }),
  cancelTranscription: (mediaId: number): Call => ({
    command: 'cancel_transcription',
    args: { mediaId },
    method: 'POST',
    path: `/api/media/${mediaId}/transcription/cancel`,
  }),
  retryTranscription: (mediaId: number): Call => ({
    command: 'retry_transcription',
    args: { mediaId },
    method: 'POST',
    path: `/api/media/${mediaId}/transcription/retry`,
  }),
  sources: (): Call => ({ command: 'sources', method: 'GET', path: '/api/sources' }),
  addSource: (url: string): Call => ({
    command: 'add_source',
    args: { url },
    method: 'POST',
    path: '/api/sources',
    body: { url },
  }),
  updateSource: (id: number, change: SourceChange): Call => ({
    command: 'update_source',
    // Only the fields being changed: absence means "leave as it is".
    args: { id, change: dropUndefined(change) },
    method: 'POST',
    path: `/api/sources/${id}`,
    body: dropUndefined(change),
  }),
  removeSource: (id: number, keepLiked: boolean): Call => ({
    command: 'remove_source',
    args: { id, keepLiked },
    method: 'POST',
    path: `/api/sources/${id}/remove`,
    body: { keep_liked: keepLiked },
  }),
  syncNow: (sourceId?: number | null): Call => ({
    command: 'sync_now',
    // null: every subscription that is not paused.
    args: { sourceId: sourceId ?? null },
    method: 'POST',
    path: '/api/sync',
    body: { source_id: sourceId ?? null },
  }),
  importOpml: (opml: string): Call => ({
    command: 'import_opml',
    args: { opml },
    method: 'POST',
    path: '/api/opml/import',
    body: { opml },
  }),
  exportOpml: (): Call => ({ command: 'export_opml', method: 'GET', path: '/api/opml/export', reply: 'text' }),
  accounts: (): Call => ({ command: 'accounts', method: 'GET', path: '/api/accounts' }),
  beginMastodonSignIn: (server: string): Call => ({
    command: 'begin_mastodon_sign_in',
    args: { server },
    method: 'POST',
    path: '/api/accounts/mastodon',
    body: { server },
  }),
  signInState: (id: string): Call => ({
    command: 'sign_in_state',
    args: { id },
    method: 'GET',
    path: `/api/accounts/sign-in/${encodeURIComponent(id)}`,
  }),
  addBlueskyAccount: (handle: string, appPassword: string, service?: string | null): Call => {
    // `service` only when one was given (absence means https://bsky.social).
    const request = dropUndefined({ handle, app_password: appPassword, service: service || undefined });
    return { command: 'add_bluesky_account', args: { request }, method: 'POST', path: '/api/accounts/bluesky', body: request };
  },
  removeAccount: (id: number): Call => ({ command: 'remove_account', args: { id }, method: 'POST', path: `/api/accounts/${id}/remove` }),
  notifications: (limit?: number): Call => ({
    command: 'notifications',
    args: dropUndefined({ limit }),
    method: 'GET',
    path: '/api/notifications' + query({ limit }),
  }),
  /** Marks notifications read up to `upToId` (the newest shown), so one that arrived meanwhile stays new; all without it. */
  cancelSignIn: (id: string): Call => ({
    command: 'cancel_sign_in',
    args: { id },
    method: 'POST',
    path: `/api/accounts/sign-in/${encodeURIComponent(id)}/cancel`,
  }),
  markNotificationsRead: (upToId?: number): Call => ({
    command: 'mark_notifications_read',
    args: upToId === undefined ? undefined : { upToId },
    method: 'POST',
    path: '/api/notifications/read',
    body: upToId === undefined ? {} : { up_to_id: upToId },
  }),
  outbox: (): Call => ({ command: 'outbox', method: 'GET', path: '/api/outbox' }),
  retryOutbox: (id: number): Call => ({ command: 'retry_outbox', args: { id }, method: 'POST', path: `/api/outbox/${id}/retry` }),
  discardOutbox: (id: number): Call => ({ command: 'discard_outbox', args: { id }, method: 'POST', path: `/api/outbox/${id}/discard` }),
};

/** The Accept header of a text reply: the OPML export is served as `text/x-opml`. */
const TEXT_ACCEPT = 'text/x-opml, application/xml;q=0.9, text/*;q=0.8';

export function buildRequest(c: Call, tok: string | null): { url: string; init: RequestInit } {
  const headers: Record<string, string> = { Accept: c.reply === 'text' ? TEXT_ACCEPT : 'application/json' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  const init: RequestInit = { method: c.method, headers, credentials: 'same-origin' };
  if (c.method === 'POST') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(c.body ?? {});
  }
  if (c.keepalive) init.keepalive = true;
  return { url: c.path, init };
}

async function viaTauri<T>(c: Call): Promise<T> {
  try {
    return await invoke<T>(c.command, c.args ?? {});
  } catch (err) {
    throw toApiError(err);
  }
}

/** The JSON value in `text`, or undefined when it is empty or not JSON. */
function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function viaHttp<T>(c: Call, w: Win): Promise<T> {
  const { url, init } = buildRequest(c, token(w));
  let res: Response;
  try {
    res = await w.fetch(url, init);
  } catch {
    throw new ApiError('unavailable', 'Could not reach Hearth. Is it still running?');
  }
  const read = await res.text().catch(() => null);
  const text = read ?? '';
  const body = parseJson(text);
  if (!res.ok) throw toApiError(body, res.status);
  // Errors are JSON either way; a text reply that worked is the text itself.
  if (c.reply === 'text') {
    if (read === null) throw new ApiError('unavailable', 'The reply from Hearth broke off. Try again.');
    return read as T;
  }
  if (body === undefined && text) throw new ApiError('internal', 'Hearth sent a reply that could not be read.');
  return (body ?? null) as T;
}

export function send<T>(c: Call, w: Win = window): Promise<T> {
  return isTauri(w) ? viaTauri<T>(c) : viaHttp<T>(c, w);
}

// ---------------------------------------------------------------------------------------------
// Operations

export const api = {
  feed: (q: FeedQuery) => send<FeedPage>(calls.feed(q)),
  getPost: (id: number) => send<Post>(calls.getPost(id)),
  /**
   * The conversation around a post from a Mastodon or Bluesky account, fetched from its server
   * now: the ancestors (oldest first), the post itself, then its replies. `unavailable` when the
   * server cannot be reached or the account must sign in again.
   */
  thread: (id: number) => send<Post[]>(calls.thread(id)),
  recordInteraction: (input: InteractionInput, opts?: { keepalive?: boolean }) =>
    send<Post | null>(calls.recordInteraction(input, opts?.keepalive)),
  createPost: (post: NewPost) => send<Post>(calls.createPost(post)),
  search: (q: string, limit?: number, tone?: ToneLabel | null) => send<SearchResult>(calls.search(q, limit, tone)),
  /**
   * What the on-device image model sees in an image about to be attached (base64, no `data:`
   * prefix), and the alt text it suggests; stores nothing. `unavailable` when the model is not installed.
   */
  describeImage: (dataBase64: string) => send<ImageDescription>(calls.describeImage(dataBase64)),
  mutes: () => send<Mutes>(calls.mutes()),
  /** Today's posts (the last 24 hours) grouped into topics. */
  digest: () => send<Digest>(calls.digest()),
  status: () => send<Status>(calls.status()),
  /**
   * Forgets what the ranker learned; `forgetInteractions` also deletes the interaction history
   * (likes and hides stay on the posts). Returns the status as it is afterwards.
   */
  resetPersonalisation: (forgetInteractions: boolean) => send<Status>(calls.resetPersonalisation(forgetInteractions)),
  importDemo: () => send<{ imported: number }>(calls.importDemo()),
  enrichmentStatus: () => send<EnrichmentStatus>(calls.enrichmentStatus()),
  models: () => send<ModelStatus[]>(calls.models()),
  /** Starts fetching a model's files; `onProgress` reports how far it got. */
  downloadModel: (id: string) => send<ModelStatus[]>(calls.downloadModel(id)),
  /** Chooses the speech model transcription uses from now on; returns the pipeline's status. */
  setSpeechModel: (model: string) => send<EnrichmentStatus>(calls.setSpeechModel(model)),
  /** Stops transcribing an audio attachment (or keeps it from starting); returns the post holding it. */
  cancelTranscription: (mediaId: number) => send<Post>(calls.cancelTranscription(mediaId)),
  /** Queues an audio attachment for transcription again (after a failure or a cancel); returns the post holding it. */
  retryTranscription: (mediaId: number) => send<Post>(calls.retryTranscription(mediaId)),
  /** The feed subscriptions, in the order the backend keeps them. */
  sources: () => send<SourceInfo[]>(calls.sources()),
  /**
   * Subscribes to a feed: the backend fetches and checks it first, finding the feed from a web
   * page's address when it needs to (`invalid_input` when there is none, `unavailable` when the
   * site cannot be reached).
   */
  addSource: (url: string) => send<SourceInfo>(calls.addSource(url)),
  /** Renames, retags, pauses or resumes a subscription; returns it as it is afterwards. */
  updateSource: (id: number, change: SourceChange) => send<SourceInfo>(calls.updateSource(id, change)),
  /** Unsubscribes and deletes the subscription's posts, except the liked ones when `keepLiked`. */
  removeSource: (id: number, keepLiked: boolean) => send<RemovedSource>(calls.removeSource(id, keepLiked)),
  /**
   * Starts refreshing one subscription, or all of them when `sourceId` is left out; `onProgress`
   * reports how far it got (`Progress.sync`).
   */
  syncNow: (sourceId?: number | null) => send<SyncStatus>(calls.syncNow(sourceId)),
  /** Subscribes to every feed in an OPML file (its text). */
  importOpml: (opml: string) => send<OpmlImport>(calls.importOpml(opml)),
  /** Every subscription as an OPML file (its text), for other feed readers. */
  exportOpml: () => send<string>(calls.exportOpml()),
  /** The signed-in Mastodon and Bluesky accounts. */
  accounts: () => send<Account[]>(calls.accounts()),
  /**
   * Starts signing in to a Mastodon server: the user approves Hearth at `authorize_url` (inside
   * the desktop app the backend opens it in the system browser), then `signInState` says how it went.
   */
  beginMastodonSignIn: (server: string) => send<SignIn>(calls.beginMastodonSignIn(server)),
  /** Where a Mastodon sign-in stands: waiting for the user, done (with the account), or failed. */
  signInState: (id: string) => send<SignInState>(calls.signInState(id)),
  /** Gives up on a Mastodon sign-in: the backend stops waiting for the browser. */
  cancelSignIn: (id: string) => send<SignInState>(calls.cancelSignIn(id)),
  /** Signs in to Bluesky with an app password; `service` is the PDS (https://bsky.social when left out). */
  addBlueskyAccount: (handle: string, appPassword: string, service?: string | null) =>
    send<Account>(calls.addBlueskyAccount(handle, appPassword, service)),
  /** Signs out: revokes the sign-in on the server and forgets it; posts the user liked stay. */
  removeAccount: (id: number) => send<Record<string, never>>(calls.removeAccount(id)),
  /** The accounts' notifications, newest first. */
  notifications: (limit?: number) => send<Notification[]>(calls.notifications(limit)),
  markNotificationsRead: (upToId?: number) => send<Record<string, never>>(calls.markNotificationsRead(upToId)),
  /** Actions waiting to be sent to the accounts' servers, and the ones the servers refused. */
  outbox: () => send<OutboxItem[]>(calls.outbox()),
  retryOutbox: (id: number) => send<Record<string, never>>(calls.retryOutbox(id)),
  discardOutbox: (id: number) => send<Record<string, never>>(calls.discardOutbox(id)),
};

// ---------------------------------------------------------------------------------------------
// Pushed progress

/** One Server-Sent Event: its name (`message` when the stream gave none) and its data lines joined by "\n". */
export type SseEvent = { event: string; data: string };

/**
 * Parses the `text/event-stream` format as it arrives. Feed it decoded text in chunks split
 * anywhere; `push` returns the events those chunks completed. Only the `event` and `data` fields
 * are kept (Hearth sends no `id` or `retry`), and comment lines (`:` keep-alives) are skipped.
 */
export class SseParser {
  private pending = '';
  private name = '';
  private data: string[] = [];

  push(chunk: string): SseEvent[] {
    this.pending += chunk;
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.pending.search(/[\r\n]/)) >= 0) {
      // A "\r" at the end of the text so far may be the first half of a "\r\n".
      if (this.pending[end] === '\r' && end === this.pending.length - 1) break;
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + (this.pending.startsWith('\r\n', end) ? 2 : 1));
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    // A comment line (": keep-alive") has an empty field name, so it is skipped below.
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.name = value;
    else if (field === 'data') this.data.push(value);
    return null;
  }

  /** A blank line ends the event; one without data lines is dropped, as browsers do. */
  private dispatch(): SseEvent | null {
    const event = this.data.length > 0 ? { event: this.name || 'message', data: this.data.join('\n') } : null;
    this.name = '';
    this.data = [];
    return event;
  }
}

// The wait before reconnecting to `/api/events`: the first, doubled after each failure up to the max.
export const RECONNECT_FIRST_MS = 1000;
export const RECONNECT_MAX_MS = 30_000;

type ProgressListener = (p: Progress) => void;
type ProgressErrorListener = (e: ApiError) => void;

/**
 * Calls `listener` with the models, the tagging progress and the feed refresh each time the
 * backend reports that they moved, and `onError` when it could not read them (or, in browser
 * mode, reach Hearth). Returns the function that stops listening.
 * Inside the desktop app nothing is sent on subscribing, so fetch the current state first with
 * `api.models()` and `api.enrichmentStatus()`; in browser mode the first event is the current state.
 */
export function onProgress(listener: ProgressListener, onError: ProgressErrorListener = () => {}, w: Win = window): () => void {
  return isTauri(w) ? progressViaTauri(listener, onError) : progressViaHttp(listener, onError, w);
}

function progressViaTauri(listener: ProgressListener, onError: ProgressErrorListener): () => void {
  let stopped = false;
  const unlisteners: UnlistenFn[] = [];
  const subscribe = <T>(event: string, handle: (payload: T) => void) =>
    listen<T>(event, (e) => {
      if (!stopped) handle(e.payload);
    }).then(
      // `listen` resolves later: when unsubscribing came first, the listener goes as soon as it is there.
      (unlisten) => (stopped ? unlisten() : unlisteners.push(unlisten)),
      (err) => {
        if (!stopped) onError(toApiError(err));
      },
    );
  void subscribe<Progress>('progress', listener);
  void subscribe<unknown>('progress-error', (payload) => onError(toApiError(payload)));
  return () => {
    stopped = true;
    for (const unlisten of unlisteners) unlisten();
  };
}

/**
 * Browser mode: reads `GET /api/events` with fetch (EventSource cannot send the token header) and
 * reconnects after the stream ends or cannot be opened, waiting longer after each failure.
 */
function progressViaHttp(listener: ProgressListener, onError: ProgressErrorListener, w: Win): () => void {
  const abort = new AbortController();
  let retry: ReturnType<typeof setTimeout> | undefined;
  let wait = RECONNECT_FIRST_MS;
  const onEvent = (e: SseEvent) => {
    if (abort.signal.aborted) return;
    // An event proves the connection works, so the next drop is retried quickly again.
    wait = RECONNECT_FIRST_MS;
    dispatchProgressEvent(e, listener, onError);
  };
  const connect = async () => {
    try {
      await readEventStream(w, abort.signal, onEvent);
    } catch (err) {
      if (abort.signal.aborted) return;
      const e = toApiError(err);
      onError(e);
      // Trying again cannot fix a wrong token.
      if (e.code === 'unauthorized') return;
    }
    if (abort.signal.aborted) return;
    retry = setTimeout(connect, wait);
    wait = Math.min(wait * 2, RECONNECT_MAX_MS);
  };
  void connect();
  return () => {
    abort.abort();
    clearTimeout(retry);
  };
}

function eventsRequest(tok: string | null, signal: AbortSignal): { url: string; init: RequestInit } {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  return { url: '/api/events', init: { method: 'GET', headers, credentials: 'same-origin', cache: 'no-store', signal } };
}

/**
 * One connection to `/api/events`: hands each event to `onEvent` until the stream ends. Rejects
 * with an ApiError when the connection cannot be opened; a stream that breaks later ends quietly
 * (the caller reconnects either way).
 */
async function readEventStream(w: Win, signal: AbortSignal, onEvent: (e: SseEvent) => void): Promise<void> {
  const { url, init } = eventsRequest(token(w), signal);
  let res: Response;
  try {
    res = await w.fetch(url, init);
  } catch {
    throw new ApiError('unavailable', 'Could not reach Hearth. Is it still running?');
  }
  if (!res.ok || !res.body) throw toApiError(parseJson(await res.text().catch(() => '')), res.status);
  const reader = res.body.getReader();
  // `stream: true` keeps the bytes of a character split between chunks until the rest arrives.
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      return; // broken off (or aborted): handled like an ended stream
    }
    if (chunk.done) return;
    for (const e of parser.push(decoder.decode(chunk.value, { stream: true }))) onEvent(e);
  }
}

/** Hands a `progress` or `error` event's payload to the right callback; other events are ignored. */
function dispatchProgressEvent(e: SseEvent, listener: ProgressListener, onError: ProgressErrorListener): void {
  if (e.event !== 'progress' && e.event !== 'error') return;
  const payload = parseJson(e.data);
  if (payload === undefined) onError(new ApiError('internal', 'Hearth sent progress that could not be read.'));
  else if (e.event === 'progress') listener(payload as Progress);
  else onError(toApiError(payload));
}

// ---------------------------------------------------------------------------------------------
// External links

/**
 * Checks that `url` is an absolute http(s) URL and returns it normalised; anything else (other
 * schemes, relative or malformed URLs) is refused with `invalid_input`.
 */
export function externalHref(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url).trim());
  } catch {
    throw new ApiError('invalid_input', 'That link is not a web address.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ApiError('invalid_input', 'Only http and https links can be opened.');
  }
  return parsed.href;
}

/**
 * Opens a web link outside Hearth: in the desktop app with the system browser (Tauri opener
 * plugin), in browser mode in a new tab without giving it a reference back to this page.
 * Only http(s) URLs are allowed.
 */
export async function openExternal(url: string, w: Win = window): Promise<void> {
  const href = externalHref(url);
  if (isTauri(w)) {
    try {
      await openUrl(href);
    } catch (err) {
      throw toApiError(err);
    }
    return;
  }
  // With "noopener" window.open returns null even when it worked, so the result is not checked.
  w.open(href, '_blank', 'noopener,noreferrer');
}

/** Reads a File as base64 (without the data: prefix). */
export function readAsBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(new ApiError('invalid_input', 'Could not read that file.'));
    reader.onload = () => {
      const result = String(reader.result ?? '');
      const comma = result.indexOf(',');
      resolve(comma >= 0 ? result.slice(comma + 1) : result);
    };
    reader.readAsDataURL(file);
  });
}

/** Reads a File as text (UTF-8 unless the file says otherwise), for files sent as text such as OPML. */
export function readAsText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(new ApiError('invalid_input', 'Could not read that file.'));
    reader.onload = () => resolve(String(reader.result ?? ''));
    reader.readAsText(file);
  });
}
