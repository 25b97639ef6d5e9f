/**
 * A child of bench/streams.ts and bench/fanout.ts holding many idle device streams from one
 * loopback address (one process per ~15,000 streams: the descriptor limit and the ephemeral
 * ports of one source address both run out near there). Each stream is what an enrolled phone
 * opens: a WebSocket upgrade signed as docs/protocol.md §4 says. After a server restart a stream
 * comes back as the reference agent brings it back (src/agent/reconnect.ts: jittered wait, then
 * a signed check-in and a new stream) or, for the baseline, after a fixed 1 s with no jitter.
 *
 * Driven over IPC: {type:'init'|'connect'|'watch'|'syncs'|'reconnects'|'close'}.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { reconnectDelayMs } from '../src/agent/reconnect.ts';
import { signRequest } from '../src/protocol/auth.ts';

interface Init {
  type: 'init';
  url: string;
  localAddress: string;
  deviceIds: string[];
  credentialHex: string;
  /** The server's (fixed, manual) clock in ms: requests are timestamped with it. */
  clockMs: number;
  /** false: a bare WebSocket server (the memory baseline), no signing. */
  signed: boolean;
}

type Msg =
  | Init
  | { type: 'connect'; count: number; concurrency: number }
  | { type: 'watch' }
  | { type: 'syncs' }
  | { type: 'reconnect-mode'; mode: 'jitter' | 'fixed' }
  | { type: 'reconnects' }
  | { type: 'close' };

let cfg: Init;
let credential: Buffer;
const counters = new Map<string, number>();
const sockets = new Map<string, WebSocket>();
let connected = 0;
let watching = false;
/** Every "sync" each stream received while watching, in order. */
const syncAt = new Map<string, number[]>();
let mode: 'jitter' | 'fixed' | 'off' = 'off';
const attempts: number[] = [];
const backAt = new Map<string, number>();
let failures = 0;

const now = () => performance.timeOrigin + performance.now();

function headers(deviceId: string, method: string, path: string, body: string): Record<string, string> {
  if (!cfg.signed) return {};
  const counter = (counters.get(deviceId) ?? 0) + 1;
  counters.set(deviceId, counter);
  return signRequest({ deviceId, authKey: credential, method, path, body, timestamp: cfg.clockMs, counter });
}

function open(deviceId: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${cfg.url.replace(/^http/, 'ws')}/v1/device/stream`, {
      headers: headers(deviceId, 'GET', '/v1/device/stream', ''),
      localAddress: cfg.localAddress,
      handshakeTimeout: 30_000,
      perMessageDeflate: false,
    });
    let opened = false;
    ws.on('open', () => {
      opened = true;
      sockets.set(deviceId, ws);
      connected++;
      resolve(true);
    });
    ws.on('message', (data) => {
      if (!watching || !String(data).includes('"sync"')) return;
      const list = syncAt.get(deviceId);
      if (list) list.push(now());
      else syncAt.set(deviceId, [now()]);
    });
    ws.on('error', () => {
      if (!opened) resolve(false);
    });
    ws.on('close', (code) => {
      if (!opened) return resolve(false);
      connected--;
      if (sockets.get(deviceId) === ws) sockets.delete(deviceId);
      // 4401: refused handshake. Anything else from the far side: reconnect as the agent does.
      if (code !== 4401 && mode !== 'off') schedule(deviceId, 0);
    });
  });
}

/** The agent's check-in before it reopens the stream (a nudge may have been missed). */
function checkin(deviceId: string): Promise<boolean> {
  if (!cfg.signed) return Promise.resolve(true);
  const body = JSON.stringify({ agentVersion: 'bench-1', policyVersion: 0, tokenCounter: 0, events: [] });
  return new Promise((resolve) => {
    const u = new URL('/v1/device/checkin', cfg.url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', localAddress: cfg.localAddress, agent: false, timeout: 30_000, headers: { 'content-type': 'application/json', ...headers(deviceId, 'POST', '/v1/device/checkin', body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

function schedule(deviceId: string, attempt: number): void {
  const delay = mode === 'jitter' ? reconnectDelayMs(attempt) : 1000;
  setTimeout(async () => {
    attempts.push(now());
    const ok = (await checkin(deviceId)) && (await open(deviceId));
    if (ok) backAt.set(deviceId, now());
    else {
      failures++;
      schedule(deviceId, attempt + 1);
    }
  }, delay);
}

async function connect(count: number, concurrency: number): Promise<{ opened: number; failed: number; ms: number }> {
  const t = performance.now();
  const todo = cfg.deviceIds.filter((id) => !sockets.has(id)).slice(0, count);
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
    for (let i = next++; i < todo.length; i = next++) if (!(await open(todo[i]!))) failed++;
  }));
  return { opened: todo.length - failed, failed, ms: performance.now() - t };
}

process.on('message', async (m: Msg) => {
  switch (m.type) {
    case 'init':
      cfg = m;
      credential = Buffer.from(m.credentialHex, 'hex');
      process.send!({ type: 'ready' });
      break;
    case 'connect':
      process.send!({ type: 'connected', ...(await connect(m.count, m.concurrency)), open: connected });
      break;
    case 'watch':
      syncAt.clear();
      watching = true;
      process.send!({ type: 'watching' });
      break;
    case 'syncs':
      process.send!({ type: 'syncs', at: Object.fromEntries(syncAt) });
      break;
    case 'reconnect-mode':
      mode = m.mode;
      attempts.length = 0;
      backAt.clear();
      failures = 0;
      process.send!({ type: 'mode' });
      break;
    case 'reconnects':
      process.send!({ type: 'reconnects', attempts, back: [...backAt.values()], failures, open: connected });
      break;
    case 'close':
      mode = 'off';
      for (const ws of sockets.values()) ws.terminate();
      process.send!({ type: 'closed' });
      setTimeout(() => process.exit(0), 100);
      break;
  }
});
