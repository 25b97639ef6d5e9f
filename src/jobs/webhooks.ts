/**
 * Delivers lender webhooks: a worker POSTs each due delivery row, signed, until the receiver
 * answers 2xx or the retry schedule runs out. The rows are written by the use cases, in the unit
 * of work of the change they report (src/services/webhooks.ts).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.ts';
import type { DB } from '../store/schema.ts';
import { open } from '../store/secrets.ts';
import { orderedEvent, secretAad, signWebhook, WEBHOOK_TIMEOUT_MS } from '../services/webhooks.ts';
import {
  DEFAULT_RETRY_POLICY,
  afterFailure,
  claimDue,
  describeError,
  readSnippet,
  recordAttempt,
  truncate,
  type RetryPolicy,
} from './delivery.ts';

export interface WebhookRunOptions {
  masterKey: Buffer;
  clock: Clock;
  fetch?: typeof fetch;
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

async function post(
  doFetch: typeof fetch,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  try {
    const res = await doFetch(url, {
      method: 'POST',
      headers,
      body,
      // A redirect is a failure, as with most webhook senders: the registered URL is the one
      // the lender vouched for, and following one could reach an address it never named.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => {});
      return { ok: true, statusCode: res.status };
    }
    const snippet = await readSnippet(res);
    return { ok: false, statusCode: res.status, error: truncate(`HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, 500) };
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return { ok: false, statusCode: null, error: timedOut ? `no answer within ${timeoutMs / 1000} s` : describeError(e) };
  }
}

/**
 * Sends one batch of due deliveries. Rows are claimed in a short transaction (FOR UPDATE SKIP
 * LOCKED), sent with no transaction open, and each result is written separately, so several
 * processes can run this at once and a slow receiver holds no database lock.
 */
export async function runWebhookDeliveries(db: Kysely<DB>, opts: WebhookRunOptions): Promise<WebhookRunStats> {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY;
  const doFetch = opts.fetch ?? fetch;
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
          doFetch,
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
