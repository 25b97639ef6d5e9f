/**
 * M-Pesa Daraja C2B: the validation and confirmation callbacks Safaricom sends for payments to a
 * paybill, and the Register URL call that tells Safaricom where to send them.
 *
 * Safaricom does not sign its callbacks. What a caller must know to reach these endpoints is the
 * channel's unguessable callback URL (src/services/rails/channels.ts), and a channel may also
 * accept callbacks only from listed source addresses (options.allowFrom).
 */
import { LienError } from '../../domain/errors.ts';
import { parseAmount } from '../../domain/money.ts';
import { parseDarajaTime } from '../../domain/rails.ts';
import type { Actor, Services } from '../context.ts';
import { OutboundError, requestPinned, type Lookup } from '../outbound.ts';
import { recordAudit } from '../unit-of-work.ts';
import { callbackUrls, channelSecrets, DARAJA_BASE_URLS, type ChannelOptions, type ChannelRow } from './channels.ts';
import { contractByReference, mismatch, takeRailPayment, type RailOutcome } from './intake.ts';

/** A C2B callback body as Safaricom documents it: every value a string. */
export interface DarajaC2B {
  TransactionType: string;
  TransID: string;
  TransTime: string;
  TransAmount: string;
  BusinessShortCode: string;
  BillRefNumber: string;
  InvoiceNumber: string;
  OrgAccountBalance: string;
  ThirdPartyTransID: string;
  /** Masked or hashed by Safaricom; stored as received, never used to match. */
  MSISDN: string;
  FirstName: string;
  MiddleName: string;
  LastName: string;
}

/** M-Pesa paybills settle in Kenya shillings. */
export const MPESA_CURRENCY = 'KES';

/** Safaricom's validation result codes. */
export const C2B_ACCEPT = { ResultCode: '0', ResultDesc: 'Accepted' } as const;
export const C2B_INVALID_ACCOUNT = { ResultCode: 'C2B00012', ResultDesc: 'Rejected' } as const;
export const C2B_INVALID_AMOUNT = { ResultCode: 'C2B00013', ResultDesc: 'Rejected' } as const;
export const C2B_OTHER_ERROR = { ResultCode: 'C2B00016', ResultDesc: 'Rejected' } as const;
/** What the confirmation URL answers, to every confirmation, duplicates included. */
export const C2B_CONFIRMED = { ResultCode: 0, ResultDesc: 'Success' } as const;

export type ValidationAnswer = typeof C2B_ACCEPT | typeof C2B_INVALID_ACCOUNT | typeof C2B_INVALID_AMOUNT | typeof C2B_OTHER_ERROR;

/** The amount in minor units of KES, or null when TransAmount is not a decimal number. */
function amountOf(c: DarajaC2B): number | null {
  try {
    return parseAmount(c.TransAmount, MPESA_CURRENCY, { allowNegative: true });
  } catch {
    return null;
  }
}

/**
 * Validation (answered within Safaricom's ~8 s): accepts a payment whose account reference names
 * an open KES contract of the channel's lender, for a positive amount; read-only.
 */
export async function validateC2B(s: Services, channel: ChannelRow, c: DarajaC2B): Promise<ValidationAnswer> {
  const shortCode = (channel.account as { shortCode?: string }).shortCode;
  if (shortCode && c.BusinessShortCode !== shortCode) return C2B_OTHER_ERROR;
  const contract = await contractByReference(s.db, channel.lender_id, c.BillRefNumber);
  const amount = amountOf(c);
  const why = mismatch(contract, amount ?? 0, MPESA_CURRENCY);
  if (why === 'unknown_reference' || why === 'contract_closed') return C2B_INVALID_ACCOUNT;
  if (why === 'currency_mismatch') return C2B_OTHER_ERROR;
  if (why === 'amount_not_positive' || amount === null) return C2B_INVALID_AMOUNT;
  return C2B_ACCEPT;
}

/**
 * Confirmation: the money has moved. Posted once per TransID (a repeat is answered the same),
 * or kept in suspense when it matches no open contract; never refused, never lost.
 */
export async function confirmC2B(s: Services, channel: ChannelRow, c: DarajaC2B): Promise<RailOutcome> {
  const receivedAt = parseDarajaTime(c.TransTime) ?? s.clock.now();
  return takeRailPayment(s, channel, {
    providerRef: c.TransID,
    kind: 'mpesa.confirmation',
    externalRef: c.TransID,
    reference: c.BillRefNumber,
    amount: amountOf(c) ?? 0,
    currency: MPESA_CURRENCY,
    receivedAt,
    payload: c,
  });
}

// ---------------------------------------------------------------------------------------------
// Register URL

export interface RegisterResult {
  shortCode: string;
  validationUrl: string;
  confirmationUrl: string;
  responseType: 'Completed' | 'Cancelled';
  /** Safaricom's answer, as received (ResponseCode, ResponseDescription, OriginatorCoversationID). */
  response: Record<string, unknown>;
}

const DARAJA_TIMEOUT_MS = 15_000;

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Registers the channel's validation and confirmation URLs for its short code: an OAuth
 * client-credentials token from the channel's consumer key and secret, then the Register URL API,
 * on the channel's Daraja (sandbox or production, or its baseUrl). Audited.
 */
export async function registerC2BUrls(s: Services, actor: Actor, channelId: string, opts: { lookup?: Lookup } = {}): Promise<RegisterResult> {
  const channel = await s.db.selectFrom('payment_channels').selectAll().where('id', '=', channelId).executeTakeFirst();
  if (!channel || (actor.lenderId !== null && channel.lender_id !== actor.lenderId)) throw new LienError('not_found', `No payment channel ${channelId}`, { channelId });
  if (channel.type !== 'mpesa_c2b') throw new LienError('invalid_input', `Channel ${channel.channel} is ${channel.type}, not mpesa_c2b.`, { channelId });
  const secrets = channelSecrets(s.masterKey, channel);
  if (!secrets.consumerKey || !secrets.consumerSecret) {
    throw new LienError('invalid_input', `Channel ${channel.channel} has no Daraja consumer key and secret; set secrets.consumerKey and secrets.consumerSecret first.`, { channelId });
  }
  const options = channel.options as ChannelOptions;
  const base = options.baseUrl ?? DARAJA_BASE_URLS[options.environment ?? 'sandbox'];
  const shortCode = (channel.account as { shortCode: string }).shortCode;
  const urls = callbackUrls(s, channel.id, 'mpesa_c2b');
  const responseType = options.responseType ?? 'Completed';
  const call = async (url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }) => {
    try {
      return await requestPinned(url, { ...init, timeoutMs: DARAJA_TIMEOUT_MS, outbound: s.outbound, ...(opts.lookup ? { lookup: opts.lookup } : {}) });
    } catch (e) {
      throw new LienError('unavailable', `Daraja at ${new URL(url).origin} did not answer: ${e instanceof OutboundError ? e.message : String(e)}`, { channelId });
    }
  };

  const basic = Buffer.from(`${secrets.consumerKey}:${secrets.consumerSecret}`).toString('base64');
  const tokenRes = await call(`${base}/oauth/v1/generate?grant_type=client_credentials`, { method: 'GET', headers: { authorization: `Basic ${basic}`, accept: 'application/json' } });
  const token = parseJson(tokenRes.body)?.access_token;
  if (tokenRes.status !== 200 || typeof token !== 'string' || token === '') {
    throw new LienError('unavailable', `Daraja refused the consumer key and secret (HTTP ${tokenRes.status}).`, { channelId, status: tokenRes.status });
  }
  const body = JSON.stringify({ ShortCode: shortCode, ResponseType: responseType, ConfirmationURL: urls.confirmation, ValidationURL: urls.validation });
  const regRes = await call(`${base}/mpesa/c2b/v2/registerurl`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' }, body });
  const answer = parseJson(regRes.body) ?? {};
  const code = answer.ResponseCode ?? answer.errorCode;
  if (regRes.status !== 200 || String(code) !== '0') {
    const detail = String(answer.ResponseDescription ?? answer.errorMessage ?? `HTTP ${regRes.status}`);
    throw new LienError('unavailable', `Daraja did not register the URLs: ${detail}`, { channelId, status: regRes.status, response: answer });
  }
  await recordAudit(s, actor, {
    action: 'payment_channel.urls_registered',
    subjectType: 'payment_channel',
    subjectId: channel.id,
    lenderId: channel.lender_id,
    reason: `C2B URLs registered with Daraja for short code ${shortCode}`,
    data: { base, shortCode, responseType, response: answer },
  });
  return { shortCode, validationUrl: urls.validation!, confirmationUrl: urls.confirmation!, responseType, response: answer };
}
