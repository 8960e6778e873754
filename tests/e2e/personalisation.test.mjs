// Personalisation in a real browser against `hearth serve` on a fresh demo: a ranked post says
// why it is there as a list of reasons; Settings says how many interactions the ranker learned
// from (0, then 1 after a like), and "Reset personalisation", once confirmed, brings it back to 0
// while the like itself and the interaction history stay.
//
// Dwell events are answered by the test instead of the server: a long enough read counts as an
// interaction too, and on a slow machine one could slip in and make the counts below inexact.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CARD, demoBrowserSession, recordPageProblems } from './support/hearth.mjs';

const session = demoBrowserSession('personalisation', { before, after });
const apiGet = (apiPath) => session.apiGet(apiPath);

/** The kind of interaction a request records, or null. */
function interactionKind(request) {
  if (!request.url().includes('/api/interactions') || request.method() !== 'POST') return null;
  try {
    return JSON.parse(request.postData() ?? '{}').kind ?? null;
  } catch {
    return null;
  }
}

test('reasons are listed, and a confirmed reset forgets what the ranker learned', { timeout: 120_000 }, async () => {
  const context = await session.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  recordPageProblems(page, session.server.origin, problems);
  await page.route('**/api/interactions', (route) =>
    interactionKind(route.request()) === 'dwell'
      ? route.fulfill({ status: 200, contentType: 'application/json', body: 'null' })
      : route.continue(),
  );
  await page.goto(session.server.url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });

  // The feed starts ranked; a post's "Why this post?" opens a list of one to three reasons.
  assert.equal(await page.getByTestId('mode-ranked').getAttribute('aria-checked'), 'true');
  const why = page.locator(`${CARD} details.why`).first();
  await why.locator('summary').click();
  const list = why.getByRole('list', { name: 'Reasons this post is here' });
  await list.waitFor();
  const reasons = await list.getByRole('listitem').allInnerTexts();
  assert.ok(reasons.length >= 1 && reasons.length <= 3, `one to three reasons: ${JSON.stringify(reasons)}`);
  assert.ok(reasons.every((reason) => reason.trim() !== ''), `no blank reasons: ${JSON.stringify(reasons)}`);

  // Nothing learned yet.
  await page.getByTestId('settings-button').click();
  const learned = page.getByTestId('interactions-learned');
  await learned.waitFor();
  assert.equal(await learned.innerText(), 'Learned from 0 interactions.');
  assert.match(await page.getByTestId('personalisation').innerText(), /starting order: newest and most varied first/);

  // A like is learned from at once.
  await page.locator('.settings-head').getByRole('button', { name: 'Back to feed' }).click();
  const card = page.locator(CARD).filter({ has: page.locator('[data-testid="like-button"][aria-pressed="false"]') }).first();
  await card.waitFor();
  const id = await card.getAttribute('data-post-id');
  assert.ok(id, 'found a post that is not liked yet');
  const liked = page.waitForResponse((r) => interactionKind(r.request()) === 'like');
  await card.getByTestId('like-button').click();
  const likeResponse = await liked;
  assert.ok(likeResponse.ok(), `like failed (${likeResponse.status()}): ${await likeResponse.text()}`);
  await page.getByTestId('settings-button').click();
  await learned.waitFor();
  assert.equal(await learned.innerText(), 'Learned from 1 interaction.');

  // Reset asks first, with the history kept unless asked.
  const resetButton = page.getByTestId('reset-personalisation');
  await resetButton.click();
  assert.equal(await resetButton.getAttribute('aria-expanded'), 'true');
  const confirm = page.getByRole('group', { name: 'Reset personalisation?' });
  await confirm.waitFor();
  const forget = confirm.getByRole('checkbox', { name: 'Also delete my interaction history' });
  assert.equal(await forget.isChecked(), false, 'the history is kept by default');
  const reset = page.waitForResponse((r) => r.url().includes('/api/personalisation/reset') && r.request().method() === 'POST');
  await confirm.getByRole('button', { name: 'Reset', exact: true }).click();
  const resetResponse = await reset;
  assert.ok(resetResponse.ok(), `reset failed (${resetResponse.status()}): ${await resetResponse.text()}`);
  assert.deepEqual(JSON.parse(resetResponse.request().postData() ?? '{}'), { forget_interactions: false });
  await confirm.waitFor({ state: 'hidden' });
  await page.getByRole('status').filter({ hasText: 'Personalisation reset.' }).waitFor();
  assert.equal(await learned.innerText(), 'Learned from 0 interactions.');

  // The backend agrees, the interaction log and the like are still there, and a reload shows the same.
  const status = await apiGet('/api/status');
  assert.equal(status.personalisation.interactions_learned, 0);
  assert.deepEqual(status.personalisation.interests, []);
  assert.ok(status.interactions >= 1, `the interaction history stays: ${status.interactions}`);
  assert.equal((await apiGet(`/api/posts/${id}`)).state.liked, true, 'the like stays on the post');
  await page.reload();
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
  await page.getByTestId('settings-button').click();
  await learned.waitFor();
  assert.equal(await learned.innerText(), 'Learned from 0 interactions.');

  assert.deepEqual(problems, []);
  await context.close();
});
