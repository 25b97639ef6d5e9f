/**
 * Request plumbing of the console: who is signed in (session cookie), the CSRF check on every
 * POST, the role check every route declares, one-shot flash messages, and HTML error pages.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLienError, LienError } from '../../../domain/errors.ts';
import type { Actor, Services } from '../../../services/context.ts';
import { csrfMatches, findSession, type SessionUser } from '../../../services/sessions.ts';
import { can, type Permission } from '../../../domain/roles.ts';
import { renderProblem, type Viewer } from '../../../web/console/layout.tsx';
import { httpStatus, RETRY_AFTER_LOST_CONNECTION_SEC, unavailableFrom } from '../../errors.ts';

export const SESSION_COOKIE = 'lien_session';
export const LOGIN_CSRF_COOKIE = 'lien_login_csrf';
const FLASH_COOKIE = 'lien_flash';
export const PATH = '/console';

declare module 'fastify' {
  interface FastifyRequest {
    consoleUser?: SessionUser;
  }
  interface FastifyContextConfig {
    /** What the signed-in user must be allowed to do; `public` routes need no session. */
    console?: Permission | 'public' | 'signed_in';
  }
}

export type Flash = { text: string; bad?: boolean } | null;

/**
 * `expires` becomes a relative Max-Age: the browser judges an absolute Expires by its own clock,
 * while the server's business clock decides (and checks on every request) when a session ends.
 */
export function cookieOptions(s: Services, expires?: Date) {
  const maxAge = expires ? Math.max(0, Math.floor((expires.getTime() - s.clock.now().getTime()) / 1000)) : undefined;
  return { path: PATH, httpOnly: true, sameSite: 'lax' as const, secure: s.publicUrl.startsWith('https:'), ...(maxAge !== undefined ? { maxAge } : {}) };
}

export function userOf(req: FastifyRequest): SessionUser {
  if (!req.consoleUser) throw new LienError('unauthorized', 'Not signed in.');
  return req.consoleUser;
}

export function viewerOf(req: FastifyRequest): Viewer {
  return viewerFrom(userOf(req));
}

function viewerFrom(u: SessionUser): Viewer {
  return { name: u.name, email: u.email, role: u.role, lenderName: u.lenderName, csrf: u.csrfToken, timeZone: u.timeZone, locale: u.locale };
}

export function actorOf(req: FastifyRequest): Actor {
  const u = userOf(req);
  return { kind: 'user', id: u.userId, lenderId: u.lenderId };
}

export function lenderOf(req: FastifyRequest): string {
  const id = userOf(req).lenderId;
  if (!id) throw new LienError('forbidden', 'This page shows lender data; operator accounts see the device registry only.');
  return id;
}

export function field(body: unknown, name: string): string {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

export function fields(body: unknown, name: string): string[] {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * An irreversible action goes ahead only when its form says so (the confirmation box, or the
 * dialog htmx shows first): a stray click, a replayed form or a script without it is refused.
 */
export function requireConfirmation(body: unknown, what: string): void {
  if (field(body, 'confirm') !== 'yes') throw new LienError('invalid_input', `Tick the box to confirm: ${what}.`, { field: 'confirm' });
}

export function html(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
    .send(body);
}

export function setFlash(reply: FastifyReply, s: Services, flash: NonNullable<Flash>): void {
  reply.setCookie(FLASH_COOKIE, Buffer.from(JSON.stringify({ text: flash.text.slice(0, 600), bad: !!flash.bad })).toString('base64url'), cookieOptions(s));
}

/** The flash left by the previous POST, consumed. */
export function takeFlash(req: FastifyRequest, reply: FastifyReply, s: Services): Flash {
  const raw = req.cookies[FLASH_COOKIE];
  if (!raw) return null;
  reply.clearCookie(FLASH_COOKIE, cookieOptions(s));
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { text?: unknown; bad?: unknown };
    return typeof v.text === 'string' ? { text: v.text, bad: v.bad === true } : null;
  } catch {
    return null;
  }
}

/** Redirect after a POST (303: the browser follows with GET). */
export function done(reply: FastifyReply, s: Services, to: string, flash?: NonNullable<Flash>): FastifyReply {
  if (flash) setFlash(reply, s, flash);
  return reply.redirect(to, 303);
}

/**
 * Runs a form action; a mistake the user can fix (bad amount, reason too short, guardrail) goes
 * back to the form's page with the message, anything else (404, 500) goes to the error handler.
 */
export async function formAction(reply: FastifyReply, s: Services, back: string, run: () => Promise<{ to?: string; text: string }>): Promise<FastifyReply> {
  try {
    const r = await run();
    return done(reply, s, r.to ?? back, { text: r.text });
  } catch (e) {
    if (isLienError(e) && httpStatus(e) !== 404 && httpStatus(e) !== 403 && httpStatus(e) !== 401) return done(reply, s, back, { text: e.message, bad: true });
    throw e;
  }
}

export function loginCsrf(req: FastifyRequest, reply: FastifyReply, s: Services): string {
  const existing = req.cookies[LOGIN_CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{20,100}$/.test(existing)) return existing;
  const token = randomBytes(24).toString('base64url');
  reply.setCookie(LOGIN_CSRF_COOKIE, token, cookieOptions(s));
  return token;
}

export function safeNext(raw: string): string | null {
  return /^\/console(\/[A-Za-z0-9_\-/.?=&%]*)?$/.test(raw) && !raw.includes('//') && !raw.startsWith('/console/login') ? raw : null;
}

export function homeOf(u: SessionUser): string {
  if (can(u.role, 'read')) return '/console';
  if (can(u.role, 'registry')) return '/console/registry';
  return '/console/devices';
}

/**
 * Session, CSRF and role checks, in that order, before any console handler runs. The session is
 * checked as soon as the request arrives, before its body is read or checked: a stranger is sent
 * to the sign-in page whatever they posted.
 */
export function installGuards(app: FastifyInstance, s: Services): void {
  app.addHook('onRequest', async (req, reply) => {
    const need = req.routeOptions.config.console ?? 'signed_in';
    if (need === 'public') return;
    const token = req.cookies[SESSION_COOKIE];
    const user = token ? await findSession(s.db, token, s.clock.now()) : null;
    if (!user) {
      if (token) reply.clearCookie(SESSION_COOKIE, cookieOptions(s));
      const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.url)}` : '';
      if (req.headers['hx-request']) return reply.header('HX-Redirect', `/console/login${next}`).status(401).send('');
      return reply.redirect(`/console/login${next}`, 303);
    }
    req.consoleUser = user;
    req.log = req.log.child({ lenderId: user.lenderId ?? 'operator', userId: user.userId });
  });

  app.addHook('preHandler', async (req, reply) => {
    const need = req.routeOptions.config.console ?? 'signed_in';
    const user = req.consoleUser;
    if (need === 'public' || !user) return;
    if (req.method === 'POST') {
      const submitted = field(req.body, '_csrf') || String(req.headers['x-csrf-token'] ?? '');
      if (!csrfMatches(user.csrfToken, submitted)) {
        return html(reply, renderProblem(viewerOf(req), 403, 'This form has expired', 'The page was open too long or came from elsewhere. Go back, reload the page and try again.'), 403);
      }
    }
    if (need !== 'signed_in' && !can(user.role, need)) {
      return html(reply, renderProblem(viewerOf(req), 403, 'Not allowed', `Your role (${user.role}) cannot open this page or do this.`), 403);
    }
  });

  app.setErrorHandler((raw, req, reply) => {
    const viewer = req.consoleUser ? viewerOf(req) : null;
    const lost = unavailableFrom(raw);
    if (lost) reply.header('retry-after', String(RETRY_AFTER_LOST_CONNECTION_SEC));
    const err = lost ?? raw;
    if (isLienError(err)) {
      const status = httpStatus(err);
      const title = status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status === 429 ? 'Slow down' : status === 503 ? 'Try again' : 'That did not work';
      return html(reply, renderProblem(viewer, status, title, err.message), status);
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return html(reply, renderProblem(viewer, status, 'That did not work', (err as Error).message), status);
    req.log.error({ err }, 'console error');
    return html(reply, renderProblem(viewer, 500, 'Something went wrong', 'Something went wrong on our side; it has been logged.'), 500);
  });

  app.setNotFoundHandler(async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    const user = token ? await findSession(s.db, token, s.clock.now()) : null;
    const viewer = user ? viewerFrom(user) : null;
    return html(reply, renderProblem(viewer, 404, 'Not found', `There is no page at ${req.url.split('?')[0]}.`), 404);
  });
}
