/**
 * Console sign-in and sessions. The session token lives only in the browser's cookie; the
 * database keeps its SHA-256, so a leaked sessions table signs nobody in. Each session carries
 * its own CSRF token (synchroniser pattern). Failed sign-ins are counted per email and per IP in
 * fixed windows (rate_limits), and every failure gets the same answer, so the form reveals
 * neither which emails exist nor which accounts are disabled.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import type { DB, UserRole } from '../store/schema.ts';
import { burnPasswordCheck, verifyPassword } from './users.ts';

export const SESSION_TTL_MS = 12 * 3600_000;
export const THROTTLE_WINDOW_MS = 15 * 60_000;
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_IP = 30;
export const BAD_CREDENTIALS = 'The email or password is not right.';

export interface SessionUser {
  sessionId: string;
  csrfToken: string;
  expiresAt: Date;
  userId: string;
  lenderId: string | null;
  lenderName: string | null;
  email: string;
  name: string;
  role: UserRole;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

function windowStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / THROTTLE_WINDOW_MS) * THROTTLE_WINDOW_MS);
}

async function failures(db: Kysely<DB>, key: string, now: Date): Promise<number> {
  const row = await db.selectFrom('rate_limits').select('count').where('key', '=', key).where('window_start', '=', windowStart(now)).executeTakeFirst();
  return row?.count ?? 0;
}

async function countFailure(db: Kysely<DB>, key: string, now: Date): Promise<void> {
  await db
    .insertInto('rate_limits')
    .values({ key, window_start: windowStart(now), count: 1 })
    .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ count: sql`rate_limits.count + 1` }))
    .execute();
  // Past windows of this key count for nothing any more.
  await db.deleteFrom('rate_limits').where('key', '=', key).where('window_start', '<', windowStart(now)).execute();
}

export function throttleKeys(email: string, ip: string): { email: string; ip: string } {
  return { email: `signin:email:${email.trim().toLowerCase()}`, ip: `signin:ip:${ip}` };
}

/**
 * Checks the credentials and opens a session. Throws `rate_limited` while the email or the IP
 * has too many recent failures (even with the right password: otherwise guessing could go on),
 * and `unauthorized` with one generic message for every other failure.
 */
export async function signIn(db: Kysely<DB>, input: { email: string; password: string; ip: string; now: Date }): Promise<{ token: string; session: SessionUser }> {
  const keys = throttleKeys(input.email, input.ip);
  const [byEmail, byIp] = await Promise.all([failures(db, keys.email, input.now), failures(db, keys.ip, input.now)]);
  if (byEmail >= MAX_FAILURES_PER_EMAIL || byIp >= MAX_FAILURES_PER_IP) {
    const wait = Math.ceil((windowStart(input.now).getTime() + THROTTLE_WINDOW_MS - input.now.getTime()) / 60_000);
    throw new LienError('rate_limited', `Too many failed sign-ins. Try again in ${wait} minute${wait === 1 ? '' : 's'}.`, { retryAfterMinutes: wait });
  }
  const email = input.email.trim().toLowerCase();
  const user = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  const ok = user ? await verifyPassword(input.password, user.password_hash) : await burnPasswordCheck(input.password);
  if (!user || !ok || user.disabled_at) {
    await countFailure(db, keys.email, input.now);
    await countFailure(db, keys.ip, input.now);
    throw new LienError('unauthorized', BAD_CREDENTIALS);
  }
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + SESSION_TTL_MS);
  await db.deleteFrom('sessions').where('user_id', '=', user.id).where('expires_at', '<=', input.now).execute();
  await db.insertInto('sessions').values({ id: hash(token), user_id: user.id, csrf_token: csrfToken, expires_at: expiresAt }).execute();
  const session = await findSession(db, token, input.now);
  if (!session) throw new Error('session vanished right after it was created');
  return { token, session };
}

/** The signed-in user of a session token, or null when it is unknown, expired or disabled. */
export async function findSession(db: Kysely<DB>, token: string, now: Date): Promise<SessionUser | null> {
  if (!token || token.length > 200) return null;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .leftJoin('lenders', 'lenders.id', 'users.lender_id')
    .select(['sessions.id', 'sessions.csrf_token', 'sessions.expires_at', 'users.id as user_id', 'users.lender_id', 'users.email', 'users.name', 'users.role', 'users.disabled_at', 'lenders.name as lender_name'])
    .where('sessions.id', '=', hash(token))
    .executeTakeFirst();
  if (!row) return null;
  if (row.expires_at.getTime() <= now.getTime() || row.disabled_at) {
    await db.deleteFrom('sessions').where('id', '=', row.id).execute();
    return null;
  }
  return {
    sessionId: row.id,
    csrfToken: row.csrf_token,
    expiresAt: row.expires_at,
    userId: row.user_id,
    lenderId: row.lender_id,
    lenderName: row.lender_name ?? null,
    email: row.email,
    name: row.name,
    role: row.role,
  };
}

export async function signOut(db: Kysely<DB>, token: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', hash(token)).execute();
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(expected: string, submitted: unknown): boolean {
  if (typeof submitted !== 'string' || submitted.length === 0) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
