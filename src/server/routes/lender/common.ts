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
    details: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false, $id: 'ErrorBody' },
);

export const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Calendar date YYYY-MM-DD' });
export const Instant = Type.String({ format: 'date-time' });
export const Reason = Type.String({ minLength: 3, maxLength: 500, description: 'Why; written to the audit log' });
export const Id = Type.String({ minLength: 1, maxLength: 80, pattern: '^[A-Za-z0-9_-]+$' });
export const IdParam = Type.Object({ id: Id }, { additionalProperties: false });

/** Query values arrive as text (type coercion is off), so numbers are checked by pattern. */
export const PageQuery = {
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: 'nextCursor of the previous page' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'Page size 1–500 (default 50)' })),
};

export function limitOf(q: { limit?: string }): number | undefined {
  return q.limit === undefined ? undefined : Number(q.limit);
}

/** A row shape: the listed fields are documented; any others pass through as they are. */
export function Row(props: Record<string, TSchema>, description?: string) {
  return Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });
}

export function PageOf(item: TSchema) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false });
}

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * Route documentation: summary, tag, the scope it needs, and the error body for every 4xx/5xx.
 * `scope` is also enforced (see `requireScope`).
 */
export function doc(tag: string, summary: string, scope: LenderScope, responses: Record<number, TSchema> = {}) {
  return {
    summary,
    tags: [tag],
    description: `Needs an API key with the ${SCOPE_TEXT[scope]}.`,
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
