// A crash never corrupts the database: `hearth serve` is killed with SIGKILL while a stream of
// likes, unlikes, dwells and new posts is being written; afterwards the database opens, passes
// SQLite's integrity and foreign-key checks, its derived state agrees with the interaction log
// (`hearth check`), and every write the server acknowledged is there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearthJson, importDemo, startServe } from './support/hearth.mjs';

test('killing the server mid-write leaves an intact, consistent database', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-crash-'));
  try {
    importDemo(dataDir);
    const posts = hearthJson(dataDir, 'feed', '--mode', 'chronological', '--limit', '30');
    const server = await startServe(dataDir);
    const api = (path, body) =>
      fetch(`${server.origin}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const acknowledged = [];
    let stop = false;
    const writer = async (worker) => {
      for (let i = 0; !stop; i += 1) {
        const post = posts[(worker * 7 + i) % posts.length];
        const kinds = ['like', 'unlike', 'dwell', 'post'];
        const kind = kinds[(worker + i) % kinds.length];
        try {
          const response =
            kind === 'post'
              ? await api('/api/posts', { text: `crash test ${worker}-${i}` })
              : await api('/api/interactions', { post_id: post.id, kind, ...(kind === 'dwell' ? { dwell_ms: 1500 } : {}) });
          if (response.ok && kind === 'post') acknowledged.push((await response.json()).id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise((r) => setTimeout(r, 1500));
    server.process.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    assert.ok(acknowledged.length > 0, 'some writes completed before the crash');

    const [check] = hearthJson(dataDir, 'check');
    assert.deepEqual(check, { ok: true, problems: [] });
    for (const id of acknowledged) {
      assert.equal(hearthJson(dataDir, 'show', String(id))[0].id, id, `acknowledged post ${id} survived`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
