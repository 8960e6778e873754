// Real-browser end-to-end test of the Hearth web UI against the real backend.
//
//   cargo build -p <the hearth binary>        # produces target/debug/hearth
//   (cd ui && npm ci && npm run build)        # produces ui/dist
//   (cd tests && npm ci) && node --test tests/e2e/
//
// Environment: HEARTH_BIN overrides the backend binary; CHROMIUM overrides the browser
// (default /usr/bin/chromium). Screenshots go to tests/artifacts/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ARTIFACTS, CARD, UI_DIST, assertServeBuilt, chooseChronological, importDemo, launchChromium, recordPageProblems, startServe,
} from './support/hearth.mjs';

let dataDir;
let server; // startServe()
let appUrl; // http://127.0.0.1:PORT/?token=T
let origin;
let browser;

/** A fresh page that fails the test on uncaught page errors or requests leaving the machine. */
async function openPage(t, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, ...options });
  const page = await context.newPage();
  const problems = recordPageProblems(page, origin);
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], 'the page must not throw or contact other hosts');
  });
  return page;
}

async function gotoFeed(page, url = appUrl) {
  await page.goto(url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
}

/** Waits for the POST /api/interactions of one of `kinds` (dwell/open events may interleave). */
function waitForInteraction(page, kinds) {
  return page.waitForResponse((r) => {
    if (!r.url().includes('/api/interactions') || r.request().method() !== 'POST') return false;
    try {
      return kinds.includes(JSON.parse(r.request().postData() ?? '{}').kind);
    } catch {
      return false;
    }
  });
}

before(async () => {
  assertServeBuilt();
  dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-e2e-'));
  importDemo(dataDir);
  server = await startServe(dataDir, { uiDir: UI_DIST });
  appUrl = server.url;
  origin = server.origin;
  browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('Hearth in a real browser', { timeout: 120_000 }, () => {
  test('the feed shows the demo posts and the token leaves the address bar', async (t) => {
    const page = await openPage(t);
    await gotoFeed(page);
    const n = await page.locator(CARD).count();
    assert.ok(n >= 10, `expected at least 10 cards, got ${n}`);
    assert.ok(!page.url().includes('token='), `token still in the URL: ${page.url()}`);
    await assert.doesNotReject(page.getByTestId('feed').waitFor());
    // Cards are real feed articles.
    const first = page.locator(CARD).first();
    assert.equal(await first.evaluate((el) => el.tagName), 'ARTICLE');
    assert.equal(await first.getAttribute('aria-posinset'), '1');
  });

  test('a like survives a reload', async (t) => {
    const page = await openPage(t);
    await gotoFeed(page);
    await chooseChronological(page);
    const card = page.locator(CARD).filter({ has: page.locator('[data-testid="like-button"][aria-pressed="false"]') }).first();
    const id = await card.getAttribute('data-post-id');
    assert.ok(id, 'found a post that is not liked yet');
    const saved = waitForInteraction(page, ['like']);
    await card.getByTestId('like-button').click();
    const res = await saved;
    assert.ok(res.ok(), `like failed (${res.status()}): ${await res.text()}`);
    const like = page.locator(`${CARD}[data-post-id="${id}"] [data-testid="like-button"]`);
    assert.equal(await like.getAttribute('aria-pressed'), 'true');

    await page.reload();
    await page.locator(CARD).first().waitFor();
    await like.waitFor();
    assert.equal(await like.getAttribute('aria-pressed'), 'true', 'the like is still there after reloading');
  });

  test('search finds a post by a distinctive word', async (t) => {
    const page = await openPage(t);
    await gotoFeed(page);
    const texts = await page.locator(`${CARD} .post-text`).allInnerTexts();
    // The longest plain word is usually distinctive.
    const words = texts
      .flatMap((s) => s.replace(/https?:\/\/\S+/g, ' ').split(/[^\p{L}]+/u))
      .filter((w) => w.length >= 6)
      .sort((a, b) => b.length - a.length);
    assert.ok(words.length > 0, 'found a word to search for');
    const word = words[0];
    const input = page.getByTestId('search-input');
    await page.keyboard.press('/');
    assert.equal(await input.evaluate((el) => el === document.activeElement), true, '"/" focuses the search field');
    await input.fill(word);
    const searched = page.waitForResponse((r) => r.url().includes('/api/search'));
    await input.press('Enter');
    assert.ok((await searched).ok(), 'search succeeded');
    await page.locator(CARD).first().waitFor();
    const found = await page.locator(`${CARD} .post-text`).allInnerTexts();
    assert.ok(
      found.some((s) => s.toLowerCase().includes(word.toLowerCase())),
      `a result contains "${word}"`,
    );
    // Escape clears the search and returns to the feed.
    await input.press('Escape');
    assert.equal(await input.inputValue(), '');
    await page.locator(CARD).first().waitFor();
  });

  test('a new post appears at the top of the chronological feed', async (t) => {
    const page = await openPage(t);
    await gotoFeed(page);
    await chooseChronological(page);
    const text = `Hello from the browser test ${Date.now()}\nsecond line`;
    await page.getByTestId('compose-button').click();
    const box = page.getByTestId('compose-text');
    await box.waitFor();
    await box.fill(text);
    const created = page.waitForResponse((r) => r.url().endsWith('/api/posts') && r.request().method() === 'POST');
    await page.getByTestId('compose-submit').click();
    const res = await created;
    assert.ok(res.ok(), `create_post failed (${res.status()}): ${await res.text()}`);
    await box.waitFor({ state: 'hidden' });
    const first = page.locator(CARD).first();
    assert.equal((await first.locator('.post-text').innerText()).trim(), text);

    // And it is really stored: reload (the chronological mode is remembered).
    await page.reload();
    await page.locator(CARD).first().waitFor();
    assert.equal(await page.getByTestId('mode-chronological').getAttribute('aria-checked'), 'true');
    assert.equal((await page.locator(CARD).first().locator('.post-text').innerText()).trim(), text);
  });

  test('keyboard navigation: j, j, l', async (t) => {
    const page = await openPage(t);
    await gotoFeed(page);
    const cards = page.locator(CARD);
    const id0 = await cards.nth(0).getAttribute('data-post-id');
    const id1 = await cards.nth(1).getAttribute('data-post-id');
    const focusedId = () => page.evaluate(() => document.activeElement?.getAttribute('data-post-id') ?? null);

    await page.keyboard.press('j');
    assert.equal(await focusedId(), id0, 'j focuses the first card');
    await page.keyboard.press('j');
    assert.equal(await focusedId(), id1, 'j again focuses the second card');

    const like = cards.nth(1).getByTestId('like-button');
    const before = await like.getAttribute('aria-pressed');
    const saved = waitForInteraction(page, ['like', 'unlike']);
    await page.keyboard.press('l');
    assert.ok((await saved).ok(), 'the like was recorded');
    assert.equal(await like.getAttribute('aria-pressed'), before === 'true' ? 'false' : 'true', 'l toggles the like');

    await page.keyboard.press('k');
    assert.equal(await focusedId(), id0, 'k goes back to the first card');
  });

  test('links leave through openExternal: new tab, no opener, page stays put', async (t) => {
    const page = await openPage(t);
    // Record window.open instead of opening tabs (a real tab would count as leaving the machine).
    await page.addInitScript(() => {
      window.__opened = [];
      window.open = (...args) => {
        window.__opened.push(args);
        return null;
      };
    });
    await gotoFeed(page);
    await chooseChronological(page);
    const before = page.url();

    // A link in post text.
    const link = `https://example.org/hearth-e2e/${Date.now()}`;
    await page.getByTestId('compose-button').click();
    await page.getByTestId('compose-text').fill(`Reading ${link} today.`);
    const created = page.waitForResponse((r) => r.url().endsWith('/api/posts') && r.request().method() === 'POST');
    await page.getByTestId('compose-submit').click();
    assert.ok((await created).ok());
    const anchor = page.locator(CARD).first().locator(`.post-text a`);
    assert.equal(await anchor.getAttribute('href'), link, 'the link keeps its href');
    await anchor.click();
    assert.deepEqual(await page.evaluate(() => window.__opened), [[link, '_blank', 'noopener,noreferrer']]);
    assert.equal(page.url(), before, 'the page did not navigate');

    // "Open original" in the overflow menu of a post that has a URL.
    const tok = new URL(appUrl).searchParams.get('token');
    const res = await fetch(`${origin}/api/feed?mode=chronological&limit=20`, { headers: { Authorization: `Bearer ${tok}` } });
    const withUrl = (await res.json()).posts.find((p) => p.url);
    assert.ok(withUrl, 'a demo post on the first page links to an original');
    const card = page.locator(`${CARD}[data-post-id="${withUrl.id}"]`);
    await card.locator('.overflow > button').click();
    const original = card.getByTestId('open-original');
    assert.equal(await original.getAttribute('href'), withUrl.url);
    await original.click();
    const opened = await page.evaluate(() => window.__opened);
    assert.equal(opened.length, 2);
    assert.equal(new URL(opened[1][0]).href, new URL(withUrl.url).href);
    assert.deepEqual(opened[1].slice(1), ['_blank', 'noopener,noreferrer']);
    assert.equal(page.url(), before, 'the page did not navigate');
  });

  test('audio that cannot play shows a message and a download link', async (t) => {
    const page = await openPage(t);
    // Serve garbage for media elements' requests, so the <audio> element fails to decode.
    await page.route('**/api/media/**', (route) =>
      route.request().resourceType() === 'media'
        ? route.fulfill({ status: 200, contentType: 'audio/wav', body: 'this is not audio' })
        : route.continue(),
    );
    await gotoFeed(page);
    // Where the audio posts rank depends on what earlier tests liked: scroll until one loads.
    const card = page.locator('[data-testid="audio-card"]').first();
    for (let i = 0; i < 30 && (await card.count()) === 0; i++) {
      await page.locator(CARD).last().scrollIntoViewIfNeeded();
      await page.waitForTimeout(300);
    }
    await card.waitFor({ timeout: 20_000 });
    await card.scrollIntoViewIfNeeded();
    await card.locator('audio').evaluate((a) => a.play().catch(() => {}));
    const msg = card.getByTestId('audio-error');
    await msg.waitFor({ timeout: 15_000 });
    assert.match(await msg.innerText(), /This audio can.t play here/);
    assert.equal(await card.locator('audio').count(), 0, 'the broken player is gone');
    const dl = msg.getByRole('link', { name: 'Download' });
    assert.match(await dl.getAttribute('href'), /^\/api\/media\/\d+\?token=/);
    assert.match(await dl.getAttribute('download'), /^hearth-audio-\d+\.wav$/);
    await card.screenshot({ path: path.join(ARTIFACTS, 'browser-audio-error.png') });
  });

  test('tone chips appear once the on-device pipeline has tagged the posts, and calm mode hides negative ones', async (t) => {
    // The server's background worker tags the demo with the real models (HEARTH_MODELS_DIR).
    const deadline = Date.now() + 90_000;
    for (;;) {
      const status = await (await fetch(`${origin}/api/enrichment`, { headers: { authorization: `Bearer ${server.token}` } })).json();
      assert.notEqual(status.state, 'unavailable', `the models are missing (run cargo xtask models): ${status.message}`);
      if (status.state === 'idle' && status.total > 0 && status.done === status.total) break;
      assert.ok(Date.now() < deadline, `tagging did not finish: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const page = await openPage(t);
    await gotoFeed(page);
    await chooseChronological(page);
    const chips = page.getByTestId('tone-chip');
    assert.ok((await chips.count()) >= 5, 'posts show their tone');
    const labels = await chips.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label') ?? ''));
    assert.ok(labels.some((label) => /negative/i.test(label)), `some demo post is negative: ${labels.join(' | ')}`);
    const calmLoaded = page.waitForResponse((r) => r.url().includes('/api/feed') && r.url().includes('calm=true'));
    await page.getByTestId('calm-toggle').click();
    await calmLoaded;
    await page.locator(CARD).first().waitFor();
    const calmLabels = await page.getByTestId('tone-chip').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label') ?? ''));
    assert.ok(calmLabels.length >= 5);
    assert.ok(calmLabels.every((label) => !/negative/i.test(label)), `calm mode still shows: ${calmLabels.join(' | ')}`);
    await page.getByTestId('calm-toggle').click();
  });

  test('screenshots in light and dark', async (t) => {
    for (const [scheme, file] of [
      ['light', 'browser-feed.png'],
      ['dark', 'browser-feed-dark.png'],
    ]) {
      const page = await openPage(t, { colorScheme: scheme });
      await gotoFeed(page);
      // Not 'networkidle': the page keeps one progress stream open for live updates.
      await page.waitForFunction(() => [...document.images].every((image) => image.complete));
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g).map(Number);
      const dark = r + g + b < 3 * 128;
      assert.equal(dark, scheme === 'dark', `${scheme} theme background is ${bg}`);
      await page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true });
      assert.ok(existsSync(path.join(ARTIFACTS, file)));
    }
  });
});
