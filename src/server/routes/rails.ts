/**
 * What payment and SMS providers call: the callback URLs of payment channels and the delivery
 * reports of SMS providers. No API key: each URL carries an unguessable token
 * (src/services/rails/channels.ts), and Razorpay, signed-webhook and Twilio callbacks are
 * signed besides. Bodies are read raw (signatures are over the exact bytes), capped at 64 KiB.
 *
 *   POST /rails/c2b/:id/:token/validation     M-Pesa Daraja C2B validation
 *   POST /rails/c2b/:id/:token/confirmation   M-Pesa Daraja C2B confirmation
 *   POST /rails/razorpay/:id/:token           Razorpay webhooks
 *   POST /rails/signed/:id/:token             the signed payment webhook (Lien-Signature)
 *   POST /rails/sms/:lender/:token/africastalking   Africa's Talking delivery reports
 *   POST /rails/sms/:lender/:token/twilio           Twilio status callbacks (X-Twilio-Signature)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LienError } from '../../domain/errors.ts';
import type { Services } from '../../services/context.ts';
import { railChannel, sourceAllowed } from '../../services/rails/channels.ts';
import type { RailOutcome } from '../../services/rails/intake.ts';
import { C2B_CONFIRMED, C2B_OTHER_ERROR, confirmC2B, validateC2B, type DarajaC2B } from '../../services/rails/mpesa.ts';
import { takeRazorpayWebhook } from '../../services/rails/razorpay.ts';
import { takeSignedPayment } from '../../services/rails/signed.ts';
import { africasTalkingReport, applyDeliveryReport, deliveryReportUrl, smsCallbackTokenMatches, smsProviderWithSecret, twilioReport, twilioSignatureValid } from '../../services/sms.ts';
import type { PaymentChannelType } from '../../store/schema.ts';
import { findBadText } from '../text-guard.ts';
import { clientIp } from './portal/client.ts';

export const RAIL_BODY_LIMIT = 64 * 1024;

type ChannelParams = { Params: { id: string; token: string } };
type SmsParams = { Params: { lender: string; token: string } };

const REQUIRED_C2B = ['TransID', 'TransTime', 'TransAmount', 'BusinessShortCode', 'BillRefNumber'] as const;
const OPTIONAL_C2B = ['TransactionType', 'InvoiceNumber', 'OrgAccountBalance', 'ThirdPartyTransID', 'MSISDN', 'FirstName', 'MiddleName', 'LastName'] as const;

/** Safaricom's body, checked field by field; null when it is not one. */
export function parseC2B(raw: Buffer): DarajaC2B | null {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || findBadText(v) !== null) return null;
  const b = v as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const k of REQUIRED_C2B) {
    if (typeof b[k] !== 'string' || (b[k] as string).length > 120) return null;
    out[k] = b[k] as string;
  }
  for (const k of OPTIONAL_C2B) {
    const x = b[k] ?? '';
    if (typeof x !== 'string' || x.length > 200) return null;
    out[k] = x;
  }
  if (!/^[A-Za-z0-9]{1,40}$/.test(out.TransID!)) return null;
  return { ...(b as object), ...out } as unknown as DarajaC2B;
}

function answer(o: RailOutcome) {
  return {
    status: o.outcome,
    duplicate: o.duplicate,
    ...(o.outcome === 'posted' ? { paymentId: o.paymentId } : {}),
    ...(o.outcome === 'suspense' ? { suspenseId: o.suspenseId, reason: o.reason } : {}),
  };
}

export async function railRoutes(app: FastifyInstance, { s, trustProxy = 0 }: { s: Services; trustProxy?: number }): Promise<void> {
  // Raw bytes for every body here: signatures cover them exactly, and each handler parses its own.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: RAIL_BODY_LIMIT }, (_req, body, done) => done(null, body));

  const channelFor = async (req: FastifyRequest<ChannelParams>, type: PaymentChannelType) => {
    const channel = await railChannel(s, req.params.id, req.params.token, type);
    if (!channel) throw new LienError('not_found', 'No such callback URL.');
    if (!sourceAllowed(channel, clientIp(req, trustProxy))) throw new LienError('forbidden', 'This address may not call this channel.');
    return channel;
  };
  const rawOf = (req: FastifyRequest) => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  app.post<ChannelParams>('/rails/c2b/:id/:token/validation', async (req) => {
    const channel = await channelFor(req, 'mpesa_c2b');
    const c2b = parseC2B(rawOf(req));
    return c2b ? validateC2B(s, channel, c2b) : C2B_OTHER_ERROR;
  });

  app.post<ChannelParams>('/rails/c2b/:id/:token/confirmation', async (req, reply) => {
    const channel = await channelFor(req, 'mpesa_c2b');
    const c2b = parseC2B(rawOf(req));
    if (!c2b) return reply.status(400).send({ ResultCode: 'C2B00016', ResultDesc: 'Rejected: not a C2B confirmation body' });
    await confirmC2B(s, channel, c2b);
    return C2B_CONFIRMED;
  });

  app.post<ChannelParams>('/rails/razorpay/:id/:token', async (req, reply) => {
    const channel = await channelFor(req, 'razorpay');
    const r = await takeRazorpayWebhook(s, channel, rawOf(req), { signature: req.headers['x-razorpay-signature'], eventId: req.headers['x-razorpay-event-id'] });
    if (!r.ok) throw new LienError(r.status === 401 ? 'invalid_signature' : 'invalid_input', r.error);
    return reply.status(200).send({ event: r.event, ...answer(r.outcome) });
  });

  app.post<ChannelParams>('/rails/signed/:id/:token', async (req, reply) => {
    const channel = await channelFor(req, 'signed_webhook');
    const r = await takeSignedPayment(s, channel, rawOf(req), req.headers['lien-signature']);
    if (!r.ok) throw new LienError(r.status === 401 ? 'invalid_signature' : 'invalid_input', r.error);
    return reply.status(200).send(answer(r.outcome));
  });

  const smsLender = (req: FastifyRequest<SmsParams>) => {
    if (!/^[a-z]{2,12}_[0-9a-z]{1,40}$/.test(req.params.lender) || !smsCallbackTokenMatches(s.masterKey, req.params.lender, req.params.token)) throw new LienError('not_found', 'No such callback URL.');
    return req.params.lender;
  };

  app.post<SmsParams>('/rails/sms/:lender/:token/africastalking', async (req, reply) => {
    const lenderId = smsLender(req);
    const report = africasTalkingReport(new URLSearchParams(rawOf(req).toString('utf8')));
    if (!report) throw new LienError('invalid_input', "Not an Africa's Talking delivery report (id and status are required).");
    await applyDeliveryReport(s, lenderId, 'africastalking', report);
    return reply.status(200).send({ ok: true });
  });

  app.post<SmsParams>('/rails/sms/:lender/:token/twilio', async (req, reply) => {
    const lenderId = smsLender(req);
    const provider = await smsProviderWithSecret(s.db, s.masterKey, lenderId);
    const form = new URLSearchParams(rawOf(req).toString('utf8'));
    // Twilio signs the URL it was given (the public one), not whatever host the request came in on.
    if (provider?.type !== 'twilio' || !twilioSignatureValid(provider.secret, deliveryReportUrl(s, lenderId, 'twilio'), form, req.headers['x-twilio-signature'])) {
      throw new LienError('invalid_signature', 'X-Twilio-Signature does not match.');
    }
    const report = twilioReport(form);
    if (!report) throw new LienError('invalid_input', 'Not a Twilio status callback (MessageSid and MessageStatus are required).');
    await applyDeliveryReport(s, lenderId, 'twilio', report);
    return reply.status(204).send();
  });
}
