/**
 * Two `lien serve` processes on one PostgreSQL database and schema, as behind a load balancer:
 * a nudge crosses processes through LISTEN/NOTIFY, and a sweep killed with SIGKILL mid-way is
 * finished by the other process with nothing lost and nothing done twice.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { HttpNetwork } from '../../src/agent/http-network.ts';
import { MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { testImei } from './in-process.ts';
import { startServer, type ServerProcess } from './server-process.ts';

const PG_URL = process.env.LIEN_TEST_DATABASE_URL;
if (!PG_URL) {
  console.warn('two-process.test.ts skipped: set LIEN_TEST_DATABASE_URL to a PostgreSQL database to run it (CI does on its second pass).');
}

/** How many contracts the killed sweep is spread over. */
const SEEDED = Number(process.env.LIEN_TWO_PROCESS_CONTRACTS ?? 2500);
const BATCH = 25;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return performance.now() - start;
}

/** Counts check-ins, to show the unlock came from a nudge-triggered sync and not from the test. */
class CountingNetwork extends HttpNetwork {
  checkins = 0;
  override checkin(...a: Parameters<HttpNetwork['checkin']>) {
    this.checkins++;
    return super.checkin(...a);
  }
}

describe.skipIf(!PG_URL)('two server processes on one PostgreSQL database', () => {
  const schema = `two_${randomBytes(5).toString('hex')}`;
  const shared = { masterKey: randomBytes(32).toString('hex'), operatorKey: `op_${randomBytes(16).toString('hex')}`, schema };
  const clock = new ManualClock('2026-01-01T06:00:00Z');
  let A: ServerProcess;
  let B: ServerProcess;
  let db: pg.Client;
  const q = (table: string) => `"${schema}".${table}`;

  async function setTime(iso: string) {
    clock.set(iso);
    for (const s of [A, B]) {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) continue;
      const r = await s.api('POST', '/v1/operator/clock', { set: iso });
      expect(r.status).toBe(200);
    }
  }

  async function lender(name: string) {
    const r = await A.api('POST', '/v1/operator/lenders', {
      name,
      supportPhone: '+254700000111',
      howToPay: 'M-Pesa paybill 123456',
      currency: 'KES',
      timeZone: 'Africa/Nairobi',
      profile: 'retail-short-cycle',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { id: r.body.id as string, key: r.body.apiKey as string };
  }

  async function device(n: number) {
    const d = { imei: testImei(n + Math.floor(Math.random() * 1e8)), serial: `SN-2P-${n}-${randomBytes(3).toString('hex')}`, secret: randomBytes(32) };
    const csv = `imei1,imei2,serial,model,factory_secret,sale_status\n${d.imei},,${d.serial},Model A,${d.secret.toString('hex')},unsold`;
    const r = await A.api('POST', '/v1/operator/manifests', csv, A.operatorKey, 'text/csv');
    expect(r.body).toMatchObject({ inserted: 1 });
    return d;
  }

  async function sell(key: string, d: { imei: string }, firstDueDate: string) {
    const r = await A.api('POST', '/v1/sales', {
      imei: d.imei,
      borrowerRef: `B-${d.imei}`,
      borrowerPhone: '+254711000222',
      schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate },
      consent: { at: clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
    }, key);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { contractId: string; deviceId: string };
  }

  beforeAll(async () => {
    const env = { LIEN_SWEEP_BATCH_SIZE: String(BATCH) };
    // One after the other: the first start migrates the shared schema.
    A = await startServer({ clockStart: clock.now().toISOString(), ...shared, env });
    B = await startServer({ clockStart: clock.now().toISOString(), ...shared, env });
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await A?.stop();
    await B?.stop();
    if (PG_URL) {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }, 60_000);

  it('a phone streaming from process B unlocks within seconds of a payment posted to process A', async () => {
    const l = await lender('Jamii Finance');
    const d = await device(1);
    const { contractId } = await sell(l.key, d, '2026-01-15');

    const persistent = new MemoryStore();
    await provisionDevice(persistent, { factorySecret: d.secret, imeis: [d.imei], serial: d.serial });
    const network = new CountingNetwork({ baseUrl: B.url });
    const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock, network, screen: new MemoryScreen() });
    await agent.boot();
    expect(await agent.sync()).toMatchObject({ status: 'synced', enrolled: true });
    await until('nudge stream open on B', () => agent.streamOpen());

    // Every change below is made on A; the phone only ever talks to B.
    await setTime('2026-01-17T07:00:00Z');
    await A.api('POST', '/v1/operator/sweep');
    await until('notice on screen (nudged through B)', () => agent.view().mode === 'notice');
    await agent.sync(); // reports notice_shown to B: the cure period starts
    await until('notice recorded', async () => (await db.query(`SELECT 1 FROM ${q('device_events')} WHERE kind = 'notice_shown'`)).rowCount! > 0);
    await setTime('2026-01-22T07:00:00Z');
    await A.api('POST', '/v1/operator/sweep');
    await until('lock on screen (nudged through B)', () => agent.view().mode === 'locked');

    const before = network.checkins;
    const pay = await A.api('POST', '/v1/payments', { contractId, externalRef: 'MPESA-2P-1', channel: 'mpesa', amount: 10_000_00, currency: 'KES' }, l.key);
    expect(pay.status).toBe(201);
    const took = await until('unlocked by the nudge A sent through PostgreSQL to B', () => agent.view().mode === 'normal', 10_000);
    // The clock did not move, so no routine check-in was due: the sync was the nudge's.
    expect(network.checkins).toBeGreaterThan(before);
    expect(took).toBeLessThan(10_000);
    agent.stop();
  }, 120_000);

  it('a sweep killed with SIGKILL mid-way is finished by the other process: none lost, none locked twice', async () => {
    const l = await lender('Mass Finance');
    const d = await device(2);
    const template = await sell(l.key, d, '2026-02-15');
    // The template contract reaches the notice stage through the API; its notice is reported shown.
    await setTime('2026-02-17T07:00:00Z');
    await A.api('POST', '/v1/operator/sweep');
    const c0 = (await db.query(`SELECT stage, policy_version FROM ${q('contracts')} WHERE id = $1`, [template.contractId])).rows[0];
    expect(c0).toMatchObject({ stage: 'notice' });
    await db.query(`INSERT INTO ${q('device_events')} (device_id, kind, at, received_at, detail) VALUES ($1, 'notice_shown', $2, $2, '{"index":0}')`, [template.deviceId, '2026-02-17T08:00:00Z']);

    // Clone it thousands of times in SQL (the API would take minutes): devices, contracts with
    // their schedules, the policies the devices were sent, and the notice each device reported.
    const seedStart = performance.now();
    await db.query('BEGIN');
    const id = (prefix: string) => `'${prefix}_seed_' || lpad(g::text, 6, '0')`;
    await db.query(
      `INSERT INTO ${q('devices')} SELECT (jsonb_populate_record(d, jsonb_build_object('id', ${id('dev')}, 'imei1', '99' || lpad(g::text, 13, '0'), 'serial', 'SN-SEED-' || g))).*
       FROM ${q('devices')} d, generate_series(1, $2::int) g WHERE d.id = $1`,
      [template.deviceId, SEEDED],
    );
    await db.query(
      `INSERT INTO ${q('contracts')} SELECT (jsonb_populate_record(c, jsonb_build_object('id', ${id('ctr')}, 'device_id', ${id('dev')}, 'lock_reference', 'S' || lpad(g::text, 7, '0'), 'borrower_ref', 'SEED-' || g))).*
       FROM ${q('contracts')} c, generate_series(1, $2::int) g WHERE c.id = $1`,
      [template.contractId, SEEDED],
    );
    await db.query(
      `INSERT INTO ${q('installments')} SELECT (jsonb_populate_record(i, jsonb_build_object('contract_id', ${id('ctr')}))).*
       FROM ${q('installments')} i, generate_series(1, $2::int) g WHERE i.contract_id = $1`,
      [template.contractId, SEEDED],
    );
    await db.query(
      `INSERT INTO ${q('policies')} SELECT (jsonb_populate_record(p, jsonb_build_object('device_id', ${id('dev')}, 'body', jsonb_set(p.body, '{policy,deviceId}', to_jsonb(${id('dev')}))))).*
       FROM ${q('policies')} p, generate_series(1, $2::int) g WHERE p.device_id = $1`,
      [template.deviceId, SEEDED],
    );
    await db.query(
      `INSERT INTO ${q('device_events')} (device_id, kind, at, received_at, detail)
       SELECT ${id('dev')}, e.kind, e.at, e.received_at, e.detail FROM ${q('device_events')} e, generate_series(1, $2::int) g
       WHERE e.device_id = $1 AND e.kind = 'notice_shown'`,
      [template.deviceId, SEEDED],
    );
    await db.query('COMMIT');
    const seedMs = Math.round(performance.now() - seedStart);
    const total = SEEDED + 1;

    // 22 Feb: DPD 6 and the 48 h notice period long over: every one of them locks today.
    await setTime('2026-02-22T07:00:00Z');
    const evaluatedToday = async () =>
      Number((await db.query(`SELECT count(*) AS n FROM ${q('contracts')} WHERE lender_id = $1 AND last_evaluated_on = '2026-02-22'`, [l.id])).rows[0].n);
    const killedSweep = A.api('POST', '/v1/operator/sweep').catch((e: unknown) => e);
    await until('a few sweep batches committed on A', async () => (await evaluatedToday()) >= 4 * BATCH, 60_000);
    A.proc.kill('SIGKILL');
    await new Promise((r) => A.proc.once('exit', r));
    expect(await killedSweep).toBeInstanceOf(Error); // the request died with the process
    const atKill = await evaluatedToday();
    expect(atKill, 'the kill must land mid-sweep for this test to mean anything').toBeLessThan(total);
    // What A committed is whole batches: each evaluated contract is locked, with its policy and audit row.
    const partial = (await db.query(`SELECT count(*) FILTER (WHERE stage <> 'locked') AS bad FROM ${q('contracts')} WHERE lender_id = $1 AND last_evaluated_on = '2026-02-22'`, [l.id])).rows[0];
    expect(Number(partial.bad)).toBe(0);

    // PostgreSQL aborts the dead process's open transaction when it sees the socket close; until
    // then SKIP LOCKED would (rightly) pass over the rows it held, leaving them to the next sweep.
    await until('the killed process holds no locks', async () =>
      Number((await db.query(`SELECT count(*) AS n FROM pg_locks WHERE relation = $1::regclass AND pid <> pg_backend_pid()`, [`"${schema}".contracts`])).rows[0].n) === 0,
    );
    const t0 = performance.now();
    const rest = await B.api('POST', '/v1/operator/sweep');
    const sweepMs = Math.round(performance.now() - t0);
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);

    // None lost: every contract evaluated for the day and locked.
    expect(await evaluatedToday()).toBe(total);
    const stages = (await db.query(`SELECT stage, count(*)::int AS n FROM ${q('contracts')} WHERE lender_id = $1 GROUP BY stage`, [l.id])).rows;
    expect(stages).toEqual([{ stage: 'locked', n: total }]);

    // None locked twice: one device.locked audit row per contract, one locked policy per device.
    const locks = (await db.query(
      `SELECT count(*)::int AS rows, count(DISTINCT data->>'contractId')::int AS contracts, max(n)::int AS most FROM (
         SELECT data, count(*) OVER (PARTITION BY data->>'contractId') AS n FROM ${q('audit_log')} WHERE action = 'device.locked' AND lender_id = $1) x`,
      [l.id],
    )).rows[0];
    expect(locks).toEqual({ rows: total, contracts: total, most: 1 });
    const policies = (await db.query(
      `SELECT count(*)::int AS locked_policies, count(DISTINCT p.device_id)::int AS devices,
              count(*) FILTER (WHERE (p.body->'policy'->>'version')::int <> p.version)::int AS mislabelled,
              count(*) FILTER (WHERE c.policy_version <> p.version)::int AS not_latest
       FROM ${q('policies')} p JOIN ${q('contracts')} c ON c.device_id = p.device_id
       WHERE c.lender_id = $1 AND p.stage = 'locked'`,
      [l.id],
    )).rows[0];
    expect(policies).toEqual({ locked_policies: total, devices: total, mislabelled: 0, not_latest: 0 });
    const versions = (await db.query(
      `SELECT count(*)::int AS n FROM ${q('contracts')} c WHERE c.lender_id = $1
         AND c.policy_version <> (SELECT max(version) FROM ${q('policies')} p WHERE p.device_id = c.device_id)`,
      [l.id],
    )).rows[0];
    expect(versions.n).toBe(0);

    // The audit chain survived the crash.
    const verify = await B.api('GET', '/v1/audit/verify', undefined, l.key);
    expect(verify.status).toBe(200);
    expect(verify.body.ok, JSON.stringify(verify.body)).toBe(true);
    console.log(`two-process sweep: seeded ${SEEDED} in ${seedMs} ms; A committed ${atKill} before SIGKILL; B finished the rest in ${sweepMs} ms (${JSON.stringify(rest.body)})`);
  }, 300_000);
});
