import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Enrollment as a published protocol (issue #13, #12 M5/L8):
 * - `enroll_nonces`: the nonces that enrolled a phone, kept until they expire, so a nonce and its
 *   proof are good once across every server process (the primary key decides a race).
 * - `devices.first_contact_at`: when a registered phone first proved its factory secret (over the
 *   device API or Android Device Lock); the provisioning window for a sale recorded after setup
 *   counts from it.
 * - `devices.enroll_failures` / `last_enroll_failure_at`: proofs that did not hold, counted
 *   rather than stored row by row (unauthenticated callers must not grow a table).
 */
export const enrollmentProvisioning: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE enroll_nonces (
      nonce_hash bytea PRIMARY KEY,
      device_id text NOT NULL REFERENCES devices (id),
      expires_at timestamptz NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX enroll_nonces_expiry ON enroll_nonces (expires_at)`.execute(db);
    await sql`ALTER TABLE devices
      ADD COLUMN first_contact_at timestamptz,
      ADD COLUMN enroll_failures integer NOT NULL DEFAULT 0,
      ADD COLUMN last_enroll_failure_at timestamptz`.execute(db);
  },
};
