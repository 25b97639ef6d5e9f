import type { Kysely } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB, NewPayment, Payment } from '../schema.ts';

type Db = Kysely<DB>;

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
