// Preload (`node --import ./loopback.mjs ...`): keep every TCP listener of this
// process on the loopback interface.
//
// @atproto/dev-env's services call `server.listen(port)` with no host, which in
// Node means "all interfaces" ([::] / 0.0.0.0). This patch rewrites every
// listen() call that has no host, or a wildcard host, to BIND_HOST
// (default 127.0.0.1). Unix-socket and handle/fd listens are left alone.
import net from 'node:net';

const HOST = process.env.BIND_HOST || '127.0.0.1';
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]', '::0']);
const origListen = net.Server.prototype.listen;

const isPort = (v) =>
  typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));

net.Server.prototype.listen = function listen(...args) {
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object' && !Array.isArray(a0)) {
    // listen(options[, cb]) — only touch TCP options (no path/fd/handle).
    const isHandle =
      a0 instanceof net.Server || a0._handle !== undefined || a0.fd !== undefined;
    if (!isHandle && a0.path === undefined && a0.handle === undefined) {
      if (a0.host === undefined || WILDCARD.has(a0.host)) {
        args[0] = { ...a0, host: HOST };
      }
    }
  } else if (a0 === undefined || typeof a0 === 'function' || isPort(a0)) {
    // listen([port][, host][, backlog][, cb])
    if (a0 === undefined) args[0] = 0;
    else if (typeof a0 === 'function') args.unshift(0);
    if (typeof args[1] !== 'string') args.splice(1, 0, HOST);
    else if (WILDCARD.has(args[1])) args[1] = HOST;
  }
  return origListen.apply(this, args);
};
