import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { LienError } from '../../../domain/errors.ts';
import type { Scope } from '../../../services/apikeys.ts';
import { actorOf } from '../../auth.ts';

/** The one error body of every endpoint (src/server/errors.ts), as a schema. */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Stable machine code, e.g. not_found, invalid_input' }),
    message: Type.String({ description: 'A sentence a person understands' }),
    details: Type.Record(Type.String(), Type.Unknown(), { description: 'What the code refers to: the field, the id, the limit' }),
  },
  {
    additionalProperties: false,
    $id: 'ErrorBody',
    description: 'Every error, whatever the status',
    examples: [{ code: 'invalid_input', message: 'body field "amount": must be >= 1', details: { where: 'body', field: 'amount' } }],
  },
);

export const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Calendar date YYYY-MM-DD' });
export const Instant = Type.String({ format: 'date-time' });
export const Reason = Type.String({ minLength: 3, maxLength: 500, description: 'Why; written to the audit log' });
export const Id = Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9_-]+$' });
export const IdParam = Type.Object({ id: Id }, { additionalProperties: false });

/** A body that is only a reason, named for the action it explains. */
export function ReasonBody(title: string, example: string) {
  return Type.Object({ reason: Reason }, { additionalProperties: false, title, examples: [{ reason: example }] });
}

/** Query values arrive as text (type coercion is off), so numbers are checked by pattern. */
export const PageQuery = {
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: 'nextCursor of the previous page' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'Page size 1–500 (default 50)' })),
};

export function limitOf(q: { limit?: string }): number | undefined {
  return q.limit === undefined ? undefined : Number(q.limit);
}

/**
 * A row shape: the listed fields are documented; any others pass through as they are. `title`
 * names it in the API reference, `examples` show it.
 */
export function Row(props: Record<string, TSchema>, meta: string | { title?: string; description?: string; examples?: unknown[] } = {}) {
  return Type.Object(props, { additionalProperties: true, ...(typeof meta === 'string' ? { description: meta } : meta) });
}

/** One page of a listing, named after its items (`Contract` → `ContractPage`), with an example built from theirs. */
export function PageOf(item: TSchema & { title?: string; examples?: unknown }) {
  const first = Array.isArray(item.examples) ? item.examples[0] : undefined;
  return Type.Object(
    { items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }) },
    {
      additionalProperties: false,
      ...(item.title ? { title: `${item.title}Page`, description: `A page of ${item.title} items, newest first` } : {}),
      ...(first !== undefined ? { examples: [{ items: [first], nextCursor: null }] } : {}),
    },
  );
}

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * Route documentation: its operationId, summary, tag, the scope it needs, its responses (named
 * with a `title` and shown with `examples`: see src/server/openapi.ts) and the error body for
 * every 4xx/5xx. `scope` is also enforced (see `requireScope`).
 */
export function doc(operationId: string, tag: string, summary: string, scope: LenderScope | 'operator', responses: Record<number, TSchema> = {}) {
  return {
    operationId,
    summary,
    tags: [tag],
    description: scope === 'operator' ? 'Needs the operator API key; lender keys are refused.' : `Needs an API key with the ${SCOPE_TEXT[scope]}.`,
    security: [{ apiKey: [] }],
    response: { ...responses, '4xx': Type.Ref('ErrorBody'), '5xx': Type.Ref('ErrorBody') },
  };
}

/**
 * Scopes of lender keys. `admin` is not a stored scope: the endpoints that manage access and
 * configuration (API keys, webhooks, settings) need a key holding every lender scope, so a
 * narrow key can never mint itself a broader one or redirect events.
 */
export type LenderScope = 'read' | 'write' | 'codes' | 'admin';
export const LENDER_SCOPES: readonly Scope[] = ['read', 'write', 'codes'];
const SCOPE_TEXT: Record<LenderScope, string> = {
  read: '"read" scope',
  write: '"write" scope',
  codes: '"codes" scope',
  admin: 'full scopes (read, write and codes)',
};

export function requireScope(need: LenderScope) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const { scopes } = actorOf(req);
    const missing = need === 'admin' ? LENDER_SCOPES.filter((s) => !scopes.includes(s)) : scopes.includes(need) ? [] : [need];
    if (missing.length) {
      throw new LienError('forbidden', `This API key lacks the ${missing.map((m) => `"${m}"`).join(', ')} scope${missing.length > 1 ? 's' : ''} needed here.`, { missing });
    }
  };
}

export function lenderIdOf(req: FastifyRequest): string {
  const id = actorOf(req).lenderId;
  if (!id) throw new LienError('forbidden', 'This endpoint is for lenders.');
  return id;
}

/** Dates become ISO text and undefined disappears, exactly as the client will see it. */
export function plain<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value));
}
