// Speech transcription in a real browser against `hearth serve` on a fresh demo: once the
// on-device speech model has transcribed the demo's voice memos, a card shows its memo's
// transcript as timed segments, marked as machine-generated, and pressing a segment plays the
// memo from there; Settings → Models says every recording is transcribed. And the composer
// records a voice memo from Chromium's fake microphone through the Web Audio API, attaches it as
// a WAV with a playable preview, posts it, and the new post's transcript reaches a final state
// (done or failed: the fake microphone plays a beep, not words) without a reload.
//
// The speech model must be installed where `hearth serve` looks for it (HEARTH_MODELS_DIR).
// Chromium runs with a fake microphone (--use-fake-device-for-media-stream) that it may use
// without asking (--use-fake-ui-for-media-stream); support/hearth.mjs's launchChromium takes no
// extra flags, so this file launches its own browser with the same ones plus those two.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CARD,
  launchChromium,
  UI_DIST,
  assertServeBuilt,
  chooseChronological,
  importDemo,
  recordPageProblems,
  startServe,
} from './support/hearth.mjs';

let dataDir;
let server;
let browser;

before(async () => {
  assertServeBuilt();
  dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-speech-'));
  importDemo(dataDir);
  server = await startServe(dataDir, { uiDir: UI_DIST });
  browser = await launchChromium({ fakeMicrophone: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** GET with the run's token, JSON back. */
async function apiGet(apiPath) {
  const res = await fetch(`${server.origin}${apiPath}`, { headers: { authorization: `Bearer ${server.token}` } });
  if (!res.ok) throw new Error(`GET ${apiPath} failed (${res.status}): ${await res.text()}`);
  return res.json();
}

/** Every post in the chronological feed, page by page. */
async function allPosts() {
  const posts = [];
  let cursor = null;
  do {
    const page = await apiGet(`/api/feed?mode=chronological&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    posts.push(...page.posts);
    cursor = page.next_cursor;
  } while (cursor);
  return posts;
}

/** The enrichment status once every audio attachment is transcribed. */
async function speechFinished(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await apiGet('/api/enrichment');
    const speech = status.speech;
    if (speech && speech.total > 0 && speech.done === speech.total) return status;
    assert.ok(Date.now() < deadline, `the recordings were not transcribed in time: ${JSON.stringify(speech)}`);
    await sleep(1000);
  }
}

/** A fresh page on the feed that records uncaught errors and requests leaving the machine. */
async function openFeed(t) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, permissions: ['microphone'] });
  const page = await context.newPage();
  const problems = recordPageProblems(page, server.origin);
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], 'the page must not throw or contact other hosts');
  });
  await page.goto(server.url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
  return page;
}

/** Seconds as the transcript writes them: "m:ss", rounded down. */
function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

const FINAL = ['done', 'failed'];

test('demo voice memos show their transcripts, and a segment plays the memo from its start', { timeout: 420_000 }, async (t) => {
  const status = await speechFinished(360_000);
  const total = status.speech.total;

  // The demo memo with the most segments (at least one), so the second can be pressed when there is one.
  const candidates = (await allPosts()).flatMap((post) =>
    post.media
      .filter((m) => m.kind === 'audio' && m.transcript?.status === 'done' && m.transcript.segments.length > 0)
      .map((media) => ({ post, media })),
  );
  assert.ok(candidates.length > 0, 'a demo post has an audio attachment with a finished transcript');
  candidates.sort((a, b) => b.media.transcript.segments.length - a.media.transcript.segments.length);
  const { post, media } = candidates[0];
  const segments = media.transcript.segments;
  if (segments.length < 2) t.diagnostic(`no demo memo has two segments; pressing the first of post ${post.id}`);

  const page = await openFeed(t);
  await chooseChronological(page);
  // The feed loads more as it is scrolled, until the post is there.
  const card = page.locator(`${CARD}[data-post-id="${post.id}"]`);
  for (let i = 0; i < 30 && (await card.count()) === 0; i++) {
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await sleep(500);
  }
  await card.scrollIntoViewIfNeeded();

  const transcript = card.getByTestId('transcript');
  assert.equal(await transcript.getAttribute('data-status'), 'done');
  const note = await card.getByTestId('transcript-note').innerText();
  assert.match(note, /^Machine-generated transcript\. Transcribed on this device by /);
  if (media.transcript.model === 'whisper-tiny-en') assert.match(note, /by Whisper tiny\.en$/);

  // A long transcript is collapsed: open it to see every segment.
  const toggle = card.getByTestId('transcript-toggle');
  if ((await toggle.count()) > 0) {
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  }
  const shown = card.getByTestId('transcript-segment');
  assert.equal(await shown.count(), segments.length);
  for (let i = 0; i < segments.length; i++) {
    const item = shown.nth(i);
    assert.equal(await item.evaluate((el) => el.tagName), 'BUTTON');
    assert.equal(await item.locator('.segment-time').innerText(), clock(segments[i].start));
    assert.equal((await item.locator('.segment-text').innerText()).trim(), segments[i].text.trim());
  }
  assert.equal(await card.locator('[data-testid="transcript-segment"][aria-current="true"]').count(), 0);

  const index = segments.length > 1 ? 1 : 0;
  const start = segments[index].start;
  await shown.nth(index).click();
  // The player loaded the memo and went to the segment's start (playing on from there).
  await page.waitForFunction(
    ({ id, from }) => {
      const audio = document.querySelector(`[data-post-id="${id}"] audio`);
      return audio && audio.readyState >= 1 && audio.currentTime >= from - 0.3 && audio.currentTime <= from + 3;
    },
    { id: post.id, from: start },
    { timeout: 15_000 },
  );
  assert.equal(await shown.nth(index).getAttribute('aria-current'), 'true');
  await card.locator('audio').evaluate((audio) => audio.pause());

  // The keyboard reaches the segments too: Enter on the first plays from its start.
  await shown.first().focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    ({ id, from }) => {
      const audio = document.querySelector(`[data-post-id="${id}"] audio`);
      return audio && audio.currentTime >= from - 0.3 && audio.currentTime <= from + 3;
    },
    { id: post.id, from: segments[0].start },
    { timeout: 15_000 },
  );
  await card.locator('audio').evaluate((audio) => audio.pause());

  await page.getByTestId('settings-button').click();
  const progress = page.getByTestId('speech-progress');
  await progress.waitFor();
  const words = `Transcribed ${total.toLocaleString('en')} of ${total.toLocaleString('en')} ${total === 1 ? 'recording' : 'recordings'}`;
  await progress
    .getByText(words)
    .waitFor({ timeout: 20_000 })
    .catch(async (error) => {
      const said = await progress.innerText().catch(() => '(unreadable)');
      const now = await apiGet('/api/enrichment').catch((e) => String(e));
      throw new Error(`Settings never said "${words}": it showed ${JSON.stringify(said)}; the API now says ${JSON.stringify(now)}`, { cause: error });
    });
  assert.match(await progress.innerText(), /Up to date/);
  const bar = progress.locator('progress');
  assert.equal(await bar.getAttribute('value'), String(total));
  assert.equal(await bar.getAttribute('max'), String(total));

  // The speech model is chosen here: tiny.en is in use; choosing base.en is saved (and its
  // download starts), and choosing tiny.en again goes back.
  const choice = page.getByTestId('speech-model');
  assert.equal(await choice.getByRole('radio', { name: /Whisper tiny\.en/ }).isChecked(), true);
  for (const [name, id] of [[/Whisper base\.en/, 'whisper-base-en'], [/Whisper tiny\.en/, 'whisper-tiny-en']]) {
    await choice.getByRole('radio', { name }).check();
    const deadline = Date.now() + 10_000;
    let now;
    while ((now = (await apiGet('/api/enrichment')).speech.model) !== id) {
      assert.ok(Date.now() < deadline, `the API still says ${now}, not ${id}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await choice.getByRole('radio', { name }).isChecked(), true);
  }
});

test('a voice memo recorded in the composer is posted as a WAV and transcribed', { timeout: 240_000 }, async (t) => {
  const page = await openFeed(t);
  await chooseChronological(page);
  await page.getByTestId('compose-button').click();
  const text = `Voice memo ${Date.now()}`;
  await page.getByTestId('compose-text').fill(text);

  await page.getByRole('button', { name: 'Record voice memo' }).click();
  const panel = page.locator('[data-testid="voice-recording"][data-state="recording"]');
  await panel.waitFor({ timeout: 15_000 });
  // Chromium loads the AudioWorklet module under the server's Content-Security-Policy.
  assert.equal(await panel.getAttribute('data-capture'), 'worklet');
  const stop = page.getByTestId('voice-memo-stop');
  // Focus moves to Stop.
  await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'voice-memo-stop');
  await sleep(2200);
  assert.match(await page.getByTestId('voice-memo-elapsed').innerText(), /^0:0[1-3] \/ 10:00$/);
  await stop.click();

  const attached = page.getByTestId('compose-audio');
  await attached.waitFor();
  const fileName = await attached.locator('.file-name').innerText();
  assert.match(fileName, /^voice-memo-\d{4}-\d{2}-\d{2}-\d{4}\.wav$/);
  assert.match((await attached.locator('audio').getAttribute('src')) ?? '', /^blob:/);
  // The preview plays: the browser read the WAV's duration.
  await page.waitForFunction(() => {
    const audio = document.querySelector('[data-testid="compose-audio"] audio');
    return audio && Number.isFinite(audio.duration) && audio.duration > 1;
  });
  assert.match(await page.getByTestId('voice-memo-status').innerText(), /^Voice memo attached \(0:0[1-3]\)\.$/);
  assert.equal(await attached.getByRole('button', { name: `Remove audio ${fileName}` }).count(), 1);

  const created = page.waitForResponse((r) => r.url().endsWith('/api/posts') && r.request().method() === 'POST');
  await page.getByTestId('compose-submit').click();
  const res = await created;
  assert.ok(res.ok(), `create_post failed (${res.status()}): ${await res.text()}`);
  const sent = JSON.parse(res.request().postData() ?? '{}');
  assert.equal(sent.audio.mime, 'audio/wav');
  assert.equal(sent.audio.file_name, fileName);
  const post = await res.json();
  assert.equal(post.media.length, 1);
  assert.equal(post.media[0].kind, 'audio');
  assert.equal(post.media[0].mime, 'audio/wav');
  assert.ok(post.media[0].duration_ms > 1000, `the memo lasts about two seconds: ${post.media[0].duration_ms} ms`);
  assert.ok(post.media[0].transcript, 'an audio attachment has a transcript state');

  // The stored file is the WAV that was recorded.
  const bytes = new Uint8Array(
    await (await fetch(`${server.origin}/api/media/${post.media[0].id}`, { headers: { authorization: `Bearer ${server.token}` } })).arrayBuffer(),
  );
  assert.equal(String.fromCharCode(...bytes.subarray(0, 4)), 'RIFF');
  assert.equal(String.fromCharCode(...bytes.subarray(8, 12)), 'WAVE');

  const card = page.locator(`${CARD}[data-post-id="${post.id}"]`);
  await card.waitFor();
  await card.getByTestId('audio-card').waitFor();

  // The backend finishes the memo one way or the other…
  const deadline = Date.now() + 180_000;
  let stored;
  for (;;) {
    stored = await apiGet(`/api/posts/${post.id}`);
    if (FINAL.includes(stored.media[0].transcript?.status)) break;
    assert.ok(Date.now() < deadline, `the memo's transcript did not finish: ${JSON.stringify(stored.media[0].transcript)}`);
    await sleep(1000);
  }
  // …and the card follows without a reload.
  await card
    .locator(`[data-testid="transcript"][data-status="${stored.media[0].transcript.status}"]`)
    .waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('error-state').count(), 0);
});
