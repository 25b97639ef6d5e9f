/**
 * Issue #12 M4 (a claim lifts a lock only when it covers the overdue amount, once per window;
 * a rejection re-locks at once and tells the borrower why) and L10 (each unlock cause has its
 * own SMS, in every language; never "we received 0.00").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceAgent } from '../../src/agent/agent.ts';
import { decideStage, type StageInput } from '../../src/domain/stage.ts';
import { RETAIL_SHORT_CYCLE } from '../../src/domain/profiles/index.ts';
import { t, type Lang } from '../../src/i18n/index.ts';
import { submitClaim } from '../../src/services/claims.ts';
import { rejectClaim } from '../../src/services/claim-review.ts';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { postClaim, resetRateLimits } from '../portal/helpers.ts';

/** Walks every phone given to a lock together, as TestPlatform.driveToLock does for one. */
async function lockAll(p: TestPlatform, agents: DeviceAgent[]): Promise<void> {
  for (const a of agents) await a.sync();
  p.clock.set('2026-01-17T07:00:00Z');
  await p.operator('POST', '/v1/operator/sweep');
  for (const a of agents) await a.sync();
  for (const a of agents) await a.sync();
  await p.lien.gateway.idle();
  p.clock.set('2026-01-22T07:00:00Z');
  await p.operator('POST', '/v1/operator/sweep');
  for (const a of agents) await a.sync();
}

describe('issue #12 M4: the stage engine, a claim that may not lift', () => {
  const base = (over: Partial<StageInput>): StageInput => ({
    now: '2026-01-22T07:00:00Z',
    contractStatus: 'active',
    consentRecorded: true,
    daysPastDue: 6,
    overdueSince: '2026-01-16',
    nextDueDate: '2026-02-15',
    businessDate: '2026-01-22',
    openDispute: false,
    openClaim: true,
    openClaimLiftsLock: false,
    noticesShown: [{ index: 0, shownAt: '2026-01-17T07:00:00Z' }],
    paymentFeedStale: false,
    currentStage: 'locked',
    profile: RETAIL_SHORT_CYCLE,
    timeZone: 'Africa/Nairobi',
    ...over,
  });

  it('M4: keeps a lock in place, takes no new one and schedules none; a lifting claim still lifts', () => {
    expect(decideStage(base({}))).toMatchObject({ stage: 'locked', reason: 'kept_open_claim', lockAt: null });
    expect(decideStage(base({ currentStage: 'notice' }))).toMatchObject({ stage: 'notice', held: 'claim', reason: 'held_open_claim', lockAt: null });
    expect(decideStage(base({ currentStage: 'notice', daysPastDue: 3, overdueSince: '2026-01-19', noticesShown: [] }))).toMatchObject({ lockAt: null });
    expect(decideStage(base({ openClaimLiftsLock: true }))).toMatchObject({ stage: 'notice', held: 'claim' });
  });
});

describe('issue #12 M4 and L10 on a running server', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  const langs: Lang[] = ['en', 'sw', 'hi', 'id', 'es'];
  let devices: TestDevice[];
  let sales: { contractId: string; deviceId: string; lockReference: string }[];
  const db = () => p.lien.services.db;
  const stage = async (contractId: string) => (await db().selectFrom('contracts').select(['stage', 'stage_reason', 'amount_overdue']).where('id', '=', contractId).executeTakeFirstOrThrow());
  const notes = (contractId: string) => db().selectFrom('notifications').select(['kind', 'language', 'body']).where('contract_id', '=', contractId).orderBy('created_at').orderBy('id').execute();

  beforeAll(async () => {
    await p.start();
    devices = await p.register(6);
    sales = [];
    for (let i = 0; i < devices.length; i++) sales.push(await p.sell(devices[i]!, { borrowerLanguage: langs[i % langs.length] }));
    const agents = [];
    for (const d of devices) agents.push((await p.agent(d)).agent);
    await lockAll(p, agents);
    for (const sale of sales) expect((await stage(sale.contractId)).stage).toBe('locked');
  }, 120_000);
  afterAll(() => p.stop());

  it('M4: a KES 1 claim from the portal holds escalation but leaves the lock on', async () => {
    const sale = sales[0]!;
    await resetRateLimits(p);
    const r = await postClaim(p, { reference: sale.lockReference, transactionRef: 'QK-ONE-SHILLING', amount: '1', paidOn: '2026-01-21', channel: 'mobile_money' });
    expect(r.status).toBe(201);
    expect(await stage(sale.contractId)).toMatchObject({ stage: 'locked', stage_reason: 'kept_open_claim' });
    const queue = await p.api('GET', '/v1/claims?status=open');
    expect(queue.body.items.find((c: { transactionRef: string }) => c.transactionRef === 'QK-ONE-SHILLING')).toMatchObject({ liftedLock: false });
  });

  it('M4: a claim covering the overdue amount lifts the lock once per window; the queue shows it; a rejection re-locks at once and tells the borrower why', async () => {
    const sale = sales[1]!;
    const overdue = Number((await stage(sale.contractId)).amount_overdue);
    const claim = (ref: string) => submitClaim(p.lien.services, { lockReference: sale.lockReference, transactionRef: ref, amount: String(overdue / 100), paidOn: '2026-01-21', channel: 'mobile_money' });
    const first = await claim('QK-COVERS-1');
    expect(first).toMatchObject({ liftsLock: true, stage: 'notice' });
    const queue = await p.api('GET', '/v1/claims?status=open');
    expect(queue.body.items.find((c: { id: string }) => c.id === first.claimId)).toMatchObject({ liftedLock: true });

    await rejectClaim(p.lien.services, { kind: 'user', id: 'usr_support', lenderId: p.lenderId }, first.claimId, 'No such transaction reached our paybill.');
    expect((await stage(sale.contractId)).stage).toBe('locked');
    const last = (await notes(sale.contractId)).at(-1)!;
    expect(last.kind).toBe('claim_rejected_locked');
    expect(last.body).toContain('No such transaction reached our paybill.');
    expect(last.body).toContain(first.claimNumber);
    expect((await notes(sale.contractId)).filter((n) => n.kind === 'lock')).toHaveLength(1); // the first lock's, not a second SMS

    // Within the window a second covering claim holds, but does not lift.
    const second = await claim('QK-COVERS-2');
    expect(second).toMatchObject({ liftsLock: false, stage: 'locked' });
    await rejectClaim(p.lien.services, { kind: 'user', id: 'usr_support', lenderId: p.lenderId }, second.claimId, 'Not found either.');

    // After the window (7 days on the retail profile) a covering claim may lift it again.
    p.clock.set('2026-01-29T08:00:00Z');
    const later = await claim('QK-COVERS-3');
    expect(later.liftsLock).toBe(true);
  });

  describe('L10: each unlock cause has its own SMS, in the borrower’s language', () => {
    const actor = { kind: 'api_key' as const, id: 'key_test', lenderId: '' };
    const lastUnlock = async (contractId: string) => (await notes(contractId)).filter((n) => n.kind.startsWith('unlock')).at(-1)!;
    const noZero = (body: string) => expect(body).not.toMatch(/\b0[.,]00\b/);

    it('L10: payment, claim, dispute, manual unlock and unlock code each send their own message; none says "we received 0.00"', async () => {
      actor.lenderId = p.lenderId;
      const [, , pay, claimSale, dispute, manual] = sales;
      const lock = (i: number) => langs[i % langs.length]!;

      const overdue = Number((await stage(pay!.contractId)).amount_overdue);
      await p.api('POST', '/v1/payments', { contractId: pay!.contractId, externalRef: 'L10-PAY', channel: 'mpesa', amount: overdue, currency: 'KES' });
      const paid = await lastUnlock(pay!.contractId);
      expect(paid.kind).toBe('unlock');
      expect(paid.language).toBe(lock(2));
      noZero(paid.body);

      const claimOverdue = Number((await stage(claimSale!.contractId)).amount_overdue);
      await submitClaim(p.lien.services, { lockReference: claimSale!.lockReference, transactionRef: 'L10-CLAIM', amount: String(claimOverdue / 100), paidOn: '2026-01-21', channel: 'bank' });
      expect(await lastUnlock(claimSale!.contractId)).toMatchObject({ kind: 'unlock_claim', language: lock(3) });

      expect((await p.api('POST', `/v1/contracts/${dispute!.contractId}/disputes`, { reason: 'borrower says the phone was returned' })).status).toBe(201);
      expect(await lastUnlock(dispute!.contractId)).toMatchObject({ kind: 'unlock_dispute', language: lock(4) });

      expect((await p.api('POST', `/v1/contracts/${manual!.contractId}/actions`, { action: 'unlock', reason: 'hospital stay, agreed by phone' })).status).toBe(200);
      expect(await lastUnlock(manual!.contractId)).toMatchObject({ kind: 'unlock_manual', language: lock(5) });

      // The last one: released with a DISABLE_PAYG code while still owing (written off).
      const coded = sales[0]!;
      expect((await p.api('POST', `/v1/devices/${coded.deviceId}/codes`, { type: 'DISABLE_PAYG', reason: 'settled out of court' })).status).toBe(201);
      expect(await lastUnlock(coded.contractId)).toMatchObject({ kind: 'unlock_code', language: lock(0) });

      const bodies = new Set<string>();
      for (const s of [pay, claimSale, dispute, manual, coded]) {
        const n = await lastUnlock(s!.contractId);
        noZero(n.body);
        bodies.add(n.kind);
      }
      expect(bodies.size).toBe(5);
    });

    it('L10: every language has a distinct text for every cause', () => {
      const keys = ['notify.unlock', 'notify.unlockClaim', 'notify.unlockDispute', 'notify.unlockManual', 'notify.unlockCode', 'notify.unlockOther'] as const;
      for (const lang of langs) {
        const texts = keys.map((k) => t(lang, k, { lender: 'Jamii', amount: 'KES 10,000.00', reference: 'ABCD2345' }));
        expect(new Set(texts).size, lang).toBe(keys.length);
        for (const text of texts) expect(text, lang).not.toMatch(/\{\w+\}/);
      }
    });
  });
});
