import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { delinquency, type Delinquency } from '../domain/delinquency.ts';
import { addDays, businessDateIn } from '../domain/dates.ts';
import { validateProfile, type ComplianceProfile } from '../domain/compliance.ts';
import { decideStage, isLocking, type ManualAction, type Stage, type StageDecision } from '../domain/stage.ts';
import type { DB } from '../store/schema.ts';
import type { Actor, Services } from './context.ts';
import { commit, type Effects } from './unit-of-work.ts';
import { buildPolicy } from './policy.ts';
import { installmentsByContract } from '../store/repos/contracts.ts';

type Tx = Kysely<DB> | Transaction<DB>;
type ContractRow = Selectable<DB['contracts']>;
type LenderRow = Selectable<DB['lenders']>;

export interface Evaluation {
  contractId: string;
  deviceId: string;
  decision: StageDecision;
  previousStage: Stage;
  /** A new policy version was issued: the device must sync. */
  policyChanged: boolean;
  policyVersion: number;
}

/** Everything the stage engine needs about one contract, loaded for many contracts at once. */
export interface ContractFacts {
  contract: ContractRow;
  lender: LenderRow;
  profile: ComplianceProfile;
  installments: Selectable<DB['installments']>[];
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

export interface Outcome {
  facts: ContractFacts;
  businessDate: string;
  delinquency: Delinquency;
  status: ContractRow['status'];
  decision: StageDecision;
  /** Something the device enforces or shows changed: issue a new policy version. */
  changed: boolean;
}

const profiles = new WeakMap<object, ComplianceProfile>();
function profileOf(lender: LenderRow): ComplianceProfile {
  const raw = lender.compliance_profile as object;
  let p = profiles.get(raw);
  if (!p) profiles.set(raw, (p = validateProfile(raw)));
  return p;
}

/** Loads the facts of the given (already locked) contracts in a handful of set-based queries. */
export async function loadFacts(tx: Tx, contracts: ContractRow[], now: Date, lenders?: Map<string, LenderRow>): Promise<ContractFacts[]> {
  if (contracts.length === 0) return [];
  const ids = contracts.map((c) => c.id);
  const deviceIds = contracts.map((c) => c.device_id);
  const lenderIds = [...new Set(contracts.map((c) => c.lender_id))];
  const lenderMap = lenders ?? new Map((await tx.selectFrom('lenders').selectAll().where('id', 'in', lenderIds).execute()).map((l) => [l.id, l]));
  const [installments, disputes, claims, channels, notices, latestPolicies] = await Promise.all([
    installmentsByContract(tx, ids),
    tx.selectFrom('disputes').select(['contract_id', 'opened_at', 'resolved_at']).where('contract_id', 'in', ids).execute(),
    tx.selectFrom('claims').select(['contract_id', 'lifts_lock']).where('contract_id', 'in', ids).where('status', '=', 'open').execute(),
    tx.selectFrom('payment_channels').selectAll().where('lender_id', 'in', lenderIds).execute(),
    tx
      .selectFrom('device_events')
      .select(['device_id', 'at', 'received_at', 'detail'])
      .where('device_id', 'in', deviceIds)
      .where('kind', '=', 'notice_shown')
      // Only notices of a current overdue episode can count; older ones are filtered by the engine.
      // By receive time: the reported time may be on a wrong clock (1970 after a reset) and is
      // clamped below, never later than its receipt.
      .where('received_at', '>=', sql<Date>`${now}::timestamptz - interval '400 days'`)
      .execute(),
    tx
      .selectFrom('policies')
      .distinctOn('device_id')
      .select(['device_id', 'offline_renew_at', sql<string | null>`body->'policy'->>'offlineLockAt'`.as('offline_lock_at')])
      .where('device_id', 'in', deviceIds)
      .orderBy('device_id')
      .orderBy('version', 'desc')
      .execute(),
  ]);
  const latestPolicy = new Map(
    latestPolicies.map((p) => [p.device_id, { offlineLockAt: p.offline_lock_at ? Date.parse(p.offline_lock_at) : null, offlineRenewAt: p.offline_renew_at?.getTime() ?? null }]),
  );
  const noticeDevices = [...new Set(notices.map((n) => n.device_id))];
  const noticePolicies = noticeDevices.length
    ? await tx
        .selectFrom('policies')
        .select(['device_id', 'version', 'issued_at', sql<string | null>`body->'policy'->>'noticeIndex'`.as('notice_index')])
        .where('device_id', 'in', noticeDevices)
        .orderBy('device_id')
        .orderBy('version')
        .execute()
    : [];
  const policiesByDevice = groupBy(noticePolicies, (p) => p.device_id);
  const disputesByContract = groupBy(disputes, (d) => d.contract_id);
  const claimed = new Set(claims.map((c) => c.contract_id));
  const lifting = new Set(claims.filter((c) => c.lifts_lock).map((c) => c.contract_id));
  const noticesByDevice = groupBy(notices, (n) => n.device_id);
  const freshUntil = new Map<string, number>();
  for (const ch of channels) {
    freshUntil.set(ch.lender_id, Math.min(feedFreshUntil(ch.last_reported_at, ch.freshness_minutes), freshUntil.get(ch.lender_id) ?? Infinity));
  }
  const stale = new Set([...freshUntil].filter(([, until]) => until < now.getTime()).map(([lenderId]) => lenderId));
  return contracts.map((c) => {
    const lender = lenderMap.get(c.lender_id)!;
    const own = disputesByContract.get(c.id) ?? [];
    return {
      contract: c,
      lender,
      profile: profileOf(lender),
      installments: installments.get(c.id) ?? [],
      openDispute: own.some((d) => d.resolved_at === null),
      disputes: own.map((d) => ({
        from: businessDateIn(lender.time_zone, d.opened_at),
        to: d.resolved_at ? businessDateIn(lender.time_zone, d.resolved_at) : null,
      })),
      openClaim: claimed.has(c.id),
      openClaimLiftsLock: lifting.has(c.id),
      notices: (noticesByDevice.get(c.device_id) ?? []).flatMap((e) => {
        const index = Number((e.detail as { index?: unknown } | null)?.index);
        if (!Number.isInteger(index)) return [];
        const shownAt = clampNoticeShownAt(policiesByDevice.get(c.device_id) ?? [], index, e.at, e.received_at);
        return shownAt ? [{ index, shownAt: shownAt.toISOString() }] : [];
      }),
      feedStale: stale.has(c.lender_id),
      feedFreshUntil: freshUntil.get(c.lender_id) ?? null,
      policyOfflineLockAt: latestPolicy.get(c.device_id)?.offlineLockAt ?? null,
      policyOfflineRenewAt: latestPolicy.get(c.device_id)?.offlineRenewAt ?? null,
    };
  });
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
export function decide(f: ContractFacts, now: Date, opts: { renewOffline?: boolean } = {}): Outcome {
  const c = f.contract;
  const businessDate = businessDateIn(f.lender.time_zone, now);
  const installments = f.installments.map((i) => ({
    n: i.n,
    dueDate: i.due_date,
    principal: i.principal,
    interest: i.interest,
    fee: i.fee,
    penalty: i.penalty,
    paid: { principal: i.paid_principal, interest: i.paid_interest, fee: i.paid_fee, penalty: i.paid_penalty },
  }));
  const unpaused = delinquency({ installments, businessDate, graceDays: f.profile.graceDays });
  const pausedDays = unpaused.overdueSince ? disputedDays(f.disputes, unpaused.overdueSince, businessDate) : 0;
  const d = pausedDays ? delinquency({ installments, businessDate, graceDays: f.profile.graceDays, pausedDays }) : unpaused;
  const status: ContractRow['status'] = c.status === 'active' && d.paidOff ? 'paid_off' : c.status;
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
    manual: (c.manual_action as ManualAction | null) ?? null,
    currentStage: c.stage as Stage,
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
function offlineRenewMs(profile: ComplianceProfile): number {
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
function offlineLockAllowed(f: ContractFacts, now: Date): boolean {
  const c = f.contract;
  const manual = c.manual_action as ManualAction | null;
  const manualHold = manual !== null && manual.action !== 'lock' && (manual.until === undefined || Date.parse(manual.until) > now.getTime());
  return c.consent_at !== null && !f.openDispute && !f.openClaim && !manualHold;
}

/** Which audit action a stage change is, seen from the borrower's phone. */
function transitionAction(from: Stage, to: Stage): string | null {
  if (from === to) return null;
  if (to === 'released') return 'device.released';
  if (isLocking(to) && !isLocking(from)) return to === 'locked' ? 'device.locked' : 'device.restricted';
  if (isLocking(from) && !isLocking(to)) return 'device.unlocked';
  if (to === 'locked') return 'device.locked';
  return 'contract.stage_changed';
}

/** The contract columns an evaluation writes (all but stage_changed_at, which depends on the old row). */
export function evaluatedColumns(o: Outcome, now: Date) {
  const c = o.facts.contract;
  const { decision, delinquency: d } = o;
  return {
    status: o.status,
    stage: decision.stage,
    stage_reason: decision.reason,
    lock_at: decision.lockAt ? new Date(decision.lockAt) : null,
    notice_index: decision.noticeIndex,
    oldest_unpaid_due_date: d.oldestUnpaidDueDate,
    amount_overdue: d.amountOverdue,
    outstanding: d.outstanding,
    // Never in the past: the sweep picks up due rows, and a past instant would be picked forever.
    next_evaluation_at: decision.nextEvaluationAt ? new Date(Math.max(Date.parse(decision.nextEvaluationAt), now.getTime() + 60_000)) : null,
    last_evaluated_on: o.businessDate,
    policy_version: o.changed ? c.policy_version + 1 : c.policy_version,
    updated_at: now,
  };
}

/** The next policy of a changed outcome, with the rest of its policies row. */
function nextPolicy(s: Services, o: Outcome, now: Date) {
  const c = o.facts.contract;
  const version = c.policy_version + 1;
  const policy = buildPolicy({
    deviceId: c.device_id,
    version,
    now,
    decision: o.decision,
    noticeUntil: null,
    lender: o.facts.lender,
    amountDue: o.delinquency.amountOverdue,
    currency: c.currency,
    lockReference: c.lock_reference,
    oldestUnpaidDueDate: o.delinquency.oldestUnpaidDueDate,
    profile: o.facts.profile,
    nextCheckinAt: new Date(now.getTime() + s.checkinIntervalSec * 1000),
  });
  if (!offlineLockAllowed(o.facts, now)) policy.offlineLockAt = null;
  // Stored beside the policy so a check-in, which knows no profile, sees when to renew it.
  const offlineRenewAt = policy.offlineLockAt ? new Date(Date.parse(policy.offlineLockAt) - offlineRenewMs(o.facts.profile)) : null;
  return { policy, row: { device_id: c.device_id, version, stage: o.decision.stage, issued_at: now, offline_renew_at: offlineRenewAt } };
}

/** The next signed policy of a changed outcome, as a policies row (body not yet serialised). */
export function signedPolicyRow(s: Services, o: Outcome, now: Date) {
  const { policy, row } = nextPolicy(s, o, now);
  return { ...row, body: s.keyring.sign(policy) };
}

/**
 * signedPolicyRow for many outcomes, signed together (large batches off the main thread).
 * Callers start it, write their other rows meanwhile and await it last, so a write that fails
 * first must not leave its rejection unhandled: it is marked handled here.
 */
export function signedPolicyRows(s: Services, outcomes: Outcome[], now: Date) {
  const next = outcomes.map((o) => nextPolicy(s, o, now));
  const rows = s.keyring.signMany(next.map((n) => n.policy)).then((signed) => next.map((n, i) => ({ ...n.row, body: signed[i]! })));
  rows.catch(() => undefined);
  return rows;
}

/**
 * Writes an outcome in the unit of work: contract columns always; when it changed, a new signed
 * policy and a nudge to its device; on a stage change, the audit entry and announcements.
 */
/** What lifted a lock, for the borrower's message: each cause has its own SMS (issue #12 L10). */
export type UnlockCause = 'payment' | 'claim' | 'dispute' | 'manual' | 'code' | 'other';

export interface EvaluateOptions {
  /** The use case knows why a lock goes (a manual release, a DISABLE_PAYG code); otherwise it is read from the decision. */
  unlockCause?: UnlockCause;
  /** false: the caller tells the borrower about a new lock in a message of its own (a rejected claim). */
  announceLock?: boolean;
}

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

export async function applyOutcome(s: Services, tx: Tx, fx: Effects, o: Outcome, why: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const now = fx.now;
  const c = o.facts.contract;
  const { decision, delinquency: d } = o;
  const version = o.changed ? c.policy_version + 1 : c.policy_version;
  await tx
    .updateTable('contracts')
    .set({ ...evaluatedColumns(o, now), stage_changed_at: decision.stage !== c.stage ? now : c.stage_changed_at })
    .where('id', '=', c.id)
    .execute();
  if (o.changed) {
    await fx.issuePolicies([signedPolicyRow(s, o, now)]);
    if (o.status === 'paid_off' && c.status !== 'paid_off') {
      await tx.updateTable('devices').set({ released_at: now }).where('id', '=', c.device_id).execute();
    }
  }
  const action = transitionAction(c.stage as Stage, decision.stage);
  if (action) {
    await announce(fx, o, action, opts);
    await fx.audit({
      action,
      subjectType: 'device',
      subjectId: c.device_id,
      lenderId: c.lender_id,
      reason: `${why}; stage ${c.stage} → ${decision.stage} (${decision.reason})`,
      data: { contractId: c.id, from: c.stage, to: decision.stage, daysPastDue: d.daysPastDue, policyVersion: version },
    });
  }
  return { contractId: c.id, deviceId: c.device_id, decision, previousStage: c.stage as Stage, policyChanged: o.changed, policyVersion: version };
}

/**
 * Tells the lender (webhook) and the borrower (SMS in their language) about a change the phone
 * will show, in the same unit of work as the change.
 */
async function announce(fx: Effects, o: Outcome, action: string, opts: EvaluateOptions): Promise<void> {
  const c = o.facts.contract;
  const data = { deviceId: c.device_id, contractId: c.id, stage: o.decision.stage, reason: o.decision.reason, amountOverdue: o.delinquency.amountOverdue, currency: c.currency };
  if (action === 'device.locked' || action === 'device.unlocked' || action === 'device.released') await fx.webhook({ lenderId: c.lender_id, type: action, data });
  if (action === 'device.locked' && opts.announceLock !== false) await fx.notify({ contractId: c.id, kind: 'lock' });
  if (action === 'device.unlocked') {
    const cause = opts.unlockCause ?? unlockCause(o);
    if (cause === 'payment') await fx.notify({ contractId: c.id, kind: 'unlock', params: { amount: c.amount_overdue - o.delinquency.amountOverdue } });
    else await fx.notify({ contractId: c.id, kind: `unlock_${cause}` });
  }
  if (action === 'device.released') await fx.notify({ contractId: c.id, kind: 'release' });
}

/**
 * Re-evaluates one contract in the caller's unit of work, with the contract row locked, so
 * concurrent payments and sweeps serialise on it.
 */
export async function evaluateContractTx(s: Services, tx: Tx, fx: Effects, contractId: string, why: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const c = await tx.selectFrom('contracts').selectAll().where('id', '=', contractId).forUpdate().executeTakeFirstOrThrow();
  const [facts] = await loadFacts(tx, [c], fx.now);
  return applyOutcome(s, tx, fx, decide(facts!, fx.now), why, opts);
}

/** Re-evaluates one contract as a unit of work of its own. */
export function evaluateContract(s: Services, contractId: string, actor: Actor, why: string): Promise<Evaluation> {
  return commit(s, actor, (tx, fx) => evaluateContractTx(s, tx, fx, contractId, why));
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

export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
