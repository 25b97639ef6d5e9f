import { sql, type Kysely, type Migration } from 'kysely';

/**
 * A short claim number the borrower can write down and read out on the phone (the row id is a
 * 30-character ULID, kept for ordering). Nullable: claims filed before this have none.
 */
export const claimNumbers: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE claims ADD COLUMN number text`.execute(db);
    await sql`CREATE UNIQUE INDEX claims_number ON claims (number) WHERE number IS NOT NULL`.execute(db);
  },
};
