import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Each policy-signing key after the first carries a key-rotation statement signed by the key that
 * was active before it (docs/protocol.md §6): devices pin a new key only through it. Keys created
 * before this migration get theirs when the keyring next loads (services/keyring.ts).
 */
export const signingKeyEndorsements: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE signing_keys ADD COLUMN endorsement jsonb`.execute(db);
  },
};
