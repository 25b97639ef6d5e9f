/**
 * Compliance profiles: the lender-chosen timetable of reminders, notices, restriction and lock
 * (DESIGN.md §4), validated before anything enforces it.
 *
 * A profile only tunes *when* things happen. The platform guardrails are not profile data: the
 * stage engine enforces them whatever the profile says, and `validateProfile` rejects any profile
 * that tries to configure them, so a lender never believes it switched one off.
 */
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { LienError } from './errors.ts';

export interface NoticeRule {
  /** Days past due (after grace) from which this notice is issued. */
  readonly atDpd: number;
  /** Days the borrower has to pay, counted from the moment the device displayed the notice. */
  readonly cureDays: number;
}

export interface RestrictedAllowances {
  /** Ordinary calls. Emergency calls and the lender's support number work in every stage. */
  readonly calls: boolean;
  readonly sms: boolean;
  /** Android package names still usable while restricted (e.g. a mobile-money app to pay with). */
  readonly apps: readonly string[];
}

/**
 * How a flat-rate contract paid off early is charged for interest not yet earned: `none` (the
 * whole scheduled interest is due), `actuarial` (the remaining payments discounted at the
 * contract's effective rate: only interest earned to the payoff date is due) or `rule_of_78`
 * (the sum-of-digits rebate). Declining-balance contracts always pay interest accrued to the
 * date (Fineract's foreclosure), whatever this says.
 */
export const REBATE_RULES = ['none', 'actuarial', 'rule_of_78'] as const;
export type RebateRule = (typeof REBATE_RULES)[number];

/** Defaults of the fields a stored profile may predate. */
export const DEFAULT_CLAIM_LIFT_WINDOW_DAYS = 7;
export const DEFAULT_EARLY_PAYOFF_REBATE: RebateRule = 'actuarial';

export interface ComplianceProfile {
  readonly id: string;
  readonly name: string;
  /** Days before a due date on which the borrower is reminded; sorted descending. */
  readonly reminderDaysBeforeDue: readonly number[];
  /** In order: notice 0 first, each later one only after the previous one's cure period. */
  readonly notices: readonly NoticeRule[];
  readonly minNoticeHoursBeforeLock: number;
  /** DPD from which the device is restricted; null = no restricted stage, straight to lock. */
  readonly restrictedAtDpd: number | null;
  readonly lockAtDpd: number;
  readonly restrictedAllows: RestrictedAllowances;
  /** Days a device may stay offline before it locks on its own. */
  readonly offlineLockDays: number;
  readonly graceDays: number;
  /**
   * A payment claim covering the overdue amount lifts an existing lock at most once per contract
   * in this many days; other claims only hold escalation. 0: a claim never lifts a lock.
   */
  readonly claimLiftWindowDays: number;
  /** The rebate rule for flat-rate contracts paid off early. */
  readonly earlyPayoffRebate: RebateRule;
}

/**
 * Platform floor for the notice period. A day is the shortest time in which a borrower can be
 * expected to see a notice, reach a payment point and pay; shorter would make the notice a
 * formality. Profiles may only ask for more.
 */
export const MIN_NOTICE_HOURS_FLOOR = 24;

/**
 * Platform floor for the offline lock. A paying borrower can be out of network for days (travel,
 * no airtime, broken SIM); a week offline is not evidence of default.
 */
export const MIN_OFFLINE_LOCK_DAYS = 7;

const MAX_DPD = 3650;

/**
 * Field names that would switch a guardrail off, with the rule they collide with. Any key
 * mentioning wipe or emergency is caught by pattern as well, wherever it sits in the profile.
 */
const GUARDRAIL_FIELDS: Record<string, string> = {
  allowLockWithoutConsent: 'a device is never locked without a recorded consent',
  lockWithoutConsent: 'a device is never locked without a recorded consent',
  allowLockDuringDispute: 'a device is never locked while a dispute is open',
  lockDuringDispute: 'a device is never locked while a dispute is open',
  allowLockDuringClaim: 'a device is never locked while a payment claim is open',
  lockDuringClaim: 'a device is never locked while a payment claim is open',
  allowLockNotPastDue: 'a device that is not past due is never locked',
  lockBeforeDue: 'a device that is not past due is never locked',
  allowLockWithoutNotice: 'a device is never locked before the notice was shown for the minimum time',
  skipNotice: 'a device is never locked before the notice was shown for the minimum time',
  allowLockOnStaleFeed: 'new locks are held while payment data is stale',
  ignoreStaleFeed: 'new locks are held while payment data is stale',
  lockOnStalePaymentData: 'new locks are held while payment data is stale',
  delayUnlock: 'a device unlocks as soon as the arrears are cleared',
  unlockDelayHours: 'a device unlocks as soon as the arrears are cleared',
  hideLenderContact: "the lender's name and contact are always on the lock screen",
  blockSupportNumber: "the lender's support number always works",
  accessPersonalData: 'there is no access to personal data, ever',
};

const GUARDRAIL_PATTERNS: readonly [RegExp, string][] = [
  [/wipe/i, 'there is no wipe command, ever'],
  [/emergency/i, 'emergency calls always work'],
  [/personal.?data/i, 'there is no access to personal data, ever'],
];

const ANDROID_PACKAGE = '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$';

/** Structure of a profile; also usable as an HTTP/OpenAPI schema. Semantics are checked in code. */
export const ComplianceProfileSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    name: Type.String({ minLength: 1, maxLength: 120 }),
    reminderDaysBeforeDue: Type.Array(Type.Integer({ minimum: 0, maximum: 60 }), { maxItems: 10 }),
    notices: Type.Array(
      Type.Object(
        {
          atDpd: Type.Integer({ minimum: 1, maximum: MAX_DPD }),
          cureDays: Type.Integer({ minimum: 0, maximum: 365 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 5 },
    ),
    minNoticeHoursBeforeLock: Type.Integer({ minimum: MIN_NOTICE_HOURS_FLOOR, maximum: 24 * 365 }),
    restrictedAtDpd: Type.Union([Type.Integer({ minimum: 1, maximum: MAX_DPD }), Type.Null()]),
    lockAtDpd: Type.Integer({ minimum: 1, maximum: MAX_DPD }),
    restrictedAllows: Type.Object(
      {
        calls: Type.Boolean(),
        sms: Type.Boolean(),
        apps: Type.Array(Type.String({ pattern: ANDROID_PACKAGE, maxLength: 255 }), { maxItems: 50 }),
      },
      { additionalProperties: false },
    ),
    offlineLockDays: Type.Integer({ minimum: MIN_OFFLINE_LOCK_DAYS, maximum: 365 }),
    graceDays: Type.Integer({ minimum: 0, maximum: 60 }),
    claimLiftWindowDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
    earlyPayoffRebate: Type.Optional(Type.Union(REBATE_RULES.map((r) => Type.Literal(r)))),
  },
  { additionalProperties: false },
);

const PROFILE_FIELDS = Object.keys(ComplianceProfileSchema.properties);

function fail(field: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new LienError('invalid_profile', message, { field, ...extra });
}

function guardrail(field: string, rule: string): never {
  fail(field, `guardrail: ${field} cannot be configured — ${rule}`, { guardrail: true });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rejectGuardrailFields(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => rejectGuardrailFields(item, `${path}[${i}]`));
    return;
  }
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) {
    const field = path ? `${path}.${key}` : key;
    const rule =
      GUARDRAIL_FIELDS[key] ?? GUARDRAIL_PATTERNS.find(([pattern]) => pattern.test(key))?.[1];
    if (rule) guardrail(field, rule);
    rejectGuardrailFields(value[key], field);
  }
}

/** Guardrail limits get their own sentences so nobody mistakes them for ordinary range errors. */
function checkGuardrailLimits(p: Record<string, unknown>): void {
  const { lockAtDpd, restrictedAtDpd, minNoticeHoursBeforeLock, notices } = p;
  if (typeof lockAtDpd === 'number' && lockAtDpd < 1) {
    fail('lockAtDpd', `guardrail: lockAtDpd must be at least 1 (got ${lockAtDpd}) — a device that is not past due is never locked`, { guardrail: true });
  }
  if (typeof restrictedAtDpd === 'number' && restrictedAtDpd < 1) {
    fail('restrictedAtDpd', `guardrail: restrictedAtDpd must be at least 1 (got ${restrictedAtDpd}) — a device that is not past due is never restricted`, { guardrail: true });
  }
  if (typeof restrictedAtDpd === 'number' && typeof lockAtDpd === 'number' && restrictedAtDpd > lockAtDpd) {
    fail('restrictedAtDpd', `guardrail: restrictedAtDpd (${restrictedAtDpd}) must not be after lockAtDpd (${lockAtDpd}) — restriction is the milder step and comes first`, { guardrail: true });
  }
  if (typeof minNoticeHoursBeforeLock === 'number' && minNoticeHoursBeforeLock < MIN_NOTICE_HOURS_FLOOR) {
    fail('minNoticeHoursBeforeLock', `guardrail: minNoticeHoursBeforeLock must be at least ${MIN_NOTICE_HOURS_FLOOR} (got ${minNoticeHoursBeforeLock}) — a notice must be on screen at least a day before a lock`, { guardrail: true });
  }
  if (Array.isArray(notices) && notices.length === 0) {
    fail('notices', 'guardrail: notices cannot be empty — at least one notice must be shown before a device is restricted or locked', { guardrail: true });
  }
}

function fieldName(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
}

function reportSchemaErrors(input: unknown): void {
  const errors = Value.Errors(ComplianceProfileSchema, input);
  if (errors.length === 0) return;
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) {
    const names = (unknown.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    const parent = fieldName(unknown.instancePath);
    const field = [parent, names[0]].filter(Boolean).join('.');
    const allowed = parent === '' ? ` (a profile has only: ${PROFILE_FIELDS.join(', ')})` : '';
    fail(field, `unknown field ${field}${allowed}`);
  }
  // anyOf wrappers repeat a more specific error; a missing property is reported on its parent.
  const specific = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean');
  const first = specific.find((e) => e.keyword === 'required') ?? specific[0] ?? errors[0]!;
  if (first.keyword === 'required') {
    const missing = (first.params as { requiredProperties?: string[] }).requiredProperties ?? [];
    const field = [fieldName(first.instancePath), missing[0]].filter(Boolean).join('.');
    fail(field, `${field} is required`);
  }
  const field = fieldName(first.instancePath) || '(profile)';
  let got: unknown = input;
  for (const part of first.instancePath.split('/').slice(1)) got = (got as Record<string, unknown>)?.[part];
  fail(field, `${field} ${friendly(field, first.keyword, first.message)} (got ${JSON.stringify(got) ?? String(got)})`);
}

function friendly(field: string, keyword: string, message: string): string {
  if (field === 'restrictedAtDpd') return 'must be a whole number of days from 1, or null for no restricted stage';
  if (keyword === 'pattern' && field === 'id') return 'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit';
  if (keyword === 'pattern') return 'must be an Android package name such as com.example.wallet';
  if (keyword === 'type' && message.endsWith('integer')) return 'must be a whole number';
  return message;
}

function checkSemantics(p: ComplianceProfile): void {
  const escalationDpd = p.restrictedAtDpd ?? p.lockAtDpd;
  p.notices.forEach((notice, i) => {
    const prev = p.notices[i - 1];
    if (prev && notice.atDpd <= prev.atDpd) {
      fail(`notices[${i}].atDpd`, `notices must be in order: notices[${i}].atDpd (${notice.atDpd}) must be after notices[${i - 1}].atDpd (${prev.atDpd})`);
    }
    if (notice.atDpd >= escalationDpd) {
      fail(`notices[${i}].atDpd`, `guardrail: notices[${i}].atDpd (${notice.atDpd}) must be before the device is ${p.restrictedAtDpd === null ? 'locked' : 'restricted'} at DPD ${escalationDpd} — every notice is shown before a restriction or lock`, { guardrail: true });
    }
  });
  const seenDays = new Set<number>();
  for (const day of p.reminderDaysBeforeDue) {
    if (seenDays.has(day)) fail('reminderDaysBeforeDue', `reminderDaysBeforeDue lists ${day} twice`);
    seenDays.add(day);
  }
  const seenApps = new Set<string>();
  for (const app of p.restrictedAllows.apps) {
    if (seenApps.has(app)) fail('restrictedAllows.apps', `restrictedAllows.apps lists ${app} twice`);
    seenApps.add(app);
  }
}

const validated = new WeakSet<object>();

/**
 * Checks a profile (e.g. parsed JSON from a lender) and returns a frozen copy with reminders
 * sorted. Throws LienError('invalid_profile') naming the offending field; attempts to configure a
 * guardrail get a message starting with "guardrail:" and `details.guardrail = true`.
 */
export function validateProfile(input: unknown): ComplianceProfile {
  if (!isRecord(input)) fail('(profile)', 'a compliance profile must be an object');
  rejectGuardrailFields(input, '');
  checkGuardrailLimits(input);
  reportSchemaErrors(input);
  const raw = input as unknown as ComplianceProfile;
  const profile: ComplianceProfile = Object.freeze({
    id: raw.id,
    name: raw.name,
    reminderDaysBeforeDue: Object.freeze([...raw.reminderDaysBeforeDue].sort((a, b) => b - a)),
    notices: Object.freeze(raw.notices.map((n) => Object.freeze({ atDpd: n.atDpd, cureDays: n.cureDays }))),
    minNoticeHoursBeforeLock: raw.minNoticeHoursBeforeLock,
    restrictedAtDpd: raw.restrictedAtDpd,
    lockAtDpd: raw.lockAtDpd,
    restrictedAllows: Object.freeze({
      calls: raw.restrictedAllows.calls,
      sms: raw.restrictedAllows.sms,
      apps: Object.freeze([...raw.restrictedAllows.apps]),
    }),
    offlineLockDays: raw.offlineLockDays,
    graceDays: raw.graceDays,
    claimLiftWindowDays: raw.claimLiftWindowDays ?? DEFAULT_CLAIM_LIFT_WINDOW_DAYS,
    earlyPayoffRebate: raw.earlyPayoffRebate ?? DEFAULT_EARLY_PAYOFF_REBATE,
  });
  checkSemantics(profile);
  validated.add(profile);
  return profile;
}

/**
 * The stage engine calls this so a hand-built or deserialised profile cannot slip past the
 * checks; profiles that came out of `validateProfile` are recognised without re-checking.
 */
export function ensureValidProfile(profile: ComplianceProfile): ComplianceProfile {
  return validated.has(profile) ? profile : validateProfile(profile);
}

/** The notice period of one notice in milliseconds: its cure days, never less than the floor. */
export function noticePeriodMs(profile: ComplianceProfile, noticeIndex: number): number {
  const notice = profile.notices[noticeIndex];
  if (!notice) throw new LienError('invalid_input', `profile ${profile.id} has no notice ${noticeIndex}`);
  return Math.max(profile.minNoticeHoursBeforeLock * 3_600_000, notice.cureDays * 86_400_000);
}
