/**
 * Read models of the lender REST API (`/v1/…`). Every query takes the lender id and filters by
 * it, so another lender's ids read as "not found", never as "forbidden".
 */
import type { Kysely } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import { HELD_REASONS, type Stage } from '../../domain/stage.ts';
import { decodeCursor, pageSize, toPage } from '../../store/pagination.ts';
import { listAudit, verifyAudit } from '../../store/repos/audit.ts';
import type { ContractStatus, DB } from '../../store/schema.ts';
import { isStale } from '../settings.ts';

type Db = Kysely<DB>;
type Paging = { cursor?: string | undefined; limit?: number | undefined };

const DEVICE_COLUMNS = ['id', 'imei1', 'imei2', 'serial', 'model', 'enrolled_at', 'last_seen_at', 'agent_version', 'policy_version_held', 'released_at'] as const;
const TIMELINE_LIMIT = 100;

/** A device with its contract and one timeline of check-ins, events, policies and codes, newest first. */
export async function deviceDetail(db: Db, lenderId: string, deviceId: string) {
  const d = await db.selectFrom('devices').select(DEVICE_COLUMNS).where('id', '=', deviceId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!d) throw new LienError('not_found', `No device ${deviceId}`);
  const [contract, events, policies, codes] = await Promise.all([
    db.selectFrom('contracts').select(['id', 'stage', 'stage_reason', 'status', 'amount_overdue', 'outstanding', 'currency', 'lock_reference', 'policy_version', 'manual_action']).where('device_id', '=', d.id).where('lender_id', '=', lenderId).orderBy('created_at', 'desc').executeTakeFirst(),
    db.selectFrom('device_events').select(['kind', 'at', 'detail']).where('device_id', '=', d.id).orderBy('at', 'desc').limit(TIMELINE_LIMIT).execute(),
    db.selectFrom('policies').select(['version', 'stage', 'issued_at']).where('device_id', '=', d.id).orderBy('version', 'desc').limit(TIMELINE_LIMIT).execute(),
    db.selectFrom('tokens_issued').select(['id', 'type', 'value', 'count', 'token', 'reason', 'issued_by', 'issued_at']).where('device_id', '=', d.id).where('lender_id', '=', lenderId).orderBy('issued_at', 'desc').limit(TIMELINE_LIMIT).execute(),
  ]);
  const timeline = [
    ...(d.last_seen_at ? [{ at: d.last_seen_at, type: 'checkin' as const, summary: `last check-in (agent ${d.agent_version ?? '?'}, holds policy v${d.policy_version_held})` }] : []),
    ...events.map((e) => ({ at: e.at, type: 'event' as const, summary: e.kind, detail: e.detail })),
    ...policies.map((p) => ({ at: p.issued_at, type: 'policy' as const, summary: `policy v${p.version}: ${p.stage}` })),
    ...codes.map((c) => ({ at: c.issued_at, type: 'code' as const, summary: `${c.type}${c.value ? ` ${c.value} days` : ''} code #${c.count}: ${c.reason}` })),
  ].sort((a, b) => b.at.getTime() - a.at.getTime());
  return { device: d, contract: contract ?? null, timeline: timeline.slice(0, TIMELINE_LIMIT), events, policies, codes };
}

/** The lender's contracts, newest first. */
export async function listContracts(db: Db, lenderId: string, q: Paging & { status?: ContractStatus | undefined; stage?: Stage | undefined; deviceId?: string | undefined }) {
  const limit = pageSize(q.limit);
  let query = db.selectFrom('contracts').selectAll().where('lender_id', '=', lenderId);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.stage) query = query.where('stage', '=', q.stage);
  if (q.deviceId) query = query.where('device_id', '=', q.deviceId);
  if (q.cursor) query = query.where('id', '<', decodeCursor(q.cursor, ['string'])[0]);
  return toPage(await query.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (r) => [r.id]);
}

/** A contract with its schedule (what each installment is due and has been paid), payments, disputes and claims. */
export async function contractDetail(db: Db, lenderId: string, contractId: string) {
  const c = await db.selectFrom('contracts').selectAll().where('id', '=', contractId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!c) throw new LienError('not_found', `No contract ${contractId}`);
  const [installments, payments, disputes, claims] = await Promise.all([
    db.selectFrom('installments').selectAll().where('contract_id', '=', c.id).orderBy('n').execute(),
    db.selectFrom('payments').selectAll().where('contract_id', '=', c.id).orderBy('received_at').orderBy('id').execute(),
    db.selectFrom('disputes').selectAll().where('contract_id', '=', c.id).orderBy('opened_at').execute(),
    db.selectFrom('claims').select(['id', 'transaction_ref', 'amount', 'currency', 'paid_on', 'channel', 'status', 'message', 'created_at', 'decided_at']).where('contract_id', '=', c.id).orderBy('id').execute(),
  ]);
  const schedule = installments.map((i) => {
    const due = { principal: i.principal, interest: i.interest, fee: i.fee, penalty: i.penalty, total: i.principal + i.interest + i.fee + i.penalty };
    const paid = { principal: i.paid_principal, interest: i.paid_interest, fee: i.paid_fee, penalty: i.paid_penalty, total: i.paid_principal + i.paid_interest + i.paid_fee + i.paid_penalty };
    return { n: i.n, dueDate: i.due_date, due, paid, remaining: due.total - paid.total };
  });
  return { contract: c, installments: schedule, payments, disputes, claims };
}

/** The lender's payments, newest first, optionally of one contract. */
export async function listPayments(db: Db, lenderId: string, q: Paging & { contractId?: string | undefined }) {
  const limit = pageSize(q.limit);
  let query = db.selectFrom('payments').selectAll().where('lender_id', '=', lenderId);
  if (q.contractId) query = query.where('contract_id', '=', q.contractId);
  if (q.cursor) query = query.where('id', '<', decodeCursor(q.cursor, ['string'])[0]);
  return toPage(await query.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (p) => [p.id]);
}

/** Contracts whose lock a guardrail holds back, with the reason, and the payment channels gone stale. */
export async function heldLocks(db: Db, lenderId: string, now: Date, q: Paging) {
  const limit = pageSize(q.limit);
  let query = db
    .selectFrom('contracts')
    .select(['id', 'device_id', 'stage', 'stage_reason', 'amount_overdue', 'currency', 'stage_changed_at'])
    .where('lender_id', '=', lenderId)
    .where('status', '=', 'active')
    .where('stage_reason', 'in', HELD_REASONS);
  if (q.cursor) query = query.where('id', '<', decodeCursor(q.cursor, ['string'])[0]);
  const [rows, channels] = await Promise.all([
    query.orderBy('id', 'desc').limit(limit + 1).execute(),
    db.selectFrom('payment_channels').selectAll().where('lender_id', '=', lenderId).orderBy('channel').execute(),
  ]);
  const page = toPage(rows, limit, (c) => [c.id]);
  return {
    items: page.items.map((c) => ({
      contractId: c.id,
      deviceId: c.device_id,
      stage: c.stage,
      reason: c.stage_reason,
      amountOverdue: c.amount_overdue,
      currency: c.currency,
      since: c.stage_changed_at,
    })),
    nextCursor: page.nextCursor,
    staleChannels: channels
      .filter((ch) => isStale(ch.last_reported_at, ch.freshness_minutes, now))
      .map((ch) => ({ channel: ch.channel, freshnessMinutes: ch.freshness_minutes, lastReportedAt: ch.last_reported_at })),
  };
}

/** The lender's audit log, newest first. */
export function auditPage(db: Db, lenderId: string, q: Paging & { subjectType?: string | undefined; subjectId?: string | undefined; action?: string | undefined }) {
  return listAudit(db, { lenderId, ...q });
}

/** Whether the lender's audit chain is intact. */
export function verifyAuditChain(db: Db, lenderId: string) {
  return verifyAudit(db, { lenderId });
}
