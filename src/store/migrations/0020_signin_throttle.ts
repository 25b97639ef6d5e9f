import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Sign-in throttling per account+address and per address (services/sessions.ts): a failure
 * count and the instant the key may try again. One row a key, updated with one atomic upsert per
 * attempt. The fixed-window counters in rate_limits stay for the portal.
 */
export const signinThrottle: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE signin_throttle (
      key text PRIMARY KEY,
      failures integer NOT NULL,
      blocked_until timestamptz NOT NULL,
      last_failure_at timestamptz NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX signin_throttle_last_failure ON signin_throttle (last_failure_at)`.execute(db);
  },
};
