// Shared set-up for the end-to-end tests and the screenshot script in tests/e2e/: where the
// repository, its binaries and outputs are; starting and stopping `hearth serve`; the demo data;
// the CLI's `--json` output; Debian's Chromium through playwright-core; and a few browser steps
// more than one of them takes. A plain module, not a test: node --test does not pick it up.
//
// Environment: HEARTH_BIN and HEARTH_DESKTOP_BIN override the binaries (default target/debug/);
// CHROMIUM overrides the browser (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const EXE = process.platform === 'win32' ? '.exe' : '';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The `hearth` CLI / browser-mode server. */
export const HEARTH_BIN = process.env.HEARTH_BIN || path.join(ROOT, 'target', 'debug', `hearth${EXE}`);
/** The Tauri desktop app. */
export const DESKTOP_BIN = process.env.HEARTH_DESKTOP_BIN || path.join(ROOT, 'target', 'debug', `hearth-desktop${EXE}`);
/** The built web UI that `hearth serve --ui-dir` serves. */
export const UI_DIST = path.join(ROOT, 'ui', 'dist');
/** Where tests leave screenshots and metrics. */
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** One post in the feed. */
export const CARD = '[data-testid="post-card"]';

/** Fails unless the backend binary and the built UI are there. */
export function assertServeBuilt() {
  assert.ok(existsSync(HEARTH_BIN), `backend binary not found at ${HEARTH_BIN} (build it, or set HEARTH_BIN)`);
  assert.ok(existsSync(path.join(UI_DIST, 'index.html')), `ui/dist is missing: run "npm ci && npm run build" in ui/`);
}

/** Fills `dataDir` with the demo data (`hearth demo`). */
export function importDemo(dataDir) {
  execFileSync(HEARTH_BIN, ['--data-dir', dataDir, 'demo'], { cwd: ROOT, stdio: 'pipe', timeout: 60_000 });
}

/** Runs `hearth --data-dir D ARGS... --json` and returns its output, one parsed JSON value a line. */
export function hearthJson(dataDir, ...args) {
  const output = execFileSync(HEARTH_BIN, ['--data-dir', dataDir, ...args, '--json'], { cwd: ROOT, encoding: 'utf8' });
  return output.trim().split('\n').map((line) => JSON.parse(line));
}

/**
 * Starts `hearth serve` on a free port (serving `uiDir` when given) and waits for its
 * "Hearth is running at http://127.0.0.1:PORT/?token=T" line.
 * Resolves to { process, url, origin, port, token, stop() }; stop() sends SIGTERM, then
 * SIGKILL after 5 s, and resolves once the server has exited. `env` adds environment variables.
 */
export function startServe(dataDir, { uiDir, env = {} } = {}) {
  const args = ['--data-dir', dataDir, 'serve', '--port', '0', ...(uiDir ? ['--ui-dir', uiDir] : [])];
  const proc = spawn(HEARTH_BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let log = '';

  async function stop() {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`hearth serve did not print its URL within 30 s. Output so far:\n${log}`));
    }, 30_000);
    proc.stderr.on('data', (d) => (log += d.toString()));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      log += line + '\n';
      const m = /Hearth is running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[^\s]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        const url = new URL(m[1]);
        resolve({
          process: proc,
          url: m[1],
          origin: url.origin,
          port: Number(url.port),
          token: url.searchParams.get('token'),
          stop,
        });
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`hearth serve exited early (code ${code}, signal ${signal}). Output:\n${log}`));
    });
  });
}

/**
 * Headless Debian Chromium through playwright-core, kept off the network. `fakeMicrophone`
 * grants microphone access to a fake device (a beep) without asking.
 */
export async function launchChromium({ fakeMicrophone = false } = {}) {
  const { chromium } = await import('playwright-core');
  const microphone = fakeMicrophone ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] : [];
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...microphone,
    ],
  });
}

/**
 * Records into `problems` every uncaught error of `page` and every request of its browser
 * context that leaves `origin` (data: and blob: URLs are fine). Returns `problems`.
 */
export function recordPageProblems(page, origin, problems = []) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.context().on('request', (r) => {
    const u = r.url();
    if (!(u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:'))) problems.push(`external request: ${u}`);
  });
  return problems;
}

/** Switches the feed to "Latest" (chronological) and waits for its first card. */
export async function chooseChronological(page) {
  const feedLoaded = page.waitForResponse((r) => r.url().includes('/api/feed') && r.url().includes('mode=chronological'));
  await page.getByTestId('mode-chronological').click();
  await feedLoaded;
  await page.locator(CARD).first().waitFor();
}

/**
 * A demo data dir, `hearth serve` on it and Chromium, started before the file's tests and
 * stopped after them. Returns a live object: `session.server`, `session.browser` and
 * `session.apiGet(path)` (GET with the run's token, JSON back) once `before` has run.
 */
export function demoBrowserSession(name, { before, after }) {
  const session = {
    dataDir: null,
    server: null,
    browser: null,
    async apiGet(apiPath) {
      const res = await fetch(`${session.server.origin}${apiPath}`, {
        headers: { authorization: `Bearer ${session.server.token}` },
      });
      if (!res.ok) throw new Error(`GET ${apiPath} failed (${res.status})`);
      return res.json();
    },
  };
  before(async () => {
    assertServeBuilt();
    session.dataDir = mkdtempSync(path.join(tmpdir(), `hearth-${name}-`));
    importDemo(session.dataDir);
    session.server = await startServe(session.dataDir, { uiDir: UI_DIST });
    session.browser = await launchChromium();
  });
  after(async () => {
    await session.browser?.close();
    await session.server?.stop();
    if (session.dataDir) rmSync(session.dataDir, { recursive: true, force: true });
  });
  return session;
}
