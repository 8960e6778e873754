// The HTTP API of browser mode over a real socket: the `hearth serve` binary on a fresh data
// directory, spoken to with plain HTTP. Rejected requests get `{code, message}` and leave the
// database unchanged (checked through `hearth status` and the posts themselves). Also records
// the server's cold start and idle memory in tests/artifacts/serve-metrics.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, hearthJson, startServe } from './support/hearth.mjs';

let dataDir;
let server; // startServe()
let port;
let token;
let startupMs;

/** One HTTP request with full control over headers (fetch would not let us forge Host). */
function send(method, path, { headers = {}, body, auth = true, host } = {}) {
  return new Promise((resolveResponse, reject) => {
    const allHeaders = { host: host ?? `127.0.0.1:${port}`, ...headers };
    if (auth) allHeaders.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      allHeaders['content-type'] ??= 'application/json';
      allHeaders['content-length'] = Buffer.byteLength(body);
    }
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: allHeaders, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {}
        resolveResponse({ status: res.statusCode, json, text, headers: res.headers });
      });
    });
    req.on('error', (error) => {
      // The server may close the connection while a huge body is still being sent.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolveResponse({ status: 'closed', json: null });
      else reject(error);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** What a rejected request must not change. */
function snapshot() {
  const [status] = hearthJson(dataDir, 'status');
  const posts = hearthJson(dataDir, 'feed', '--mode', 'chronological', '--limit', '100');
  return JSON.stringify({ status, states: posts.map((post) => [post.id, post.state, post.counts]) });
}

function assertError(response, status, code) {
  assert.equal(response.status, status, response.text);
  assert.equal(response.json?.code, code, response.text);
  assert.ok(response.json.message.length > 0);
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hearth-api-'));
  const started = performance.now();
  server = await startServe(dataDir);
  ({ port, token } = server);
  const firstPage = await send('GET', '/api/feed?limit=20');
  assert.equal(firstPage.status, 200);
  startupMs = performance.now() - started;
});

after(async () => {
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('no token or a wrong token is a 401, and nothing changes', async () => {
  const before = snapshot();
  const post = hearthJson(dataDir, 'feed', '--mode', 'chronological', '--limit', '1')[0];
  const body = JSON.stringify({ post_id: post.id, kind: 'like' });
  assertError(await send('POST', '/api/interactions', { body, auth: false }), 401, 'unauthorized');
  assertError(
    await send('POST', '/api/interactions', { body, auth: false, headers: { authorization: 'Bearer nope' } }),
    401,
    'unauthorized',
  );
  assertError(await send('GET', `/api/feed?token=${token}`, { auth: false }), 401, 'unauthorized');
  assert.equal(snapshot(), before);
});

test('a request for another host name is refused (no DNS rebinding)', async () => {
  assertError(await send('GET', '/api/status', { host: `attacker.example:${port}` }), 403, 'unauthorized');
  assertError(await send('GET', '/', { host: 'attacker.example' }), 403, 'unauthorized');
  assert.equal((await send('GET', '/api/status', { host: `localhost:${port}` })).status, 200);
});

test('malformed JSON, unknown ids and an oversize body are clear errors, and nothing changes', async () => {
  const before = snapshot();
  assertError(await send('POST', '/api/interactions', { body: '{"post_id": 1, "kind": ' }), 400, 'invalid_input');
  assertError(await send('POST', '/api/interactions', { body: '{"post_id": 1, "kind": "teleport"}' }), 400, 'invalid_input');
  assertError(await send('POST', '/api/posts', { body: '{"text": "hi"}', headers: { 'content-type': 'text/plain' } }), 400, 'invalid_input');
  assertError(await send('GET', '/api/posts/99999999'), 404, 'not_found');
  assertError(await send('POST', '/api/interactions', { body: '{"post_id": 99999999, "kind": "like"}' }), 404, 'not_found');
  const oversize = JSON.stringify({ text: 'x'.repeat(41 * 1024 * 1024) });
  const response = await send('POST', '/api/posts', { body: oversize });
  if (response.status !== 'closed') assertError(response, 413, 'payload_too_large');
  assert.equal(snapshot(), before);
});

test('a like through the API is in the database', async () => {
  const post = hearthJson(dataDir, 'feed', '--mode', 'chronological', '--limit', '1')[0];
  const response = await send('POST', '/api/interactions', { body: JSON.stringify({ post_id: post.id, kind: 'like' }) });
  assert.equal(response.status, 200, response.text);
  assert.equal(hearthJson(dataDir, 'show', String(post.id))[0].state.liked, true);
});

test('idle memory and cold start are recorded', async () => {
  await new Promise((r) => setTimeout(r, 2000));
  const metrics = { cold_start_to_first_feed_page_ms: Math.round(startupMs), idle_rss_kib: rssKiB(server.process.pid) };
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'serve-metrics.json'), JSON.stringify(metrics, null, 2));
  console.log(`# hearth serve: ${JSON.stringify(metrics)}`);
  assert.ok(metrics.idle_rss_kib > 0);
});
