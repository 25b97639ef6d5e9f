/**
 * The signed payment webhook, for any aggregator: a JSON body signed with `Lien-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` — the scheme Lien signs its own
 * webhooks with (src/services/webhooks.ts), checked here against each of the channel's secrets,
 * so a sender may send one v1 per secret while a secret is being rotated. Five minutes of
 * tolerance either way.
 */
import { LienError } from '../../domain/errors.ts';
import { assertCurrency, parseAmount } from '../../domain/money.ts';
import type { Services } from '../context.ts';
import { verifyWebhookSignature } from '../webhooks.ts';
import { channelSecrets, type ChannelRow } from './channels.ts';
import { takeRailPayment, type RailOutcome } from './intake.ts';

export const SIGNATURE_TOLERANCE_SEC = 300;

/** The documented body. */
export interface SignedPaymentBody {
  externalRef: string;
  /** Decimal text in the currency's units, "1500.00". */
  amount: string;
  currency: string;
  /** The account reference the payer gave: lock reference, IMEI or the lender's contract reference. */
  reference: string;
  paidAt: string;
  /** The aggregator's own channel name (e.g. "airtel_money"); kept with the payload. */
  channel?: string;
}

export type SignedAnswer = { ok: true; outcome: RailOutcome } | { ok: false; status: 400 | 401; error: string };

function parseBody(raw: Buffer): SignedPaymentBody & { minor: number; paid: Date } {
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new LienError('invalid_input', 'The body is not JSON.');
  }
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new LienError('invalid_input', 'The body is a JSON object.');
  const str = (k: string, max: number, required = true) => {
    const v = b[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw new LienError('invalid_input', `${k} is text of 1 to ${max} characters.`, { field: k });
    return v;
  };
  const externalRef = str('externalRef', 120)!;
  const currency = assertCurrency(str('currency', 3)!);
  const amount = str('amount', 40)!;
  const minor = parseAmount(amount, currency, { allowNegative: true, field: 'amount' });
  const reference = str('reference', 120)!;
  const paidAt = str('paidAt', 40)!;
  const paid = new Date(paidAt);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(paidAt) || Number.isNaN(paid.getTime())) throw new LienError('invalid_input', 'paidAt is an ISO 8601 instant.', { field: 'paidAt' });
  const channel = str('channel', 60, false);
  return { externalRef, amount, currency, reference, paidAt, ...(channel !== undefined ? { channel } : {}), minor, paid };
}

export async function takeSignedPayment(s: Services, channel: ChannelRow, raw: Buffer, signature: unknown): Promise<SignedAnswer> {
  const secrets = channelSecrets(s.masterKey, channel).webhookSecrets ?? [];
  const nowSec = Math.floor(s.clock.now().getTime() / 1000);
  const header = typeof signature === 'string' ? signature : undefined;
  const checks = secrets.map((secret) => verifyWebhookSignature(secret, header, raw, nowSec, SIGNATURE_TOLERANCE_SEC));
  if (!checks.some((c) => c.ok)) {
    const why = checks.find((c) => !c.ok && c.reason !== 'no_matching_signature');
    return { ok: false, status: 401, error: `Lien-Signature rejected: ${why && !why.ok ? why.reason : 'no_matching_signature'}` };
  }
  let body;
  try {
    body = parseBody(raw);
  } catch (e) {
    if (e instanceof LienError) return { ok: false, status: 400, error: e.message };
    throw e;
  }
  const outcome = await takeRailPayment(s, channel, {
    providerRef: body.externalRef,
    kind: 'signed.payment',
    externalRef: body.externalRef,
    reference: body.reference,
    amount: body.minor,
    currency: body.currency,
    receivedAt: body.paid,
    payload: JSON.parse(raw.toString('utf8')),
  });
  return { ok: true, outcome };
}
