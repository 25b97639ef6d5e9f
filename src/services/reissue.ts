import type { Actor, Services } from './context.ts';
import { applyOutcome, decide, loadFacts } from './evaluate.ts';

/**
 * Issues a fresh policy to every active contract of a lender. The stage engine only re-issues when
 * the decision changes, but the lock screen also carries the lender's name, support number, hours
 * and payment instructions: after those change, every phone must get them at its next sync, or a
 * locked borrower would be told to call a number that no longer answers. Batched by id so PGlite
 * keeps serving between batches; each batch is one transaction.
 */
export async function reissuePolicies(s: Services, actor: Actor, lenderId: string, why: string, batchSize = 500): Promise<number> {
  let after = '';
  let issued = 0;
  for (;;) {
    const devices = await s.db.transaction().execute(async (tx) => {
      const batch = await tx
        .selectFrom('contracts')
        .selectAll()
        .where('lender_id', '=', lenderId)
        .where('status', '=', 'active')
        .where('id', '>', after)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .execute();
      if (batch.length === 0) return null;
      after = batch[batch.length - 1]!.id;
      const now = s.clock.now();
      const out: string[] = [];
      for (const f of await loadFacts(tx, batch, now)) {
        const ev = await applyOutcome(s, tx, { ...decide(f, now), changed: true }, now, actor, why);
        out.push(ev.deviceId);
      }
      return out;
    });
    if (devices === null) return issued;
    issued += devices.length;
    await s.nudges.nudge(devices);
    await new Promise((r) => setImmediate(r));
  }
}
