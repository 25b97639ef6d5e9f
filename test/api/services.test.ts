import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveClaim, listClaims, rejectClaim } from '../../src/services/claim-review.ts';
import { applyManualAction, manualOutcome } from '../../src/services/manual-actions.ts';
import { evaluateContract } from '../../src/services/evaluate.ts';
import type { Actor } from '../../src/services/context.ts';
import { newId } from '../../src/store/ids.ts';
import { TestPlatform } from '../e2e/in-process.ts';

/** Claim review and manual actions, as use cases on the whole server (ManualClock). */
describe('claim review and manual actions', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z');
  let actor: Actor;
  let otherActor: Actor;

  beforeAll(async () => {
    await p.start();
    const key = await p.lien.services.db.selectFrom('api_keys').select('id').where('lender_id', '=', p.lenderId).executeTakeFirstOrThrow();
    actor = { kind: 'api_key', id: key.id, lenderId: p.lenderId };
    const other = await p.operator('POST', '/v1/operator/lenders', {
      name: 'Other Credit', supportPhone: '+254700000999', howToPay: 'cash', currency: 'KES', timeZone: 'Africa/Nairobi',
    });
    otherActor = { kind: 'api_key', id: 'key_other', lenderId: other.body.id };
  });
  afterAll(() => p.stop());

  const db = () => p.lien.services.db;

  async function openClaim(contractId: string, deviceId: string, ref = `TX-${newId('tx').slice(-10)}`, amount = 10_000_00) {
    const id = newId('clm');
    await db()
      .insertInto('claims')
      // As submitClaim records a claim that covers the overdue amount (10,000.00 here): it lifts the lock.
      .values({ id, contract_id: contractId, device_id: deviceId, lender_id: p.lenderId, transaction_ref: ref, amount, currency: 'KES', paid_on: '2026-01-20', channel: 'mpesa', created_at: p.clock.now(), lifts_lock: amount >= 10_000_00 })
      .execute();
    await evaluateContract(p.lien.services, contractId, actor, 'claim submitted');
    return id;
  }

  /** Sells a phone, shows the notice, lets it run out: restricted on 20 Jan. */
  async function restrictedPhone() {
    p.clock.set('2026-01-01T06:00:00Z');
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const { agent } = await p.agent(d!);
    await agent.sync();
    // Evaluated directly rather than by the sweep: each test restarts the clock on 1 Jan, and
    // the sweep runs once per business date.
    p.clock.set('2026-01-17T07:00:00Z');
    await evaluateContract(p.lien.services, sale.contractId, actor, 'test');
    await agent.sync();
    await agent.sync();
    await p.lien.gateway.bookkeeping.flush();
    p.clock.set('2026-01-20T07:00:00Z');
    await evaluateContract(p.lien.services, sale.contractId, actor, 'test');
    const c = await db().selectFrom('contracts').select(['stage']).where('id', '=', sale.contractId).executeTakeFirstOrThrow();
    expect(c.stage).toBe('restricted');
    return { ...sale, agent };
  }

  it('an open claim holds the lock; approving it posts the payment and unlocks', async () => {
    const phone = await restrictedPhone();
    const claimId = await openClaim(phone.contractId, phone.deviceId);
    const held = await db().selectFrom('contracts').select(['stage', 'stage_reason']).where('id', '=', phone.contractId).executeTakeFirstOrThrow();
    expect(held).toEqual({ stage: 'notice', stage_reason: 'held_open_claim' });

    await expect(approveClaim(p.lien.services, otherActor, claimId)).rejects.toMatchObject({ code: 'not_found' });
    const res = await approveClaim(p.lien.services, actor, claimId);
    expect(res.claimId).toBe(claimId);
    expect(res.stage).not.toMatch(/restricted|locked|notice/);
    const pay = await db().selectFrom('payments').selectAll().where('id', '=', res.paymentId).executeTakeFirstOrThrow();
    expect(pay).toMatchObject({ amount: 10_000_00, channel: 'mpesa', contract_id: phone.contractId });
    const claim = await db().selectFrom('claims').selectAll().where('id', '=', claimId).executeTakeFirstOrThrow();
    expect(claim.status).toBe('approved');
    expect(claim.decided_by).toBe(`api_key:${actor.id}`);
    expect(claim.decided_at?.toISOString()).toBe(p.clock.now().toISOString());
    const audits = await db().selectFrom('audit_log').select('action').where('subject_id', '=', claimId).execute();
    expect(audits.map((a) => a.action)).toEqual(['claim.approved']);
    const notes = await db().selectFrom('notifications').select('kind').where('contract_id', '=', phone.contractId).execute();
    expect(notes.map((n) => n.kind)).toContain('claim_approved');

    await expect(approveClaim(p.lien.services, actor, claimId)).rejects.toMatchObject({ code: 'conflict' });
    await expect(rejectClaim(p.lien.services, actor, claimId, 'too late')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('a claim whose transaction was already posted is a clear error, and can be rejected instead', async () => {
    const phone = await restrictedPhone();
    const post = await p.api('POST', '/v1/payments', { contractId: phone.contractId, externalRef: 'DUP-1', channel: 'mpesa', amount: 100, currency: 'KES' });
    expect(post.status).toBe(201);
    const claimId = await openClaim(phone.contractId, phone.deviceId, 'DUP-1', 100);
    await expect(approveClaim(p.lien.services, actor, claimId)).rejects.toMatchObject({ code: 'duplicate_payment_reference', message: expect.stringMatching(/already posted/) });
    const count = await db().selectFrom('payments').select((eb) => eb.fn.countAll<number>().as('n')).where('external_ref', '=', 'DUP-1').executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);

    await expect(rejectClaim(p.lien.services, actor, claimId, 'x')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(rejectClaim(p.lien.services, otherActor, claimId, 'not yours')).rejects.toMatchObject({ code: 'not_found' });
    await rejectClaim(p.lien.services, actor, claimId, 'We already received this payment.');
    const claim = await db().selectFrom('claims').selectAll().where('id', '=', claimId).executeTakeFirstOrThrow();
    expect(claim).toMatchObject({ status: 'rejected', message: 'We already received this payment.' });
    // The hold is gone: the contract escalates again at once.
    const c = await db().selectFrom('contracts').select('stage').where('id', '=', phone.contractId).executeTakeFirstOrThrow();
    expect(c.stage).toBe('restricted');
    const notes = await db().selectFrom('notifications').select(['kind', 'body']).where('contract_id', '=', phone.contractId).where('kind', '=', 'claim_rejected').execute();
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toContain('We already received this payment.');
  });

  it('lists claims per lender and status, page by page', async () => {
    const all = await listClaims(db(), p.lenderId, { limit: 1 });
    expect(all.items).toHaveLength(1);
    expect(all.nextCursor).not.toBeNull();
    const next = await listClaims(db(), p.lenderId, { limit: 1, cursor: all.nextCursor! });
    expect(next.items[0]!.id).not.toBe(all.items[0]!.id);
    const approved = await listClaims(db(), p.lenderId, { status: 'approved' });
    expect(approved.items.every((c) => c.status === 'approved')).toBe(true);
    expect((await listClaims(db(), otherActor.lenderId!, {})).items).toEqual([]);
  });

  it('a manual lock turns a restriction into a lock, audited with who and why; clear undoes it', async () => {
    const phone = await restrictedPhone();
    await expect(applyManualAction(p.lien.services, actor, phone.contractId, { action: 'lock', reason: 'x' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(applyManualAction(p.lien.services, otherActor, phone.contractId, { action: 'lock', reason: 'skipping payments' })).rejects.toMatchObject({ code: 'not_found' });
    const ev = await applyManualAction(p.lien.services, actor, phone.contractId, { action: 'lock', reason: 'borrower unreachable' });
    expect(ev.decision.stage).toBe('locked');
    expect(ev.policyChanged).toBe(true);
    expect(manualOutcome('lock', ev).applied).toBe(true);
    const entry = await db().selectFrom('audit_log').selectAll().where('subject_id', '=', phone.contractId).where('action', '=', 'contract.manual_lock').executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ actor: `api_key:${actor.id}`, reason: 'borrower unreachable' });
    expect(entry.at.toISOString()).toBe(p.clock.now().toISOString());

    const cleared = await applyManualAction(p.lien.services, actor, phone.contractId, { action: 'clear', reason: 'back to the profile' });
    expect(cleared.decision.stage).toBe('restricted');
  });

  it('a manual lock the guardrails hold back says so; pause and release work', async () => {
    const phone = await restrictedPhone();
    await p.api('POST', `/v1/contracts/${phone.contractId}/disputes`, { reason: 'borrower disputes the fee' });
    const ev = await applyManualAction(p.lien.services, actor, phone.contractId, { action: 'lock', reason: 'borrower unreachable' });
    expect(ev.decision.stage).toBe('notice');
    const out = manualOutcome('lock', ev);
    expect(out).toMatchObject({ applied: false, heldBy: 'dispute' });
    expect(out.message).toMatch(/dispute is open/);

    await expect(applyManualAction(p.lien.services, actor, phone.contractId, { action: 'pause', reason: 'called us', until: new Date('2026-01-01T00:00:00Z') })).rejects.toMatchObject({ code: 'invalid_input' });
    const paused = await applyManualAction(p.lien.services, actor, phone.contractId, { action: 'pause', reason: 'promised to pay', until: new Date('2026-01-25T00:00:00Z') });
    expect(paused.decision.reason).toBe('manual_pause');

    const released = await applyManualAction(p.lien.services, actor, phone.contractId, { action: 'release', reason: 'goodwill settlement' });
    expect(released.decision.stage).toBe('written_off');
    const c = await db().selectFrom('contracts').select(['status', 'manual_action']).where('id', '=', phone.contractId).executeTakeFirstOrThrow();
    expect(c).toEqual({ status: 'written_off', manual_action: null });
    await expect(applyManualAction(p.lien.services, actor, phone.contractId, { action: 'lock', reason: 'again please' })).rejects.toMatchObject({ code: 'conflict' });
  });
});
