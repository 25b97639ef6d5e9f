import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyOfflineRenewal } from '../../src/store/migrations/0004_policy_offline_renewal.ts';
import { TestPlatform } from './in-process.ts';

/**
 * A phone in good standing that keeps checking in never reaches its offline deadline: the
 * check-in past the renewal point (half the profile's offline days before the deadline) answers
 * with a renewed policy. The daily sweep leaves the deadline alone: only a check-in delivers a
 * policy, so renewing it there would only sign policies for phones that are not listening.
 */
describe('offline deadline renewal', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  beforeAll(() => p.start(), 60_000);
  afterAll(() => p.stop());

  it('is renewed by the check-in after the renewal point, not by the sweep or before it', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!, {
      schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-20' },
    });
    // The first installment is paid early: nothing about the contract changes until its next due date.
    const pay = await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: 'EARLY-1', channel: 'mpesa', amount: 10_000_00, currency: 'KES' });
    expect(pay.status).toBe(201);
    const phone = await p.agent(d!);
    await phone.agent.sync();
    const first = await latest(sale.deviceId);
    // Retail profile: 14 offline days counted from the oldest unpaid due date (20 Jan) in the
    // lender's zone (Nairobi, UTC+3: local midnight of 3 Feb), renewed 7 days before.
    expect(first.offlineLockAt).toBe('2026-02-02T21:00:00.000Z');
    expect(first.renewAt?.toISOString()).toBe('2026-01-26T21:00:00.000Z');

    p.clock.set('2026-01-26T20:00:00Z');
    await p.operator('POST', '/v1/operator/sweep');
    await phone.agent.sync();
    expect((await latest(sale.deviceId)).version).toBe(first.version);

    p.clock.set('2026-01-27T06:00:00Z');
    await p.operator('POST', '/v1/operator/sweep');
    expect((await latest(sale.deviceId)).version).toBe(first.version);

    await phone.agent.sync();
    const renewed = await latest(sale.deviceId);
    expect(renewed.version).toBe(first.version + 1);
    // Now counted from the next unpaid due date, 20 Feb.
    expect(renewed.offlineLockAt).toBe('2026-03-05T21:00:00.000Z');
    expect(phone.agent.view().mode).toBe('normal');

    // The renewed policy reached the phone in that answer: it no longer locks on 3 Feb offline.
    p.clock.set('2026-02-04T06:00:00Z');
    expect(phone.agent.policy()?.offlineLockAt).toBe('2026-03-05T21:00:00.000Z');
    expect((await phone.agent.tick()).mode).toBe('normal');
  }, 60_000);

  it('the migration that adds the renewal instant computes it for existing policies as the server does', async () => {
    const db = p.lien.services.db;
    const issued = await db.selectFrom('policies').select(['device_id', 'version', 'offline_renew_at']).orderBy('device_id').orderBy('version').execute();
    expect(issued.filter((r) => r.offline_renew_at !== null).length).toBeGreaterThan(0);
    await sql`ALTER TABLE policies DROP COLUMN offline_renew_at`.execute(db);
    await policyOfflineRenewal.up(db as never);
    expect(await db.selectFrom('policies').select(['device_id', 'version', 'offline_renew_at']).orderBy('device_id').orderBy('version').execute()).toEqual(issued);
  });

  async function latest(deviceId: string) {
    const row = await p.lien.services.db
      .selectFrom('policies')
      .select(['version', 'offline_renew_at', 'body'])
      .where('device_id', '=', deviceId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const body = row.body as { policy: { offlineLockAt: string | null } };
    return { version: row.version, renewAt: row.offline_renew_at, offlineLockAt: body.policy.offlineLockAt };
  }
});
