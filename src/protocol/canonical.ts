import canonicalize from 'canonicalize';
import { LienError } from '../domain/errors.ts';

function check(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LienError('invalid_input', `${path || 'value'} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((v, i) => check(v, `${path}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) throw new LienError('invalid_input', `${path ? `${path}.` : ''}${k} is undefined; omit it or use null`);
      check(v, path ? `${path}.${k}` : k);
    }
    return;
  }
  throw new LienError('invalid_input', `${path || 'value'} cannot be expressed in canonical JSON`);
}

/** RFC 8785 (JCS) canonical JSON: the exact bytes a signature covers. */
export function canonicalJson(value: unknown): string {
  check(value, '');
  return (canonicalize as unknown as (v: unknown) => string)(value);
}
