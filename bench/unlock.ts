/**
 * Payment → unlock latency. The server runs alone in a child process (one process, PGlite by
 * default, PostgreSQL with --pg); this process holds N simulated devices (default 10,000), each an
 * enrolled DeviceAgent keeping the /v1/device/stream WebSocket open. All are driven to a lock
 * (notice shown, period over, sweep), then payments are posted through the REST API and we time,
 * per device, from the payment API returning to the agent showing the normal screen: the NOTIFY
 * nudge, the push over the stream, the agent's signed check-in and its applying the new policy.
 *
 * Baseline, same run, same loaded server: the payment POST's own latency. The unlock path is
 * that write plus a push and one check-in round trip, so the ratio says how much a borrower waits
 * beyond what the lender's system waits for the API. Target: unlock p99 ≤ 500 ms.
 *
 * Across processes (`--pg --processes N`): N `lien serve` processes share one PostgreSQL schema
 * and master key, each phone streams from one of them (placed at random), and payments are posted
 * round-robin to all of them, so about (N−1)/N of the unlocks cross a process boundary through
 * LISTEN/NOTIFY. Same- and cross-process unlocks are reported apart, and the baseline is the same
 * bench with one process, run first in the same invocation → bench/results/unlock-processes.json.
 * Target there: cross-process p99 ≤ 1 s with 10,000 phones across 2 processes at 20 payments/s.
 *
 *   npm run bench:unlock [-- --devices N] [-- --payments P] [-- --rate per-second] [-- --pg] [-- --processes N]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startServer, type ServerProcess } from '../test/e2e/server-process.ts';
import { latencyStats, machine, printTable, writeResult } from './lib.ts';
import { dropSchema, FLEET_START, lockedFleet, serverPauses, untilNormal, warmUp, type Phone } from './fleet.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const DEVICES = Number(arg('devices') ?? 10_000);
const PAYMENTS = Math.min(DEVICES, Number(arg('payments') ?? 1_000));
/**
 * Payments arrive at a steady rate (open loop, like a mobile-money feed), so latencies are the
 * server's, not a queue this client builds by holding many requests in flight.
 */
const RATE = Number(arg('rate') ?? 20);
const PROCESSES = Number(arg('processes') ?? 1);
const PG = process.argv.includes('--pg') || PROCESSES > 1;
const WARM_UP = 20;
const WARM_UP_REF = 1_000_000;

type Stats = ReturnType<typeof latencyStats>;

interface Run {
  processes: number;
  post: Stats;
  unlock: Stats;
  sameProcess: Stats;
  crossProcess: Stats;
  failures: number;
  backgroundErrors: number;
  setupStragglers: { notice: number; locked: number };
  /** How long after the last phone showed its lock the servers had handled the lock's last check-in. */
  restAfterLockMs: number;
  /** Each server's garbage collection and worst event-loop delay while measuring. */
  serverDuring: Record<string, number>[];
  paymentsPerSec: number;
  loadavgDuring: number[];
  /** Untimed payments on spare phones before measuring, each one's ms to the phone unlocked. */
  warmUpMs: number[];
}

if (PG) process.env.LIEN_TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
else delete process.env.LIEN_TEST_DATABASE_URL;

/** Sets up DEVICES locked phones on `processes` servers sharing one database, then times the unlocks. */
async function run(processes: number): Promise<Run> {
  const schema = PG ? `unl_${randomBytes(5).toString('hex')}` : undefined;
  const shared = { masterKey: randomBytes(32).toString('hex'), operatorKey: `op_${randomBytes(16).toString('hex')}`, ...(schema ? { schema } : {}) };
  const servers: ServerProcess[] = [];
  try {
    // One after the other: the first start migrates the shared schema.
    for (let i = 0; i < processes; i++) servers.push(await startServer({ clockStart: FLEET_START, ...shared, env: { LIEN_CHECKIN_FLUSH_MS: '250' } }));
    const { key, phones, setupStragglers, restMs, backgroundErrors } = await lockedFleet({
      servers, devices: DEVICES, homeOf: () => Math.floor(Math.random() * processes), label: `[${processes} process(es)]`,
    });

    const postMs: number[] = [];
    const unlockMs: number[] = [];
    const sameMs: number[] = [];
    const crossMs: number[] = [];
    let failures = 0;
    const pay = async (p: Phone, i: number) => {
      // Round-robin over the processes, whichever one the phone streams from.
      const via = i % processes;
      const t0 = performance.now();
      const r = await servers[via]!.api('POST', '/v1/payments', { contractId: p.contractId, externalRef: `UNL-${i}`, channel: 'mpesa', amount: 10_000_00, currency: 'KES' }, key);
      const t1 = performance.now();
      if (r.status !== 201) {
        failures++;
        return;
      }
      postMs.push(t1 - t0);
      const ms = await untilNormal(p, t1);
      if (ms === null) {
        failures++;
        return;
      }
      unlockMs.push(ms);
      (via === p.home ? sameMs : crossMs).push(ms);
    };
    const warmUpMs = await warmUp(phones.slice(PAYMENTS), WARM_UP * processes, (p, i) => pay(p, WARM_UP_REF + i));
    postMs.length = unlockMs.length = sameMs.length = crossMs.length = 0;

    const pauses = await Promise.all(servers.map(serverPauses));
    const loadBefore = loadavg()[0]!;
    const t = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      inFlight.push(pay(phones[i]!, i));
      const due = t + ((i + 1) * 1000) / RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    }
    await Promise.all(inFlight);
    const wallSec = (performance.now() - t) / 1000;
    const serverDuring = await Promise.all(pauses.map((p) => p()));
    for (const p of phones) p.agent?.stop();
    return {
      processes,
      post: latencyStats(postMs),
      unlock: latencyStats(unlockMs),
      sameProcess: latencyStats(sameMs),
      crossProcess: latencyStats(crossMs),
      failures,
      backgroundErrors: backgroundErrors.length,
      setupStragglers,
      restAfterLockMs: restMs,
      serverDuring,
      paymentsPerSec: Number((unlockMs.length / wallSec).toFixed(1)),
      loadavgDuring: [Number(loadBefore.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
      warmUpMs,
    };
  } finally {
    for (const s of servers) await s.stop();
    if (schema) await dropSchema(schema);
  }
}

if (PROCESSES <= 1) {
  const { post, unlock, failures, backgroundErrors, setupStragglers, restAfterLockMs, serverDuring, paymentsPerSec, loadavgDuring, warmUpMs } = await run(1);
  const ratio = { p50: Number((unlock.p50Ms / post.p50Ms).toFixed(3)), p99: Number((unlock.p99Ms / post.p99Ms).toFixed(3)) };
  printTable([
    { run: 'payment POST (baseline)', count: post.count, p50Ms: post.p50Ms, p99Ms: post.p99Ms, maxMs: post.maxMs, ratioP99: 1 },
    { run: 'payment returned → agent normal', count: unlock.count, p50Ms: unlock.p50Ms, p99Ms: unlock.p99Ms, maxMs: unlock.maxMs, ratioP99: ratio.p99 },
  ]);
  const file = writeResult('unlock', {
    target: 'p99 from the payment API returning to the agent showing normal <= 500 ms, server in one process',
    backend: PG ? 'postgres' : 'pglite',
    devicesConnected: DEVICES,
    payments: PAYMENTS,
    paymentsPerSecOffered: RATE,
    paymentsPerSec,
    failures,
    backgroundErrors,
    /** Agents the setup nudges did not reach in time (synced by hand before measuring). */
    setupStragglers,
    restAfterLockMs,
    serverDuring: serverDuring[0],
    loadavgDuring,
    warmUpMs,
    baseline: { name: 'payment POST latency, same server, same run', ...post },
    unlock,
    ratio,
    p50Ms: unlock.p50Ms,
    p99Ms: unlock.p99Ms,
    pass: unlock.p99Ms <= 500 && failures === 0,
    machine: machine(),
  });
  console.log(`written ${file}`);
} else {
  const single = await run(1);
  const multi = await run(PROCESSES);
  const row = (name: string, r: Run, s: Stats) => ({ run: name, count: s.count, p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, ratioP99: Number((s.p99Ms / single.unlock.p99Ms).toFixed(3)), load1m: r.loadavgDuring[1]! });
  printTable([
    row('1 process: unlock (baseline)', single, single.unlock),
    row('1 process: payment POST', single, single.post),
    row(`${PROCESSES} processes: same-process unlock`, multi, multi.sameProcess),
    row(`${PROCESSES} processes: cross-process unlock`, multi, multi.crossProcess),
    row(`${PROCESSES} processes: payment POST`, multi, multi.post),
  ]);
  const ratio = {
    crossP50: Number((multi.crossProcess.p50Ms / single.unlock.p50Ms).toFixed(3)),
    crossP99: Number((multi.crossProcess.p99Ms / single.unlock.p99Ms).toFixed(3)),
    sameP99: Number((multi.sameProcess.p99Ms / single.unlock.p99Ms).toFixed(3)),
  };
  const file = writeResult('unlock-processes', {
    target: `cross-process unlock p99 <= 1000 ms with 10,000 phones across 2 processes at 20 payments/s (this run: ${DEVICES} phones across ${PROCESSES} at ${RATE}/s)`,
    backend: 'postgres',
    processes: PROCESSES,
    devicesConnected: DEVICES,
    payments: PAYMENTS,
    paymentsPerSecOffered: RATE,
    baseline: { name: 'the same bench with one process, same run (all unlocks same-process)', ...single },
    multi,
    ratio,
    p50Ms: multi.crossProcess.p50Ms,
    p99Ms: multi.crossProcess.p99Ms,
    pass: multi.crossProcess.p99Ms <= 1000 && multi.failures === 0,
    machine: machine(),
  });
  console.log(`written ${file}`);
}
