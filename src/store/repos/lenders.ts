import type { Kysely, Transaction } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB, Lender, LenderPatch, NewLender } from '../schema.ts';

type Db = Kysely<DB> | Transaction<DB>;

export async function createLender(db: Db, row: NewLender): Promise<Lender> {
  return db.insertInto('lenders').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function getLender(db: Db, id: string): Promise<Lender | undefined> {
  return db.selectFrom('lenders').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listLenders(db: Db): Promise<Lender[]> {
  return db.selectFrom('lenders').selectAll().orderBy('name').orderBy('id').execute();
}

export async function updateLender(db: Db, id: string, patch: LenderPatch): Promise<Lender> {
  const { id: _ignored, ...changes } = patch;
  if (Object.keys(changes).length === 0) {
    const row = await getLender(db, id);
    if (!row) throw new LienError('not_found', `Lender ${id} does not exist.`, { lenderId: id });
    return row;
  }
  const row = await db.updateTable('lenders').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
  if (!row) throw new LienError('not_found', `Lender ${id} does not exist.`, { lenderId: id });
  return row;
}
