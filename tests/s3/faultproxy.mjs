// A fault-injecting HTTP proxy for strata's S3 fault tests: sits between a client and
// an S3 server (radosgw) on 127.0.0.1 and, for a chosen fraction of requests,
//   503          answers 503 with an S3 error body without forwarding the request,
//   503-after    forwards the request, lets the server apply it, then answers 503
//                (the client must not turn a retried conditional put that already
//                won into a conflict),
//   reset-early  resets the connection before the request reaches the server,
//   reset-body   forwards, sends the status line, headers and part of the body, then
//                resets the connection (TCP RST),
//   delay        holds the server's answer back for a while before sending it.
// Everything else is forwarded unchanged (Host included, so SigV4 signatures still
// verify). Fault choice is seeded, so a failing run can be repeated.
//
// usage: node faultproxy.mjs --target http://127.0.0.1:PORT [--port 0] [--port-file F]
//          [--faults 0.2] [--p503 R] [--p503-after R] [--preset-early R] [--preset-body R]
//          [--pdelay R] [--delay-ms MIN-MAX] [--seed N] [--log FILE]
// --faults F splits F over the kinds (503 30%, 503-after 20%, reset-early 10%,
// reset-body 25%, delay 15%); explicit --pKIND options override that share.
// Prints "faultproxy listening on 127.0.0.1:PORT" and writes PORT to --port-file once
// listening; on SIGTERM/SIGINT prints per-kind counts ("faultproxy stats {...}").
import fs from 'node:fs';
import http from 'node:http';

function parseArgs(argv) {
  const o = {port: 0, faults: 0, seed: 1, delayMs: [300, 1500]};
  const rates = {};
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const take = () => {
      if (v === undefined) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    switch (a) {
    case '--target': o.target = new URL(take()); break;
    case '--port': o.port = Number(take()); break;
    case '--port-file': o.portFile = take(); break;
    case '--faults': o.faults = Number(take()); break;
    case '--p503': rates['503'] = Number(take()); break;
    case '--p503-after': rates['503-after'] = Number(take()); break;
    case '--preset-early': rates['reset-early'] = Number(take()); break;
    case '--preset-body': rates['reset-body'] = Number(take()); break;
    case '--pdelay': rates['delay'] = Number(take()); break;
    case '--delay-ms': o.delayMs = take().split('-').map(Number); break;
    case '--seed': o.seed = Number(take()); break;
    case '--log': o.log = take(); break;
    default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.target) throw new Error('--target http://HOST:PORT is required');
  const share = {'503': 0.3, '503-after': 0.2, 'reset-early': 0.1, 'reset-body': 0.25, 'delay': 0.15};
  o.rates = {};
  for (const k of Object.keys(share)) o.rates[k] = rates[k] ?? o.faults * share[k];
  const total = Object.values(o.rates).reduce((s, r) => s + r, 0);
  if (!(total >= 0 && total <= 1)) throw new Error(`fault rates add up to ${total}, not within [0, 1]`);
  return o;
}

const opt = parseArgs(process.argv);

// mulberry32: small, seedable, good enough to spread faults.
let seed = opt.seed >>> 0;
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function pickFault() {
  let r = rand();
  for (const [k, p] of Object.entries(opt.rates)) {
    if (r < p) return k;
    r -= p;
  }
  return 'none';
}

const logStream = opt.log ? fs.createWriteStream(opt.log, {flags: 'a'}) : null;
function log(line) {
  if (logStream) logStream.write(line + '\n');
}

const stats = {requests: 0, none: 0, '503': 0, '503-after': 0, 'reset-early': 0, 'reset-body': 0, delay: 0};
const agent = new http.Agent({keepAlive: true, maxSockets: 64});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function s3Error(res, n) {
  const code = n % 2 ? 'SlowDown' : 'ServiceUnavailable';
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${code}</Code><Message>injected by faultproxy</Message>` +
      `<RequestId>faultproxy-${n}</RequestId></Error>`;
  res.writeHead(503, {'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body)});
  res.end(body);
}

function reset(req) {
  const s = req.socket;
  if (s.destroyed) return;
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

// Forwards req upstream; resolves with the upstream response (body not yet read).
function forward(req) {
  return new Promise((resolve, reject) => {
    const headers = {...req.headers};
    // The proxy answers 100-continue itself; the upstream gets the body at once.
    delete headers['expect'];
    delete headers['connection'];
    delete headers['keep-alive'];
    const up = http.request({
      host: opt.target.hostname,
      port: opt.target.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
      setHost: false,
    }, resolve);
    up.on('error', reject);
    req.pipe(up);
  });
}

async function relay(res, ures) {
  res.writeHead(ures.statusCode, ures.statusMessage, ures.rawHeaders.filter((_, i, a) => {
    const k = i % 2 ? a[i - 1] : a[i];
    return !/^(connection|keep-alive)$/i.test(k);
  }));
  ures.pipe(res);
  await new Promise((r) => res.on('close', r));
}

async function resetMidBody(req, res, ures) {
  const len = Number(ures.headers['content-length'] ?? NaN);
  if (req.method === 'HEAD' || len === 0) {
    // Nothing to cut: the answer is lost as a whole (the server did apply the request).
    ures.resume();
    reset(req);
    return;
  }
  const cut = Number.isFinite(len) ? Math.max(1, Math.floor(len * (0.1 + 0.8 * rand()))) : 1;
  res.writeHead(ures.statusCode, ures.statusMessage, ures.rawHeaders.filter((_, i, a) => {
    const k = i % 2 ? a[i - 1] : a[i];
    return !/^(connection|keep-alive)$/i.test(k);
  }));
  let sent = 0;
  let done = false;
  await new Promise((resolve) => {
    ures.on('data', (chunk) => {
      if (done) return;
      const part = chunk.subarray(0, Math.min(chunk.length, cut - sent));
      sent += part.length;
      if (sent >= cut || part.length < chunk.length) {
        done = true;
        ures.pause();
        res.write(part, () => setTimeout(() => {
          reset(req);
          ures.destroy();
          resolve();
        }, 50));
      } else {
        res.write(part);
      }
    });
    ures.on('end', () => {
      if (!done) {
        done = true;
        reset(req);
        resolve();
      }
    });
    ures.on('error', () => resolve());
  });
}

let counter = 0;
const server = http.createServer(async (req, res) => {
  const n = ++counter;
  const fault = pickFault();
  stats.requests++;
  stats[fault]++;
  log(`${n} ${req.method} ${req.url} ${fault}`);
  req.socket.on('error', () => {});
  try {
    switch (fault) {
    case '503':
      req.resume();
      await new Promise((r) => req.on('end', r));
      s3Error(res, n);
      return;
    case 'reset-early':
      reset(req);
      return;
    case '503-after': {
      const ures = await forward(req);
      ures.resume();
      await new Promise((r) => ures.on('end', r));
      s3Error(res, n);
      return;
    }
    case 'reset-body':
      await resetMidBody(req, res, await forward(req));
      return;
    case 'delay': {
      const ures = await forward(req);
      ures.pause();
      const [lo, hi] = opt.delayMs;
      await sleep(lo + (hi - lo) * rand());
      await relay(res, ures);
      return;
    }
    default:
      await relay(res, await forward(req));
    }
  } catch (e) {
    log(`${n} upstream error: ${e.message}`);
    if (!res.headersSent) {
      res.writeHead(502, {'Content-Type': 'text/plain'});
      res.end(`faultproxy: upstream error: ${e.message}\n`);
    } else {
      reset(req);
    }
  }
});
server.requestTimeout = 0;
server.headersTimeout = 120000;
server.keepAliveTimeout = 30000;
server.on('clientError', (err, socket) => socket.destroy());

function finish() {
  const line = `faultproxy stats ${JSON.stringify(stats)}`;
  console.log(line);
  log(line);
  server.close();
  agent.destroy();
  if (logStream) logStream.end(() => process.exit(0));
  else process.exit(0);
}
process.on('SIGTERM', finish);
process.on('SIGINT', finish);

server.listen(opt.port, '127.0.0.1', () => {
  const port = server.address().port;
  if (opt.portFile) fs.writeFileSync(opt.portFile, `${port}\n`);
  console.log(`faultproxy listening on 127.0.0.1:${port} -> ${opt.target.host} ` +
              `rates ${JSON.stringify(opt.rates)} seed ${opt.seed}`);
});
