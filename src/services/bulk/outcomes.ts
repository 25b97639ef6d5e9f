import type { Selectable } from 'kysely';
import type { DB } from '../../store/schema.ts';
import type { Services } from '../context.ts';
import type { Effects, Executor } from '../unit-of-work.ts';
import { decide } from '../../domain/evaluation.ts';
import { applyOutcome, evaluatedColumns, loadFacts, signedPolicyRows, type Evaluation, type Outcome } from '../evaluate.ts';
import { updateMany } from './sql.ts';

type ContractRow = Selectable<DB['contracts']>;
type LenderRow = Selectable<DB['lenders']>;

export const EVALUATED_COLUMNS = {
  status: 'text',
  stage: 'text',
  stage_reason: 'text',
  lock_at: 'timestamptz',
  notice_index: 'int4',
  oldest_unpaid_due_date: 'date',
  amount_overdue: 'int8',
  outstanding: 'int8',
  next_evaluation_at: 'timestamptz',
  last_evaluated_on: 'date',
  policy_version: 'int4',
  updated_at: 'timestamptz',
};

/**
 * An outcome that announces itself — a stage change or a settled contract: audit entry,
 * webhook, SMS, device release — must go through evaluate.ts's applyOutcome. Every other
 * ("quiet") outcome only rewrites contract columns and, when it changed, issues a policy: that
 * part is set-based.
 */
export function isQuiet(o: Outcome): boolean {
  const f = o.facts;
  const c = f.contract;
  // applyOutcome leaves the offline lock out of a policy when consent is missing, a dispute or
  // claim is open or a manual action stands; those rare contracts take its path rather than a
  // copy of that rule here.
  const plainOffline = c.consent_at !== null && !f.openDispute && !f.openClaim && c.manual_action === null;
  return plainOffline && o.decision.stage === c.stage && o.status === c.status;
}

export function quietEvaluation(o: Outcome): Evaluation {
  const c = o.facts.contract;
  return {
    contractId: c.id,
    deviceId: c.device_id,
    decision: o.decision,
    previousStage: c.stage,
    policyChanged: o.changed,
    policyVersion: o.changed ? c.policy_version + 1 : c.policy_version,
  };
}

/**
 * Evaluates many (already locked) contracts with the stage engine and writes the results: loud
 * outcomes one by one through applyOutcome, quiet ones as one UPDATE and one INSERT of policies
 * per chunk.
 */
export async function evaluateMany(
  s: Services,
  tx: Executor,
  fx: Effects,
  contracts: ContractRow[],
  why: (c: ContractRow) => string,
  lenders?: Map<string, LenderRow>,
): Promise<Evaluation[]> {
  const now = fx.now;
  const facts = await loadFacts(tx, contracts, now, lenders);
  const evaluations: Evaluation[] = [];
  const updates: Record<string, unknown>[] = [];
  const changed: Outcome[] = [];
  for (const f of facts) {
    const o = decide(f, now);
    if (!isQuiet(o)) {
      evaluations.push(await applyOutcome(s, tx, fx, o, why(f.contract)));
      continue;
    }
    updates.push({ id: f.contract.id, ...evaluatedColumns(o, now) });
    if (o.changed) changed.push(o);
    evaluations.push(quietEvaluation(o));
  }
  const policies = signedPolicyRows(s, changed, now);
  await updateMany(tx, 'contracts', ['id'], { id: 'text', ...EVALUATED_COLUMNS }, updates);
  await fx.issuePolicies(await policies);
  return evaluations;
}
