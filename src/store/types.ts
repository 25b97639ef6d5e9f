/**
 * One set of value conversions for both drivers, so a repository returns the same JavaScript
 * values on PGlite and on PostgreSQL. Registered per PGlite instance / per pg Pool, never
 * globally (pg.types.setTypeParser would change every other pg user in the process).
 *
 *   int8        → number   (minor units and counters; an unsafe value is an error, not a rounding)
 *   numeric     → string   (exact decimal text, e.g. SUM() results)
 *   date        → 'YYYY-MM-DD' (pg's default builds a local-midnight Date that shifts days)
 *   timestamptz → Date
 *   bytea       → Buffer   (PGlite gives Uint8Array)
 *   json/jsonb  → parsed value
 */
export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int4: 23,
  json: 114,
  date: 1082,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
} as const;

export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} is beyond JavaScript's safe integer range`);
  return n;
}

export function parseDate(text: string): string {
  return text;
}

export function parseNumeric(text: string): string {
  return text;
}

/** Text-format bytea is `\x` followed by hex. */
export function parseByteaHex(text: string): Buffer {
  return Buffer.from(text.slice(2), 'hex');
}

export function parseJson(text: string): unknown {
  return JSON.parse(text);
}
