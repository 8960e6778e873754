// Runs @atproto/dev-env's TestNetwork (PLC + PDS + AppView, plus the bsync and
// ozone services it always starts), seeds three accounts and prints one
// `READY {json}` line. Start it through ./start.sh, which provides postgres,
// the loopback preload and the file descriptors used below. See README.md.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const READY_FD = Number(env.HEARTH_BSKY_READY_FD ?? 1); // the real stdout
const ERR_FD = Number(env.HEARTH_BSKY_ERR_FD ?? 2); // the real stderr
const RUN_DIR = env.HEARTH_BSKY_RUN_DIR || ''; // owned by start.sh; deleted on exit
const MANAGED_PG = env.HEARTH_BSKY_MANAGED_PG === '1';
const SCHEMA = env.DB_POSTGRES_SCHEMA;
const ACCESS_TTL = Number(env.HEARTH_BSKY_ACCESS_TTL_SECS || 0);
const REFRESH_TTL = Number(env.HEARTH_BSKY_REFRESH_TTL_SECS || 0);
const NETWORK_CLOSE_MS = 6000;
const SHUTDOWN_HARD_MS = 9000;

const note = (msg) => {
  try {
    fs.writeSync(2, `[bluesky] ${msg}\n`);
  } catch {}
};
const fatal = (msg) => {
  note(`ERROR: ${msg}`);
  if (ERR_FD !== 2) {
    try {
      fs.writeSync(ERR_FD, `[bluesky] ERROR: ${msg}\n`);
    } catch {}
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- lifecycle
let net = null;
let stopping = false;

function removeRunDir() {
  if (!RUN_DIR) return;
  // Same routine as start.sh and the watchdog: stop postgres, rm -rf RUN_DIR.
  spawnSync(
    'bash',
    ['-c', 'source "$1"; bsky_cleanup_run_dir "$2"', '_', path.join(HERE, 'common.sh'), RUN_DIR],
    { stdio: ['ignore', 2, 2] },
  );
}

async function dropSchemas() {
  // Only needed with an external server (HEARTH_BSKY_PG_URL); a temporary
  // cluster is simply deleted.
  if (MANAGED_PG || !SCHEMA || !env.DB_POSTGRES_URL) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: env.DB_POSTGRES_URL });
  await client.connect();
  try {
    for (const s of [SCHEMA, `appview_${SCHEMA}`, `bsync_${SCHEMA}`, `ozone_${SCHEMA}`]) {
      await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    }
  } finally {
    await client.end();
  }
}

const WATCHDOG_PID = (() => {
  if (!RUN_DIR) return 0;
  try {
    return Number(fs.readFileSync(path.join(RUN_DIR, 'watchdog.pid'), 'utf8')) || 0;
  } catch {
    return 0;
  }
})();

function finish(code) {
  removeRunDir();
  // Cleanup is done; the watchdog (start.sh's SIGKILL backstop) is not needed.
  if (WATCHDOG_PID) {
    try {
      process.kill(WATCHDOG_PID, 'SIGKILL');
    } catch {}
  }
  process.exit(code);
}

async function shutdown(code, reason) {
  if (stopping) {
    note(`${reason} again: stopping immediately`);
    return finish(code);
  }
  stopping = true;
  const t = Date.now();
  note(`shutting down (${reason})`);
  setTimeout(() => {
    note('shutdown took too long: forcing exit');
    finish(code);
  }, SHUTDOWN_HARD_MS);
  if (net) {
    const closed = net.close().then(
      () => true,
      (err) => (note(`network close error: ${err?.message ?? err}`), true),
    );
    if (!(await Promise.race([closed, sleep(NETWORK_CLOSE_MS).then(() => false)]))) {
      note('network did not close in time; continuing');
    }
  }
  try {
    await dropSchemas();
  } catch (err) {
    note(`could not drop schemas: ${err?.message ?? err}`);
  }
  note(`stopped in ${Date.now() - t} ms`);
  finish(code);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => void shutdown(0, sig));
}
process.on('uncaughtException', (err) => {
  fatal(`uncaught exception: ${err?.stack ?? err}`);
  void shutdown(1, 'uncaught exception');
});
process.on('unhandledRejection', (err) => {
  // dev-env's background jobs occasionally reject during shutdown; log only.
  note(`unhandled rejection: ${err?.stack ?? err}`);
});

// Parent died => our stdin pipe closes => stop. Only when stdin is a pipe or
// socket (a test harness), not /dev/null or a terminal, unless forced.
{
  let st = null;
  try {
    st = fs.fstatSync(0);
  } catch {}
  const mode = env.HEARTH_BSKY_WATCH_STDIN;
  if (mode === '1' || (mode !== '0' && st && (st.isFIFO() || st.isSocket()))) {
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => void shutdown(0, 'stdin closed'));
    process.stdin.on('error', () => void shutdown(0, 'stdin error'));
  }
}

// ---------------------------------------------------------------- helpers
function makePng(w, h) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1);
    for (let x = 0; x < w; x++) {
      raw[row + 1 + x * 3] = Math.round((x * 255) / (w - 1));
      raw[row + 2 + x * 3] = Math.round((y * 255) / (h - 1));
      raw[row + 3 + x * 3] = 160;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function makeXrpc(base) {
  return async (method, nsid, { token, params, body, contentType } = {}) => {
    const url = new URL(`/xrpc/${nsid}`, base);
    for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, String(v));
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload;
    if (body instanceof Uint8Array) {
      payload = body;
      headers['content-type'] = contentType;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(url, { method, headers, body: payload });
    const text = await res.text();
    if (!res.ok) throw new Error(`${nsid}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

// Test hook: re-sign the PDS's legacy-session JWTs with a shorter lifetime.
// The PDS hard-codes 120 min (access) / 90 days (refresh) and has no config
// for it; it verifies tokens with the same HS256 key, so shorter `exp` values
// are honoured (expired access token => HTTP 400 {"error":"ExpiredToken"}).
function patchTokenLifetimes(accountManager) {
  if (!ACCESS_TTL && !REFRESH_TTL) return;
  const key = accountManager.jwtKey;
  const resign = (jwt, ttl) => {
    const [header, body] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    claims.exp = claims.iat + ttl;
    const newBody = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = crypto.createHmac('sha256', key).update(`${header}.${newBody}`).digest('base64url');
    return `${header}.${newBody}.${sig}`;
  };
  for (const method of ['createSession', 'rotateRefreshToken', 'createAccountAndSession']) {
    const orig = accountManager[method].bind(accountManager);
    accountManager[method] = async (...args) => {
      const out = await orig(...args);
      if (out?.accessJwt && ACCESS_TTL) out.accessJwt = resign(out.accessJwt, ACCESS_TTL);
      if (out?.refreshJwt && REFRESH_TTL) out.refreshJwt = resign(out.refreshJwt, REFRESH_TTL);
      return out;
    };
  }
  note(`token lifetimes: access=${ACCESS_TTL || 7200}s refresh=${REFRESH_TTL || 90 * 86400}s`);
}

// ---------------------------------------------------------------- main
async function main() {
  const t0 = Date.now();
  const { TestNetwork } = await import('@atproto/dev-env');
  // dev-env keeps PDS data, blobs and image caches under os.tmpdir(); put them
  // in RUN_DIR so they are deleted with it. (Set after the import so that
  // dev-env's cross-process port-reservation dir stays shared in /tmp.)
  if (RUN_DIR) env.TMPDIR = path.join(RUN_DIR, 'tmp');

  net = await TestNetwork.create({
    dbPostgresSchema: SCHEMA,
    pds: { hostname: 'localhost', enableDidDocWithSession: true },
  });
  if (stopping) return;
  const tNet = Date.now();

  const pdsUrl = `http://127.0.0.1:${net.pds.port}`;
  const appviewUrl = `http://127.0.0.1:${net.bsky.port}`;
  const plcUrl = `http://127.0.0.1:${net.plc.port}`;
  // Image URLs in AppView views default to an unreachable placeholder host;
  // point them at the AppView's own /img/ endpoint so clients can load them.
  const imgUriBuilder = net.bsky.ctx.views?.imgUriBuilder;
  if (imgUriBuilder) imgUriBuilder.endpoint = `${appviewUrl}/img`;
  else note('warning: could not redirect AppView image URLs to the local /img/ endpoint');

  const xrpc = makeXrpc(pdsUrl);
  const now = () => new Date().toISOString();
  const accounts = {};
  const tokens = {};
  for (const [name, displayName] of [['alice', 'Alice'], ['bob', 'Bob'], ['carol', 'Carol']]) {
    const password = `${name}-pass`;
    const acct = await xrpc('POST', 'com.atproto.server.createAccount', {
      body: { email: `${name}@test.invalid`, handle: `${name}.test`, password },
    });
    const ap = await xrpc('POST', 'com.atproto.server.createAppPassword', {
      token: acct.accessJwt,
      body: { name: 'hearth-tests' },
    });
    await xrpc('POST', 'com.atproto.repo.putRecord', {
      token: acct.accessJwt,
      body: {
        repo: acct.did,
        collection: 'app.bsky.actor.profile',
        rkey: 'self',
        record: { $type: 'app.bsky.actor.profile', displayName, description: `${displayName} (Hearth test account)` },
      },
    });
    tokens[name] = acct.accessJwt;
    accounts[name] = { did: acct.did, handle: acct.handle, password, app_password: ap.password };
  }

  const createRecord = (who, collection, record) =>
    xrpc('POST', 'com.atproto.repo.createRecord', {
      token: tokens[who],
      body: { repo: accounts[who].did, collection, record: { $type: collection, ...record } },
    });
  for (const who of ['bob', 'carol']) {
    await createRecord('alice', 'app.bsky.graph.follow', { subject: accounts[who].did, createdAt: now() });
  }

  const bobText = 'Hello from Bob! First post on the Hearth test network.';
  const bobPost = await createRecord('bob', 'app.bsky.feed.post', { text: bobText, createdAt: now() });

  const png = makePng(24, 16);
  const alt = 'A small gradient test image, red to the right and green downwards';
  const carolText = 'Carol here, with a picture.';
  const { blob } = await xrpc('POST', 'com.atproto.repo.uploadBlob', {
    token: tokens.carol,
    body: png,
    contentType: 'image/png',
  });
  const carolPost = await createRecord('carol', 'app.bsky.feed.post', {
    text: carolText,
    createdAt: now(),
    embed: {
      $type: 'app.bsky.embed.images',
      images: [{ image: blob, alt, aspectRatio: { width: 24, height: 16 } }],
    },
  });

  // Flush PDS -> AppView indexing, then check the contract end to end: alice,
  // logged in with her app password, sees both posts in her timeline.
  await net.processAll();
  const session = await xrpc('POST', 'com.atproto.server.createSession', {
    body: { identifier: accounts.alice.handle, password: accounts.alice.app_password },
  });
  let seen = [];
  for (let i = 0; i < 20; i++) {
    const tl = await xrpc('GET', 'app.bsky.feed.getTimeline', {
      token: session.accessJwt,
      params: { limit: 50 },
    });
    seen = tl.feed.map((f) => f.post.uri);
    if (seen.includes(bobPost.uri) && seen.includes(carolPost.uri)) break;
    await sleep(250);
    await net.processAll();
  }
  if (!(seen.includes(bobPost.uri) && seen.includes(carolPost.uri))) {
    throw new Error(`alice's timeline is missing the seeded posts (saw ${JSON.stringify(seen)})`);
  }
  if (stopping) return;
  // After seeding, so that a tiny TTL cannot break the seeding itself.
  patchTokenLifetimes(net.pds.ctx.accountManager);

  const info = {
    pds: pdsUrl,
    appview: appviewUrl,
    plc: plcUrl,
    accounts,
    // Extras (not part of the minimal contract):
    posts: {
      bob: { uri: bobPost.uri, cid: bobPost.cid, text: bobText },
      carol: { uri: carolPost.uri, cid: carolPost.cid, text: carolText, alt, image_cid: blob.ref.$link },
    },
    pds_did: net.pds.ctx.cfg.service.did,
    pds_public_url: net.pds.url, // what DID documents say (http://localhost:PORT)
    appview_did: net.bsky.ctx.cfg.serverDid,
    admin_password: 'admin-pass', // HTTP Basic admin:admin-pass for com.atproto.admin.*
    access_ttl_secs: ACCESS_TTL || 7200,
    refresh_ttl_secs: REFRESH_TTL || 90 * 86400,
    pid: process.pid,
    startup_ms: { network: tNet - t0, seed: Date.now() - tNet },
  };
  fs.writeSync(READY_FD, `READY ${JSON.stringify(info)}\n`);
  note(`ready in ${Date.now() - t0} ms (network ${tNet - t0} ms); pds ${pdsUrl} appview ${appviewUrl}`);
}

main().catch((err) => {
  fatal(`startup failed: ${err?.stack ?? err}`);
  void shutdown(1, 'startup failure');
});
