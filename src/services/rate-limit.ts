/**
 * Fixed-window counters in the rate_limits table, so every server process behind a load
 * balancer counts against the same budget. One upsert per check: the row is the counter.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';

export interface RateRule {
  /** Part of the key, so two rules on the same subject count apart. */
  name: string;
  limit: number;
  windowSec: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window that refused this request ends; 0 when allowed. */
  retryAfterSec: number;
  count: number;
}

/**
 * Counts one hit of `subject` (an address, an IMEI) under `rule` and says whether it is within
 * the limit. Refused hits still count: someone hammering a closed window gains nothing.
 */
export async function hit(db: Kysely<DB>, rule: RateRule, subject: string, now: Date): Promise<RateDecision> {
  if (!Number.isInteger(rule.limit) || rule.limit < 1 || !Number.isInteger(rule.windowSec) || rule.windowSec < 1) {
    throw new Error(`rate rule ${rule.name}: limit and windowSec must be whole numbers ≥ 1`);
  }
  const windowMs = rule.windowSec * 1000;
  const start = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const key = `${rule.name}:${subject}`;
  const row = await db
    .insertInto('rate_limits')
    .values({ key, window_start: start, count: 1 })
    .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql`rate_limits.count + 1` }))
    .returning('count')
    .executeTakeFirstOrThrow();
  const count = Number(row.count);
  const allowed = count <= rule.limit;
  const retryAfterSec = allowed ? 0 : Math.max(1, Math.ceil((start.getTime() + windowMs - now.getTime()) / 1000));
  return { allowed, retryAfterSec, count };
}

/** Checks several rules at once; refused if any refuses, waiting for the longest of them. */
export async function hitAll(db: Kysely<DB>, checks: { rule: RateRule; subject: string }[], now: Date): Promise<RateDecision> {
  let worst: RateDecision = { allowed: true, retryAfterSec: 0, count: 0 };
  for (const c of checks) {
    const d = await hit(db, c.rule, c.subject, now);
    if (!d.allowed && d.retryAfterSec >= worst.retryAfterSec) worst = d;
  }
  return worst;
}

/** Drops windows that ended before `before`; they can never refuse anything again. */
export async function pruneRateLimits(db: Kysely<DB>, before: Date): Promise<number> {
  const r = await db.deleteFrom('rate_limits').where('window_start', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
