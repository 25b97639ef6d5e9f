import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Whether a payment claim lifted the lock of its contract (issue #12 M4). A claim always holds
 * escalation; it lifts a lock in place only when it covers the overdue amount and no other claim
 * of the contract lifted one within the profile's window. Claims filed before this column
 * existed lifted locks unconditionally, and are marked so. The index finds a contract's recent
 * lifting claims.
 */
export const claimLiftsLock: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE claims ADD COLUMN lifts_lock boolean NOT NULL DEFAULT false`.execute(db);
    await sql`UPDATE claims SET lifts_lock = true`.execute(db);
    await sql`CREATE INDEX claims_lifting ON claims (contract_id, created_at) WHERE lifts_lock`.execute(db);
  },
};
