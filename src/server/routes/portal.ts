/**
 * The public help portal, server-rendered and usable without JavaScript:
 *
 *   GET  /                       → /portal
 *   GET  /portal                 what do you need?
 *   GET  /portal/lookup          "my phone is locked": lock reference (+ optional IMEI)
 *   POST /portal/lookup
 *   GET  /portal/claim           "I have paid": proof of payment (multipart, optional receipt)
 *   POST /portal/claim
 *   GET  /portal/claims[?number] claim status by claim number; also /portal/claims/:number
 *   GET  /portal/lien            "check a phone before buying"
 *   POST /portal/lien
 *
 * Rules live in src/services/portal.ts and claims.ts; this file maps requests, languages, rate
 * limits and errors onto pages.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { h, type VNode } from 'preact';
import { businessDateIn } from '../../domain/dates.ts';
import { isLienError, LienError } from '../../domain/errors.ts';
import { validateImei } from '../../domain/imei.ts';
import { t, type Lang, type MessageKey } from '../../i18n/index.ts';
import { claimStatus, MAX_RECEIPT_BYTES, submitClaim, type ClaimProblem } from '../../services/claims.ts';
import type { Services } from '../../services/context.ts';
import { lienStatus, lookupLock, portalActor } from '../../services/portal.ts';
import { renderDocument, type Frame } from '../../web/portal/layout.tsx';
import { httpStatus, RETRY_AFTER_LOST_CONNECTION_SEC, unavailableFrom } from '../errors.ts';
import { assertText } from '../text-guard.ts';
import { ClaimPage, ClaimReceiptPage, ClaimStatusPage, EMPTY_CLAIM, HomePage, LienPage, LookupPage, MessagePage, ResultPage, type ClaimValues } from '../../web/portal/pages.tsx';
import { chooseLanguage, clientIp } from './portal/client.ts';
import { DEFAULT_LIMITS, PortalLimiter, type PortalLimits } from './portal/limits.ts';

export interface PortalOptions {
  s: Services;
  /** Reverse proxies in front of the server whose X-Forwarded-For is trusted (LIEN_TRUST_PROXY). */
  trustProxy?: number;
  limits?: Partial<PortalLimits>;
}

type Body = Record<string, string | undefined>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- pages take different props
function send(reply: FastifyReply, page: VNode<any>, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    .send(renderDocument(page));
}

function is4xx(e: unknown): boolean {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function field(body: unknown, name: string): string {
  const v = (body as Body | undefined)?.[name];
  return typeof v === 'string' ? v.slice(0, 200) : '';
}

const CLAIM_MESSAGES: Record<ClaimProblem, MessageKey> = {
  reference: 'portal.error.invalidReference',
  transactionId: 'portal.claim.error.transactionId',
  amount: 'portal.claim.error.amount',
  date: 'portal.claim.error.date',
  channel: 'portal.claim.error.required',
  receiptTooLarge: 'portal.claim.error.receiptTooLarge',
  receiptType: 'portal.claim.error.receiptType',
  duplicate: 'portal.claim.error.duplicate',
};

const CLAIM_FIELDS: Record<ClaimProblem, keyof ClaimValues | 'receipt'> = {
  reference: 'reference',
  transactionId: 'transactionRef',
  amount: 'amount',
  date: 'paidOn',
  channel: 'channel',
  receiptTooLarge: 'receipt',
  receiptType: 'receipt',
  duplicate: 'transactionRef',
};

interface ParsedClaim {
  values: ClaimValues;
  receipt: Buffer | null;
  tooLarge: boolean;
}

/** Reads the claim form; a receipt over the limit is noted, not buffered beyond it. */
async function readClaimForm(req: FastifyRequest): Promise<ParsedClaim> {
  const values: ClaimValues = { ...EMPTY_CLAIM };
  let receipt: Buffer | null = null;
  let tooLarge = false;
  if (!req.isMultipart()) {
    const body = req.body as Body | undefined;
    for (const k of Object.keys(values) as (keyof ClaimValues)[]) values[k] = field(body, k);
    return { values, receipt, tooLarge };
  }
  try {
    for await (const part of req.parts({ limits: { fileSize: MAX_RECEIPT_BYTES, files: 1, fields: 12, fieldSize: 1024 } })) {
      if (part.type === 'file') {
        const buf = await part.toBuffer();
        if (part.file.truncated) tooLarge = true;
        else if (buf.length > 0) receipt = buf;
      } else if (part.fieldname in values && typeof part.value === 'string') {
        values[part.fieldname as keyof ClaimValues] = part.value.slice(0, 200);
      }
    }
  } catch (e) {
    // @fastify/multipart fails the whole upload on an oversized file (unless registered otherwise).
    if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') tooLarge = true;
    // Its limit errors carry a 4xx; a body that is not multipart at all (busboy's "Unexpected end
    // of form", a malformed part header) is the client's doing too, never a 500.
    else if (isLienError(e) || is4xx(e)) throw e;
    else throw new LienError('invalid_input', `The form upload could not be read: ${(e as Error).message}`, { where: 'body' });
  }
  // Multipart fields are read here, not by the server's parser: the same text check as every body.
  assertText('body', values);
  return { values, receipt, tooLarge };
}

export async function portalRoutes(app: FastifyInstance, opts: PortalOptions): Promise<void> {
  const { s } = opts;
  const trustProxy = opts.trustProxy ?? 0;
  const limiter = new PortalLimiter(s, { ...DEFAULT_LIMITS, ...opts.limits });
  if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody, { bodyLimit: 16 * 1024 });
  if (!app.hasRequestDecorator('isMultipart')) await app.register(multipart);

  const frameOf = (req: FastifyRequest, reply: FastifyReply, path: string, title: MessageKey, lang?: Lang): Frame => {
    const l = lang ?? chooseLanguage(req, reply).lang;
    return { lang: l, title: t(l, title), path };
  };

  /** The 429 page: the reader's language, how long to wait, and Retry-After for machines. */
  const throttled = (reply: FastifyReply, frame: Frame, retryAfterSec: number) => {
    reply.header('retry-after', String(retryAfterSec));
    return send(
      reply,
      h(MessagePage, { frame: { ...frame, title: t(frame.lang, 'portal.error.rateLimitedTitle') }, title: t(frame.lang, 'portal.error.rateLimitedTitle'), message: t(frame.lang, 'portal.error.rateLimited', { minutes: Math.max(1, Math.ceil(retryAfterSec / 60)) }) }),
      429,
    );
  };

  app.get('/', async (_req, reply) => reply.redirect('/portal', 302));

  app.get('/portal', async (req, reply) => send(reply, h(HomePage, { frame: frameOf(req, reply, '/portal', 'portal.home.title') })));

  app.get('/portal/lookup', async (req, reply) => {
    const reference = field(req.query, 'reference');
    return send(reply, h(LookupPage, { frame: frameOf(req, reply, '/portal/lookup', 'portal.lookup.title'), reference }));
  });

  app.post('/portal/lookup', async (req, reply) => {
    const choice = chooseLanguage(req, reply);
    const frame: Frame = { lang: choice.lang, title: t(choice.lang, 'portal.lookup.title'), path: '/portal/lookup' };
    const imeiRaw = field(req.body, 'imei').trim();
    const reference = field(req.body, 'reference');
    const ip = clientIp(req, trustProxy);
    const form = (error: MessageKey, status: number) => send(reply, h(LookupPage, { frame, imei: imeiRaw, reference, error: t(frame.lang, error) }), status);
    let imei: string | null = null;
    if (imeiRaw !== '') {
      try {
        imei = validateImei(imeiRaw);
      } catch {
        return form('portal.error.invalidImei', 400);
      }
    }
    const gate = await limiter.check(ip, 'lookup', { imei });
    if (!gate.allowed) return throttled(reply, frame, gate.retryAfterSec);
    try {
      const r = await lookupLock(s, { imei: imei ?? undefined, reference, ip });
      if (!r.found) return form('portal.error.notFound', 200);
      const lang = choice.explicit ? choice.lang : r.borrowerLanguage;
      return send(reply, h(ResultPage, { frame: { lang, title: t(lang, 'portal.result.title'), path: '/portal/lookup' }, r }));
    } catch (e) {
      if (isLienError(e) && e.code === 'invalid_input') return form('portal.error.invalidReference', 400);
      throw e;
    }
  });

  const today = () => businessDateIn('UTC', s.clock.now());

  app.get('/portal/claim', async (req, reply) => {
    const values = { ...EMPTY_CLAIM, reference: field(req.query, 'reference') };
    return send(reply, h(ClaimPage, { frame: frameOf(req, reply, '/portal/claim', 'portal.claim.title'), values, today: today() }));
  });

  app.post('/portal/claim', async (req, reply) => {
    const frame = frameOf(req, reply, '/portal/claim', 'portal.claim.title');
    const ip = clientIp(req, trustProxy);
    const parsed = await readClaimForm(req);
    const page = (errors: Parameters<typeof ClaimPage>[0]['errors'], status: number) => send(reply, h(ClaimPage, { frame, values: parsed.values, errors, today: today() }), status);
    if (parsed.tooLarge) return page({ receipt: t(frame.lang, 'portal.claim.error.receiptTooLarge') }, 413);
    const missing = (Object.keys(parsed.values) as (keyof ClaimValues)[]).filter((k) => parsed.values[k].trim() === '');
    if (missing.length > 0) return page(Object.fromEntries(missing.map((k) => [k, t(frame.lang, 'portal.claim.error.required')])), 400);
    const gate = await limiter.check(ip, 'claim', { claim: true });
    if (!gate.allowed) return throttled(reply, frame, gate.retryAfterSec);
    try {
      const v = parsed.values;
      const claim = await submitClaim(s, { lockReference: v.reference, transactionRef: v.transactionRef, amount: v.amount, paidOn: v.paidOn, channel: v.channel, receipt: parsed.receipt, actor: portalActor(ip) });
      return send(reply, h(ClaimReceiptPage, { frame: { ...frame, title: t(frame.lang, 'portal.claimSubmitted.title') }, number: claim.claimNumber }), 201);
    } catch (e) {
      if (!isLienError(e)) throw e;
      const problem = e.details.problem as ClaimProblem | undefined;
      if (e.code === 'not_found') return page({ reference: t(frame.lang, 'portal.error.notFound') }, 404);
      if (problem && problem in CLAIM_MESSAGES) return page({ [CLAIM_FIELDS[problem]]: t(frame.lang, CLAIM_MESSAGES[problem]) }, httpStatus(e));
      throw e;
    }
  });

  const showClaim = async (req: FastifyRequest, reply: FastifyReply, raw: string) => {
    const frame = frameOf(req, reply, '/portal/claims', 'portal.claimStatus.title');
    if (raw.trim() === '') return send(reply, h(ClaimStatusPage, { frame }));
    const ip = clientIp(req, trustProxy);
    const gate = await limiter.check(ip, 'claim_status');
    if (!gate.allowed) return throttled(reply, frame, gate.retryAfterSec);
    try {
      const status = await claimStatus(s, raw, ip);
      if (!status) return send(reply, h(ClaimStatusPage, { frame, number: raw, error: t(frame.lang, 'portal.claimStatus.unknown') }), 404);
      return send(reply, h(ClaimStatusPage, { frame, number: status.number, status }));
    } catch (e) {
      if (isLienError(e) && e.code === 'invalid_input') return send(reply, h(ClaimStatusPage, { frame, number: raw, error: t(frame.lang, 'portal.claimStatus.invalid') }), 400);
      throw e;
    }
  };
  app.get('/portal/claims', async (req, reply) => showClaim(req, reply, field(req.query, 'number')));
  app.get<{ Params: { number: string } }>('/portal/claims/:number', async (req, reply) => showClaim(req, reply, req.params.number.slice(0, 40)));

  app.get('/portal/lien', async (req, reply) => send(reply, h(LienPage, { frame: frameOf(req, reply, '/portal/lien', 'portal.lien.title') })));

  app.post('/portal/lien', async (req, reply) => {
    const frame = frameOf(req, reply, '/portal/lien', 'portal.lien.title');
    const raw = field(req.body, 'imei').trim();
    let imei: string;
    try {
      imei = validateImei(raw);
    } catch {
      return send(reply, h(LienPage, { frame, imei: raw, error: t(frame.lang, 'portal.error.invalidImei') }), 400);
    }
    const ip = clientIp(req, trustProxy);
    const gate = await limiter.check(ip, 'lien_check', { imei });
    if (!gate.allowed) return throttled(reply, frame, gate.retryAfterSec);
    const result = await lienStatus(s, imei, ip);
    return send(reply, h(LienPage, { frame, imei, result }));
  });

  // Anything unexpected gets a page in the reader's language, not a JSON error: a request the
  // server cannot read (too large, not a form, broken upload, too many files or fields, not text)
  // is the sender's 4xx; only our own failures are a 500.
  app.setErrorHandler(async (raw, req, reply) => {
    const frame = frameOf(req, reply, '/portal', 'portal.home.title');
    const lost = unavailableFrom(raw);
    if (lost) reply.header('retry-after', String(RETRY_AFTER_LOST_CONNECTION_SEC));
    const err = lost ?? raw;
    const status = isLienError(err) ? httpStatus(err) : is4xx(err) ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 500) {
      if (!lost) req.log.error({ err }, 'portal request failed');
      return send(reply, h(MessagePage, { frame, title: t(frame.lang, 'portal.siteTitle'), message: t(frame.lang, 'portal.error.generic') }), status);
    }
    const field = isLienError(err) && typeof err.details.field === 'string' ? err.details.field : null;
    const message = field ? t(frame.lang, 'portal.error.badField', { field }) : t(frame.lang, 'portal.error.unreadable');
    return send(reply, h(MessagePage, { frame, title: t(frame.lang, 'portal.siteTitle'), message }), status);
  });
}
