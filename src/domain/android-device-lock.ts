/**
 * Android Device Lock (AOSP's DeviceLockController) seen from the lender's side: the settings a
 * lender gives phones, how a provisioning failure escalates towards a factory reset, and which
 * countries a phone may be provisioned in. Pure: no I/O, no clock reads.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { LienError } from './errors.ts';

const ANDROID_PACKAGE = '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$';
/** `com.lender.kiosk/.PayActivity` or `com.lender.kiosk/com.lender.kiosk.PayActivity`. */
const COMPONENT = '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+/\\.?[A-Za-z][A-Za-z0-9_$]*(\\.[A-Za-z][A-Za-z0-9_$]*)*$';
export const DEFAULT_DAYS_UNTIL_RESET = 7;

/** A lender's Device Lock configuration (lenders.android_device_lock). */
export const AndroidDeviceLockSettingsSchema = Type.Object(
  {
    /** The lender's kiosk app, which speaks Lien's device protocol and calls DeviceLockManager. */
    kioskAppPackage: Type.String({ pattern: ANDROID_PACKAGE, maxLength: 255 }),
    kioskAppMainActivity: Type.String({ pattern: COMPONENT, maxLength: 400 }),
    /** Apps usable while locked besides the kiosk app (a mobile-money app to pay with, say). */
    allowlistPackages: Type.Array(Type.String({ pattern: ANDROID_PACKAGE, maxLength: 255 }), { maxItems: 50, default: [] }),
    termsUrl: Type.String({ pattern: '^https://\\S{1,290}$' }),
    /** DEFERRED: after the setup wizard, the borrower may pause; MANDATORY: during it. */
    provisionType: Type.Union([Type.Literal('DEFERRED'), Type.Literal('MANDATORY')], { default: 'DEFERRED' }),
    /** Mobile country codes the phone may be provisioned in; empty = anywhere. */
    approvedCountries: Type.Array(Type.String({ pattern: '^[0-9]{3}$' }), { maxItems: 50, default: [] }),
    /** Days from the first provisioning failure until the phone is told to factory reset. */
    daysUntilReset: Type.Integer({ minimum: 2, maximum: 60, default: DEFAULT_DAYS_UNTIL_RESET }),
  },
  { additionalProperties: false },
);
export type AndroidDeviceLockSettings = Static<typeof AndroidDeviceLockSettingsSchema>;

/** Checks a lender's settings (defaults filled in); throws invalid_input naming the field. */
export function validateDeviceLockSettings(input: unknown): AndroidDeviceLockSettings {
  const withDefaults = Value.Default(AndroidDeviceLockSettingsSchema, structuredClone(input ?? {}));
  if (Value.Check(AndroidDeviceLockSettingsSchema, withDefaults)) {
    const s = withDefaults as AndroidDeviceLockSettings;
    if (!s.kioskAppMainActivity.startsWith(`${s.kioskAppPackage}/`)) {
      throw new LienError('invalid_input', `androidDeviceLock.kioskAppMainActivity must be an activity of ${s.kioskAppPackage} (package/activity).`, { field: 'androidDeviceLock.kioskAppMainActivity' });
    }
    return { ...s, allowlistPackages: [...new Set(s.allowlistPackages)], approvedCountries: [...new Set(s.approvedCountries)] };
  }
  const first = [...Value.Errors(AndroidDeviceLockSettingsSchema, withDefaults)][0]!;
  const field = `androidDeviceLock${first.instancePath.replaceAll('/', '.')}`;
  throw new LienError('invalid_input', `${field}: ${first.message}.`, { field });
}

/** Whether a SIM's MCC+MNC is in one of the approved countries (empty list: every country). */
export function inApprovedCountry(carrierMccMnc: string | null | undefined, approved: readonly string[]): boolean {
  if (approved.length === 0) return true;
  const mcc = /^[0-9]{5,6}$/.test(carrierMccMnc ?? '') ? carrierMccMnc!.slice(0, 3) : null;
  return mcc !== null && approved.includes(mcc);
}

// ---------------------------------------------------------------------------------------------
// Provision state (ReportDeviceProvisionState)

export const PROVISION_STATES = ['UNSPECIFIED', 'RETRY', 'DISMISSIBLE_UI', 'PERSISTENT_UI', 'FACTORY_RESET', 'SUCCESS'] as const;
export type ProvisionState = (typeof PROVISION_STATES)[number];

export const PROVISION_FAILURE_REASONS = [
  'UNSPECIFIED',
  'PLAY_TASK_UNAVAILABLE',
  'PLAY_INSTALLATION_FAILED',
  'COUNTRY_INFO_UNAVAILABLE',
  'NOT_IN_ELIGIBLE_COUNTRY',
  'POLICY_ENFORCEMENT_FAILED',
  'DEADLINE_PASSED',
] as const;
export type ProvisionFailureReason = (typeof PROVISION_FAILURE_REASONS)[number];

export interface ProvisionReport {
  /** The state the server last gave this phone, as the phone reports it. */
  previous: ProvisionState;
  success: boolean;
  /** When this phone first reported a failure (kept by the server); null before. */
  firstFailureAt: Date | null;
  now: Date;
  daysUntilReset: number;
}

export interface ProvisionStep {
  next: ProvisionState;
  /** Whole days left before the phone is told to factory reset; null on success. */
  daysLeftUntilReset: number | null;
  firstFailureAt: Date | null;
}

const DAY_MS = 86_400_000;

/**
 * What a phone that failed to provision (the kiosk app could not be installed, policies could
 * not be set…) is told next. The first failure is retried quietly; after that the borrower is
 * told, dismissibly while more than a day is left, then with a notice that stays, and when the
 * days run out the phone is told to reset (a financed phone that cannot be provisioned cannot be
 * enforced; a reset runs provisioning again in the setup wizard). The days count from the first
 * failure on the server's clock, so a phone that reports quickly cannot skip them, and a success
 * at any point ends it.
 */
export function nextProvisionState(r: ProvisionReport): ProvisionStep {
  if (r.success) return { next: 'SUCCESS', daysLeftUntilReset: null, firstFailureAt: null };
  const first = r.firstFailureAt ?? r.now;
  const daysLeft = Math.max(0, r.daysUntilReset - Math.floor((r.now.getTime() - first.getTime()) / DAY_MS));
  const escalated: ProvisionState = daysLeft > 1 ? 'DISMISSIBLE_UI' : daysLeft === 1 ? 'PERSISTENT_UI' : 'FACTORY_RESET';
  let next: ProvisionState;
  switch (r.previous) {
    case 'UNSPECIFIED':
    case 'SUCCESS':
      next = daysLeft > 0 ? 'RETRY' : 'FACTORY_RESET';
      break;
    case 'RETRY':
    case 'DISMISSIBLE_UI':
      next = escalated;
      break;
    case 'PERSISTENT_UI':
      // Never back to dismissible: the borrower has been told the reset is near.
      next = daysLeft > 0 ? 'PERSISTENT_UI' : 'FACTORY_RESET';
      break;
    case 'FACTORY_RESET':
      next = 'FACTORY_RESET';
  }
  return { next, daysLeftUntilReset: daysLeft, firstFailureAt: first };
}
