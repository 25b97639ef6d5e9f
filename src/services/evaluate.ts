import { sql, type Selectable } from 'kysely';
import { groupBy } from '../domain/collections.ts';
import { businessDateIn } from '../domain/dates.ts';
import { validateProfile, type ComplianceProfile } from '../domain/compliance.ts';
import {
  clampNoticeShownAt,
  decide,
  feedFreshUntil,
  offlineLockAllowed,
  offlineRenewMs,
  transitionAction,
  unlockCause,
  type ContractFacts as FactsOf,
  type UnlockCause,
  type Outcome as OutcomeOf,
} from '../domain/evaluation.ts';
import type { Stage, StageDecision } from '../domain/stage.ts';
import type { DB } from '../store/schema.ts';
import type { Actor, Services } from './context.ts';
import { commit, type Effects, type Executor } from './unit-of-work.ts';
import { buildPolicy } from './policy.ts';
import { installmentsByContract } from '../store/repos/contracts.ts';

type ContractRow = Selectable<DB['contracts']>;
type LenderRow = Selectable<DB['lenders']>;

/** The engine's facts and outcome about a stored contract, with its whole row and its lender's. */
export type ContractFacts = FactsOf<ContractRow, LenderRow>;
export type Outcome = OutcomeOf<ContractRow, LenderRow>;

export interface Evaluation {
  contractId: string;
  deviceId: string;
  decision: StageDecision;
  previousStage: Stage;
  /** A new policy version was issued: the device must sync. */
  policyChanged: boolean;
  policyVersion: number;
}

const profiles = new WeakMap<object, ComplianceProfile>();
function profileOf(lender: LenderRow): ComplianceProfile {
  const raw = lender.compliance_profile;
  let p = profiles.get(raw);
  if (!p) profiles.set(raw, (p = validateProfile(raw)));
  return p;
}

/** Loads the facts of the given (already locked) contracts in a handful of set-based queries. */
export async function loadFacts(tx: Executor, contracts: ContractRow[], now: Date, lenders?: Map<string, LenderRow>): Promise<ContractFacts[]> {
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
    lender: o.facts.lender,
    note: c.screen_note,
    amountDue: o.delinquency.amountOverdue,
    currency: c.currency,
    lockReference: c.lock_reference,
    oldestUnpaidDueDate: o.delinquency.oldestUnpaidDueDate,
    profile: o.facts.profile,
    nextCheckinAt: new Date(now.getTime() + s.checkinIntervalSec * 1000),
  });
  if (!offlineLockAllowed(o.facts, now)) {
    policy.offlineLockAt = null;
    policy.offlineNotice = null;
  }
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

export interface EvaluateOptions {
  /** The use case knows why a lock goes (a manual release, a DISABLE_PAYG code); otherwise it is read from the decision. */
  unlockCause?: UnlockCause;
  /** false: the caller tells the borrower about a new lock in a message of its own (a rejected claim). */
  announceLock?: boolean;
}

/**
 * Writes an outcome in the unit of work: contract columns always; when it changed, a new signed
 * policy and a nudge to its device; on a stage change, the audit entry and announcements.
 */
export async function applyOutcome(s: Services, tx: Executor, fx: Effects, o: Outcome, why: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
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
  const action = transitionAction(c.stage, decision.stage);
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
  return { contractId: c.id, deviceId: c.device_id, decision, previousStage: c.stage, policyChanged: o.changed, policyVersion: version };
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
export async function evaluateContractTx(s: Services, tx: Executor, fx: Effects, contractId: string, why: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const c = await tx.selectFrom('contracts').selectAll().where('id', '=', contractId).forUpdate().executeTakeFirstOrThrow();
  const [facts] = await loadFacts(tx, [c], fx.now);
  return applyOutcome(s, tx, fx, decide(facts!, fx.now), why, opts);
}

/** Re-evaluates one contract as a unit of work of its own. */
export function evaluateContract(s: Services, contractId: string, actor: Actor, why: string): Promise<Evaluation> {
  return commit(s, actor, (tx, fx) => evaluateContractTx(s, tx, fx, contractId, why));
}
