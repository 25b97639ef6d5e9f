import { hostname } from 'node:os';
import { businessDateIn } from '../domain/dates.ts';
import { SYSTEM, type Services } from '../services/context.ts';
import { applyOutcome, decide, loadFacts } from '../services/evaluate.ts';

export interface SweepStats {
  lenders: number;
  evaluated: number;
  changed: number;
  batches: number;
}

export interface SweepOptions {
  /** Contracts per transaction; PGlite serves requests between batches. */
  batchSize?: number;
  /** Identifies this process in sweep_runs. */
  worker?: string;
  onBatch?(stats: SweepStats): void;
}

/**
 * Evaluates every active contract once per business day of its lender. Safe with any number of
 * processes: each batch claims rows with FOR UPDATE SKIP LOCKED and marks them evaluated for the
 * day in the same transaction, so a crash loses at most the batch in flight (rolled back, picked
 * up again) and a contract is never evaluated twice for the same day. A per-lender, per-day row
 * in sweep_runs records who swept and when it finished.
 */
export async function sweep(s: Services, opts: SweepOptions = {}): Promise<SweepStats> {
  const batchSize = opts.batchSize ?? 500;
  const worker = opts.worker ?? `${hostname()}:${process.pid}`;
  const stats: SweepStats = { lenders: 0, evaluated: 0, changed: 0, batches: 0 };
  const lenders = await s.db.selectFrom('lenders').selectAll().execute();
  for (const lender of lenders) {
    const now = s.clock.now();
    const businessDate = businessDateIn(lender.time_zone, now);
    await s.db
      .insertInto('sweep_runs')
      .values({ lender_id: lender.id, business_date: businessDate, claimed_by: worker, started_at: now })
      .onConflict((oc) => oc.columns(['lender_id', 'business_date']).doNothing())
      .execute();
    const run = await s.db.selectFrom('sweep_runs').select('finished_at').where('lender_id', '=', lender.id).where('business_date', '=', businessDate).executeTakeFirst();
    if (run?.finished_at) continue;
    stats.lenders++;
    const lenderMap = new Map([[lender.id, lender]]);
    for (;;) {
      const nudge: string[] = [];
      const n = await s.db.transaction().execute(async (tx) => {
        const batch = await tx
          .selectFrom('contracts')
          .selectAll()
          .where('lender_id', '=', lender.id)
          .where('status', '=', 'active')
          // Due for the day, or a decision that changes by time alone (a notice period ending) is due.
          .where((eb) => eb.or([eb('last_evaluated_on', 'is', null), eb('last_evaluated_on', '<', businessDate), eb('next_evaluation_at', '<=', now)]))
          .orderBy('id')
          .limit(batchSize)
          .forUpdate()
          .skipLocked()
          .execute();
        if (batch.length === 0) return 0;
        const at = s.clock.now();
        const facts = await loadFacts(tx, batch, at, lenderMap);
        const unchanged: string[] = [];
        for (const f of facts) {
          const o = decide(f, at);
          const timeDriven = f.contract.next_evaluation_at !== null && f.contract.next_evaluation_at <= at;
          if (o.changed || timeDriven) {
            const ev = await applyOutcome(s, tx, o, at, SYSTEM, `daily sweep ${businessDate}`);
            stats.changed++;
            if (ev.policyChanged) nudge.push(ev.deviceId);
          } else {
            unchanged.push(f.contract.id);
          }
        }
        if (unchanged.length) {
          await tx
            .updateTable('contracts')
            .set({ last_evaluated_on: businessDate })
            .where('id', 'in', unchanged)
            .execute();
        }
        return batch.length;
      });
      if (n === 0) break;
      stats.evaluated += n;
      stats.batches++;
      if (nudge.length) await s.nudges.nudge(nudge);
      opts.onBatch?.(stats);
      // Let queued requests in between batches (PGlite runs on this thread).
      await new Promise((r) => setImmediate(r));
    }
    await s.db
      .updateTable('sweep_runs')
      .set({ finished_at: s.clock.now() })
      .where('lender_id', '=', lender.id)
      .where('business_date', '=', businessDate)
      .where('finished_at', 'is', null)
      .execute();
  }
  return stats;
}
