import type { Insertable, Kysely, Transaction } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB, PaymentsTable } from '../schema.ts';

type Tx = Kysely<DB> | Transaction<DB>;

/**
 * Inserts a payment. A reference the lender already used posts nothing and says when it was
 * posted; ON CONFLICT keeps the check race-free across processes without aborting the caller's
 * transaction.
 */
export async function insertPayment(tx: Tx, row: Insertable<PaymentsTable>): Promise<void> {
  const inserted = await tx
    .insertInto('payments')
    .values(row)
    .onConflict((oc) => oc.columns(['lender_id', 'external_ref']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return;
  const existing = await tx
    .selectFrom('payments')
    .select(['id', 'posted_at', 'contract_id'])
    .where('lender_id', '=', row.lender_id)
    .where('external_ref', '=', row.external_ref)
    .executeTakeFirstOrThrow();
  throw new LienError('duplicate_payment_reference', `Payment reference ${row.external_ref} was already posted on ${existing.posted_at.toISOString().slice(0, 10)}; nothing was posted again.`, {
    externalRef: row.external_ref,
    paymentId: existing.id,
  });
}
