/**
 * The stage engine applied to a stored contract: from the facts loaded about it (schedule,
 * disputes, claims, notices shown, payment feed, the device's latest policy) to the decision and
 * whether the device's policy must change. Pure: no I/O, no clock reads; src/services/evaluate.ts
 * loads the facts and writes the outcome.
 */
import type { ComplianceProfile } from './compliance.ts';
import { addDays, businessDateIn } from './dates.ts';
import { delinquency, type Delinquency } from './delinquency.ts';
import { decideStage, isLocking, type ContractStatus, type ManualAction, type Stage, type StageDecision } from './stage.ts';

/** The columns of a stored contract the engine reads (its row, as the database returns it). */
export interface StoredContract {
  status: ContractStatus;
  stage: Stage;
  consent_at: Date | null;
  manual_action: ManualAction | null;
  policy_version: number;
  lock_at: Date | null;
  notice_index: number | null;
  amount_overdue: number;
}

/** A stored installment row in the shape the schedule rules read. */
export function installmentOf(i: StoredInstallment) {
  return {
    n: i.n,
    dueDate: i.due_date,
    principal: i.principal,
    interest: i.interest,
    fee: i.fee,
    penalty: i.penalty,
    paid: { principal: i.paid_principal, interest: i.paid_interest, fee: i.paid_fee, penalty: i.paid_penalty },
  };
}

/** A stored installment: what is due and what has been paid, in minor units. */
export interface StoredInstallment {
  n: number;
  due_date: string;
  principal: number;
  interest: number;
  fee: number;
  penalty: number;
  paid_principal: number;
  paid_interest: number;
  paid_fee: number;
  paid_penalty: number;
}

/** Everything the stage engine needs about one contract, loaded for many contracts at once. */
export interface ContractFacts<C extends StoredContract = StoredContract, L extends { time_zone: string } = { time_zone: string }> {
  contract: C;
  lender: L;
  profile: ComplianceProfile;
  installments: StoredInstallment[];
  openDispute: boolean;
  /** Every dispute of the contract, as local business dates; they pause the DPD count. */
  disputes: { from: string; to: string | null }[];
  openClaim: boolean;
  /** An open claim of the contract lifts a lock in place (claims.lifts_lock); otherwise open claims only hold escalation. */
  openClaimLiftsLock: boolean;
  notices: { index: number; shownAt: string }[];
  feedStale: boolean;
  /** When the lender's first payment channel goes stale if nothing more is reported (epoch ms); null with no channel. */
  feedFreshUntil: number | null;
  /** offlineLockAt of the device's latest policy (epoch ms), null when it has none. */
  policyOfflineLockAt: number | null;
  /** offline_renew_at of that policy (epoch ms): past it, the deadline is renewed. */
  policyOfflineRenewAt: number | null;
}

export interface Outcome<C extends StoredContract = StoredContract, L extends { time_zone: string } = { time_zone: string }> {
  facts: ContractFacts<C, L>;
  businessDate: string;
  delinquency: Delinquency;
  status: ContractStatus;
  decision: StageDecision;
  /** Something the device enforces or shows changed: issue a new policy version. */
  changed: boolean;
}

/** Until when a payment channel's report counts as fresh; a channel that never reported never was. */
export function feedFreshUntil(lastReportedAt: Date | null, freshnessMinutes: number): number {
  return lastReportedAt ? lastReportedAt.getTime() + freshnessMinutes * 60_000 : -Infinity;
}

/**
 * Pure: facts + now → the decision and whether the device's policy must change. `renewOffline`
 * false leaves an offline deadline that is merely getting near alone: the daily sweep passes it,
 * since a renewed policy only reaches a phone when it checks in, and the check-in renews it then.
 */
export function decide<C extends StoredContract, L extends { time_zone: string }>(f: ContractFacts<C, L>, now: Date, opts: { renewOffline?: boolean } = {}): Outcome<C, L> {
  const c = f.contract;
  const businessDate = businessDateIn(f.lender.time_zone, now);
  const installments = f.installments.map(installmentOf);
  const unpaused = delinquency({ installments, businessDate, graceDays: f.profile.graceDays });
  const pausedDays = unpaused.overdueSince ? disputedDays(f.disputes, unpaused.overdueSince, businessDate) : 0;
  const d = pausedDays ? delinquency({ installments, businessDate, graceDays: f.profile.graceDays, pausedDays }) : unpaused;
  const status: ContractStatus = c.status === 'active' && d.paidOff ? 'paid_off' : c.status;
  const decided = decideStage({
    now: now.toISOString(),
    contractStatus: status,
    consentRecorded: c.consent_at !== null,
    daysPastDue: d.daysPastDue,
    overdueSince: d.overdueSince,
    nextDueDate: d.nextDueDate,
    businessDate,
    openDispute: f.openDispute,
    openClaim: f.openClaim,
    openClaimLiftsLock: f.openClaimLiftsLock,
    noticesShown: f.notices,
    paymentFeedStale: f.feedStale,
    manual: c.manual_action,
    currentStage: c.stage,
    profile: f.profile,
    timeZone: f.lender.time_zone,
  });
  // The phone locks on its own at lockAt, with nobody asking whether the payment feed is still
  // fresh then: schedule it only inside the feed's current freshness window, or it becomes a new
  // lock on stale payment data (guardrail 3). The sweep re-decides at that instant anyway
  // (nextEvaluationAt keeps it), and locks then if the feed has kept reporting.
  const decision =
    decided.lockAt !== null && f.feedFreshUntil !== null && Date.parse(decided.lockAt) > f.feedFreshUntil ? { ...decided, lockAt: null } : decided;
  const changed =
    c.policy_version === 0 ||
    decision.stage !== c.stage ||
    (decision.lockAt ?? null) !== (c.lock_at ? c.lock_at.toISOString() : null) ||
    (decision.noticeIndex ?? null) !== (c.notice_index ?? null) ||
    d.amountOverdue !== c.amount_overdue ||
    status !== c.status ||
    // A phone that keeps checking in is not offline: renew its offline deadline well before it
    // passes, or a borrower in good standing would be locked as if the phone had gone dark.
    (opts.renewOffline !== false && offlineRenewalDue(f.policyOfflineRenewAt, now)) ||
    // Consent, a dispute or claim, or a manual hold changed whether the offline lock may be armed.
    (c.policy_version > 0 && (f.policyOfflineLockAt !== null) !== (status === 'active' && offlineLockAllowed(f, now)));
  return { facts: f, businessDate, delinquency: d, status, decision, changed };
}

/** Renew a device's offline deadline once less than half the profile's offline window is left. */
export function offlineRenewMs(profile: ComplianceProfile): number {
  return (profile.offlineLockDays * 86_400_000) / 2;
}

/**
 * Whether a policy's offline deadline is due for renewal, from the instant stored beside it
 * (signedPolicyRow): decide() and the check-in ask this one question, so a check-in that
 * re-evaluates for a renewal always gets one.
 */
export function offlineRenewalDue(offlineRenewAt: number | null, now: Date): boolean {
  return offlineRenewAt !== null && offlineRenewAt < now.getTime();
}

/**
 * The offline lock is a lock too: it is only armed when a lock could stand if the phone were
 * online. Without consent, with a dispute or claim open, or under a manual unlock or pause the
 * server would lift a lock at once, so a phone that merely lost signal must not take one.
 */
export function offlineLockAllowed(f: ContractFacts, now: Date): boolean {
  const c = f.contract;
  const manual = c.manual_action;
  const manualHold = manual !== null && manual.action !== 'lock' && (manual.until === undefined || Date.parse(manual.until) > now.getTime());
  return c.consent_at !== null && !f.openDispute && !f.openClaim && !manualHold;
}

/** Which audit action a stage change is, seen from the borrower's phone. */
export function transitionAction(from: Stage, to: Stage): string | null {
  if (from === to) return null;
  if (to === 'released') return 'device.released';
  if (isLocking(to) && !isLocking(from)) return to === 'locked' ? 'device.locked' : 'device.restricted';
  if (isLocking(from) && !isLocking(to)) return 'device.unlocked';
  if (to === 'locked') return 'device.locked';
  return 'contract.stage_changed';
}

/**
 * The time a notice counts as shown from. The device reports it on its own clock, which may be
 * wrong (or set back on purpose to shorten a cure period), so the reported time is clamped into
 * [issue of the policy that carried the notice, server receive time]. The carrying policy is the
 * first of the latest unbroken run of policies, issued by the time the report arrived, that carry
 * this notice index: a notice cannot have been shown before the server issued it. A report of a
 * notice no policy carried does not count at all.
 */
export function clampNoticeShownAt(
  policies: readonly { version: number; issued_at: Date; notice_index: string | number | null }[],
  index: number,
  reportedAt: Date,
  receivedAt: Date,
): Date | null {
  const issued = policies.filter((p) => p.issued_at.getTime() <= receivedAt.getTime()).sort((a, b) => a.version - b.version);
  let last = issued.length - 1;
  while (last >= 0 && Number(issued[last]!.notice_index ?? NaN) !== index) last--;
  if (last < 0) return null;
  let first = last;
  while (first > 0 && Number(issued[first - 1]!.notice_index ?? NaN) === index) first--;
  const lower = issued[first]!.issued_at.getTime();
  return new Date(Math.min(Math.max(reportedAt.getTime(), lower), receivedAt.getTime()));
}

/** Days of [from, to) covered by disputes, counted once even where disputes overlap. */
export function disputedDays(disputes: ContractFacts['disputes'], from: string, to: string): number {
  const covered = new Set<string>();
  for (const d of disputes) {
    const start = d.from > from ? d.from : from;
    const end = d.to === null || d.to > to ? to : d.to;
    for (let day = start; day < end; day = addDays(day, 1)) covered.add(day);
  }
  return covered.size;
}

/** What lifted a lock, for the borrower's message: each cause has its own SMS (issue #12 L10). */
export type UnlockCause = 'payment' | 'claim' | 'dispute' | 'manual' | 'code' | 'other';

/**
 * Why a lock was lifted, read from the decision that lifted it: a claim or dispute holding it,
 * the lender's manual unlock or pause, or arrears that went down — a payment only when money
 * came in (never "we received 0.00"); anything else (a settings change, say) is "other".
 */
export function unlockCause(o: Outcome): UnlockCause {
  switch (o.decision.reason) {
    case 'held_open_claim':
      return 'claim';
    case 'held_open_dispute':
      return 'dispute';
    case 'manual_unlock':
    case 'manual_pause':
      return 'manual';
  }
  if (o.status !== 'active') return 'manual';
  return o.facts.contract.amount_overdue > o.delinquency.amountOverdue ? 'payment' : 'other';
}
