/**
 * A lender's hand on the stage engine: lock, unlock or pause a contract by hand, release it for
 * good, or clear an earlier action. The action is stored on the contract and fed to the engine,
 * so every guardrail still applies: a manual lock on a device with an open dispute stays a
 * notice, and the caller is told why.
 */
import { LienError } from '../domain/errors.ts';
import type { ManualAction, StageReason } from '../domain/stage.ts';
import type { Actor, Services } from './context.ts';
import { evaluateContractTx, type Evaluation } from './evaluate.ts';
import { contractForActor } from './payments.ts';
import { commit } from './unit-of-work.ts';

export const MANUAL_ACTIONS = ['lock', 'unlock', 'release', 'pause', 'clear'] as const;
export type ManualActionName = (typeof MANUAL_ACTIONS)[number];

export interface ManualActionInput {
  action: ManualActionName;
  reason: string;
  until?: Date;
}

function check(s: Services, input: ManualActionInput): string {
  if (!MANUAL_ACTIONS.includes(input.action)) {
    throw new LienError('invalid_input', `action must be one of ${MANUAL_ACTIONS.join(', ')}`, { field: 'action' });
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason.length < 3 || reason.length > 500) {
    throw new LienError('invalid_input', 'A manual action needs a reason of 3 to 500 characters (it is written to the audit log).', { field: 'reason' });
  }
  if (input.until !== undefined) {
    if (input.action === 'release' || input.action === 'clear') {
      throw new LienError('invalid_input', `"until" applies to lock, unlock and pause, not ${input.action}.`, { field: 'until' });
    }
    if (!(input.until instanceof Date) || Number.isNaN(input.until.getTime())) throw new LienError('invalid_input', '"until" must be an ISO instant.', { field: 'until' });
    if (input.until.getTime() <= s.clock.now().getTime()) {
      throw new LienError('invalid_input', '"until" must be in the future.', { field: 'until', until: input.until.toISOString() });
    }
  }
  return reason;
}

export async function applyManualAction(s: Services, actor: Actor, contractId: string, input: ManualActionInput): Promise<Evaluation> {
  const reason = check(s, input);
  return commit(s, actor, async (tx, fx) => {
    // Locked as it is read, so two actions on one contract serialise.
    const c = await contractForActor(tx, actor, contractId);
    if (c.status !== 'active') {
      throw new LienError('conflict', `Contract ${c.id} is ${c.status}; manual actions apply only to active contracts.`, { contractId: c.id, status: c.status });
    }
    const previous = c.manual_action;
    if (input.action === 'release') {
      // As a DISABLE_PAYG code: enforcement ends for good; what is still owed is written off.
      const status = c.outstanding === 0 ? 'paid_off' : 'written_off';
      await tx.updateTable('contracts').set({ status, manual_action: null }).where('id', '=', c.id).execute();
    } else {
      const manual: ManualAction | null =
        input.action === 'clear' ? null : { action: input.action, ...(input.until ? { until: input.until.toISOString() } : {}) };
      await tx.updateTable('contracts').set({ manual_action: manual ? JSON.stringify(manual) : null }).where('id', '=', c.id).execute();
    }
    await fx.audit({
      action: `contract.manual_${input.action}`,
      subjectType: 'contract',
      subjectId: c.id,
      lenderId: c.lender_id,
      reason,
      data: { action: input.action, until: input.until?.toISOString() ?? null, previous, deviceId: c.device_id },
    });
    return evaluateContractTx(s, tx, fx, c.id, `manual ${input.action}: ${reason}`, { unlockCause: 'manual' });
  });
}

const HELD_BECAUSE: Partial<Record<StageReason, string>> = {
  held_open_dispute: 'a dispute is open',
  held_open_claim: 'a payment claim is open',
  held_stale_feed: 'a payment channel has not reported within its freshness window',
  no_consent: 'no consent is recorded for this contract',
  awaiting_notice_display: 'the device has not displayed the notice yet',
  awaiting_notice_period: 'the notice period has not run out',
  manual_lock_before_profile_dpd: "the contract is not yet past the compliance profile's lock threshold",
  not_past_due: 'the contract is not past due',
  in_grace: 'the contract is within its grace period',
  reminder_window: 'the contract is not past due',
  arrears_cleared: 'the contract is not past due',
  dpd_below_notice: "the contract is not yet past the compliance profile's lock threshold",
};

/**
 * Whether the device now does what the action asked, and if not, the guardrail in the way; the
 * action stays stored and takes effect when the guardrail lets go.
 */
export function manualOutcome(action: ManualActionName, ev: Evaluation): { applied: boolean; heldBy: string | null; message: string } {
  const stage = ev.decision.stage;
  if (action === 'lock' && stage !== 'locked') {
    const why = HELD_BECAUSE[ev.decision.reason] ?? `the stage engine decided ${stage} (${ev.decision.reason})`;
    return { applied: false, heldBy: ev.decision.held ?? ev.decision.reason, message: `The lock is recorded but held back: ${why}. The device stays ${stage}.` };
  }
  const done: Record<ManualActionName, string> = {
    lock: 'The device is locked.',
    unlock: 'The device is kept out of restriction and lock.',
    pause: 'Escalation is paused.',
    release: 'The device is released for good.',
    clear: `The manual action is cleared; the device is ${stage}.`,
  };
  return { applied: true, heldBy: null, message: done[action] };
}
