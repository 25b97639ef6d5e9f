/**
 * Nudges through PostgreSQL NOTIFY between `lien serve` processes. P processes share one schema;
 * each holds the streams of its share of the phones (bench/stream-clients.ts). A committer sends
 * nudges as units of work do (`pg_notify` on the schema's channel with device ids packed by
 * nudgePayloads, under 8000 bytes), open loop at rising rates, in two shapes: one device per
 * commit (a payment) and a full payload per commit (a sweep batch). Every process hears every
 * notification and pushes "sync" to the streams it holds; the clients stamp each arrival.
 *
 * Per step: nudges/s offered and delivered, commit → stream write latency (p50/p99; the k-th
 * commit naming a phone is matched with the k-th sync that phone received), lost nudges, and
 * the NOTIFY queue's fill (pg_notification_queue_usage: a listener that falls behind makes it
 * grow, and at 100% every NOTIFY in the database fails). Baseline, same run, same notifications:
 * a bare `pg` client LISTENing on the channel, i.e. what NOTIFY itself costs before Lien.
 * The ramp stops at the first step that degrades (p99 over 1 s, nudges lost, or under 90% of
 * the offered rate delivered).
 *
 *   npm run bench:fanout [-- --processes 2..4] [-- --streams-per-process 2000] [-- --rates 200,1000,...] [-- --step-sec 10]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { nudgePayloads, NUDGE_CHANNEL } from '../src/services/unit-of-work.ts';
import { startServer, type ServerProcess } from '../test/e2e/server-process.ts';
import { machine, percentile, printTable, writeResult } from './lib.ts';
import { arg, connectMore, cpuSeconds, seedDevices, startClients, type ClientProcess } from './stream-fleet.ts';

const PROCESSES = Math.min(4, Math.max(2, Number(arg('processes') ?? 2)));
const PER_PROCESS = Number(arg('streams-per-process') ?? 2000);
const RATES = (arg('rates') ?? '100,200,500,1000,2000').split(',').map(Number);
const BATCHED_RATES = (arg('batched-rates') ?? '1000,5000,20000,50000,100000,200000').split(',').map(Number);
const STEP_SEC = Number(arg('step-sec') ?? 10);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
process.env.LIEN_TEST_DATABASE_URL = PG_URL;
const CLOCK = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number) => Number(x.toFixed(1));
const now = () => performance.timeOrigin + performance.now();

const schema = `fan_${randomBytes(5).toString('hex')}`;
const channel = `${schema}.${NUDGE_CHANNEL}`;
const shared = { clockStart: CLOCK, schema, masterKey: randomBytes(32).toString('hex'), operatorKey: `op_${randomBytes(16).toString('hex')}`, env: { LOG_LEVEL: 'error' } };
const servers: ServerProcess[] = [];
const clients: ClientProcess[] = [];
const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
try {
  for (let i = 0; i < PROCESSES; i++) servers.push(await startServer(shared));
  // Ids as long as real ones (dev_ + a 26-character ULID): they set how many fit in a payload.
  const { ids, credentialHex } = await seedDevices(PG_URL, schema, shared.masterKey, PROCESSES * PER_PROCESS, 'dev_01jfanoutbench0000');
  for (let p = 0; p < PROCESSES; p++) {
    const mine = ids.filter((_, i) => i % PROCESSES === p);
    const [c] = await startClients(mine, { url: servers[p]!.url, credentialHex, clockMs: Date.parse(CLOCK), signed: true, firstAddress: 20 + p });
    clients.push(c!);
    const r = await connectMore([c!], mine.length);
    console.log(`process ${p}: ${r.open} streams (${r.failed} failed)`);
  }

  // The baseline listener: NOTIFY alone, the same notifications.
  const bare = new pg.Client({ connectionString: PG_URL });
  await bare.connect();
  const bareArrivals: { payload: string; at: number }[] = [];
  bare.on('notification', (n) => bareArrivals.push({ payload: n.payload ?? '', at: now() }));
  await bare.query(`LISTEN ${pg.escapeIdentifier(channel)}`);

  const committers = new pg.Pool({ connectionString: PG_URL, max: 8 });
  const perPayload = nudgePayloads(ids.slice(0, 1000))[0]!.split(',').length;
  // What happens past the payload limit: the reason nudges are packed.
  const tooLong = await admin.query('SELECT pg_notify($1, $2)', [`${schema}.probe`, 'x'.repeat(8000)]).then(() => 'accepted', (e: Error) => e.message);

  const steps: Record<string, unknown>[] = [];
  /** Per shape, the first step that degraded (null: none did within the rates tried). */
  const degradedAt: Record<string, unknown> = { 'one device per commit': null, 'full payload per commit': null };
  for (const shape of ['one device per commit', 'full payload per commit'] as const) {
    const batch = shape === 'one device per commit' ? 1 : perPayload;
    for (const rate of batch === 1 ? RATES : BATCHED_RATES) {
      await Promise.all(clients.map((c) => c.ask({ type: 'watch' }, 'watching')));
      bareArrivals.length = 0;
      const commitsOf = new Map<string, number[]>();
      const payloadSent = new Map<string, number[]>();
      let queueMax = 0;
      const poll = setInterval(() => {
        admin.query('SELECT pg_notification_queue_usage() AS u').then((r) => (queueMax = Math.max(queueMax, Number(r.rows[0].u))), () => undefined);
      }, 250);
      const cpu = () => ({ servers: servers.reduce((a, sv) => a + cpuSeconds(sv.proc.pid!), 0), clients: clients.reduce((a, c) => a + cpuSeconds(c.pid), 0) });
      const cpuBefore = cpu();
      const commitsPerSec = rate / batch;
      const total = Math.max(1, Math.round(commitsPerSec * STEP_SEC));
      const t0 = performance.now();
      const inFlight: Promise<void>[] = [];
      let commitErrors = 0;
      let cursor = Math.floor(Math.random() * ids.length);
      for (let k = 0; k < total; k++) {
        const chosen = Array.from({ length: batch }, () => ids[(cursor = (cursor + 7919) % ids.length)]!);
        const payload = nudgePayloads(new Set(chosen))[0]!;
        inFlight.push((async () => {
          // Stamped once a connection is ours: the time starts at the commit, not in the pool's queue.
          const c = await committers.connect();
          const at = now();
          for (const id of new Set(chosen)) {
            const list = commitsOf.get(id);
            if (list) list.push(at);
            else commitsOf.set(id, [at]);
          }
          const sent = payloadSent.get(payload);
          if (sent) sent.push(at);
          else payloadSent.set(payload, [at]);
          await c.query('SELECT pg_notify($1, $2)', [channel, payload]).catch(() => void commitErrors++);
          c.release();
        })());
        const due = t0 + ((k + 1) * 1000) / commitsPerSec;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        else if (k % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await Promise.all(inFlight);
      const sentSec = (performance.now() - t0) / 1000;
      const expected = [...commitsOf.values()].reduce((a, l) => a + l.length, 0);
      // Let deliveries drain: until nothing new arrives for 2 s (at most 60 s).
      let received: Record<string, number[]>[] = [];
      let count = -1;
      for (let i = 0; i < 60; i++) {
        await sleep(1000);
        received = (await Promise.all(clients.map((c) => c.ask<{ at: Record<string, number[]> }>({ type: 'syncs' }, 'syncs')))).map((s) => s.at);
        const n = received.reduce((a, r) => a + Object.values(r).reduce((b, l) => b + l.length, 0), 0);
        if (n >= expected || n === count) break;
        count = n;
      }
      clearInterval(poll);
      const cpuAfter = cpu();
      const lat: number[] = [];
      let last = 0;
      for (const r of received) {
        for (const [id, times] of Object.entries(r)) {
          const sent = commitsOf.get(id) ?? [];
          times.forEach((at, k) => {
            if (sent[k] !== undefined) lat.push(at - sent[k]!);
            last = Math.max(last, at);
          });
        }
      }
      lat.sort((a, b) => a - b);
      // Notifications of one session arrive in commit order: the k-th arrival of a payload is its k-th commit.
      const bareLat = bareArrivals.map((a) => a.at - (payloadSent.get(a.payload)?.shift() ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
      const deliveredSec = (last - (performance.timeOrigin + t0)) / 1000;
      const step = {
        shape,
        batch,
        offeredPerSec: rate,
        sentPerSec: Math.round(expected / sentSec),
        deliveredPerSec: Math.round(lat.length / Math.max(sentSec, deliveredSec)),
        /** Under 90% sent: the database would not commit that many transactions a second here. */
        limitedBy: expected < 0.9 * rate * STEP_SEC ? 'commits per second' : lat.length < expected ? 'delivery' : null,
        nudges: expected,
        lost: expected - lat.length,
        commitErrors,
        p50Ms: r1(percentile(lat, 50)),
        p99Ms: r1(percentile(lat, 99)),
        bareP50Ms: r1(percentile(bareLat, 50)),
        bareP99Ms: r1(percentile(bareLat, 99)),
        queueUsageMax: queueMax,
        /** Where the time went: CPU seconds of all server processes and of the stream clients in the step. */
        serverCpuSec: r1(cpuAfter.servers - cpuBefore.servers),
        clientCpuSec: r1(cpuAfter.clients - cpuBefore.clients),
        load1m: r1(loadavg()[0]!),
      };
      console.log(JSON.stringify(step));
      const degraded = step.p99Ms > 1000 || step.lost > 0 || step.commitErrors > 0 || step.deliveredPerSec < 0.9 * rate;
      steps.push({ ...step, degraded });
      if (degraded) {
        degradedAt[shape] = step;
        break;
      }
    }
  }
  await committers.end();
  await bare.end();

  const ok = steps.filter((s) => !s.degraded) as { shape: string; deliveredPerSec: number; p99Ms: number; bareP99Ms: number; p50Ms: number }[];
  const best = (shape: string) => ok.filter((s) => s.shape === shape).sort((a, b) => b.deliveredPerSec - a.deliveredPerSec)[0];
  const single = best('one device per commit');
  const batched = best('full payload per commit');
  printTable(steps.map((s) => ({ shape: String(s.shape), offered: Number(s.offeredPerSec), delivered: Number(s.deliveredPerSec), lost: Number(s.lost), p50Ms: Number(s.p50Ms), p99Ms: Number(s.p99Ms), bareP99Ms: Number(s.bareP99Ms), queue: Number(s.queueUsageMax) })));
  const file = writeResult('fanout', {
    target: 'nudges per second and commit → stream write p99 between processes through PostgreSQL NOTIFY',
    backend: 'postgres',
    processes: PROCESSES,
    streamsPerProcess: PER_PROCESS,
    stepSec: STEP_SEC,
    idsPerPayload: perPayload,
    payloadOver8000Bytes: tooLong,
    baseline: { name: 'a bare pg client LISTENing on the same channel, same notifications, same run', oneDevicePerCommitP99Ms: single?.bareP99Ms, fullPayloadP99Ms: batched?.bareP99Ms },
    nudgesPerSec: { oneDevicePerCommit: single?.deliveredPerSec ?? 0, fullPayloadPerCommit: batched?.deliveredPerSec ?? 0 },
    steps,
    degradedAt,
    ratio: { oneDevicePerCommitP99: single ? r1(single.p99Ms / Math.max(0.1, single.bareP99Ms)) : null, fullPayloadP99: batched ? r1(batched.p99Ms / Math.max(0.1, batched.bareP99Ms)) : null },
    p50Ms: single?.p50Ms,
    p99Ms: single?.p99Ms,
    loadavgAtEnd: loadavg().map((l) => r1(l)),
    machine: machine(),
  });
  console.log(`written ${file}`);
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const s of servers) await s.stop();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
