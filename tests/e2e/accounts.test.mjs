// Signing in to Mastodon and Bluesky in a real browser against `hearth serve`, with both test
// servers running on 127.0.0.1: the Mastodon API server `mastodon_mock` (as in
// tests/core/mastodon_server.rs) and the private AT Protocol network of tests/support/bluesky/.
// The user signs in to both from Settings → Accounts (Mastodon through the approval page that
// opens in a new tab, Bluesky with an app password and the PDS's address under Advanced); the
// ranked timeline then holds the demo posts, bob's Mastodon post and bob's and carol's Bluesky
// posts, each card saying where it came from, and carol's picture comes through Hearth. The user
// likes a post from each network, and the servers record the likes (sent by Hearth's outbox).
// The Hearth page itself never contacts either server.
//
// Needs: target/test-venv/bin/mastodon_mock (or $HEARTH_MASTODON_MOCK; `cargo xtask test`
// installs it) and tests/support/bluesky installed (tests/support/bluesky/install.sh).
// Leaves tests/artifacts/accounts-timeline.png and accounts-settings.png, and the servers' logs (accounts-mastodon.log,
// accounts-bluesky.log) there.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  ARTIFACTS,
  CARD,
  ROOT,
  UI_DIST,
  assertServeBuilt,
  importDemo,
  launchChromium,
  startServe,
} from './support/hearth.mjs';

const MASTODON_MOCK = process.env.HEARTH_MASTODON_MOCK || path.join(ROOT, 'target', 'test-venv', 'bin', 'mastodon_mock');
const BLUESKY_HOME = path.join(ROOT, 'tests', 'support', 'bluesky');
/** How long the Bluesky network may take to print READY (typically 10–16 s; a 2-core CI machine is slower). */
const BLUESKY_READY_MS = 120_000;
/** How long a like may take to reach a server (Hearth's outbox sends it in the background). */
const LIKE_SENT_MS = 30_000;

// Bob's post in tests/fixtures/mastodon/seed.toml.
const BOB_MASTODON_TEXT = 'Hello from Bob, the first post of the timeline';

/** Everything started in `before`, stopped in `after`. */
const run = { dir: null, mastodon: null, bluesky: null, hearth: null, browser: null };

// ---------------------------------------------------------------------------------------------
// The servers

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Calls `check` until it returns something truthy, or fails with `what()` after `ms`. */
async function until(check, ms, what, interval = 250) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`${typeof what === 'function' ? what() : what} (waited ${ms / 1000} s; last: ${why})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Kills `child` when this process exits in any way `after` does not see (a crash, a timeout). */
function killOnExit(child, signal) {
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.once('exit', kill);
  return () => process.off('exit', kill);
}

/**
 * mastodon_mock on a free port of 127.0.0.1: alice, bob and carol (with fixed tokens), alice
 * follows bob, and bob has posted. Resolves to { url, token(user), stop() }.
 */
async function startMastodon(dir, logFile) {
  const port = await freePort();
  const config = path.join(dir, 'mock.toml');
  writeFileSync(
    config,
    `domain = "127.0.0.1:${port}"
url_scheme = "http"

[database]
path = ${JSON.stringify(path.join(dir, 'mock.sqlite'))}

[streaming]
heartbeat_seconds = 2.0

${readFileSync(path.join(ROOT, 'tests', 'fixtures', 'mastodon', 'seed.toml'), 'utf8')}
`,
  );
  const log = openSync(logFile, 'w');
  const child = spawn(MASTODON_MOCK, ['serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: dir,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const forget = killOnExit(child, 'SIGKILL');
  let failed = null;
  child.on('error', (e) => (failed = e));
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url,
    token: (user) => `${user}-token`,
    async stop() {
      forget();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      // It can hang on SIGTERM while a stream is open (Hearth keeps one); nothing in it needs a clean exit.
      child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await until(
      async () => {
        if (failed) throw failed;
        if (child.exitCode !== null) throw new Error(`mastodon_mock exited (code ${child.exitCode})`);
        return (await fetch(`${url}/api/v1/instance`, { signal: AbortSignal.timeout(2000) })).status === 200;
      },
      60_000,
      () => `the Mastodon test server did not answer on ${url}. Its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`,
      100,
    );
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/**
 * The private AT Protocol network (tests/support/bluesky/start.sh): resolves once it printed
 * `READY {json}`, to { info, stop() }. Its logs go to `logFile`.
 */
async function startBluesky(logFile) {
  writeFileSync(logFile, '');
  const child = spawn(path.join(BLUESKY_HOME, 'start.sh'), [], {
    cwd: ROOT,
    // stdin stays a pipe: the network stops by itself if this process dies without closing it.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, HEARTH_BSKY_LOG: logFile },
  });
  const forget = killOnExit(child, 'SIGTERM');
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-8000)));
  const logTail = () => {
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8').slice(-4000);
    } catch {}
    return `stderr:\n${stderr || '(none)'}\nlog (${logFile}):\n${log || '(none)'}`;
  };

  async function stop() {
    forget();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    child.stdin.end();
    // It stops in about a second; a SIGKILL leaves the cleaning to its watchdog.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the Bluesky test network did not print READY within ${BLUESKY_READY_MS / 1000} s.\n${logTail()}`));
    }, BLUESKY_READY_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line.slice('READY '.length)));
      } catch (e) {
        reject(new Error(`the Bluesky test network printed an unreadable READY line (${e.message}): ${line}`));
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not start tests/support/bluesky/start.sh: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the Bluesky test network exited before READY (code ${code}, signal ${signal}).\n${logTail()}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  for (const key of ['pds', 'accounts', 'posts']) assert.ok(info[key], `READY has no "${key}": ${JSON.stringify(info)}`);
  return { info, stop };
}

/** Fails at once, saying what to install, when a server this test needs is not there. */
function assertServersInstalled() {
  assertServeBuilt();
  assert.ok(
    existsSync(MASTODON_MOCK),
    `the Mastodon test server is not installed at ${MASTODON_MOCK}: run \`cargo xtask test\` (it installs it), or ` +
      '`python3 -m venv target/test-venv && target/test-venv/bin/pip install mastodon-mock==0.6.1`, or set HEARTH_MASTODON_MOCK',
  );
  assert.ok(
    existsSync(path.join(BLUESKY_HOME, 'node_modules', '.hearth-install-stamp')),
    'the Bluesky test network is not installed: run tests/support/bluesky/install.sh (see tests/support/bluesky/README.md)',
  );
}

before(async () => {
  assertServersInstalled();
  run.dir = mkdtempSync(path.join(tmpdir(), 'hearth-accounts-'));
  const dataDir = path.join(run.dir, 'data');
  mkdirSync(dataDir);
  // The servers' logs are kept for a look after a failure.
  mkdirSync(ARTIFACTS, { recursive: true });
  // The three servers start together; each one's failure is reported as itself.
  const started = await Promise.allSettled([
    startMastodon(run.dir, path.join(ARTIFACTS, 'accounts-mastodon.log')).then((s) => (run.mastodon = s)),
    startBluesky(path.join(ARTIFACTS, 'accounts-bluesky.log')).then((s) => (run.bluesky = s)),
    (async () => {
      importDemo(dataDir);
      // No keychain in CI: the sign-ins go to the data folder's secrets file.
      run.hearth = await startServe(dataDir, { uiDir: UI_DIST, env: { HEARTH_SECRETS: 'file' } });
    })(),
    launchChromium().then((b) => (run.browser = b)),
  ]);
  const failures = started.filter((s) => s.status === 'rejected').map((s) => s.reason?.message ?? String(s.reason));
  if (failures.length) throw new Error(failures.join('\n\n'));
});

after(async () => {
  await run.browser?.close().catch(() => {});
  await run.hearth?.stop();
  await Promise.all([run.mastodon?.stop(), run.bluesky?.stop()]);
  if (run.dir) rmSync(run.dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Asking the servers what they recorded

async function getJson(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} failed (${res.status}): ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function hearthGet(apiPath) {
  return getJson(`${run.hearth.origin}${apiPath}`, { headers: { authorization: `Bearer ${run.hearth.token}` } });
}

function mastodonGet(user, apiPath) {
  return getJson(`${run.mastodon.url}${apiPath}`, { headers: { authorization: `Bearer ${run.mastodon.token(user)}` } });
}

/** Bob's seeded status as alice's home timeline on the Mastodon server has it. */
async function bobsMastodonStatus() {
  const home = await mastodonGet('alice', '/api/v1/timelines/home');
  const status = home.find((s) => s.account?.username === 'bob');
  assert.ok(status, `bob's status is in alice's home timeline on the Mastodon server: ${JSON.stringify(home).slice(0, 500)}`);
  return status;
}

/** A session of alice's on the PDS, with her main password (not Hearth's app password). */
async function blueskySession() {
  const { pds, accounts } = run.bluesky.info;
  return getJson(`${pds}/xrpc/com.atproto.server.createSession`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identifier: accounts.alice.handle, password: accounts.alice.password }),
  });
}

/** A Bluesky post as alice sees it through the PDS (which asks the AppView). */
async function blueskyPost(session, uri) {
  const { posts } = await getJson(`${run.bluesky.info.pds}/xrpc/app.bsky.feed.getPosts?uris=${encodeURIComponent(uri)}`, {
    headers: { authorization: `Bearer ${session.accessJwt}` },
  });
  assert.equal(posts.length, 1, `the PDS returns the post ${uri}`);
  return posts[0];
}

// ---------------------------------------------------------------------------------------------
// Browser steps

/**
 * Scrolls the feed (loading further pages) until the card with `text` is there; returns it.
 * New posts usually rank on the first page, but a ranked feed promises no place.
 */
async function findCard(page, text, timeout = 30_000) {
  const card = page.locator(CARD).filter({ hasText: text });
  const deadline = Date.now() + timeout;
  while ((await card.count()) === 0) {
    if (Date.now() > deadline) {
      const shown = await page.locator(CARD).count();
      throw new Error(`no card with "${text}" in the timeline after ${timeout / 1000} s (${shown} cards shown)`);
    }
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const more = page.getByTestId('load-more');
    if (await more.isVisible()) await more.click();
    await page.waitForTimeout(300);
  }
  await card.first().scrollIntoViewIfNeeded();
  return card.first();
}

/** The row of the account on network `kind` ("Mastodon", "Bluesky"); with `state`, only while in that state. */
function accountRow(page, kind, state) {
  return page
    .locator(state ? `[data-testid="account-row"][data-state="${state}"]` : '[data-testid="account-row"]')
    .filter({ has: page.getByTestId('account-kind').getByText(kind, { exact: true }) });
}

/** Rethrows `e` with what Hearth's outbox holds (a like it could not send says why there). */
async function withOutbox(e) {
  const outbox = await hearthGet('/api/outbox').catch((x) => x.message);
  throw new Error(`${e.message}\nHearth's outbox: ${JSON.stringify(outbox)}`);
}

/** Likes a card through its Like button and waits for Hearth to record it. */
async function like(page, card, who) {
  const button = card.getByTestId('like-button');
  assert.equal(await button.getAttribute('aria-pressed'), 'false', `${who}'s post is not liked yet`);
  const recorded = page.waitForResponse((r) => r.url().includes('/api/interactions') && r.request().method() === 'POST');
  await button.click();
  const res = await recorded;
  assert.ok(res.ok(), `Hearth recorded the like of ${who}'s post: ${res.status()} ${await res.text()}`);
  await card.locator('[data-testid="like-button"][aria-pressed="true"]').waitFor();
}

test('signing in to Mastodon and Bluesky merges both timelines, and likes reach the servers', { timeout: 300_000 }, async (t) => {
  const hearth = run.hearth;
  const bsky = run.bluesky.info;
  const mastodonHandle = `@alice@${new URL(run.mastodon.url).host}`;
  const started = Date.now();
  const step = (what) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const context = await run.browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();

  // Only the Hearth page is watched: the approval page is Mastodon's, in a tab of its own. The
  // Hearth page talks to Hearth only (pictures come from Hearth's cache), and runs without errors.
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!(u.startsWith(`${hearth.origin}/`) || u.startsWith('data:') || u.startsWith('blob:'))) {
      problems.push(`the Hearth page requested ${u}`);
    }
  });
  page.on('dialog', (dialog) => {
    problems.push(`a dialog opened: ${dialog.message()}`);
    dialog.dismiss();
  });

  await page.goto(hearth.url);
  await page.locator(CARD).first().waitFor({ timeout: 30_000 });
  await page.getByTestId('settings-button').click();
  const section = page.locator('#settings-accounts');
  await section.waitFor();
  await section.getByTestId('accounts-empty').waitFor({ timeout: 15_000 });
  step('Settings → Accounts open');

  // --- Mastodon: the server's address, then the approval in a new tab. ---
  await section.getByLabel('Mastodon server').fill(run.mastodon.url);
  const popupOpened = context.waitForEvent('page', { timeout: 30_000 });
  const begun = page.waitForResponse((r) => r.url().endsWith('/api/accounts/mastodon') && r.request().method() === 'POST');
  await section.getByRole('button', { name: 'Sign in with Mastodon' }).click();
  const beginReply = await begun;
  assert.equal(beginReply.status(), 201, `POST /api/accounts/mastodon: ${await beginReply.text()}`);
  const { authorize_url: authorizeUrl } = await beginReply.json();
  assert.ok(authorizeUrl.startsWith(`${run.mastodon.url}/oauth/authorize?`), `the approval page is on the Mastodon server: ${authorizeUrl}`);
  await section.getByTestId('sign-in-waiting').waitFor();

  // The new tab is the approval page on the Mastodon server.
  const popup = await popupOpened;
  await popup.waitForURL((u) => u.href.startsWith(`${run.mastodon.url}/oauth/authorize?`));
  // The mock's account picker: one <button name="username" value="USER"> per account.
  const callback = popup.waitForURL((u) => u.pathname === '/callback', { timeout: 30_000 });
  await popup.locator('button[name="username"][value="alice"]').click();
  await callback;
  assert.match(new URL(popup.url()).origin, /^http:\/\/127\.0\.0\.1:\d+$/, 'the approval came back to a loopback address');
  await popup.getByText('Signed in to Hearth').waitFor();
  await popup.close();
  step('approved on the Mastodon server');

  const mastodonRow = accountRow(page, 'Mastodon');
  await mastodonRow.waitFor({ timeout: 60_000 });
  await section.getByTestId('sign-in-waiting').waitFor({ state: 'detached' });
  // Signing in syncs the account once: it is shown synced ("ok").
  await accountRow(page, 'Mastodon', 'ok').waitFor({ timeout: 60_000 });
  assert.equal(await section.getByTestId('accounts-notice').innerText(), `Signed in as ${mastodonHandle}.`);
  assert.match(await mastodonRow.innerText(), /Alice/);
  assert.match(await mastodonRow.getByTestId('account-storage').innerText(), /a file only you can read/);
  step('signed in to Mastodon');

  // --- Bluesky: handle, app password, and the PDS under Advanced. ---
  const bluesky = section.getByTestId('add-bluesky');
  await bluesky.getByLabel('Bluesky handle').fill(bsky.accounts.alice.handle);
  await bluesky.getByLabel('App password').fill(bsky.accounts.alice.app_password);
  await bluesky.getByText('Advanced', { exact: true }).click();
  await bluesky.getByLabel('Bluesky server').fill(bsky.pds);
  const added = page.waitForResponse((r) => r.url().endsWith('/api/accounts/bluesky') && r.request().method() === 'POST', {
    timeout: 90_000,
  });
  await bluesky.getByRole('button', { name: 'Sign in with Bluesky' }).click();
  const addReply = await added;
  assert.equal(addReply.status(), 201, `POST /api/accounts/bluesky: ${await addReply.text()}`);
  const blueskyRow = accountRow(page, 'Bluesky');
  await blueskyRow.waitFor({ timeout: 30_000 });
  await accountRow(page, 'Bluesky', 'ok').waitFor({ timeout: 60_000 });
  assert.equal(await section.getByTestId('accounts-notice').innerText(), `Signed in as @${bsky.accounts.alice.handle}.`);
  assert.equal(await section.getByTestId('account-row').count(), 2);
  // The form is emptied: the app password is not left on the page.
  assert.equal(await bluesky.getByLabel('App password').inputValue(), '');
  step('signed in to Bluesky');

  const accounts = await hearthGet('/api/accounts');
  assert.deepEqual(accounts.map((a) => a.kind).sort(), ['bluesky', 'mastodon']);
  for (const a of accounts) {
    assert.equal(a.state, 'ok', `${a.kind} account synced: ${JSON.stringify(a)}`);
    assert.equal(a.token_storage, 'file');
  }

  // Settings → Accounts as the user sees it now (for the README).
  const accountsSection = page.locator('#settings-accounts');
  await accountsSection.scrollIntoViewIfNeeded();
  await accountsSection.screenshot({ path: path.join(ARTIFACTS, 'accounts-settings.png'), animations: 'disabled' });

  // --- The merged, ranked timeline. ---
  // Signing in marked the feed stale: it is loaded again, ranked, on the way back.
  const reloaded = page.waitForResponse((r) => r.url().includes('/api/feed') && r.url().includes('mode=ranked'));
  await page.getByRole('button', { name: 'Back to feed' }).click();
  assert.ok((await reloaded).ok(), 'the ranked feed loaded');
  assert.equal(await page.getByTestId('mode-ranked').getAttribute('aria-checked'), 'true', 'the feed is in Ranked mode');
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });

  const bobMastodon = await findCard(page, BOB_MASTODON_TEXT);
  const bobBluesky = await findCard(page, bsky.posts.bob.text);
  const carolBluesky = await findCard(page, bsky.posts.carol.text);
  // Each card says where it came from: the network, and the account it came through.
  const from = async (card) => [await card.getByTestId('source-kind').textContent(), await card.getByTestId('source-badge').getAttribute('title')];
  assert.deepEqual(await from(bobMastodon), ['Mastodon', `From your Mastodon account ${mastodonHandle}`]);
  assert.deepEqual(await from(bobBluesky), ['Bluesky', `From your Bluesky account @${bsky.accounts.alice.handle}`]);
  assert.deepEqual(await from(carolBluesky), ['Bluesky', `From your Bluesky account @${bsky.accounts.alice.handle}`]);
  // The demo posts are still there: one timeline, not one per network.
  assert.ok((await page.locator(CARD).getByTestId('source-badge').getByText('Demo', { exact: true }).count()) > 0, 'demo posts share the timeline');

  // Carol's picture, with her alt text, served by Hearth (not by the PDS or the AppView).
  const picture = carolBluesky.locator('.media-grid img');
  await picture.waitFor();
  assert.equal(await picture.getAttribute('alt'), bsky.posts.carol.alt);
  const src = await picture.getAttribute('src');
  const pictureUrl = new URL(src, hearth.origin);
  assert.equal(pictureUrl.origin, hearth.origin, `the picture is Hearth's copy: ${src}`);
  assert.match(pictureUrl.pathname, /^\/api\/media\/\d+$/);
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await picture.elementHandle(), { timeout: 20_000 });
  // The seeded 24×16 PNG (the AppView's image service scales it up, keeping its 3:2 shape).
  const [width, height] = await picture.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  assert.ok(Math.abs(width / height - 1.5) < 0.01, `carol's picture keeps its 3:2 shape: ${width}×${height}`);

  // The screenshot: the merged timeline around the network posts.
  const networkCards = [bobMastodon, bobBluesky, carolBluesky];
  const places = (await Promise.all(networkCards.map((card) => card.getAttribute('aria-posinset')))).map(Number);
  t.diagnostic(`places in the ranked timeline (1 = top): Mastodon bob ${places[0]}, Bluesky bob ${places[1]}, Bluesky carol ${places[2]}`);
  // From the highest of them, just under the sticky top bar.
  const first = networkCards[places.indexOf(Math.min(...places))];
  await first.evaluate((el) => window.scrollTo(0, Math.max(0, el.getBoundingClientRect().top + window.scrollY - 120)));
  await page.mouse.move(0, 899);
  await page.screenshot({ path: path.join(ARTIFACTS, 'accounts-timeline.png'), animations: 'disabled' });
  step('merged timeline checked');

  // --- Likes, sent to the servers by Hearth's outbox. ---
  await like(page, bobMastodon, 'bob (Mastodon)');
  await like(page, bobBluesky, 'bob (Bluesky)');

  const status = await bobsMastodonStatus();
  await until(
    async () => (await mastodonGet('alice', `/api/v1/statuses/${status.id}`)).favourited === true,
    LIKE_SENT_MS,
    `the Mastodon server shows alice's like of bob's status ${status.id}`,
  ).catch(withOutbox);
  assert.equal((await mastodonGet('bob', `/api/v1/statuses/${status.id}`)).favourites_count, 1);
  step('the like reached the Mastodon server');

  const session = await blueskySession();
  const liked = await until(
    async () => {
      const post = await blueskyPost(session, bsky.posts.bob.uri);
      return post.viewer?.like ? post : null;
    },
    LIKE_SENT_MS,
    `the Bluesky AppView shows alice's like of bob's post ${bsky.posts.bob.uri}`,
  ).catch(withOutbox);
  assert.match(liked.viewer.like, new RegExp(`^at://${bsky.accounts.alice.did}/app\\.bsky\\.feed\\.like/`));
  assert.equal(liked.likeCount, 1);
  step('the like reached the Bluesky AppView');
  // Carol's post was not liked.
  assert.equal((await blueskyPost(session, bsky.posts.carol.uri)).viewer?.like, undefined);

  // Nothing is left waiting or refused.
  await until(async () => (await hearthGet('/api/outbox')).length === 0, LIKE_SENT_MS, 'Hearth\'s outbox is empty once the likes are sent');

  // After a reload the likes are still shown (Hearth kept them).
  await page.reload();
  for (const text of [BOB_MASTODON_TEXT, bsky.posts.bob.text]) {
    const card = await findCard(page, text);
    await card.locator('[data-testid="like-button"][aria-pressed="true"]').waitFor();
  }

  // The thread of Bob's Mastodon post, fetched from the server: the post is marked in it, and
  // Escape goes back to the feed.
  const threadOf = await findCard(page, BOB_MASTODON_TEXT);
  await threadOf.getByTestId('thread-button').click();
  const thread = page.getByTestId('thread');
  await thread.waitFor();
  const opened = thread.locator('[data-testid="post-card"][aria-current="true"]');
  await opened.waitFor({ timeout: 30_000 });
  assert.ok((await opened.innerText()).includes(BOB_MASTODON_TEXT), 'the opened post is the one marked');
  await page.keyboard.press('Escape');
  await page.getByTestId('thread').waitFor({ state: 'detached' });
  step('the thread opened and closed');

  assert.deepEqual(problems, [], 'the Hearth page runs without errors and never contacts another host');
});
