/**
 * The lender's side of a payment claim: a borrower says they paid (through a channel whose feed
 * lags, say) and the open claim holds any lock; the lender approves it (the payment is posted) or
 * rejects it with a message the borrower reads.
 */
import type { Kysely, Selectable } from 'kysely';
import { LienError } from '../domain/errors.ts';
import { startOfLocalDay } from '../domain/dates.ts';
import { isLocking } from '../domain/stage.ts';
import { decodeCursor, pageSize, toPage, type Page } from '../store/pagination.ts';
import type { ClaimStatus, DB } from '../store/schema.ts';
import { actorName, type Actor, type Services } from './context.ts';
import { evaluateContractTx } from './evaluate.ts';
import { recordPayment } from './payments.ts';
import { commit, type Executor } from './unit-of-work.ts';

type ClaimRow = Selectable<DB['claims']>;

export interface ClaimSummary {
  id: string;
  /** What the borrower was given on the portal (C-XXXXXXXX); null on claims from before it existed. */
  number: string | null;
  contractId: string;
  deviceId: string;
  transactionRef: string;
  amount: number;
  currency: string;
  paidOn: string;
  channel: string;
  hasReceipt: boolean;
  receiptType: string | null;
  status: ClaimStatus;
  message: string | null;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  /** The claim lifted the lock that was on the phone while it was open. */
  liftedLock: boolean;
}

const COLUMNS = [
  'id',
  'number',
  'contract_id',
  'device_id',
  'lender_id',
  'transaction_ref',
  'amount',
  'currency',
  'paid_on',
  'channel',
  'receipt_type',
  'status',
  'message',
  'created_at',
  'decided_at',
  'decided_by',
  'lifts_lock',
] as const;

type ClaimListRow = Pick<ClaimRow, (typeof COLUMNS)[number]> & { has_receipt: boolean | number };

function toSummary(r: ClaimListRow): ClaimSummary {
  return {
    id: r.id,
    number: r.number,
    contractId: r.contract_id,
    deviceId: r.device_id,
    transactionRef: r.transaction_ref,
    amount: r.amount,
    currency: r.currency,
    paidOn: r.paid_on,
    channel: r.channel,
    hasReceipt: Boolean(r.has_receipt),
    receiptType: r.receipt_type,
    status: r.status,
    message: r.message,
    createdAt: r.created_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    liftedLock: Boolean(r.lifts_lock),
  };
}

function selectClaims(db: Kysely<DB>) {
  return db.selectFrom('claims').select(COLUMNS).select((eb) => eb('receipt', 'is not', null).as('has_receipt'));
}

export const CLAIM_STATUSES: readonly ClaimStatus[] = ['open', 'approved', 'rejected'];

/** A lender's claims, newest first. */
export async function listClaims(
  db: Kysely<DB>,
  lenderId: string,
  opts: { status?: ClaimStatus; cursor?: string; limit?: number } = {},
): Promise<Page<ClaimSummary>> {
  const limit = pageSize(opts.limit);
  if (opts.status !== undefined && !CLAIM_STATUSES.includes(opts.status)) {
    throw new LienError('invalid_input', `status must be one of ${CLAIM_STATUSES.join(', ')}`, { field: 'status' });
  }
  let q = selectClaims(db).where('lender_id', '=', lenderId);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.cursor) {
    const [lastId] = decodeCursor(opts.cursor, ['string']);
    q = q.where('id', '<', lastId);
  }
  const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
  const page = toPage(rows, limit, (r) => [r.id]);
  return { items: page.items.map(toSummary), nextCursor: page.nextCursor };
}

/** One claim of the lender; another lender's claim is "not found", never "forbidden". */
export async function getClaim(db: Kysely<DB>, lenderId: string, claimId: string): Promise<ClaimSummary> {
  const row = await selectClaims(db).where('id', '=', claimId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!row) throw new LienError('not_found', `No claim ${claimId}`, { claimId });
  return toSummary(row);
}

async function openClaimForUpdate(tx: Executor, actor: Actor, claimId: string): Promise<ClaimRow> {
  const c = await tx.selectFrom('claims').selectAll().where('id', '=', claimId).forUpdate().executeTakeFirst();
  if (!c || (actor.lenderId !== null && c.lender_id !== actor.lenderId)) throw new LienError('not_found', `No claim ${claimId}`, { claimId });
  if (c.status !== 'open') {
    throw new LienError('conflict', `Claim ${claimId} was already ${c.status}${c.decided_at ? ` on ${c.decided_at.toISOString()}` : ''}; only open claims can be decided.`, {
      claimId,
      status: c.status,
    });
  }
  return c;
}

/**
 * Approves a claim, as one unit of work: the payment it describes is posted (allocated, audited,
 * announced like any payment), the claim is closed and the contract re-evaluated without its
 * hold. The claim row is locked first, so of two concurrent decisions the second finds it closed.
 */
export async function approveClaim(s: Services, actor: Actor, claimId: string): Promise<{ claimId: string; paymentId: string; stage: string }> {
  return commit(s, actor, async (tx, fx) => {
    const claim = await openClaimForUpdate(tx, actor, claimId);
    const posted = await tx.selectFrom('payments').select(['id', 'posted_at']).where('lender_id', '=', claim.lender_id).where('external_ref', '=', claim.transaction_ref).executeTakeFirst();
    if (posted) {
      throw new LienError(
        'duplicate_payment_reference',
        `Transaction ${claim.transaction_ref} was already posted as payment ${posted.id} on ${posted.posted_at.toISOString().slice(0, 10)}; reject this claim with a message instead.`,
        { claimId, externalRef: claim.transaction_ref, paymentId: posted.id },
      );
    }
    const lender = await tx.selectFrom('lenders').select('time_zone').where('id', '=', claim.lender_id).executeTakeFirstOrThrow();
    // The borrower gives a calendar day; the start of that day in the lender's zone orders the
    // payment among the others, and it is never later than now.
    const receivedAt = new Date(Math.min(startOfLocalDay(claim.paid_on, lender.time_zone), fx.now.getTime()));
    const payment = await recordPayment(s, tx, fx, {
      contractId: claim.contract_id,
      externalRef: claim.transaction_ref,
      channel: claim.channel,
      amount: claim.amount,
      currency: claim.currency,
      receivedAt,
    });
    await tx.updateTable('claims').set({ status: 'approved', decided_at: fx.now, decided_by: actorName(actor) }).where('id', '=', claimId).execute();
    await fx.audit({
      action: 'claim.approved',
      subjectType: 'claim',
      subjectId: claimId,
      lenderId: claim.lender_id,
      reason: `claim for ${claim.transaction_ref} approved`,
      data: { contractId: claim.contract_id, paymentId: payment.paymentId, amount: claim.amount, currency: claim.currency },
    });
    await fx.notify({ contractId: claim.contract_id, kind: 'claim_approved', params: { reference: claim.number ?? claimId, amount: claim.amount } });
    const ev = await evaluateContractTx(s, tx, fx, claim.contract_id, `claim ${claimId} approved`);
    return { claimId, paymentId: payment.paymentId, stage: ev.decision.stage };
  });
}

/**
 * Rejects a claim with a message shown to the borrower; escalation resumes where it stands. A
 * lock the claim lifted comes back at once, and the borrower's one SMS says why: the lender's
 * message and the amount that unlocks the phone.
 */
export async function rejectClaim(s: Services, actor: Actor, claimId: string, message: string): Promise<{ claimId: string }> {
  const text = typeof message === 'string' ? message.trim() : '';
  if (text.length < 3 || text.length > 500) {
    throw new LienError('invalid_input', 'A rejection needs a message of 3 to 500 characters; the borrower reads it.', { field: 'message' });
  }
  return commit(s, actor, async (tx, fx) => {
    const c = await openClaimForUpdate(tx, actor, claimId);
    await tx.updateTable('claims').set({ status: 'rejected', message: text, decided_at: fx.now, decided_by: actorName(actor) }).where('id', '=', claimId).execute();
    await fx.audit({
      action: 'claim.rejected',
      subjectType: 'claim',
      subjectId: claimId,
      lenderId: c.lender_id,
      reason: text,
      data: { contractId: c.contract_id, transactionRef: c.transaction_ref, amount: c.amount, currency: c.currency },
    });
    const ev = await evaluateContractTx(s, tx, fx, c.contract_id, `claim ${claimId} rejected`, { announceLock: false });
    const reference = c.number ?? claimId;
    if (isLocking(ev.decision.stage) && !isLocking(ev.previousStage)) {
      const { amount_overdue } = await tx.selectFrom('contracts').select('amount_overdue').where('id', '=', c.contract_id).executeTakeFirstOrThrow();
      await fx.notify({ contractId: c.contract_id, kind: 'claim_rejected_locked', params: { reference, message: text, amount: amount_overdue } });
    } else {
      await fx.notify({ contractId: c.contract_id, kind: 'claim_rejected', params: { reference, message: text } });
    }
    return { claimId };
  });
}
