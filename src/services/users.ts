/**
 * Console users: people who sign in with an email and a password. Passwords are kept as scrypt
 * hashes whose parameters travel in the stored string, so the cost can be raised later without
 * invalidating existing hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import { LENDER_ROLES, USER_ROLES, type UserRole } from '../domain/roles.ts';
import type { DB } from '../store/schema.ts';
import { newId } from '../store/ids.ts';
import type { Actor, Services } from './context.ts';
import { commit, type Effects, type Executor } from './unit-of-work.ts';


const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
const MIN_PASSWORD = 10;
const MAX_PASSWORD = 200;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((v) => Number.isSafeInteger(v) && v > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length === 0) return false;
  const actual = await scryptAsync(password, salt, expected.length, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** Spent on unknown emails so that a miss takes as long as a wrong password. */
let dummyHash: Promise<string> | null = null;
export function burnPasswordCheck(password: string): Promise<boolean> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash.then((h) => verifyPassword(password, h));
}

export function normaliseEmail(raw: string): string {
  const email = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new LienError('invalid_input', `"${String(raw).slice(0, 80)}" is not an email address.`, { field: 'email' });
  return email;
}

export interface NewUser {
  lenderId: string | null;
  email: string;
  name: string;
  password: string;
  role: 'admin' | 'support' | 'agent' | 'viewer' | 'operator';
}

export interface UserSummary {
  id: string;
  lenderId: string | null;
  email: string;
  name: string;
  role: UserRole;
  createdAt: Date;
  disabledAt: Date | null;
}

function summary(u: { id: string; lender_id: string | null; email: string; name: string; role: UserRole; created_at: Date; disabled_at: Date | null }): UserSummary {
  return { id: u.id, lenderId: u.lender_id, email: u.email, name: u.name, role: u.role, createdAt: u.created_at, disabledAt: u.disabled_at };
}

/** Adds a user in the caller's unit of work, audited. */
async function insertUser(tx: Executor, fx: Effects, input: NewUser): Promise<UserSummary> {
  const email = normaliseEmail(input.email);
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > 120) throw new LienError('invalid_input', 'A user needs a name of 1 to 120 characters.', { field: 'name' });
  if (!USER_ROLES.includes(input.role)) throw new LienError('invalid_input', `role must be one of ${USER_ROLES.join(', ')}`, { field: 'role' });
  if ((input.role === 'operator') !== (input.lenderId === null)) {
    throw new LienError('invalid_input', 'Operator users belong to no lender; every other role belongs to one lender.', { field: 'role' });
  }
  if (typeof input.password !== 'string' || input.password.length < MIN_PASSWORD || input.password.length > MAX_PASSWORD) {
    throw new LienError('invalid_input', `A password needs ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`, { field: 'password' });
  }
  const taken = await tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (taken) throw new LienError('conflict', `A user with the email ${email} already exists.`, { field: 'email' });
  const row = await tx
    .insertInto('users')
    .values({ id: newId('usr'), lender_id: input.lenderId, email, name, password_hash: await hashPassword(input.password), role: input.role, created_at: fx.now })
    .returning(['id', 'lender_id', 'email', 'name', 'role', 'created_at', 'disabled_at'])
    .executeTakeFirstOrThrow();
  const user = summary(row);
  await fx.audit({ action: 'user.created', subjectType: 'user', subjectId: user.id, lenderId: user.lenderId, reason: `user ${user.email} added as ${user.role}`, data: { role: user.role } });
  return user;
}

/** A console user of any lender (or an operator user): for the platform's own tools (demo, CLI). */
export function createUser(s: Services, actor: Actor, input: NewUser): Promise<UserSummary> {
  return commit(s, actor, (tx, fx) => insertUser(tx, fx, input));
}

/** A user of the actor's own lender, added by a lender admin (console or API key). */
export function addLenderUser(s: Services, actor: Actor, input: Omit<NewUser, 'lenderId'>): Promise<UserSummary> {
  if (!actor.lenderId) throw new LienError('forbidden', 'Only a lender can add lender users.');
  if (!LENDER_ROLES.includes(input.role)) throw new LienError('invalid_input', `role must be one of ${LENDER_ROLES.join(', ')}`, { field: 'role' });
  return createUser(s, actor, { ...input, lenderId: actor.lenderId });
}

export async function listUsers(db: Kysely<DB>, lenderId: string | null): Promise<UserSummary[]> {
  let q = db.selectFrom('users').select(['id', 'lender_id', 'email', 'name', 'role', 'created_at', 'disabled_at']);
  q = lenderId === null ? q.where('lender_id', 'is', null) : q.where('lender_id', '=', lenderId);
  return (await q.orderBy('email').execute()).map(summary);
}

/** Disables a user and ends their sessions; another lender's user is "not found". */
export function disableUser(s: Services, actor: Actor, userId: string): Promise<UserSummary> {
  return commit(s, actor, async (tx, fx) => {
    const u = await tx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst();
    if (!u || u.lender_id !== actor.lenderId) throw new LienError('not_found', `No user ${userId}`, { userId });
    if (actor.kind === 'user' && actor.id === u.id) throw new LienError('conflict', 'You cannot disable your own account; ask another admin.');
    if (u.disabled_at) return summary(u);
    const row = await tx
      .updateTable('users')
      .set({ disabled_at: fx.now })
      .where('id', '=', u.id)
      .returning(['id', 'lender_id', 'email', 'name', 'role', 'created_at', 'disabled_at'])
      .executeTakeFirstOrThrow();
    await tx.deleteFrom('sessions').where('user_id', '=', u.id).execute();
    await fx.audit({ action: 'user.disabled', subjectType: 'user', subjectId: u.id, lenderId: u.lender_id, reason: `user ${u.email} disabled` });
    return summary(row);
  });
}
