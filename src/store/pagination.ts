import { LienError } from '../domain/errors.ts';

/** One page of a keyset-paginated listing; pass `nextCursor` back to get the next page. */
export interface Page<T> {
  items: T[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

export type CursorKey = readonly (string | number)[];

/** Opaque to clients: base64url of the sort key of the last row served. */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

const INVALID = () => new LienError('invalid_input', 'The cursor is not valid for this listing; start again without it.');

/** Decodes a cursor made by encodeCursor, checking it has the expected shape. */
export function decodeCursor<const S extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: S,
): { [K in keyof S]: S[K] extends 'string' ? string : number } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw INVALID();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw INVALID();
  shape.forEach((t, i) => {
    if (typeof key[i] !== t || (t === 'number' && !Number.isSafeInteger(key[i]))) throw INVALID();
  });
  return key as never;
}

/** A page size within [1, max]; default when not given. */
export function pageSize(limit: number | undefined, def = 50, max = 500): number {
  if (limit === undefined) return def;
  if (!Number.isInteger(limit) || limit < 1) throw new LienError('invalid_input', `limit must be a whole number from 1 to ${max}`, { limit });
  return Math.min(limit, max);
}

/** Cuts the one-extra row fetched to learn whether another page exists. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1]!)) };
}
