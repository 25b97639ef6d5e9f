/**
 * SMS provider adapters, each speaking its provider's documented API:
 *
 * - Africa's Talking: `POST {base}/version1/messaging`, form fields username, to, message, from,
 *   header `apiKey`; accepted when the answer is HTTP 201 and the recipient's statusCode is
 *   100 (Processed), 101 (Sent) or 102 (Queued). Its messageId comes back in delivery reports.
 * - Twilio: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth
 *   (account SID, auth token), form fields To, From, Body, StatusCallback; HTTP 201 with the
 *   message's sid.
 *
 * Both go through the outbound address check (a lender chose the base URL). A timeout, a 5xx,
 * 408 or 429 is retried on the outbox schedule; anything else the provider refuses fails at once
 * with its reason. Phone numbers are masked in every error kept.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';
import { maskLongNumbers } from '../store/loggable.ts';
import { deliveryReportUrl, smsBaseUrl, smsProviderWithSecret } from '../services/sms.ts';
import { OutboundError, requestPinned, type Lookup, type OutboundPolicy, type PinnedResponse } from '../services/outbound.ts';
import { PermanentDeliveryError, truncate } from './delivery.ts';
import type { NotificationAdapter, OutgoingMessage, SentReceipt } from './notifications.ts';

export const PROVIDER_TIMEOUT_MS = 10_000;

interface Transport {
  outbound: OutboundPolicy;
  lookup?: Lookup;
  timeoutMs?: number;
}

async function call(url: string, t: Transport, headers: Record<string, string>, form: URLSearchParams, who: string): Promise<PinnedResponse> {
  try {
    return await requestPinned(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'Lien-Notifications/1' },
      body: form.toString(),
      timeoutMs: t.timeoutMs ?? PROVIDER_TIMEOUT_MS,
      outbound: t.outbound,
      ...(t.lookup ? { lookup: t.lookup } : {}),
    });
  } catch (e) {
    if (e instanceof OutboundError && e.kind === 'refused') throw new PermanentDeliveryError(`${who}: ${e.message}`);
    throw new Error(`${who} ${e instanceof OutboundError && e.kind === 'timeout' ? 'gave no answer in time' : 'unreachable'}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function json(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Retried: the provider or the network may do better next time. */
function transient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function failure(who: string, status: number, detail: string): Error {
  const message = truncate(maskLongNumbers(`${who} answered HTTP ${status}${detail ? `: ${detail}` : ''}`), 500);
  return transient(status) ? new Error(message) : new PermanentDeliveryError(message);
}

/** Recipient statusCodes Africa's Talking documents as worth retrying: its own server and gateway errors. */
const AT_RETRY = new Set([500, 501]);

export class AfricasTalkingAdapter implements NotificationAdapter {
  constructor(private readonly o: Transport & { baseUrl: string; username: string; apiKey: string; senderId: string }) {}

  async send(m: OutgoingMessage): Promise<SentReceipt> {
    const who = "Africa's Talking";
    const form = new URLSearchParams({ username: this.o.username, to: m.to, message: m.text, from: this.o.senderId });
    const res = await call(`${this.o.baseUrl}/version1/messaging`, this.o, { apiKey: this.o.apiKey }, form, who);
    const body = json(res.body);
    if (res.status !== 201) throw failure(who, res.status, typeof body === 'object' && body ? JSON.stringify(body) : res.body.slice(0, 200));
    const recipient = body?.SMSMessageData?.Recipients?.[0];
    if (!recipient) throw new PermanentDeliveryError(truncate(maskLongNumbers(`${who} accepted no recipient: ${body?.SMSMessageData?.Message ?? res.body.slice(0, 200)}`), 500));
    const code = Number(recipient.statusCode);
    if (code >= 100 && code <= 102) return { provider: 'africastalking', messageId: String(recipient.messageId) };
    const reason = maskLongNumbers(`${who} refused the message: ${recipient.status ?? 'unknown'} (statusCode ${code})`);
    throw AT_RETRY.has(code) ? new Error(reason) : new PermanentDeliveryError(reason);
  }
}

export class TwilioAdapter implements NotificationAdapter {
  constructor(private readonly o: Transport & { baseUrl: string; accountSid: string; authToken: string; senderId: string; statusCallback: string }) {}

  async send(m: OutgoingMessage): Promise<SentReceipt> {
    const who = 'Twilio';
    const form = new URLSearchParams({ To: m.to, From: this.o.senderId, Body: m.text, StatusCallback: this.o.statusCallback });
    const auth = Buffer.from(`${this.o.accountSid}:${this.o.authToken}`).toString('base64');
    const res = await call(`${this.o.baseUrl}/2010-04-01/Accounts/${this.o.accountSid}/Messages.json`, this.o, { authorization: `Basic ${auth}` }, form, who);
    const body = json(res.body);
    if (res.status === 201 && typeof body?.sid === 'string') return { provider: 'twilio', messageId: body.sid };
    const detail = body && typeof body === 'object' ? `error ${body.code ?? '?'}: ${body.message ?? ''}` : res.body.slice(0, 200);
    throw failure(who, res.status, detail);
  }
}

/** The adapter of a lender's own provider (src/services/sms.ts), or null when it has none. */
export function lenderSmsAdapters(
  db: Kysely<DB>,
  s: { masterKey: Buffer; publicUrl: string; outbound: OutboundPolicy },
  transport: { lookup?: Lookup; timeoutMs?: number } = {},
): (lenderId: string) => Promise<NotificationAdapter | null> {
  return async (lenderId) => {
    const p = await smsProviderWithSecret(db, s.masterKey, lenderId);
    if (!p) return null;
    const t = { outbound: s.outbound, ...transport };
    if (p.type === 'africastalking') return new AfricasTalkingAdapter({ ...t, baseUrl: smsBaseUrl(p), username: p.username!, apiKey: p.secret, senderId: p.senderId });
    return new TwilioAdapter({ ...t, baseUrl: smsBaseUrl(p), accountSid: p.accountSid!, authToken: p.secret, senderId: p.senderId, statusCallback: deliveryReportUrl(s, lenderId, 'twilio') });
  };
}
