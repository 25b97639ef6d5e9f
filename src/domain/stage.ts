/**
 * The stage engine (DESIGN.md §4): where a contract stands and what its device must do, decided
 * from plain facts. Pure: no clock, no I/O; the delinquency numbers come in as input.
 *
 * Decisions the guardrails force, whatever the profile says:
 * - Restricted counts as a lock: every guardrail applies to `restricted` as to `locked`.
 * - Not past due (DPD ≤ 0) → never restricted or locked, and a locked device unlocks at once.
 * - No recorded consent or an open dispute → no restriction or lock, and an existing one is
 *   lifted: these say the lock itself may be wrong.
 * - An open payment claim holds escalation: no new restriction or lock while it is open. It lifts
 *   a lock already in place only when it `liftsLock` (the caller decides: the claim covers the
 *   overdue amount and no other claim lifted this contract's lock lately); otherwise the device
 *   keeps the level it has (`kept_open_claim`), as with a stale feed.
 * - Notices: restriction and lock need every notice of the profile displayed on the device, each
 *   for max(minNoticeHoursBeforeLock, cureDays), counted from the device's `shownAt` and after the
 *   previous notice's period ran out (cure periods never overlap). Notice i+1 is issued only once
 *   notice i's period is over, so a device that was offline cannot skip a cure period. Notices
 *   shown before the current overdue episode began (the start of `overdueSince`) do not count.
 * - Stale payment feed → new restrictions and locks are held, and no `lockAt` is scheduled. A
 *   device already restricted or locked keeps that level (it never escalates): it was set on
 *   fresh data, so the arrears were real; a borrower who paid through the lagging channel opens a
 *   payment claim, which lifts the lock at once; and flipping locks on every feed hiccup would
 *   let an outage unlock every device and relock it an hour later.
 * - A manual lock by the lender goes no further than the profile allows: it turns a stage the
 *   profile would restrict into a lock (skips the rest of the restricted stage), and still obeys
 *   every guardrail. So a regulatory floor written into a profile (India: locks only from 90 DPD)
 *   binds the lender's hand too. A manual unlock or pause keeps the device out of restricted and
 *   locked until `until` (or until the lender clears it); notices are still shown.
 * - `written_off` and `returned` are terminal and never lock: there is no debt left to enforce
 *   on the device.
 */
import { ensureValidProfile, noticePeriodMs, type ComplianceProfile } from './compliance.ts';
import { addDays, assertTimeZone, diffDays, isPlainDate, startOfLocalDay } from './dates.ts';
import { LienError } from './errors.ts';

/** Escalation order, mildest first. */
export const ESCALATION_STAGES = ['current', 'reminder', 'notice', 'restricted', 'locked'] as const;
/** End states of a contract; outside the escalation order. */
export const TERMINAL_STAGES = ['released', 'written_off', 'returned'] as const;
export const STAGES = [...ESCALATION_STAGES, ...TERMINAL_STAGES] as const;

export type EscalationStage = (typeof ESCALATION_STAGES)[number];
export type TerminalStage = (typeof TERMINAL_STAGES)[number];
export type Stage = EscalationStage | TerminalStage;

/** True for the stages that take functions away from the device: `restricted` and `locked`. */
export function isLocking(stage: Stage): boolean {
  return stage === 'restricted' || stage === 'locked';
}

export function isTerminal(stage: Stage): stage is TerminalStage {
  return (TERMINAL_STAGES as readonly string[]).includes(stage);
}

/** Position in ESCALATION_STAGES (0 = current … 4 = locked); -1 for terminal stages. */
export function escalationRank(stage: Stage): number {
  return (ESCALATION_STAGES as readonly string[]).indexOf(stage);
}

export type ContractStatus = 'active' | 'paid_off' | 'written_off' | 'returned';
export type Hold = 'stale_feed' | 'dispute' | 'claim' | 'no_consent' | 'notice_period';

export interface ManualAction {
  action: 'lock' | 'unlock' | 'pause';
  /** ISO instant the action stops applying; absent = until the lender clears it. */
  until?: string;
}

export interface NoticeShown {
  /** Position of the notice in `profile.notices` (0 = first notice). */
  index: number;
  /** ISO instant the device reported the notice as displayed. */
  shownAt: string;
}

export interface StageInput {
  /** ISO instant with an offset or Z. */
  now: string;
  contractStatus: ContractStatus;
  consentRecorded: boolean;
  /** After grace and paused days; advances one per day while nothing changes. */
  daysPastDue: number;
  overdueSince: string | null;
  nextDueDate: string | null;
  /** The lender's business date (YYYY-MM-DD) that `daysPastDue` was computed for. */
  businessDate: string;
  openDispute: boolean;
  openClaim: boolean;
  /**
   * Whether the open claim lifts a lock already in place (default true). False: it only holds
   * escalation. See the module comment.
   */
  openClaimLiftsLock?: boolean;
  noticesShown: readonly NoticeShown[];
  paymentFeedStale: boolean;
  manual?: ManualAction | null;
  currentStage: Stage;
  profile: ComplianceProfile;
  /** IANA zone of the lender; business dates start at local midnight there. */
  timeZone: string;
}

export type StageReason =
  | 'paid_off'
  | 'written_off'
  | 'returned'
  | 'not_past_due'
  | 'reminder_window'
  | 'in_grace'
  | 'arrears_cleared'
  | 'dpd_below_notice'
  | 'notice_issued'
  | 'dpd_restricted'
  | 'dpd_locked'
  | 'manual_lock'
  | 'manual_lock_before_profile_dpd'
  | 'manual_unlock'
  | 'manual_pause'
  | 'kept_stale_feed'
  | 'kept_open_claim'
  | 'held_stale_feed'
  | 'held_open_dispute'
  | 'held_open_claim'
  | 'no_consent'
  | 'awaiting_notice_display'
  | 'awaiting_notice_period';

export interface StageDecision {
  stage: Stage;
  reason: StageReason;
  /**
   * The latest notice issued in this overdue episode (index into profile.notices): the one the
   * device must display unless it shows the lock screen. Null before the first notice's DPD.
   */
  noticeIndex: number | null;
  /**
   * A future instant at which the device may lock on its own if nothing changes: set only when
   * every guardrail will allow the lock then (all notices shown and their periods over, DPD at
   * the lock threshold, consent, no dispute or claim, fresh feed, no manual unlock or pause).
   * Null when the stage is already `locked` or any open-ended guardrail holds.
   */
  lockAt: string | null;
  /** The next instant the decision can change by the passage of time alone. */
  nextEvaluationAt: string | null;
  /**
   * The guardrail that keeps the stage below what the profile (or a manual lock) asks for, or
   * that keeps a lock from being scheduled; null when nothing is held back.
   */
  held: Hold | null;
}

// ---------------------------------------------------------------------------------------------
// Input checks: a malformed fact must fail loudly, never decide a lock.

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function instant(value: unknown, field: string): number {
  const ms = typeof value === 'string' && INSTANT.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) {
    throw new LienError('invalid_input', `${field} must be an ISO instant with a zone, e.g. 2026-03-01T08:00:00Z (got ${JSON.stringify(value)})`, { field });
  }
  return ms;
}

function calendarDate(value: unknown, field: string): string {
  if (!isPlainDate(value)) {
    throw new LienError('invalid_input', `${field} must be a date YYYY-MM-DD (got ${JSON.stringify(value)})`, { field });
  }
  return value;
}

function checkInput(input: StageInput): void {
  if (!Number.isInteger(input.daysPastDue)) {
    throw new LienError('invalid_input', `daysPastDue must be a whole number (got ${input.daysPastDue})`, { field: 'daysPastDue' });
  }
  if (!(STAGES as readonly string[]).includes(input.currentStage)) {
    throw new LienError('invalid_input', `currentStage must be one of ${STAGES.join(', ')} (got ${JSON.stringify(input.currentStage)})`, { field: 'currentStage' });
  }
  calendarDate(input.businessDate, 'businessDate');
  if (input.overdueSince !== null) calendarDate(input.overdueSince, 'overdueSince');
  if (input.nextDueDate !== null) calendarDate(input.nextDueDate, 'nextDueDate');
  if (input.daysPastDue > 0 && input.overdueSince === null) {
    throw new LienError('invalid_input', `daysPastDue is ${input.daysPastDue} but overdueSince is empty: a contract past due has an overdue date`, { field: 'overdueSince' });
  }
  input.noticesShown.forEach((n, i) => {
    if (!Number.isInteger(n.index) || n.index < 0) {
      throw new LienError('invalid_input', `noticesShown[${i}].index must be a notice position 0, 1, … (got ${n.index})`, { field: `noticesShown[${i}].index` });
    }
    instant(n.shownAt, `noticesShown[${i}].shownAt`);
  });
  if (input.manual) {
    if (!['lock', 'unlock', 'pause'].includes(input.manual.action)) {
      throw new LienError('invalid_input', `manual.action must be lock, unlock or pause (got ${JSON.stringify(input.manual.action)})`, { field: 'manual.action' });
    }
    if (input.manual.until !== undefined) instant(input.manual.until, 'manual.until');
  }
}

// ---------------------------------------------------------------------------------------------
// Notices.

interface NoticeProgress {
  /** Highest notice issued so far; null before the first notice's DPD. */
  issued: number | null;
  /** Whether the device displayed the issued notice (in this overdue episode). */
  issuedShown: boolean;
  /** When the last notice's period ends, if every notice was displayed; else null. */
  completeAt: number | null;
  /** End of each displayed notice's period, in order, as far as the chain goes. */
  periodEnds: number[];
}

function noticeProgress(
  profile: ComplianceProfile,
  shown: readonly NoticeShown[],
  episodeStart: number,
  dpd: number,
  now: number,
): NoticeProgress {
  const firstShown: (number | undefined)[] = profile.notices.map(() => undefined);
  for (const n of shown) {
    if (n.index >= profile.notices.length) continue; // reported for a notice this profile lacks
    const at = Date.parse(n.shownAt);
    if (at < episodeStart) continue; // belongs to an earlier overdue episode
    const prev = firstShown[n.index];
    if (prev === undefined || at < prev) firstShown[n.index] = at;
  }
  const periodEnds: number[] = [];
  for (let i = 0; i < profile.notices.length; i++) {
    const at = firstShown[i];
    if (at === undefined) break;
    const start = Math.max(at, periodEnds[i - 1] ?? -Infinity);
    periodEnds.push(start + noticePeriodMs(profile, i));
  }
  let issued: number | null = null;
  for (let i = 0; i < profile.notices.length; i++) {
    if (dpd < profile.notices[i]!.atDpd) break;
    if (i > 0) {
      const previousEnd = periodEnds[i - 1];
      if (previousEnd === undefined || previousEnd > now) break;
    }
    issued = i;
  }
  return {
    issued,
    issuedShown: issued !== null && firstShown[issued] !== undefined,
    completeAt: periodEnds.length === profile.notices.length ? periodEnds[periodEnds.length - 1]! : null,
    periodEnds,
  };
}

// ---------------------------------------------------------------------------------------------
// The decision.

const HOLD_REASON: Record<Hold, StageReason> = {
  no_consent: 'no_consent',
  dispute: 'held_open_dispute',
  claim: 'held_open_claim',
  stale_feed: 'held_stale_feed',
  notice_period: 'awaiting_notice_period',
};

/**
 * Stage reasons that mean "the profile asks for a lock, an open-ended guardrail holds it back":
 * what the held-locks list shows. A notice period still running is not among them; it ends by
 * itself at a time the decision already schedules.
 */
export const HELD_REASONS = ['no_consent', 'held_open_dispute', 'held_open_claim', 'held_stale_feed'] as const satisfies readonly StageReason[];

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function earliestAfter(now: number, candidates: (number | null | undefined)[]): number | null {
  let best: number | null = null;
  for (const c of candidates) {
    if (c !== null && c !== undefined && c > now && (best === null || c < best)) best = c;
  }
  return best;
}

/** A manual action still in force at `now`, or null. */
function activeManual(manual: ManualAction | null | undefined, now: number): ManualAction | null {
  if (!manual) return null;
  if (manual.until !== undefined && Date.parse(manual.until) <= now) return null;
  return manual;
}

export function decideStage(input: StageInput): StageDecision {
  const profile = ensureValidProfile(input.profile);
  const now = instant(input.now, 'now');
  assertTimeZone(input.timeZone);
  checkInput(input);

  if (input.contractStatus !== 'active') {
    const stage: Stage = input.contractStatus === 'paid_off' ? 'released' : input.contractStatus;
    return { stage, reason: input.contractStatus, noticeIndex: null, lockAt: null, nextEvaluationAt: null, held: null };
  }

  const manual = activeManual(input.manual, now);
  const manualUntil = manual?.until === undefined ? null : Date.parse(manual.until);
  const dpd = input.daysPastDue;
  const tz = input.timeZone;

  if (dpd <= 0) return notPastDue(input, profile, now, manualUntil);

  /** The instant DPD reaches `k` if it keeps growing one a day from the business date. */
  const dpdReachedAt = (k: number): number =>
    k <= dpd ? now : startOfLocalDay(addDays(input.businessDate, k - dpd), tz);

  const episodeStart = startOfLocalDay(input.overdueSince!, tz);
  const notices = noticeProgress(profile, input.noticesShown, episodeStart, dpd, now);
  const noticesDone = notices.completeAt !== null && notices.completeAt <= now;

  // What the profile asks for, before guardrails.
  let target: EscalationStage;
  let reason: StageReason;
  if (dpd >= profile.lockAtDpd) [target, reason] = ['locked', 'dpd_locked'];
  else if (profile.restrictedAtDpd !== null && dpd >= profile.restrictedAtDpd) [target, reason] = ['restricted', 'dpd_restricted'];
  else if (notices.issued !== null) [target, reason] = ['notice', 'notice_issued'];
  else [target, reason] = ['reminder', 'dpd_below_notice'];
  if (manual?.action === 'lock') {
    if (target === 'restricted') [target, reason] = ['locked', 'manual_lock'];
    else if (!isLocking(target)) reason = 'manual_lock_before_profile_dpd';
  }

  const thresholds = [...profile.notices.map((n) => n.atDpd), profile.restrictedAtDpd, profile.lockAtDpd]
    .filter((k): k is number => k !== null && k > dpd)
    .map(dpdReachedAt);
  const timeTriggers = [...thresholds, ...notices.periodEnds, manualUntil];

  if (manual && manual.action !== 'lock') {
    return {
      stage: isLocking(target) ? 'notice' : target,
      reason: manual.action === 'unlock' ? 'manual_unlock' : 'manual_pause',
      noticeIndex: notices.issued,
      lockAt: null,
      nextEvaluationAt: iso(earliestAfter(now, timeTriggers)),
      held: null,
    };
  }

  // When the device could lock with time alone, ignoring the open-ended guardrails below.
  let scheduled: number | null = null;
  if (notices.completeAt !== null) {
    const complete = notices.completeAt;
    const candidates = [Math.max(complete, dpdReachedAt(profile.lockAtDpd))];
    if (manual?.action === 'lock' && profile.restrictedAtDpd !== null) {
      const early = Math.max(complete, dpdReachedAt(profile.restrictedAtDpd));
      if (manualUntil === null || early < manualUntil) candidates.push(early);
    }
    scheduled = Math.min(...candidates);
  }

  // A claim that may not lift a lock still holds escalation: it freezes the stage where it is.
  const claimHolds = input.openClaim && input.openClaimLiftsLock === false;
  const blocker: Hold | null = !input.consentRecorded
    ? 'no_consent'
    : input.openDispute
      ? 'dispute'
      : input.openClaim && !claimHolds
        ? 'claim'
        : null;
  const staleBlocksEscalation =
    input.paymentFeedStale && escalationRank(target) > Math.max(escalationRank(input.currentStage), escalationRank('notice'));

  let stage: Stage = target;
  let held: Hold | null = null;
  if (isLocking(target)) {
    if (blocker) [stage, held] = ['notice', blocker];
    else if (claimHolds && escalationRank(target) > escalationRank(input.currentStage)) {
      [stage, held] = [isLocking(input.currentStage) ? input.currentStage : 'notice', 'claim'];
    } else if (claimHolds) reason = 'kept_open_claim';
    else if (!noticesDone) [stage, held] = ['notice', staleBlocksEscalation ? 'stale_feed' : 'notice_period'];
    else if (staleBlocksEscalation) [stage, held] = [isLocking(input.currentStage) ? input.currentStage : 'notice', 'stale_feed'];
    else if (input.paymentFeedStale) reason = 'kept_stale_feed';
  }

  let lockAt: number | null = null;
  if (stage !== 'locked' && scheduled !== null) {
    if (blocker) held ??= blocker;
    else if (claimHolds) held ??= 'claim';
    else if (input.paymentFeedStale) held ??= 'stale_feed';
    else if (scheduled > now) lockAt = scheduled;
  }

  if (held) {
    reason =
      held === 'notice_period' && !notices.issuedShown ? 'awaiting_notice_display' : HOLD_REASON[held];
  }

  return {
    stage,
    reason,
    noticeIndex: notices.issued,
    lockAt: iso(lockAt),
    nextEvaluationAt: iso(earliestAfter(now, [...timeTriggers, lockAt])),
    held,
  };
}

function notPastDue(
  input: StageInput,
  profile: ComplianceProfile,
  now: number,
  manualUntil: number | null,
): StageDecision {
  const tz = input.timeZone;
  const maxReminder = profile.reminderDaysBeforeDue[0];
  const daysToDue = input.nextDueDate === null ? null : diffDays(input.nextDueDate, input.businessDate);
  const inGrace = input.overdueSince !== null;
  const inReminderWindow =
    daysToDue !== null && maxReminder !== undefined && daysToDue >= 0 && daysToDue <= maxReminder;

  const stage: Stage = inGrace || inReminderWindow ? 'reminder' : 'current';
  const reason: StageReason = isLocking(input.currentStage)
    ? 'arrears_cleared'
    : inGrace
      ? 'in_grace'
      : inReminderWindow
        ? 'reminder_window'
        : 'not_past_due';

  const triggers: (number | null)[] = [manualUntil];
  if (input.nextDueDate !== null) {
    for (const days of profile.reminderDaysBeforeDue) triggers.push(startOfLocalDay(addDays(input.nextDueDate, -days), tz));
    // The day after the due date is the earliest the contract can be overdue.
    triggers.push(startOfLocalDay(addDays(input.nextDueDate, 1), tz));
  }
  // In grace DPD can turn positive any day; grace and pauses are not ours to count.
  if (inGrace) triggers.push(startOfLocalDay(addDays(input.businessDate, 1), tz));

  return {
    stage,
    reason,
    noticeIndex: null,
    lockAt: null,
    nextEvaluationAt: iso(earliestAfter(now, triggers)),
    held: null,
  };
}
