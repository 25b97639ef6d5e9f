import { sql, type Kysely } from 'kysely';

/** The whole schema of the first release. Money and counters are int8, dates are `date`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per round trip: prepared statements (pg and PGlite) take a single command.
  for (const statement of SCHEMA.split(/;\s*\n/).map((s) => s.trim()).filter(Boolean)) {
    await sql.raw(statement).execute(db);
  }
  await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
}

const SCHEMA = `
    CREATE TABLE lenders (
      id text PRIMARY KEY,
      name text NOT NULL,
      support_phone text NOT NULL,
      support_url text NOT NULL DEFAULT '',
      support_hours text,
      how_to_pay text NOT NULL,
      currency char(3) NOT NULL,
      time_zone text NOT NULL,
      compliance_profile jsonb NOT NULL,
      allocation_order jsonb NOT NULL,
      created_at timestamptz NOT NULL
    );

    CREATE TABLE devices (
      id text PRIMARY KEY,
      imei1 text NOT NULL UNIQUE,
      imei2 text UNIQUE,
      serial text NOT NULL UNIQUE,
      model text NOT NULL,
      factory_secret_enc bytea NOT NULL,
      sale_status text NOT NULL DEFAULT 'unsold' CHECK (sale_status IN ('unsold', 'retail', 'financed')),
      lender_id text REFERENCES lenders(id),
      enrolled_at timestamptz,
      credential_enc bytea,
      credential_version int NOT NULL DEFAULT 0,
      last_counter int8 NOT NULL DEFAULT 0,
      last_seen_at timestamptz,
      agent_version text,
      policy_version_held int NOT NULL DEFAULT 0,
      token_counter int NOT NULL DEFAULT 0,
      released_at timestamptz,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX devices_lender ON devices (lender_id);

    CREATE TABLE contracts (
      id text PRIMARY KEY,
      lender_id text NOT NULL REFERENCES lenders(id),
      device_id text NOT NULL REFERENCES devices(id),
      borrower_ref text NOT NULL,
      borrower_phone text NOT NULL,
      borrower_language text NOT NULL DEFAULT 'en',
      currency char(3) NOT NULL,
      financed int8 NOT NULL,
      terms jsonb NOT NULL,
      consent_at timestamptz,
      consent_channel text,
      consent_terms_version text,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paid_off', 'written_off', 'returned')),
      stage text NOT NULL DEFAULT 'current',
      stage_reason text,
      stage_changed_at timestamptz,
      lock_reference text NOT NULL UNIQUE,
      lock_at timestamptz,
      notice_index int,
      oldest_unpaid_due_date date,
      amount_overdue int8 NOT NULL DEFAULT 0,
      outstanding int8 NOT NULL DEFAULT 0,
      next_evaluation_at timestamptz,
      last_evaluated_on date,
      manual_action jsonb,
      policy_version int NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX contracts_sweep ON contracts (lender_id, status, last_evaluated_on, id);
    CREATE INDEX contracts_next_eval ON contracts (next_evaluation_at) WHERE status = 'active';
    CREATE INDEX contracts_device ON contracts (device_id);
    CREATE UNIQUE INDEX contracts_one_active_per_device ON contracts (device_id) WHERE status = 'active';

    CREATE TABLE installments (
      contract_id text NOT NULL REFERENCES contracts(id),
      n int NOT NULL,
      due_date date NOT NULL,
      principal int8 NOT NULL,
      interest int8 NOT NULL,
      fee int8 NOT NULL,
      penalty int8 NOT NULL,
      paid_principal int8 NOT NULL DEFAULT 0,
      paid_interest int8 NOT NULL DEFAULT 0,
      paid_fee int8 NOT NULL DEFAULT 0,
      paid_penalty int8 NOT NULL DEFAULT 0,
      PRIMARY KEY (contract_id, n)
    );

    CREATE TABLE payments (
      id text PRIMARY KEY,
      lender_id text NOT NULL REFERENCES lenders(id),
      contract_id text NOT NULL REFERENCES contracts(id),
      external_ref text NOT NULL,
      channel text NOT NULL,
      amount int8 NOT NULL CHECK (amount > 0),
      currency char(3) NOT NULL,
      received_at timestamptz NOT NULL,
      posted_at timestamptz NOT NULL,
      posted_by text NOT NULL,
      reversed_at timestamptz,
      reversed_by text,
      reversal_reason text,
      UNIQUE (lender_id, external_ref)
    );
    CREATE INDEX payments_contract ON payments (contract_id);

    CREATE TABLE payment_channels (
      lender_id text NOT NULL REFERENCES lenders(id),
      channel text NOT NULL,
      freshness_minutes int NOT NULL,
      last_reported_at timestamptz,
      PRIMARY KEY (lender_id, channel)
    );

    CREATE TABLE disputes (
      id text PRIMARY KEY,
      contract_id text NOT NULL REFERENCES contracts(id),
      opened_at timestamptz NOT NULL,
      opened_by text NOT NULL,
      reason text NOT NULL,
      resolved_at timestamptz,
      resolved_by text
    );
    CREATE INDEX disputes_contract ON disputes (contract_id);

    CREATE TABLE claims (
      id text PRIMARY KEY,
      contract_id text NOT NULL REFERENCES contracts(id),
      device_id text NOT NULL REFERENCES devices(id),
      lender_id text NOT NULL REFERENCES lenders(id),
      transaction_ref text NOT NULL,
      amount int8 NOT NULL,
      currency char(3) NOT NULL,
      paid_on date NOT NULL,
      channel text NOT NULL,
      receipt bytea,
      receipt_type text,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected')),
      message text,
      created_at timestamptz NOT NULL,
      decided_at timestamptz,
      decided_by text
    );
    CREATE INDEX claims_contract ON claims (contract_id);
    CREATE INDEX claims_lender_status ON claims (lender_id, status);

    CREATE TABLE device_events (
      id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      device_id text NOT NULL,
      kind text NOT NULL,
      at timestamptz NOT NULL,
      detail jsonb,
      received_at timestamptz NOT NULL
    );
    CREATE INDEX device_events_device ON device_events (device_id, kind, at);

    CREATE TABLE policies (
      device_id text NOT NULL,
      version int NOT NULL,
      stage text NOT NULL,
      body jsonb NOT NULL,
      issued_at timestamptz NOT NULL,
      PRIMARY KEY (device_id, version)
    );

    CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      public_key text NOT NULL,
      private_key_enc bytea NOT NULL,
      active boolean NOT NULL,
      created_at timestamptz NOT NULL
    );

    CREATE TABLE tokens_issued (
      id text PRIMARY KEY,
      device_id text NOT NULL REFERENCES devices(id),
      lender_id text NOT NULL REFERENCES lenders(id),
      type text NOT NULL,
      value int,
      count int NOT NULL,
      token text NOT NULL,
      reason text NOT NULL,
      issued_by text NOT NULL,
      issued_at timestamptz NOT NULL
    );
    CREATE INDEX tokens_issued_device ON tokens_issued (device_id);

    CREATE TABLE audit_log (
      seq int8 PRIMARY KEY,
      at timestamptz NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      subject_type text NOT NULL,
      subject_id text NOT NULL,
      lender_id text,
      reason text NOT NULL,
      data jsonb NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL
    );
    CREATE INDEX audit_log_lender ON audit_log (lender_id, seq);
    CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);
    CREATE TABLE audit_head (id int PRIMARY KEY CHECK (id = 1), last_seq int8 NOT NULL, last_hash text NOT NULL);
    INSERT INTO audit_head VALUES (1, 0, '');
    -- Append-only: the log cannot be changed or trimmed through SQL by the application role.
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;

    CREATE TABLE users (
      id text PRIMARY KEY,
      lender_id text REFERENCES lenders(id),
      email text NOT NULL UNIQUE,
      name text NOT NULL,
      password_hash text NOT NULL,
      role text NOT NULL CHECK (role IN ('operator', 'admin', 'support', 'agent', 'viewer')),
      created_at timestamptz NOT NULL,
      disabled_at timestamptz
    );
    CREATE TABLE sessions (
      id text PRIMARY KEY,
      user_id text NOT NULL REFERENCES users(id),
      csrf_token text NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE TABLE api_keys (
      id text PRIMARY KEY,
      lender_id text REFERENCES lenders(id),
      name text NOT NULL,
      key_hash bytea NOT NULL UNIQUE,
      scopes jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz
    );
    CREATE TABLE idempotency_keys (
      lender_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      status_code int NOT NULL,
      response jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (lender_id, key)
    );

    CREATE TABLE webhooks (
      id text PRIMARY KEY,
      lender_id text NOT NULL REFERENCES lenders(id),
      url text NOT NULL,
      secret_enc bytea NOT NULL,
      events jsonb NOT NULL,
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL
    );
    CREATE TABLE webhook_deliveries (
      id text PRIMARY KEY,
      webhook_id text NOT NULL REFERENCES webhooks(id),
      event_id text NOT NULL,
      event_type text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL,
      attempts int NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      last_status_code int,
      last_error text,
      created_at timestamptz NOT NULL,
      delivered_at timestamptz
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

    CREATE TABLE notifications (
      id text PRIMARY KEY,
      contract_id text NOT NULL REFERENCES contracts(id),
      kind text NOT NULL,
      language text NOT NULL,
      channel text NOT NULL,
      recipient text NOT NULL,
      body text NOT NULL,
      status text NOT NULL,
      attempts int NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      last_error text,
      created_at timestamptz NOT NULL,
      sent_at timestamptz
    );
    CREATE INDEX notifications_due ON notifications (status, next_attempt_at);

    CREATE TABLE sweep_runs (
      lender_id text NOT NULL REFERENCES lenders(id),
      business_date date NOT NULL,
      claimed_by text NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz,
      cursor text,
      PRIMARY KEY (lender_id, business_date)
    );

    CREATE TABLE rate_limits (
      key text NOT NULL,
      window_start timestamptz NOT NULL,
      count int NOT NULL,
      PRIMARY KEY (key, window_start)
    );
`;
