import type { Kysely, Transaction } from 'kysely';
import type { Contract, ContractStatus, DB, Installment, NewContract, NewInstallment } from '../schema.ts';
import { decodeCursor, pageSize, toPage, type Page } from '../pagination.ts';

type Db = Kysely<DB> | Transaction<DB>;

export type ContractWithInstallments = Contract & { installments: Installment[] };

/** Runs fn in the caller's transaction, or in a new one when given the root handle. */
function inTransaction<T>(db: Db, fn: (tx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * Inserts a contract and its schedule together. The schedule comes from the domain
 * (buildSchedule); this only stores it.
 */
export async function createContract(db: Db, contract: NewContract, installments: Omit<NewInstallment, 'contract_id'>[]): Promise<ContractWithInstallments> {
  return inTransaction(db, async (tx) => {
    const row = await tx.insertInto('contracts').values(contract).returningAll().executeTakeFirstOrThrow();
    const rows = installments.length
      ? await tx
          .insertInto('installments')
          .values(installments.map((i) => ({ ...i, contract_id: row.id })))
          .returningAll()
          .execute()
      : [];
    rows.sort((a, b) => a.n - b.n);
    return { ...row, installments: rows };
  });
}

export async function getContract(db: Db, id: string): Promise<ContractWithInstallments | undefined> {
  const row = await db.selectFrom('contracts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const installments = await db.selectFrom('installments').selectAll().where('contract_id', '=', id).orderBy('n').execute();
  return { ...row, installments };
}

export interface ContractListing {
  lenderId: string;
  status?: ContractStatus;
  stage?: string;
  deviceId?: string;
  /** Page size, 1–500 (default 50). */
  limit?: number;
  cursor?: string | null;
}

/** A lender's contracts, newest first, one page at a time. */
export async function listContracts(db: Db, q: ContractListing): Promise<Page<Contract>> {
  const limit = pageSize(q.limit);
  let query = db.selectFrom('contracts').selectAll().where('lender_id', '=', q.lenderId);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.stage) query = query.where('stage', '=', q.stage);
  if (q.deviceId) query = query.where('device_id', '=', q.deviceId);
  if (q.cursor) {
    const [lastId] = decodeCursor(q.cursor, ['string']);
    query = query.where('id', '<', lastId);
  }
  const rows = await query.orderBy('id', 'desc').limit(limit + 1).execute();
  return toPage(rows, limit, (r) => [r.id]);
}
