/**
 * The provisioning backend for AOSP's DeviceLockController (Android Device Lock), as use cases:
 * the gRPC server (server/dlc/) only translates messages to these calls and back. What each rpc
 * means for a Lien phone is in docs/android.md.
 *
 * Identity: the module names a phone by its IMEIs or MEIDs (and serial, though stock Android sends
 * none), never by a secret, so anyone holding an OEM build's API key can ask about an IMEI. The
 * answers therefore say no more than provisioning needs: whether to provision, retry or stop, and
 * the lender's public kiosk configuration.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import {
  inApprovedCountry,
  nextProvisionState,
  validateDeviceLockSettings,
  type AndroidDeviceLockSettings,
  type ProvisionFailureReason,
  type ProvisionState,
} from '../domain/android-device-lock.ts';
import { LienError } from '../domain/errors.ts';
import { decideProvisioning } from '../domain/provisioning.ts';
import { newId } from '../store/ids.ts';
import type { DB, DevicesTable } from '../store/schema.ts';
import type { Actor, Services } from './context.ts';
import { commit } from './unit-of-work.ts';

export type IdentifierType = 'UNSPECIFIED' | 'IMEI' | 'MEID' | 'SERIAL';
export interface DeviceIdentifier {
  type: IdentifierType;
  value: string;
}

export interface CheckinReport {
  identifiers: DeviceIdentifier[];
  carrierMccMnc: string | null;
  fcmToken: string | null;
  manufacturer: string | null;
  model: string | null;
  locale: string | null;
  apexVersion: number | null;
}

export interface ProvisioningInformation {
  configuration: {
    providerName: string;
    kioskAppPackage: string;
    kioskAppMainActivity: string;
    allowlistPackages: string[];
    enableOutgoingCalls: boolean;
    enableNotifications: boolean;
    disallowInstallingFromUnknownSources: boolean;
    termsUrl: string;
    supportUrl: string;
  };
  provisionType: 'DEFERRED' | 'MANDATORY';
  inApprovedCountry: boolean;
}

export type CheckinAnswer =
  | { status: 'STOP_CHECKIN'; deviceId: string | null }
  | { status: 'RETRY_CHECKIN'; deviceId: string | null; nextCheckinAt: Date }
  | { status: 'READY_FOR_PROVISION'; deviceId: string; provisioning: ProvisioningInformation };

/** How long a phone waits when Lien cannot decide yet (lender not configured, identifiers in conflict). */
const NOT_READY_RETRY_MS = 24 * 3_600_000;

type DeviceRow = Selectable<DevicesTable>;

function deviceActor(d: Pick<DeviceRow, 'id' | 'lender_id'>): Actor {
  return { kind: 'device', id: d.id, lenderId: d.lender_id };
}

/**
 * IMEIs match either IMEI of a phone; an MEID matches the first 14 digits of one (for a phone
 * with both, the MEID is the IMEI without its check digit); a serial matches the serial.
 */
async function findDevices(db: Kysely<DB>, ids: DeviceIdentifier[]): Promise<DeviceRow[]> {
  const imeis = ids.filter((i) => i.type === 'IMEI' && /^\d{15}$/.test(i.value)).map((i) => i.value);
  const meids = ids.filter((i) => i.type === 'MEID' && /^[0-9A-Fa-f]{14}$/.test(i.value)).map((i) => i.value.toUpperCase());
  const serials = ids.filter((i) => i.type === 'SERIAL' && i.value.length > 0).map((i) => i.value);
  if (!imeis.length && !meids.length && !serials.length) return [];
  return db
    .selectFrom('devices')
    .selectAll()
    .where((eb) =>
      eb.or([
        ...(imeis.length ? [eb('imei1', 'in', imeis), eb('imei2', 'in', imeis)] : []),
        ...(meids.length ? [eb(eb.fn('substr', ['imei1', eb.lit(1), eb.lit(14)]), 'in', meids), eb(eb.fn('substr', ['imei2', eb.lit(1), eb.lit(14)]), 'in', meids)] : []),
        ...(serials.length ? [eb('serial', 'in', serials)] : []),
      ]),
    )
    .limit(3)
    .execute();
}

async function deviceById(db: Kysely<DB>, deviceId: string): Promise<DeviceRow> {
  const d = await db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirst();
  if (!d) throw new LienError('not_found', `No device is registered as ${deviceId}.`);
  return d;
}

async function lenderSettings(db: Kysely<DB>, lenderId: string | null): Promise<{ name: string; settings: AndroidDeviceLockSettings | null }> {
  if (!lenderId) return { name: '', settings: null };
  const l = await db.selectFrom('lenders').select(['name', 'android_device_lock']).where('id', '=', lenderId).executeTakeFirstOrThrow();
  return { name: l.name, settings: l.android_device_lock ? validateDeviceLockSettings(l.android_device_lock) : null };
}

/** GetDeviceCheckinStatus: provision, retry at a time, or stop. */
export async function deviceLockCheckin(s: Services, r: CheckinReport): Promise<CheckinAnswer> {
  const now = s.clock.now();
  const found = await findDevices(s.db, r.identifiers);
  if (found.length === 0) return { status: 'STOP_CHECKIN', deviceId: null };
  if (found.length > 1) {
    // The identifiers name two registered phones: a manifest mistake. Never stop such a phone
    // (it may be financed); ask again tomorrow, when the registry may be corrected.
    return { status: 'RETRY_CHECKIN', deviceId: null, nextCheckinAt: new Date(now.getTime() + NOT_READY_RETRY_MS) };
  }
  const device = found[0]!;
  const answer = await decide(s, device, r, now);
  const reported = {
    checkin_status: answer.status,
    last_checkin_at: now,
    carrier_mccmnc: r.carrierMccMnc,
    device_model: r.model,
    device_manufacturer: r.manufacturer,
    device_locale: r.locale,
    apex_version: r.apexVersion,
    ...(r.fcmToken ? { fcm_token: r.fcmToken, fcm_token_at: now } : {}),
  };
  await commit(s, deviceActor(device), async (tx) => {
    await tx
      .insertInto('dlc_devices')
      .values({ device_id: device.id, ...reported })
      .onConflict((oc) => oc.column('device_id').doUpdateSet(reported))
      .execute();
    if (!device.first_contact_at) await tx.updateTable('devices').set({ first_contact_at: now }).where('id', '=', device.id).where('first_contact_at', 'is', null).execute();
    await tx.insertInto('device_events').values({ device_id: device.id, kind: 'dlc_checkin', at: now, received_at: now, detail: { status: answer.status } }).execute();
  });
  return answer;
}

async function decide(s: Services, device: DeviceRow, r: CheckinReport, now: Date): Promise<CheckinAnswer> {
  // Paid off: nothing left to enforce, also after a factory reset.
  if (device.released_at) return { status: 'STOP_CHECKIN', deviceId: device.id };
  const d = decideProvisioning({ saleStatus: device.sale_status, firstContactAt: device.first_contact_at, now, windowDays: s.provisioningWindowDays });
  if (d.kind === 'stop') return { status: 'STOP_CHECKIN', deviceId: device.id };
  if (d.kind === 'retry') return { status: 'RETRY_CHECKIN', deviceId: device.id, nextCheckinAt: d.retryAt };
  const lender = await lenderSettings(s.db, device.lender_id);
  if (!lender.settings) return { status: 'RETRY_CHECKIN', deviceId: device.id, nextCheckinAt: new Date(now.getTime() + NOT_READY_RETRY_MS) };
  const c = lender.settings;
  return {
    status: 'READY_FOR_PROVISION',
    deviceId: device.id,
    provisioning: {
      configuration: {
        providerName: lender.name,
        kioskAppPackage: c.kioskAppPackage,
        kioskAppMainActivity: c.kioskAppMainActivity,
        allowlistPackages: c.allowlistPackages,
        // Guardrail 1: calls (emergency, the lender) always work; the borrower sees notifications.
        enableOutgoingCalls: true,
        enableNotifications: true,
        disallowInstallingFromUnknownSources: true,
        termsUrl: c.termsUrl,
        supportUrl: `${s.publicUrl.replace(/\/+$/, '')}/portal`,
      },
      provisionType: c.provisionType,
      inApprovedCountry: inApprovedCountry(r.carrierMccMnc, c.approvedCountries),
    },
  };
}

/** IsDeviceInApprovedCountry. */
export async function deviceLockApprovedCountry(s: Services, deviceId: string, carrierMccMnc: string | null): Promise<boolean> {
  const device = await deviceById(s.db, deviceId);
  const { settings } = await lenderSettings(s.db, device.lender_id);
  return settings ? inApprovedCountry(carrierMccMnc, settings.approvedCountries) : false;
}

/** PauseDeviceProvisioning: the borrower deferred provisioning (DEFERRED provision type). */
export async function deviceLockPause(s: Services, deviceId: string, reason: string): Promise<void> {
  const device = await deviceById(s.db, deviceId);
  const now = s.clock.now();
  await commit(s, deviceActor(device), async (tx) => {
    await tx
      .insertInto('dlc_devices')
      .values({ device_id: device.id, paused_at: now, pauses: 1 })
      .onConflict((oc) => oc.column('device_id').doUpdateSet((eb) => ({ paused_at: now, pauses: eb(eb.ref('dlc_devices.pauses'), '+', 1) })))
      .execute();
    await tx.insertInto('device_events').values({ device_id: device.id, kind: 'dlc_paused', at: now, received_at: now, detail: { reason } }).execute();
  });
}

export interface ProvisionStateAnswer {
  next: ProvisionState;
  daysLeftUntilReset: number | null;
}

/** ReportDeviceProvisionState: records the report, answers the next state, announces a change. */
export async function deviceLockReportState(
  s: Services,
  deviceId: string,
  report: { previous: ProvisionState; success: boolean; failureReason: ProvisionFailureReason },
): Promise<ProvisionStateAnswer> {
  const owner = await deviceById(s.db, deviceId);
  return commit(s, deviceActor(owner), async (tx, fx) => {
    const now = fx.now;
    const device = await tx.selectFrom('devices').selectAll().where('id', '=', deviceId).forUpdate().executeTakeFirstOrThrow();
    const { settings } = await lenderSettings(tx, device.lender_id);
    const row = await tx.selectFrom('dlc_devices').selectAll().where('device_id', '=', device.id).executeTakeFirst();
    const step = nextProvisionState({
      previous: report.previous,
      success: report.success,
      firstFailureAt: row?.first_failure_at ?? null,
      now,
      daysUntilReset: settings?.daysUntilReset ?? 7,
    });
    const before = (row?.provision_state ?? 'UNSPECIFIED') as ProvisionState;
    const columns = {
      provision_state: step.next,
      failure_reason: report.success ? null : report.failureReason,
      first_failure_at: step.firstFailureAt,
      days_left_until_reset: step.daysLeftUntilReset,
      state_changed_at: step.next !== before ? now : (row?.state_changed_at ?? now),
      ...(report.success ? { provisioned_at: now } : {}),
    };
    await tx
      .insertInto('dlc_devices')
      .values({ device_id: device.id, ...columns, failures: report.success ? 0 : 1 })
      .onConflict((oc) => oc.column('device_id').doUpdateSet((eb) => ({ ...columns, failures: report.success ? eb.ref('dlc_devices.failures') : eb(eb.ref('dlc_devices.failures'), '+', 1) })))
      .execute();
    const detail = { state: step.next, previousState: before, success: report.success, failureReason: report.success ? null : report.failureReason, daysLeftUntilReset: step.daysLeftUntilReset };
    await tx.insertInto('device_events').values({ device_id: device.id, kind: 'dlc_provision_state', at: now, received_at: now, detail }).execute();
    if (step.next !== before) {
      await fx.audit({
        action: 'device.provision_state_changed',
        subjectType: 'device',
        subjectId: device.id,
        lenderId: device.lender_id,
        reason: report.success ? 'Android Device Lock provisioned the phone' : `Android Device Lock provisioning failed: ${report.failureReason}`,
        data: detail,
      });
      if (device.lender_id) await fx.webhook({ lenderId: device.lender_id, type: 'device.provision_state_changed', data: { deviceId: device.id, ...detail } });
    }
    return { next: step.next, daysLeftUntilReset: step.daysLeftUntilReset };
  });
}

/** UpdateFcmToken: false when the identifiers name no single registered phone. */
export async function deviceLockUpdateFcmToken(s: Services, identifiers: DeviceIdentifier[], token: string): Promise<boolean> {
  const found = await findDevices(s.db, identifiers);
  if (found.length !== 1) return false;
  await commit(s, deviceActor(found[0]!), async (tx, fx) => {
    await tx
      .insertInto('dlc_devices')
      .values({ device_id: found[0]!.id, fcm_token: token, fcm_token_at: fx.now })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ fcm_token: token, fcm_token_at: fx.now }))
      .execute();
  });
  return true;
}

/**
 * ReportDeviceProgramComplete: the kiosk app cleared the phone's restrictions. Expected only
 * once the contract is paid off and the phone released; any other report is refused (conflict)
 * and audited, since it means a kiosk app lifted restrictions the lender did not release.
 */
export async function deviceLockProgramComplete(s: Services, deviceId: string): Promise<void> {
  const owner = await deviceById(s.db, deviceId);
  const refused = await commit(s, deviceActor(owner), async (tx, fx) => {
    const now = fx.now;
    const device = await tx.selectFrom('devices').selectAll().where('id', '=', deviceId).forUpdate().executeTakeFirstOrThrow();
    const released = device.released_at !== null;
    await fx.audit({
      action: released ? 'device.program_completed' : 'device.program_complete_refused',
      subjectType: 'device',
      subjectId: device.id,
      lenderId: device.lender_id,
      reason: released ? 'Android Device Lock reported the program complete after payoff' : 'Android Device Lock reported the program complete, but the phone is not released',
      data: { releasedAt: device.released_at?.toISOString() ?? null },
    });
    await tx.insertInto('device_events').values({ device_id: device.id, kind: released ? 'dlc_program_complete' : 'dlc_program_complete_refused', at: now, received_at: now, detail: {} }).execute();
    if (!released) return true;
    await tx
      .insertInto('dlc_devices')
      .values({ device_id: device.id, program_completed_at: now })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ program_completed_at: now }))
      .execute();
    if (device.lender_id) await fx.webhook({ lenderId: device.lender_id, type: 'device.program_completed', data: { deviceId: device.id } });
    return false;
  });
  if (refused) throw new LienError('conflict', `Device ${deviceId} is not paid off; its program cannot be complete.`);
}

/** What the console shows of a phone's Device Lock module; null when it never checked in. */
export async function deviceLockState(db: Kysely<DB>, deviceId: string) {
  return (await db.selectFrom('dlc_devices').selectAll().where('device_id', '=', deviceId).executeTakeFirst()) ?? null;
}

// ---------------------------------------------------------------------------------------------
// API keys for OEM builds

/** gRPC metadata keys: lower case, no `grpc-` prefix, not a binary (`-bin`) entry. */
const METADATA_NAME = /^(?!grpc-)[a-z0-9][a-z0-9_.-]{0,62}$/;

function hashKey(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export interface DlcKey {
  id: string;
  metadataName: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/**
 * A key for an OEM build's overlay (check_in_service_api_key_name/_value and the finalize pair).
 * The value is returned once and stored as a SHA-256 hash (a long random string needs no slow hash).
 */
export async function createDlcKey(s: Services, actor: Actor, metadataName: string): Promise<DlcKey & { value: string }> {
  const name = metadataName.trim().toLowerCase();
  if (!METADATA_NAME.test(name) || name.endsWith('-bin')) {
    throw new LienError('invalid_input', 'The metadata name is 1–63 lower-case letters, digits, "-", "_" or "."; it may not start with "grpc-" or end with "-bin" (e.g. x-lien-dlc-key).', { field: 'name' });
  }
  const now = s.clock.now();
  const id = newId('dlck');
  const value = `lien_dlc_${randomBytes(24).toString('base64url')}`;
  await commit(s, actor, async (tx, fx) => {
    await tx.insertInto('dlc_api_keys').values({ id, metadata_name: name, key_hash: hashKey(value), created_at: now, created_by: `${actor.kind}:${actor.id}` }).execute();
    await fx.audit({ action: 'dlc_api_key.created', subjectType: 'dlc_api_key', subjectId: id, lenderId: null, reason: `Android Device Lock API key for metadata ${name}`, data: { metadataName: name } });
  });
  return { id, metadataName: name, value, createdAt: now.toISOString(), revokedAt: null, lastUsedAt: null };
}

export async function listDlcKeys(db: Kysely<DB>): Promise<DlcKey[]> {
  const rows = await db.selectFrom('dlc_api_keys').select(['id', 'metadata_name', 'created_at', 'revoked_at', 'last_used_at']).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, metadataName: r.metadata_name, createdAt: r.created_at.toISOString(), revokedAt: r.revoked_at?.toISOString() ?? null, lastUsedAt: r.last_used_at?.toISOString() ?? null }));
}

export async function revokeDlcKey(s: Services, actor: Actor, id: string): Promise<void> {
  await commit(s, actor, async (tx, fx) => {
    const r = await tx.updateTable('dlc_api_keys').set({ revoked_at: fx.now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new LienError('not_found', `No active Android Device Lock API key ${id}.`);
    await fx.audit({ action: 'dlc_api_key.revoked', subjectType: 'dlc_api_key', subjectId: id, lenderId: null, reason: 'revoked' });
  });
}

/**
 * Finds the active key a call carries: for each active key, its metadata entry must be present
 * and hash to the stored hash. Returns the key id, or null. Active keys are few (one per OEM).
 */
export async function authenticateDlcCall(s: Services, metadata: (name: string) => string | undefined): Promise<string | null> {
  const keys = await s.db.selectFrom('dlc_api_keys').select(['id', 'metadata_name', 'key_hash']).where('revoked_at', 'is', null).execute();
  for (const k of keys) {
    const given = metadata(k.metadata_name);
    if (given === undefined) continue;
    if (timingSafeEqual(hashKey(given), Buffer.from(k.key_hash))) {
      await s.db.updateTable('dlc_api_keys').set({ last_used_at: s.clock.now() }).where('id', '=', k.id).execute();
      return k.id;
    }
  }
  return null;
}
