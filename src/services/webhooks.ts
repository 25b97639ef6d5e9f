/**
 * Lender webhooks: an event (a device locked, a payment posted, …) becomes one delivery row per
 * subscribed endpoint, written in the same transaction as the change it reports, and a worker
 * POSTs it, signed, until the receiver answers 2xx or the retry schedule runs out.
 *
 * Receivers authenticate a delivery by its `Lien-Signature` header (Stripe's scheme):
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the endpoint's secret
 * (the whole `whsec_…` string, as UTF-8). Every delivery of one event, retries and replays
 * included, carries the same `Lien-Event-Id`, so a receiver that records the ids it has handled
 * processes each event once.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { LienError } from '../domain/errors.ts';
import { newId } from '../store/ids.ts';
import { decodeCursor, pageSize, toPage, type Page } from '../store/pagination.ts';
import type { DB, WebhookDeliveriesTable } from '../store/schema.ts';
import { aad, seal } from '../store/secrets.ts';
import type { Actor, Services } from './context.ts';
import { checkWebhookTarget } from './outbound.ts';
import { commit } from './unit-of-work.ts';

export const WEBHOOK_EVENT_TYPES = [
  'device.enrolled',
  'device.locked',
  'device.unlocked',
  'device.released',
  'device.provision_state_changed',
  'device.program_completed',
  'payment.posted',
  'payment.reversed',
  'payment.suspended',
  'claim.submitted',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(s: unknown): s is WebhookEventType {
  return typeof s === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);
}

/** The JSON body of every delivery. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  /** ISO 8601, when the change happened. */
  createdAt: string;
  lenderId: string;
  data: Record<string, unknown>;
}

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'cancelled';

export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_URL_LENGTH = 2048;

// ---------------------------------------------------------------------------------------------
// Signatures

function hmacHex(secret: string, ts: number, body: string | Uint8Array): string {
  const h = createHmac('sha256', secret);
  h.update(`${ts}.`);
  h.update(body);
  return h.digest('hex');
}

/** The `Lien-Signature` header value for a body sent at unix time `ts` (seconds). */
export function signWebhook(secret: string, ts: number, body: string | Uint8Array): string {
  if (!Number.isSafeInteger(ts) || ts < 0) throw new LienError('invalid_input', `A webhook timestamp is whole unix seconds, not ${String(ts)}.`);
  return `t=${ts},v1=${hmacHex(secret, ts, body)}`;
}

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed_header' | 'timestamp_out_of_tolerance' | 'no_matching_signature' };

/**
 * Checks a `Lien-Signature` header against the raw request body (the bytes as received, before
 * any JSON parsing). Rejects a timestamp more than `toleranceSec` from `nowSec` either way, so a
 * captured request cannot be replayed later. Several `v1=` entries are allowed; one must match.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string | Uint8Array,
  nowSec: number,
  toleranceSec = 300,
): SignatureCheck {
  if (typeof header !== 'string' || header.length > 4096) return { ok: false, reason: 'malformed_header' };
  let ts: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,15}$/.test(value)) ts = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (ts === undefined || candidates.length === 0) return { ok: false, reason: 'malformed_header' };
  if (Math.abs(nowSec - ts) > toleranceSec) return { ok: false, reason: 'timestamp_out_of_tolerance' };
  const expected = Buffer.from(hmacHex(secret, ts, body), 'hex');
  const match = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
  return match ? { ok: true, timestamp: ts } : { ok: false, reason: 'no_matching_signature' };
}

// ---------------------------------------------------------------------------------------------
// Endpoints

export interface WebhookInfo {
  id: string;
  lenderId: string;
  url: string;
  events: WebhookEventType[];
  active: boolean;
  createdAt: Date;
}

export function secretAad(webhookId: string): string {
  return aad.webhookSecret(webhookId);
}

function checkUrl(url: unknown): string {
  let parsed: URL;
  try {
    if (typeof url !== 'string' || url.length > MAX_URL_LENGTH) throw new Error('bad');
    parsed = new URL(url);
  } catch {
    throw new LienError('invalid_input', `The webhook URL must be an absolute http:// or https:// address of at most ${MAX_URL_LENGTH} characters.`, { field: 'url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new LienError('invalid_input', `The webhook URL must start with https:// (or http://), not ${parsed.protocol}`, { field: 'url' });
  }
  return parsed.toString();
}

function checkEvents(events: unknown): WebhookEventType[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new LienError('invalid_input', `Choose at least one event to receive: ${WEBHOOK_EVENT_TYPES.join(', ')}.`, { field: 'events' });
  }
  const unknown = events.filter((e) => !isWebhookEventType(e));
  if (unknown.length) {
    throw new LienError('invalid_input', `Unknown webhook event ${unknown.map((e) => JSON.stringify(e)).join(', ')}; the events are ${WEBHOOK_EVENT_TYPES.join(', ')}.`, {
      field: 'events',
      unknown,
    });
  }
  return [...new Set(events as WebhookEventType[])];
}

function eventsOf(stored: unknown): WebhookEventType[] {
  return Array.isArray(stored) ? stored.filter(isWebhookEventType) : [];
}

function toInfo(row: Pick<Selectable<DB['webhooks']>, 'id' | 'lender_id' | 'url' | 'events' | 'active' | 'created_at'>): WebhookInfo {
  return { id: row.id, lenderId: row.lender_id, url: row.url, events: eventsOf(row.events), active: row.active, createdAt: row.created_at };
}

/** The lender a lender-scoped use case acts for. */
function lenderOf(actor: Actor): string {
  if (!actor.lenderId) throw new LienError('forbidden', 'Webhooks belong to a lender.');
  return actor.lenderId;
}

/**
 * Registers an endpoint of the actor's lender. The signing secret is returned here once and
 * stored only sealed with the master key; a lender who loses it creates a new endpoint.
 */
export async function createWebhook(s: Services, actor: Actor, input: { url: string; events: readonly string[] }): Promise<WebhookInfo & { secret: string }> {
  const lenderId = lenderOf(actor);
  const url = checkUrl(input.url);
  const events = checkEvents(input.events);
  await checkWebhookTarget(new URL(url), s.outbound);
  return commit(s, actor, async (tx, fx) => {
    const lender = await tx.selectFrom('lenders').select('id').where('id', '=', lenderId).executeTakeFirst();
    if (!lender) throw new LienError('not_found', `Lender ${lenderId} does not exist.`, { lenderId });
    const id = newId('wh');
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const row = await tx
      .insertInto('webhooks')
      .values({
        id,
        lender_id: lenderId,
        url,
        secret_enc: seal(s.masterKey, Buffer.from(secret, 'utf8'), secretAad(id)),
        events: JSON.stringify(events),
        active: true,
        created_at: fx.now,
      })
      .returning(INFO_COLUMNS)
      .executeTakeFirstOrThrow();
    await fx.audit({ action: 'webhook.created', subjectType: 'webhook', subjectId: id, lenderId, reason: `endpoint ${url}`, data: { events } });
    return { ...toInfo(row), secret };
  });
}

const INFO_COLUMNS = ['id', 'lender_id', 'url', 'events', 'active', 'created_at'] as const;

export async function listWebhooks(db: Kysely<DB>, lenderId: string): Promise<WebhookInfo[]> {
  const rows = await db.selectFrom('webhooks').select(INFO_COLUMNS).where('lender_id', '=', lenderId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toInfo);
}

/** A page of the lender's endpoints, newest first. */
export async function webhookPage(db: Kysely<DB>, lenderId: string, opts: { cursor?: string | undefined; limit?: number | undefined } = {}): Promise<Page<WebhookInfo>> {
  const limit = pageSize(opts.limit);
  let q = db.selectFrom('webhooks').select(INFO_COLUMNS).where('lender_id', '=', lenderId);
  if (opts.cursor) q = q.where('id', '<', decodeCursor(opts.cursor, ['string'])[0]);
  const page = toPage(await q.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (w) => [w.id]);
  return { items: page.items.map(toInfo), nextCursor: page.nextCursor };
}

/**
 * Stops sending to an endpoint of the actor's lender. Deliveries still queued for it are
 * cancelled (kept in the log); one already on the wire finishes.
 */
export async function deactivateWebhook(s: Services, actor: Actor, webhookId: string): Promise<WebhookInfo> {
  const lenderId = lenderOf(actor);
  return commit(s, actor, async (tx, fx) => {
    const row = await tx
      .updateTable('webhooks')
      .set({ active: false })
      .where('id', '=', webhookId)
      .where('lender_id', '=', lenderId)
      .returning(INFO_COLUMNS)
      .executeTakeFirst();
    if (!row) throw new LienError('not_found', `Webhook ${webhookId} does not exist for this lender.`, { webhookId });
    await tx
      .updateTable('webhook_deliveries')
      .set({ status: 'cancelled', next_attempt_at: null, last_error: 'webhook deactivated' })
      .where('webhook_id', '=', webhookId)
      .where('status', '=', 'pending')
      .execute();
    await fx.audit({ action: 'webhook.deactivated', subjectType: 'webhook', subjectId: row.id, lenderId, reason: `endpoint ${row.url}` });
    return toInfo(row);
  });
}

// ---------------------------------------------------------------------------------------------
// Enqueueing

function toJson(value: unknown, what: string): string {
  try {
    const text = JSON.stringify(value);
    if (typeof text !== 'string') throw new Error('not JSON');
    return text;
  } catch (e) {
    throw new LienError('invalid_input', `The ${what} of a webhook event must be plain JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
}

/**
 * Records an event for the lender's endpoints: one delivery row per active endpoint subscribed to
 * `type`, due at once. Call it inside the transaction that makes the change, so an event exists
 * exactly when its change was committed.
 */
export async function enqueueWebhookEvent(
  tx: Kysely<DB>,
  input: { lenderId: string; type: WebhookEventType; data: Record<string, unknown>; at: Date },
): Promise<{ eventId: string; deliveryIds: string[] }> {
  if (!isWebhookEventType(input.type)) {
    throw new LienError('invalid_input', `Unknown webhook event type "${String(input.type)}".`, { type: input.type });
  }
  const eventId = newId('evt');
  const event: WebhookEvent = { id: eventId, type: input.type, createdAt: input.at.toISOString(), lenderId: input.lenderId, data: input.data };
  const payload = toJson(event, 'data');
  const hooks = await tx.selectFrom('webhooks').select(['id', 'events']).where('lender_id', '=', input.lenderId).where('active', '=', true).execute();
  const subscribed = hooks.filter((h) => eventsOf(h.events).includes(input.type));
  if (subscribed.length === 0) return { eventId, deliveryIds: [] };
  const rows = subscribed.map((h) => ({
    id: newId('whd'),
    webhook_id: h.id,
    event_id: eventId,
    event_type: input.type,
    payload,
    status: 'pending' satisfies DeliveryStatus,
    attempts: 0,
    next_attempt_at: input.at,
    created_at: input.at,
  }));
  await tx.insertInto('webhook_deliveries').values(rows).execute();
  return { eventId, deliveryIds: rows.map((r) => r.id) };
}

/** jsonb does not keep key order; put the envelope back in its documented order. */
export function orderedEvent(stored: unknown): WebhookEvent {
  const e = (stored ?? {}) as Partial<WebhookEvent>;
  return { id: e.id as string, type: e.type as WebhookEventType, createdAt: e.createdAt as string, lenderId: e.lenderId as string, data: e.data ?? {} };
}

// ---------------------------------------------------------------------------------------------
// Delivery log and replay

export interface DeliveryLogEntry {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  payload: WebhookEvent;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

function toLogEntry(r: Selectable<WebhookDeliveriesTable>): DeliveryLogEntry {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    eventType: r.event_type,
    payload: orderedEvent(r.payload),
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}

/** The lender's deliveries, newest first (ids sort by creation), a page at a time. */
export async function listDeliveries(
  db: Kysely<DB>,
  lenderId: string,
  filter: { webhookId?: string | undefined; eventId?: string | undefined; status?: DeliveryStatus | undefined; cursor?: string | undefined; limit?: number | undefined } = {},
): Promise<Page<DeliveryLogEntry>> {
  const limit = pageSize(filter.limit, 100, 1000);
  let q = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .selectAll('d')
    .where('w.lender_id', '=', lenderId);
  if (filter.webhookId) q = q.where('d.webhook_id', '=', filter.webhookId);
  if (filter.eventId) q = q.where('d.event_id', '=', filter.eventId);
  if (filter.status) q = q.where('d.status', '=', filter.status);
  if (filter.cursor) q = q.where('d.id', '<', decodeCursor(filter.cursor, ['string'])[0]);
  const page = toPage(await q.orderBy('d.id', 'desc').limit(limit + 1).execute(), limit, (d) => [d.id]);
  return { items: page.items.map(toLogEntry), nextCursor: page.nextCursor };
}

/**
 * Queues a logged delivery of the actor's lender again, as a new delivery row with the same event
 * id and payload (the original keeps its history). For a receiver that missed or mishandled an
 * event; one that dedupes by `Lien-Event-Id` sees a replay of an event it handled as a duplicate.
 */
export async function replayDelivery(s: Services, actor: Actor, deliveryId: string): Promise<DeliveryLogEntry> {
  const lenderId = lenderOf(actor);
  return commit(s, actor, async (tx, fx) => {
    const original = await tx
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .selectAll('d')
      .select('w.active')
      .where('d.id', '=', deliveryId)
      .where('w.lender_id', '=', lenderId)
      .executeTakeFirst();
    if (!original) throw new LienError('not_found', `Delivery ${deliveryId} does not exist for this lender.`, { deliveryId });
    if (!original.active) throw new LienError('conflict', `The webhook of delivery ${deliveryId} is deactivated; create a new endpoint to receive events again.`, { deliveryId });
    const queued = await tx
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('webhook_id', '=', original.webhook_id)
      .where('event_id', '=', original.event_id)
      .where('status', 'in', ['pending', 'sending'])
      .executeTakeFirst();
    if (queued) {
      throw new LienError('conflict', `Event ${original.event_id} is already queued for this endpoint (delivery ${queued.id}); it will be sent without a replay.`, {
        deliveryId: queued.id,
      });
    }
    const row = await tx
      .insertInto('webhook_deliveries')
      .values({
        id: newId('whd'),
        webhook_id: original.webhook_id,
        event_id: original.event_id,
        event_type: original.event_type,
        payload: JSON.stringify(original.payload),
        status: 'pending',
        attempts: 0,
        next_attempt_at: fx.now,
        created_at: fx.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await fx.audit({ action: 'webhook.replayed', subjectType: 'webhook', subjectId: original.webhook_id, lenderId, reason: `event ${original.event_id} queued again`, data: { deliveryId: row.id, replayOf: deliveryId } });
    return toLogEntry(row);
  });
}
