// Takes the README screenshots of the Hearth web UI with the demo data.
// A plain script, not a test (node --test does not pick it up):
//
//   cargo build -p <the hearth binary>        # produces target/debug/hearth
//   (cd ui && npm ci && npm run build)        # produces ui/dist
//   (cd tests && npm ci) && node tests/e2e/screenshots.mjs
//
// Environment: HEARTH_BIN overrides the backend binary; CHROMIUM overrides the browser
// (default /usr/bin/chromium); SCREENSHOTS_DIR overrides the output folder
// (default assets/screenshots/). Every shot is one 1280x860 viewport at device scale 1.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CARD, ROOT, UI_DIST, assertServeBuilt, chooseChronological, importDemo, launchChromium, recordPageProblems, startServe,
} from './support/hearth.mjs';

const OUT = process.env.SCREENSHOTS_DIR ? path.resolve(process.env.SCREENSHOTS_DIR) : path.join(ROOT, 'assets', 'screenshots');
const VIEWPORT = { width: 1280, height: 860 };
const MAX_BYTES = 400 * 1024;

/** Waits until every image inside the viewport has loaded (and none is broken). */
async function imagesSettled(page) {
  await page.waitForFunction(
    () =>
      [...document.images]
        .filter((img) => {
          const r = img.getBoundingClientRect();
          return r.bottom > 0 && r.top < innerHeight && r.width > 0;
        })
        .every((img) => img.complete && img.naturalWidth > 0),
    null,
    { timeout: 20_000 },
  );
}

/** Waits for the toasts (e.g. "Theme follows your system") to go away. */
async function noToasts(page) {
  await page.waitForFunction(() => document.querySelectorAll('.toast').length === 0, null, { timeout: 15_000 });
}

/** Keeps the focus ring and the mouse's hover out of the picture. */
async function unfocus(page) {
  await page.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined));
  await page.mouse.move(0, VIEWPORT.height - 1);
}

async function settle(page) {
  await page.evaluate(() => document.fonts.ready);
  await imagesSettled(page);
  await noToasts(page);
  // Let transitions (dialog fade-in, disclosure) finish.
  await page.waitForTimeout(400);
}

async function shoot(page, file) {
  const target = path.join(OUT, file);
  await page.screenshot({ path: target, fullPage: false, animations: 'disabled', caret: 'initial' });
  return report(target);
}

function report(target) {
  const size = statSync(target).size;
  const note = size > MAX_BYTES ? `  (over ${MAX_BYTES / 1024} KB!)` : '';
  console.log(`${path.relative(ROOT, target)}  ${(size / 1024).toFixed(0)} KB${note}`);
  return size;
}

/**
 * A web server on 127.0.0.1 with a few published feeds from tests/fixtures/feeds, their dates
 * removed so their posts lead the Latest view. Resolves to { origin, close() }.
 */
async function feedServer() {
  const feeds = path.join(ROOT, 'tests', 'fixtures', 'feeds');
  const files = {
    '/cloudflare.xml': 'rss2/rss_2.0_cloudflare.xml',
    '/debian.xml': 'rss1/rss_1.0_debian.xml',
    '/redblobgames.xml': 'atom/atom_example_xhtml.xml',
    '/nightvale.xml': 'rss2/rss_2.0_nightvale.xml',
  };
  const server = http.createServer((req, res) => {
    const file = files[req.url];
    if (!file) return void res.writeHead(404).end();
    const text = readFileSync(path.join(feeds, file), 'utf8').replace(/<(pubDate|updated|published|dc:date)>[^<]*<\/\1>/g, '');
    res.writeHead(200, { 'content-type': 'application/xml' }).end(text);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, paths: Object.keys(files), close: () => server.close() };
}

async function main() {
  assertServeBuilt();
  mkdirSync(OUT, { recursive: true });

  const dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-shots-'));
  let server;
  let browser;
  let feeds;
  const problems = [];
  try {
    importDemo(dataDir);
    server = await startServe(dataDir, { uiDir: UI_DIST });
    browser = await launchChromium();
    feeds = await feedServer();
    for (const feedPath of feeds.paths) {
      const res = await fetch(`${server.origin}/api/sources`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${feeds.origin}${feedPath}` }),
      });
      if (res.status !== 201) throw new Error(`subscribing to ${feedPath} failed: ${res.status} ${await res.text()}`);
    }

    const open = async (colorScheme) => {
      const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme });
      const page = await context.newPage();
      recordPageProblems(page, server.origin, problems);
      await page.goto(server.url);
      await page.locator(CARD).first().waitFor({ timeout: 20_000 });
      return { context, page };
    };

    const sizes = [];

    // 1. Ranked feed, light, top of the page, with one "Why this post?" opened.
    {
      const { context, page } = await open('light');
      const why = page.locator(`${CARD} details.why`).first();
      await why.locator('summary').click();
      await page.evaluate(() => window.scrollTo(0, 0));
      // Keep the click's focus ring out of the picture.
      await unfocus(page);
      await settle(page);
      sizes.push(await shoot(page, 'feed-light.png'));
      await context.close();
    }

    // 2. Latest (chronological) feed, dark, scrolled to a card with an image.
    {
      const { context, page } = await open('dark');
      await chooseChronological(page);
      await unfocus(page);
      const withImage = page.locator(CARD).filter({ has: page.locator('.media-grid img') });
      await withImage.first().waitFor({ timeout: 20_000 });
      // Photos make big PNGs: take the first image card whose shot stays under the size limit.
      const candidates = Math.min(await withImage.count(), 8);
      let best = null;
      for (let i = 0; i < candidates; i++) {
        // Put the card a little below the sticky top bar, so the post above it peeks in.
        await withImage.nth(i).evaluate((el) => {
          const top = el.getBoundingClientRect().top + window.scrollY;
          window.scrollTo(0, Math.max(0, top - 200));
        });
        await settle(page);
        const png = await page.screenshot({ animations: 'disabled' });
        if (!best || png.length < best.length) best = png;
        if (png.length <= MAX_BYTES) break;
      }
      writeFileSync(path.join(OUT, 'feed-dark.png'), best);
      sizes.push(report(path.join(OUT, 'feed-dark.png')));
      await context.close();
    }

    // 3. Compose dialog, dark, with some text typed.
    {
      const { context, page } = await open('dark');
      await settle(page);
      await page.getByTestId('compose-button').click();
      const box = page.getByTestId('compose-text');
      await box.waitFor();
      await box.pressSequentially('Finally fixed the squeaky gate. Ten minutes with a spanner, three weeks of putting it off.\n\nWho else is on a tiny-jobs streak this weekend?', { delay: 0 });
      await settle(page);
      sizes.push(await shoot(page, 'compose-dark.png'));
      await context.close();
    }

    // 4. Settings, light.
    {
      const { context, page } = await open('light');
      await page.getByTestId('settings-button').click();
      await page.locator('.settings, [data-testid="settings"]').first().waitFor({ timeout: 10_000 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await unfocus(page);
      await settle(page);
      sizes.push(await shoot(page, 'settings-light.png'));
      await context.close();
    }

    // 5. A feed entry in the Latest view, light: its title and cleaned-up HTML.
    {
      const { context, page } = await open('light');
      await chooseChronological(page);
      const entry = page.locator(CARD).filter({ hasText: 'Optimizing page size' });
      await entry.waitFor({ timeout: 20_000 });
      await entry.evaluate((el) => window.scrollTo(0, Math.max(0, el.getBoundingClientRect().top + window.scrollY - 120)));
      await unfocus(page);
      await settle(page);
      sizes.push(await shoot(page, 'feed-entry-light.png'));
      await context.close();
    }

    if (problems.length) throw new Error(`the page had problems:\n${problems.join('\n')}`);
    if (sizes.some((s) => s > MAX_BYTES)) throw new Error(`a screenshot is larger than ${MAX_BYTES / 1024} KB`);
  } finally {
    await browser?.close();
    await server?.stop();
    feeds?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
