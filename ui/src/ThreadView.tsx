// The thread of a post from a Mastodon or Bluesky account (`api.thread`): the posts it answers,
// oldest first, the post itself (marked, and given the focus by the App), then the replies,
// indented one level. The App fetches the thread and draws the posts with the feed's own cards,
// so like, boost, reply and the j/k keys work as they do in the feed.
import { useEffect, useRef } from 'preact/hooks';
import type { ComponentChildren, Ref } from 'preact';
import type { Post } from './types';
import { SkeletonCard } from './PostCard';
import { threadLoadingText } from './networks';
import * as I from './icons';

export type ThreadState = 'loading' | 'ready' | 'error';

/**
 * A thread split for drawing: the posts up to and including the one it was opened for (`head`,
 * not indented) and the replies after it (`replies`, indented). When that post is not in the
 * list, every post is in `head`.
 */
export function splitThread(posts: Post[], postId: number): { head: Post[]; replies: Post[] } {
  const at = posts.findIndex((p) => p.id === postId);
  if (at < 0) return { head: posts, replies: [] };
  return { head: posts.slice(0, at + 1), replies: posts.slice(at + 1) };
}

type Props = {
  state: ThreadState;
  /** The post the thread was opened for: says where the thread comes from, and is marked in it. */
  of: Post;
  /** The thread in order: the ancestors, the post, the replies. */
  posts: Post[];
  /** Why fetching failed, in plain words (state `error`). */
  error: string;
  /** The back button's name: where it goes ("Back to feed"). */
  backLabel: string;
  onBack: () => void;
  onRetry: () => void;
  /**
   * Some of the thread's posts as cards; `offset` is where the first of them is in the whole
   * thread, so that j/k and the roving focus run through the thread in order.
   */
  renderPosts: (posts: Post[], offset: number) => ComponentChildren;
  /** The element holding every card, for keyboard navigation. */
  listRef: Ref<HTMLDivElement>;
};

export function ThreadView({ state, of, posts, error, backLabel, onBack, onRetry, renderPosts, listRef }: Props) {
  const heading = useRef<HTMLHeadingElement>(null);
  // The button that opened the thread is gone: the focus starts on the heading (the App moves it
  // to the post once the thread is there).
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, [of.id]);

  const { head, replies } = splitThread(posts, of.id);
  return (
    <section class="thread" aria-labelledby="thread-title" data-testid="thread">
      <div class="list-head">
        <button type="button" class="icon-btn" aria-label={backLabel} data-testid="thread-back" onClick={onBack}>
          <I.ArrowLeft />
        </button>
        <h1 id="thread-title" class="list-title" tabIndex={-1} ref={heading}>
          Thread
        </h1>
      </div>
      {state === 'loading' && (
        <>
          <p class="thread-loading" role="status" data-testid="thread-loading">
            <span class="spinner" aria-hidden="true" />
            {threadLoadingText(of.source)}
          </p>
          <div class="skeletons" aria-hidden="true">
            <SkeletonCard />
            <SkeletonCard />
          </div>
        </>
      )}
      {state === 'error' && (
        <div class="state" data-testid="error-state" role="alert">
          <p class="state-title">Couldn’t fetch the thread</p>
          <p class="muted" data-testid="thread-error">
            {error}
          </p>
          <button type="button" class="btn primary" data-testid="thread-retry" onClick={onRetry}>
            <I.Refresh size={16} /> Try again
          </button>
        </div>
      )}
      {state === 'ready' && (
        <div class="feed thread-posts" role="feed" aria-labelledby="thread-title" data-testid="feed" ref={listRef}>
          {renderPosts(head, 0)}
          {replies.length > 0 && (
            <div class="thread-replies" data-testid="thread-replies">
              {renderPosts(replies, head.length)}
            </div>
          )}
        </div>
      )}
    </section>
  );
}
