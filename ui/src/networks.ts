// The words for network accounts (Mastodon, Bluesky) and what comes through them: where an
// account stands, where its sign-in is kept, actions waiting to be sent, notifications ("Bob
// boosted your post"), where a post came from and where its thread is fetched from. Pure: no DOM,
// no requests.
import type { Account, Notification, OutboxItem, Post, SourceKind } from './types';
import { agoText, asSentence, inText, sourceLabel } from './format';

/** A handle as shown: always with its leading "@" ("alice.bsky.social" -> "@alice.bsky.social"). */
export function atHandle(handle: string): string {
  const h = handle.trim();
  return h.startsWith('@') ? h : `@${h}`;
}

/** The name to show for a person: their display name, else their handle. */
export function personName(p: { handle: string; display_name: string }): string {
  return p.display_name.trim() || atHandle(p.handle);
}

/** "Mastodon", "Bluesky", and "Feed" for a subscription (local and demo posts keep their badge). */
export function kindLabel(kind: SourceKind): string {
  return kind === 'rss' ? 'Feed' : sourceLabel(kind);
}

/** Whether a post came from a signed-in account (so it can be boosted and replied to there). */
export function isFromAccount(post: Pick<Post, 'source'>): boolean {
  return post.source.kind === 'mastodon' || post.source.kind === 'bluesky';
}

/** Whether a post has a thread Hearth can fetch: posts from Mastodon and Bluesky accounts do. */
export function hasThread(post: Pick<Post, 'source'>): boolean {
  return isFromAccount(post);
}

/**
 * Where a post's thread is fetched from, in words: the Mastodon server of the account it came
 * through ("@me@mastodon.example" -> "mastodon.example"), "Bluesky", else the source's name.
 */
export function threadServerName(source: Pick<Post['source'], 'kind' | 'name'>): string {
  const name = source.name.trim();
  if (source.kind === 'mastodon') {
    const server = /^@?[^@\s]+@([^@\s]+)$/.exec(name)?.[1];
    return server ?? 'Mastodon';
  }
  if (source.kind === 'bluesky') return 'Bluesky';
  return name || kindLabel(source.kind);
}

/** What the thread view says while it waits: "Fetching the thread from mastodon.example…". */
export function threadLoadingText(source: Pick<Post['source'], 'kind' | 'name'>): string {
  return `Fetching the thread from ${threadServerName(source)}…`;
}

type AccountStateFields = Pick<Account, 'state' | 'last_sync_at' | 'next_sync_at' | 'last_error'>;

/**
 * Where an account stands, in plain words: "Synced 5 minutes ago · next in 25 minutes",
 * "Not synced yet", "Syncing…", "Failing: <why>", "Sign in again: <why>".
 */
export function accountStateText(a: AccountStateFields, now: Date = new Date()): string {
  const why = a.last_error?.trim();
  switch (a.state) {
    case 'sign_in_again':
      return why ? `Sign in again: ${why}` : 'Sign in again: the server no longer accepts Hearth’s sign-in.';
    case 'failing':
      return why ? `Failing: ${why}` : 'Failing';
    case 'syncing':
      return 'Syncing…';
  }
  const last = a.last_sync_at ? agoText(a.last_sync_at, now) : '';
  const next = a.next_sync_at ? inText(a.next_sync_at, now) : '';
  return [last ? `Synced ${last}` : 'Not synced yet', next ? `next ${next}` : ''].filter(Boolean).join(' · ');
}

/** "3 actions waiting to be sent", "1 action waiting to be sent"; '' when none wait. */
export function pendingActionsText(n: number): string {
  const count = Math.max(0, Math.floor(Number.isFinite(n) ? n : 0));
  if (count === 0) return '';
  return `${count.toLocaleString()} ${count === 1 ? 'action' : 'actions'} waiting to be sent`;
}

/** Where an account's sign-in is kept, in words. */
export function tokenStorageText(storage: Account['token_storage']): string {
  return storage === 'keychain' ? 'Sign-in kept in the system keychain' : 'Sign-in kept in a file only you can read';
}

/** What a notification says happened, with who did it: "Bob boosted your post". */
export function notificationText(n: Pick<Notification, 'kind' | 'actor'>): string {
  const who = personName(n.actor);
  switch (n.kind) {
    case 'mention':
      return `${who} mentioned you`;
    case 'reply':
      return `${who} replied to your post`;
    case 'favourite':
      return `${who} liked your post`;
    case 'boost':
      return `${who} boosted your post`;
    case 'follow':
      return `${who} followed you`;
    case 'quote':
      return `${who} quoted your post`;
    default:
      return `New activity from ${who}`;
  }
}

/** The unread count on the Notifications button: "3", "99+"; '' when nothing is unread. */
export function unreadBadgeText(n: number): string {
  if (!(n > 0)) return '';
  return n > 99 ? '99+' : String(Math.floor(n));
}

/** The unread count read out with the Notifications button: "3 unread". */
export function unreadText(n: number): string {
  return n > 0 ? `${unreadBadgeText(n)} unread` : 'None unread';
}

const ACTION_NAMES: Record<string, string> = {
  favourite: 'A like',
  unfavourite: 'Undoing a like',
  boost: 'A boost',
  unboost: 'Undoing a boost',
  post: 'A post',
  reply: 'A reply',
};

/** An outbox action as a noun phrase: "A like", "Undoing a boost", "A reply". */
export function outboxActionText(action: string): string {
  return ACTION_NAMES[action] ?? 'An action';
}

/** Why an action was not sent: "A like was not sent after 3 tries: The server said no." */
export function outboxFailedText(item: Pick<OutboxItem, 'action' | 'attempts' | 'last_error'>): string {
  const tries = item.attempts === 1 ? '1 try' : `${Math.max(0, item.attempts).toLocaleString()} tries`;
  const head = `${outboxActionText(item.action)} was not sent after ${tries}`;
  const why = item.last_error?.trim();
  return why ? `${head}: ${asSentence(why)}` : `${head}.`;
}

/** The other accounts a merged post also came through: "Also via @me.bsky.social (Bluesky)"; '' when none. */
export function alsoViaText(post: Pick<Post, 'source' | 'via'>): string {
  const others = (post.via ?? []).filter((v) => v.account_id !== post.source.id);
  if ((post.via?.length ?? 0) < 2 || others.length === 0) return '';
  return `Also via ${others.map((v) => `${v.name} (${kindLabel(v.kind)})`).join(', ')}`;
}

/**
 * What Compose says once a post to an account is made, from the account as it is afterwards:
 * sent; still on its way; or waiting until the server can be reached (or the user signs in again).
 */
export function sentText(account: Pick<Account, 'handle' | 'pending_actions' | 'state'> | null, handle: string): string {
  const who = atHandle(account?.handle ?? handle);
  if (!account) return `Posted; sending to ${who}…`;
  if (account.pending_actions <= 0) return `Sent to ${who}`;
  if (account.state === 'sign_in_again') return `Will be sent to ${who} once you sign in again`;
  if (account.state === 'failing') return `Will be sent when ${who} is reachable`;
  return `Posted; sending to ${who}…`;
}
