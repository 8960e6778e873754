// The real desktop app, end to end: the Tauri window under a virtual X display, driven by
// tauri-driver + WebKitWebDriver over plain WebDriver HTTP. The window opens, the feed renders
// from a fresh data directory, and a like made in the window reaches the SQLite database.
//
// Needs: target/debug/hearth-desktop and target/debug/hearth (HEARTH_DESKTOP_BIN, HEARTH_BIN),
// tauri-driver (TAURI_DRIVER or on PATH), /usr/bin/WebKitWebDriver, and a DISPLAY (xvfb-run).
// `cargo xtask test` provides all of them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { ARTIFACTS, CARD, DESKTOP_BIN, ROOT, hearthJson } from './support/hearth.mjs';

const tauriDriver = process.env.TAURI_DRIVER ?? 'tauri-driver';

let dataDir;
let driver;
let driverUrl;
let sessionId;
let sessionRequestedAt;
let driverLog = '';

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function webdriver(method, path, body) {
  const response = await fetch(`${driverUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${method} ${path} → ${response.status}: ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value;
}

const session = (path) => `/session/${sessionId}${path}`;
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

async function waitFor(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
}

async function findAll(css) {
  return webdriver('POST', session('/elements'), { using: 'css selector', value: css });
}

function rssKiB(pid) {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

/** Resident memory of the app process and of the WebKit processes it started. */
function desktopMemory() {
  const pids = (command, args) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const [appPid] = pids('pgrep', ['-f', '-n', DESKTOP_BIN]);
  if (!appPid) return {};
  const children = pids('pgrep', ['-P', String(appPid)]);
  const app = rssKiB(appPid);
  const webkit = children.reduce((sum, pid) => sum + rssKiB(pid), 0);
  return { app_rss_kib: app, webkit_processes_rss_kib: webkit, total_rss_kib: app + webkit };
}

before(async () => {
  assert.ok(process.env.DISPLAY, 'the desktop test needs a display: run it under xvfb-run (cargo xtask test does)');
  dataDir = mkdtempSync(join(tmpdir(), 'hearth-desktop-'));
  const port = await freePort();
  const nativePort = await freePort();
  driverUrl = `http://127.0.0.1:${port}`;
  driver = spawn(
    tauriDriver,
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
    // Not 'inherit': the app it starts would hold the test runner's output open if it outlived us.
    // WebKit's test microphone (a tone) stands in for a sound card the test machine lacks.
    { env: { ...process.env, HEARTH_DATA_DIR: dataDir, HEARTH_MOCK_MICROPHONE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  driver.stderr.on('data', (chunk) => (driverLog += chunk.toString()));
  await waitFor('tauri-driver to listen', async () => (await fetch(`${driverUrl}/status`)).ok, 20_000);
  sessionRequestedAt = performance.now();
  const created = await webdriver('POST', '/session', {
    capabilities: { alwaysMatch: { browserName: 'wry', 'tauri:options': { application: DESKTOP_BIN } } },
  });
  sessionId = created.sessionId;
});

/** The app processes this test started (they carry its data directory in their environment). */
function appPids() {
  try {
    return execFileSync('pgrep', ['-f', DESKTOP_BIN], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`HEARTH_DATA_DIR=${dataDir}`);
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

after(async () => {
  if (sessionId) await webdriver('DELETE', `/session/${sessionId}`).catch(() => {});
  driver?.kill('SIGTERM');
  // Closing the session should end the app; make sure nothing of ours outlives the test.
  const deadline = Date.now() + 5000;
  while (appPids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const survivors = appPids();
  for (const pid of survivors) process.kill(pid, 'SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (survivors.length > 0) console.log(`# desktop app still running after the session closed: killed ${survivors.join(', ')}`);
  if (driverLog.trim()) console.log(`# tauri-driver: ${driverLog.trim().split('\n').slice(-5).join(' | ')}`);
});

test('the window opens on the demo feed', async () => {
  const title = await webdriver('GET', session('/title'));
  assert.match(title, /Hearth/);
  const cards = await waitFor('post cards to render', async () => {
    const found = await findAll(CARD);
    return found.length >= 5 ? found : null;
  });
  assert.ok(cards.length >= 5, `only ${cards.length} cards`);
  const coldStartMs = Math.round(performance.now() - sessionRequestedAt);
  await new Promise((r) => setTimeout(r, 3000));
  const metrics = { cold_start_to_feed_rendered_ms: coldStartMs, ...desktopMemory() };
  console.log(`# desktop app: ${JSON.stringify(metrics)}`);
  const screenshot = await webdriver('GET', session('/screenshot'));
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'desktop-feed.png'), Buffer.from(screenshot, 'base64'));
  writeFileSync(join(ARTIFACTS, 'desktop-metrics.json'), JSON.stringify(metrics, null, 2));
});

test('a like in the window reaches the database', async () => {
  const [card] = await findAll(CARD);
  const postId = Number(
    await webdriver('GET', session(`/element/${card[ELEMENT]}/attribute/data-post-id`)),
  );
  assert.ok(Number.isInteger(postId) && postId > 0, `card has no post id (${postId})`);
  assert.equal(hearthJson(dataDir, 'show', String(postId))[0].state.liked, false);
  const likeButton = await webdriver('POST', session(`/element/${card[ELEMENT]}/element`), {
    using: 'css selector',
    value: '[data-testid="like-button"]',
  });
  await webdriver('POST', session(`/element/${likeButton[ELEMENT]}/click`), {});
  await waitFor('the like to reach SQLite', async () => hearthJson(dataDir, 'show', String(postId))[0].state.liked === true, 10_000);
  const pressed = await webdriver('GET', session(`/element/${likeButton[ELEMENT]}/attribute/aria-pressed`));
  assert.equal(pressed, 'true');
});

test('audio attachments play in the window (through a blob: URL, which WebKitGTK can decode)', async () => {
  const result = await webdriver('POST', session('/execute/async'), {
    script: `const done = arguments[arguments.length - 1];
      const deadline = Date.now() + 10000;
      (function poll() {
        const audio = document.querySelector('[data-testid="audio-card"] audio[src^="blob:"]');
        if (!audio) return Date.now() < deadline ? setTimeout(poll, 200) : done({ error: 'no playable audio element' });
        audio.addEventListener('loadedmetadata', () => done({ duration: audio.duration }), { once: true });
        audio.addEventListener('error', () => done({ error: 'media error ' + (audio.error && audio.error.code) }), { once: true });
        audio.preload = 'metadata';
        audio.load();
      })();`,
    args: [],
  });
  assert.equal(result.error, undefined, result.error);
  assert.ok(result.duration > 1, `duration ${result.duration}`);
});

/** Clicks the first element matching `css` once it can be clicked (a dialog may still be opening). */
async function click(css) {
  await waitFor(`${css} to be clickable`, async () => {
    const [element] = await findAll(css);
    if (!element) return false;
    await webdriver('POST', session(`/element/${element[ELEMENT]}/click`), {});
    return true;
  }, 15_000);
}

async function attribute(css, name) {
  const [element] = await findAll(css);
  return element ? webdriver('GET', session(`/element/${element[ELEMENT]}/attribute/${name}`)) : null;
}

test('a voice memo is recorded in the window and stored as a WAV', async () => {
  await click('[data-testid="compose-button"]');
  await click('[data-testid="voice-memo-record"]');
  // WebKitGTK granted the page the microphone, so recording starts (no error shown).
  await waitFor('recording to start', async () => {
    const error = (await findAll('[data-testid="voice-memo-error"]'))[0];
    if (error) throw new Error(await webdriver('GET', session(`/element/${error[ELEMENT]}/text`)));
    return (await attribute('[data-testid="voice-recording"]', 'data-state')) === 'recording';
  });
  await new Promise((r) => setTimeout(r, 2200));
  await click('[data-testid="voice-memo-stop"]');
  await waitFor('the memo to be attached', async () => (await findAll('[data-testid="compose-audio"]')).length === 1);
  await click('[data-testid="compose-submit"]');
  const memo = await waitFor('the memo to reach the database', async () => {
    const posts = hearthJson(dataDir, 'feed', '--mode', 'chronological', '--limit', '3');
    return posts.find((post) => post.media?.[0]?.mime === 'audio/wav');
  });
  assert.ok(memo.media[0].duration_ms > 1500, `about two seconds were recorded: ${memo.media[0].duration_ms} ms`);
});

test('Export OPML in the window saves the subscriptions as a file', async () => {
  const downloads = join(process.env.HOME ?? tmpdir(), 'Downloads');
  const before = new Set(existsSync(downloads) ? readdirSync(downloads) : []);
  // Something to export: a list imported beside the running app (the same database).
  const list = join(ROOT, 'tests', 'fixtures', 'feeds', 'opml', 'ours_nested_folders.opml');
  assert.equal(hearthJson(dataDir, 'opml', 'import', list)[0].added, 6);
  await click('[data-testid="settings-button"]');
  // Export is offered once the list (read when Settings opens) has something in it.
  await waitFor('the imported subscriptions to be listed', async () => (await findAll('[data-testid="source-row"]')).length === 6);
  await click('[data-testid="opml-export"]');
  const saved = await waitFor('the OPML file to be saved', async () => {
    const now = existsSync(downloads) ? readdirSync(downloads) : [];
    return now.find((name) => !before.has(name) && name.endsWith('.opml'));
  }, 15_000).catch(async (error) => {
    const [result] = await findAll('[data-testid="opml-result"]');
    const said = result ? await webdriver('GET', session(`/element/${result[ELEMENT]}/text`)) : '(no result line)';
    throw new Error(`${error.message}; the page said ${JSON.stringify(said)}; tauri-driver: ${driverLog.slice(-2000)}`);
  });
  const text = readFileSync(join(downloads, saved), 'utf8');
  rmSync(join(downloads, saved));
  assert.match(text, /<opml version="2.0">/);
  assert.match(text, /xmlUrl="https:\/\/this-week-in-rust.org\/rss.xml"/);
});
