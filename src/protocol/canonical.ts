import canonicalize from 'canonicalize';
import { LienError } from '../domain/errors.ts';

const serialize = canonicalize as unknown as (value: unknown) => string;

// With the `u` flag a well-formed surrogate pair is one code point, so this only matches lone halves.
const LONE_SURROGATE = /\p{Cs}/u;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fieldName(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Walks the value before serialising it: canonicalize would silently drop `undefined`, turn NaN
 * into null and call toJSON on class instances, so two parties could sign different bytes for what
 * looks like the same document. I-JSON (RFC 7493, required by RFC 8785) also forbids lone surrogates.
 */
function check(value: unknown, path: string, seen: Set<object>): void {
  const where = path || 'value';
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new LienError('invalid_input', `${where} contains an unpaired UTF-16 surrogate, which JSON cannot carry`, { field: where });
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LienError('invalid_input', `${where} is not a finite number (${value})`, { field: where });
    return;
  }
  if (value === undefined) throw new LienError('invalid_input', `${where} is undefined; omit the field or use null`, { field: where });
  if (typeof value !== 'object') {
    throw new LienError('invalid_input', `${where} is a ${typeof value}, which cannot be expressed in canonical JSON`, { field: where });
  }
  if (seen.has(value)) throw new LienError('invalid_input', `${where} refers back to itself; canonical JSON needs a tree`, { field: where });
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new LienError('invalid_input', `${where}[${i}] is a hole in the array; use null`, { field: `${where}[${i}]` });
      check(value[i], `${path}[${i}]`, seen);
    }
  } else if (isPlainObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const field = fieldName(path, key);
      if (LONE_SURROGATE.test(key)) throw new LienError('invalid_input', `the key ${JSON.stringify(key)} contains an unpaired UTF-16 surrogate`, { field });
      if (v === undefined) throw new LienError('invalid_input', `${field} is undefined; omit the field or use null`, { field });
      check(v, field, seen);
    }
  } else {
    const kind = (value as object).constructor?.name ?? 'object';
    throw new LienError('invalid_input', `${where} is a ${kind}, which cannot be expressed in canonical JSON; convert it first (e.g. a Date to an ISO string)`, { field: where });
  }
  seen.delete(value);
}

/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, ECMAScript number
 * formatting, no whitespace. These are the exact bytes a policy signature covers.
 */
export function canonicalJson(value: unknown): string {
  check(value, '', new Set());
  return serialize(value);
}
