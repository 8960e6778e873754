// Feed subscriptions in a real browser against `hearth serve`: the user subscribes in Settings
// to feeds served by a web server on 127.0.0.1 (published feeds, and one of hostile markup);
// the posts appear in the timeline with their titles, none of the hostile markup runs or
// loads anything, and the page never contacts the feed's server itself (pictures come from
// Hearth's cache). Then the user refreshes, renames and removes a subscription.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, CARD, chooseChronological, demoBrowserSession, recordPageProblems } from './support/hearth.mjs';

const FEEDS = path.join(ROOT, 'tests', 'fixtures', 'feeds');
const session = demoBrowserSession('subscriptions', { before, after });

/** Published feeds, dated now (entries with no date are stamped when first seen), so they lead the timeline. */
function undated(file) {
  return readFileSync(path.join(FEEDS, file), 'utf8').replace(/<pubDate>[^<]*<\/pubDate>/g, '').replace(/<updated>[^<]*<\/updated>/g, '');
}

let feedServer;
let feedOrigin;
before(async () => {
  const png = readFileSync(path.join(ROOT, 'tests', 'fixtures', 'images', 'espresso.png'));
  const coffee = `<?xml version="1.0"?><rss version="2.0"><channel><title>Coffee Notes</title><link>/</link>
    <item><guid>c1</guid><title>Our new machine</title>
    <description><![CDATA[<p>Look at this <strong>crema</strong>.</p><img src="/espresso.png" alt="A fresh espresso">]]></description></item>
    </channel></rss>`;
  const routes = {
    '/xss.xml': ['application/rss+xml', undated('malformed/ours_xss_payloads.xml')],
    '/coffee.xml': ['application/rss+xml', coffee],
    '/espresso.png': ['image/png', png],
  };
  feedServer = http.createServer((req, res) => {
    const route = routes[req.url];
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': route[0] }).end(route[1]);
  });
  await new Promise((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  feedOrigin = `http://127.0.0.1:${feedServer.address().port}`;
});
after(() => feedServer?.close());

async function openSettings(t) {
  const context = await session.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  // The page may talk to Hearth only: never to the feed's server, nor anywhere else.
  const problems = recordPageProblems(page, session.server.origin);
  page.on('dialog', (dialog) => {
    problems.push(`a dialog opened: ${dialog.message()}`);
    dialog.dismiss();
  });
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], 'no script may run and no request may leave for another host');
  });
  await page.goto(session.server.url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
  await page.getByTestId('settings-button').click();
  await page.getByTestId('sources').waitFor();
  return page;
}

async function subscribe(page, url) {
  await page.getByTestId('add-feed-url').fill(url);
  const added = page.waitForResponse((r) => r.url().endsWith('/api/sources') && r.request().method() === 'POST');
  await page.getByTestId('add-feed-submit').click();
  const res = await added;
  assert.equal(res.status(), 201, await res.text());
  return res.json();
}

test('a feed subscribed in Settings fills the timeline, and its hostile markup stays inert', { timeout: 120_000 }, async (t) => {
  const page = await openSettings(t);
  await page.getByTestId('sources-empty').waitFor();
  const hostile = await subscribe(page, `${feedOrigin}/xss.xml`);
  const coffee = await subscribe(page, `${feedOrigin}/coffee.xml`);
  assert.equal(hostile.item_count, 5);
  const rows = page.getByTestId('source-row');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="source-row"]').length === 2);
  assert.match(await rows.filter({ hasText: 'Coffee Notes' }).innerText(), /1 post/);

  await page.getByRole('button', { name: 'Back to feed' }).click();
  await chooseChronological(page);
  const coffeeCard = page.locator(CARD).filter({ hasText: 'Our new machine' });
  await coffeeCard.waitFor({ timeout: 20_000 });
  assert.equal(await coffeeCard.getByTestId('post-title').innerText(), 'Our new machine');
  // The picture is Hearth's cached copy, not the feed server's.
  const img = coffeeCard.locator('img[alt="A fresh espresso"]');
  await img.waitFor();
  const src = await img.getAttribute('src');
  assert.ok(src.startsWith(`${session.server.origin}/api/media/`) || src.startsWith('/api/media/'), src);
  await page.waitForFunction((selector) => document.querySelector(selector)?.naturalWidth > 0, `${CARD} img[alt="A fresh espresso"]`);

  // Every hostile entry is drawn, with nothing executable left in the document.
  const titles = await page.getByTestId('post-title').allInnerTexts();
  for (const title of ['Remote CSS and tracking', 'Frames, embeds and SVG', 'Escaped markup in plain text']) {
    assert.ok(titles.includes(title), `${title} is in the timeline: ${titles.join(' | ')}`);
  }
  const found = await page.evaluate(() => {
    const bad = [];
    // Hearth's own icons are SVG: only what came from the feed (titles, bodies) is checked for tags.
    for (const el of document.querySelectorAll('.rich-wrap *, [data-testid="post-title"] *')) {
      const tag = el.localName;
      if (['script', 'iframe', 'object', 'embed', 'svg', 'math', 'form', 'style', 'link', 'meta', 'base', 'frame'].includes(tag)) bad.push(`<${tag}>`);
    }
    for (const el of document.querySelectorAll('[data-testid="post-card"] *')) {
      const tag = el.localName;
      for (const attr of el.attributes) {
        const value = attr.value.trim().toLowerCase();
        if (attr.name.startsWith('on')) bad.push(`${tag}[${attr.name}]`);
        if (attr.name === 'style' && value.includes('url(')) bad.push(`${tag}[style] ${value}`);
        if (['href', 'src', 'action', 'poster', 'srcdoc'].includes(attr.name) && /^(javascript|vbscript|data:text)/.test(value.replace(/\s/g, ''))) bad.push(`${tag}[${attr.name}=${value}]`);
      }
    }
    return bad;
  });
  assert.deepEqual(found, []);
  assert.ok((await page.locator('.rich-wrap').count()) >= 5, 'the bodies were drawn');
  await page.waitForTimeout(500);

  // Refresh, rename, remove, from Settings.
  await page.getByTestId('settings-button').click();
  const row = page.getByTestId('source-row').filter({ hasText: 'Coffee Notes' });
  const synced = page.waitForResponse((r) => r.url().endsWith('/api/sync'));
  await row.getByTestId('source-refresh').click();
  assert.ok((await synced).ok());
  await row.getByTestId('source-rename').click();
  await page.getByTestId('source-edit-input').fill('Espresso log');
  await page.getByTestId('source-edit-save').click();
  const renamed = page.getByTestId('source-row').filter({ hasText: 'Espresso log' });
  await renamed.waitFor();
  await renamed.getByTestId('source-remove').click();
  await page.getByTestId('remove-dialog').waitFor();
  const removed = page.waitForResponse((r) => r.url().endsWith(`/api/sources/${coffee.id}/remove`));
  await page.getByTestId('remove-confirm').click();
  assert.ok((await removed).ok());
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="source-row"]').length === 1);
  const left = await session.apiGet('/api/sources');
  assert.deepEqual(left.map((source) => source.id), [hostile.id]);
});
