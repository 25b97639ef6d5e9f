/**
 * `Idempotency-Key` for every POST, as a generic hook: a client that retries a request after a
 * timeout gets the first response back instead of a second payment or a second sale.
 *
 * - Keys are scoped per lender (per operator key for the operator); a key is kept 24 hours.
 * - Same key, same request (method, path, body) → the stored status and body, with
 *   `Idempotent-Replayed: true`. Same key, another request → 422 idempotency_key_reused.
 * - The key row is claimed *before* the handler runs (INSERT … ON CONFLICT DO NOTHING), so of two
 *   concurrent requests with one key only one executes; the other gets 409 while it runs.
 * - 5xx responses are not stored (the key is released and the retry runs again); 4xx are stored,
 *   as the same request would fail the same way.
 * - A secret in a response (a new API key, a webhook signing secret) is never stored: routes name
 *   such fields (`config.secretFields`), they are cut from the stored copy, and a replay returns
 *   the resource without them and with `secretShownOnce` saying why.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Services } from '../services/context.ts';
import type { ErrorBody } from './errors.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const KEY_TTL_MS = 24 * 3_600_000;
/** A claim older than this with no response is from a process that died mid-request. */
const ABANDONED_MS = 60_000;
const IN_PROGRESS = 0;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { scope: string; key: string; claimedAt: Date };
  }
  interface FastifyContextConfig {
    /** false: this POST is not covered (e.g. device protocol, which has its own replay checks). */
    idempotency?: boolean;
    /** Top-level response fields that hold a secret shown once: never stored for a replay. */
    secretFields?: readonly string[];
  }
}

interface Stored {
  contentType: string;
  body: string;
}

/**
 * The response as stored for replays: without the route's secret fields, and saying where they
 * went. The first response (the one the client is sent) keeps them.
 */
export function withoutSecrets(body: string, fields: readonly string[] | undefined): string {
  if (!fields?.length) return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return body;
  const copy = { ...(parsed as Record<string, unknown>) };
  const cut = fields.filter((f) => f in copy);
  if (cut.length === 0) return body;
  for (const f of cut) delete copy[f];
  copy.secretShownOnce = `${cut.join(' and ')} ${cut.length > 1 ? 'were' : 'was'} shown only in the first response to this request and ${cut.length > 1 ? 'are' : 'is'} not kept; it cannot be shown again. If it was lost, create a new one (and revoke or deactivate this one).`;
  return JSON.stringify(copy);
}

function requestHash(req: FastifyRequest): string {
  const body = typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body ?? null);
  return createHash('sha256').update(`${req.method} ${req.url}\n`).update(body).digest('hex');
}

function fail(reply: FastifyReply, status: number, body: ErrorBody) {
  return reply.status(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

/** The scope a key lives in: the lender, or the operator's own API key. Null: not covered. */
function scopeOf(req: FastifyRequest): string | null {
  const actor = req.actor;
  if (!actor) return null;
  return actor.lenderId ?? `operator:${actor.id}`;
}

/**
 * Keys claimed by requests that a stopped server never finished. Embedded PGlite runs one process
 * (its data directory is locked), so at start-up every such key is from before a crash and is
 * released at once; on PostgreSQL another live process may be working on one, so they are left to
 * expire (ABANDONED_MS after their claim) and a retry is told how long that is.
 */
export async function releaseInterruptedKeys(s: Services): Promise<number> {
  if (s.database.kind !== 'pglite') return 0;
  const r = await s.db.deleteFrom('idempotency_keys').where('status_code', '=', IN_PROGRESS).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export function installIdempotency(app: FastifyInstance, s: Services): void {
  const before = async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? raw[0]! : raw;
    if (!KEY_PATTERN.test(key)) {
      return fail(reply, 400, { code: 'invalid_input', message: 'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).', details: { field: 'Idempotency-Key' } });
    }
    const scope = scopeOf(req);
    if (!scope) return;
    const hash = requestHash(req);
    const now = s.clock.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      let claimed: { key: string } | undefined;
      try {
        claimed = await s.db
          .insertInto('idempotency_keys')
          .values({ lender_id: scope, key, request_hash: hash, status_code: IN_PROGRESS, response: JSON.stringify({}), created_at: now })
          .onConflict((oc) => oc.columns(['lender_id', 'key']).doNothing())
          .returning('key')
          .executeTakeFirst();
      } catch (e) {
        // The claim may have been written before the connection died: the failed request's
        // release (onSend, 5xx) removes it if so — only a claim made at this very instant, ours.
        req.idempotency = { scope, key, claimedAt: now };
        throw e;
      }
      if (claimed) {
        req.idempotency = { scope, key, claimedAt: now };
        return;
      }
      const row = await s.db.selectFrom('idempotency_keys').selectAll().where('lender_id', '=', scope).where('key', '=', key).executeTakeFirst();
      if (!row) continue; // released meanwhile: claim again
      const age = now.getTime() - row.created_at.getTime();
      const expired = age > KEY_TTL_MS || (row.status_code === IN_PROGRESS && age > ABANDONED_MS);
      if (expired) {
        await s.db.deleteFrom('idempotency_keys').where('lender_id', '=', scope).where('key', '=', key).where('created_at', '=', row.created_at).execute();
        continue;
      }
      if (row.request_hash !== hash) {
        return fail(reply, 422, {
          code: 'idempotency_key_reused',
          message: 'This Idempotency-Key was already used for a different request (another path or body); use a new key for a new request.',
          details: { idempotencyKey: key },
        });
      }
      if (row.status_code === IN_PROGRESS) {
        // Running now, or cut off when its server stopped: either way the key is free once the
        // claim is ABANDONED_MS old, and the client is told exactly when that is.
        const retryAfterSec = Math.max(1, Math.ceil((ABANDONED_MS - age) / 1000));
        reply.header('retry-after', String(retryAfterSec));
        return fail(reply, 409, {
          code: 'conflict',
          message: `A request with this Idempotency-Key is still being processed, or was cut off when a server stopped. Its key is released at the latest ${retryAfterSec} s from now; retry then.`,
          details: { idempotencyKey: key, retryAfterSec },
        });
      }
      const stored = row.response as Stored;
      return reply.status(row.status_code).header(REPLAYED_HEADER, 'true').header('content-type', stored.contentType).send(stored.body);
    }
    return fail(reply, 409, { code: 'conflict', message: 'The Idempotency-Key is contended; retry in a moment.', details: { idempotencyKey: key } });
  };

  app.addHook('onSend', async (req, reply, payload) => {
    const claim = req.idempotency;
    if (!claim) return payload;
    req.idempotency = undefined;
    const where = s.db.deleteFrom('idempotency_keys').where('lender_id', '=', claim.scope).where('key', '=', claim.key).where('created_at', '=', claim.claimedAt);
    if (reply.statusCode >= 500 || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
      // Released so the retry runs again. A 5xx is often a lost connection, and the pool may hand
      // out another connection that died with it: a few tries, then the claim is left to expire
      // (a retry is answered 409 with when).
      for (let attempt = 1; ; attempt++) {
        try {
          await where.execute();
          break;
        } catch (e) {
          if (attempt >= 5) {
            req.log.warn({ err: e }, 'idempotency key not released');
            break;
          }
          await new Promise((r) => setTimeout(r, 25 * attempt));
        }
      }
      return payload;
    }
    const body = withoutSecrets(payload.toString(), req.routeOptions.config.secretFields);
    const stored: Stored = { contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'), body };
    await s.db
      .updateTable('idempotency_keys')
      .set({ status_code: reply.statusCode, response: JSON.stringify(stored) })
      .where('lender_id', '=', claim.scope)
      .where('key', '=', claim.key)
      .execute();
    return payload;
  });

  // Appended to each POST route's own preHandlers, so it runs after authentication (which the
  // route plugins install as hooks) and after body validation.
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('POST') || route.config?.idempotency === false) return;
    const existing = route.preHandler ? (Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]) : [];
    route.preHandler = [...existing, before];
  });
}
