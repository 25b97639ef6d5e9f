import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The first schema. Plain SQL, one statement per entry (PGlite's extended protocol takes one
 * statement at a time), the same on PGlite and PostgreSQL. Money and counters are int8 minor
 * units; ids are text made in application code (src/store/ids.ts).
 */
const statements = [
  `CREATE TABLE lenders (
    id text PRIMARY KEY,
    name text NOT NULL,
    support_phone text NOT NULL,
    support_url text NOT NULL,
    support_hours text,
    how_to_pay text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    time_zone text NOT NULL,
    compliance_profile jsonb NOT NULL,
    allocation_order jsonb NOT NULL DEFAULT '["penalty","fee","interest","principal"]',
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE devices (
    id text PRIMARY KEY,
    imei1 text NOT NULL UNIQUE,
    imei2 text UNIQUE,
    serial text NOT NULL UNIQUE,
    model text NOT NULL,
    factory_secret_enc bytea NOT NULL,
    sale_status text NOT NULL DEFAULT 'unsold' CHECK (sale_status IN ('unsold', 'retail', 'financed')),
    lender_id text REFERENCES lenders (id),
    enrolled_at timestamptz,
    credential_hash bytea,
    credential_enc bytea,
    credential_version integer NOT NULL DEFAULT 0,
    last_counter bigint NOT NULL DEFAULT 0,
    last_seen_at timestamptz,
    agent_version text,
    policy_version_held integer NOT NULL DEFAULT 0,
    token_counter integer NOT NULL DEFAULT 0,
    token_used_counts jsonb NOT NULL DEFAULT '{}',
    released_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (imei2 IS NULL OR imei2 <> imei1),
    CHECK (sale_status <> 'financed' OR lender_id IS NOT NULL)
  )`,
  `CREATE INDEX devices_lender ON devices (lender_id, id) WHERE lender_id IS NOT NULL`,

  `CREATE TABLE contracts (
    id text PRIMARY KEY,
    lender_id text NOT NULL REFERENCES lenders (id),
    device_id text NOT NULL REFERENCES devices (id),
    borrower_ref text NOT NULL,
    borrower_phone text NOT NULL,
    borrower_language text NOT NULL DEFAULT 'en',
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    financed bigint NOT NULL CHECK (financed >= 0),
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
    notice_index integer,
    oldest_unpaid_due_date date,
    amount_overdue bigint NOT NULL DEFAULT 0,
    outstanding bigint NOT NULL DEFAULT 0,
    next_evaluation_at timestamptz,
    last_evaluated_on date,
    manual_action jsonb,
    policy_version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  // The sweep walks one lender's active contracts not yet evaluated for the business date, by id.
  `CREATE INDEX contracts_sweep ON contracts (lender_id, status, last_evaluated_on, id)`,
  `CREATE INDEX contracts_lender_id ON contracts (lender_id, id)`,
  `CREATE INDEX contracts_next_evaluation ON contracts (next_evaluation_at) WHERE status = 'active'`,
  `CREATE INDEX contracts_device ON contracts (device_id)`,
  // One lien at a time: a device has at most one active contract.
  `CREATE UNIQUE INDEX contracts_one_active_per_device ON contracts (device_id) WHERE status = 'active'`,

  `CREATE TABLE installments (
    contract_id text NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    n integer NOT NULL CHECK (n >= 1),
    due_date date NOT NULL,
    principal bigint NOT NULL DEFAULT 0,
    interest bigint NOT NULL DEFAULT 0,
    fee bigint NOT NULL DEFAULT 0,
    penalty bigint NOT NULL DEFAULT 0,
    paid_principal bigint NOT NULL DEFAULT 0,
    paid_interest bigint NOT NULL DEFAULT 0,
    paid_fee bigint NOT NULL DEFAULT 0,
    paid_penalty bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (contract_id, n)
  )`,

  `CREATE TABLE payments (
    id text PRIMARY KEY,
    lender_id text NOT NULL REFERENCES lenders (id),
    contract_id text NOT NULL REFERENCES contracts (id),
    external_ref text NOT NULL,
    channel text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    currency text NOT NULL,
    received_at timestamptz NOT NULL,
    posted_at timestamptz NOT NULL,
    posted_by text NOT NULL,
    reversed_at timestamptz,
    reversed_by text,
    reversal_reason text,
    CONSTRAINT payments_lender_external_ref UNIQUE (lender_id, external_ref)
  )`,
  `CREATE INDEX payments_contract ON payments (contract_id, received_at, id)`,

  `CREATE TABLE payment_channels (
    lender_id text NOT NULL REFERENCES lenders (id),
    channel text NOT NULL,
    freshness_minutes integer NOT NULL CHECK (freshness_minutes > 0),
    last_reported_at timestamptz,
    PRIMARY KEY (lender_id, channel)
  )`,

  `CREATE TABLE disputes (
    id text PRIMARY KEY,
    contract_id text NOT NULL REFERENCES contracts (id),
    opened_at timestamptz NOT NULL,
    opened_by text NOT NULL,
    reason text NOT NULL,
    resolved_at timestamptz,
    resolved_by text
  )`,
  `CREATE INDEX disputes_contract ON disputes (contract_id)`,

  `CREATE TABLE claims (
    id text PRIMARY KEY,
    contract_id text NOT NULL REFERENCES contracts (id),
    device_id text NOT NULL REFERENCES devices (id),
    lender_id text NOT NULL REFERENCES lenders (id),
    transaction_ref text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    currency text NOT NULL,
    paid_on date NOT NULL,
    channel text NOT NULL,
    receipt bytea,
    receipt_type text,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected')),
    message text,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    decided_by text
  )`,
  `CREATE INDEX claims_contract ON claims (contract_id)`,
  `CREATE INDEX claims_lender_status ON claims (lender_id, status, created_at)`,

  // No foreign key: check-in events are written in batches, and one odd row must not sink a batch.
  `CREATE TABLE device_events (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    detail jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX device_events_device ON device_events (device_id, kind, at)`,

  `CREATE TABLE policies (
    device_id text NOT NULL REFERENCES devices (id),
    version integer NOT NULL,
    stage text NOT NULL,
    body jsonb NOT NULL,
    issued_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, version)
  )`,

  `CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    public_key text NOT NULL,
    private_key_enc bytea NOT NULL,
    active boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE tokens_issued (
    id text PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices (id),
    lender_id text NOT NULL REFERENCES lenders (id),
    type text NOT NULL,
    value integer,
    count integer NOT NULL,
    token text NOT NULL,
    reason text NOT NULL,
    issued_by text NOT NULL,
    issued_at timestamptz NOT NULL
  )`,
  `CREATE INDEX tokens_issued_device ON tokens_issued (device_id, issued_at)`,

  // The audit log: hash chains, one per lender and one for the platform (chain ''). Entries are
  // chained when their transaction commits, by a deferred trigger: the chain head is locked only
  // for the commit itself, never while the transaction waits on other locks (no lock-order
  // deadlocks with row locks, and a long sweep batch does not stall a lender's payments).
  // No foreign keys: the record of what happened outlives what it happened to.
  `CREATE TABLE audit_log (
    seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject_type text NOT NULL,
    subject_id text NOT NULL,
    lender_id text,
    reason text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}',
    chain text GENERATED ALWAYS AS (coalesce(lender_id, '')) STORED,
    chain_pos bigint,
    prev_hash text,
    hash text,
    CONSTRAINT audit_log_chain_pos UNIQUE (chain, chain_pos)
  )`,
  `CREATE INDEX audit_log_lender ON audit_log (lender_id, seq)`,
  `CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, seq)`,
  // Only the committing transaction's own entries are ever unchained (and visible as such).
  `CREATE INDEX audit_log_unchained ON audit_log (seq) WHERE hash IS NULL`,
  `CREATE TABLE audit_head (
    chain text PRIMARY KEY,
    last_pos bigint NOT NULL,
    last_seq bigint NOT NULL,
    last_hash text NOT NULL
  )`,
  // What an entry's hash covers: its content and place in the chain, as jsonb text (keys in
  // jsonb's fixed order, one spelling per value), computed by the database on append and on
  // verify alike, so PGlite and PostgreSQL agree byte for byte.
  `CREATE FUNCTION audit_hash(prev text, a audit_log, pos bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(prev || E'\\n' || jsonb_build_object(
      'seq', a.seq,
      'pos', pos,
      'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'actor', a.actor,
      'action', a.action,
      'subject_type', a.subject_type,
      'subject_id', a.subject_id,
      'lender_id', a.lender_id,
      'reason', a.reason,
      'data', a.data
    )::text, 'UTF8')), 'hex')
  $$`,
  // Chains every entry of the committing transaction, in seq order. The heads it needs are
  // locked in chain order, so two committing transactions never wait on each other in a cycle.
  `CREATE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    r audit_log%ROWTYPE;
    h audit_head%ROWTYPE;
    next_hash text;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash IS NULL) THEN
      RETURN NULL; -- chained already, together with an earlier entry of this transaction
    END IF;
    INSERT INTO audit_head (chain, last_pos, last_seq, last_hash)
      SELECT DISTINCT u.chain, 0, 0, '' FROM audit_log u WHERE u.hash IS NULL ORDER BY 1
      ON CONFLICT (chain) DO NOTHING;
    PERFORM 1 FROM audit_head WHERE chain IN (SELECT u.chain FROM audit_log u WHERE u.hash IS NULL) ORDER BY chain FOR UPDATE;
    FOR r IN SELECT * FROM audit_log WHERE hash IS NULL ORDER BY seq LOOP
      SELECT * INTO h FROM audit_head WHERE chain = r.chain;
      next_hash := audit_hash(h.last_hash, r, h.last_pos + 1);
      UPDATE audit_log SET chain_pos = h.last_pos + 1, prev_hash = h.last_hash, hash = next_hash WHERE seq = r.seq;
      UPDATE audit_head SET last_pos = h.last_pos + 1, last_seq = r.seq, last_hash = next_hash WHERE chain = r.chain;
    END LOOP;
    RETURN NULL;
  END
  $$`,
  `CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain()`,
  // The application never edits history; only someone who disables this trigger can, and the
  // hash chain then shows where. The one update allowed is the chaining itself.
  `CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND pg_trigger_depth() > 1 THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
  END
  $$`,
  `CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`,
  `CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`,

  `CREATE TABLE users (
    id text PRIMARY KEY,
    lender_id text REFERENCES lenders (id),
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('operator', 'admin', 'support', 'agent', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
  )`,
  `CREATE INDEX users_lender ON users (lender_id)`,
  `CREATE TABLE sessions (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  `CREATE INDEX sessions_user ON sessions (user_id)`,
  `CREATE INDEX sessions_expires ON sessions (expires_at)`,
  `CREATE TABLE api_keys (
    id text PRIMARY KEY,
    lender_id text REFERENCES lenders (id),
    name text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    scopes jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz
  )`,
  `CREATE INDEX api_keys_lender ON api_keys (lender_id)`,

  `CREATE TABLE idempotency_keys (
    lender_id text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status_code integer NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lender_id, key)
  )`,
  `CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`,

  `CREATE TABLE webhooks (
    id text PRIMARY KEY,
    lender_id text NOT NULL REFERENCES lenders (id),
    url text NOT NULL,
    secret_enc bytea NOT NULL,
    events jsonb NOT NULL DEFAULT '[]',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX webhooks_lender ON webhooks (lender_id)`,
  `CREATE TABLE webhook_deliveries (
    id text PRIMARY KEY,
    webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
  )`,
  // Not unique: a replay is a new delivery of the same event.
  `CREATE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id)`,
  `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)`,

  `CREATE TABLE notifications (
    id text PRIMARY KEY,
    contract_id text NOT NULL REFERENCES contracts (id),
    kind text NOT NULL,
    language text NOT NULL,
    channel text NOT NULL,
    recipient text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
  )`,
  `CREATE INDEX notifications_due ON notifications (status, next_attempt_at)`,
  `CREATE INDEX notifications_contract ON notifications (contract_id, created_at)`,

  `CREATE TABLE sweep_runs (
    lender_id text NOT NULL REFERENCES lenders (id),
    business_date date NOT NULL,
    claimed_by text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    cursor text,
    PRIMARY KEY (lender_id, business_date)
  )`,

  `CREATE TABLE rate_limits (
    key text NOT NULL,
    window_start timestamptz NOT NULL,
    count integer NOT NULL DEFAULT 0,
    PRIMARY KEY (key, window_start)
  )`,
  `CREATE INDEX rate_limits_window ON rate_limits (window_start)`,
];

export const initial: Migration = {
  async up(db: Kysely<unknown>) {
    for (const s of statements) await sql.raw(s).execute(db);
  },
};
