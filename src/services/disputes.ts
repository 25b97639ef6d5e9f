import { LienError } from '../domain/errors.ts';
import { newId } from '../store/ids.ts';
import { actorName, type Actor, type Services } from './context.ts';
import { evaluateContractTx } from './evaluate.ts';
import { contractForActor } from './payments.ts';
import { commit } from './unit-of-work.ts';

/** An open dispute pauses escalation and lifts any lock at once (guardrail 2). */
export async function openDispute(s: Services, actor: Actor, contractId: string, reason: string) {
  return commit(s, actor, async (tx, fx) => {
    const c = await contractForActor(tx, actor, contractId);
    const id = newId('dsp');
    await tx.insertInto('disputes').values({ id, contract_id: c.id, opened_at: fx.now, opened_by: actorName(actor), reason }).execute();
    await fx.audit({ action: 'dispute.opened', subjectType: 'contract', subjectId: c.id, lenderId: c.lender_id, reason });
    const ev = await evaluateContractTx(s, tx, fx, c.id, 'dispute opened');
    return { disputeId: id, stage: ev.decision.stage };
  });
}

export async function resolveDispute(s: Services, actor: Actor, disputeId: string, reason: string) {
  return commit(s, actor, async (tx, fx) => {
    const d = await tx
      .selectFrom('disputes')
      .innerJoin('contracts', 'contracts.id', 'disputes.contract_id')
      .select(['disputes.contract_id', 'contracts.lender_id'])
      .where('disputes.id', '=', disputeId)
      .executeTakeFirst();
    // Another lender's dispute is "not found" as a dispute: its contract id is never echoed.
    if (!d || (actor.lenderId !== null && d.lender_id !== actor.lenderId)) throw new LienError('not_found', `No dispute ${disputeId}`);
    const c = await contractForActor(tx, actor, d.contract_id);
    // Read again under the contract's lock: a concurrent resolution has finished by now.
    const { resolved_at } = await tx.selectFrom('disputes').select('resolved_at').where('id', '=', disputeId).executeTakeFirstOrThrow();
    if (resolved_at) throw new LienError('conflict', 'This dispute is already resolved.');
    await tx.updateTable('disputes').set({ resolved_at: fx.now, resolved_by: actorName(actor) }).where('id', '=', disputeId).execute();
    await fx.audit({ action: 'dispute.resolved', subjectType: 'contract', subjectId: c.id, lenderId: c.lender_id, reason });
    const ev = await evaluateContractTx(s, tx, fx, c.id, 'dispute resolved');
    return { disputeId, stage: ev.decision.stage };
  });
}
