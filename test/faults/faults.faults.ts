/**
 * Issue #12: Lien on PostgreSQL under faults (`npm run test:faults`; CI runs it). Real `lien serve`
 * processes; each fault is provoked for real: database connections terminated under write load
 * (H1), fifty payments at once to one contract (H2), kill -9 between the phases of a payments
 * import (M6), an enrollment replayed to a second process (M5). docs/reliability.md lists the
 * results and how to reproduce them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveDeviceKeys, enrollProof } from '../../src/protocol/index.ts';
import { testImei } from '../e2e/in-process.ts';
import { startServer, type ServerProcess } from '../e2e/server-process.ts';

const PG_URL = process.env.LIEN_TEST_DATABASE_URL;
if (!PG_URL) throw new Error('npm run test:faults needs PostgreSQL: set LIEN_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/lien_faults)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's connection string, tagged so that only its own backends are terminated. */
function taggedUrl(tag: string): string {
  const u = new URL(PG_URL!);
  u.searchParams.set('application_name', tag);
  return u.toString();
}

interface Device {
  imei: string;
  serial: string;
  secret: Buffer;
}

/** Registers `n` phones, sells each with a 3 × 10,000.00 KES schedule, returns contract ids. */
async function seedContracts(s: ServerProcess, lenderKey: string, n: number): Promise<{ contractIds: string[]; devices: Device[] }> {
  const devices = Array.from({ length: n }, (_, i) => ({ imei: testImei(Math.floor(Math.random() * 1e9) + i), serial: `FLT-${i}-${randomBytes(3).toString('hex')}`, secret: randomBytes(32) }));
  const manifest = ['imei1,imei2,serial,model,factory_secret,sale_status', ...devices.map((d) => `${d.imei},,${d.serial},F1,${d.secret.toString('hex')},unsold`)].join('\n');
  expect((await s.api('POST', '/v1/operator/manifests', manifest, s.operatorKey, 'text/csv')).status).toBe(200);
  const header = 'imei,borrower_ref,borrower_phone,principal,annual_rate_pct,term_count,frequency,method,first_due_date,consent_at,consent_channel,terms_version';
  const csv = [header, ...devices.map((d) => `${d.imei},${d.serial},+254711000222,30000.00,0,3,monthly,flat,2026-01-15,2026-01-01T06:00:00Z,in_store_signature,v1`)].join('\n');
  const report = await runImportJob(s, lenderKey, 'sales', csv);
  expect(report.state, JSON.stringify(report)).toBe('succeeded');
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await s.api('GET', `/v1/contracts?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, lenderKey);
    ids.push(...page.body.items.map((c) => c.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  return { contractIds: ids, devices };
}

async function runImportJob(s: ServerProcess, key: string, kind: 'sales' | 'payments', csv: string, watch?: (r: any) => boolean): Promise<any> {
  const started = await s.api('POST', `/v1/imports/${kind}`, csv, key, 'text/csv');
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  for (let i = 0; i < 6000; i++) {
    const r = await s.api('GET', `/v1/imports/${started.body.id}`, undefined, key);
    if (watch?.(r.body)) return r.body;
    if (r.body.state !== 'running') return r.body;
    await sleep(20);
  }
  throw new Error('import did not finish');
}

async function newLender(s: ServerProcess): Promise<string> {
  const r = await s.api('POST', '/v1/operator/lenders', { name: 'Fault Finance', supportPhone: '+254700000111', howToPay: 'M-Pesa 123456', currency: 'KES', timeZone: 'Africa/Nairobi', profile: 'retail-short-cycle' });
  expect(r.status).toBe(201);
  return r.body.apiKey;
}

type Outcome = 'first_try' | 'after_retry' | 'failed';

/**
 * Posts one payment as a careful client does: one Idempotency-Key for all its tries; a 503 (or
 * a 409 for a key still in flight) is retried after the time the server gives. Every answer is
 * recorded.
 */
async function pay(s: ServerProcess, key: string, body: Record<string, unknown>, statuses: number[]): Promise<Outcome> {
  const idem = `idem-${randomBytes(8).toString('hex')}`;
  for (let attempt = 1; attempt <= 40; attempt++) {
    let status: number;
    let json: any = null;
    try {
      const r = await fetch(`${s.url}/v1/payments`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idem }, body: JSON.stringify(body) });
      status = r.status;
      json = await r.json().catch(() => null);
      const wait = Number(r.headers.get('retry-after') ?? 1);
      statuses.push(status);
      if (process.env.LIEN_FAULTS_DEBUG) console.log(`pay ${String(body.externalRef)} attempt ${attempt}: ${status} ${status === 201 ? '' : JSON.stringify(json)}`);
      if (status === 201) return attempt === 1 ? 'first_try' : 'after_retry';
      // A retry after a commit whose answer was lost finds the payment already there.
      if (status === 409 && json?.code === 'duplicate_payment_reference' && attempt > 1) return 'after_retry';
      if (status === 503 || (status === 409 && json?.details?.retryAfterSec !== undefined)) {
        expect(json?.details?.retryable ?? true).toBe(true);
        await sleep(Math.min(wait, 3) * 1000 * (status === 503 ? 0.1 : 1));
        continue;
      }
      return 'failed';
    } catch {
      statuses.push(-1); // the connection to the server itself failed: a crash
      return 'failed';
    }
  }
  return 'failed';
}

async function storedSum(admin: pg.Client, schema: string, contractIds: string[]): Promise<{ sum: number; count: number; refs: number }> {
  const r = await admin.query(`SELECT coalesce(sum(amount), 0)::bigint AS sum, count(*)::int AS count, count(DISTINCT external_ref)::int AS refs FROM "${schema}".payments WHERE contract_id = ANY($1)`, [contractIds]);
  return { sum: Number(r.rows[0].sum), count: r.rows[0].count, refs: r.rows[0].refs };
}

describe('faults on PostgreSQL', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });
  afterAll(() => admin.end());

  it('H1: database connections terminated under write load: no crash, every payment 201 or a retryable 503 then 201, sums match', async () => {
    const tag = `lien_faults_${randomBytes(4).toString('hex')}`;
    const schema = `flt_${randomBytes(5).toString('hex')}`;
    // On the real clock: a claim whose release was lost with its connection expires as in production.
    const s = await startServer({ clockStart: '2026-01-02T06:00:00Z', schema, env: { DATABASE_URL: taggedUrl(tag), LIEN_DATABASE_SCHEMA: schema, LIEN_TEST_CLOCK: '0' } });
    try {
      const key = await newLender(s);
      const { contractIds } = await seedContracts(s, key, 6);
      const CLIENTS = 3;
      const PER_CLIENT = Number(process.env.LIEN_FAULTS_PAYMENTS ?? 60);
      const statuses: number[] = [];
      const accepted: { amount: number; contractId: string }[] = [];
      const outcomes: Outcome[] = [];
      let writing = true;
      let terminated = 0;
      const killer = (async () => {
        while (writing) {
          await sleep(400);
          const r = await admin.query('SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [tag]);
          terminated += r.rows.filter((x) => x.t).length;
        }
      })();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          for (let i = 0; i < PER_CLIENT; i++) {
            const contractId = contractIds[(c * PER_CLIENT + i) % contractIds.length]!;
            const amount = 100 + c * 7 + i;
            const outcome = await pay(s, key, { contractId, externalRef: `H1-${c}-${i}`, channel: 'mpesa', amount, currency: 'KES' }, statuses);
            outcomes.push(outcome);
            if (outcome !== 'failed') accepted.push({ amount, contractId });
          }
        }),
      );
      writing = false;
      await killer;
      const summary = {
        terminated,
        first_try: outcomes.filter((o) => o === 'first_try').length,
        after_retry: outcomes.filter((o) => o === 'after_retry').length,
        failed: outcomes.filter((o) => o === 'failed').length,
        status503: statuses.filter((x) => x === 503).length,
        status500: statuses.filter((x) => x === 500).length,
      };
      console.log(`H1 result: ${JSON.stringify(summary)}`);
      if (process.env.LIEN_FAULTS_DEBUG) console.log(s.output());
      expect(s.proc.exitCode, s.output()).toBeNull();
      expect(s.output()).not.toMatch(/Unhandled 'error' event|Connection terminated unexpectedly\s+at/);
      expect(terminated).toBeGreaterThan(5);
      expect(summary.failed).toBe(0);
      expect(summary.status500).toBe(0);
      expect(statuses.every((x) => x === 201 || x === 503 || x === 409)).toBe(true);
      const stored = await storedSum(admin, schema, contractIds);
      expect(stored.count).toBe(CLIENTS * PER_CLIENT);
      expect(stored.refs).toBe(stored.count);
      expect(stored.sum).toBe(accepted.reduce((a, p) => a + p.amount, 0));
      // Later requests succeed, on a pool and a LISTEN connection that came back by themselves.
      expect((await s.api('GET', '/healthz')).status).toBe(200);
      let listening = 0;
      for (let i = 0; i < 100 && listening === 0; i++) {
        listening = (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`, [tag])).rows[0].n;
        if (!listening) await sleep(100);
      }
      expect(listening, 'the nudge listener reconnected').toBe(1);
      expect(await pay(s, key, { contractId: contractIds[0], externalRef: 'H1-after', channel: 'mpesa', amount: 1, currency: 'KES' }, [])).toBe('first_try');
    } finally {
      await s.stop();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }, 300_000);

  it('H2: 50 concurrent payments to one contract: none fails, the stored sum is the accepted sum', async () => {
    const schema = `flt_${randomBytes(5).toString('hex')}`;
    const s = await startServer({ clockStart: '2026-01-02T06:00:00Z', schema });
    try {
      const key = await newLender(s);
      const { contractIds } = await seedContracts(s, key, 1);
      const statuses: number[] = [];
      const amounts = Array.from({ length: 50 }, (_, i) => 1000 + i);
      const outcomes = await Promise.all(amounts.map((amount, i) => pay(s, key, { contractId: contractIds[0], externalRef: `H2-${i}`, channel: 'mpesa', amount, currency: 'KES' }, statuses)));
      console.log(`H2 result: ${JSON.stringify({ first_try: outcomes.filter((o) => o === 'first_try').length, status500: statuses.filter((x) => x === 500).length, other: statuses.filter((x) => x !== 201).length })}`);
      expect(statuses.filter((x) => x === 500)).toHaveLength(0);
      expect(outcomes.every((o) => o === 'first_try')).toBe(true);
      const stored = await storedSum(admin, schema, contractIds);
      expect(stored).toMatchObject({ count: 50, sum: amounts.reduce((a, b) => a + b, 0) });
      // And the allocation saw every one of them.
      const alloc = await admin.query(`SELECT sum(paid_principal + paid_interest + paid_fee + paid_penalty)::bigint AS paid FROM "${schema}".installments WHERE contract_id = $1`, [contractIds[0]]);
      expect(Number(alloc.rows[0].paid)).toBe(stored.sum);
    } finally {
      await s.stop();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }, 300_000);

  it('M6: kill -9 between the phases of a payments import: a restart repairs every balance', async () => {
    const schema = `flt_${randomBytes(5).toString('hex')}`;
    const shared = { masterKey: randomBytes(32).toString('hex'), operatorKey: `op_${randomBytes(16).toString('hex')}`, schema };
    const N = Number(process.env.LIEN_FAULTS_IMPORT_CONTRACTS ?? 3000);
    let s = await startServer({ clockStart: '2026-01-02T06:00:00Z', ...shared });
    try {
      const key = await newLender(s);
      const { contractIds } = await seedContracts(s, key, N);
      const csv = ['contract_id,external_ref,channel,amount,currency,received_at', ...contractIds.map((id, i) => `${id},M6-${i},mpesa,${(1000 + (i % 97)).toFixed(2)},KES,2026-01-02T05:00:00Z`)].join('\n');
      let seen: any = null;
      const report = await runImportJob(s, key, 'payments', csv, (r) => r.state === 'running' && r.phase === 'evaluating' && (seen = r));
      expect(report.phase, 'the import must be caught between its phases').toBe('evaluating');
      await s.stop('SIGKILL');
      const q = (sql: string) => admin.query(sql.replaceAll('$S', `"${schema}"`));
      const stale = async () =>
        Number(
          (
            await q(`SELECT count(*)::int AS n FROM $S.contracts c WHERE c.outstanding <> (SELECT sum(principal + interest + fee + penalty - paid_principal - paid_interest - paid_fee - paid_penalty) FROM $S.installments i WHERE i.contract_id = c.id)`)
          ).rows[0].n,
        );
      const payments = Number((await q('SELECT count(*)::int AS n FROM $S.payments')).rows[0].n);
      // Work on record: contracts whose evaluation is due at the server's (manual) clock.
      const pending = Number((await q(`SELECT count(*)::int AS n FROM $S.contracts WHERE status = 'active' AND next_evaluation_at <= '2026-01-02T06:00:00Z'`)).rows[0].n);
      const staleBefore = await stale();
      console.log(`M6 killed at: ${JSON.stringify({ phase: seen?.phase, processed: seen?.processed, total: seen?.total, payments, staleBefore, pending })}`);
      expect(payments).toBe(N);
      // Restarted with its background jobs on: the start-up sweep finishes the work on record.
      s = await startServer({ clockStart: '2026-01-02T06:00:00Z', ...shared, env: { LIEN_SWEEP_INTERVAL: '60' } });
      const deadline = Date.now() + 120_000;
      while ((await stale()) > 0 && Date.now() < deadline) await sleep(250);
      expect(await stale()).toBe(0);
      // The job's process is gone: its heartbeat stops, and once that is stale (the server's
      // clock is a test clock here, so it is moved on) the job reads as interrupted.
      expect((await s.api('POST', '/v1/operator/clock', { set: '2026-01-02T06:05:00Z' })).status).toBe(200);
      const job = await s.api('GET', `/v1/imports/${seen.id}`, undefined, key);
      expect(job.body).toMatchObject({ state: 'interrupted', written: N });
      expect(job.body.message).toMatch(/re-evaluated by the sweep/);
    } finally {
      await s.stop('SIGKILL');
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }, 600_000);

  it('M5: an enrollment replayed to a second process is refused (the nonce is consumed in the database)', async () => {
    const schema = `flt_${randomBytes(5).toString('hex')}`;
    const shared = { masterKey: randomBytes(32).toString('hex'), operatorKey: `op_${randomBytes(16).toString('hex')}`, schema };
    const A = await startServer({ clockStart: '2026-01-02T06:00:00Z', ...shared });
    const B = await startServer({ clockStart: '2026-01-02T06:00:00Z', ...shared });
    try {
      const key = await newLender(A);
      const { devices } = await seedContracts(A, key, 1);
      const d = devices[0]!;
      const nonce = (await (await fetch(`${A.url}/v1/device/nonce`)).json()).nonce as string;
      const body = JSON.stringify({ imeis: [d.imei], serial: d.serial, nonce, proof: enrollProof(deriveDeviceKeys(d.secret).authKey, nonce, d.imei, d.serial), agentVersion: 'faults/1' });
      const post = (to: ServerProcess) => fetch(`${to.url}/v1/device/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect((await post(A)).status).toBe(200);
      const replay = await post(B);
      expect(replay.status).not.toBe(200);
    } finally {
      await A.stop();
      await B.stop();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }, 300_000);
});
