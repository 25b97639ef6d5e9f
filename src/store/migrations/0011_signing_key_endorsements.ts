import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Each policy-signing key after the first carries a key-rotation statement signed by the key that
 * was active before it (docs/protocol.md §6): devices pin a new key only through it. Keys created
 * before this migration get theirs when the keyring next loads (services/keyring.ts).
 *
 * `position` is the order keys were made in, which the chain follows: created_at alone ties when
 * two keys are made within one clock reading.
 */
export const signingKeyEndorsements: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE signing_keys ADD COLUMN endorsement jsonb, ADD COLUMN position integer`.execute(db);
    await sql`
      UPDATE signing_keys k SET position = o.n
      FROM (SELECT kid, row_number() OVER (ORDER BY created_at, kid) AS n FROM signing_keys) o
      WHERE o.kid = k.kid`.execute(db);
    await sql`ALTER TABLE signing_keys ALTER COLUMN position SET NOT NULL, ADD CONSTRAINT signing_keys_position UNIQUE (position)`.execute(db);
  },
};
