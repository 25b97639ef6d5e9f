/**
 * Delivers lender webhooks: a worker POSTs each due delivery row, signed, until the receiver
 * answers 2xx or the retry schedule runs out. The rows are written by the use cases, in the unit
 * of work of the change they report (src/services/webhooks.ts).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.ts';
import { isLienError } from '../domain/errors.ts';
import type { DB } from '../store/schema.ts';
import { open } from '../store/secrets.ts';
import { PUBLIC_ONLY, resolveTarget, systemLookup, type Lookup, type OutboundPolicy } from '../services/outbound.ts';
import { orderedEvent, secretAad, signWebhook, WEBHOOK_TIMEOUT_MS } from '../services/webhooks.ts';
import { DEFAULT_RETRY_POLICY, afterFailure, claimDue, describeError, recordAttempt, type RetryPolicy } from './delivery.ts';

export interface WebhookRunOptions {
  masterKey: Buffer;
  clock: Clock;
  /** Which private receivers the operator allows (LIEN_WEBHOOK_ALLOW_HOSTS); public addresses only by default. */
  outbound?: OutboundPolicy;
  /** DNS resolution (tests give a fake one to play rebinding). */
  lookup?: Lookup;
  batchSize?: number;
  policy?: RetryPolicy;
  /** For the retry jitter; tests pin it. */
  random?: () => number;
  timeoutMs?: number;
}

export interface WebhookRunStats {
  claimed: number;
  delivered: number;
  retrying: number;
  failed: number;
  cancelled: number;
  /** Results dropped because the worker overran its lease and the row was claimed again. */
  stale: number;
}

type AttemptResult = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/**
 * POSTs one delivery. The receiver's host is resolved and checked here, for every attempt, and
 * the connection goes to the address that passed (the request's lookup answers with it), so a
 * name re-pointed at an internal address after registration reaches nothing. A redirect is a
 * failure, as with most webhook senders. The delivery log shows the status code only: the
 * response body is the receiver's and never reaches the lender's log (it could be anything the
 * receiver's host serves).
 */
async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, outbound: OutboundPolicy, lookup: Lookup): Promise<AttemptResult> {
  const target = new URL(url);
  let addresses: LookupAddress[];
  try {
    addresses = await resolveTarget(target, outbound, lookup);
  } catch (e) {
    return { ok: false, statusCode: null, error: isLienError(e) ? `refused: ${e.message}` : `cannot resolve ${target.hostname}: ${describeError(e)}` };
  }
  const first = addresses[0]!;
  const signal = AbortSignal.timeout(timeoutMs);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<AttemptResult>((resolve) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        signal,
        lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
          opts?.all ? cb(null, addresses) : cb(null, first.address, first.family)) as never,
      },
      (res: IncomingMessage) => {
        res.resume(); // the body is not read into anything
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? { ok: true, statusCode: status } : { ok: false, statusCode: status, error: `HTTP ${status}` });
      },
    );
    req.on('error', (e) => {
      const timedOut = signal.aborted || e.name === 'AbortError' || e.name === 'TimeoutError';
      resolve({ ok: false, statusCode: null, error: timedOut ? `no answer within ${timeoutMs / 1000} s` : describeError(e) });
    });
    req.end(body);
  });
}

/**
 * Sends one batch of due deliveries. Rows are claimed in a short transaction (FOR UPDATE SKIP
 * LOCKED), sent with no transaction open, and each result is written separately, so several
 * processes can run this at once and a slow receiver holds no database lock.
 */
export async function runWebhookDeliveries(db: Kysely<DB>, opts: WebhookRunOptions): Promise<WebhookRunStats> {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY;
  const outbound = opts.outbound ?? PUBLIC_ONLY;
  const lookup = opts.lookup ?? systemLookup;
  const random = opts.random ?? Math.random;
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const stats: WebhookRunStats = { claimed: 0, delivered: 0, retrying: 0, failed: 0, cancelled: 0, stale: 0 };

  const claimed = await claimDue(db, 'webhook_deliveries', { now: opts.clock.now(), limit: opts.batchSize ?? 50, policy });
  stats.claimed = claimed.length;
  if (claimed.length === 0) return stats;
  const hooks = new Map(
    (
      await db
        .selectFrom('webhooks')
        .select(['id', 'url', 'secret_enc', 'active'])
        .where('id', 'in', [...new Set(claimed.map((d) => d.webhook_id))])
        .execute()
    ).map((h) => [h.id, h]),
  );

  await Promise.all(
    claimed.map(async (d) => {
      const hook = hooks.get(d.webhook_id);
      if (!hook || !hook.active) {
        const ok = await recordAttempt(db, 'webhook_deliveries', d, { status: 'cancelled', next_attempt_at: null, last_error: 'webhook deactivated' });
        if (ok) stats.cancelled++;
        else stats.stale++;
        return;
      }
      const event = orderedEvent(d.payload);
      const body = JSON.stringify(event);
      const ts = Math.floor(opts.clock.now().getTime() / 1000);
      let result: AttemptResult;
      try {
        const secret = open(opts.masterKey, hook.secret_enc, secretAad(hook.id)).toString('utf8');
        result = await post(
          hook.url,
          {
            'content-type': 'application/json',
            'user-agent': 'Lien-Webhooks/1',
            'lien-event-id': d.event_id,
            'lien-event-type': d.event_type,
            'lien-timestamp': String(ts),
            'lien-signature': signWebhook(secret, ts, body),
          },
          body,
          timeoutMs,
          outbound,
          lookup,
        );
      } catch (e) {
        // A secret that no longer opens (master key changed) fails like an unreachable receiver:
        // logged, retried, and visible to the operator.
        result = { ok: false, statusCode: null, error: describeError(e) };
      }
      const now = opts.clock.now();
      let recorded: boolean;
      if (result.ok) {
        recorded = await recordAttempt(db, 'webhook_deliveries', d, {
          status: 'delivered',
          next_attempt_at: null,
          delivered_at: now,
          last_status_code: result.statusCode,
          last_error: null,
        });
        if (recorded) stats.delivered++;
      } else {
        const next = afterFailure(policy, d.attempts, now, random);
        recorded = await recordAttempt(db, 'webhook_deliveries', d, {
          status: next.status,
          next_attempt_at: next.nextAttemptAt,
          last_status_code: result.statusCode,
          last_error: result.error,
        });
        if (recorded) stats[next.status === 'failed' ? 'failed' : 'retrying']++;
      }
      if (!recorded) stats.stale++;
    }),
  );
  return stats;
}
