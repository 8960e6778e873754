// Image labels in a real browser against `hearth serve` on a fresh demo: attaching a photo in the
// composer prefills its alt-text field with the on-device image model's description, marked as a
// suggestion to check, and posting it keeps that text; demo images their authors left
// undescribed get the machine's description, marked as machine-generated; and Settings → Models
// shows how far image labelling has got.
//
// The image model must be installed where `hearth serve` looks for it (HEARTH_MODELS_DIR).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ARTIFACTS, CARD, ROOT, chooseChronological, demoBrowserSession, recordPageProblems } from './support/hearth.mjs';

const ESPRESSO = path.join(ROOT, 'tests', 'fixtures', 'images', 'espresso.png');

const session = demoBrowserSession('images', { before, after });
const apiGet = (apiPath) => session.apiGet(apiPath);

/** A fresh page on the feed that records uncaught errors and requests leaving the machine. */
async function openFeed(t) {
  const context = await session.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = recordPageProblems(page, session.server.origin);
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], 'the page must not throw or contact other hosts');
  });
  await page.goto(session.server.url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
  return page;
}

/** The enrichment status once every stored image is labelled. */
async function imagesLabelled(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await apiGet('/api/enrichment');
    const images = status.images;
    if (images && images.total > 0 && images.done === images.total && !images.message) return status;
    assert.ok(Date.now() < deadline, `images were not labelled in time: ${JSON.stringify(status)}`);
    await sleep(1000);
  }
}

test('an attached photo gets the model’s alt text as an editable suggestion, and the post keeps it', { timeout: 180_000 }, async (t) => {
  const page = await openFeed(t);
  await chooseChronological(page);
  await page.getByTestId('compose-button').click();
  const text = `Coffee break ${Date.now()}`;
  await page.getByTestId('compose-text').fill(text);

  const described = page.waitForResponse((r) => r.url().includes('/api/images/describe') && r.request().method() === 'POST');
  await page.getByTestId('compose-images-input').setInputFiles(ESPRESSO);
  const response = await described;
  assert.ok(response.ok(), `describe failed (${response.status()}): ${await response.text()}`);

  const alt = page.getByTestId('alt-input');
  await page.waitForFunction(
    () => /espresso/i.test(document.querySelector('[data-testid="alt-input"]')?.value ?? ''),
    null,
    { timeout: 60_000 },
  );
  const suggestion = await alt.inputValue();
  assert.match(suggestion, /espresso/i);
  const note = page.getByTestId('alt-note');
  await note.getByText(/suggested by the on-device model/i).waitFor();
  assert.equal(await note.getAttribute('aria-live'), 'polite');
  // The note is the field's description, so a screen reader hears it with the field.
  assert.equal(await alt.getAttribute('aria-describedby'), await note.getAttribute('id'));
  // The README's picture of the suggestion (assets/screenshots/compose-alt-suggestion.png).
  await page.screenshot({ path: path.join(ARTIFACTS, 'compose-alt-suggestion.png') });

  const created = page.waitForResponse((r) => r.url().endsWith('/api/posts') && r.request().method() === 'POST');
  await page.getByTestId('compose-submit').click();
  const res = await created;
  assert.ok(res.ok(), `create_post failed (${res.status()}): ${await res.text()}`);
  const post = await res.json();
  assert.equal(post.media.length, 1);
  assert.match(post.media[0].alt_text ?? '', /espresso/i);
  await page.getByTestId('compose-text').waitFor({ state: 'hidden' });

  const card = page.locator(`${CARD}[data-post-id="${post.id}"]`);
  await card.waitFor();
  assert.equal((await card.locator('.post-text').innerText()).trim(), text);
  const img = card.locator('.media-item img');
  assert.match((await img.getAttribute('alt')) ?? '', /espresso/i);
  assert.equal(await img.getAttribute('alt'), suggestion, 'the suggestion the user kept is the image’s alt text');
  // Kept by the user, it is their alt text now: the ALT badge, not the machine's.
  assert.equal(await card.getByTestId('machine-alt-badge').count(), 0);
  await card.getByRole('button', { name: 'Show image description', exact: true }).waitFor();

  const stored = await apiGet(`/api/posts/${post.id}`);
  assert.match(stored.media[0].alt_text ?? '', /espresso/i);
});

test('undescribed demo images show the machine’s description, marked, and Settings shows the labelling', { timeout: 240_000 }, async (t) => {
  const status = await imagesLabelled(180_000);
  const feed = await apiGet('/api/feed?mode=chronological&limit=100');
  const target = feed.posts.find((p) => p.media.some((m) => m.kind === 'image' && !m.alt_text && m.machine_description));
  assert.ok(target, 'a demo post has an image without alt text that the model described');
  const media = target.media.find((m) => m.kind === 'image' && !m.alt_text && m.machine_description);
  assert.ok(media.labels.length > 0, 'the described image has labels');

  const page = await openFeed(t);
  await chooseChronological(page);
  // The feed loads more as it is scrolled, until the post is there.
  const card = page.locator(`${CARD}[data-post-id="${target.id}"]`);
  for (let i = 0; i < 20 && (await card.count()) === 0; i++) {
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await sleep(500);
  }
  await card.scrollIntoViewIfNeeded();
  const img = card.locator('.media-item img').nth(target.media.filter((m) => m.kind === 'image').indexOf(media));
  assert.equal(await img.getAttribute('alt'), `Machine-generated description: ${media.machine_description}`);
  const badge = card.getByTestId('machine-alt-badge').first();
  assert.equal(await badge.innerText(), 'AUTO');
  assert.equal(await badge.getAttribute('aria-expanded'), 'false');
  await badge.focus();
  await page.keyboard.press('Enter');
  assert.equal(await badge.getAttribute('aria-expanded'), 'true');
  assert.match(await card.getByTestId('machine-alt-text').first().innerText(), /^Machine-generated description: /);

  await page.getByTestId('settings-button').click();
  const progress = page.getByTestId('image-progress');
  await progress.waitFor();
  const total = status.images.total;
  const words = `Labelled ${total.toLocaleString('en')} of ${total.toLocaleString('en')} ${total === 1 ? 'image' : 'images'}`;
  await progress
    .getByText(words)
    .waitFor({ timeout: 20_000 })
    .catch(async (error) => {
      // Say what Settings showed instead, and what the API says now.
      const shown = await progress.innerText().catch(() => '(unreadable)');
      const now = await apiGet('/api/enrichment').catch((e) => String(e));
      throw new Error(`Settings never said "${words}": it showed ${JSON.stringify(shown)}; the API now says ${JSON.stringify(now)}`, { cause: error });
    });
  assert.match(await progress.innerText(), /Up to date/);
  const bar = progress.locator('progress');
  assert.equal(await bar.getAttribute('value'), String(total));
  assert.equal(await bar.getAttribute('max'), String(total));
});
