/**
 * Razorpay webhooks: `payment.captured` (and `order.paid`) post the payment; `payment.failed`
 * and anything else is recorded, not posted. Each delivery is authenticated by
 * `X-Razorpay-Signature`, the hex HMAC-SHA256 of the raw body keyed with the webhook secret set
 * in the Razorpay dashboard, and deduplicated on `x-razorpay-event-id` (Razorpay retries a
 * delivery it saw no 2xx for, with the same id). The payment id is the receipt number, so a
 * payment captured after it first failed posts, and one reported by two events posts once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Services } from '../context.ts';
import { channelSecrets, type ChannelRow } from './channels.ts';
import { recordRailEvent, takeRailPayment, type RailOutcome } from './intake.ts';

export function razorpaySignatureValid(secret: string, rawBody: Buffer, header: unknown): boolean {
  if (typeof header !== 'string' || !/^[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(header, 'hex'), expected);
}

interface RazorpayPayment {
  id: string;
  amount: number;
  currency: string;
  status?: string;
  order_id?: string | null;
  notes?: unknown;
  created_at?: number;
}

export type RazorpayAnswer =
  | { ok: true; outcome: RailOutcome; event: string }
  | { ok: false; status: 400 | 401; error: string };

const POSTING_EVENTS = new Set(['payment.captured', 'order.paid']);

function obj(v: unknown): Record<string, unknown> | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** notes.lock_reference of the payment, else of the order; Razorpay notes are an object (or [] when empty). */
function lockReference(payload: Record<string, unknown>): string {
  for (const entity of ['payment', 'order']) {
    const notes = obj(obj(obj(payload[entity])?.entity)?.notes);
    const ref = notes?.lock_reference;
    if (typeof ref === 'string' && ref.trim() !== '') return ref;
  }
  return '';
}

function paymentOf(payload: Record<string, unknown>): RazorpayPayment | null {
  const e = obj(obj(payload.payment)?.entity);
  if (!e || typeof e.id !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(e.id)) return null;
  if (typeof e.amount !== 'number' || !Number.isSafeInteger(e.amount)) return null;
  if (typeof e.currency !== 'string' || !/^[A-Z]{3}$/.test(e.currency)) return null;
  return e as unknown as RazorpayPayment;
}

export async function takeRazorpayWebhook(s: Services, channel: ChannelRow, rawBody: Buffer, headers: { signature: unknown; eventId: unknown }): Promise<RazorpayAnswer> {
  const secret = channelSecrets(s.masterKey, channel).webhookSecret;
  if (!secret || !razorpaySignatureValid(secret, rawBody, headers.signature)) return { ok: false, status: 401, error: 'X-Razorpay-Signature does not match the body' };
  const eventId = headers.eventId;
  if (typeof eventId !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(eventId)) return { ok: false, status: 400, error: 'x-razorpay-event-id is missing or malformed' };
  let event: Record<string, unknown> | null;
  try {
    event = obj(JSON.parse(rawBody.toString('utf8')));
  } catch {
    event = null;
  }
  const type = event?.event;
  const payload = obj(event?.payload);
  if (!event || typeof type !== 'string' || !payload) return { ok: false, status: 400, error: 'the body is not a Razorpay webhook event' };
  const providerRef = `event:${eventId}`;
  if (!POSTING_EVENTS.has(type)) return { ok: true, event: type, outcome: await recordRailEvent(s, channel, { providerRef, kind: `razorpay.${type}`, payload: event }) };
  const payment = paymentOf(payload);
  if (!payment) return { ok: false, status: 400, error: `${type} without a usable payload.payment.entity (id, amount in paise, currency)` };
  const at = typeof event.created_at === 'number' ? new Date(event.created_at * 1000) : s.clock.now();
  const outcome = await takeRailPayment(s, channel, {
    providerRef,
    kind: `razorpay.${type}`,
    externalRef: payment.id,
    reference: lockReference(payload),
    amount: payment.amount,
    currency: payment.currency,
    receivedAt: Number.isNaN(at.getTime()) ? s.clock.now() : at,
    payload: event,
  });
  return { ok: true, event: type, outcome };
}
