import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Android Device Lock interop (issue #13): the provisioning backend for AOSP's
 * DeviceLockController.
 * - `lenders.android_device_lock`: the lender's configuration handed to phones (kiosk app,
 *   allowlist, provision type, approved countries…); null until the lender sets it.
 * - `dlc_api_keys`: the gRPC metadata keys OEM builds authenticate with, hashed; revocable.
 * - `dlc_devices`: per phone, what its DeviceLockController last reported (provision state,
 *   failures, pauses, FCM token, program completion).
 */
export const androidDeviceLock: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE lenders ADD COLUMN android_device_lock jsonb`.execute(db);
    await sql`CREATE TABLE dlc_api_keys (
      id text PRIMARY KEY,
      metadata_name text NOT NULL,
      key_hash bytea NOT NULL UNIQUE,
      created_at timestamptz NOT NULL,
      created_by text NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz
    )`.execute(db);
    await sql`CREATE TABLE dlc_devices (
      device_id text PRIMARY KEY REFERENCES devices (id),
      checkin_status text,
      last_checkin_at timestamptz,
      carrier_mccmnc text,
      device_model text,
      device_manufacturer text,
      device_locale text,
      apex_version bigint,
      provision_state text NOT NULL DEFAULT 'UNSPECIFIED',
      failure_reason text,
      failures integer NOT NULL DEFAULT 0,
      first_failure_at timestamptz,
      days_left_until_reset integer,
      provisioned_at timestamptz,
      state_changed_at timestamptz,
      paused_at timestamptz,
      pauses integer NOT NULL DEFAULT 0,
      fcm_token text,
      fcm_token_at timestamptz,
      program_completed_at timestamptz
    )`.execute(db);
  },
};
