// A feed item's HTML body, drawn without ever handing markup to the page: the HTML (already
// sanitised by the backend) is parsed into an inert document with DOMParser — no script runs and
// no image loads there — and walked into Preact elements, keeping only an allowlist of tags and,
// on those, of attributes. Everything else goes: unknown tags leave their text behind; scripts,
// styles, frames, forms, SVG and MathML go with everything inside them. Links keep http(s) and
// mailto addresses only. Images never load from their remote address: an image shows only when
// the post carries it as media stored on this device, and then from there.
import { h, type ComponentChild, type ComponentChildren } from 'preact';
import { useMemo, useRef } from 'preact/hooks';
import { mediaUrl } from './api';
import { imageAlt } from './format';
import type { Media } from './types';

const XHTML = 'http://www.w3.org/1999/xhtml';

/** Tags drawn as themselves (headings are moved down a level or more, see `richContent`). */
const KEPT = new Set([
  'p', 'br', 'a', 'em', 'strong', 'b', 'i', 'u', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'img', 'figure', 'figcaption', 'hr',
  'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'sub', 'sup', 'abbr', 'span',
]);

/** Tags dropped together with everything inside them: code, styles, embedded documents, forms and their controls. */
const DROPPED = new Set([
  'script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'svg', 'math',
  'template', 'noscript', 'head', 'title', 'meta', 'link', 'base', 'canvas', 'audio', 'video', 'source',
  'track', 'input', 'button', 'select', 'textarea', 'option', 'dialog', 'portal',
]);

/** Elements whose whitespace-only text is layout noise (it may not even sit there in a DOM built by hand). */
const NO_LOOSE_TEXT = new Set(['table', 'thead', 'tbody', 'tfoot', 'tr', 'ul', 'ol']);

/** Elements that start a new line of text, for guessing how tall the body is. */
const LINES = new Set(['p', 'li', 'pre', 'blockquote', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'tr', 'figure', 'hr', 'br']);

/** Deeper than this, an element's text is kept but its markup is not (no page needs more; a hostile one gets no stack overflow). */
const MAX_DEPTH = 64;

/** Longer than this (characters, or lines of text), a card shows the body clamped with "Show more". */
const LONG_CHARS = 360;
const LONG_LINES = 7;
/** How many lines an image counts as, for that guess. */
const IMAGE_LINES = 4;

/** The address schemes a link may keep. */
const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

export type RichContent = {
  /** What to draw: Preact elements and text only. */
  nodes: ComponentChildren;
  /** The ids of the post's media that the body shows (or would, once stored), so the card does not show them twice. */
  mediaIds: number[];
  /** Whether the body is long enough to show clamped at first. */
  long: boolean;
  /** Whether nothing at all is left to show. */
  empty: boolean;
};

type Walk = {
  media: Media[];
  /** Opens an http(s) link outside Hearth; links keep their default action without it. */
  openLink?: (url: string) => void;
  /** The level an `<h1>` in the body is drawn at. */
  headingLevel: number;
  mediaIds: Set<number>;
  chars: number;
  lines: number;
  images: number;
};

/**
 * A link's address if it may be kept: an absolute http(s) URL with a host, or a mailto: address,
 * normalised by the URL parser (which also undoes the tab and newline tricks that hide a
 * `javascript:`); null for anything else, relative addresses included.
 */
export function safeHref(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (!LINK_SCHEMES.has(url.protocol)) return null;
  if (url.protocol !== 'mailto:' && !url.hostname) return null;
  return url.href;
}

/** The media item a body's `<img src>` stands for: the one with that remote address, compared as written and as normalised. */
export function mediaForSrc(media: readonly Media[], src: string | null | undefined): Media | undefined {
  const wanted = src?.trim();
  if (!wanted) return undefined;
  const exact = media.find((m) => m.remote_url === wanted);
  if (exact) return exact;
  const normal = normalisedUrl(wanted);
  return normal === null ? undefined : media.find((m) => m.remote_url != null && normalisedUrl(m.remote_url) === normal);
}

function normalisedUrl(s: string): string | null {
  try {
    return new URL(s).href;
  } catch {
    return null;
  }
}

/** A width or height attribute as a number of pixels, when it is a plain one. */
function pixels(raw: string | null): number | undefined {
  if (raw === null || !/^\s*\d{1,5}\s*$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 0 ? n : undefined;
}

/** A table cell's colspan or rowspan, when it is a small whole number. */
function span(raw: string | null): number | undefined {
  if (raw === null || !/^\s*\d{1,3}\s*$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 1 && n <= 100 ? n : undefined;
}

function image(el: Element, walk: Walk): ComponentChild {
  const src = el.getAttribute('src');
  const written = el.getAttribute('alt')?.trim() ?? '';
  const found = mediaForSrc(walk.media, src);
  if (found) walk.mediaIds.add(found.id);
  if (found && found.kind === 'image' && found.cached) {
    walk.images += 1;
    walk.lines += IMAGE_LINES;
    // The body's own alt text first, then the media's (the author's, else the model's, marked as such).
    const alt = written || imageAlt(found).alt;
    return h('img', {
      src: mediaUrl(found.id),
      alt,
      width: pixels(el.getAttribute('width')) ?? found.width ?? undefined,
      height: pixels(el.getAttribute('height')) ?? found.height ?? undefined,
      loading: 'lazy',
      decoding: 'async',
    });
  }
  // Not stored on this device (or not one of the post's media at all): its description, if it has one.
  if (!written) return null;
  walk.chars += written.length;
  return h('span', { class: 'rich-image-alt' }, `Image: ${written}`);
}

/** Whether an element is drawn at all: HTML only, and none of the tags dropped with their contents. */
function dropped(el: Element): boolean {
  return (el.namespaceURI !== null && el.namespaceURI !== XHTML) || DROPPED.has(el.localName.toLowerCase());
}

/** The text under `el`, less what is dropped, gathered without recursion (the tree may be very deep). */
function plainText(el: Element): string {
  let text = '';
  const stack: Node[] = [el];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.nodeType === Node.TEXT_NODE) text += n.textContent ?? '';
    else if (n.nodeType === Node.ELEMENT_NODE && !dropped(n as Element)) {
      const kids = n.childNodes;
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
  }
  return text;
}

function children(el: Element, walk: Walk, depth: number, name: string): ComponentChild[] {
  const out: ComponentChild[] = [];
  for (const child of Array.from(el.childNodes)) {
    if (NO_LOOSE_TEXT.has(name) && child.nodeType === Node.TEXT_NODE && !child.textContent?.trim()) continue;
    const drawn = node(child, walk, depth + 1);
    if (drawn !== null) out.push(drawn);
  }
  return out;
}

function node(n: Node, walk: Walk, depth: number): ComponentChild {
  if (n.nodeType === Node.TEXT_NODE) {
    const text = n.textContent ?? '';
    walk.chars += text.trim().length;
    return text;
  }
  // Comments, processing instructions and the like are never drawn.
  if (n.nodeType !== Node.ELEMENT_NODE) return null;
  const el = n as Element;
  // SVG and MathML elements (and anything else not HTML) go with their contents, as do scripts and the like.
  if (dropped(el)) return null;
  const name = el.localName.toLowerCase();
  if (depth > MAX_DEPTH) {
    const text = plainText(el);
    walk.chars += text.trim().length;
    return text;
  }
  if (LINES.has(name)) walk.lines += 1;
  if (name === 'img') return image(el, walk);
  if (name === 'br' || name === 'hr') return h(name, null);
  const inner = children(el, walk, depth, name);
  // An unknown tag leaves its contents behind, without itself or any of its attributes.
  if (!KEPT.has(name)) return inner;
  switch (name) {
    case 'a': {
      const href = safeHref(el.getAttribute('href'));
      if (!href) return inner;
      // A web link opens through `openLink`, as links in plain posts do (the desktop webview cannot
      // follow target=_blank itself); a mailto: link is left to the system.
      const open = walk.openLink;
      const onClick =
        open && href.startsWith('http')
          ? (e: MouseEvent) => {
              e.preventDefault();
              open(href);
            }
          : undefined;
      return h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', title: href, onClick }, ...inner);
    }
    case 'h1':
    case 'h2':
    case 'h3':
    case 'h4':
    case 'h5':
    case 'h6': {
      const level = Math.min(6, walk.headingLevel + Number(name[1]) - 1);
      return h(`h${level}`, null, ...inner);
    }
    case 'abbr': {
      const title = el.getAttribute('title');
      return h('abbr', title ? { title } : null, ...inner);
    }
    case 'th':
    case 'td':
      return h(name, { colSpan: span(el.getAttribute('colspan')), rowSpan: span(el.getAttribute('rowspan')) }, ...inner);
    default:
      return h(name, null, ...inner);
  }
}

/**
 * Turns a feed item's HTML into Preact elements (see the top of this file for what is kept).
 * `media`: the post's media, where images are looked up by their remote address.
 * `headingLevel`: the level an `<h1>` in the body becomes, so the body's headings sit under the
 * card's title (an `<h2>` becomes the next level, and so on, never past `<h6>`).
 * `openLink`: what a click on a web link does instead of following it (the links keep their href
 * for copying, hover previews and screen readers).
 */
export function richContent(
  html: string,
  media: readonly Media[] = [],
  headingLevel = 3,
  openLink?: (url: string) => void,
): RichContent {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const walk: Walk = {
    media: [...media],
    openLink,
    headingLevel: Math.max(1, Math.min(6, headingLevel)),
    mediaIds: new Set(),
    chars: 0,
    lines: 0,
    images: 0,
  };
  const body = doc.body;
  const nodes = body ? children(body, walk, 0, 'body') : [];
  return {
    nodes,
    mediaIds: [...walk.mediaIds],
    long: walk.chars > LONG_CHARS || walk.lines > LONG_LINES,
    empty: walk.chars === 0 && walk.images === 0,
  };
}

/** Draws what `richContent` made. */
export function RichBody({ content, id }: { content: RichContent; id?: string }) {
  return (
    <div class="rich-text" id={id} data-testid="rich-text">
      {content.nodes}
    </div>
  );
}

type RichTextProps = {
  html: string;
  media?: readonly Media[];
  headingLevel?: number;
  id?: string;
  /** Opens an http(s) link outside Hearth (system browser / new tab). */
  onOpenLink: (url: string) => void;
};

/** A feed item's HTML body, drawn safely (cards use `richContent` and `RichBody` themselves). */
export function RichText({ html, media = [], headingLevel = 3, id, onOpenLink }: RichTextProps) {
  // The elements are made once per body; a click reaches the latest `onOpenLink`.
  const latest = useRef(onOpenLink);
  latest.current = onOpenLink;
  const content = useMemo(
    () => richContent(html, media, headingLevel, (url) => latest.current(url)),
    [html, media, headingLevel],
  );
  return <RichBody content={content} id={id} />;
}
