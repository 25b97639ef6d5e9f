import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { LienError } from '../domain/errors.ts';

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** `/events/0/kind` → `events[0].kind`: how a person writes a field. */
function fieldPath(pointer: string, child?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

const TYPE_NAMES: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

const BRANCH = /\/anyOf\/\d+/g;

/**
 * In a union of objects told apart by a literal field (`status: 'enrolled' | 'not_financed'`),
 * the branches whose literal did not match only add noise; keep the errors of the branch the
 * value meant. A union of bare literals (the const sits at the branch root) is kept whole.
 */
function dropMismatchedBranches(errors: SchemaError[]): SchemaError[] {
  const mismatched = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'const') continue;
    // Only the innermost union decides: a literal at its root is a union of literals, not a tag.
    const innermost = [...e.schemaPath.matchAll(BRANCH)].at(-1);
    if (!innermost) continue;
    const branch = e.schemaPath.slice(0, innermost.index + innermost[0].length);
    if (e.schemaPath.length > branch.length) mismatched.add(branch);
  }
  const inMismatched = (e: SchemaError) => [...e.schemaPath.matchAll(BRANCH)].some((m) => mismatched.has(e.schemaPath.slice(0, m.index + m[0].length)));
  const kept = errors.filter((e) => !inMismatched(e) && e.keyword !== 'anyOf');
  return kept.length > 0 ? kept : errors.filter((e) => e.keyword !== 'anyOf');
}

function explain(first: SchemaError, all: SchemaError[]): { field: string; problem: string } {
  const at = fieldPath(first.instancePath);
  switch (first.keyword) {
    case 'required': {
      const missing = (first.params.requiredProperties as string[] | undefined) ?? [];
      return { field: fieldPath(first.instancePath, missing[0] ?? ''), problem: 'is required' };
    }
    case 'additionalProperties': {
      const extra = (first.params.additionalProperties as string[] | undefined) ?? [];
      return { field: fieldPath(first.instancePath, extra[0] ?? ''), problem: 'is not a known field' };
    }
    case 'boolean': // additionalProperties: false reports the extra field itself as "schema is false"
      return { field: at, problem: 'is not a known field' };
    case 'enum':
      return { field: at, problem: `must be one of ${(first.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const': {
      const allowed = all.filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath).map((e) => JSON.stringify(e.params.allowedValue));
      return { field: at, problem: allowed.length > 1 ? `must be one of ${allowed.join(', ')}` : `must be ${allowed[0]}` };
    }
    case 'format':
      return first.params.format === 'date-time'
        ? { field: at, problem: 'must be a date and time with an offset, such as 2026-03-01T08:00:00Z' }
        : { field: at, problem: `must be a valid ${String(first.params.format)}` };
    case 'type': {
      const type = String(first.params.type);
      return { field: at, problem: `must be ${TYPE_NAMES[type] ?? type}` };
    }
    case 'pattern':
      return { field: at, problem: `has the wrong format (expected ${String(first.params.pattern)})` };
    default:
      return { field: at, problem: first.message };
  }
}

/**
 * Returns the value, typed by the schema, or throws `invalid_input` whose message names the first
 * bad field (`events[3].kind must be one of …`) and whose details carry it as `field`.
 */
export function validate<S extends TSchema>(schema: S, value: unknown): Static<S> {
  if (Value.Check(schema, value)) return value as Static<S>;
  const errors = dropMismatchedBranches([...Value.Errors(schema, value)] as SchemaError[]);
  const first = errors[0];
  if (!first) throw new LienError('invalid_input', 'The message does not match its schema.', { field: null });
  const { field, problem } = explain(first, errors);
  throw new LienError('invalid_input', `${field || 'The message'} ${problem}.`, { field: field || null, rule: first.keyword });
}
