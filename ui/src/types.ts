// Types of the backend contract (docs/api.md). Keep in sync with the backend.

export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'unauthorized'
  | 'payload_too_large'
  | 'conflict'
  | 'unavailable'
  | 'database_too_new'
  | 'internal';

export type SourceKind = 'local' | 'demo' | 'rss' | 'mastodon' | 'bluesky';

export type Media = {
  id: number;
  kind: 'image' | 'audio' | 'video';
  mime: string;
  size_bytes: number;
  alt_text: string | null;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  /** What the on-device image model recognised, best first; `[]` until the image is labelled. */
  labels: ImageLabel[];
  /**
   * A sentence the machine wrote from `labels` ("Probably an espresso."); null when the model was
   * unsure. Always shown marked as machine-generated, never as the author's alt text.
   */
  machine_description: string | null;
  /**
   * What the on-device speech model heard in an audio attachment, and how far it got; null for
   * images and video. Always shown marked as machine-generated.
   */
  transcript: Transcript | null;
  /**
   * Where a feed's media came from (the `src` of an image in the post's `html`); null for media
   * that did not come from a feed. Only for matching: the UI never loads it, it loads `id`.
   */
  remote_url: string | null;
  /** Whether the bytes are stored on this device (a feed's media may not be fetched yet). */
  cached: boolean;
};

/** Where an audio attachment's transcription stands. */
export type TranscriptStatus = 'waiting' | 'transcribing' | 'done' | 'failed' | 'cancelled';

/** One stretch of speech: `start` and `end` in seconds from the start of the recording. */
export type TranscriptSegment = { start: number; end: number; text: string };

export type Transcript = {
  status: TranscriptStatus;
  /** The whole transcript; '' unless `status` is 'done'. */
  text: string;
  segments: TranscriptSegment[];
  /** The id of the speech model that wrote it ("whisper-tiny-en"), when known. */
  model: string | null;
  /** Why it failed, in plain words (`status` 'failed'). */
  error: string | null;
};

/** One ImageNet-1k class the image model recognised, with its probability (0..1). */
export type ImageLabel = { class_id: number; label: string; score: number };

/** What the image model sees in an image being attached (`describe_image`); `description` is null when it is unsure. */
export type ImageDescription = { labels: ImageLabel[]; description: string | null };

export type Author = { id: number; handle: string; display_name: string; avatar_color: string };

export type Post = {
  id: number;
  source: { id: number; kind: SourceKind; name: string };
  author: Author;
  /** A feed item's title; null for posts without one. */
  title: string | null;
  /** The post as plain text (what search and the models read). */
  text: string;
  /**
   * A feed item's body as HTML, already sanitised by the backend (ammonia); null for posts that
   * are plain text. The UI still renders it only through `RichText`, never as markup.
   */
  html: string | null;
  created_at: string;
  url: string | null;
  media: Media[];
  counts: { likes: number; boosts: number; replies: number };
  state: { liked: boolean; hidden: boolean; show_less: boolean };
  /** Ranked mode only: the main reason this post is here, in plain words (`reasons[0]`). */
  reason: string | null;
  /**
   * Ranked mode only: up to 3 reasons, strongest first; empty in chronological mode. A reason
   * that starts with "Lower" explains why the post sits lower than it otherwise would.
   */
  reasons: string[];
  /** The tone the on-device model gave the text; null until tagged (or when there is no text). */
  tone: Tone | null;
  /** Mastodon content warning / spoiler text: the body stays collapsed until the user opens it. */
  content_warning: string | null;
  /** The server marked the media sensitive: blur every picture until clicked. */
  sensitive: boolean;
  /** Set when this post reached the timeline as a boost/repost: who boosted it. */
  boosted_by: { handle: string; display_name: string } | null;
  /** Posts from accounts only: whether the user has boosted it. (`state.liked` is the like/favourite.) */
  boosted: boolean;
  /** Which accounts it came through when the same post arrived via several (merged, shown once). */
  via: { account_id: number; kind: SourceKind; name: string }[];
};

export type ToneLabel = 'positive' | 'neutral' | 'negative';

export type Tone = { label: ToneLabel; score: number /* -1..1 */ };

export type FeedMode = 'ranked' | 'chronological';

export type FeedPage = { posts: Post[]; next_cursor: string | null };

export type FeedQuery = {
  mode: FeedMode;
  cursor?: string | null;
  limit?: number;
  author_id?: number;
  source_id?: number;
  has_media?: 'image' | 'audio' | null;
  include_hidden?: boolean;
  /** Leave out posts tagged negative. Sent only when true. */
  calm?: boolean;
};

export type InteractionKind =
  | 'like'
  | 'unlike'
  | 'boost'
  | 'unboost'
  | 'reply'
  | 'open'
  | 'dwell'
  | 'hide'
  | 'unhide'
  | 'show_less'
  | 'mute_author'
  | 'unmute_author'
  | 'mute_word'
  | 'unmute_word';

export type InteractionInput = {
  post_id?: number | null;
  kind: InteractionKind;
  dwell_ms?: number;
  value?: string;
};

export type Attachment = { file_name: string; mime: string; data_base64: string; alt_text?: string | null };

export type NewPost = {
  text: string;
  images: Attachment[];
  audio: Attachment | null;
  /** Post to this account; null or absent: a local note that stays in Hearth. */
  account_id?: number | null;
  /** The id of the post this replies to; a reply goes to the account the post came from. */
  reply_to?: number | null;
};

/** One topic of the digest: its title, how many of today's posts it holds, and 1–4 of them, the most central first. */
export type DigestTopic = { title: string; size: number; posts: Post[] };

/**
 * "What happened today" (`digest`): the last 24 hours' visible posts grouped into topics, the
 * topics the user cares about first (at most 10).
 */
export type Digest = {
  /** RFC 3339: the start of the last 24 hours. */
  since: string;
  /** Visible posts in the window. */
  posts: number;
  /** Of those, posts the model has not embedded yet (in no topic). */
  not_yet_read: number;
  topics: DigestTopic[];
};

/** Best match first; `semantic`: posts were matched by meaning as well as by words. */
export type SearchResult = { posts: Post[]; total: number; semantic: boolean };

export type ModelDownload = {
  state: 'fetching' | 'done' | 'failed';
  source: string | null;
  file: string | null;
  bytes_done: number;
  bytes_total: number;
  error: string | null;
};

/** One on-device model and whether its files are present (`models`, `download_model`). */
export type ModelStatus = {
  id: string;
  name: string;
  task: string;
  version: string;
  licence: string;
  description: string;
  size_bytes: number;
  /** A larger alternative, downloaded only when the user asks for it. */
  optional: boolean;
  state: 'installed' | 'missing';
  /** Why it is missing (or other notes), in plain words. */
  detail: string | null;
  path: string;
  sources: string[];
  /** The latest download started in this run, if any. */
  download: ModelDownload | null;
};

export type Mutes = {
  authors: { id: number; handle: string; display_name: string }[];
  words: string[];
};

export type Status = {
  version: string;
  data_dir: string;
  database_path: string;
  posts: number;
  authors: number;
  sources: number;
  interactions: number;
  media: number;
  demo_imported: boolean;
  /** What the on-device ranker has learned (`reset_personalisation` starts it over). */
  personalisation: Personalisation;
  /** Where models run, as configured: `device` in `config_path`, or the `--device` flag. */
  device: 'auto' | 'cpu' | 'cuda' | 'metal';
  config_path: string;
};

export type Personalisation = {
  /** Interactions learned from since the last reset. */
  interactions_learned: number;
  /** The interests found, each named by its most telling word. */
  interests: string[];
};

export type EnrichmentState = 'starting' | 'working' | 'idle' | 'unavailable' | 'off';

export type EnrichmentStatus = {
  state: EnrichmentState;
  done: number;
  total: number;
  message: string | null;
  /** Image labelling: stored images labelled so far, and why images wait, if they do. */
  images: ImageLabelling;
  /** Speech transcription: audio attachments transcribed so far, why they wait, and the job running now. */
  speech: SpeechTranscription;
};

/** The image part of the pipeline (`EnrichmentStatus.images`). */
export type ImageLabelling = { done: number; total: number; message: string | null };

/**
 * The speech part of the pipeline (`EnrichmentStatus.speech`): audio attachments transcribed of
 * all, why transcription waits when it does (the speech model is not installed, say), and the
 * recording being transcribed now, with how far it got (0..1).
 */
export type SpeechTranscription = {
  /** The speech model in use (a catalog id). */
  model: string;
  done: number;
  total: number;
  message: string | null;
  current: SpeechJob | null;
};

/** The transcription running now (`SpeechTranscription.current`). */
export type SpeechJob = { media_id: number; post_id: number; fraction: number };

/**
 * What the backend pushes whenever a model download, the tagging pipeline or a feed refresh
 * moves (`onProgress`).
 */
export type Progress = { models: ModelStatus[]; enrichment: EnrichmentStatus; sync: SyncStatus };

/** Where a subscription stands: `new` until its first refresh. */
export type SourceState = 'ok' | 'syncing' | 'failing' | 'paused' | 'new';

/** A subscription (`sources`, `add_source`, `update_source`). */
export type SourceInfo = {
  id: number;
  kind: 'rss';
  /** The name shown on its posts; the user can change it. */
  name: string;
  /** The feed's address. */
  url: string;
  /** The site the feed belongs to, when the feed says. */
  site_url: string | null;
  tags: string[];
  paused: boolean;
  state: SourceState;
  /** RFC 3339: the last refresh that worked. */
  last_sync_at: string | null;
  /** RFC 3339: when the next refresh is due; null while paused. */
  next_sync_at: string | null;
  /** Why the last refresh failed, in plain words. */
  last_error: string | null;
  item_count: number;
};

/** What can be changed about a subscription (`update_source`): the fields left out stay as they are. */
export type SourceChange = { name?: string; tags?: string[]; paused?: boolean };

/**
 * Feed refreshing (`sync_now`, and pushed as `Progress.sync`): feeds refreshed of all in this
 * round, and the name of the one being fetched.
 */
export type SyncStatus = {
  state: 'idle' | 'syncing';
  done: number;
  total: number;
  /** The subscription being fetched now (one of them, when several are): its name and id. */
  current: string | null;
  current_source_id: number | null;
};

/** What an OPML import did (`import_opml`): feeds added, feeds already followed, and the ones that failed. */
export type OpmlImport = { added: number; existing: number; errors: { url: string; message: string }[] };

/** What removing a subscription deleted (`remove_source`): its posts, less the liked ones it was asked to keep. */
export type RemovedSource = { removed_posts: number; kept_posts: number };

// ---------------------------------------------------------------------------------------------
// Network accounts (Mastodon, Bluesky), their notifications and the actions waiting to be sent

export type AccountKind = 'mastodon' | 'bluesky';

/** A signed-in network account (`accounts`). Its posts carry source.id === account.id. */
export type Account = {
  id: number;
  kind: AccountKind;
  /** The server's address: "https://mastodon.example" or a Bluesky PDS. */
  server: string;
  /** "@alice@mastodon.example" or "@alice.bsky.social". */
  handle: string;
  display_name: string;
  /** 'sign_in_again': the server refused the saved sign-in (revoked/expired); the user must sign in again. */
  state: 'new' | 'ok' | 'syncing' | 'failing' | 'sign_in_again';
  /** RFC 3339. */
  last_sync_at: string | null;
  next_sync_at: string | null;
  /** In plain words. */
  last_error: string | null;
  /** Where the sign-in is kept: the system keychain, or a file only this user can read (0600) in the data folder. */
  token_storage: 'keychain' | 'file';
  /** Actions made in Hearth not yet accepted by the server (likes, boosts, posts): sent when the server is reachable again. */
  pending_actions: number;
  /** Whether live updates (Mastodon streaming) are connected. */
  live: boolean;
};

/** A Mastodon sign-in in progress: open `authorize_url` in the browser; poll `signInState(id)`. */
export type SignIn = { id: string; authorize_url: string };

export type SignInState = { id: string; state: 'waiting' | 'done' | 'failed'; account: Account | null; error: string | null };

export type NotificationKind = 'mention' | 'reply' | 'favourite' | 'boost' | 'follow' | 'quote' | 'other';

export type Notification = {
  id: number;
  account_id: number;
  kind: NotificationKind;
  actor: { handle: string; display_name: string };
  /** The Hearth post it is about (open it in the feed), when it is about one. */
  post_id: number | null;
  /** A plain-text excerpt of that post. */
  excerpt: string | null;
  created_at: string;
  read: boolean;
};

/** An action waiting to be sent to an account's server (`outbox`), or one the server refused. */
export type OutboxItem = {
  id: number;
  account_id: number;
  /** 'favourite' | 'unfavourite' | 'boost' | 'unboost' | 'post' | 'reply' */
  action: string;
  post_id: number | null;
  state: 'pending' | 'failed';
  attempts: number;
  last_error: string | null;
  created_at: string;
};
