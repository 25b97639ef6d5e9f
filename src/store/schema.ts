import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** JSON columns: read as parsed values, written as JSON text or values. */
type Json<T = unknown> = ColumnType<T, string | T, string | T>;
type Ts = ColumnType<Date, Date | string, Date | string>;
type TsNull = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** date columns come back as 'YYYY-MM-DD' strings on both drivers. */
type PlainDate = string;

export interface LendersTable {
  id: string;
  name: string;
  support_phone: string;
  support_url: string;
  support_hours: string | null;
  how_to_pay: string;
  currency: string;
  time_zone: string;
  compliance_profile: Json;
  allocation_order: Json;
  created_at: Ts;
}

export interface DevicesTable {
  id: string;
  imei1: string;
  imei2: string | null;
  serial: string;
  model: string;
  factory_secret_enc: Buffer;
  sale_status: 'unsold' | 'retail' | 'financed';
  lender_id: string | null;
  enrolled_at: TsNull;
  credential_enc: Buffer | null;
  credential_version: Generated<number>;
  last_counter: Generated<number>;
  last_seen_at: TsNull;
  agent_version: string | null;
  policy_version_held: Generated<number>;
  token_counter: Generated<number>;
  released_at: TsNull;
  created_at: Ts;
}

export interface ContractsTable {
  id: string;
  lender_id: string;
  device_id: string;
  borrower_ref: string;
  borrower_phone: string;
  borrower_language: Generated<string>;
  currency: string;
  financed: number;
  terms: Json;
  consent_at: TsNull;
  consent_channel: string | null;
  consent_terms_version: string | null;
  status: 'active' | 'paid_off' | 'written_off' | 'returned';
  stage: string;
  stage_reason: string | null;
  stage_changed_at: TsNull;
  lock_reference: string;
  lock_at: TsNull;
  notice_index: number | null;
  oldest_unpaid_due_date: PlainDate | null;
  amount_overdue: number;
  outstanding: number;
  next_evaluation_at: TsNull;
  last_evaluated_on: PlainDate | null;
  manual_action: Json | null;
  policy_version: number;
  created_at: Ts;
  updated_at: Ts;
}

export interface InstallmentsTable {
  contract_id: string;
  n: number;
  due_date: PlainDate;
  principal: number;
  interest: number;
  fee: number;
  penalty: number;
  paid_principal: number;
  paid_interest: number;
  paid_fee: number;
  paid_penalty: number;
}

export interface PaymentsTable {
  id: string;
  lender_id: string;
  contract_id: string;
  external_ref: string;
  channel: string;
  amount: number;
  currency: string;
  received_at: Ts;
  posted_at: Ts;
  posted_by: string;
  reversed_at: TsNull;
  reversed_by: string | null;
  reversal_reason: string | null;
}

export interface PaymentChannelsTable {
  lender_id: string;
  channel: string;
  freshness_minutes: number;
  last_reported_at: TsNull;
}

export interface DisputesTable {
  id: string;
  contract_id: string;
  opened_at: Ts;
  opened_by: string;
  reason: string;
  resolved_at: TsNull;
  resolved_by: string | null;
}

export interface ClaimsTable {
  id: string;
  contract_id: string;
  device_id: string;
  lender_id: string;
  transaction_ref: string;
  amount: number;
  currency: string;
  paid_on: PlainDate;
  channel: string;
  receipt: Buffer | null;
  receipt_type: string | null;
  status: 'open' | 'approved' | 'rejected';
  message: string | null;
  created_at: Ts;
  decided_at: TsNull;
  decided_by: string | null;
}

export interface DeviceEventsTable {
  id: Generated<number>;
  device_id: string;
  kind: string;
  at: Ts;
  detail: Json | null;
  received_at: Ts;
}

export interface PoliciesTable {
  device_id: string;
  version: number;
  stage: string;
  body: Json;
  issued_at: Ts;
}

export interface SigningKeysTable {
  kid: string;
  public_key: string;
  private_key_enc: Buffer;
  active: boolean;
  created_at: Ts;
}

export interface TokensIssuedTable {
  id: string;
  device_id: string;
  lender_id: string;
  type: string;
  value: number | null;
  count: number;
  token: string;
  reason: string;
  issued_by: string;
  issued_at: Ts;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: Ts;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  lender_id: string | null;
  reason: string;
  data: Json;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  last_seq: number;
  last_hash: string;
}

export interface UsersTable {
  id: string;
  lender_id: string | null;
  email: string;
  name: string;
  password_hash: string;
  role: 'operator' | 'admin' | 'support' | 'agent' | 'viewer';
  created_at: Ts;
  disabled_at: TsNull;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  csrf_token: string;
  expires_at: Ts;
}

export interface ApiKeysTable {
  id: string;
  lender_id: string | null;
  name: string;
  key_hash: Buffer;
  scopes: Json;
  created_at: Ts;
  revoked_at: TsNull;
  last_used_at: TsNull;
}

export interface IdempotencyKeysTable {
  lender_id: string;
  key: string;
  request_hash: string;
  status_code: number;
  response: Json;
  created_at: Ts;
}

export interface WebhooksTable {
  id: string;
  lender_id: string;
  url: string;
  secret_enc: Buffer;
  events: Json;
  active: boolean;
  created_at: Ts;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: Json;
  status: string;
  attempts: number;
  next_attempt_at: TsNull;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Ts;
  delivered_at: TsNull;
}

export interface NotificationsTable {
  id: string;
  contract_id: string;
  kind: string;
  language: string;
  channel: string;
  recipient: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at: TsNull;
  last_error: string | null;
  created_at: Ts;
  sent_at: TsNull;
}

export interface SweepRunsTable {
  lender_id: string;
  business_date: PlainDate;
  claimed_by: string;
  started_at: Ts;
  finished_at: TsNull;
  cursor: string | null;
}

export interface RateLimitsTable {
  key: string;
  window_start: Ts;
  count: number;
}

export interface DB {
  lenders: LendersTable;
  devices: DevicesTable;
  contracts: ContractsTable;
  installments: InstallmentsTable;
  payments: PaymentsTable;
  payment_channels: PaymentChannelsTable;
  disputes: DisputesTable;
  claims: ClaimsTable;
  device_events: DeviceEventsTable;
  policies: PoliciesTable;
  signing_keys: SigningKeysTable;
  tokens_issued: TokensIssuedTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  notifications: NotificationsTable;
  sweep_runs: SweepRunsTable;
  rate_limits: RateLimitsTable;
}

export type { JSONColumnType };
