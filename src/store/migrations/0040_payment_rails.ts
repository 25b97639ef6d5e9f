import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Payment rails (issue #14):
 * - payment_channels grows from a freshness watch into a channel of its own: an id that appears
 *   in its callback URLs, a type (mpesa_c2b, razorpay, signed_webhook, manual), the provider's
 *   account identifiers, options (Daraja base URL, source-address allowlist) and its secrets
 *   sealed with the master key (aad `payment-channel:<id>`). Existing rows become `manual`.
 * - rail_receipts: every provider event a channel took, keyed by the provider's own id (M-Pesa
 *   TransID, Razorpay event and payment ids, the aggregator's reference), so a retried callback
 *   is answered with the first outcome and never posts twice.
 * - suspense_payments: money that arrived but matched no open contract, kept with its raw
 *   payload until someone assigns it to a contract or refunds it.
 * - lenders.sms_*: the SMS provider a lender sends through, its secret sealed
 *   (aad `sms-provider:<lender id>`); notifications record the provider's message id and what
 *   its delivery reports said.
 */
export const paymentRails: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      ALTER TABLE payment_channels
        ADD COLUMN id text,
        ADD COLUMN type text NOT NULL DEFAULT 'manual' CHECK (type IN ('mpesa_c2b', 'razorpay', 'signed_webhook', 'manual')),
        ADD COLUMN account jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN options jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN secrets_enc bytea`.execute(db);
    // Every channel, old or new, gets an id nobody can guess: it is part of its callback URLs.
    await sql`UPDATE payment_channels SET id = 'pch_' || replace(gen_random_uuid()::text, '-', '')`.execute(db);
    await sql`ALTER TABLE payment_channels ALTER COLUMN id SET DEFAULT 'pch_' || replace(gen_random_uuid()::text, '-', ''), ALTER COLUMN id SET NOT NULL`.execute(db);
    await sql`CREATE UNIQUE INDEX payment_channels_id ON payment_channels (id)`.execute(db);

    await sql`
      CREATE TABLE rail_receipts (
        channel_id text NOT NULL,
        provider_ref text NOT NULL,
        lender_id text NOT NULL REFERENCES lenders (id),
        kind text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('posted', 'suspense', 'recorded')),
        payment_id text,
        suspense_id text,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (channel_id, provider_ref)
      )`.execute(db);

    await sql`
      CREATE TABLE suspense_payments (
        id text PRIMARY KEY,
        lender_id text NOT NULL REFERENCES lenders (id),
        channel_id text NOT NULL,
        channel text NOT NULL,
        external_ref text NOT NULL,
        reference text NOT NULL,
        amount bigint NOT NULL,
        currency text NOT NULL,
        reason text NOT NULL CHECK (reason IN ('unknown_reference', 'currency_mismatch', 'contract_closed', 'amount_not_positive')),
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'refunded')),
        contract_id text REFERENCES contracts (id),
        payment_id text,
        resolved_at timestamptz,
        resolved_by text,
        note text,
        received_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL
      )`.execute(db);
    await sql`CREATE INDEX suspense_payments_lender ON suspense_payments (lender_id, status, created_at)`.execute(db);

    await sql`
      ALTER TABLE lenders
        ADD COLUMN sms_provider jsonb,
        ADD COLUMN sms_secret_enc bytea`.execute(db);
    await sql`
      ALTER TABLE notifications
        ADD COLUMN provider text,
        ADD COLUMN provider_message_id text,
        ADD COLUMN delivery_status text CHECK (delivery_status IN ('delivered', 'failed')),
        ADD COLUMN delivery_detail text,
        ADD COLUMN delivered_at timestamptz`.execute(db);
    await sql`CREATE INDEX notifications_provider_message ON notifications (provider, provider_message_id) WHERE provider_message_id IS NOT NULL`.execute(db);
  },
};
