import { sql, type Kysely, type Transaction } from 'kysely';
import { isLocking } from '../domain/stage.ts';
import type { DB } from '../store/schema.ts';
import type { Evaluation } from './evaluate.ts';

/**
 * Marks the policies that lift a lock because of a payment with the payment's time, in the
 * payment's transaction. When the phone first reports holding one, the check-in bookkeeping
 * stamps it and the operator's payment-to-unlock histogram hears the difference
 * (CheckinBookkeeper.unlockReported). Only unlocks are marked, so this is one small UPDATE on
 * the rare payment that clears arrears, and nothing on every other one.
 */
export async function markPaymentUnlocks(tx: Kysely<DB> | Transaction<DB>, evaluations: readonly Evaluation[], paidAt: Date): Promise<void> {
  const unlocks = evaluations.filter((e) => e.policyChanged && isLocking(e.previousStage) && !isLocking(e.decision.stage));
  if (unlocks.length === 0) return;
  await sql`
    UPDATE policies p SET unlock_payment_at = ${paidAt}
    FROM unnest(${unlocks.map((e) => e.deviceId)}::text[], ${unlocks.map((e) => e.policyVersion)}::int[]) AS v(device_id, version)
    WHERE p.device_id = v.device_id AND p.version = v.version`.execute(tx);
}
