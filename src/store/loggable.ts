/**
 * What of an error may be written to a log. Database errors carry the values of the statement
 * that failed: PGlite attaches the statement's parameters (`params`), PostgreSQL puts row values
 * in `detail` ("Key (phone)=(+254…) already exists") and sometimes in `where` or `hint`. Those
 * values are OpenPAYGO tokens, password hashes, phone numbers and sealed secrets, so an error is
 * logged through an allow-list of fields that describe what failed without repeating the data.
 */

/** Fields that say what failed and where, never with which values. */
const SAFE_FIELDS = ['code', 'severity', 'table', 'column', 'constraint', 'schema', 'routine', 'dataType', 'status', 'statusCode'] as const;

const MAX_QUERY = 500;
const MAX_DEPTH = 4;

/**
 * A run of seven or more digits, or an international number written with spaces or dashes
 * (+254 711 000 222): a phone number, an IMEI or a token. All but the last three digits are
 * masked, enough to tell two apart in a support conversation and too little to call or unlock
 * anyone. Dates (2026-01-15) and times are shorter runs and stay readable.
 */
const LONG_NUMBER = /\+\d(?:[ -]?\d){6,}|\d{7,}/g;

export function maskLongNumbers(text: string): string {
  return text.replace(LONG_NUMBER, (m) => {
    const digits = m.replace(/\D/g, '');
    return `${m.startsWith('+') ? '+' : ''}${'•'.repeat(digits.length - 3)}${digits.slice(-3)}`;
  });
}

/** An error as a plain object fit for a log line: type, masked message and stack, safe fields, the SQL text without values, its cause. */
export function loggableError(e: unknown, depth = 0): Record<string, unknown> {
  if (!(e instanceof Error)) return { type: typeof e, message: maskLongNumbers(String(e)) };
  const src = e as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: src.name || src.constructor?.name || 'Error', message: maskLongNumbers(src.message) };
  if (typeof src.stack === 'string') out.stack = maskLongNumbers(src.stack);
  for (const f of SAFE_FIELDS) {
    const v = src[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = v;
  }
  // The statement text has placeholders ($1, $2), not values: it says which query failed.
  if (typeof src.query === 'string') out.query = src.query.length > MAX_QUERY ? `${src.query.slice(0, MAX_QUERY)}…` : src.query;
  if (src.cause !== undefined && depth < MAX_DEPTH) out.cause = loggableError(src.cause, depth + 1);
  if (e instanceof AggregateError && depth < MAX_DEPTH) out.errors = e.errors.slice(0, 5).map((x) => loggableError(x, depth + 1));
  return out;
}

/**
 * Removes the statement's values from a database error before it travels any further (to a
 * handler, a log, a test report). The PGlite driver calls it on every failed query.
 */
export function dropStatementValues<E>(e: E): E {
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    for (const key of ['params', 'parameters', 'queryOptions']) if (key in o) delete o[key];
  }
  return e;
}
