import { sql, type Kysely, type Migration } from 'kysely';

/**
 * What the operator's metrics read (src/server/metrics.ts):
 * - policies.unlock_payment_at: when the payment that lifted a lock committed, on the policy
 *   that lifts it; policies.unlock_reported_at: when the phone first reported holding that
 *   policy. Their difference is the payment-to-unlock latency. Null on every other policy.
 * - contracts_held: the few active contracts whose lock a guardrail holds back, so counting them
 *   on every scrape reads an index of those rows instead of the whole table.
 */
export const operations: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE policies ADD COLUMN unlock_payment_at timestamptz, ADD COLUMN unlock_reported_at timestamptz`.execute(db);
    await sql`
      CREATE INDEX contracts_held ON contracts (stage_reason)
      WHERE status = 'active' AND stage_reason IN ('held_stale_feed', 'held_open_dispute', 'held_open_claim', 'no_consent')
    `.execute(db);
  },
};
