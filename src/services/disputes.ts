import { LienError } from '../domain/errors.ts';
import { newId } from '../store/ids.ts';
import { audit } from './audit.ts';
import type { Actor, Services } from './context.ts';
import { evaluateContractTx } from './evaluate.ts';
import { contractForActor } from './payments.ts';

/** An open dispute pauses escalation and lifts any lock at once (guardrail 2). */
export async function openDispute(s: Services, actor: Actor, contractId: string, reason: string) {
  const now = s.clock.now();
  const out = await s.db.transaction().execute(async (tx) => {
    const c = await contractForActor(tx, actor, contractId);
    const id = newId('dsp');
    await tx.insertInto('disputes').values({ id, contract_id: c.id, opened_at: now, opened_by: `${actor.kind}:${actor.id}`, reason }).execute();
    await audit(tx, actor, now, { action: 'dispute.opened', subjectType: 'contract', subjectId: c.id, lenderId: c.lender_id, reason });
    const ev = await evaluateContractTx(s, tx, c.id, actor, 'dispute opened');
    return { id, ev };
  });
  if (out.ev.policyChanged) await s.nudges.nudge(out.ev.deviceId);
  return { disputeId: out.id, stage: out.ev.decision.stage };
}

export async function resolveDispute(s: Services, actor: Actor, disputeId: string, reason: string) {
  const now = s.clock.now();
  const out = await s.db.transaction().execute(async (tx) => {
    const d = await tx
      .selectFrom('disputes')
      .innerJoin('contracts', 'contracts.id', 'disputes.contract_id')
      .select(['disputes.contract_id', 'disputes.resolved_at', 'contracts.lender_id'])
      .where('disputes.id', '=', disputeId)
      .executeTakeFirst();
    // Another lender's dispute is "not found" as a dispute: its contract id is never echoed.
    if (!d || (actor.lenderId !== null && d.lender_id !== actor.lenderId)) throw new LienError('not_found', `No dispute ${disputeId}`);
    const c = await contractForActor(tx, actor, d.contract_id);
    if (d.resolved_at) throw new LienError('conflict', 'This dispute is already resolved.');
    await tx.updateTable('disputes').set({ resolved_at: now, resolved_by: `${actor.kind}:${actor.id}` }).where('id', '=', disputeId).execute();
    await audit(tx, actor, now, { action: 'dispute.resolved', subjectType: 'contract', subjectId: c.id, lenderId: c.lender_id, reason });
    return evaluateContractTx(s, tx, c.id, actor, 'dispute resolved');
  });
  if (out.policyChanged) await s.nudges.nudge(out.deviceId);
  return { disputeId, stage: out.decision.stage };
}
