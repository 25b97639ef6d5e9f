/**
 * Console pages for day-to-day work: sign-in, dashboard, device search and device page with its
 * actions, contract page, selling. Every action goes through the same services as the REST API
 * (audited there); this layer only turns forms into inputs and results into redirects.
 */
import type { FastifyInstance } from 'fastify';
import { businessDateIn } from '../../../domain/dates.ts';
import { startOfLocalDay } from '../../../domain/dates.ts';
import { LienError } from '../../../domain/errors.ts';
import { parseAmount } from '../../../domain/money.ts';
import type { Frequency, AmortizationMethod } from '../../../domain/schedule.ts';
import { issueCode, type IssueCodeInput } from '../../../services/codes.ts';
import type { Services } from '../../../services/context.ts';
import { dashboard } from '../../../services/views/dashboard.ts';
import { applyManualAction, manualOutcome, MANUAL_ACTIONS, type ManualActionName } from '../../../services/manual-actions.ts';
import { postPayment, reversePayment } from '../../../services/payments.ts';
import { sellOnCredit } from '../../../services/sales.ts';
import { BAD_CREDENTIALS, signIn, signOut } from '../../../services/sessions.ts';
import { can } from '../../../domain/roles.ts';
import { renderContract } from '../../../web/console/contract.tsx';
import { renderDashboard } from '../../../web/console/dashboard.tsx';
import { renderDevice } from '../../../web/console/device.tsx';
import { renderLogin } from '../../../web/console/login.tsx';
import { renderSell } from '../../../web/console/sell.tsx';
import { activeContractOf, contractPage, devicePage } from '../../../services/views/console.ts';
import {
  actorOf, cookieOptions, done, field, formAction, homeOf, html, lenderOf, LOGIN_CSRF_COOKIE, loginCsrf, requireConfirmation, safeNext, SESSION_COOKIE, takeFlash, userOf, viewerOf,
} from './session.ts';
import { csrfMatches } from '../../../services/sessions.ts';
import { httpStatus } from '../../errors.ts';

type IdParams = { Params: { id: string } };

async function lenderFacts(s: Services, lenderId: string) {
  return s.db.selectFrom('lenders').select(['currency', 'time_zone']).where('id', '=', lenderId).executeTakeFirstOrThrow();
}

function today(s: Services, timeZone: string): string {
  return businessDateIn(timeZone, s.clock.now());
}

/** A calendar day in the lender's zone → the instant the payment counts from (never later than now). */
function receivedAt(s: Services, raw: string, timeZone: string): Date {
  const now = s.clock.now();
  if (!raw) return now;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) throw new LienError('invalid_input', 'The date received must be a calendar date.', { field: 'receivedOn' });
  if (raw > today(s, timeZone)) throw new LienError('invalid_input', 'A payment cannot be received in the future.', { field: 'receivedOn' });
  return raw === today(s, timeZone) ? now : new Date(startOfLocalDay(raw, timeZone));
}

export async function workPages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.get<{ Querystring: { next?: string } }>('/login', { config: { console: 'public' } }, async (req, reply) =>
    html(reply, renderLogin({ csrf: loginCsrf(req, reply, s), next: safeNext(req.query.next ?? '') ?? '' })),
  );

  app.post('/login', { config: { console: 'public' } }, async (req, reply) => {
    const csrf = loginCsrf(req, reply, s);
    const email = field(req.body, 'email');
    const next = safeNext(field(req.body, 'next')) ?? '';
    if (!csrfMatches(req.cookies[LOGIN_CSRF_COOKIE] ?? '', field(req.body, '_csrf'))) {
      return html(reply, renderLogin({ csrf, next, email, error: 'The sign-in form expired. Please try again.' }), 403);
    }
    try {
      const { token, session } = await signIn(s.db, { email, password: field(req.body, 'password'), ip: req.ip, now: s.clock.now() });
      reply.setCookie(SESSION_COOKIE, token, cookieOptions(s, session.expiresAt));
      reply.clearCookie(LOGIN_CSRF_COOKIE, cookieOptions(s));
      return reply.redirect(next || homeOf(session), 303);
    } catch (e) {
      if (e instanceof LienError && (e.code === 'unauthorized' || e.code === 'rate_limited')) {
        if (typeof e.details.retryAfterSec === 'number') reply.header('retry-after', String(e.details.retryAfterSec));
        return html(reply, renderLogin({ csrf, next, email, error: e.code === 'unauthorized' ? BAD_CREDENTIALS : e.message }), httpStatus(e));
      }
      throw e;
    }
  });

  app.post('/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await signOut(s.db, token);
    reply.clearCookie(SESSION_COOKIE, cookieOptions(s));
    return reply.redirect('/console/login', 303);
  });

  app.get('/', async (req, reply) => {
    const u = userOf(req);
    if (!can(u.role, 'read')) return reply.redirect(homeOf(u), 303);
    return html(reply, renderDashboard(viewerOf(req), await dashboard(s.db, lenderOf(req), s.clock.now()), takeFlash(req, reply, s)));
  });

  app.get<IdParams>('/devices/:id', { config: { console: 'find' } }, async (req, reply) => {
    const lenderId = lenderOf(req);
    const page = await devicePage(s.db, lenderId, req.params.id);
    const { time_zone } = await lenderFacts(s, lenderId);
    return html(reply, renderDevice(viewerOf(req), page, takeFlash(req, reply, s), today(s, time_zone)));
  });

  app.post<IdParams>('/devices/:id/payment', { config: { console: 'pay_cash' } }, async (req, reply) => {
    const back = `/console/devices/${encodeURIComponent(req.params.id)}`;
    return formAction(reply, s, back, async () => {
      const lenderId = lenderOf(req);
      const c = await activeContractOf(s.db, lenderId, req.params.id);
      const channel = field(req.body, 'channel').trim() || 'cash';
      if (channel !== 'cash' && !can(userOf(req).role, 'pay')) throw new LienError('forbidden', 'Your role records cash payments only.');
      const reference = field(req.body, 'reference').trim();
      if (reference.length < 1 || reference.length > 120) throw new LienError('invalid_input', 'Type the receipt or transaction reference (up to 120 characters).', { field: 'reference' });
      const amount = parseAmount(field(req.body, 'amount'), c.currency);
      const { time_zone } = await lenderFacts(s, lenderId);
      const r = await postPayment(s, actorOf(req), { contractId: c.id, externalRef: reference, channel, amount, currency: c.currency, receivedAt: receivedAt(s, field(req.body, 'receivedOn'), time_zone) });
      return { text: `Payment ${reference} posted. The device is now ${r.evaluation.decision.stage}${r.evaluation.policyChanged ? '; it has been told to sync' : ''}.` };
    });
  });

  app.post<IdParams>('/devices/:id/code', { config: { console: 'codes' } }, async (req, reply) => {
    const back = `/console/devices/${encodeURIComponent(req.params.id)}`;
    return formAction(reply, s, back, async () => {
      lenderOf(req);
      const type = field(req.body, 'type') as IssueCodeInput['type'];
      if (!['ADD_TIME', 'DISABLE_PAYG', 'COUNTER_SYNC'].includes(type)) throw new LienError('invalid_input', 'Choose the kind of code.', { field: 'type' });
      if (type === 'DISABLE_PAYG') requireConfirmation(req.body, 'a release code frees the phone from the lien for good');
      const days = type === 'ADD_TIME' ? Number(field(req.body, 'days')) : undefined;
      const code = await issueCode(s, actorOf(req), { deviceId: req.params.id, type, ...(days !== undefined ? { days } : {}), reason: field(req.body, 'reason') });
      return { text: `Code ${code.token} issued (${code.type}${code.days ? `, ${code.days} days` : ''}). Read it to the borrower; they type it on the lock screen.` };
    });
  });

  app.post<IdParams>('/devices/:id/manual', { config: { console: 'manual' } }, async (req, reply) => {
    const back = `/console/devices/${encodeURIComponent(req.params.id)}`;
    return formAction(reply, s, back, async () => {
      const c = await activeContractOf(s.db, lenderOf(req), req.params.id);
      const action = field(req.body, 'action') as ManualActionName;
      if (!MANUAL_ACTIONS.includes(action)) throw new LienError('invalid_input', 'Choose an action.', { field: 'action' });
      if (action === 'release') requireConfirmation(req.body, 'releasing the phone ends the lien for good');
      const untilRaw = field(req.body, 'until');
      const { time_zone } = await lenderFacts(s, lenderOf(req));
      const until = untilRaw ? localInstant(untilRaw, time_zone) : undefined;
      const ev = await applyManualAction(s, actorOf(req), c.id, { action, reason: field(req.body, 'reason'), ...(until ? { until } : {}) });
      return { text: manualOutcome(action, ev).message };
    });
  });

  app.get<IdParams>('/contracts/:id', { config: { console: 'find' } }, async (req, reply) =>
    html(reply, renderContract(viewerOf(req), await contractPage(s.db, lenderOf(req), req.params.id, s.clock.now()), takeFlash(req, reply, s))),
  );

  app.post<{ Params: { id: string; pid: string } }>('/contracts/:id/payments/:pid/reverse', { config: { console: 'reverse' } }, async (req, reply) => {
    const back = `/console/contracts/${encodeURIComponent(req.params.id)}`;
    return formAction(reply, s, back, async () => {
      const page = await contractPage(s.db, lenderOf(req), req.params.id, s.clock.now());
      if (!page.payments.some((p) => p.id === req.params.pid)) throw new LienError('not_found', `No payment ${req.params.pid} on this contract`);
      const reason = field(req.body, 'reason').trim();
      if (reason.length < 3) throw new LienError('invalid_input', 'A reversal needs a reason of at least 3 characters.', { field: 'reason' });
      const r = await reversePayment(s, actorOf(req), req.params.pid, reason);
      return { text: `Payment reversed. The device is now ${r.evaluation.decision.stage}.` };
    });
  });

  app.get('/sell', { config: { console: 'sell' } }, async (req, reply) => {
    const l = await lenderFacts(s, lenderOf(req));
    return html(reply, renderSell(viewerOf(req), { currency: l.currency, today: today(s, l.time_zone), flash: takeFlash(req, reply, s) }));
  });

  app.post('/sell', { config: { console: 'sell' } }, async (req, reply) => {
    const l = await lenderFacts(s, lenderOf(req));
    const b = req.body;
    try {
      const num = (name: string, label: string) => {
        const raw = field(b, name).trim();
        const n = Number(raw);
        if (!raw || !Number.isFinite(n)) throw new LienError('invalid_input', `${label} must be a number.`, { field: name });
        return n;
      };
      const down = field(b, 'downPayment').trim();
      const consent = field(b, 'consent') === 'yes';
      const sale = await sellOnCredit(s, actorOf(req), {
        imei: field(b, 'imei').trim(),
        borrowerRef: required(field(b, 'borrowerRef'), 'borrowerRef', 'Borrower reference'),
        borrowerPhone: required(field(b, 'borrowerPhone'), 'borrowerPhone', 'Borrower phone'),
        borrowerLanguage: field(b, 'borrowerLanguage') || 'en',
        schedule: {
          principal: parseAmount(field(b, 'principal'), l.currency, { field: 'principal' }),
          ...(down ? { downPayment: parseAmount(down, l.currency, { field: 'downPayment' }) } : {}),
          annualRatePct: num('annualRatePct', 'The annual rate'),
          termCount: num('termCount', 'The number of installments'),
          frequency: field(b, 'frequency') as Frequency,
          method: field(b, 'method') as AmortizationMethod,
          firstDueDate: field(b, 'firstDueDate'),
        },
        consent: consent ? { at: s.clock.now(), channel: 'console', termsVersion: field(b, 'termsVersion').trim() || 'v1' } : null,
      });
      return done(reply, s, `/console/devices/${sale.deviceId}`, { text: `Sold on credit: contract ${sale.contractId}, lock reference ${sale.lockReference}.` });
    } catch (e) {
      if (!(e instanceof LienError)) throw e;
      const values = Object.fromEntries(['imei', 'borrowerRef', 'borrowerPhone', 'borrowerLanguage', 'principal', 'downPayment', 'annualRatePct', 'termCount', 'frequency', 'method', 'firstDueDate', 'consent', 'termsVersion'].map((k) => [k, field(b, k)]));
      return html(reply, renderSell(viewerOf(req), { currency: l.currency, today: today(s, l.time_zone), values, flash: { text: e.message, bad: true } }), httpStatus(e));
    }
  });
}

/** A `datetime-local` value typed in the lender's zone → the instant it means. */
export function localInstant(raw: string, timeZone: string): Date {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/.exec(raw);
  if (!m) throw new LienError('invalid_input', '"Until" is not a date and time.', { field: 'until' });
  const midnight = startOfLocalDay(m[1]!, timeZone);
  // Whole hours and minutes after local midnight; a DST jump that day moves it like a wall clock would not, which is fine for an "until".
  return new Date(midnight + (Number(m[2]) * 60 + Number(m[3])) * 60_000);
}

function required(v: string, name: string, label: string): string {
  const t = v.trim();
  if (!t || t.length > 120) throw new LienError('invalid_input', `${label} is required (up to 120 characters).`, { field: name });
  return t;
}
