// The app: the top bar and its views (the feed, search results, today's digest, notifications
// and the post one is about, a post's thread, settings), the composer, the keyboard shortcuts and
// the toasts.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, openExternal } from './api';
import type { Account, Digest, FeedMode, Post } from './types';
import { ToneFilter, type ToneChoice } from './ToneFilter';
import { PostCard, SkeletonCard, type Collapsed } from './PostCard';
import { Compose } from './Compose';
import { Settings, ShortcutList } from './Settings';
import { DigestView, type DigestState } from './Digest';
import { actionForKey, isTypingTarget, moveIndex } from './keyboard';
import { DwellTracker } from './dwell';
import { loadTheme, saveTheme, type ThemeChoice } from './theme';
import { NotificationPostView, NotificationsView, useUnreadNotifications } from './Notifications';
import { ThreadView, type ThreadState } from './ThreadView';
import { hasThread, isFromAccount, unreadBadgeText, unreadText } from './networks';
import * as I from './icons';

type View = 'feed' | 'search' | 'digest' | 'settings' | 'notifications' | 'post' | 'thread';
/** The views a thread can be opened from, and what its back button says for each. */
type ThreadOrigin = 'feed' | 'search' | 'digest' | 'post';
const THREAD_BACK: Record<ThreadOrigin, string> = {
  feed: 'Back to feed',
  search: 'Back to search results',
  digest: 'Back to today’s digest',
  post: 'Back to the post',
};
type LoadState = 'loading' | 'ready' | 'more' | 'error';
type Toast = { id: number; text: string; kind: 'info' | 'error' };

/** How `renderCards` draws a list of cards (see there). */
type CardOptions = { offset?: number; count?: number; titleLevel?: 2 | 3; oneSet?: boolean; currentId?: number };

const PAGE = 20;
const MODE_KEY = 'hearth.mode';
const CALM_KEY = 'hearth.calm';

function loadMode(): FeedMode {
  try {
    return localStorage.getItem(MODE_KEY) === 'chronological' ? 'chronological' : 'ranked';
  } catch {
    return 'ranked';
  }
}

function loadCalm(): boolean {
  try {
    return localStorage.getItem(CALM_KEY) === 'true';
  } catch {
    return false;
  }
}

function errMessage(e: unknown): string {
  return e instanceof ApiError ? e.message : 'Something went wrong.';
}

/**
 * A post as the backend sent it back after an action, keeping the ranking reasons of the feed
 * page it came from (a single post comes back without them).
 */
function mergeUpdate(old: Post, fresh: Post | null | undefined): Post {
  if (!fresh || fresh.id !== old.id) return old;
  return {
    ...fresh,
    reason: fresh.reason ?? old.reason,
    reasons: fresh.reasons?.length ? fresh.reasons : old.reasons,
  };
}

export function App() {
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme);
  const [view, setView] = useState<View>('feed');
  const [mode, setMode] = useState<FeedMode>(loadMode);
  const [calm, setCalm] = useState<boolean>(loadCalm);

  const [posts, setPosts] = useState<Post[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [feedState, setFeedState] = useState<LoadState>('loading');
  const [feedError, setFeedError] = useState('');
  const [moreError, setMoreError] = useState('');
  const feedReq = useRef(0);

  const [query, setQuery] = useState('');
  const [searched, setSearched] = useState('');
  const [results, setResults] = useState<Post[]>([]);
  const [total, setTotal] = useState(0);
  const [searchState, setSearchState] = useState<LoadState>('ready');
  const [searchError, setSearchError] = useState('');
  const [searchTone, setSearchTone] = useState<ToneChoice>(null);
  // Whether the results include posts matched by meaning as well as by words.
  const [semantic, setSemantic] = useState(false);
  const searchReq = useRef(0);

  const [digest, setDigest] = useState<Digest | null>(null);
  const [digestState, setDigestState] = useState<DigestState>('loading');
  const [digestError, setDigestError] = useState('');
  const digestReq = useRef(0);

  const [collapsed, setCollapsed] = useState<Record<number, Collapsed>>({});
  const [expanded, setExpanded] = useState<Record<number, boolean>>({});
  const [focusIndex, setFocusIndex] = useState(-1);
  const [composeOpen, setComposeOpen] = useState(false);
  // The post being replied to while the composer is open for a reply, and the accounts a post can go to.
  const [replyTo, setReplyTo] = useState<Post | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  // The post a notification is about, shown on its own.
  const [shownPost, setShownPost] = useState<Post | null>(null);
  const [shownPostState, setShownPostState] = useState<'loading' | 'ready' | 'error'>('loading');
  const [shownPostError, setShownPostError] = useState('');
  const shownPostId = useRef<number | null>(null);
  // A post's thread: the post it was opened for, the thread once fetched, and where Back goes
  // (with the scroll position and the post to focus there again).
  const [threadOf, setThreadOf] = useState<Post | null>(null);
  const [threadPosts, setThreadPosts] = useState<Post[]>([]);
  const [threadState, setThreadState] = useState<ThreadState>('loading');
  const [threadError, setThreadError] = useState('');
  const [threadFrom, setThreadFrom] = useState<ThreadOrigin>('feed');
  const threadReq = useRef(0);
  const threadReturn = useRef<{ scrollY: number; postId: number } | null>(null);
  const restoreAfterThread = useRef<{ view: View; scrollY: number; postId: number } | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [importing, setImporting] = useState(false);
  const [now, setNow] = useState(() => new Date());
  // Set when Settings changed what the feed shows (mutes, a personalisation reset): reloaded on the way back.
  const staleFeed = useRef(false);

  const searchInput = useRef<HTMLInputElement>(null);
  const composeButton = useRef<HTMLButtonElement>(null);
  const feedEl = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const helpDialog = useRef<HTMLDialogElement>(null);
  const opened = useRef(new Set<number>());

  // ---- toasts ---------------------------------------------------------------------------
  const toastId = useRef(0);
  const toast = useCallback((text: string, kind: 'info' | 'error' = 'info') => {
    const id = ++toastId.current;
    setToasts((t) => [...t.slice(-2), { id, text, kind }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === 'error' ? 6000 : 3500);
  }, []);

  // ---- dwell ------------------------------------------------------------------------------
  const tracker = useMemo(
    () =>
      new DwellTracker((postId, ms, onPageHide) => {
        api
          .recordInteraction({ post_id: postId, kind: 'dwell', dwell_ms: ms }, { keepalive: onPageHide })
          .catch(() => {
            /* learning signal only: never bother the user */
          });
      }),
    [],
  );
  useEffect(() => () => tracker.disconnect(), [tracker]);

  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 60_000);
    return () => clearInterval(t);
  }, []);

  // ---- feed loading -------------------------------------------------------------------------
  const loadFeed = useCallback(async (m: FeedMode, c: boolean) => {
    const req = ++feedReq.current;
    setFeedState('loading');
    setFeedError('');
    setMoreError('');
    setFocusIndex(-1);
    try {
      const page = await api.feed({ mode: m, limit: PAGE, calm: c });
      if (req !== feedReq.current) return;
      setPosts(page.posts);
      setCursor(page.next_cursor);
      setCollapsed({});
      setFeedState('ready');
    } catch (e) {
      if (req !== feedReq.current) return;
      setFeedError(errMessage(e));
      setFeedState('error');
    }
  }, []);

  const loadMore = useCallback(async () => {
    if (!cursor || feedState !== 'ready') return;
    const req = feedReq.current;
    setFeedState('more');
    setMoreError('');
    try {
      const page = await api.feed({ mode, cursor, limit: PAGE, calm });
      if (req !== feedReq.current) return;
      setPosts((cur) => {
        const seen = new Set(cur.map((p) => p.id));
        return [...cur, ...page.posts.filter((p) => !seen.has(p.id))];
      });
      setCursor(page.next_cursor);
      setFeedState('ready');
    } catch (e) {
      if (req !== feedReq.current) return;
      setMoreError(errMessage(e));
      setFeedState('ready');
    }
  }, [cursor, feedState, mode, calm]);

  useEffect(() => {
    void loadFeed(mode, calm);
  }, [mode, calm, loadFeed]);

  // After the feed: the unread count on the Notifications button.
  const notifications = useUnreadNotifications();

  // Infinite scroll: the sentinel below the list triggers the next page.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && !moreError) void loadMore();
      },
      { rootMargin: '800px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [loadMore, moreError, view]);

  const changeMode = (m: FeedMode) => {
    try {
      localStorage.setItem(MODE_KEY, m);
    } catch {
      /* ignore */
    }
    if (view !== 'feed') setView('feed');
    if (m === mode) {
      if (view === 'feed') void loadFeed(m, calm);
      return;
    }
    setMode(m);
  };

  const toggleCalm = () => {
    const next = !calm;
    try {
      localStorage.setItem(CALM_KEY, String(next));
    } catch {
      /* ignore */
    }
    if (view !== 'feed') setView('feed');
    setCalm(next); // the effect above reloads the feed
    toast(next ? 'Calm mode on: posts tagged negative are left out' : 'Calm mode off');
  };

  const refresh = () => {
    setView('feed');
    void loadFeed(mode, calm);
    window.scrollTo({ top: 0 });
  };

  // ---- search -------------------------------------------------------------------------------
  const runSearch = async (q: string, tone: ToneChoice = searchTone) => {
    const text = q.trim();
    if (!text) return;
    const req = ++searchReq.current;
    setView('search');
    setSearched(text);
    setSearchState('loading');
    setSearchError('');
    setFocusIndex(-1);
    try {
      const r = await api.search(text, 50, tone);
      if (req !== searchReq.current) return; // a newer search (or filter change) won
      setResults(r.posts);
      setTotal(r.total);
      setSemantic(r.semantic === true);
      setSearchState('ready');
    } catch (e) {
      if (req !== searchReq.current) return;
      setSearchError(errMessage(e));
      setSearchState('error');
    }
  };

  const changeSearchTone = (tone: ToneChoice) => {
    setSearchTone(tone);
    void runSearch(searched, tone);
  };

  const clearSearch = () => {
    searchReq.current++;
    setQuery('');
    setSearched('');
    setSearchTone(null);
    setResults([]);
    setView('feed');
    setFocusIndex(-1);
  };

  // ---- today's digest ---------------------------------------------------------------------------
  const loadDigest = async () => {
    const req = ++digestReq.current;
    setDigestState('loading');
    setDigestError('');
    setFocusIndex(-1);
    try {
      const d = await api.digest();
      if (req !== digestReq.current) return;
      setDigest(d);
      setDigestState('ready');
    } catch (e) {
      if (req !== digestReq.current) return;
      setDigestError(errMessage(e));
      setDigestState('error');
    }
  };

  const openDigest = () => {
    setView('digest');
    window.scrollTo({ top: 0 });
    void loadDigest();
  };

  const closeDigest = () => {
    digestReq.current++;
    setView('feed');
    setFocusIndex(-1);
  };

  /** Applies `fn` to every post of the digest's topics, dropping topics left without posts. */
  const mapDigestPosts = (fn: (posts: Post[]) => Post[]) =>
    setDigest((cur) =>
      cur
        ? { ...cur, topics: cur.topics.map((t) => ({ ...t, posts: fn(t.posts) })).filter((t) => t.posts.length > 0) }
        : cur,
    );

  // ---- post updates -------------------------------------------------------------------------
  const updatePost = (id: number, fn: (p: Post) => Post) => {
    setShownPost((cur) => (cur && cur.id === id ? fn(cur) : cur));
    setThreadPosts((cur) => cur.map((p) => (p.id === id ? fn(p) : p)));
    setPosts((cur) => cur.map((p) => (p.id === id ? fn(p) : p)));
    setResults((cur) => cur.map((p) => (p.id === id ? fn(p) : p)));
    mapDigestPosts((cur) => cur.map((p) => (p.id === id ? fn(p) : p)));
  };

  const onLike = async (post: Post) => {
    const was = post.state.liked;
    const flip = (p: Post, liked: boolean): Post => ({
      ...p,
      state: { ...p.state, liked },
      counts: { ...p.counts, likes: Math.max(0, p.counts.likes + (liked ? 1 : -1)) },
    });
    updatePost(post.id, (p) => flip(p, !was));
    try {
      const fresh = await api.recordInteraction({ post_id: post.id, kind: was ? 'unlike' : 'like' });
      updatePost(post.id, (p) => mergeUpdate(p, fresh));
      toast(was ? 'Like removed' : 'Liked');
    } catch (e) {
      updatePost(post.id, (p) => (p.state.liked === was ? p : flip(p, was)));
      toast(`Could not ${was ? 'unlike' : 'like'} the post: ${errMessage(e)}`, 'error');
    }
  };

  const onBoost = async (post: Post) => {
    if (!isFromAccount(post)) return;
    const was = post.boosted === true;
    const flip = (p: Post, boosted: boolean): Post => ({
      ...p,
      boosted,
      counts: { ...p.counts, boosts: Math.max(0, p.counts.boosts + (boosted ? 1 : -1)) },
    });
    updatePost(post.id, (p) => flip(p, !was));
    try {
      const fresh = await api.recordInteraction({ post_id: post.id, kind: was ? 'unboost' : 'boost' });
      updatePost(post.id, (p) => mergeUpdate(p, fresh));
      toast(was ? 'Boost undone' : 'Boosted');
    } catch (e) {
      updatePost(post.id, (p) => (p.boosted === was ? p : flip(p, was)));
      toast(`Could not ${was ? 'undo the boost' : 'boost the post'}: ${errMessage(e)}`, 'error');
    }
  };

  /** Opens the composer, for a reply to `to` or a new post; the accounts a post can go to are read afresh. */
  const openCompose = (to: Post | null = null) => {
    setReplyTo(to);
    setComposeOpen(true);
    api.accounts().then(
      (list) => setAccounts(Array.isArray(list) ? list : []),
      () => {
        /* the composer still offers "Hearth only" */
      },
    );
  };
  const closeCompose = () => {
    setComposeOpen(false);
    setReplyTo(null);
  };

  const setCollapse = (id: number, c: Collapsed) => setCollapsed((cur) => ({ ...cur, [id]: c }));

  const onHide = async (post: Post) => {
    setCollapse(post.id, 'hidden');
    try {
      await api.recordInteraction({ post_id: post.id, kind: 'hide' });
      toast('Post hidden');
    } catch (e) {
      setCollapse(post.id, undefined);
      toast(`Could not hide the post: ${errMessage(e)}`, 'error');
    }
  };

  const onUnhide = async (post: Post) => {
    try {
      const fresh = await api.recordInteraction({ post_id: post.id, kind: 'unhide' });
      setCollapse(post.id, undefined);
      updatePost(post.id, (p) => mergeUpdate(p, fresh));
      toast('Post restored');
    } catch (e) {
      toast(`Could not restore the post: ${errMessage(e)}`, 'error');
    }
  };

  const onShowLess = async (post: Post) => {
    setCollapse(post.id, 'show_less');
    try {
      await api.recordInteraction({ post_id: post.id, kind: 'show_less' });
      toast('You’ll see less like this');
    } catch (e) {
      setCollapse(post.id, undefined);
      toast(`Could not record that: ${errMessage(e)}`, 'error');
    }
  };

  const onRestore = (post: Post) => setCollapse(post.id, undefined);

  const onMute = async (post: Post) => {
    try {
      await api.recordInteraction({ post_id: post.id, kind: 'mute_author' });
      const authorId = post.author.id;
      setPosts((cur) => cur.filter((p) => p.author.id !== authorId));
      setResults((cur) => cur.filter((p) => p.author.id !== authorId));
      mapDigestPosts((cur) => cur.filter((p) => p.author.id !== authorId));
      // The post a thread was opened for stays: the thread is about it.
      setThreadPosts((cur) => cur.filter((p) => p.author.id !== authorId || p.id === threadOf?.id));
      setFocusIndex(-1);
      toast(`Muted @${post.author.handle}`);
    } catch (e) {
      toast(`Could not mute @${post.author.handle}: ${errMessage(e)}`, 'error');
    }
  };

  const recordOpen = (post: Post) => {
    if (opened.current.has(post.id)) return;
    opened.current.add(post.id);
    api.recordInteraction({ post_id: post.id, kind: 'open' }).catch(() => {
      /* learning signal only */
    });
  };

  const onOpen = (post: Post) => {
    recordOpen(post);
    setExpanded((cur) => (cur[post.id] ? cur : { ...cur, [post.id]: true }));
  };

  const onOpenLink = (post: Post, url: string) => {
    if (url === post.url) recordOpen(post);
    openExternal(url).catch((e) => toast(`Could not open the link: ${errMessage(e)}`, 'error'));
  };

  const onPosted = (post: Post, note?: string) => {
    const repliedTo = replyTo;
    closeCompose();
    if (repliedTo) {
      // A reply stays out of the way: the view the user replied from stays as it is, one reply more.
      updatePost(repliedTo.id, (p) => ({ ...p, counts: { ...p.counts, replies: p.counts.replies + 1 } }));
      toast(note ?? 'Replied');
      return;
    }
    setPosts((cur) => [post, ...cur.filter((p) => p.id !== post.id)]);
    if (view !== 'feed') setView('feed');
    if (feedState === 'error') setFeedState('ready');
    setFocusIndex(-1);
    window.scrollTo({ top: 0 });
    toast(note ?? 'Posted');
  };

  // ---- notifications ----------------------------------------------------------------------------
  const openNotifications = () => {
    setView('notifications');
    setFocusIndex(-1);
    window.scrollTo({ top: 0 });
  };
  const closeNotifications = () => {
    setView('feed');
    setFocusIndex(-1);
  };
  const showPost = async (id: number) => {
    shownPostId.current = id;
    setView('post');
    setShownPost(null);
    setShownPostState('loading');
    setShownPostError('');
    setFocusIndex(-1);
    window.scrollTo({ top: 0 });
    try {
      const post = await api.getPost(id);
      if (shownPostId.current !== id) return;
      setShownPost(post);
      setShownPostState('ready');
    } catch (e) {
      if (shownPostId.current !== id) return;
      setShownPostError(errMessage(e));
      setShownPostState('error');
    }
  };
  const closePost = () => {
    shownPostId.current = null;
    setView('notifications');
    setFocusIndex(-1);
  };

  // ---- a post's thread ----------------------------------------------------------------------------
  const loadThread = async (post: Post) => {
    const req = ++threadReq.current;
    setThreadPosts([]);
    setThreadState('loading');
    setThreadError('');
    setFocusIndex(-1);
    try {
      const list = await api.thread(post.id);
      if (req !== threadReq.current) return;
      // A thread holds at least the post it was asked for.
      setThreadPosts(Array.isArray(list) && list.length > 0 ? list : [post]);
      setThreadState('ready');
    } catch (e) {
      if (req !== threadReq.current) return;
      setThreadError(errMessage(e));
      setThreadState('error');
    }
  };
  const openThread = (post: Post) => {
    if (!hasThread(post)) return;
    // From inside a thread, Back still goes where the first thread was opened from.
    if (view === 'feed' || view === 'search' || view === 'digest' || view === 'post') {
      setThreadFrom(view);
      threadReturn.current = { scrollY: window.scrollY, postId: post.id };
    }
    setThreadOf(post);
    setView('thread');
    window.scrollTo({ top: 0 });
    void loadThread(post);
  };
  const closeThread = () => {
    threadReq.current++;
    const back = threadReturn.current;
    threadReturn.current = null;
    restoreAfterThread.current = back ? { view: threadFrom, ...back } : null;
    setView(threadFrom);
    setFocusIndex(-1);
  };

  const importDemo = async () => {
    setImporting(true);
    try {
      const r = await api.importDemo();
      toast(r.imported === 1 ? 'Imported 1 demo post' : `Imported ${r.imported} demo posts`);
      await loadFeed(mode, calm);
    } catch (e) {
      toast(`Could not import the demo posts: ${errMessage(e)}`, 'error');
    } finally {
      setImporting(false);
    }
  };

  // ---- theme & dialogs -------------------------------------------------------------------------
  const chooseTheme = (t: ThemeChoice) => {
    setTheme(t);
    saveTheme(t);
  };

  useEffect(() => {
    const d = helpDialog.current;
    if (!d) return;
    if (helpOpen && !d.open) d.showModal();
    if (!helpOpen && d.open) d.close();
  }, [helpOpen]);

  const openSettings = () => {
    setView('settings');
    setFocusIndex(-1);
    window.scrollTo({ top: 0 });
  };
  const closeSettings = () => {
    setView(searched ? 'search' : 'feed');
    if (staleFeed.current) {
      staleFeed.current = false;
      void loadFeed(mode, calm);
    }
  };

  // ---- keyboard -------------------------------------------------------------------------------
  const digestPosts = digestState === 'ready' && digest ? digest.topics.flatMap((t) => t.posts) : [];
  const list =
    view === 'search'
      ? results
      : view === 'feed'
        ? posts
        : view === 'digest'
          ? digestPosts
          : view === 'post' && shownPost
            ? [shownPost]
            : view === 'thread' && threadState === 'ready'
              ? threadPosts
              : [];

  const cardEls = () =>
    [...(feedEl.current?.querySelectorAll<HTMLElement>('[data-testid="post-card"]') ?? [])];

  const focusCard = (i: number, block: ScrollLogicalPosition = 'nearest') => {
    const el = cardEls()[i];
    if (!el) return;
    setFocusIndex(i);
    el.focus({ preventScroll: true });
    const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    el.scrollIntoView({ block, behavior: reduce ? 'auto' : 'smooth' });
  };

  const currentIndex = (): number => {
    const els = cardEls();
    const active = document.activeElement?.closest?.('[data-testid="post-card"]');
    const i = active ? els.indexOf(active as HTMLElement) : -1;
    return i >= 0 ? i : focusIndex < els.length ? focusIndex : -1;
  };

  // The post a notification is about takes the focus once it is there (its notification has gone).
  useEffect(() => {
    if (view === 'post' && shownPostState === 'ready') focusCard(0);
  }, [view, shownPostState]);

  // The post a thread was opened for takes the focus, in the middle of the screen, once the thread is there.
  useEffect(() => {
    if (view !== 'thread' || threadState !== 'ready' || !threadOf) return;
    const i = threadPosts.findIndex((p) => p.id === threadOf.id);
    focusCard(Math.max(0, i), 'center');
  }, [view, threadState, threadOf]);

  // Back from a thread: the view is where it was, and its post has the focus again.
  useEffect(() => {
    const back = restoreAfterThread.current;
    if (!back || view !== back.view) return;
    restoreAfterThread.current = null;
    window.scrollTo({ top: back.scrollY });
    const els = cardEls();
    const i = els.findIndex((el) => el.dataset.postId === String(back.postId));
    if (i < 0) return;
    setFocusIndex(i);
    els[i].focus({ preventScroll: true });
  }, [view]);

  const keyHandler = useRef<(e: KeyboardEvent) => void>(() => {});
  keyHandler.current = (e: KeyboardEvent) => {
    if (e.defaultPrevented || composeOpen || helpOpen) return;
    if (isTypingTarget(e.target)) return;
    if (e.key === 'Escape') {
      if (view === 'search') clearSearch();
      else if (view === 'digest') closeDigest();
      else if (view === 'settings') closeSettings();
      else if (view === 'notifications') closeNotifications();
      else if (view === 'post') closePost();
      else if (view === 'thread') closeThread();
      return;
    }
    const action = actionForKey(e);
    if (!action) return;
    const idx = currentIndex();
    const post = idx >= 0 && view !== 'settings' && view !== 'notifications' ? list[idx] : undefined;
    switch (action) {
      case 'next':
      case 'prev': {
        if (view === 'settings' || view === 'notifications') return;
        const n = moveIndex(idx, action === 'next' ? 1 : -1, cardEls().length);
        if (n >= 0) focusCard(n);
        if (action === 'next' && view === 'feed' && n >= cardEls().length - 3) void loadMore();
        break;
      }
      case 'like':
        if (post && !collapsed[post.id]) void onLike(post);
        break;
      case 'boost':
        if (post && !collapsed[post.id]) void onBoost(post);
        break;
      case 'hide':
        if (post && !collapsed[post.id]) void onHide(post);
        break;
      case 'show_less':
        if (post && !collapsed[post.id]) void onShowLess(post);
        break;
      case 'open':
        if (post) {
          recordOpen(post);
          if (post.url) onOpenLink(post, post.url);
          else onOpen(post);
        }
        break;
      case 'search':
        searchInput.current?.focus();
        searchInput.current?.select();
        break;
      case 'compose':
        openCompose();
        break;
      case 'refresh':
        refresh();
        break;
      case 'calm':
        toggleCalm();
        break;
      case 'digest':
        openDigest();
        break;
      case 'notifications':
        openNotifications();
        break;
      case 'settings':
        openSettings();
        break;
      case 'help':
        setHelpOpen(true);
        break;
    }
    e.preventDefault();
  };
  useEffect(() => {
    const h = (e: KeyboardEvent) => keyHandler.current(e);
    document.addEventListener('keydown', h);
    return () => document.removeEventListener('keydown', h);
  }, []);

  // ---- render -----------------------------------------------------------------------------------
  const handlers = {
    onLike,
    onHide,
    onUnhide,
    onShowLess,
    onRestore,
    onMute,
    onOpen,
    onOpenLink,
    onBoost,
    onReply: (post: Post) => openCompose(post),
    onThread: openThread,
    onFocusCard: setFocusIndex,
    observeDwell: (el: Element, id: number) => tracker.observe(el, id),
    unobserveDwell: (el: Element) => tracker.unobserve(el),
    // A transcript that arrived, or a transcription cancelled or started again.
    onPostUpdated: (fresh: Post) => updatePost(fresh.id, (p) => mergeUpdate(p, fresh)),
  };

  // aria-setsize is -1 while more posts can still be loaded (size unknown). A list drawn in parts
  // (the digest's topics) passes where the part starts (`offset`) and how many cards there are in all
  // (`count`): the roving focus and j/k run through every part, one card tabbable in all. Under the
  // digest's topic headings a post's title is a level lower (`titleLevel`). A thread is drawn in
  // parts that make one set (`oneSet`: positions count on from `offset`), and the post it was
  // opened for is marked (`currentId`).
  const renderCards = (items: Post[], setSize: number, options: CardOptions = {}) => {
    const { offset = 0, count = items.length, titleLevel = 2, oneSet = false, currentId } = options;
    const roving = focusIndex >= 0 && focusIndex < count ? focusIndex : 0;
    const first = oneSet ? offset : 0;
    return items.map((p, i) => (
      <PostCard
        key={p.id}
        post={p}
        index={first + i}
        setSize={setSize}
        tabbable={offset + i === roving}
        collapsed={collapsed[p.id]}
        expanded={Boolean(expanded[p.id])}
        now={now}
        titleLevel={titleLevel}
        current={p.id === currentId}
        {...handlers}
        onFocusCard={(index) => setFocusIndex(offset - first + index)}
      />
    ));
  };

  const skeletons = (
    <div class="skeletons" aria-hidden="true">
      <SkeletonCard />
      <SkeletonCard />
      <SkeletonCard />
    </div>
  );

  let body;
  if (view === 'notifications') {
    body = (
      <NotificationsView
        unread={notifications.unread}
        now={now}
        onBack={closeNotifications}
        onRead={notifications.clear}
        onOpenPost={(id) => void showPost(id)}
      />
    );
  } else if (view === 'post') {
    body = (
      <NotificationPostView
        state={shownPostState}
        post={shownPost}
        error={shownPostError}
        onBack={closePost}
        onRetry={() => shownPostId.current !== null && void showPost(shownPostId.current)}
        renderPost={(p) => renderCards([p], 1)}
        listRef={feedEl}
      />
    );
  } else if (view === 'thread' && threadOf) {
    body = (
      <ThreadView
        state={threadState}
        of={threadOf}
        posts={threadPosts}
        error={threadError}
        backLabel={THREAD_BACK[threadFrom]}
        onBack={closeThread}
        onRetry={() => void loadThread(threadOf)}
        renderPosts={(items, offset) =>
          renderCards(items, threadPosts.length, { offset, count: threadPosts.length, oneSet: true, currentId: threadOf.id })
        }
        listRef={feedEl}
      />
    );
  } else if (view === 'settings') {
    body = (
      <Settings
        theme={theme}
        onTheme={chooseTheme}
        onBack={closeSettings}
        onFeedChanged={() => (staleFeed.current = true)}
        toast={toast}
      />
    );
  } else if (view === 'digest') {
    body = (
      <DigestView
        state={digestState}
        digest={digest}
        error={digestError}
        onBack={closeDigest}
        onRetry={() => void loadDigest()}
        renderPosts={(items, offset) => renderCards(items, items.length, { offset, count: digestPosts.length, titleLevel: 3 })}
        listRef={feedEl}
      />
    );
  } else if (view === 'search') {
    body = (
      <>
        <div class="list-head">
          <button type="button" class="icon-btn" aria-label="Back to feed" onClick={clearSearch}>
            <I.ArrowLeft />
          </button>
          <h1 class="list-title">
            Results for “{searched}”
            {searchState === 'ready' && (
              <span class="muted"> · {total === 1 ? '1 post' : `${total.toLocaleString()} posts`}</span>
            )}
          </h1>
        </div>
        {searchState === 'ready' && semantic && results.length > 0 && (
          <p class="search-note muted" data-testid="semantic-note">
            Includes posts that match by meaning
          </p>
        )}
        <div class="search-filters">
          <ToneFilter value={searchTone} onChange={changeSearchTone} />
        </div>
        {searchState === 'loading' && skeletons}
        {searchState === 'error' && (
          <div class="state" data-testid="error-state" role="alert">
            <p class="state-title">Search failed</p>
            <p class="muted">{searchError}</p>
            <button type="button" class="btn primary" onClick={() => runSearch(searched)}>
              Retry
            </button>
          </div>
        )}
        {searchState === 'ready' && results.length === 0 && (
          <div class="state" data-testid="empty-state">
            <p class="state-title">
              No {searchTone ? `${searchTone} ` : ''}posts match “{searched}”
            </p>
            <p class="muted">Try a different word, or press Esc to go back to your feed.</p>
            {searchTone && (
              <button type="button" class="btn" onClick={() => changeSearchTone(null)}>
                Show all tones
              </button>
            )}
          </div>
        )}
        {searchState === 'ready' && results.length > 0 && (
          <div class="feed" role="feed" aria-label={`Search results for ${searched}`} data-testid="feed" ref={feedEl}>
            {renderCards(results, Math.max(total, results.length))}
          </div>
        )}
      </>
    );
  } else {
    body = (
      <>
        <h1 class="sr-only">{mode === 'ranked' ? 'Ranked feed' : 'Latest posts'}</h1>
        {feedState === 'loading' && skeletons}
        {feedState === 'error' && (
          <div class="state" data-testid="error-state" role="alert">
            <p class="state-title">Couldn’t load your feed</p>
            <p class="muted">{feedError}</p>
            <button type="button" class="btn primary" onClick={() => loadFeed(mode, calm)}>
              <I.Refresh size={16} /> Retry
            </button>
          </div>
        )}
        {(feedState === 'ready' || feedState === 'more') && posts.length === 0 && calm && (
          <div class="state" data-testid="empty-state">
            <p class="state-title">Nothing to show in calm mode</p>
            <p class="muted">Calm mode leaves out posts tagged negative. Turn it off to see everything.</p>
            <div class="row center">
              <button type="button" class="btn primary" onClick={toggleCalm}>
                Turn calm mode off
              </button>
            </div>
          </div>
        )}
        {(feedState === 'ready' || feedState === 'more') && posts.length === 0 && !calm && (
          <div class="state" data-testid="empty-state">
            <span class="state-icon" aria-hidden="true">
              <I.Flame size={28} />
            </span>
            <p class="state-title">Your feed is empty</p>
            <p class="muted">Write your first post, or load some demo posts to see how Hearth works.</p>
            <div class="row center">
              <button type="button" class="btn primary" onClick={importDemo} disabled={importing} data-testid="import-demo">
                {importing && <span class="spinner" aria-hidden="true" />}
                Import demo posts
              </button>
              <button type="button" class="btn" onClick={() => openCompose()}>
                Write a post
              </button>
            </div>
          </div>
        )}
        {(feedState === 'ready' || feedState === 'more') && posts.length > 0 && (
          <>
            <div
              class="feed"
              role="feed"
              aria-busy={feedState === 'more'}
              aria-label={mode === 'ranked' ? 'Ranked feed' : 'Latest posts'}
              data-testid="feed"
              ref={feedEl}
            >
              {renderCards(posts, cursor ? -1 : posts.length)}
            </div>
            <div ref={sentinel} class="sentinel" aria-hidden="true" />
            {feedState === 'more' && skeletons}
            {moreError && (
              <p class="inline-error" role="alert">
                {moreError}
              </p>
            )}
            {cursor && feedState === 'ready' && (
              <div class="row center">
                <button type="button" class="btn" onClick={() => { setMoreError(''); void loadMore(); }} data-testid="load-more">
                  Load more
                </button>
              </div>
            )}
            {!cursor && <p class="end-note">You’re all caught up.</p>}
          </>
        )}
      </>
    );
  }

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <button type="button" class="brand" onClick={refresh} aria-label="Hearth — back to the top of your feed">
            <span class="brand-mark" aria-hidden="true">
              <I.Flame size={20} />
            </span>
            <span class="brand-name">Hearth</span>
          </button>
          <form
            class="search"
            role="search"
            onSubmit={(e) => {
              e.preventDefault();
              void runSearch(query);
            }}
          >
            <I.Search size={16} class="search-icon" />
            <label for="search" class="sr-only">
              Search posts
            </label>
            <input
              id="search"
              ref={searchInput}
              type="search"
              data-testid="search-input"
              placeholder="Search posts"
              autocomplete="off"
              maxLength={500}
              value={query}
              onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  e.preventDefault();
                  clearSearch();
                  searchInput.current?.blur();
                }
              }}
            />
            <kbd class="search-kbd" aria-hidden="true">
              /
            </kbd>
          </form>
          <button
            type="button"
            class="icon-btn theme-btn"
            data-testid="theme-button"
            aria-label={`Theme: ${theme === 'system' ? 'match system' : theme}. Change theme`}
            title={`Theme: ${theme === 'system' ? 'match system' : theme}`}
            onClick={() => {
              const next: ThemeChoice = theme === 'system' ? 'light' : theme === 'light' ? 'dark' : 'system';
              chooseTheme(next);
              toast(next === 'system' ? 'Theme follows your system' : next === 'light' ? 'Light theme' : 'Dark theme');
            }}
          >
            {theme === 'system' ? <I.Monitor /> : theme === 'light' ? <I.Sun /> : <I.Moon />}
          </button>
          <button
            type="button"
            class="icon-btn"
            data-testid="settings-button"
            aria-label="Settings"
            aria-current={view === 'settings' ? 'page' : undefined}
            onClick={() => (view === 'settings' ? closeSettings() : openSettings())}
          >
            <I.Gear />
          </button>
          <button
            type="button"
            class="btn primary compose-btn"
            data-testid="compose-button"
            aria-label="New post"
            aria-keyshortcuts="n"
            ref={composeButton}
            onClick={() => openCompose()}
          >
            <I.Pen size={16} />
            <span class="compose-label">New post</span>
          </button>
        </div>
        <nav class="tabs" aria-label="Views">
          <div class="segmented" role="radiogroup" aria-label="Feed order">
            {(['ranked', 'chronological'] as FeedMode[]).map((m) => {
              const checked = mode === m && view === 'feed';
              return (
                <button
                  key={m}
                  type="button"
                  role="radio"
                  aria-checked={mode === m}
                  tabIndex={mode === m ? 0 : -1}
                  class={'seg' + (checked ? ' on' : mode === m ? ' on dim' : '')}
                  data-testid={m === 'ranked' ? 'mode-ranked' : 'mode-chronological'}
                  onClick={() => changeMode(m)}
                  onKeyDown={(e) => {
                    if (['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(e.key)) {
                      e.preventDefault();
                      const other: FeedMode = m === 'ranked' ? 'chronological' : 'ranked';
                      changeMode(other);
                      (e.currentTarget.parentElement?.querySelector(`[data-testid="mode-${other}"]`) as HTMLElement | null)?.focus();
                    }
                  }}
                >
                  {m === 'ranked' ? <I.Sparkle size={15} /> : <I.Clock size={15} />}
                  {m === 'ranked' ? 'Ranked' : 'Latest'}
                </button>
              );
            })}
          </div>
          <button
            type="button"
            class={'today-btn' + (view === 'digest' ? ' on' : '')}
            data-testid="digest-button"
            aria-label="Today's digest"
            aria-current={view === 'digest' ? 'page' : undefined}
            aria-keyshortcuts="t"
            title="Today’s digest: the last 24 hours in topics"
            onClick={openDigest}
          >
            <I.Sunrise size={15} />
            <span class="today-label" aria-hidden="true">
              Today
            </span>
          </button>
          <button
            type="button"
            class={'today-btn notifications-btn' + (view === 'notifications' || view === 'post' ? ' on' : '')}
            data-testid="notifications-button"
            aria-label="Notifications"
            aria-describedby="notifications-unread"
            aria-current={view === 'notifications' ? 'page' : undefined}
            aria-keyshortcuts="i"
            title="Notifications: mentions, likes and boosts from your accounts"
            onClick={openNotifications}
          >
            <I.Bell size={15} />
            <span class="today-label" aria-hidden="true">
              Notifications
            </span>
            <span class="unread-badge" aria-hidden="true" data-testid="notifications-badge" hidden={notifications.unread === 0}>
              {unreadBadgeText(notifications.unread)}
            </span>
          </button>
          <span id="notifications-unread" class="sr-only">
            {unreadText(notifications.unread)}
          </span>
          <button
            type="button"
            role="switch"
            aria-checked={calm}
            class="calm-toggle"
            data-testid="calm-toggle"
            aria-label="Calm"
            aria-describedby="calm-desc"
            aria-keyshortcuts="c"
            title="Leave out posts tagged negative"
            onClick={toggleCalm}
          >
            <span class="calm-track" aria-hidden="true">
              <span class="calm-thumb" />
            </span>
            <span class="calm-label" aria-hidden="true">
              Calm
            </span>
          </button>
          <span id="calm-desc" class="sr-only">
            Leave out posts tagged negative
          </span>
        </nav>
      </header>

      <main id="main" class="column" tabIndex={-1}>
        {body}
      </main>

      <Compose open={composeOpen} onClose={closeCompose} onPosted={onPosted} accounts={accounts} replyTo={replyTo} />

      <dialog
        ref={helpDialog}
        class="dialog help"
        aria-labelledby="help-title"
        onClose={() => setHelpOpen(false)}
        onClick={(e) => {
          if (e.target === helpDialog.current) setHelpOpen(false);
        }}
      >
        <div class="dialog-body">
          <div class="dialog-head">
            <h2 id="help-title">Keyboard shortcuts</h2>
            <button type="button" class="icon-btn" aria-label="Close" onClick={() => setHelpOpen(false)}>
              <I.Close />
            </button>
          </div>
          <ShortcutList />
        </div>
      </dialog>

      <div class="toasts" role="status" aria-live="polite" aria-atomic="false">
        {toasts.map((t) => (
          <div key={t.id} class={`toast ${t.kind}`}>
            {t.text}
          </div>
        ))}
      </div>
    </>
  );
}
