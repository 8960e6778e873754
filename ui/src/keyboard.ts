// Keyboard shortcut logic (pure; the App wires it to the DOM).

export type Action =
  | 'next'
  | 'prev'
  | 'like'
  | 'boost'
  | 'hide'
  | 'show_less'
  | 'open'
  | 'search'
  | 'compose'
  | 'refresh'
  | 'calm'
  | 'digest'
  | 'notifications'
  | 'settings'
  | 'help';

export const SHORTCUTS: { keys: string; action: Action; label: string }[] = [
  { keys: 'j', action: 'next', label: 'Next post' },
  { keys: 'k', action: 'prev', label: 'Previous post' },
  { keys: 'l', action: 'like', label: 'Like or unlike the focused post' },
  { keys: 'b', action: 'boost', label: 'Boost the focused post, or undo the boost (posts from your accounts)' },
  { keys: 'h', action: 'hide', label: 'Hide the focused post' },
  { keys: 's', action: 'show_less', label: 'Show less like the focused post' },
  { keys: 'o', action: 'open', label: 'Open the original, or expand the post' },
  { keys: '/', action: 'search', label: 'Search' },
  { keys: 'n', action: 'compose', label: 'New post' },
  { keys: 'r', action: 'refresh', label: 'Refresh the feed' },
  { keys: 'c', action: 'calm', label: 'Turn calm mode on or off (leave out posts tagged negative)' },
  { keys: 't', action: 'digest', label: 'Today’s digest: the last 24 hours in topics' },
  { keys: 'i', action: 'notifications', label: 'Notifications: mentions, likes and boosts from your accounts' },
  { keys: ',', action: 'settings', label: 'Settings' },
  { keys: '?', action: 'help', label: 'Show keyboard shortcuts' },
];

const BY_KEY = new Map(SHORTCUTS.map((s) => [s.keys, s.action]));

export type KeyLike = { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean };

/** The action for a key press, or null. Modified keys (Ctrl/Cmd/Alt) are never shortcuts. */
export function actionForKey(e: KeyLike): Action | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  return BY_KEY.get(e.key) ?? null;
}

/** True when the key press belongs to a text field (shortcuts must not fire). */
export function isTypingTarget(t: EventTarget | null): boolean {
  if (!t || typeof (t as Element).tagName !== 'string') return false;
  const el = t as HTMLElement;
  const tag = el.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag === 'input') {
    const type = ((el as HTMLInputElement).type || 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file', 'image'].includes(type);
  }
  return el.isContentEditable === true || el.getAttribute?.('contenteditable') === 'true';
}

/**
 * Roving focus: from `current` (-1 = nothing focused) move by `delta`, clamped to the list.
 * Returns -1 for an empty list.
 */
export function moveIndex(current: number, delta: number, length: number): number {
  if (length <= 0) return -1;
  if (current < 0) return 0;
  if (current >= length) return length - 1;
  return Math.min(length - 1, Math.max(0, current + delta));
}
