import { sql, type Kysely, type Migration } from 'kysely';

/**
 * What the support desk's device list filters and sorts on (issue #15):
 * - `contracts.sold_by`: the actor who sold the contract (the dealer), so the list can show a
 *   dealer's book. Back-filled from the `contract.created` audit entries.
 * - `lenders.locale`: the lender's language and region for dates and numbers in the console.
 * - indexes for the support desk's lookups: lock reference and borrower phone per lender, and
 *   IMEI suffixes (a caller reads out the last digits) through reversed IMEIs.
 * - `bulk_jobs`: a bulk action on a filtered selection and its progress.
 */
export const consoleLists: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE contracts ADD COLUMN sold_by text`.execute(db);
    await sql`UPDATE contracts c SET sold_by = a.actor
      FROM audit_log a WHERE a.action = 'contract.created' AND a.subject_id = c.id`.execute(db);
    await sql`ALTER TABLE lenders ADD COLUMN locale text NOT NULL DEFAULT 'en-GB'`.execute(db);
    await sql`CREATE INDEX contracts_lender_sold_by ON contracts (lender_id, sold_by)`.execute(db);
    await sql`CREATE INDEX contracts_lender_lock_reference ON contracts (lender_id, lock_reference)`.execute(db);
    await sql`CREATE INDEX contracts_lender_borrower_phone ON contracts (lender_id, borrower_phone)`.execute(db);
    await sql`CREATE INDEX contracts_lender_borrower_ref ON contracts (lender_id, borrower_ref)`.execute(db);
    await sql`CREATE INDEX devices_imei1_reversed ON devices (reverse(imei1) text_pattern_ops)`.execute(db);
    await sql`CREATE INDEX devices_imei2_reversed ON devices (reverse(imei2) text_pattern_ops)`.execute(db);
    await sql`CREATE TABLE bulk_jobs (
      id text PRIMARY KEY,
      lender_id text NOT NULL REFERENCES lenders (id),
      action text NOT NULL,
      params jsonb NOT NULL,
      filter jsonb NOT NULL,
      device_ids jsonb NOT NULL,
      state text NOT NULL,
      total integer NOT NULL,
      processed integer NOT NULL DEFAULT 0,
      succeeded integer NOT NULL DEFAULT 0,
      failed integer NOT NULL DEFAULT 0,
      errors jsonb NOT NULL DEFAULT '[]',
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      progress_at timestamptz NOT NULL,
      finished_at timestamptz
    )`.execute(db);
    await sql`CREATE INDEX bulk_jobs_lender ON bulk_jobs (lender_id, created_at DESC)`.execute(db);
  },
};
