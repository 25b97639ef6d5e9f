import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import type { DB } from '../store/schema.ts';
import { newId } from '../store/ids.ts';
import type { Actor } from './context.ts';

export type Scope = 'read' | 'write' | 'codes' | 'operator';

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * API keys are shown once and stored as SHA-256 hashes: they are long random strings, so a slow
 * password hash buys nothing. A key with no lender is the platform operator's.
 */
export async function createApiKey(db: Kysely<DB>, opts: { lenderId: string | null; name: string; scopes: Scope[]; now: Date }): Promise<{ id: string; key: string }> {
  const id = newId('key');
  const key = `lien_${opts.lenderId ? 'lk' : 'op'}_${randomBytes(24).toString('base64url')}`;
  await db
    .insertInto('api_keys')
    .values({ id, lender_id: opts.lenderId, name: opts.name, key_hash: hashKey(key), scopes: JSON.stringify(opts.scopes), created_at: opts.now })
    .execute();
  return { id, key };
}

export async function authenticateApiKey(db: Kysely<DB>, key: string): Promise<Actor & { scopes: Scope[] }> {
  const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hashKey(key)).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row) throw new LienError('unauthorized', 'Unknown or revoked API key.');
  return { kind: row.lender_id ? 'api_key' : 'operator', id: row.id, lenderId: row.lender_id, scopes: row.scopes as Scope[] };
}

export async function revokeApiKey(db: Kysely<DB>, lenderId: string | null, id: string, now: Date): Promise<void> {
  let q = db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id);
  q = lenderId === null ? q.where('lender_id', 'is', null) : q.where('lender_id', '=', lenderId);
  const r = await q.executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw new LienError('not_found', `No API key ${id}`);
}

/**
 * The operator's first key. `LIEN_OPERATOR_KEY` (a deployment secret) is registered as given;
 * otherwise, when no operator key exists yet, one is created and returned so it can be shown once.
 */
export async function ensureOperatorKey(db: Kysely<DB>, fromEnv: string | undefined, now: Date): Promise<string | null> {
  if (fromEnv) {
    if (fromEnv.length < 16) throw new LienError('invalid_input', 'LIEN_OPERATOR_KEY must be at least 16 characters.');
    await db
      .insertInto('api_keys')
      .values({ id: newId('key'), lender_id: null, name: 'operator (LIEN_OPERATOR_KEY)', key_hash: hashKey(fromEnv), scopes: JSON.stringify(['operator']), created_at: now })
      .onConflict((oc) => oc.doNothing())
      .execute();
    return null;
  }
  const existing = await db.selectFrom('api_keys').select('id').where('lender_id', 'is', null).where('revoked_at', 'is', null).executeTakeFirst();
  if (existing) return null;
  return (await createApiKey(db, { lenderId: null, name: 'operator (first run)', scopes: ['operator'], now })).key;
}
