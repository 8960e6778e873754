// Today's digest in a real browser against `hearth serve` on a fresh demo: `t` opens the "Today"
// view, which lists the last 24 hours' posts in topics, each a section headed by its title and
// size with the feed's own post cards; Escape goes back to the feed.
//
// Topics need the posts' embeddings, so the test first waits until the backend's digest has a
// topic (the on-device embedding model must be installed where `hearth serve` looks for it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CARD, demoBrowserSession, recordPageProblems } from './support/hearth.mjs';

const session = demoBrowserSession('digest', { before, after });
const apiGet = (apiPath) => session.apiGet(apiPath);

/** The backend's digest once it has at least one topic (the model reads the demo posts first). */
async function digestWithTopics(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let digest = await apiGet('/api/digest');
  while (digest.topics.length === 0 && Date.now() < deadline) {
    await sleep(1000);
    digest = await apiGet('/api/digest');
  }
  return digest;
}

test('t opens today’s digest with topics of posts, and Escape goes back to the feed', { timeout: 180_000 }, async () => {
  const digest = await digestWithTopics(120_000);
  assert.ok(digest.posts > 0, `the demo has posts from the last 24 hours: ${JSON.stringify(digest)}`);
  assert.ok(digest.topics.length > 0, `the digest has topics once the posts are embedded: ${JSON.stringify({ ...digest, topics: [] })}`);

  const context = await session.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  recordPageProblems(page, session.server.origin, problems);
  await page.goto(session.server.url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });

  const opened = page.waitForResponse((r) => r.url().includes('/api/digest'));
  await page.keyboard.press('t');
  const response = await opened;
  assert.ok(response.ok(), `digest failed (${response.status()}): ${await response.text()}`);
  await page.getByRole('heading', { level: 1, name: 'Today', exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: "Today's digest" }).getAttribute('aria-current'), 'page');
  assert.match(await page.getByTestId('digest-summary').innerText(), /^\d[\d,]* posts? since .+ in \d+ topics?$/);

  const topics = page.locator('section[data-testid="digest-topic"]');
  await topics.first().waitFor();
  assert.ok((await topics.count()) >= 1, 'at least one topic');
  const first = topics.first();
  const title = await first.getByRole('heading', { level: 2 }).innerText();
  assert.match(title, /\(\d[\d,]* posts?\)$/, `a topic says how many posts it holds: ${title}`);
  // The section is a region named by its heading.
  await page.getByRole('region', { name: title, exact: true }).waitFor();
  assert.ok((await first.locator(CARD).count()) >= 1, 'the topic shows at least one post');

  await page.keyboard.press('Escape');
  await page.getByRole('heading', { level: 1, name: 'Today', exact: true }).waitFor({ state: 'detached' });
  await page.locator(`[role="feed"] ${CARD}`).first().waitFor();
  assert.equal(await topics.count(), 0);

  assert.deepEqual(problems, []);
  await context.close();
});
