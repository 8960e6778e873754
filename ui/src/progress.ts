// The pushed refresh progress, shared: the Notifications badge and Settings → Accounts both want
// to know when a sync round has ended, and one `onProgress` subscription serves them all (in
// browser mode each subscription is an HTTP stream, and a browser allows only a few per server).
import { useEffect, useRef } from 'preact/hooks';
import { onProgress } from './api';
import type { SyncStatus } from './types';

type SyncListener = (sync: SyncStatus) => void;

/**
 * The first listener starts one `onProgress` subscription; the last one to leave stops it.
 * Errors are not reported: the listeners keep what they show, and poll or reload as they would.
 */
export class SharedSync {
  private listeners = new Set<SyncListener>();
  private stop: (() => void) | null = null;

  constructor(private readonly subscribe_ = onProgress) {}

  subscribe(listener: SyncListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      this.stop = this.subscribe_(
        (p) => {
          if (!p.sync) return;
          for (const l of [...this.listeners]) l(p.sync);
        },
        () => {},
      );
    }
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      this.stop?.();
      this.stop = null;
    };
  }
}

/** The one shared subscription. */
export const sharedSync = new SharedSync();

/**
 * Calls `onChange` when a sync round has moved on: one of its sources or accounts is done, or the
 * round ended (syncing → idle). The latest `onChange` is called; subscribing happens once.
 */
export function useSyncMoved(onChange: (ended: boolean) => void, shared: SharedSync = sharedSync): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    let before: SyncStatus | null = null;
    return shared.subscribe((next) => {
      const previous = before;
      before = next;
      if (previous?.state !== 'syncing') return;
      if (next.state === 'idle') latest.current(true);
      else if (next.done > previous.done) latest.current(false);
    });
  }, [shared]);
}
