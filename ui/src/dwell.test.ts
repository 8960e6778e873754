import { describe, expect, it } from 'vitest';
import { DwellTracker } from './dwell';

class FakeIO {
  static last: FakeIO;
  observed = new Set<Element>();
  constructor(public cb: IntersectionObserverCallback) {
    FakeIO.last = this;
  }
  observe(el: Element) {
    this.observed.add(el);
  }
  unobserve(el: Element) {
    this.observed.delete(el);
  }
  disconnect() {}
}

function setup() {
  (globalThis as unknown as { IntersectionObserver: unknown }).IntersectionObserver = FakeIO;
  let t = 0;
  const sent: [number, number, boolean][] = [];
  const tr = new DwellTracker((id, ms, hide) => sent.push([id, ms, hide]), () => t);
  const el = document.createElement('article');
  tr.observe(el, 7);
  const entry = (ratio: number) => ({ target: el, intersectionRatio: ratio, isIntersecting: ratio > 0 });
  return { tr, el, sent, entry, advance: (ms: number) => (t += ms) };
}

describe('DwellTracker', () => {
  it('sends one dwell event after >2 s at >=50% visibility, when the card leaves', () => {
    const { tr, sent, entry, advance } = setup();
    tr.handle([entry(0.6)]);
    advance(2500);
    expect(sent).toEqual([]);
    tr.handle([entry(0.2)]);
    expect(sent).toEqual([[7, 2500, false]]);
    tr.handle([entry(1)]);
    advance(5000);
    tr.handle([entry(0)]);
    expect(sent.length).toBe(1);
  });
  it('ignores short glances and partial visibility', () => {
    const { tr, sent, entry, advance } = setup();
    tr.handle([entry(0.8)]);
    advance(1500);
    tr.handle([entry(0)]);
    tr.handle([entry(0.3)]);
    advance(10_000);
    tr.handle([entry(0)]);
    expect(sent).toEqual([]);
  });
  it('caps dwell at the backend maximum of 30 minutes', () => {
    const { tr, sent, entry, advance } = setup();
    tr.handle([entry(1)]);
    advance(3 * 3600_000);
    tr.handle([entry(0)]);
    expect(sent).toEqual([[7, 30 * 60_000, false]]);
  });
  it('flushes visible cards on pagehide', () => {
    const { sent, entry, advance, tr } = setup();
    tr.handle([entry(0.9)]);
    advance(3000);
    window.dispatchEvent(new Event('pagehide'));
    expect(sent).toEqual([[7, 3000, true]]);
    tr.disconnect();
  });
});
