import type { Kysely, Transaction } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB, NewPayment, Payment } from '../schema.ts';

type Db = Kysely<DB> | Transaction<DB>;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Inserts a payment. A reference the lender already used posts nothing and throws
 * duplicate_payment_reference saying when it was posted. ON CONFLICT DO NOTHING makes the check
 * race-free across processes without a unique-violation error, which would abort the caller's
 * transaction.
 */
export async function insertPayment(db: Db, row: NewPayment): Promise<Payment> {
  const inserted = await db
    .insertInto('payments')
    .values(row)
    .onConflict((oc) => oc.columns(['lender_id', 'external_ref']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return inserted;
  const existing = await db
    .selectFrom('payments')
    .select(['id', 'contract_id', 'posted_at'])
    .where('lender_id', '=', row.lender_id)
    .where('external_ref', '=', row.external_ref)
    .executeTakeFirstOrThrow();
  throw new LienError('duplicate_payment_reference', `Payment reference ${row.external_ref} was already posted on ${day(existing.posted_at)}; nothing was posted again.`, {
    externalRef: row.external_ref,
    paymentId: existing.id,
    contractId: existing.contract_id,
    postedAt: existing.posted_at.toISOString(),
  });
}

export async function getPayment(db: Db, id: string): Promise<Payment | undefined> {
  return db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A contract's payments in the order they were received (the order allocation replays them). */
export async function listPayments(db: Db, contractId: string, opts: { includeReversed?: boolean } = {}): Promise<Payment[]> {
  let q = db.selectFrom('payments').selectAll().where('contract_id', '=', contractId);
  if (opts.includeReversed === false) q = q.where('reversed_at', 'is', null);
  return q.orderBy('received_at').orderBy('id').execute();
}

export interface Reversal {
  id: string;
  at: Date;
  by: string;
  reason: string;
}

/** Marks a payment reversed (it stays on record). A payment is reversed at most once. */
export async function markReversed(db: Db, r: Reversal): Promise<Payment> {
  const row = await db
    .updateTable('payments')
    .set({ reversed_at: r.at, reversed_by: r.by, reversal_reason: r.reason })
    .where('id', '=', r.id)
    .where('reversed_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) return row;
  const existing = await getPayment(db, r.id);
  if (!existing) throw new LienError('not_found', `Payment ${r.id} does not exist.`, { paymentId: r.id });
  throw new LienError('conflict', `Payment ${existing.external_ref} was already reversed on ${day(existing.reversed_at!)}.`, {
    paymentId: r.id,
    reversedAt: existing.reversed_at!.toISOString(),
  });
}
