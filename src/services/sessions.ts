/**
 * Console sign-in and sessions. The session token lives only in the browser's cookie; the
 * database keeps its SHA-256, so a leaked sessions table signs nobody in. Each session carries
 * its own CSRF token (synchroniser pattern). Every failure gets the same answer, so the form
 * reveals neither which emails exist nor which accounts are disabled.
 *
 * Guessing is slowed per account+address and per address, never per account alone: a stranger
 * elsewhere must not be able to lock a user out by typing wrong passwords for their email. Each
 * key gets a few free failures, then a delay that doubles with every further failure (up to
 * MAX_DELAY_MS), forgotten after FORGET_AFTER_MS without one. An attempt takes its ticket with
 * one atomic upsert before the password is even checked, so twenty simultaneous attempts cannot
 * all slip through a check-then-count gap: only the free ones are tried, the rest wait.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import type { DB, UserRole } from '../store/schema.ts';
import { burnPasswordCheck, verifyPassword } from './users.ts';

export const SESSION_TTL_MS = 12 * 3600_000;
/** Failures one address may make on one account before each further try must wait. */
export const FREE_FAILURES_PER_ACCOUNT_ADDRESS = 5;
/** Failures one address may make across all accounts before each further try must wait. */
export const FREE_FAILURES_PER_ADDRESS = 30;
export const FIRST_DELAY_MS = 1_000;
export const MAX_DELAY_MS = 15 * 60_000;
/** A key's failures are forgotten after this long without another. */
export const FORGET_AFTER_MS = 15 * 60_000;
export const BAD_CREDENTIALS = 'The email or password is not right.';

export interface SessionUser {
  sessionId: string;
  csrfToken: string;
  expiresAt: Date;
  userId: string;
  lenderId: string | null;
  lenderName: string | null;
  /** The lender's zone and locale: the console shows every date in them (UTC and en-GB for the operator). */
  timeZone: string;
  locale: string;
  email: string;
  name: string;
  role: UserRole;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/** The wait after the n-th failure of a key with `free` free failures. */
export function delayAfter(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - free, 30));
}

export function throttleKeys(email: string, ip: string): { accountAddress: string; address: string } {
  return { accountAddress: `signin:${email.trim().toLowerCase()}|${ip}`, address: `signin-ip:${ip}` };
}

/**
 * Takes an attempt's ticket on `key`: counts it as a failure in advance and sets the wait the
 * next attempt faces, in one statement, unless the key is still waiting. Returns the wait left
 * (ms) when refused, 0 when the attempt may go ahead.
 */
async function takeTicket(db: Kysely<DB>, key: string, free: number, now: Date): Promise<number> {
  const forgetBefore = new Date(now.getTime() - FORGET_AFTER_MS);
  const n = sql<number>`CASE WHEN t.last_failure_at < ${forgetBefore} THEN 1 ELSE t.failures + 1 END`;
  const wait = (count: ReturnType<typeof sql<number>>) =>
    sql<Date>`${now}::timestamptz + make_interval(secs => CASE WHEN ${count} < ${free} THEN 0 ELSE LEAST(${MAX_DELAY_MS / 1000}, ${FIRST_DELAY_MS / 1000} * power(2, LEAST(${count} - ${free}, 30))) END)`;
  const taken = await sql<{ failures: number }>`
    INSERT INTO signin_throttle AS t (key, failures, blocked_until, last_failure_at)
    VALUES (${key}, 1, ${wait(sql<number>`1`)}, ${now})
    ON CONFLICT (key) DO UPDATE SET failures = ${n}, blocked_until = ${wait(n)}, last_failure_at = ${now}
    WHERE t.blocked_until <= ${now}
    RETURNING failures`.execute(db);
  if (taken.rows.length > 0) return 0;
  const row = await db.selectFrom('signin_throttle').select('blocked_until').where('key', '=', key).executeTakeFirst();
  return Math.max(1, (row?.blocked_until.getTime() ?? now.getTime()) - now.getTime());
}

const lastPrune = new WeakMap<object, number>();

/** Drops keys whose failures are forgotten and whose wait is over, at most hourly per database. */
async function pruneThrottle(db: Kysely<DB>, now: Date): Promise<void> {
  if (now.getTime() - (lastPrune.get(db) ?? -Infinity) < 3_600_000) return;
  lastPrune.set(db, now.getTime());
  await db
    .deleteFrom('signin_throttle')
    .where('last_failure_at', '<', new Date(now.getTime() - FORGET_AFTER_MS))
    .where('blocked_until', '<', now)
    .execute();
}

function refused(waitMs: number): LienError {
  const seconds = Math.ceil(waitMs / 1000);
  const text = seconds < 120 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`;
  return new LienError('rate_limited', `Too many failed sign-ins from this address. Try again in ${text}.`, { retryAfterSec: seconds });
}

/**
 * Checks the credentials and opens a session. Throws `rate_limited` (with `retryAfterSec`) while
 * this address must wait, on this account or on all (even with the right password: otherwise
 * guessing could go on), and `unauthorized` with one generic message for every other failure.
 */
export async function signIn(db: Kysely<DB>, input: { email: string; password: string; ip: string; now: Date }): Promise<{ token: string; session: SessionUser }> {
  const keys = throttleKeys(input.email, input.ip);
  await pruneThrottle(db, input.now);
  // The address first: a refusal there must not also use up the account+address budget.
  const addressWait = await takeTicket(db, keys.address, FREE_FAILURES_PER_ADDRESS, input.now);
  if (addressWait > 0) throw refused(addressWait);
  const accountWait = await takeTicket(db, keys.accountAddress, FREE_FAILURES_PER_ACCOUNT_ADDRESS, input.now);
  if (accountWait > 0) throw refused(accountWait);
  const email = input.email.trim().toLowerCase();
  const user = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  const ok = user ? await verifyPassword(input.password, user.password_hash) : await burnPasswordCheck(input.password);
  if (!user || !ok || user.disabled_at) throw new LienError('unauthorized', BAD_CREDENTIALS);
  // The ticket was a failure counted in advance; a success takes it back.
  await db.deleteFrom('signin_throttle').where('key', '=', keys.accountAddress).execute();
  await db
    .updateTable('signin_throttle')
    .set({ failures: sql`GREATEST(failures - 1, 0)` })
    .where('key', '=', keys.address)
    .execute();
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
    .select(['sessions.id', 'sessions.csrf_token', 'sessions.expires_at', 'users.id as user_id', 'users.lender_id', 'users.email', 'users.name', 'users.role', 'users.disabled_at', 'lenders.name as lender_name', 'lenders.time_zone', 'lenders.locale'])
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
    timeZone: row.time_zone ?? 'UTC',
    locale: row.locale ?? 'en-GB',
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
