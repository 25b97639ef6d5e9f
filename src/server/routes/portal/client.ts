/**
 * Who is asking and in which language, for the public portal.
 *
 * The client address comes from the socket unless LIEN_TRUST_PROXY says how many reverse proxies
 * sit in front: then it is the X-Forwarded-For entry the outermost trusted proxy saw. Trusting
 * the header without a proxy would let anyone pick a fresh address per request and walk around
 * the rate limits.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLang, negotiateLanguage, type Lang } from '../../../i18n/index.ts';

export const LANG_COOKIE = 'lien_lang';

export function clientIp(req: FastifyRequest, trustedProxies: number): string {
  const socketIp = req.socket.remoteAddress ?? 'unknown';
  if (trustedProxies <= 0) return socketIp;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (!raw) return socketIp;
  const hops = raw.split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (hops.length === 0) return socketIp;
  return hops[Math.max(0, hops.length - trustedProxies)]!.slice(0, 64);
}

export interface LangChoice {
  lang: Lang;
  /** The reader chose it (?lang= or the cookie), so a borrower's stored language must not override it. */
  explicit: boolean;
}

/** ?lang= (remembered in a cookie), then the cookie, then Accept-Language. */
export function chooseLanguage(req: FastifyRequest, reply: FastifyReply): LangChoice {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (isLang(q)) {
    reply.setCookie(LANG_COOKIE, q, { path: '/', maxAge: 365 * 86_400, sameSite: 'lax', httpOnly: true });
    return { lang: q, explicit: true };
  }
  const cookies = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
  const saved = cookies[LANG_COOKIE];
  if (isLang(saved)) return { lang: saved, explicit: true };
  return { lang: negotiateLanguage(req.headers['accept-language']), explicit: false };
}
