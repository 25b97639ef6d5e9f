import type { Kysely } from 'kysely';
import { addDays } from '../../src/domain/dates.ts';
import { newId } from '../../src/store/ids.ts';
import type { DB } from '../../src/store/schema.ts';

/** Deterministic PRNG (mulberry32) so a failing population can be reproduced from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let serial = 0;

/**
 * Contracts in every state the stage engine distinguishes — stored decisions that agree or
 * disagree with the schedule, manual actions, disputes, claims, missing consent, due and future
 * time triggers, schedules paid, unpaid, due today, inside and outside reminder windows, empty —
 * written as raw rows so stored columns can also be stale.
 */
export async function seedVariedContracts(db: Kysely<DB>, lenderId: string, count: number, businessDate: string, now: Date, seed: number): Promise<string[]> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const ids: string[] = [];
  for (let k = 0; k < count; k++) {
    serial++;
    const deviceId = newId('dev');
    const id = newId('ctr');
    ids.push(id);
    const tag = `${seed}-${serial}`;
    // Most real contracts: current, schedule in the future, stored decision in agreement. Some
    // of these still fall inside a reminder window or carry a due time trigger.
    const plain = chance(0.6);
    const policyVersion = !plain && chance(0.1) ? 0 : 1 + Math.floor(r() * 3);
    await db
      .insertInto('devices')
      .values({ id: deviceId, imei1: `EQ${tag}`, serial: `EQ-${tag}`, model: 'Eq', factory_secret_enc: Buffer.alloc(32, 1), sale_status: 'financed', lender_id: lenderId, created_at: now })
      .execute();
    const hour = 3_600_000;
    await db
      .insertInto('contracts')
      .values({
        id,
        lender_id: lenderId,
        device_id: deviceId,
        borrower_ref: `B-${tag}`,
        borrower_phone: '+254712345678',
        currency: 'KES',
        financed: 300_000,
        terms: JSON.stringify({}),
        consent_at: chance(0.9) ? new Date(now.getTime() - 90 * 24 * hour) : null,
        status: 'active',
        stage: plain ? 'current' : pick(['current', 'current', 'current', 'current', 'current', 'reminder', 'notice', 'restricted', 'locked']),
        lock_reference: `EQ-LR-${tag}`,
        lock_at: !plain && chance(0.1) ? new Date(now.getTime() + 24 * hour) : null,
        notice_index: !plain && chance(0.15) ? 0 : null,
        amount_overdue: !plain && chance(0.15) ? 50_000 : 0,
        outstanding: 100_000,
        next_evaluation_at: pick([null, null, null, new Date(now.getTime() - hour), new Date(now.getTime() + 2 * hour), new Date(now.getTime() + 5 * 24 * hour)]),
        last_evaluated_on: chance(0.5) ? addDays(businessDate, -1) : null,
        manual_action: !plain && chance(0.12)
          ? JSON.stringify(pick([{ action: 'pause', until: new Date(now.getTime() + 72 * hour).toISOString() }, { action: 'unlock' }, { action: 'lock' }, { action: 'pause', until: new Date(now.getTime() - hour).toISOString() }]))
          : null,
        policy_version: policyVersion,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const day = 24 * hour;
    // The device's latest policy: whether its offline lock is armed.
    const offline = pick(plain ? [10 * day, 12 * day, 3 * day, null] : [10 * day, 3 * day, -day, null]);
    if (policyVersion > 0) await db
      .insertInto('policies')
      .values({ device_id: deviceId, version: policyVersion, stage: 'current', body: JSON.stringify({ policy: { offlineLockAt: offline === null ? null : new Date(now.getTime() + offline).toISOString() } }), issued_at: now })
      .execute();
    const n = !plain && chance(0.05) ? 0 : 1 + Math.floor(r() * 4);
    for (let i = 1; i <= n; i++) {
      const due = addDays(businessDate, pick(plain ? [3, 6, 8, 9, 20, 40] : [-30, -10, -3, -2, -1, 0, 1, 2, 3, 4, 5, 8, 20, 40]));
      const paid = pick(plain ? ['none', 'part'] : ['full', 'none', 'none', 'part']);
      await db
        .insertInto('installments')
        .values({ contract_id: id, n: i, due_date: due, principal: 100_000, interest: 5_000, paid_principal: paid === 'full' ? 100_000 : paid === 'part' ? 40_000 : 0, paid_interest: paid === 'full' ? 5_000 : 0 })
        .execute();
    }
    if (chance(0.06)) {
      await db.insertInto('disputes').values({ id: newId('dsp'), contract_id: id, opened_at: new Date(now.getTime() - 48 * hour), opened_by: 'test', reason: 'test', resolved_at: chance(0.5) ? new Date(now.getTime() - hour) : null }).execute();
    }
    if (chance(0.06)) {
      await db
        .insertInto('claims')
        .values({ id: newId('clm'), contract_id: id, device_id: deviceId, lender_id: lenderId, transaction_ref: `TX-${tag}`, amount: 1000, currency: 'KES', paid_on: businessDate, channel: 'mpesa', created_at: now })
        .execute();
    }
  }
  return ids;
}
