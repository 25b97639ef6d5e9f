import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HELD_REASONS } from '../../../domain/stage.ts';
import { signedAuditHead } from '../../../services/audit-head.ts';
import type { Services } from '../../../services/context.ts';
import { auditPage, heldLocks, verifyAuditChain } from '../../../services/views/api.ts';
import { Id, Instant, Nullable, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';

const AuditRow = Row({
  seq: Type.Integer(),
  at: Instant,
  actor: Type.String(),
  action: Type.String(),
  subject_type: Type.String(),
  subject_id: Type.String(),
  reason: Type.String(),
  data: Type.Unknown(),
  hash: Nullable(Type.String()),
});

const HeldLock = Row({
  contractId: Type.String(),
  deviceId: Type.String(),
  stage: Type.String(),
  reason: Type.String({ description: `Why the lock is held: ${HELD_REASONS.join(', ')}` }),
  amountOverdue: Type.Integer(),
  currency: Type.String(),
  since: Nullable(Instant),
});

/** The audit log, and the locks the guardrails are holding back right now. */
export async function oversightRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');

  r.get('/v1/audit', {
    onRequest: read,
    schema: {
      ...doc('audit', "The lender's audit log, newest first", 'read', { 200: Type.Object({ items: Type.Array(AuditRow), nextCursor: Nullable(Type.String()) }) }),
      querystring: Type.Object(
        { subjectType: Type.Optional(Type.String({ maxLength: 40 })), subjectId: Type.Optional(Id), action: Type.Optional(Type.String({ maxLength: 80 })), ...PageQuery },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const { subjectType, subjectId, action, cursor } = req.query;
    return plain(await auditPage(s.db, lenderIdOf(req), { subjectType, subjectId, action, cursor, limit: limitOf(req.query) }));
  });

  r.get('/v1/audit/verify', {
    onRequest: read,
    schema: doc('audit', "Check the hash chain of the lender's audit log", 'read', {
      200: Type.Object({ ok: Type.Boolean(), checked: Type.Integer(), firstBadSeq: Type.Optional(Type.Integer()) }),
    }),
  }, async (req) => verifyAuditChain(s.db, lenderIdOf(req)));

  r.get('/v1/audit/head', {
    onRequest: read,
    schema: doc('audit', "Where the lender's audit chain ends now, signed with the platform key: keep it outside Lien and check it later with `lien audit verify --head`", 'read', {
      200: Type.Object({
        head: Type.Object({ format: Type.String(), at: Instant, lenderId: Nullable(Type.String()), chains: Type.Array(Type.Object({ chain: Type.String(), pos: Type.Integer(), seq: Type.Integer(), hash: Type.String() })) }),
        kid: Type.String(),
        publicKey: Type.String(),
        sig: Type.String(),
      }),
    }),
  }, async (req) => signedAuditHead(s.db, s.keyring, s.clock.now(), lenderIdOf(req)));

  r.get('/v1/held-locks', {
    onRequest: read,
    schema: {
      ...doc('contracts', 'Contracts whose lock a guardrail holds back, with the reason, and the stale payment channels', 'read', {
        200: Type.Object({
          items: Type.Array(HeldLock),
          nextCursor: Nullable(Type.String()),
          staleChannels: Type.Array(Row({ channel: Type.String(), freshnessMinutes: Type.Integer(), lastReportedAt: Nullable(Instant) })),
        }),
      }),
      querystring: Type.Object(PageQuery, { additionalProperties: false }),
    },
  }, async (req) => plain(await heldLocks(s.db, lenderIdOf(req), s.clock.now(), { cursor: req.query.cursor, limit: limitOf(req.query) })));
}
