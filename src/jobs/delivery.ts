/**
 * What the webhook and notification outboxes share: the retry schedule with jitter, claiming due
 * rows so that any number of processes can work one table, recording an attempt's result, and a
 * loop that runs a job every few seconds until stopped.
 *
 * An outbox row moves pending → sending → (delivered | sent) or back to pending with a later
 * next_attempt_at, and ends as failed after the last attempt. While a worker holds a row it is
 * 'sending' with next_attempt_at = claim time + lease: a worker that dies mid-send leaves a row
 * that another worker picks up once the lease has run out, so nothing stays stuck.
 */
import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { DB } from '../store/schema.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included; after the last failure the row is 'failed'. */
  maxAttempts: number;
  /** Wait after the 1st, 2nd, … failure; the last entry repeats for later failures. */
  delaysMs: readonly number[];
  /** Each wait is spread by ± this fraction so failed receivers are not all retried at once. */
  jitter: number;
  /** How long a claimed row belongs to its worker. Longer than a send can take (timeout included). */
  leaseMs: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** 10 attempts spread over about three days: 30 s, 2 min, 10 min, 1 h, 6 h, 12 h, then daily. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  delaysMs: Object.freeze([30 * SECOND, 2 * MINUTE, 10 * MINUTE, HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR]),
  jitter: 0.1,
  leaseMs: 2 * MINUTE,
});

/**
 * How long to wait after the `failures`-th failed attempt (1-based). `random` returns [0, 1);
 * 0.5 gives the schedule's exact value, so tests can pin it.
 */
export function backoffDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const { delaysMs } = policy;
  if (delaysMs.length === 0) return 0;
  const index = Math.min(Math.max(failures, 1), delaysMs.length) - 1;
  const base = delaysMs[index] as number;
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

export type AttemptOutcome = { status: 'pending'; nextAttemptAt: Date } | { status: 'failed'; nextAttemptAt: null };

/** After a failed attempt number `attempts`: when to try again, or give up. */
export function afterFailure(policy: RetryPolicy, attempts: number, now: Date, random: () => number = Math.random): AttemptOutcome {
  if (attempts >= policy.maxAttempts) return { status: 'failed', nextAttemptAt: null };
  return { status: 'pending', nextAttemptAt: new Date(now.getTime() + backoffDelayMs(policy, attempts, random)) };
}

/**
 * A failure that another attempt cannot fix (an SMS gateway refusing the request as malformed,
 * say): the row fails at once instead of using up the retry schedule.
 */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

export type OutboxTable = 'webhook_deliveries' | 'notifications';

/**
 * Claims up to `limit` due rows of an outbox table for this worker, in one short transaction:
 * rows are picked with FOR UPDATE SKIP LOCKED (a row another worker is claiming is skipped, not
 * waited for), marked 'sending' with a lease, and their attempt counted before anything is sent,
 * so a row that crashes its worker still uses up its attempts. Rows whose lease ran out after
 * their last attempt are closed as failed here rather than tried an extra time.
 *
 * Returns the claimed rows as they are after the claim (attempts already incremented); the
 * caller passes that attempts value back to `recordAttempt` as its fencing token.
 */
export async function claimDue<T extends OutboxTable>(
  db: Kysely<DB>,
  table: T,
  opts: { now: Date; limit: number; policy: RetryPolicy },
): Promise<Selectable<DB[T]>[]> {
  const { now, limit, policy } = opts;
  const leaseUntil = new Date(now.getTime() + policy.leaseMs);
  const t = sql.table(table);
  return db.transaction().execute(async (tx) => {
    // SKIP LOCKED here too: two workers closing the same rows in different orders could deadlock.
    await sql`
      UPDATE ${t} SET status = 'failed', next_attempt_at = NULL,
        last_error = coalesce(last_error || ' ', '') || '(worker stopped during the last attempt)'
      WHERE id IN (
        SELECT id FROM ${t}
        WHERE status = 'sending' AND next_attempt_at <= ${now} AND attempts >= ${policy.maxAttempts}
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)`.execute(tx);
    const picked = await sql<{ id: string }>`
      SELECT id FROM ${t}
      WHERE status IN ('pending', 'sending') AND next_attempt_at <= ${now} AND attempts < ${policy.maxAttempts}
      ORDER BY next_attempt_at, id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED`.execute(tx);
    const ids = picked.rows.map((r) => r.id);
    if (ids.length === 0) return [];
    const claimed = await sql`
      UPDATE ${t} SET status = 'sending', attempts = attempts + 1, next_attempt_at = ${leaseUntil}
      WHERE id IN (${sql.join(ids)})
      RETURNING *`.execute(tx);
    // Oldest first, as picked: RETURNING order is not guaranteed.
    const order = new Map(ids.map((id, i) => [id, i]));
    return (claimed.rows as { id: string }[]).sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)) as never;
  });
}

/**
 * Writes an attempt's result, but only if the row is still this worker's claim (status 'sending'
 * with the attempts value the claim produced). A worker that overran its lease finds the row
 * claimed again and its late result is dropped instead of overwriting the newer attempt's.
 * Returns whether the result was recorded.
 */
export async function recordAttempt<T extends OutboxTable>(
  db: Kysely<DB>,
  table: T,
  claim: { id: string; attempts: number },
  values: Updateable<DB[T]>,
): Promise<boolean> {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined);
  const set = sql.join(entries.map(([column, value]) => sql`${sql.ref(column)} = ${value}`));
  const r = await sql`
    UPDATE ${sql.table(table)} SET ${set}
    WHERE id = ${claim.id} AND status = 'sending' AND attempts = ${claim.attempts}`.execute(db);
  return Number(r.numAffectedRows ?? 0n) === 1;
}

/** A short, single-line description of an error for a delivery log. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message && cause.message !== e.message ? `: ${cause.message}` : '';
    return truncate(`${e.name === 'Error' ? '' : `${e.name}: `}${e.message}${detail}`, 500);
  }
  return truncate(String(e), 500);
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/**
 * The start of a response body, for the delivery log; the rest is discarded unread so a huge or
 * endless body cannot hold the worker.
 */
export async function readSnippet(res: Response, maxBytes = 300): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // The log gets what arrived; a broken body is not a second error.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return truncate(Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'), maxBytes);
}

export interface JobLoop {
  /** Runs the job now instead of waiting out the interval (e.g. after enqueueing). */
  wake(): void;
  /** Stops the loop; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `fn` again and again, `intervalMs` after each run ends (never two runs at once). A run
 * that throws is reported to `onError` and the loop goes on: a database hiccup must not end
 * delivery for the life of the process.
 */
export function startJobLoop(
  fn: () => Promise<unknown>,
  intervalMs: number,
  opts: { onError?: (e: unknown) => void } = {},
): JobLoop {
  const onError = opts.onError ?? ((e: unknown) => console.error('job failed:', e));
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;
  let wakeAgain = false;

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(tick, delay);
    // A pending interval alone must not keep the process alive.
    timer.unref?.();
  };

  function tick(): void {
    timer = null;
    if (stopped || running) return;
    wakeAgain = false;
    running = (async () => {
      try {
        await fn();
      } catch (e) {
        onError(e);
      }
    })().finally(() => {
      running = null;
      schedule(wakeAgain ? 0 : intervalMs);
    });
  }

  schedule(0);
  return {
    wake() {
      if (stopped) return;
      if (running) {
        wakeAgain = true;
        return;
      }
      if (timer) clearTimeout(timer);
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
