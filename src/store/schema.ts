import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * What a json/jsonb column accepts on write: JSON text, or an object that the driver
 * stringifies. Not a bare array: node-postgres turns JS arrays into Postgres array literals,
 * which jsonb rejects — write `JSON.stringify(array)` instead (the type enforces it).
 */
export type JsonWrite = string | { [k: string]: unknown } | (object & { length?: never });
/** json/jsonb columns read back parsed on both drivers. */
export type Json<T = unknown> = ColumnType<T, JsonWrite, JsonWrite>;
type JsonDefault<T = unknown> = ColumnType<T, JsonWrite | undefined, JsonWrite>;
type JsonNull<T = unknown> = ColumnType<T | null, JsonWrite | null | undefined, JsonWrite | null>;

/** timestamptz: a Date on read; a Date or ISO text on write. */
type Ts = ColumnType<Date, Date | string, Date | string>;
type TsNull = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** date columns read as 'YYYY-MM-DD' text on both drivers, never a Date (no time-zone shifts). */
export type PlainDate = string;
/** int8 columns read as numbers (minor units, counters: always safe integers). */
type Int8 = number;

export type SaleStatus = 'unsold' | 'retail' | 'financed';
export type { ContractStatus } from '../domain/stage.ts';
import type { ContractStatus } from '../domain/stage.ts';
export type ClaimStatus = 'open' | 'approved' | 'rejected';
export type { UserRole } from '../domain/roles.ts';
import type { UserRole } from '../domain/roles.ts';
import type { ComplianceProfile } from '../domain/compliance.ts';
import type { Component } from '../domain/allocation.ts';
import type { AndroidDeviceLockSettings } from '../domain/android-device-lock.ts';
import type { ManualAction, Stage } from '../domain/stage.ts';
import type { LenderTexts, ScreenNote } from '../protocol/index.ts';

export interface LendersTable {
  id: string;
  name: string;
  support_phone: string;
  support_url: string;
  support_hours: string | null;
  how_to_pay: string;
  currency: string;
  time_zone: string;
  /** Validated on the way in (src/services/settings.ts); the engine validates it again before use. */
  compliance_profile: Json<ComplianceProfile>;
  /** Allocation order within an installment, e.g. ["penalty","fee","interest","principal"]. */
  allocation_order: JsonDefault<readonly Component[]>;
  created_at: Ts;
  /** Android Device Lock configuration (migration 0012); null until set. */
  android_device_lock: JsonNull<AndroidDeviceLockSettings>;
  /** The SMS provider (migration 0040): { type, senderId, username | accountSid | url, baseUrl }; null sends through the server's default. */
  sms_provider: JsonNull<Record<string, string>>;
  /** The provider's API key / auth token / bearer token, sealed (aad `sms-provider:<lender id>`). */
  sms_secret_enc: Generated<Buffer | null>;
  /** BCP 47 locale for dates and numbers in the console (migration 0050). */
  locale: Generated<string>;
  /** How-to-pay, support hours and standing message per language; the columns above are the fallback. */
  texts: JsonDefault<LenderTexts>;
  lock_message: string | null;
}

export interface DevicesTable {
  id: string;
  imei1: string;
  imei2: string | null;
  serial: string;
  model: string;
  /** The 32-byte factory secret sealed with the master key (aad `factory-secret:<serial>`). */
  factory_secret_enc: Buffer;
  sale_status: ColumnType<SaleStatus, SaleStatus | undefined, SaleStatus>;
  lender_id: string | null;
  enrolled_at: TsNull;
  /** The session credential sealed with the master key (aad `credential:<device id>`). */
  credential_enc: Buffer | null;
  credential_version: Generated<number>;
  last_counter: Generated<Int8>;
  last_seen_at: TsNull;
  agent_version: string | null;
  policy_version_held: Generated<number>;
  /** Server side OpenPAYGO token count. */
  token_counter: Generated<number>;
  token_used_counts: JsonDefault<Record<string, number>>;
  released_at: TsNull;
  created_at: Ts;
  /** First time the phone proved its factory secret (migration 0010); the provisioning window counts from it. */
  first_contact_at: TsNull;
  /** Enrollment proofs that did not hold, counted (migration 0010). */
  enroll_failures: Generated<number>;
  last_enroll_failure_at: TsNull;
}

/** Nonces that enrolled a phone, until they expire (migration 0010). */
export interface EnrollNoncesTable {
  nonce_hash: Buffer;
  device_id: string;
  expires_at: Ts;
}

export interface ContractsTable {
  id: string;
  lender_id: string;
  device_id: string;
  borrower_ref: string;
  borrower_phone: string;
  borrower_language: Generated<string>;
  currency: string;
  financed: Int8;
  /** The schedule inputs the installments were built from. */
  terms: Json<Record<string, unknown>>;
  consent_at: TsNull;
  consent_channel: string | null;
  consent_terms_version: string | null;
  status: ColumnType<ContractStatus, ContractStatus | undefined, ContractStatus>;
  stage: ColumnType<Stage, Stage | undefined, Stage>;
  stage_reason: string | null;
  stage_changed_at: TsNull;
  lock_reference: string;
  lock_at: TsNull;
  notice_index: number | null;
  /** Due date of the oldest installment not fully paid; the sweep computes DPD from it. */
  oldest_unpaid_due_date: PlainDate | null;
  amount_overdue: Generated<Int8>;
  outstanding: Generated<Int8>;
  next_evaluation_at: TsNull;
  last_evaluated_on: PlainDate | null;
  manual_action: JsonNull<ManualAction>;
  /** The lender note the phone shows now, as its policy carries it. */
  screen_note: JsonNull<ScreenNote>;
  policy_version: Generated<number>;
  created_at: Ts;
  updated_at: Ts;
  /** Who sold it (an actor, e.g. `user:usr_…`, the dealer); migration 0050. */
  sold_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface InstallmentsTable {
  contract_id: string;
  n: number;
  due_date: PlainDate;
  principal: Int8;
  interest: Generated<Int8>;
  fee: Generated<Int8>;
  penalty: Generated<Int8>;
  paid_principal: Generated<Int8>;
  paid_interest: Generated<Int8>;
  paid_fee: Generated<Int8>;
  paid_penalty: Generated<Int8>;
}

export interface PaymentsTable {
  id: string;
  lender_id: string;
  contract_id: string;
  /** Receipt number / mobile money transaction id; unique per lender. */
  external_ref: string;
  channel: string;
  amount: Int8;
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
  /** New locks for the lender are held when the channel has not reported within this window. */
  freshness_minutes: number;
  last_reported_at: TsNull;
  /** Appears in the channel's callback URLs (migration 0040). */
  id: Generated<string>;
  type: ColumnType<PaymentChannelType, PaymentChannelType | undefined, PaymentChannelType>;
  /** Provider account identifiers: { shortCode } for M-Pesa, { accountId } for Razorpay. */
  account: JsonDefault<Record<string, string>>;
  /** { baseUrl, allowFrom, environment }: see src/services/rails/channels.ts. */
  options: JsonDefault<Record<string, unknown>>;
  /** The channel's secrets as JSON, sealed (aad `payment-channel:<id>`). */
  secrets_enc: Buffer | null;
}

export type PaymentChannelType = 'mpesa_c2b' | 'razorpay' | 'signed_webhook' | 'manual';

/** Provider events a channel took, keyed by the provider's id (migration 0040). */
export interface RailReceiptsTable {
  channel_id: string;
  provider_ref: string;
  lender_id: string;
  kind: string;
  outcome: 'posted' | 'suspense' | 'recorded';
  payment_id: string | null;
  suspense_id: string | null;
  payload: Json;
  received_at: Ts;
}

export type SuspenseReason = 'unknown_reference' | 'currency_mismatch' | 'contract_closed' | 'amount_not_positive';
export type SuspenseStatus = 'open' | 'assigned' | 'refunded';

/** Money that arrived on a rail and matched no open contract (migration 0040). */
export interface SuspensePaymentsTable {
  id: string;
  lender_id: string;
  channel_id: string;
  channel: string;
  external_ref: string;
  reference: string;
  amount: Int8;
  currency: string;
  reason: SuspenseReason;
  payload: Json;
  status: ColumnType<SuspenseStatus, SuspenseStatus | undefined, SuspenseStatus>;
  contract_id: string | null;
  payment_id: string | null;
  resolved_at: TsNull;
  resolved_by: string | null;
  note: string | null;
  received_at: Ts;
  created_at: Ts;
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
  amount: Int8;
  currency: string;
  paid_on: PlainDate;
  channel: string;
  receipt: Buffer | null;
  receipt_type: string | null;
  status: ColumnType<ClaimStatus, ClaimStatus | undefined, ClaimStatus>;
  message: string | null;
  created_at: Ts;
  decided_at: TsNull;
  decided_by: string | null;
  /** Short number the borrower holds (migration 0003); null on older claims. */
  number: ColumnType<string | null, string | null | undefined, string | null>;
  /** This claim lifted the contract's lock while open (migration 0022). */
  lifts_lock: Generated<boolean>;
}

export interface DeviceEventsTable {
  id: Generated<Int8>;
  device_id: string;
  kind: string;
  at: Ts;
  detail: JsonNull;
  received_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface PoliciesTable {
  device_id: string;
  version: number;
  stage: string;
  /** The signed policy as sent to the device. */
  body: Json;
  issued_at: Ts;
  /** When a check-in renews the offline deadline (policy.offlineLockAt minus half the profile's offline days). */
  offline_renew_at: Ts | null;
  /** On a policy that lifts a lock because of a payment: when that payment committed. */
  unlock_payment_at: TsNull;
  /** When the phone first reported holding that policy (set only where unlock_payment_at is). */
  unlock_reported_at: TsNull;
}

export interface SigningKeysTable {
  kid: string;
  public_key: string;
  private_key_enc: Buffer;
  active: Generated<boolean>;
  created_at: Ts;
  /** The key-rotation statement vouching for this key (migration 0011); null for the first key. */
  endorsement: JsonNull;
  /** Order of creation (an identity column): the chain of statements follows it. */
  position: Generated<number>;
}

export interface DlcApiKeysTable {
  id: string;
  /** The gRPC metadata entry name the OEM overlay sends the key under. */
  metadata_name: string;
  key_hash: Buffer;
  created_at: Ts;
  created_by: string;
  revoked_at: TsNull;
  last_used_at: TsNull;
}

/** What a phone's DeviceLockController last reported (migration 0012). */
export interface DlcDevicesTable {
  device_id: string;
  checkin_status: string | null;
  last_checkin_at: TsNull;
  carrier_mccmnc: string | null;
  device_model: string | null;
  device_manufacturer: string | null;
  device_locale: string | null;
  apex_version: Int8 | null;
  provision_state: Generated<string>;
  failure_reason: string | null;
  failures: Generated<number>;
  first_failure_at: TsNull;
  days_left_until_reset: number | null;
  provisioned_at: TsNull;
  state_changed_at: TsNull;
  paused_at: TsNull;
  pauses: Generated<number>;
  fcm_token: string | null;
  fcm_token_at: TsNull;
  program_completed_at: TsNull;
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
  seq: Generated<Int8>;
  at: Ts;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  lender_id: string | null;
  reason: string;
  data: Json<Record<string, unknown>>;
  /** The chain the entry belongs to: its lender id, or '' for the platform (generated). */
  chain: ColumnType<string, never, never>;
  /**
   * Position in the chain, predecessor's hash and own hash: set by the database when the
   * entry's transaction commits (null only when read back inside that transaction).
   */
  chain_pos: ColumnType<Int8 | null, never, never>;
  prev_hash: ColumnType<string | null, never, never>;
  hash: ColumnType<string | null, never, never>;
}

/** One row per audit chain: where the next entry links on. Maintained by the database. */
export interface AuditHeadTable {
  chain: string;
  last_pos: Int8;
  last_seq: Int8;
  last_hash: string;
}

export interface UsersTable {
  id: string;
  /** null for the platform operator's own users. */
  lender_id: string | null;
  email: string;
  name: string;
  password_hash: string;
  role: UserRole;
  created_at: Ts;
  disabled_at: TsNull;
}

export interface SessionsTable {
  /** sha256 (hex) of the session token; the token itself is only in the cookie. */
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
  active: Generated<boolean>;
  created_at: Ts;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: Json;
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: TsNull;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Ts;
  delivered_at: TsNull;
}

/** A lender note sent to a phone's screen (the history; contracts.screen_note is the current one). */
export interface DeviceMessagesTable {
  id: string;
  lender_id: string;
  device_id: string;
  contract_id: string;
  template: string;
  params: JsonDefault<ScreenNote['params']>;
  texts: JsonDefault<Record<string, string>>;
  /** The first policy version that carries it: the phone has it once it holds this version. */
  policy_version: number;
  created_by: string;
  created_at: Ts;
}

export interface NotificationsTable {
  id: string;
  contract_id: string;
  kind: string;
  language: string;
  channel: string;
  recipient: string;
  body: string;
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: TsNull;
  last_error: string | null;
  created_at: Ts;
  sent_at: TsNull;
  /** Which provider took it and its message id, for its delivery reports (migration 0040). */
  provider: Generated<string | null>;
  provider_message_id: Generated<string | null>;
  delivery_status: Generated<'delivered' | 'failed' | null>;
  delivery_detail: Generated<string | null>;
  delivered_at: Generated<Date | null>;
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
  count: Generated<number>;
}

/** Sign-in throttling per account+address and per address (migration 0020). */
export interface SigninThrottleTable {
  key: string;
  failures: number;
  blocked_until: Ts;
  last_failure_at: Ts;
}

/** Whether audit entries chained before the keyed chain still await re-chaining (migration 0021). */
export interface AuditRekeyTable {
  only_row: Generated<boolean>;
  pending: boolean;
}

/** Import jobs and their progress (migration 0023). */
export interface ImportJobsTable {
  id: string;
  lender_id: string;
  kind: string;
  dry_run: boolean;
  state: string;
  phase: string;
  total: Generated<number>;
  processed: Generated<number>;
  written: Generated<number>;
  policies_issued: Generated<number>;
  message: string | null;
  errors: ColumnType<unknown, string | undefined, string>;
  created_at: Ts;
  finished_at: TsNull;
  heartbeat_at: Ts;
}

/** A bulk action on a filtered selection of devices and its progress (migration 0050). */
export interface BulkJobsTable {
  id: string;
  lender_id: string;
  action: string;
  params: Json<Record<string, unknown>>;
  filter: Json<Record<string, unknown>>;
  device_ids: Json<string[]>;
  state: string;
  total: number;
  processed: Generated<number>;
  succeeded: Generated<number>;
  failed: Generated<number>;
  errors: JsonDefault<{ deviceId: string; message: string }[]>;
  created_by: string;
  created_at: Ts;
  /** Last time the job's process wrote progress: a running job silent for long has lost its process. */
  progress_at: Ts;
  finished_at: TsNull;
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
  device_messages: DeviceMessagesTable;
  sweep_runs: SweepRunsTable;
  rate_limits: RateLimitsTable;
  enroll_nonces: EnrollNoncesTable;
  dlc_api_keys: DlcApiKeysTable;
  dlc_devices: DlcDevicesTable;
  signin_throttle: SigninThrottleTable;
  audit_rekey: AuditRekeyTable;
  import_jobs: ImportJobsTable;
  rail_receipts: RailReceiptsTable;
  suspense_payments: SuspensePaymentsTable;
  bulk_jobs: BulkJobsTable;
}

export type Lender = Selectable<LendersTable>;
export type NewLender = Insertable<LendersTable>;
export type LenderPatch = Updateable<LendersTable>;
export type Device = Selectable<DevicesTable>;
export type NewDevice = Insertable<DevicesTable>;
export type Contract = Selectable<ContractsTable>;
export type NewContract = Insertable<ContractsTable>;
export type Installment = Selectable<InstallmentsTable>;
export type NewInstallment = Insertable<InstallmentsTable>;
export type Payment = Selectable<PaymentsTable>;
export type NewPayment = Insertable<PaymentsTable>;
export type AuditRow = Selectable<AuditLogTable>;
