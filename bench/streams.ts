/**
 * Idle device streams one `lien serve` process holds (PostgreSQL). Phones are seeded enrolled;
 * client processes (bench/stream-clients.ts) open signed streams in steps until the target, a
 * memory ceiling of the server (RSS), or the open-file limit of this machine, whichever comes
 * first. Measured:
 *   - server memory per stream: (RSS with N streams − RSS with none) ÷ N, beside the same figure
 *     for a bare `ws` server holding the same number of streams from the same clients (the
 *     baseline, same run: what any WebSocket costs before Lien adds anything);
 *   - CPU of the keep-alive pings (LIEN_STREAM_PING_SEC, short here so a window sees many rounds):
 *     server CPU over a window with N streams minus the same window with none, per 1,000 pings;
 *   - a nudge to 1% of the phones at once (one transaction's pg_notify, as a unit of work sends
 *     it): commit → every phone's stream received "sync";
 *   - a restart (SIGTERM, start again on the same port): phones come back as the agent brings
 *     them back (jittered wait, check-in, stream); peak reconnect attempts per second and the time
 *     until every phone is back, beside a baseline with a fixed 1 s retry and no jitter.
 *
 *   npm run bench:streams [-- --streams 100000] [-- --step 5000] [-- --rss-ceiling-mib 2048] [-- --ping-sec 5]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { nudgePayloads, NUDGE_CHANNEL } from '../src/services/unit-of-work.ts';
import { startServer, type ServerProcess } from '../test/e2e/server-process.ts';
import { machine, percentile, printTable, writeResult } from './lib.ts';
import { arg, connectMore, cpuSeconds, fdLimit, rssBytes, seedDevices, startClients, type ClientProcess } from './stream-fleet.ts';

const WANTED = Number(arg('streams') ?? 100_000);
const STEP = Number(arg('step') ?? 5_000);
const CEILING = Number(arg('rss-ceiling-mib') ?? 2048) * 2 ** 20;
const PING_SEC = Number(arg('ping-sec') ?? 5);
const CPU_WINDOW_SEC = Number(arg('cpu-window-sec') ?? 20);
/** How long a restart storm is watched before the phones still away are counted as not back. */
const STORM_TIMEOUT_SEC = Number(arg('storm-timeout-sec') ?? 300);
/** Descriptors the server needs besides its streams (database pool, listener, files). */
const FD_RESERVE = 500;
const LIMIT = fdLimit();
const TARGET = Math.min(WANTED, LIMIT - FD_RESERVE);
const ROOT = new URL('../', import.meta.url).pathname;
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
process.env.LIEN_TEST_DATABASE_URL = PG_URL;
const CLOCK = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
const MiB = (b: number) => Number((b / 2 ** 20).toFixed(1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Number(x.toFixed(1));

console.log(`target ${TARGET} streams (asked ${WANTED}; open-file limit ${LIMIT}); load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

/** The baseline: a bare `ws` server holding the same streams (no signing, no hub). */
async function bareServerBytesPerStream(n: number): Promise<{ rssIdleMiB: number; rssMiB: number; bytesPerStream: number }> {
  const code = `const {WebSocketServer}=require('ws');const w=new WebSocketServer({host:'127.0.0.1',port:0,perMessageDeflate:false});w.on('listening',()=>console.log('PORT '+w.address().port));w.on('connection',s=>s.send('{"type":"hello"}'));`;
  const proc = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => proc.stdout!.on('data', (d) => resolve(Number(/PORT (\d+)/.exec(String(d))?.[1]))));
  await sleep(1000);
  const idle = rssBytes(proc.pid!);
  const ids = Array.from({ length: n }, (_, i) => `bare_${i}`);
  const clients = await startClients(ids, { url: `http://127.0.0.1:${port}`, credentialHex: '00', clockMs: 0, signed: false, firstAddress: 40 });
  for (let done = 0; done < n; done += STEP) await connectMore(clients, Math.min(STEP, n - done));
  await sleep(2000);
  const rss = rssBytes(proc.pid!);
  await Promise.all(clients.map((c) => c.close()));
  proc.kill();
  return { rssIdleMiB: MiB(idle), rssMiB: MiB(rss), bytesPerStream: Math.round((rss - idle) / n) };
}

async function heapUsed(s: ServerProcess): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.operatorKey}` } })).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
}

async function collect<T>(clients: ClientProcess[], msg: string, reply: string): Promise<T[]> {
  return Promise.all(clients.map((c) => c.ask<T>({ type: msg }, reply)));
}

/** Restarts the server and watches the phones come back; `mode` is how they retry. */
async function storm(server: ServerProcess, start: () => Promise<ServerProcess>, clients: ClientProcess[], mode: 'jitter' | 'fixed', n: number) {
  await Promise.all(clients.map((c) => c.ask({ type: 'reconnect-mode', mode }, 'mode')));
  const t0 = performance.timeOrigin + performance.now();
  await server.stop();
  const next = await start();
  const up = performance.timeOrigin + performance.now();
  const deadline = Date.now() + STORM_TIMEOUT_SEC * 1000;
  type R = { attempts: number[]; back: number[]; failures: number; open: number };
  let rs: R[] = [];
  for (;;) {
    rs = await collect<R>(clients, 'reconnects', 'reconnects');
    const back = rs.reduce((a, r) => a + r.back.length, 0);
    if (back >= n || Date.now() > deadline) break;
    await sleep(1000);
  }
  const attempts = rs.flatMap((r) => r.attempts);
  const back = rs.flatMap((r) => r.back).sort((a, b) => a - b);
  const perSecond = new Map<number, number>();
  for (const a of attempts) perSecond.set(Math.floor((a - t0) / 1000), (perSecond.get(Math.floor((a - t0) / 1000)) ?? 0) + 1);
  const peak = Math.max(0, ...perSecond.values());
  const result = {
    mode: mode === 'jitter' ? 'agent: full jitter (reconnect.ts)' : 'baseline: fixed 1 s retry, no jitter',
    phones: n,
    back: back.length,
    attempts: attempts.length,
    failedAttempts: rs.reduce((a, r) => a + r.failures, 0),
    peakAttemptsPerSec: peak,
    serverDownSec: r1((up - t0) / 1000),
    allBackAfterStopSec: r1(((back.at(-1) ?? NaN) - t0) / 1000),
    allBackAfterUpSec: r1(((back.at(-1) ?? NaN) - up) / 1000),
    p50BackAfterStopSec: r1((percentile(back, 50) - t0) / 1000),
  };
  console.log(JSON.stringify(result));
  await Promise.all(clients.map((c) => c.ask({ type: 'reconnect-mode', mode: 'off' }, 'mode')));
  return { result, server: next };
}

const baseline = await bareServerBytesPerStream(TARGET);
console.log(`bare ws server: ${baseline.bytesPerStream} bytes per stream`);

const schema = `str_${randomBytes(5).toString('hex')}`;
const masterKey = randomBytes(32).toString('hex');
const operatorKey = `op_${randomBytes(16).toString('hex')}`;
const env = { LIEN_STREAM_PING_SEC: String(PING_SEC), LOG_LEVEL: 'error' };
let server = await startServer({ clockStart: CLOCK, schema, masterKey, operatorKey, env });
const port = Number(new URL(server.url).port);
const restart = () => startServer({ clockStart: CLOCK, schema, masterKey, operatorKey, env, port });
let clients: ClientProcess[] = [];
try {
  const seedT = performance.now();
  const { ids, credentialHex } = await seedDevices(PG_URL, schema, masterKey, TARGET);
  console.log(`seeded ${TARGET} enrolled phones in ${((performance.now() - seedT) / 1000).toFixed(1)} s`);

  // CPU of the server doing nothing, the baseline of the keep-alive cost.
  await sleep(2000);
  let c0 = cpuSeconds(server.proc.pid!);
  await sleep(CPU_WINDOW_SEC * 1000);
  const idleCpu = cpuSeconds(server.proc.pid!) - c0;
  const rssIdle = rssBytes(server.proc.pid!);
  const heapIdle = await heapUsed(server);

  clients = await startClients(ids, { url: server.url, credentialHex, clockMs: Date.parse(CLOCK), signed: true });
  const ramp: { streams: number; rssMiB: number; heapMiB: number; connectSec: number; failed: number; load1m: number }[] = [];
  let open = 0;
  let stoppedBy = TARGET < WANTED ? `open-file limit (ulimit -n ${LIMIT}, hard; the container cannot raise it)` : 'target reached';
  while (open < TARGET) {
    const t = performance.now();
    const r = await connectMore(clients, Math.min(STEP, TARGET - open));
    open = r.open;
    const rss = rssBytes(server.proc.pid!);
    ramp.push({ streams: open, rssMiB: MiB(rss), heapMiB: MiB(await heapUsed(server)), connectSec: r1((performance.now() - t) / 1000), failed: r.failed, load1m: r1(loadavg()[0]!) });
    console.log(JSON.stringify(ramp.at(-1)));
    if (rss > CEILING) {
      stoppedBy = `RSS ceiling ${MiB(CEILING)} MiB`;
      break;
    }
    if (r.opened === 0) {
      stoppedBy = 'no stream could be opened any more';
      break;
    }
  }
  await sleep(3000);
  const rssFull = rssBytes(server.proc.pid!);
  const heapFull = await heapUsed(server);
  const bytesPerStream = Math.round((rssFull - rssIdle) / open);

  // Keep-alive CPU: the same window, now with every stream pinged every PING_SEC.
  c0 = cpuSeconds(server.proc.pid!);
  await sleep(CPU_WINDOW_SEC * 1000);
  const fullCpu = cpuSeconds(server.proc.pid!) - c0;
  const pingsInWindow = (open * CPU_WINDOW_SEC) / PING_SEC;
  const cpuMsPer1000Pings = r1((Math.max(0, fullCpu - idleCpu) * 1e6) / pingsInWindow);

  // A nudge to 1% at once, committed as a unit of work commits it.
  const chosen = ids.filter((_, i) => i % 100 === 0).slice(0, Math.max(1, Math.floor(open / 100)));
  await collect(clients, 'watch', 'watching');
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  await db.query('BEGIN');
  for (const payload of nudgePayloads(chosen)) await db.query('SELECT pg_notify($1, $2)', [`${schema}.${NUDGE_CHANNEL}`, payload]);
  const tCommit = performance.timeOrigin + performance.now();
  await db.query('COMMIT');
  await db.end();
  let got: number[] = [];
  for (let i = 0; i < 60; i++) {
    await sleep(500);
    got = (await collect<{ at: Record<string, number[]> }>(clients, 'syncs', 'syncs')).flatMap((s) => Object.values(s.at).map((times) => times[0]!));
    if (got.length >= chosen.length) break;
  }
  const lat = got.map((a) => a - tCommit).sort((a, b) => a - b);
  const nudge = { phones: chosen.length, received: lat.length, payloads: nudgePayloads(chosen).length, p50Ms: r1(percentile(lat, 50)), p99Ms: r1(percentile(lat, 99)), maxMs: r1(lat.at(-1) ?? NaN) };
  console.log(`nudge to 1%: ${JSON.stringify(nudge)}`);

  const measured = {
    target: '>= 50,000 idle streams in one process under 2 GiB RSS; reconnect storm spread by the agent',
    backend: 'postgres',
    streamsAsked: WANTED,
    streamsHeld: open,
    stoppedBy,
    openFileLimit: LIMIT,
    baseline: { name: 'bare ws server, same clients, same count, same run', streams: TARGET, ...baseline },
    server: { rssIdleMiB: MiB(rssIdle), rssMiB: MiB(rssFull), heapIdleMiB: MiB(heapIdle), heapMiB: MiB(heapFull), bytesPerStream, heapBytesPerStream: Math.round((heapFull - heapIdle) / open) },
    ramp,
    projectedStreamsUnder2GiB: Math.floor((2 * 2 ** 30 - rssIdle) / bytesPerStream),
    keepAlive: { pingSec: PING_SEC, windowSec: CPU_WINDOW_SEC, idleCpuSec: r1(idleCpu), withStreamsCpuSec: r1(fullCpu), pingsInWindow: Math.round(pingsInWindow), cpuMsPer1000Pings, cpuShareOfOneCoreAt120s: Number(((cpuMsPer1000Pings / 1000) * (open / 120) / 1000).toFixed(5)) },
    nudgeOnePercent: nudge,
    p50Ms: nudge.p50Ms,
    p99Ms: nudge.p99Ms,
    pass: open >= 50_000 && rssFull < 2 * 2 ** 30,
  };
  // Written now too, so a storm that outlasts the session still leaves the figures above.
  writeResult('streams', { ...measured, ratio: { bytesPerStream: r1(bytesPerStream / baseline.bytesPerStream) }, reconnect: 'not measured (run ended before the restart storms)', loadavgAtEnd: loadavg().map((l) => r1(l)), machine: machine() });
  const jitter = await storm(server, restart, clients, 'jitter', open);
  server = jitter.server;
  const fixed = await storm(server, restart, clients, 'fixed', open);
  server = fixed.server;

  printTable([
    { what: 'bare ws server (baseline)', streams: TARGET, bytesPerStream: baseline.bytesPerStream, rssMiB: baseline.rssMiB, ratio: 1 },
    { what: 'lien serve', streams: open, bytesPerStream, rssMiB: MiB(rssFull), ratio: r1(bytesPerStream / baseline.bytesPerStream) },
  ]);
  printTable([jitter.result, fixed.result].map((r) => ({ mode: r.mode, back: r.back, attempts: r.attempts, peakPerSec: r.peakAttemptsPerSec, downSec: r.serverDownSec, allBackSec: r.allBackAfterStopSec })));
  const file = writeResult('streams', {
    ...measured,
    reconnect: { agent: jitter.result, baselineFixedRetry: fixed.result, watchedSec: STORM_TIMEOUT_SEC },
    ratio: { bytesPerStream: r1(bytesPerStream / baseline.bytesPerStream), peakReconnectRate: r1(jitter.result.peakAttemptsPerSec / Math.max(1, fixed.result.peakAttemptsPerSec)) },
    loadavgAtEnd: loadavg().map((l) => r1(l)),
    machine: machine(),
  });
  console.log(`written ${file}`);
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await server.stop();
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
