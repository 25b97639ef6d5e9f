import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import type { DB } from '../store/schema.ts';
import { newId } from '../store/ids.ts';
import { decodeCursor, pageSize, toPage, type Page } from '../store/pagination.ts';
import type { Actor, Services } from './context.ts';
import { commit, type Effects, type Executor } from './unit-of-work.ts';

export type Scope = 'read' | 'write' | 'codes' | 'operator';

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/**
 * API keys are shown once and stored as SHA-256 hashes: they are long random strings, so a slow
 * password hash buys nothing. A key with no lender is the platform operator's.
 */
async function insertKey(db: Kysely<DB>, opts: { lenderId: string | null; name: string; scopes: Scope[]; now: Date }): Promise<{ id: string; key: string }> {
  const id = newId('key');
  const key = `lien_${opts.lenderId ? 'lk' : 'op'}_${randomBytes(24).toString('base64url')}`;
  await db
    .insertInto('api_keys')
    .values({ id, lender_id: opts.lenderId, name: opts.name, key_hash: hashKey(key), scopes: JSON.stringify(opts.scopes), created_at: opts.now })
    .execute();
  return { id, key };
}

/** Creates a key in the caller's unit of work, audited; the key itself is in the result only. */
export async function createApiKeyTx(tx: Executor, fx: Effects, input: { lenderId: string | null; name: string; scopes: Scope[] }): Promise<{ id: string; key: string }> {
  const created = await insertKey(tx, { ...input, now: fx.now });
  await fx.audit({ action: 'api_key.created', subjectType: 'api_key', subjectId: created.id, lenderId: input.lenderId, reason: input.name, data: { scopes: input.scopes } });
  return created;
}

/** A new API key of the actor's lender (or, for the operator, a platform key). */
export function createApiKey(s: Services, actor: Actor, input: { name: string; scopes: Scope[] }): Promise<{ id: string; key: string; name: string; scopes: Scope[] }> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > 120) throw new LienError('invalid_input', 'An API key needs a name of 1 to 120 characters.', { field: 'name' });
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0) throw new LienError('invalid_input', 'An API key needs at least one scope.', { field: 'scopes' });
  return commit(s, actor, async (tx, fx) => ({ ...(await createApiKeyTx(tx, fx, { lenderId: actor.lenderId, name, scopes })), name, scopes }));
}

/** Revokes a key of the actor's lender (platform keys for the operator); revoking twice is a conflict. */
export function revokeApiKey(s: Services, actor: Actor, id: string): Promise<{ id: string; revoked: true }> {
  return commit(s, actor, async (tx, fx) => {
    let q = tx.selectFrom('api_keys').select(['id', 'revoked_at']).where('id', '=', id);
    q = actor.lenderId === null ? q.where('lender_id', 'is', null) : q.where('lender_id', '=', actor.lenderId);
    const k = await q.forUpdate().executeTakeFirst();
    if (!k) throw new LienError('not_found', `No API key ${id}`);
    if (k.revoked_at) throw new LienError('conflict', `API key ${k.id} was already revoked.`);
    await tx.updateTable('api_keys').set({ revoked_at: fx.now }).where('id', '=', id).execute();
    await fx.audit({ action: 'api_key.revoked', subjectType: 'api_key', subjectId: id, lenderId: actor.lenderId, reason: 'revoked' });
    return { id, revoked: true as const };
  });
}

/** A page of the lender's keys, newest first (never the keys themselves). */
export async function listApiKeys(db: Kysely<DB>, lenderId: string, opts: { cursor?: string | undefined; limit?: number | undefined } = {}): Promise<Page<ApiKeyInfo>> {
  const limit = pageSize(opts.limit);
  let q = db.selectFrom('api_keys').select(['id', 'name', 'scopes', 'created_at', 'revoked_at', 'last_used_at']).where('lender_id', '=', lenderId);
  if (opts.cursor) q = q.where('id', '<', decodeCursor(opts.cursor, ['string'])[0]);
  const page = toPage(await q.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (k) => [k.id]);
  return {
    items: page.items.map((k) => ({ id: k.id, name: k.name, scopes: k.scopes as Scope[], createdAt: k.created_at, revokedAt: k.revoked_at, lastUsedAt: k.last_used_at })),
    nextCursor: page.nextCursor,
  };
}

export async function authenticateApiKey(db: Kysely<DB>, key: string): Promise<Actor & { scopes: Scope[] }> {
  const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hashKey(key)).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row) throw new LienError('unauthorized', 'Unknown or revoked API key.');
  return { kind: row.lender_id ? 'api_key' : 'operator', id: row.id, lenderId: row.lender_id, scopes: row.scopes as Scope[] };
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
  return (await insertKey(db, { lenderId: null, name: 'operator (first run)', scopes: ['operator'], now })).key;
}
