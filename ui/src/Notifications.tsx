// Notifications from the signed-in accounts: the unread count on the Notifications button (asked
// for every 30 seconds and whenever a sync round ends), the Notifications view ("Bob boosted your
// post", with an excerpt and when), which marks them read when opened, and the view of the single
// post a notification is about.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren, Ref } from 'preact';
import { api, ApiError } from './api';
import type { Notification, NotificationKind, Post } from './types';
import { absoluteTime, relativeTime } from './format';
import { notificationText } from './networks';
import { useSyncMoved } from './progress';
import { SkeletonCard } from './PostCard';
import * as I from './icons';

/** How often the unread count is asked for. */
export const NOTIFICATIONS_POLL_MS = 30_000;
/** How many notifications the view shows (and the badge counts). */
export const NOTIFICATIONS_LIMIT = 50;

function errText(e: unknown): string {
  return e instanceof ApiError ? e.message : 'Something went wrong.';
}

function unreadIn(list: unknown): number | null {
  return Array.isArray(list) ? (list as Notification[]).filter((n) => !n.read).length : null;
}

/**
 * The number of unread notifications (0 until known): asked for at once, every 30 seconds while
 * the page is visible, and when a sync round ends. A failed request keeps the count it had.
 * `refresh` asks again; `clear` sets it to 0 (they were just marked read).
 */
export function useUnreadNotifications(pollMs = NOTIFICATIONS_POLL_MS) {
  const [unread, setUnread] = useState(0);
  const asked = useRef(0);

  const refresh = useCallback(() => {
    const mine = ++asked.current;
    api.notifications(NOTIFICATIONS_LIMIT).then(
      (list) => {
        const n = unreadIn(list);
        if (mine === asked.current && n !== null) setUnread(n);
      },
      () => {
        /* the badge keeps what it showed; the view says when they cannot be read */
      },
    );
  }, []);

  useEffect(() => {
    refresh();
    const timer = setInterval(() => {
      if (typeof document === 'undefined' || !document.hidden) refresh();
    }, pollMs);
    return () => clearInterval(timer);
  }, [refresh, pollMs]);
  useSyncMoved((ended) => {
    if (ended) refresh();
  });

  const clear = useCallback(() => {
    asked.current++;
    setUnread(0);
  }, []);
  return { unread, refresh, clear };
}

const KIND_ICONS: Record<NotificationKind, (p: { size?: number }) => ComponentChildren> = {
  mention: I.AtSign,
  reply: I.Reply,
  favourite: (p) => <I.Heart {...p} filled />,
  boost: I.Repeat,
  follow: I.UserPlus,
  quote: I.Quote,
  other: I.Bell,
};

type ViewProps = {
  /** Unread notifications as the badge counts them: more arriving while the view is open reloads it. */
  unread: number;
  now: Date;
  onBack: () => void;
  /** They were marked read. */
  onRead: () => void;
  /** Shows the post a notification is about. */
  onOpenPost: (postId: number) => void;
};

type ViewState = 'loading' | 'ready' | 'error';

/**
 * The Notifications view: the newest first, the ones unread until now marked "New". Opening it
 * marks them all read.
 */
export function NotificationsView({ unread, now, onBack, onRead, onOpenPost }: ViewProps) {
  const [items, setItems] = useState<Notification[]>([]);
  const [state, setState] = useState<ViewState>('loading');
  const [error, setError] = useState('');
  const asked = useRef(0);

  const load = async (quiet = false) => {
    const mine = ++asked.current;
    if (!quiet) setState('loading');
    setError('');
    try {
      const list = await api.notifications(NOTIFICATIONS_LIMIT);
      if (mine !== asked.current) return;
      const fresh = Array.isArray(list) ? list : [];
      setItems(fresh);
      setState('ready');
      // They stay marked "New" in the list for this visit.
      if (fresh.some((n) => !n.read)) {
        api.markNotificationsRead(Math.max(...fresh.map((n) => n.id))).then(
          () => {
            if (mine === asked.current) onRead();
          },
          () => {
            /* still unread: the badge keeps counting them, and the next visit tries again */
          },
        );
      }
    } catch (e) {
      if (mine !== asked.current) return;
      if (quiet) return; // the list already shown stays
      setError(errText(e));
      setState('error');
    }
  };

  useEffect(() => {
    void load();
  }, []);
  // New ones arrived while the view is open: they are shown (and marked read) without a flash.
  useEffect(() => {
    if (unread > 0 && state === 'ready') void load(true);
  }, [unread]);

  return (
    <section class="notifications" aria-labelledby="notifications-title" data-testid="notifications">
      <div class="list-head">
        <button type="button" class="icon-btn" aria-label="Back to feed" onClick={onBack}>
          <I.ArrowLeft />
        </button>
        <h1 id="notifications-title" class="list-title">
          Notifications
        </h1>
      </div>
      {state === 'loading' && (
        <div class="skeletons" aria-hidden="true">
          <SkeletonCard />
          <SkeletonCard />
        </div>
      )}
      {state === 'error' && (
        <div class="state" data-testid="error-state" role="alert">
          <p class="state-title">Couldn’t load your notifications</p>
          <p class="muted">{error}</p>
          <button type="button" class="btn primary" onClick={() => void load()}>
            <I.Refresh size={16} /> Retry
          </button>
        </div>
      )}
      {state === 'ready' && items.length === 0 && (
        <div class="state" data-testid="notifications-empty">
          <span class="state-icon" aria-hidden="true">
            <I.Bell size={28} />
          </span>
          <p class="state-title">No notifications yet.</p>
          <p class="muted">
            Sign in to Mastodon or Bluesky in Settings to see mentions, likes and boosts here.
          </p>
        </div>
      )}
      {state === 'ready' && items.length > 0 && (
        <ul class="notification-list" aria-labelledby="notifications-title">
          {items.map((n) => (
            <NotificationItem key={n.id} item={n} now={now} onOpenPost={onOpenPost} />
          ))}
        </ul>
      )}
    </section>
  );
}

/** One notification: what happened and who did it, an excerpt of the post, and when. */
function NotificationItem({ item, now, onOpenPost }: { item: Notification; now: Date; onOpenPost: (id: number) => void }) {
  const Icon = KIND_ICONS[item.kind] ?? I.Bell;
  const excerpt = item.excerpt?.trim();
  const content = (
    <>
      <span class={`notification-icon kind-${item.kind}`} aria-hidden="true">
        <Icon size={16} />
      </span>
      <span class="notification-body">
        <span class="notification-text" data-testid="notification-text">
          {notificationText(item)}
        </span>
        {!item.read && <span class="new-badge">New</span>}
        {excerpt && <span class="notification-excerpt">{excerpt}</span>}
      </span>
      <time class="time" dateTime={item.created_at} title={absoluteTime(item.created_at)}>
        {relativeTime(item.created_at, now)}
      </time>
    </>
  );
  const postId = item.post_id;
  return (
    <li class={'notification' + (item.read ? '' : ' unread')} data-testid="notification" data-kind={item.kind}>
      {postId !== null ? (
        <button type="button" class="notification-main" data-testid="notification-open" onClick={() => onOpenPost(postId)}>
          {content}
        </button>
      ) : (
        <div class="notification-main">{content}</div>
      )}
    </li>
  );
}

type PostViewProps = {
  state: ViewState;
  post: Post | null;
  error: string;
  onBack: () => void;
  onRetry: () => void;
  renderPost: (post: Post) => ComponentChildren;
  listRef: Ref<HTMLDivElement>;
};

/** The post a notification is about, on its own, drawn with the feed's card. */
export function NotificationPostView({ state, post, error, onBack, onRetry, renderPost, listRef }: PostViewProps) {
  return (
    <section class="notification-post" aria-labelledby="notification-post-title" data-testid="notification-post">
      <div class="list-head">
        <button type="button" class="icon-btn" aria-label="Back to notifications" onClick={onBack}>
          <I.ArrowLeft />
        </button>
        <h1 id="notification-post-title" class="list-title">
          Post
        </h1>
      </div>
      {state === 'loading' && (
        <div class="skeletons" aria-hidden="true">
          <SkeletonCard />
        </div>
      )}
      {state === 'error' && (
        <div class="state" data-testid="error-state" role="alert">
          <p class="state-title">Couldn’t show that post</p>
          <p class="muted">{error}</p>
          <button type="button" class="btn primary" onClick={onRetry}>
            <I.Refresh size={16} /> Retry
          </button>
        </div>
      )}
      {state === 'ready' && post && (
        <div class="feed" role="feed" aria-labelledby="notification-post-title" data-testid="feed" ref={listRef}>
          {renderPost(post)}
        </div>
      )}
    </section>
  );
}
