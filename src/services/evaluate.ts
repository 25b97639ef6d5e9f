import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { delinquency, type Delinquency } from '../domain/delinquency.ts';
import { addDays, businessDateIn } from '../domain/dates.ts';
import { validateProfile, type ComplianceProfile } from '../domain/compliance.ts';
import { decideStage, isLocking, type ManualAction, type Stage, type StageDecision } from '../domain/stage.ts';
import type { DB } from '../store/schema.ts';
import { audit } from './audit.ts';
import { enqueueWebhookEvent } from '../jobs/webhooks.ts';
import { enqueueNotification } from '../jobs/notifications.ts';
import type { Actor, Services } from './context.ts';
import { buildPolicy } from './policy.ts';

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
  notices: { index: number; shownAt: string }[];
  feedStale: boolean;
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
  const [installments, disputes, claims, channels, notices] = await Promise.all([
    tx.selectFrom('installments').selectAll().where('contract_id', 'in', ids).orderBy('contract_id').orderBy('n').execute(),
    tx.selectFrom('disputes').select(['contract_id', 'opened_at', 'resolved_at']).where('contract_id', 'in', ids).execute(),
    tx.selectFrom('claims').select('contract_id').where('contract_id', 'in', ids).where('status', '=', 'open').execute(),
    tx.selectFrom('payment_channels').selectAll().where('lender_id', 'in', lenderIds).execute(),
    tx
      .selectFrom('device_events')
      .select(['device_id', 'at', 'detail'])
      .where('device_id', 'in', deviceIds)
      .where('kind', '=', 'notice_shown')
      // Only notices of a current overdue episode can count; older ones are filtered by the engine.
      .where('at', '>=', sql<Date>`${now}::timestamptz - interval '400 days'`)
      .execute(),
  ]);
  const byContract = groupBy(installments, (i) => i.contract_id);
  const disputesByContract = groupBy(disputes, (d) => d.contract_id);
  const claimed = new Set(claims.map((c) => c.contract_id));
  const noticesByDevice = groupBy(notices, (n) => n.device_id);
  const stale = new Set(
    channels.filter((ch) => !ch.last_reported_at || now.getTime() - ch.last_reported_at.getTime() > ch.freshness_minutes * 60_000).map((ch) => ch.lender_id),
  );
  return contracts.map((c) => {
    const lender = lenderMap.get(c.lender_id)!;
    const own = disputesByContract.get(c.id) ?? [];
    return {
      contract: c,
      lender,
      profile: profileOf(lender),
      installments: byContract.get(c.id) ?? [],
      openDispute: own.some((d) => d.resolved_at === null),
      disputes: own.map((d) => ({
        from: businessDateIn(lender.time_zone, d.opened_at),
        to: d.resolved_at ? businessDateIn(lender.time_zone, d.resolved_at) : null,
      })),
      openClaim: claimed.has(c.id),
      notices: (noticesByDevice.get(c.device_id) ?? [])
        .map((e) => ({ index: Number((e.detail as { index?: unknown } | null)?.index), shownAt: e.at.toISOString() }))
        .filter((n) => Number.isInteger(n.index)),
      feedStale: stale.has(c.lender_id),
    };
  });
}

/** Pure: facts + now → the decision and whether the device's policy must change. */
export function decide(f: ContractFacts, now: Date): Outcome {
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
  const decision = decideStage({
    now: now.toISOString(),
    contractStatus: status,
    consentRecorded: c.consent_at !== null,
    daysPastDue: d.daysPastDue,
    overdueSince: d.overdueSince,
    nextDueDate: d.nextDueDate,
    businessDate,
    openDispute: f.openDispute,
    openClaim: f.openClaim,
    noticesShown: f.notices,
    paymentFeedStale: f.feedStale,
    manual: (c.manual_action as ManualAction | null) ?? null,
    currentStage: c.stage as Stage,
    profile: f.profile,
    timeZone: f.lender.time_zone,
  });
  const changed =
    c.policy_version === 0 ||
    decision.stage !== c.stage ||
    (decision.lockAt ?? null) !== (c.lock_at ? c.lock_at.toISOString() : null) ||
    (decision.noticeIndex ?? null) !== (c.notice_index ?? null) ||
    d.amountOverdue !== c.amount_overdue ||
    status !== c.status;
  return { facts: f, businessDate, delinquency: d, status, decision, changed };
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

/** Writes an outcome: contract columns always; a new signed policy and audit row when it changed. */
export async function applyOutcome(s: Services, tx: Tx, o: Outcome, now: Date, actor: Actor, why: string): Promise<Evaluation> {
  const c = o.facts.contract;
  const { decision, delinquency: d } = o;
  const version = o.changed ? c.policy_version + 1 : c.policy_version;
  await tx
    .updateTable('contracts')
    .set({
      status: o.status,
      stage: decision.stage,
      stage_reason: decision.reason,
      stage_changed_at: decision.stage !== c.stage ? now : c.stage_changed_at,
      lock_at: decision.lockAt ? new Date(decision.lockAt) : null,
      notice_index: decision.noticeIndex,
      oldest_unpaid_due_date: d.oldestUnpaidDueDate,
      amount_overdue: d.amountOverdue,
      outstanding: d.outstanding,
      // Never in the past: the sweep picks up due rows, and a past instant would be picked forever.
      next_evaluation_at: decision.nextEvaluationAt ? new Date(Math.max(Date.parse(decision.nextEvaluationAt), now.getTime() + 60_000)) : null,
      last_evaluated_on: o.businessDate,
      policy_version: version,
      updated_at: now,
    })
    .where('id', '=', c.id)
    .execute();
  if (o.changed) {
    const policy = buildPolicy({
      deviceId: c.device_id,
      version,
      now,
      decision,
      noticeUntil: null,
      lender: o.facts.lender,
      amountDue: d.amountOverdue,
      currency: c.currency,
      lockReference: c.lock_reference,
      oldestUnpaidDueDate: d.oldestUnpaidDueDate,
      profile: o.facts.profile,
      nextCheckinAt: new Date(now.getTime() + s.checkinIntervalSec * 1000),
    });
    await tx.insertInto('policies').values({ device_id: c.device_id, version, stage: decision.stage, body: JSON.stringify(s.keyring.sign(policy)), issued_at: now }).execute();
    if (o.status === 'paid_off' && c.status !== 'paid_off') {
      await tx.updateTable('devices').set({ released_at: now }).where('id', '=', c.device_id).execute();
    }
  }
  const action = transitionAction(c.stage as Stage, decision.stage);
  if (action) await announce(tx, o, action, now);
  if (action) {
    await audit(tx, actor, now, {
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
 * will show, in the same transaction as the change.
 */
async function announce(tx: Tx, o: Outcome, action: string, now: Date): Promise<void> {
  const c = o.facts.contract;
  const data = { deviceId: c.device_id, contractId: c.id, stage: o.decision.stage, reason: o.decision.reason, amountOverdue: o.delinquency.amountOverdue, currency: c.currency };
  const webhook = action === 'device.locked' || action === 'device.unlocked' || action === 'device.released' ? action : null;
  if (webhook) await enqueueWebhookEvent(tx as Kysely<DB>, { lenderId: c.lender_id, type: webhook, data, at: now });
  if (action === 'device.locked') await enqueueNotification(tx as Kysely<DB>, { contractId: c.id, kind: 'lock', at: now });
  if (action === 'device.unlocked') await enqueueNotification(tx as Kysely<DB>, { contractId: c.id, kind: 'unlock', at: now, params: { amount: Math.max(0, c.amount_overdue - o.delinquency.amountOverdue) } });
  if (action === 'device.released') await enqueueNotification(tx as Kysely<DB>, { contractId: c.id, kind: 'release', at: now });
}

/**
 * Re-evaluates one contract now, in the caller's transaction with the contract row locked, so
 * concurrent payments and sweeps serialise on it.
 */
export async function evaluateContractTx(s: Services, tx: Tx, contractId: string, actor: Actor, why: string): Promise<Evaluation> {
  const now = s.clock.now();
  const c = await tx.selectFrom('contracts').selectAll().where('id', '=', contractId).forUpdate().executeTakeFirstOrThrow();
  const [facts] = await loadFacts(tx, [c], now);
  return applyOutcome(s, tx, decide(facts!, now), now, actor, why);
}

/** Evaluates in its own transaction and nudges the device when its policy changed. */
export async function evaluateContract(s: Services, contractId: string, actor: Actor, why: string): Promise<Evaluation> {
  const ev = await s.db.transaction().execute((tx) => evaluateContractTx(s, tx, contractId, actor, why));
  if (ev.policyChanged) await s.nudges.nudge(ev.deviceId);
  return ev;
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

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
