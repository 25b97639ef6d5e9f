import type { FastifyReply, FastifyRequest } from 'fastify';
import { LienError } from '../domain/errors.ts';
import { authenticateApiKey, type Scope } from '../services/apikeys.ts';
import type { Actor, Services } from '../services/context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor & { scopes: Scope[] };
  }
}

/** `Authorization: Bearer <api key>` → the acting lender (or the operator). */
export function requireApiKey(s: Services, need: Scope | 'lender' = 'read') {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) throw new LienError('unauthorized', 'Send an API key as "Authorization: Bearer <key>".');
    const actor = await authenticateApiKey(s.db, m[1]!);
    if (need === 'operator') {
      if (actor.lenderId !== null) throw new LienError('forbidden', 'This endpoint is for the platform operator.');
    } else {
      if (actor.lenderId === null) throw new LienError('forbidden', 'This endpoint is for lenders; the operator key cannot act on borrowers.');
      if (need !== 'lender' && need !== 'read' && !actor.scopes.includes(need)) {
        throw new LienError('forbidden', `This API key lacks the "${need}" scope.`);
      }
    }
    req.actor = actor;
    req.log = req.log.child({ lenderId: actor.lenderId ?? 'operator' });
  };
}

export function actorOf(req: FastifyRequest): Actor & { scopes: Scope[] } {
  if (!req.actor) throw new LienError('unauthorized', 'Not signed in.');
  return req.actor;
}
