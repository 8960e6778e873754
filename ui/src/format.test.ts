import { describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import {
  clockTime,
  compactCount,
  digestSummary,
  formatDuration,
  initials,
  linkify,
  notYetReadText,
  relativeTime,
  textColorOn,
  topicSizeText,
} from './format';
import { PostText } from './PostCard';

describe('relativeTime', () => {
  const now = new Date('2024-06-15T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  it('says "now" for the last 45 seconds and for small clock skew', () => {
    expect(relativeTime(ago(0), now)).toBe('now');
    expect(relativeTime(ago(44_000), now)).toBe('now');
    expect(relativeTime(ago(-30_000), now)).toBe('now');
  });
  it('uses minutes, hours and days', () => {
    expect(relativeTime(ago(50_000), now)).toBe('1m');
    expect(relativeTime(ago(5 * 60_000), now)).toBe('5m');
    expect(relativeTime(ago(59 * 60_000 + 59_000), now)).toBe('59m');
    expect(relativeTime(ago(3 * 3600_000), now)).toBe('3h');
    expect(relativeTime(ago(23 * 3600_000 + 59 * 60_000), now)).toBe('23h');
    expect(relativeTime(ago(2 * 86400_000), now)).toBe('2d');
    expect(relativeTime(ago(6 * 86400_000), now)).toBe('6d');
  });
  it('falls back to a date after a week, with the year only when it differs', () => {
    const d = new Date(2024, 2, 5, 12); // local time: 5 March 2024
    expect(relativeTime(d, new Date(2024, 5, 15, 12))).toBe('Mar 5');
    expect(relativeTime(new Date(2023, 11, 24, 12), new Date(2024, 5, 15, 12))).toBe('Dec 24, 2023');
  });
  it('returns empty text for invalid input', () => {
    expect(relativeTime('not a date', now)).toBe('');
  });
});

describe('linkify', () => {
  it('splits text and http(s) links', () => {
    expect(linkify('see https://example.org/a?b=1 now')).toEqual([
      { type: 'text', value: 'see ' },
      { type: 'link', value: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { type: 'text', value: ' now' },
    ]);
  });
  it('drops trailing punctuation and unbalanced closing parentheses', () => {
    const segs = linkify('Read (https://en.wikipedia.org/wiki/Foo_(bar)). Then http://x.io, ok!');
    const links = segs.filter((s) => s.type === 'link').map((s) => s.value);
    expect(links).toEqual(['https://en.wikipedia.org/wiki/Foo_(bar)', 'http://x.io']);
    expect(segs.map((s) => s.value).join('')).toBe('Read (https://en.wikipedia.org/wiki/Foo_(bar)). Then http://x.io, ok!');
  });
  it('never links other schemes', () => {
    const segs = linkify('javascript:alert(1) and data:text/html,hi and ftp://x.org');
    expect(segs.every((s) => s.type === 'text')).toBe(true);
  });
  it('keeps line breaks in text segments', () => {
    expect(linkify('a\nb')).toEqual([{ type: 'text', value: 'a\nb' }]);
  });
});

describe('PostText rendering', () => {
  it('renders text as text nodes, never as HTML', () => {
    const host = document.createElement('div');
    const evil = '<img src=x onerror="alert(1)"><script>alert(2)</script> <b>bold</b> https://ok.example/x';
    render(h(PostText, { text: evil, onOpenLink: () => {} }), host);
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('script')).toBeNull();
    expect(host.querySelector('b')).toBeNull();
    const links = host.querySelectorAll('a');
    expect(links.length).toBe(1);
    expect(links[0].getAttribute('href')).toBe('https://ok.example/x');
    expect(links[0].getAttribute('rel')).toBe('noopener noreferrer');
    expect(links[0].getAttribute('target')).toBe('_blank');
    expect(host.textContent).toContain('<script>alert(2)</script>');
  });
  it('does not turn a quote in a URL into an attribute', () => {
    const host = document.createElement('div');
    render(h(PostText, { text: 'https://a.example/"onmouseover="x', onOpenLink: () => {} }), host);
    const a = host.querySelector('a')!;
    expect(a.getAttribute('onmouseover')).toBeNull();
    expect(a.getAttribute('href')).toBe('https://a.example/');
  });
  it('routes link clicks through onOpenLink and keeps the href', () => {
    const host = document.createElement('div');
    document.body.appendChild(host);
    const onOpenLink = vi.fn();
    render(h(PostText, { text: 'see https://b.example/page.', onOpenLink }), host);
    const a = host.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://b.example/page');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    a.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(onOpenLink).toHaveBeenCalledWith('https://b.example/page');
    host.remove();
  });
});

describe('small formatters', () => {
  it('initials', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('grace')).toBe('G');
    expect(initials('', '@tim')).toBe('T');
    expect(initials('Jean Claude Van Damme')).toBe('JD');
  });
  it('picks readable text colour on avatars', () => {
    expect(textColorOn('#000000')).toBe('#ffffff');
    expect(textColorOn('#ffffff')).toBe('#111111');
    expect(textColorOn('#f5d0fe')).toBe('#111111');
    expect(textColorOn('#1d4ed8')).toBe('#ffffff');
  });
  it('counts and durations', () => {
    expect(compactCount(999)).toBe('999');
    expect(compactCount(1234)).toBe('1.2K');
    expect(compactCount(2_000_000)).toBe('2M');
    expect(formatDuration(83_000)).toBe('1:23');
    expect(formatDuration(null)).toBe('');
  });
});

describe('digest words', () => {
  const since = '2024-06-14T20:27:00Z';
  it('writes the time of day the locale way', () => {
    const expected = new Date(since).toLocaleTimeString(undefined, { timeStyle: 'short' });
    expect(clockTime(since)).toBe(expected);
    expect(expected).toMatch(/27/);
    expect(clockTime('not a date')).toBe('');
  });
  it('counts posts and topics, in the singular for one', () => {
    const at = clockTime(since);
    expect(digestSummary(27, since, 10)).toBe(`27 posts since ${at} in 10 topics`);
    expect(digestSummary(1, since, 1)).toBe(`1 post since ${at} in 1 topic`);
    expect(digestSummary(1204, since, 3)).toBe(`1,204 posts since ${at} in 3 topics`);
    expect(digestSummary(3, since, 0)).toBe(`3 posts since ${at}`);
  });
  it('says how many posts the model is still reading, and how big a topic is', () => {
    expect(notYetReadText(3)).toBe('3 posts are still being read by the on-device model.');
    expect(notYetReadText(1)).toBe('1 post is still being read by the on-device model.');
    expect(topicSizeText(1)).toBe('(1 post)');
    expect(topicSizeText(12)).toBe('(12 posts)');
  });
});
