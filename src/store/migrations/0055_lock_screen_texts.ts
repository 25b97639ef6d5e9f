import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Issue #15, the lock screen in the borrower's language:
 * - lenders.texts: the lender's how-to-pay, support hours and standing message per language
 *   (`{"sw": {"howToPay": "…"}}`); the existing columns stay the fallback language.
 * - lenders.lock_message: the standing message in that fallback language.
 * - contracts.screen_note: the lender note the phone shows now (carried in its signed policy);
 *   device_messages keeps every note sent, for the borrower-messages page.
 */
export const lockScreenTexts: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE lenders ADD COLUMN texts jsonb NOT NULL DEFAULT '{}'::jsonb, ADD COLUMN lock_message text`.execute(db);
    await sql`ALTER TABLE contracts ADD COLUMN screen_note jsonb`.execute(db);
    await sql`
      CREATE TABLE device_messages (
        id text PRIMARY KEY,
        lender_id text NOT NULL REFERENCES lenders(id),
        device_id text NOT NULL REFERENCES devices(id),
        contract_id text NOT NULL REFERENCES contracts(id),
        template text NOT NULL,
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        texts jsonb NOT NULL DEFAULT '{}'::jsonb,
        policy_version integer NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL
      )
    `.execute(db);
    await sql`CREATE INDEX device_messages_device ON device_messages (device_id, created_at DESC)`.execute(db);
  },
};
