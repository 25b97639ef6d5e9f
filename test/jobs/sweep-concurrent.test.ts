import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../src/jobs/sweep.ts';
import { TestPlatform } from '../e2e/in-process.ts';
import { seedVariedContracts } from './sweep-fixtures.ts';

/** Two workers sweeping one lender at once share the work: SKIP LOCKED batches, one claim row. */
describe('sweep: several workers', () => {
  const p = new TestPlatform('2026-03-10T09:00:00Z');
  const db = () => p.lien.services.db;

  beforeAll(async () => {
    await p.start();
    await seedVariedContracts(db(), p.lenderId, 200, '2026-03-10', p.clock.now(), 4242);
  }, 120_000);
  afterAll(() => p.stop());

  it('evaluates every contract once between them', async () => {
    const before = await db().selectFrom('contracts').select(['id', 'policy_version']).execute();
    const [a, b] = await Promise.all([sweep(p.lien.services, { batchSize: 10, worker: 'a' }), sweep(p.lien.services, { batchSize: 10, worker: 'b' })]);
    expect(a.evaluated + b.evaluated).toBe(before.length);
    const after = await db().selectFrom('contracts').select(['id', 'policy_version', 'last_evaluated_on']).execute();
    expect(after.every((c) => c.last_evaluated_on === '2026-03-10')).toBe(true);
    const v = new Map(before.map((c) => [c.id, c.policy_version]));
    expect(after.filter((c) => c.policy_version - v.get(c.id)! > 1)).toEqual([]);
    const runs = await db().selectFrom('sweep_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.finished_at).not.toBeNull();
  }, 120_000);
});
