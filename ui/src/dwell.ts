// Dwell tracking: one `dwell` event per card per page load, once a card has been at least 50%
// visible for more than 2 s. Sent when the card leaves the viewport, or on pagehide.
// One shared IntersectionObserver keeps it cheap.

export const DWELL_MIN_MS = 2000;
/** The backend rejects dwell longer than 30 minutes (a tab left open, not reading). */
export const DWELL_MAX_MS = 30 * 60 * 1000;

export type DwellSink = (postId: number, dwellMs: number, onPageHide: boolean) => void;

export class DwellTracker {
  private observer: IntersectionObserver | null = null;
  private visibleSince = new Map<Element, number>();
  private ids = new WeakMap<Element, number>();
  private sent = new Set<number>();
  private readonly onPageHide = () => this.flush(true);

  constructor(
    private readonly sink: DwellSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (typeof IntersectionObserver === 'undefined') return;
    this.observer = new IntersectionObserver((entries) => this.handle(entries), { threshold: [0, 0.5] });
    window.addEventListener('pagehide', this.onPageHide);
  }

  observe(el: Element, postId: number): void {
    if (!this.observer || this.sent.has(postId)) return;
    this.ids.set(el, postId);
    this.observer.observe(el);
  }

  unobserve(el: Element): void {
    if (!this.observer) return;
    this.end(el, false);
    this.observer.unobserve(el);
  }

  handle(entries: Pick<IntersectionObserverEntry, 'target' | 'intersectionRatio' | 'isIntersecting'>[]): void {
    for (const e of entries) {
      const visible = e.isIntersecting && e.intersectionRatio >= 0.5;
      if (visible) {
        if (!this.visibleSince.has(e.target)) this.visibleSince.set(e.target, this.now());
      } else {
        this.end(e.target, false);
      }
    }
  }

  /** Sends dwell for every card currently in view (used on pagehide). */
  flush(onPageHide: boolean): void {
    for (const el of [...this.visibleSince.keys()]) this.end(el, onPageHide);
  }

  private end(el: Element, onPageHide: boolean): void {
    const since = this.visibleSince.get(el);
    if (since === undefined) return;
    this.visibleSince.delete(el);
    const id = this.ids.get(el);
    if (id === undefined || this.sent.has(id)) return;
    const ms = Math.min(DWELL_MAX_MS, Math.round(this.now() - since));
    if (ms > DWELL_MIN_MS) {
      this.sent.add(id);
      this.observer?.unobserve(el);
      this.sink(id, ms, onPageHide);
    }
  }

  disconnect(): void {
    this.observer?.disconnect();
    window.removeEventListener('pagehide', this.onPageHide);
  }
}
