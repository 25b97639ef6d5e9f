/**
 * The SMS provider a lender sends borrower messages through (Africa's Talking or Twilio, with the
 * lender's sender id), and what the providers' delivery reports say about each message. Without
 * one, messages go through the server's default (LIEN_SMS_GATEWAY_URL's generic JSON gateway, or
 * the log in development).
 *
 * The provider's API key / auth token is sealed (aad `sms-provider:<lender id>`). Delivery
 * reports come back to URLs carrying the lender id and a token derived from the master key, like
 * payment channels' callback URLs; Twilio's are signed besides (X-Twilio-Signature).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import type { DB } from '../store/schema.ts';
import { maskLongNumbers } from '../store/loggable.ts';
import { aad, deriveKey, open, seal } from '../store/secrets.ts';
import type { Actor, Services } from './context.ts';
import { commit } from './unit-of-work.ts';

export const SMS_PROVIDER_TYPES = ['africastalking', 'twilio'] as const;
export type SmsProviderType = (typeof SMS_PROVIDER_TYPES)[number];

export const SMS_BASE_URLS: Record<SmsProviderType, { production: string; sandbox: string }> = {
  africastalking: { production: 'https://api.africastalking.com', sandbox: 'https://api.sandbox.africastalking.com' },
  twilio: { production: 'https://api.twilio.com', sandbox: 'https://api.twilio.com' },
};

/** A lender's provider as stored (the secret apart). */
export interface SmsProviderConfig {
  type: SmsProviderType;
  /** The sender id (alphanumeric, approved with the provider) or the sending number. */
  senderId: string;
  /** Africa's Talking: the app's username ("sandbox" in the sandbox). */
  username?: string;
  /** Twilio: the account SID (AC…). */
  accountSid?: string;
  environment?: 'production' | 'sandbox';
  /** Another base URL (a proxy, a test server). */
  baseUrl?: string;
}

export interface SmsProviderInput extends SmsProviderConfig {
  /** Africa's Talking: the API key; Twilio: the auth token. Kept when left out on a change. */
  secret?: string;
}

export interface SmsProviderView extends SmsProviderConfig {
  secretSet: boolean;
  /** Where the provider sends delivery reports (set automatically on each message). */
  deliveryReportUrl: string;
}

const bad = (message: string, field: string) => new LienError('invalid_input', message, { field });

export function smsBaseUrl(c: SmsProviderConfig): string {
  return c.baseUrl ?? SMS_BASE_URLS[c.type][c.environment ?? 'production'];
}

export function smsCallbackToken(masterKey: Buffer, lenderId: string): string {
  return createHmac('sha256', deriveKey(masterKey, 'sms delivery report')).update(lenderId).digest('hex').slice(0, 32);
}

export function smsCallbackTokenMatches(masterKey: Buffer, lenderId: string, token: string): boolean {
  return /^[0-9a-f]{32}$/.test(token) && timingSafeEqual(Buffer.from(token), Buffer.from(smsCallbackToken(masterKey, lenderId)));
}

export function deliveryReportUrl(s: Pick<Services, 'masterKey' | 'publicUrl'>, lenderId: string, type: SmsProviderType): string {
  return `${s.publicUrl.replace(/\/+$/, '')}/rails/sms/${lenderId}/${smsCallbackToken(s.masterKey, lenderId)}/${type}`;
}

function check(input: SmsProviderInput, hadSecret: boolean): SmsProviderConfig {
  if (!(SMS_PROVIDER_TYPES as readonly string[]).includes(input.type)) throw bad(`type is one of ${SMS_PROVIDER_TYPES.join(', ')}.`, 'type');
  // Alphanumeric sender ids are at most 11 characters; a number is E.164.
  if (!/^([A-Za-z0-9 ]{1,11}|\+?\d{3,15})$/.test(input.senderId ?? '')) throw bad('senderId is an alphanumeric sender id of up to 11 characters, or a phone number.', 'senderId');
  const out: SmsProviderConfig = { type: input.type, senderId: input.senderId };
  if (input.type === 'africastalking') {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(input.username ?? '')) throw bad("Africa's Talking needs username (the app's username; sandbox in the sandbox).", 'username');
    out.username = input.username!;
  } else {
    if (!/^AC[0-9a-fA-F]{32}$/.test(input.accountSid ?? '')) throw bad('Twilio needs accountSid (AC followed by 32 hex digits).', 'accountSid');
    out.accountSid = input.accountSid!;
  }
  if (input.environment !== undefined) {
    if (input.environment !== 'production' && input.environment !== 'sandbox') throw bad('environment is production or sandbox.', 'environment');
    out.environment = input.environment;
  }
  if (input.baseUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(input.baseUrl);
    } catch {
      throw bad('baseUrl is an absolute https:// URL.', 'baseUrl');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('baseUrl is an absolute https:// URL.', 'baseUrl');
    out.baseUrl = u.origin;
  }
  if (input.secret !== undefined && (input.secret.length < 8 || input.secret.length > 256 || /\s/.test(input.secret))) throw bad('secret is 8 to 256 characters without spaces.', 'secret');
  if (input.secret === undefined && !hadSecret) throw bad(input.type === 'twilio' ? 'secret is the Twilio auth token.' : "secret is the Africa's Talking API key.", 'secret');
  return out;
}

export async function getSmsProvider(s: Services, lenderId: string): Promise<SmsProviderView | null> {
  const l = await s.db.selectFrom('lenders').select(['sms_provider', 'sms_secret_enc']).where('id', '=', lenderId).executeTakeFirst();
  if (!l) throw new LienError('not_found', `No lender ${lenderId}`);
  if (!l.sms_provider) return null;
  const c = l.sms_provider as unknown as SmsProviderConfig;
  return { ...c, secretSet: l.sms_secret_enc !== null, deliveryReportUrl: deliveryReportUrl(s, lenderId, c.type) };
}

/** Sets (or, with null, removes) the lender's provider. Audited; the secret is never in the audit. */
export async function setSmsProvider(s: Services, actor: Actor, lenderId: string, input: SmsProviderInput | null): Promise<SmsProviderView | null> {
  await commit(s, actor, async (tx, fx) => {
    const l = await tx.selectFrom('lenders').select(['id', 'sms_secret_enc', 'sms_provider']).where('id', '=', lenderId).forUpdate().executeTakeFirst();
    if (!l) throw new LienError('not_found', `No lender ${lenderId}`);
    if (input === null) {
      await tx.updateTable('lenders').set({ sms_provider: null, sms_secret_enc: null }).where('id', '=', lenderId).execute();
    } else {
      const sameType = (l.sms_provider as SmsProviderConfig | null)?.type === input.type;
      const config = check(input, sameType && l.sms_secret_enc !== null);
      const secret = input.secret !== undefined ? seal(s.masterKey, input.secret, aad.smsProvider(lenderId)) : l.sms_secret_enc;
      await tx.updateTable('lenders').set({ sms_provider: JSON.stringify(config), sms_secret_enc: secret }).where('id', '=', lenderId).execute();
    }
    await fx.audit({
      action: 'lender.sms_provider_set',
      subjectType: 'lender',
      subjectId: lenderId,
      lenderId,
      reason: input ? `SMS through ${input.type} as ${input.senderId}` : 'SMS through the server default',
      data: input ? { type: input.type, senderId: input.senderId, username: input.username, accountSid: input.accountSid, baseUrl: input.baseUrl, secretChanged: input.secret !== undefined } : { removed: true },
    });
  });
  return getSmsProvider(s, lenderId);
}

/** The lender's provider with its secret opened, for the delivery job; null when none. */
export async function smsProviderWithSecret(db: Kysely<DB>, masterKey: Buffer, lenderId: string): Promise<(SmsProviderConfig & { secret: string }) | null> {
  const l = await db.selectFrom('lenders').select(['sms_provider', 'sms_secret_enc']).where('id', '=', lenderId).executeTakeFirst();
  if (!l?.sms_provider || !l.sms_secret_enc) return null;
  return { ...(l.sms_provider as unknown as SmsProviderConfig), secret: open(masterKey, l.sms_secret_enc, aad.smsProvider(lenderId)).toString('utf8') };
}

// ---------------------------------------------------------------------------------------------
// Delivery reports

export type DeliveryReport = { messageId: string; outcome: 'delivered' } | { messageId: string; outcome: 'failed'; reason: string } | { messageId: string; outcome: 'pending'; reason: string };

/**
 * Africa's Talking delivery report (form fields id, status, failureReason, …): Success is
 * delivered; Failed, Rejected, AbsentSubscriber and Expired are failures; Sent, Submitted and
 * Buffered are on the way.
 */
export function africasTalkingReport(form: URLSearchParams): DeliveryReport | null {
  const id = form.get('id');
  const status = form.get('status');
  if (!id || !status || id.length > 100) return null;
  if (status === 'Success') return { messageId: id, outcome: 'delivered' };
  if (['Failed', 'Rejected', 'AbsentSubscriber', 'Expired'].includes(status)) return { messageId: id, outcome: 'failed', reason: [status, form.get('failureReason')].filter(Boolean).join(': ') };
  return { messageId: id, outcome: 'pending', reason: status };
}

/**
 * Twilio status callback (MessageSid, MessageStatus, ErrorCode): delivered is delivered;
 * undelivered and failed are failures (with Twilio's error code); the rest are on the way.
 */
export function twilioReport(form: URLSearchParams): DeliveryReport | null {
  const id = form.get('MessageSid');
  const status = form.get('MessageStatus');
  if (!id || !status || id.length > 100) return null;
  if (status === 'delivered') return { messageId: id, outcome: 'delivered' };
  if (status === 'undelivered' || status === 'failed') {
    const code = form.get('ErrorCode');
    return { messageId: id, outcome: 'failed', reason: `${status}${code ? ` (Twilio error ${code})` : ''}` };
  }
  return { messageId: id, outcome: 'pending', reason: status };
}

/**
 * Twilio's X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL
 * Twilio called followed by each POST parameter's name and value, sorted by name.
 */
export function twilioSignature(authToken: string, url: string, form: URLSearchParams): string {
  const names = [...new Set(form.keys())].sort();
  let data = url;
  for (const name of names) for (const value of form.getAll(name)) data += name + value;
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export function twilioSignatureValid(authToken: string, url: string, form: URLSearchParams, header: unknown): boolean {
  if (typeof header !== 'string' || header.length > 200) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, form));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Writes what a delivery report says to the notification it is about (outbox bookkeeping, like
 * delivery attempts: no unit of work). A report for another lender's message changes nothing.
 * Returns whether a notification was found.
 */
export async function applyDeliveryReport(s: Services, lenderId: string, provider: SmsProviderType, r: DeliveryReport): Promise<boolean> {
  const found = await s.db
    .selectFrom('notifications as n')
    .innerJoin('contracts as c', 'c.id', 'n.contract_id')
    .select('n.id')
    .where('n.provider', '=', provider)
    .where('n.provider_message_id', '=', r.messageId)
    .where('c.lender_id', '=', lenderId)
    .executeTakeFirst();
  if (!found) return false;
  const detail = r.outcome === 'delivered' ? null : maskLongNumbers(r.reason).slice(0, 300);
  if (r.outcome === 'pending') {
    await s.db.updateTable('notifications').set({ delivery_detail: detail }).where('id', '=', found.id).where('delivery_status', 'is', null).execute();
  } else {
    await s.db
      .updateTable('notifications')
      .set({ delivery_status: r.outcome, delivery_detail: detail, ...(r.outcome === 'delivered' ? { delivered_at: s.clock.now() } : {}) })
      .where('id', '=', found.id)
      .execute();
  }
  return true;
}
