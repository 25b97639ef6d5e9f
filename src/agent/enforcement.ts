/**
 * What the phone must do at a given instant, decided from the last verified policy, the credit an
 * unlock code bought and the agent's own clock. Pure: agent.ts feeds it state and renders the
 * result.
 */
import { formatAmount } from '../domain/money.ts';
import { offlineState } from '../protocol/offline.ts';
import type { Policy } from '../protocol/index.ts';
import type { LockScreenView, ScreenMode } from './ports.ts';

/**
 * Numbers that always connect, locked or not (guardrail 1). Short national emergency numbers
 * only: a longer list would let a locked phone call ordinary lines.
 */
export const EMERGENCY_NUMBERS: readonly string[] = Object.freeze([
  '112', // GSM standard, EU, India, Indonesia, Kenya, Nigeria, Ghana
  '911', // Americas, Philippines
  '999', // UK, Kenya, Bangladesh, Malaysia
  '000', // Australia
  '100', // India police
  '101', // India fire
  '102', // India ambulance
  '108', // India emergency ambulance
  '110', // China, Japan, Germany, Indonesia police
  '119', // China fire, Japan/Korea fire and ambulance
  '120', // China ambulance
  '199', // Nigeria
  '191', // Ghana police
  '193', // Ghana ambulance
  '10111', // South Africa police
  '10177', // South Africa ambulance
  '1122', // Pakistan rescue
]);

export type LockCause = 'stage' | 'lock_at' | 'offline';

export interface Enforcement {
  mode: ScreenMode;
  /** Why the phone is locked; null when it is not. */
  lockCause: LockCause | null;
  /** Credit from an unlock code is holding back a lock or restriction. */
  creditOverride: boolean;
  /**
   * The offline notice belongs on screen (the phone has not reached the server and the offline
   * deadline is near); `offlineLockAt` is when it locks if that stays so, null until the notice
   * was first shown (the lock counts its minimum time from then).
   */
  offlineNotice: { lockAt: string | null; deadline: string } | null;
}

export interface EnforcementInput {
  policy: Policy | null;
  nowMs: number;
  creditUntil: string | null;
  released: boolean;
  dormant: boolean;
  /** When this phone first showed the offline notice of the policy it holds; null if never. */
  offlineNoticeShownAt: string | null;
}

function passed(at: string | null | undefined, nowMs: number): boolean {
  return typeof at === 'string' && Date.parse(at) <= nowMs;
}

export function creditActive(creditUntil: string | null, nowMs: number): boolean {
  return creditUntil !== null && Date.parse(creditUntil) > nowMs;
}

export function decideEnforcement(input: EnforcementInput): Enforcement {
  const none = { lockCause: null, creditOverride: false, offlineNotice: null };
  if (input.dormant) return { mode: 'dormant', ...none };
  if (input.released) return { mode: 'released', ...none };
  const policy = input.policy;
  if (!policy) return { mode: 'normal', ...none };
  if (policy.stage === 'released') return { mode: 'released', ...none };
  // Written-off and returned contracts have no debt left to enforce on the phone.
  if (policy.stage === 'written_off' || policy.stage === 'returned') return { mode: 'normal', ...none };

  const now = input.nowMs;
  const credit = creditActive(input.creditUntil, now);
  const offline = offlineState({ offlineLockAt: policy.offlineLockAt, notice: policy.offlineNotice, noticeShownAt: input.offlineNoticeShownAt, nowMs: now });
  // Credit from a code keeps the phone usable, and so keeps the offline notice away too.
  const offlineNotice =
    offline.noticeDue && !credit ? { lockAt: offline.lockAt === null ? null : new Date(offline.lockAt).toISOString(), deadline: policy.offlineLockAt! } : null;
  const lockCause: LockCause | null =
    policy.stage === 'locked' ? 'stage' : passed(policy.lockAt, now) ? 'lock_at' : offline.lockDue ? 'offline' : null;
  if (lockCause) return credit ? { mode: 'normal', lockCause: null, creditOverride: true, offlineNotice: null } : { mode: 'locked', lockCause, creditOverride: false, offlineNotice: null };
  if (policy.stage === 'restricted') return credit ? { mode: 'normal', ...none, creditOverride: true } : { mode: 'restricted', ...none, offlineNotice };
  if (policy.stage === 'notice' || offlineNotice) return { mode: 'notice', ...none, offlineNotice };
  if (policy.stage === 'reminder') return { mode: 'reminder', ...none };
  return { mode: 'normal', ...none };
}

/** Digits only (a leading + and separators dropped), so "+254 700-000 001" matches "254700000001". */
export function dialDigits(number: string): string {
  return number.replace(/\D/g, '');
}

// National and international forms of the same line share their last nine digits.
const SAME_LINE_DIGITS = 9;

function sameLine(a: string, b: string): boolean {
  const x = dialDigits(a);
  const y = dialDigits(b);
  if (x === '' || y === '') return false;
  if (x === y) return true;
  return x.length >= SAME_LINE_DIGITS && y.length >= SAME_LINE_DIGITS && x.slice(-SAME_LINE_DIGITS) === y.slice(-SAME_LINE_DIGITS);
}

export function isEmergencyNumber(number: string): boolean {
  const digits = dialDigits(number);
  return EMERGENCY_NUMBERS.includes(digits);
}

/** Numbers a locked phone may still call besides emergencies: the lender and the policy's list. */
export function alwaysAllowedNumbers(policy: Policy | null): string[] {
  if (!policy) return [];
  const list = [policy.lender.phone, ...(policy.allowedNumbers ?? [])].filter((n) => dialDigits(n) !== '');
  return [...new Set(list)];
}

/**
 * Whether a call may be placed. Only the lock screen limits calls: `restricted` takes apps away,
 * not the phone (the policy carries no call limit).
 */
export function callAllowed(number: string, mode: ScreenMode, policy: Policy | null): boolean {
  if (mode !== 'locked') return true;
  return isEmergencyNumber(number) || alwaysAllowedNumbers(policy).some((n) => sameLine(n, number));
}

/**
 * The amount due as the lock screen shows it: 125000 KES → "1,250.00", 5000 UGX → "5,000". A
 * currency the phone's table does not know shows the bare minor units rather than no screen.
 */
export function amountText(minor: number | string, currencyCode: string): string {
  try {
    return formatAmount(BigInt(String(minor).trim()), currencyCode);
  } catch {
    return String(minor);
  }
}

export interface ViewInput {
  mode: ScreenMode;
  offlineNotice?: Enforcement['offlineNotice'];
  policy: Policy | null;
  creditUntil: string | null;
  nowMs: number;
  backoffSeconds: number;
}

export function buildView(input: ViewInput): LockScreenView {
  const { mode, policy } = input;
  const terminal = mode === 'released' || mode === 'dormant';
  const showPolicy = policy !== null && mode !== 'dormant';
  const due = showPolicy && !terminal && Number(policy.amountDue) > 0;
  return {
    mode,
    lender: showPolicy ? { ...policy.lender } : null,
    amountDue: due ? amountText(policy.amountDue, policy.currency) : null,
    currency: due ? policy.currency : null,
    lockReference: showPolicy && !terminal ? policy.lockReference : null,
    message: showPolicy && !terminal ? policy.message : null,
    facts: showPolicy ? (policy.facts ?? null) : null,
    lenderTexts: showPolicy ? (policy.lenderTexts ?? null) : null,
    note: showPolicy && !terminal ? (policy.note ?? null) : null,
    noticeUntil: showPolicy && mode === 'notice' ? (input.offlineNotice ? (input.offlineNotice.lockAt ?? input.offlineNotice.deadline) : (policy.noticeUntil ?? null)) : null,
    offlineNotice: showPolicy && !terminal ? (input.offlineNotice ?? null) : null,
    creditUntil: !terminal && creditActive(input.creditUntil, input.nowMs) ? input.creditUntil : null,
    codeEntryEnabled: !terminal && input.backoffSeconds === 0,
    backoffSecondsRemaining: terminal ? 0 : input.backoffSeconds,
    emergencyNumbers: EMERGENCY_NUMBERS,
    allowedNumbers: terminal ? [] : alwaysAllowedNumbers(policy),
  };
}
