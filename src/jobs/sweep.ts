import { hostname } from 'node:os';
import { sql, type Kysely, type Selectable } from 'kysely';
import { businessDateIn } from '../domain/dates.ts';
import type { DB } from '../store/schema.ts';
import { SYSTEM, type Services } from '../services/context.ts';
import { decide } from '../domain/evaluation.ts';
import { applyOutcome, evaluatedColumns, loadFacts, signedPolicyRows, type Outcome } from '../services/evaluate.ts';
import { EVALUATED_COLUMNS, isQuiet } from '../services/bulk/outcomes.ts';
import { updateMany } from '../services/bulk/sql.ts';
import { commit, type Executor } from '../services/unit-of-work.ts';

export interface SweepStats {
  lenders: number;
  evaluated: number;
  changed: number;
  batches: number;
  /** Of `evaluated`, how many the set-based filter settled without loading their facts. */
  quiet: number;
}

export interface SweepOptions {
  /** Contracts per transaction; PGlite serves requests between batches. */
  batchSize?: number;
  /** Identifies this process in sweep_runs. */
  worker?: string;
  onBatch?(stats: SweepStats): void;
}

type LenderRow = Selectable<DB['lenders']>;

/**
 * Evaluates every active contract once per business day of its lender, and again whenever a
 * decision that changes by time alone (a notice period ending) falls due. Safe with any number
 * of processes: each batch claims rows with FOR UPDATE SKIP LOCKED and marks them evaluated in
 * the same transaction, so a crash loses at most the batch in flight (rolled back, picked up
 * again) and a contract is never evaluated twice for the same day. A per-lender, per-day row in
 * sweep_runs records who swept and when the daily pass finished.
 *
 * Most contracts are current with nothing due soon; their decision provably cannot change
 * today (see quietFilter), so they are marked evaluated by one UPDATE per batch in SQL and only
 * the rest go through loadFacts → decide; of those, changes the borrower is told about go through
 * applyOutcome and the others are written set-based (src/services/bulk/outcomes.ts).
 */
export async function sweep(s: Services, opts: SweepOptions = {}): Promise<SweepStats> {
  const batchSize = opts.batchSize ?? 1000;
  const worker = opts.worker ?? `${hostname()}:${process.pid}`;
  const started = performance.now();
  const stats: SweepStats = { lenders: 0, evaluated: 0, changed: 0, batches: 0, quiet: 0 };
  const lenders = await s.db.selectFrom('lenders').selectAll().execute();
  for (const lender of lenders) {
    const now = s.clock.now();
    const runDate = businessDateIn(lender.time_zone, now);
    await s.db
      .insertInto('sweep_runs')
      .values({ lender_id: lender.id, business_date: runDate, claimed_by: worker, started_at: now })
      .onConflict((oc) => oc.columns(['lender_id', 'business_date']).doNothing())
      .execute();
    const run = await s.db.selectFrom('sweep_runs').select('finished_at').where('lender_id', '=', lender.id).where('business_date', '=', runDate).executeTakeFirst();
    const ctx = { s, lender, batchSize, stats, opts };
    if (!run?.finished_at) {
      stats.lenders++;
      await dailyPass(ctx, runDate);
      // Rows another live process still holds stay due here: that process marks the run finished.
      const left = await s.db
        .selectFrom('contracts')
        .select('id')
        .where('lender_id', '=', lender.id)
        .where('status', '=', 'active')
        .where((eb) => eb.or([eb('last_evaluated_on', 'is', null), eb('last_evaluated_on', '<', runDate)]))
        .limit(1)
        .executeTakeFirst();
      if (!left) {
        await s.db
          .updateTable('sweep_runs')
          .set({ finished_at: s.clock.now() })
          .where('lender_id', '=', lender.id)
          .where('business_date', '=', runDate)
          .where('finished_at', 'is', null)
          .execute();
      }
    }
    await timeDrivenPass(ctx, now);
  }
  s.telemetry?.sweepFinished(stats, (performance.now() - started) / 1000);
  return stats;
}

interface PassContext {
  s: Services;
  lender: LenderRow;
  batchSize: number;
  stats: SweepStats;
  opts: SweepOptions;
}

/**
 * Walks the lender's contracts by id (a keyset, so each batch starts where the last ended
 * instead of rescanning done rows), then once more from the start for rows that were locked by
 * another process or rolled back by a crash during the first walk.
 */
async function dailyPass(ctx: PassContext, runDate: string): Promise<void> {
  for (let walk = 0; walk < 2; walk++) {
    let cursor = '';
    for (;;) {
      const last = await inBatch(ctx, async (tx, at) => {
        const businessDate = businessDateIn(ctx.lender.time_zone, at);
        const { rows } = await sql<{ last: string | null; claimed: number; quiet: number; slow: string[] | null }>`
          WITH batch AS (
            SELECT c.id, coalesce(${quietFilter(at)}, false) AS quiet FROM contracts c
            WHERE c.lender_id = ${ctx.lender.id} AND c.id > ${cursor} AND c.status = 'active'
              AND (c.last_evaluated_on IS NULL OR c.last_evaluated_on < ${runDate}::date)
            ORDER BY c.id
            LIMIT ${ctx.batchSize}
            FOR UPDATE OF c SKIP LOCKED
          ), quiet AS (
            -- The filter is decided on the batch's rows: here it would let the planner, whose
            -- statistics PGlite never refreshes on its own, scan the table once per batch.
            UPDATE contracts c SET last_evaluated_on = ${businessDate}::date
            FROM batch
            WHERE c.id = batch.id AND batch.quiet
            RETURNING c.id
          )
          SELECT (SELECT max(id) FROM batch) AS last,
                 (SELECT count(*) FROM batch)::int AS claimed,
                 (SELECT count(*) FROM quiet)::int AS quiet,
                 (SELECT array_agg(id) FROM batch WHERE NOT quiet) AS slow
        `.execute(tx);
        const r = rows[0]!;
        if (r.claimed === 0) return null;
        return { last: r.last!, claimed: r.claimed, quiet: r.quiet, slow: r.slow ?? [] };
      });
      if (last === null) break;
      cursor = last;
    }
  }
}

/**
 * Contracts evaluated today whose decision changes by time alone before tomorrow. Every row
 * taken here goes through applyOutcome, which moves next_evaluation_at past `now`, so the loop
 * ends without a cursor.
 */
async function timeDrivenPass(ctx: PassContext, now: Date): Promise<void> {
  for (;;) {
    const done = await inBatch(ctx, async (tx) => {
      const rows = await tx
        .selectFrom('contracts')
        .select('id')
        .where('lender_id', '=', ctx.lender.id)
        .where('status', '=', 'active')
        .where('next_evaluation_at', '<=', now)
        .limit(ctx.batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return null;
      return { last: '', claimed: rows.length, quiet: 0, slow: rows.map((r) => r.id) };
    });
    if (done === null) break;
  }
}

/** The sweep leaves offline deadlines to check-ins: a renewed policy only reaches a phone then. */
export const SWEEP_DECISION = { renewOffline: false } as const;

type Claim = { last: string; claimed: number; quiet: number; slow: string[] } | null;

/**
 * One unit of work: `claim` locks a batch (and settles the quiet part of it), then the rest is
 * decided one by one; the devices whose policy changed are nudged when it commits. Counts reach
 * the stats only after the commit, so a unit that is retried is not counted twice.
 */
async function inBatch(ctx: PassContext, claim: (tx: Executor, at: Date) => Promise<Claim>): Promise<string | null> {
  const { s, stats, lender } = ctx;
  const result = await commit(s, SYSTEM, async (tx, fx) => {
    const at = fx.now;
    const c = await claim(tx, at);
    if (c === null) return null;
    let changed = 0;
    if (c.slow.length) {
      const contracts = await tx.selectFrom('contracts').selectAll().where('id', 'in', c.slow).orderBy('id').execute();
      const facts = await loadFacts(tx, contracts, at, new Map([[lender.id, lender]]));
      const unchanged: string[] = [];
      const updates: Record<string, unknown>[] = [];
      const newPolicies: Outcome[] = [];
      let businessDate = '';
      for (const f of facts) {
        const o = decide(f, at, SWEEP_DECISION);
        businessDate = o.businessDate;
        const timeDriven = f.contract.next_evaluation_at !== null && f.contract.next_evaluation_at <= at;
        if (!o.changed && !timeDriven) {
          const columns = evaluatedColumns(o, at);
          // Tomorrow's set-based filter trusts the stored next_evaluation_at: it must not lie
          // beyond the engine's next time trigger (an earlier one only costs a re-evaluation).
          const stored = f.contract.next_evaluation_at;
          if (stored !== null && (columns.next_evaluation_at === null || stored <= columns.next_evaluation_at)) unchanged.push(f.contract.id);
          else updates.push({ id: f.contract.id, ...columns });
          continue;
        }
        changed++;
        // Announced changes (stage, settlement) are audited one by one; the rest (days past due
        // and amounts moving within a stage) are written set-based below.
        if (!isQuiet(o)) {
          await applyOutcome(s, tx, fx, o, `daily sweep ${o.businessDate}`);
          continue;
        }
        updates.push({ id: f.contract.id, ...evaluatedColumns(o, at) });
        if (o.changed) newPolicies.push(o);
      }
      const policies = signedPolicyRows(s, newPolicies, at);
      if (unchanged.length) await tx.updateTable('contracts').set({ last_evaluated_on: businessDate }).where('id', 'in', unchanged).execute();
      await updateMany(tx, 'contracts', ['id'], { id: 'text', ...EVALUATED_COLUMNS }, updates);
      await fx.issuePolicies(await policies);
    }
    return { ...c, changed };
  });
  if (result === null) return null;
  stats.evaluated += result.claimed;
  stats.quiet += result.quiet;
  stats.changed += result.changed;
  stats.batches++;
  ctx.opts.onBatch?.(stats);
  // Let queued requests in between batches (PGlite runs on this thread).
  await new Promise((r) => setImmediate(r));
  return result.last;
}

/** The lender's active contracts the set-based filter would settle at `at` (for tests and tools). */
export async function quietContractIds(db: Kysely<DB>, lender: LenderRow, at: Date): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    SELECT c.id FROM contracts c
    WHERE c.lender_id = ${lender.id} AND c.status = 'active' AND ${quietFilter(at)}
    ORDER BY c.id
  `.execute(db);
  return rows.map((r) => r.id);
}

/**
 * True for a contract whose full evaluation at `now` would change nothing but last_evaluated_on
 * (decide() with SWEEP_DECISION → changed false, and no time-driven re-evaluation due), read
 * from the decision the engine stored at its last evaluation. It holds when:
 * - that decision is `current` or `reminder` with nothing overdue (amount 0, so not in grace
 *   either), no lock or notice, and a policy was issued (policy_version 0 forces a first one):
 *   the stage engine's not-past-due branch, whose next_evaluation_at lists every instant its
 *   answer changes by time alone (a reminder window opening, the day after the due date, a
 *   manual action's end), and that instant is still ahead;
 * - no manual action, and the offline lock may stay armed (consent recorded, no open dispute
 *   or claim); an offline deadline that is getting near is renewed by the phone's next check-in.
 * Everything else that moves the decision (payments, reversals, disputes, claims, manual
 * actions, settings) re-evaluates the contract when it happens. Past-due contracts are left to
 * the engine: their days past due, notices and the payment feed's freshness move daily.
 * test/jobs/sweep-equivalence.test.ts runs this filter and decide() side by side, day after day,
 * over a varied population.
 */
function quietFilter(now: Date) {
  return sql<boolean>`(
    c.stage IN ('current', 'reminder') AND c.policy_version > 0 AND c.lock_at IS NULL AND c.notice_index IS NULL
    AND c.amount_overdue = 0 AND c.manual_action IS NULL AND c.consent_at IS NOT NULL
    AND c.next_evaluation_at > ${now.toISOString()}::timestamptz
    AND NOT EXISTS (SELECT 1 FROM disputes d WHERE d.contract_id = c.id AND d.resolved_at IS NULL)
    AND NOT EXISTS (SELECT 1 FROM claims k WHERE k.contract_id = c.id AND k.status = 'open')
  )`;
}
