// The "Today" view: the last 24 hours' posts grouped into topics (`api.digest`), each topic a
// section headed by its title and size, its posts drawn by the App with the feed's own cards.
import type { ComponentChildren, Ref } from 'preact';
import type { Digest, Post } from './types';
import { SkeletonCard } from './PostCard';
import { digestSummary, notYetReadText, topicSizeText } from './format';
import * as I from './icons';

export type DigestState = 'loading' | 'ready' | 'error';

type Props = {
  state: DigestState;
  /** The digest last loaded; null until one arrives. */
  digest: Digest | null;
  /** Why loading failed, in plain words (state `error`). */
  error: string;
  onBack: () => void;
  onRetry: () => void;
  /**
   * One topic's posts as cards. `offset` is the position of the topic's first post among all the
   * digest's posts, so that j/k and the roving focus run through every topic in order.
   */
  renderPosts: (posts: Post[], offset: number) => ComponentChildren;
  /** The element holding every card, for keyboard navigation. */
  listRef: Ref<HTMLDivElement>;
};

export function DigestView({ state, digest, error, onBack, onRetry, renderPosts, listRef }: Props) {
  return (
    <section class="digest" aria-labelledby="digest-title" data-testid="digest">
      <div class="list-head">
        <button type="button" class="icon-btn" aria-label="Back to feed" onClick={onBack}>
          <I.ArrowLeft />
        </button>
        <h1 id="digest-title" class="list-title">
          Today
        </h1>
      </div>
      {state === 'loading' && (
        <div class="skeletons" aria-hidden="true">
          <SkeletonCard />
          <SkeletonCard />
          <SkeletonCard />
        </div>
      )}
      {state === 'error' && (
        <div class="state" data-testid="error-state" role="alert">
          <p class="state-title">Couldn’t load today’s digest</p>
          <p class="muted">{error}</p>
          <button type="button" class="btn primary" onClick={onRetry}>
            <I.Refresh size={16} /> Retry
          </button>
        </div>
      )}
      {state === 'ready' && digest && <DigestBody digest={digest} renderPosts={renderPosts} listRef={listRef} />}
    </section>
  );
}

function DigestBody({ digest, renderPosts, listRef }: Pick<Props, 'renderPosts' | 'listRef'> & { digest: Digest }) {
  if (digest.posts === 0) {
    return (
      <div class="state" data-testid="empty-state">
        <span class="state-icon" aria-hidden="true">
          <I.Sunrise size={28} />
        </span>
        <p class="state-title">Nothing new in the last 24 hours.</p>
        <p class="muted">New posts will be gathered here by topic. Press Esc to go back to your feed.</p>
      </div>
    );
  }
  // Where each topic's posts start in the whole digest.
  const offsets: number[] = [];
  let seen = 0;
  for (const topic of digest.topics) {
    offsets.push(seen);
    seen += topic.posts.length;
  }
  return (
    <>
      <p class="digest-summary" data-testid="digest-summary">
        {digestSummary(digest.posts, digest.since, digest.topics.length)}
      </p>
      {digest.not_yet_read > 0 && (
        <p class="digest-note muted" data-testid="digest-not-yet-read">
          <I.Info size={14} /> {notYetReadText(digest.not_yet_read)}
        </p>
      )}
      {digest.topics.length === 0 ? (
        <div class="state" data-testid="no-topics">
          <p class="state-title">No topics yet</p>
          <p class="muted">Posts are grouped into topics once the on-device model has read them.</p>
        </div>
      ) : (
        <div class="digest-topics" ref={listRef}>
          {digest.topics.map((topic, i) => {
            const headingId = `digest-topic-${i}`;
            return (
              <section key={i} class="digest-topic" aria-labelledby={headingId} data-testid="digest-topic">
                <h2 id={headingId} class="digest-topic-title">
                  {topic.title} <span class="muted">{topicSizeText(topic.size)}</span>
                </h2>
                <div class="feed" role="feed" aria-labelledby={headingId}>
                  {renderPosts(topic.posts, offsets[i])}
                </div>
              </section>
            );
          })}
        </div>
      )}
    </>
  );
}
