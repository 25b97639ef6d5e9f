/**
 * One check, for every request, that its strings are text PostgreSQL can store: no NUL
 * character (text columns refuse it) and no lone UTF-16 surrogate (JSON can spell one as
 * "\ud800"; jsonb refuses it, and UTF-8 cannot carry it). Left to the database, either one
 * surfaced as a 500 from deep inside whichever use case wrote it; checked here, every entry
 * point (API, device protocol, console forms, portal, CSV) answers 400 naming the field.
 */
import type { FastifyInstance } from 'fastify';
import { LienError } from '../domain/errors.ts';

// NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const NOT_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** The path of the first string (or object key) in `value` that is not storable text, or null. */
export function findBadText(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return NOT_TEXT.test(value) ? path : null;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findBadText(value[i], join(path, i));
      if (bad !== null) return bad;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    const here = join(path, key);
    if (NOT_TEXT.test(key)) return here;
    const bad = findBadText(v, here);
    if (bad !== null) return bad;
  }
  return null;
}

/** The 400 for a value that is not text, naming where it was. */
export function notText(where: string, field: string, line?: number): LienError {
  const at = line !== undefined ? ` (line ${line})` : '';
  return new LienError(
    'invalid_input',
    `${where} field "${field}"${at} contains a NUL character or an unpaired UTF-16 surrogate, which is not text; remove it and send again.`,
    { where, field, ...(line !== undefined ? { line } : {}) },
  );
}

/** Throws notText when `value` holds a string that is not text (for bodies read by a handler, e.g. multipart). */
export function assertText(where: string, value: unknown, name = ''): void {
  const bad = findBadText(value, name);
  if (bad !== null) throw notText(where, bad || where);
}

/**
 * Checks path parameters, the query string and the parsed body of every request, before any
 * schema or handler sees them. Installed on the root instance, so it covers every route; runs
 * after authentication (onRequest), so strangers still get their 401 first.
 */
export function installTextGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    assertText('params', req.params);
    assertText('query', req.query);
    const body = req.body;
    if (typeof body === 'string') {
      const m = NOT_TEXT.exec(body);
      if (m) throw notText('body', 'body', body.slice(0, m.index).split('\n').length);
      return;
    }
    assertText('body', body);
  });
}
