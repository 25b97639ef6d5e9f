/**
 * The suspense queue: money a rail received that matched no open contract. Someone at the lender
 * assigns it to the right contract — audited, then allocated exactly like a payment posted through
 * the API, so a phone whose arrears it clears is unlocked and nudged — or records that it was
 * refunded to the payer.
 */
import type { Kysely } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import { decodeCursor, pageSize, toPage, type Page } from '../../store/pagination.ts';
import type { DB, SuspenseReason, SuspenseStatus } from '../../store/schema.ts';
import { actorName, type Actor, type Services } from '../context.ts';
import { contractForActor, recordPayment, type PaymentResult } from '../payments.ts';
import { commit, type Executor } from '../unit-of-work.ts';

export const SUSPENSE_STATUSES = ['open', 'assigned', 'refunded'] as const satisfies readonly SuspenseStatus[];

export interface SuspenseItem {
  id: string;
  channelId: string;
  channel: string;
  externalRef: string;
  reference: string;
  amount: number;
  currency: string;
  reason: SuspenseReason;
  status: SuspenseStatus;
  payload: unknown;
  contractId: string | null;
  paymentId: string | null;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  note: string | null;
  receivedAt: Date;
  createdAt: Date;
}

export async function listSuspense(db: Kysely<DB>, lenderId: string, opts: { status?: SuspenseStatus; cursor?: string; limit?: number } = {}): Promise<Page<SuspenseItem>> {
  const limit = pageSize(opts.limit);
  let q = db.selectFrom('suspense_payments').selectAll().where('lender_id', '=', lenderId);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.cursor) q = q.where('id', '<', decodeCursor(opts.cursor, ['string'] as const)[0]);
  const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
  return toPage(
    rows.map((r) => ({
      id: r.id,
      channelId: r.channel_id,
      channel: r.channel,
      externalRef: r.external_ref,
      reference: r.reference,
      amount: Number(r.amount),
      currency: r.currency,
      reason: r.reason,
      status: r.status,
      payload: r.payload,
      contractId: r.contract_id,
      paymentId: r.payment_id,
      resolvedAt: r.resolved_at,
      resolvedBy: r.resolved_by,
      note: r.note,
      receivedAt: r.received_at,
      createdAt: r.created_at,
    })),
    limit,
    (i) => [i.id],
  );
}

export async function openSuspenseCount(db: Kysely<DB>, lenderId: string): Promise<number> {
  const r = await db.selectFrom('suspense_payments').select((eb) => eb.fn.countAll<number>().as('n')).where('lender_id', '=', lenderId).where('status', '=', 'open').executeTakeFirstOrThrow();
  return Number(r.n);
}

async function openItem(tx: Executor, actor: Actor, id: string) {
  const row = await tx.selectFrom('suspense_payments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row || (actor.lenderId !== null && row.lender_id !== actor.lenderId)) throw new LienError('not_found', `No suspense entry ${id}`, { suspenseId: id });
  if (row.status !== 'open') throw new LienError('conflict', `Suspense entry ${row.external_ref} was already ${row.status}.`, { suspenseId: id, status: row.status });
  return row;
}

function checkNote(note: string): string {
  const n = note.trim();
  if (n.length < 3 || n.length > 500) throw new LienError('invalid_input', 'A note of 3 to 500 characters says why (it goes to the audit log).', { field: 'note' });
  return n;
}

/** Posts a suspense entry to a contract: audited, then allocated as a payment (phone nudged). */
export async function assignSuspense(s: Services, actor: Actor, id: string, contractId: string, note: string): Promise<PaymentResult & { suspenseId: string }> {
  const why = checkNote(note);
  return commit(s, actor, async (tx, fx) => {
    // The contract first, as every change to one does (payments.ts contractForActor).
    await contractForActor(tx, actor, contractId);
    const item = await openItem(tx, actor, id);
    await fx.audit({
      action: 'suspense.assigned',
      subjectType: 'suspense_payment',
      subjectId: id,
      lenderId: item.lender_id,
      reason: why,
      data: { contractId, externalRef: item.external_ref, amount: Number(item.amount), currency: item.currency, previousReason: item.reason },
    });
    const res = await recordPayment(s, tx, fx, { contractId, externalRef: item.external_ref, channel: item.channel, amount: Number(item.amount), currency: item.currency, receivedAt: item.received_at });
    await tx
      .updateTable('suspense_payments')
      .set({ status: 'assigned', contract_id: contractId, payment_id: res.paymentId, resolved_at: fx.now, resolved_by: actorName(actor), note: why })
      .where('id', '=', id)
      .execute();
    return { ...res, suspenseId: id };
  });
}

/** Records that the money went back to the payer; nothing is posted. */
export async function refundSuspense(s: Services, actor: Actor, id: string, note: string): Promise<{ suspenseId: string; status: 'refunded' }> {
  const why = checkNote(note);
  return commit(s, actor, async (tx, fx) => {
    const item = await openItem(tx, actor, id);
    await tx.updateTable('suspense_payments').set({ status: 'refunded', resolved_at: fx.now, resolved_by: actorName(actor), note: why }).where('id', '=', id).execute();
    await fx.audit({
      action: 'suspense.refunded',
      subjectType: 'suspense_payment',
      subjectId: id,
      lenderId: item.lender_id,
      reason: why,
      data: { externalRef: item.external_ref, amount: Number(item.amount), currency: item.currency },
    });
    return { suspenseId: id, status: 'refunded' as const };
  });
}
