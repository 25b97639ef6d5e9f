import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../src/jobs/sweep.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { seedVariedContracts } from './sweep-fixtures.ts';

/** A sweep that dies mid-batch leaves nothing half done and the next run finishes the day once. */
describe('sweep: crash and resume', () => {
  const p = new TestPlatform('2026-03-10T09:00:00Z');
  const db = () => p.lien.services.db;

  beforeAll(async () => {
    await p.start();
    await seedVariedContracts(db(), p.lenderId, 160, '2026-03-10', p.clock.now(), 77);
    // The 25th policy written in this database fails: a crash inside a batch, after its quiet
    // UPDATE and some evaluations already ran in the same transaction.
    await sql`CREATE SEQUENCE crash_seq`.execute(db());
    await sql.raw(`CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF nextval('crash_seq') = 25 THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$`).execute(db());
    await sql`CREATE TRIGGER crash_once BEFORE INSERT ON policies FOR EACH ROW EXECUTE FUNCTION crash_once()`.execute(db());
  }, 120_000);
  afterAll(() => p.stop());

  it('rolls the failed batch back, resumes, and evaluates every contract exactly once for the day', async () => {
    const before = await snapshot();
    const batches: number[] = [];
    await expect(sweep(p.lien.services, { batchSize: 20, onBatch: (s) => batches.push(s.evaluated) })).rejects.toThrow(/simulated crash/);
    expect(batches.length).toBeGreaterThan(0);
    const mid = await snapshot();
    const done = mid.contracts.filter((c) => c.last_evaluated_on === '2026-03-10');
    // Exactly the committed batches are marked; the failed one left no trace.
    expect(done.length).toBe(batches.at(-1));
    expect(mid.audits).toBe(before.audits + (await auditsFor(done.map((c) => c.id))));
    const run = await db().selectFrom('sweep_runs').selectAll().executeTakeFirstOrThrow();
    expect(run.finished_at).toBeNull();

    const resumed = await sweep(p.lien.services, { batchSize: 20 });
    expect(resumed.evaluated).toBe(before.contracts.length - done.length);
    const after = await snapshot();
    expect(after.contracts.every((c) => c.last_evaluated_on === '2026-03-10')).toBe(true);
    // No contract changed stage twice, and no device got two policies in one day.
    const { rows: twice } = await sql<{ subject_id: string }>`
      SELECT subject_id FROM audit_log WHERE action LIKE 'device.%' OR action = 'contract.stage_changed' GROUP BY subject_id HAVING count(*) > 1`.execute(db());
    expect(twice).toEqual([]);
    const versionBefore = new Map(before.contracts.map((c) => [c.id, c.policy_version]));
    expect(after.contracts.filter((c) => c.policy_version - versionBefore.get(c.id)! > 1)).toEqual([]);
    expect((await db().selectFrom('sweep_runs').select('finished_at').executeTakeFirstOrThrow()).finished_at).not.toBeNull();

    // The same business day again: the daily pass is finished, nothing is due by time.
    const third = await sweep(p.lien.services, { batchSize: 20 });
    expect(third.evaluated).toBe(0);
  }, 120_000);

  async function snapshot() {
    const contracts = await db().selectFrom('contracts').select(['id', 'last_evaluated_on', 'stage', 'policy_version']).where('lender_id', '=', p.lenderId).execute();
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(db());
    return { contracts, audits: rows[0]!.n };
  }

  async function auditsFor(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log WHERE data->>'contractId' IN (${sql.join(ids)})`.execute(db());
    return rows[0]!.n;
  }
});
