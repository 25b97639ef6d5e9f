import { sql, type Kysely, type Migration } from 'kysely';

/**
 * devices.credential_hash was never written by the server (enrollment keeps the sealed
 * credential in credential_enc, which the check-in opens); only a repository nobody called
 * wrote it. Dropped so the schema says what the server keeps.
 */
export const dropCredentialHash: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE devices DROP COLUMN IF EXISTS credential_hash`.execute(db);
  },
};
