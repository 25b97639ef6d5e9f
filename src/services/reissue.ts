import type { Actor, Services } from './context.ts';
import { decide } from '../domain/evaluation.ts';
import { applyOutcome, loadFacts } from './evaluate.ts';
import { commit } from './unit-of-work.ts';

/**
 * Issues a fresh policy to every active contract of a lender. The stage engine only re-issues when
 * the decision changes, but the lock screen also carries the lender's name, support number, hours
 * and payment instructions: after those change, every phone must get them at its next sync, or a
 * locked borrower would be told to call a number that no longer answers. Batched by id so PGlite
 * keeps serving between batches; each batch is one unit of work.
 */
export async function reissuePolicies(s: Services, actor: Actor, lenderId: string, why: string, batchSize = 500): Promise<number> {
  let after = '';
  let issued = 0;
  for (;;) {
    const done = await commit(s, actor, async (tx, fx) => {
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
      for (const f of await loadFacts(tx, batch, fx.now)) await applyOutcome(s, tx, fx, { ...decide(f, fx.now), changed: true }, why);
      return { count: batch.length, last: batch[batch.length - 1]!.id };
    });
    if (done === null) return issued;
    // Moved on only after the batch committed: a unit that is retried reads its batch again.
    after = done.last;
    issued += done.count;
    await new Promise((r) => setImmediate(r));
  }
}
