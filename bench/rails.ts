/**
 * M-Pesa confirmation → phone showing normal. The server runs alone in a child process (PGlite by
 * default, PostgreSQL with --pg); this process holds N enrolled agents keeping their nudge
 * streams open, all locked (bench/fleet.ts). Confirmations shaped like Safaricom's
 * (test/fixtures/rails/daraja-c2b-confirmation.json) arrive at the channel's confirmation URL at
 * a steady rate, and we time, per phone, from sending the callback (its arrival, give or take
 * loopback) to the agent showing the normal screen: the callback handled, the payment posted in
 * its unit of work, the nudge, the push over the stream, the agent's check-in.
 *
 * Baseline, same run, same loaded server: the bare POST /v1/payments round trip, on other locked
 * phones, interleaved at a quarter of the rate. Target: p99 ≤ 500 ms from the callback's arrival.
 *
 *   npm run bench:rails [-- --devices N] [-- --confirmations C] [-- --rate per-second] [-- --pg]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { formatDarajaTime } from '../src/domain/rails.ts';
import { startServer } from '../test/e2e/server-process.ts';
import { dropSchema, FLEET_START, lockedFleet, serverPauses, untilNormal, warmUp, type Phone } from './fleet.ts';
import { latencyStats, machine, printTable, writeResult } from './lib.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const DEVICES = Number(arg('devices') ?? 10_000);
const RATE = Number(arg('rate') ?? 20);
const BASELINE_EVERY = 4;
const CONFIRMATIONS = Math.min(Math.floor((DEVICES * BASELINE_EVERY) / (BASELINE_EVERY + 1)), Number(arg('confirmations') ?? 1_000));
const BASELINES = Math.min(DEVICES - CONFIRMATIONS, Math.ceil(CONFIRMATIONS / BASELINE_EVERY));
const WARM_UP = 20;
const WARM_UP_REF = 1_000_000;
const PG = process.argv.includes('--pg');
const TEMPLATE = readFileSync(new URL('../test/fixtures/rails/daraja-c2b-confirmation.json', import.meta.url), 'utf8');

if (PG) process.env.LIEN_TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
else delete process.env.LIEN_TEST_DATABASE_URL;
const loadBefore = loadavg();
const server = await startServer({ clockStart: FLEET_START, env: { LIEN_CHECKIN_FLUSH_MS: '250' } });
try {
  let confirmationPath = '';
  const fleet = await lockedFleet({
    servers: [server],
    devices: DEVICES,
    beforeLock: async (key) => {
      // A freshness window longer than the three weeks the fleet's clock jumps, so the feed is not stale.
      const ch = await server.api('POST', '/v1/payment-channels', { channel: 'mpesa', type: 'mpesa_c2b', freshnessMinutes: 44_640, account: { shortCode: '600638' } }, key);
      if (ch.status !== 201) throw new Error(JSON.stringify(ch.body));
      confirmationPath = new URL(ch.body.callbackUrls.confirmation).pathname;
    },
  });
  const { phones, key } = fleet;
  const loadAtStart = loadavg();

  const arrivalMs: number[] = [];
  const confirmAnswerMs: number[] = [];
  const postMs: number[] = [];
  let failures = 0;
  /** When each timed confirmation was sent (ms into the measurement) and how long its unlock took. */
  const timeline: { atMs: number; ms: number }[] = [];
  let measureStart = 0;
  const confirm = async (p: Phone, i: number) => {
    const body = TEMPLATE.replace('{{TRANS_ID}}', `BNC${String(i).padStart(7, '0')}`).replace('{{TRANS_TIME}}', formatDarajaTime(new Date('2026-01-22T07:00:00Z')))
      .replace('{{AMOUNT}}', '10000.00').replace('{{BILL_REF}}', p.lockReference!);
    const t0 = performance.now();
    const r = await fetch(`${server.url}${confirmationPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const answer = await r.json() as { ResultCode?: number };
    confirmAnswerMs.push(performance.now() - t0);
    if (r.status !== 200 || answer.ResultCode !== 0) return void failures++;
    const ms = await untilNormal(p, t0);
    if (ms === null) failures++;
    else {
      arrivalMs.push(ms);
      timeline.push({ atMs: Math.round(t0 - measureStart), ms: Math.round(ms) });
    }
  };
  const bare = async (p: Phone, i: number) => {
    const t0 = performance.now();
    const r = await server.api('POST', '/v1/payments', { contractId: p.contractId, externalRef: `BASE-${i}`, channel: 'mpesa', amount: 10_000_00, currency: 'KES' }, key);
    if (r.status !== 201) return void failures++;
    postMs.push(performance.now() - t0);
  };

  const warmUpMs = await warmUp(phones.slice(CONFIRMATIONS + BASELINES), WARM_UP, (p, i) => (i % BASELINE_EVERY === 0 ? bare(p, WARM_UP_REF + i) : confirm(p, WARM_UP_REF + i)));
  arrivalMs.length = confirmAnswerMs.length = postMs.length = timeline.length = 0;

  const pauses = await serverPauses(server);
  const t = (measureStart = performance.now());
  const inFlight: Promise<void>[] = [];
  for (let i = 0, b = 0; i < CONFIRMATIONS; i++) {
    inFlight.push(confirm(phones[i]!, i));
    if (i % BASELINE_EVERY === 0 && b < BASELINES) inFlight.push(bare(phones[CONFIRMATIONS + b]!, b++));
    const due = t + ((i + 1) * 1000) / RATE;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(inFlight);
  const wallSec = (performance.now() - t) / 1000;
  const serverDuring = await pauses();
  const loadAtEnd = loadavg();
  const post = latencyStats(postMs);
  const answered = latencyStats(confirmAnswerMs);
  const unlock = latencyStats(arrivalMs);
  const ratio = { p50: Number((unlock.p50Ms / post.p50Ms).toFixed(3)), p99: Number((unlock.p99Ms / post.p99Ms).toFixed(3)) };
  printTable([
    { run: 'bare POST /v1/payments (baseline)', count: post.count, p50Ms: post.p50Ms, p99Ms: post.p99Ms, maxMs: post.maxMs, ratioP99: 1 },
    { run: 'confirmation answered', count: answered.count, p50Ms: answered.p50Ms, p99Ms: answered.p99Ms, maxMs: answered.maxMs, ratioP99: Number((answered.p99Ms / post.p99Ms).toFixed(3)) },
    { run: 'confirmation sent → agent normal', count: unlock.count, p50Ms: unlock.p50Ms, p99Ms: unlock.p99Ms, maxMs: unlock.maxMs, ratioP99: ratio.p99 },
  ]);
  const file = writeResult('rails', {
    target: 'p99 from the M-Pesa confirmation callback arriving to the agent showing normal <= 500 ms, server in one process',
    backend: PG ? 'postgres' : 'pglite',
    devicesConnected: DEVICES,
    fullSize: { devicesConnected: 10_000, confirmationsPerSec: 20 },
    confirmations: CONFIRMATIONS,
    confirmationsPerSecOffered: RATE,
    confirmationsPerSec: Number((unlock.count / wallSec).toFixed(1)),
    baselinePayments: BASELINES,
    failures,
    backgroundErrors: fleet.backgroundErrors.length,
    setupStragglers: fleet.setupStragglers,
    /** How long after the last phone showed its lock the server had handled the lock's last check-in. */
    restAfterLockMs: fleet.restMs,
    /** Untimed requests on spare phones before measuring, each one's ms (bare POSTs every fourth). */
    warmUpMs,
    /** The machine is shared: its 1/5/15-minute load averages before setup, when measuring began, and at the end. */
    loadavg: { beforeSetup: loadBefore, atStart: loadAtStart, atEnd: loadAtEnd },
    /** The server's garbage collection and worst event-loop delay while measuring. */
    serverDuring,
    /** The ten slowest unlocks and when they were sent: a cluster points at a stall, not the path. */
    slowest: timeline.sort((a, b) => b.ms - a.ms).slice(0, 10),
    baseline: { name: 'bare POST /v1/payments latency, same server, same run', ...post },
    confirmationAnswered: answered,
    unlock,
    ratio,
    p50Ms: unlock.p50Ms,
    p99Ms: unlock.p99Ms,
    pass: unlock.p99Ms <= 500 && failures === 0,
    machine: machine(),
  });
  console.log(`written ${file}`);
  for (const p of phones) p.agent?.stop();
} finally {
  await server.stop();
  if (server.schema) await dropSchema(server.schema);
}
