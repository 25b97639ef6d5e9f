/**
 * The daily sweep over N active contracts (default 1,000,000) beside a bare
 * `UPDATE contracts SET last_evaluated_on = …` of the same rows on the same database in the same
 * run, on PGlite (file-backed) and on PostgreSQL (a fresh database, dropped afterwards). While
 * the sweep runs, a lender API request is issued every 50 ms to show PGlite keeps serving.
 * Target: sweep ≤ 3× the bare UPDATE.
 *
 *   npm run bench:sweep [-- --contracts N] [-- --only pglite|postgres] [-- --combine]
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { ManualClock } from '../src/domain/clock.ts';
import { imeiCheckDigit } from '../src/domain/imei.ts';
import { sweep, type SweepStats } from '../src/jobs/sweep.ts';
import { buildLien } from '../src/server/app.ts';
import { loadConfig } from '../src/server/config.ts';
import { openDatabase, type Database } from '../src/store/connection.ts';
import type { DB } from '../src/store/schema.ts';
import { machine, percentile, printTable, resultsDir, writeResult } from './lib.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('contracts') ?? 1_000_000);
const ONLY = arg('only');
const BATCH = Number(arg('batch') ?? 500);
const PG_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** 08:00 in Nairobi on the measured business day; the state is primed on the day before. */
const DAY = '2026-03-10';
const PRIME_AT = '2026-03-09T05:00:00Z';
const SWEEP_AT = '2026-03-10T05:00:00Z';

interface Run {
  backend: string;
  contracts: number;
  seedSec: number;
  primeSec: number;
  bareUpdateSec: number;
  sweepSec: number;
  ratio: number;
  sweep: SweepStats;
  probe: { requests: number; p50Ms: number; p99Ms: number; maxMs: number; errors: number };
}

async function run(backend: 'pglite' | 'postgres'): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lien-bench-sweep-'));
  const dbName = `bench_sweep_${process.pid}`;
  let database: Database;
  if (backend === 'postgres') {
    await admin(`CREATE DATABASE ${dbName}`);
    database = await openDatabase({ databaseUrl: PG_URL.replace(/\/[^/]*$/, `/${dbName}`), poolSize: 4 });
  } else {
    database = await openDatabase({ dataDir });
  }
  const operatorKey = `op_${randomBytes(12).toString('hex')}`;
  process.env.LIEN_OPERATOR_KEY = operatorKey;
  process.env.LIEN_MASTER_KEY ??= randomBytes(32).toString('hex');
  const clock = new ManualClock(PRIME_AT);
  const lien = await buildLien(loadConfig({ LIEN_DATA_DIR: dataDir } as NodeJS.ProcessEnv, { port: 0 }), { clock, database, logger: false, jobs: false });
  try {
    await lien.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(lien.app.server.address() as { port: number }).port}`;
    const api = async (method: string, path: string, body: unknown, key: string, type = 'application/json') => {
      const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      const json = (await r.json()) as Record<string, any>;
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    const lender = await api('POST', '/v1/operator/lenders', {
      name: 'Bench Credit', supportPhone: '+254700000000', supportUrl: 'https://bench.example', howToPay: 'M-Pesa', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle',
    }, operatorKey);
    // One real sale through the API gives a real signed policy to copy as every device's latest.
    const imei = imeiOf(1);
    await api('POST', '/v1/operator/manifests', `imei1,imei2,serial,model,factory_secret,sale_status\n${imei},,BENCH-1,Bench,${randomBytes(32).toString('hex')},unsold`, operatorKey, 'text/csv');
    const sale = await api('POST', '/v1/sales', {
      imei, borrowerRef: 'B-1', borrowerPhone: '+254711000000',
      schedule: { principal: 12_000_00, annualRatePct: 24, termCount: 6, frequency: 'monthly', method: 'declining', firstDueDate: '2026-04-01' },
      consent: { at: PRIME_AT, channel: 'app', termsVersion: 'v1' },
    }, lender.apiKey);

    const db = lien.services.db;
    let t = performance.now();
    await seed(db, lender.id, sale.deviceId);
    const seedSec = (performance.now() - t) / 1000;
    console.log(`${backend}: seeded ${N} contracts in ${seedSec.toFixed(1)} s`);

    // Yesterday's sweep leaves every stored decision as the engine made it (untimed).
    t = performance.now();
    await sweep(lien.services, { batchSize: BATCH });
    const primeSec = (performance.now() - t) / 1000;
    console.log(`${backend}: primed (sweep of ${PRIME_AT.slice(0, 10)}) in ${primeSec.toFixed(1)} s`);
    await vacuum(db);

    // The baseline rewrites the same rows to the value they hold, so the sweep still has all to do.
    t = performance.now();
    await sql`UPDATE contracts SET last_evaluated_on = last_evaluated_on`.execute(db);
    const bareUpdateSec = (performance.now() - t) / 1000;
    await vacuum(db);
    console.log(`${backend}: bare UPDATE in ${bareUpdateSec.toFixed(1)} s`);

    clock.set(SWEEP_AT);
    const probe = startProbe(`${url}/v1/contracts/${sale.contractId}`, lender.apiKey);
    t = performance.now();
    const stats = await sweep(lien.services, { batchSize: BATCH });
    const sweepSec = (performance.now() - t) / 1000;
    const probed = await probe.stop();
    console.log(`${backend}: sweep in ${sweepSec.toFixed(1)} s ${JSON.stringify(stats)}`);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM contracts WHERE status = 'active' AND last_evaluated_on < ${DAY}::date`.execute(db);
    if (rows[0]!.n !== 0) throw new Error(`${rows[0]!.n} active contracts not evaluated`);
    return { backend, contracts: N, seedSec, primeSec, bareUpdateSec, sweepSec, ratio: Number((sweepSec / bareUpdateSec).toFixed(3)), sweep: stats, probe: probed };
  } finally {
    await lien.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (backend === 'postgres') await admin(`DROP DATABASE IF EXISTS ${dbName}`);
  }
}

/**
 * A realistic book: 88% current (next installment 5–31 days out, earlier ones paid; latest
 * policies of every age, so about an eighth are due for an offline-deadline renewal, which their
 * next check-in picks up),
 * 7% in the reminder window, 4% overdue 0–39 days (notice issued, not yet displayed), 1% locked
 * (30 days overdue, notice displayed 20 days ago). Six monthly installments each. Stored stages
 * are the engine's, so the priming sweep only settles the derived columns.
 */
async function seed(db: Kysely<DB>, lenderId: string, templateDevice: string): Promise<void> {
  const chunk = 100_000;
  const prime = sql`${PRIME_AT}::timestamptz`;
  for (let from = 1; from <= N; from += chunk) {
    const to = Math.min(N, from + chunk - 1);
    const g = sql`generate_series(${from}::int, ${to}::int) g`;
    await sql`
      INSERT INTO devices (id, imei1, serial, model, factory_secret_enc, sale_status, lender_id, enrolled_at, policy_version_held, created_at)
      SELECT 'dev_bench' || lpad(g::text, 9, '0'), 'BI' || g, 'BS' || g, 'Bench', '\\x00'::bytea, 'financed', ${lenderId}, ${prime}, 1, ${prime}
      FROM ${g}`.execute(db);
    // Days from the priming day to the oldest unpaid due date (negative: overdue since then).
    const offset = sql`(CASE WHEN g % 100 < 88 THEN 5 + (g % 27) WHEN g % 100 < 95 THEN 1 + (g % 4) WHEN g % 100 < 99 THEN -(g % 40) ELSE -30 END)`;
    // Retail profile: 1 grace day, the notice from DPD 1; without a displayed notice it holds there.
    const stage = sql`(CASE WHEN g % 100 < 88 THEN 'current' WHEN g % 100 < 95 OR g % 40 < 2 THEN 'reminder' WHEN g % 100 < 99 THEN 'notice' ELSE 'locked' END)`;
    await sql`
      INSERT INTO contracts (id, lender_id, device_id, borrower_ref, borrower_phone, currency, financed, terms, consent_at, consent_channel, consent_terms_version,
                             status, stage, notice_index, lock_reference, outstanding, policy_version, last_evaluated_on, created_at, updated_at)
      SELECT 'ctr_bench' || lpad(g::text, 9, '0'), ${lenderId}, 'dev_bench' || lpad(g::text, 9, '0'), 'B' || g, '+254711000000', 'KES', 600000, '{}',
             ${prime} - interval '90 days', 'app', 'v1', 'active', ${stage}, CASE WHEN ${stage} IN ('notice', 'locked') THEN 0 END, 'BLR' || g, 400000, 1, '2026-03-08',
             ${prime}, ${prime}
      FROM ${g}`.execute(db);
    await sql`
      INSERT INTO installments (contract_id, n, due_date, principal, interest, paid_principal, paid_interest)
      SELECT 'ctr_bench' || lpad(g::text, 9, '0'), n, due, 95000, 5000,
             CASE WHEN due < next_due THEN 95000 ELSE 0 END, CASE WHEN due < next_due THEN 5000 ELSE 0 END
      FROM (SELECT g, ${'2026-03-09'}::date + ${offset} AS next_due FROM ${g}) s,
           LATERAL (SELECT n, next_due + (n - 3) * 30 AS due FROM generate_series(1, 6) n) i`.execute(db);
    // Latest policy: the real one's body, with an offline deadline as old as its issue day; the
    // locked group's carried the notice, displayed (and reported) the day after.
    await sql`
      INSERT INTO policies (device_id, version, stage, body, issued_at, offline_renew_at)
      SELECT 'dev_bench' || lpad(g::text, 9, '0'), 1, ${stage},
             jsonb_set(jsonb_set(p.body, '{policy,offlineLockAt}', to_jsonb(to_char((issued + interval '14 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
                       '{policy,noticeIndex}', CASE WHEN g % 100 = 99 THEN '0'::jsonb ELSE 'null'::jsonb END),
             issued, issued + interval '7 days'
      FROM (SELECT g, CASE WHEN g % 100 = 99 THEN ${prime} - interval '21 days' ELSE ${prime} - ((g % 8) || ' days')::interval END AS issued FROM ${g}) s,
           (SELECT body FROM policies WHERE device_id = ${templateDevice} ORDER BY version DESC LIMIT 1) p`.execute(db);
    await sql`
      INSERT INTO device_events (device_id, kind, at, detail, received_at)
      SELECT 'dev_bench' || lpad(g::text, 9, '0'), 'notice_shown', ${prime} - interval '20 days', '{"index": 0}', ${prime} - interval '20 days'
      FROM ${g} WHERE g % 100 = 99`.execute(db);
  }
  await vacuum(db);
}

async function vacuum(db: Kysely<DB>): Promise<void> {
  await sql`VACUUM ANALYZE`.execute(db);
}

function startProbe(url: string, key: string) {
  const latencies: number[] = [];
  let errors = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    const t = performance.now();
    inFlight = fetch(url, { headers: { authorization: `Bearer ${key}` } })
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.status !== 200) errors++;
        latencies.push(performance.now() - t);
      })
      .catch(() => void errors++);
  }, 50);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      const s = [...latencies].sort((a, b) => a - b);
      const r = (x: number) => Number(x.toFixed(1));
      return { requests: s.length, p50Ms: r(percentile(s, 50)), p99Ms: r(percentile(s, 99)), maxMs: r(s.at(-1) ?? NaN), errors };
    },
  };
}

async function admin(statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

function imeiOf(n: number): string {
  const body = `35${String(800000000000 + n).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

/**
 * The backends can be run separately (`--only`, e.g. at the same time on a big machine); each run
 * is kept in the temp directory and the results file combines the latest run of each backend at
 * the same size (`--combine` only combines).
 */
function saved(backend: string): Run | null {
  const file = join(tmpdir(), `lien-bench-sweep-${backend}-${N}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Run;
  try {
    const prior = JSON.parse(readFileSync(join(resultsDir, 'sweep.json'), 'utf8')) as { contracts: number; runs: Run[] };
    return (prior.contracts === N && prior.runs.find((r) => r.backend === backend)) || null;
  } catch {
    return null;
  }
}

const runs: Run[] = [];
for (const backend of ['pglite', 'postgres'] as const) {
  if (!process.argv.includes('--combine') && (ONLY === undefined || ONLY === backend)) {
    const r = await run(backend);
    writeFileSync(join(tmpdir(), `lien-bench-sweep-${backend}-${N}.json`), JSON.stringify(r));
    runs.push(r);
  } else {
    const r = saved(backend);
    if (r) runs.push(r);
  }
}
printTable(
  runs.flatMap((r) => [
    { backend: r.backend, run: `bare UPDATE of ${r.contracts} rows`, seconds: Number(r.bareUpdateSec.toFixed(2)), ratio: 1, slowPath: '', probeP50Ms: '', probeP99Ms: '' },
    { backend: r.backend, run: `sweep of ${r.contracts} contracts`, seconds: Number(r.sweepSec.toFixed(2)), ratio: r.ratio, slowPath: r.sweep.evaluated - r.sweep.quiet, probeP50Ms: r.probe.p50Ms, probeP99Ms: r.probe.p99Ms },
  ]),
);
const file = writeResult('sweep', {
  target: 'sweep seconds <= 3x the bare UPDATE of the same rows',
  contracts: N,
  batchSize: BATCH,
  runs,
  ratio: Object.fromEntries(runs.map((r) => [r.backend, r.ratio])),
  pass: runs.every((r) => r.ratio <= 3),
  machine: machine(),
});
console.log(`written ${file}`);
