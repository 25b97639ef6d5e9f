import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HELD_REASONS } from '../../../domain/stage.ts';
import { signedAuditHead } from '../../../services/audit-head.ts';
import type { Services } from '../../../services/context.ts';
import { auditPage, heldLocks, verifyAuditChain } from '../../../services/views/api.ts';
import { Id, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';
import { AUDIT_EXAMPLE, EX } from './examples.ts';

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
}, { title: 'AuditEntry', description: 'One entry of the hash-chained audit log', examples: [AUDIT_EXAMPLE] });

const HELD_LOCK_EXAMPLE = { contractId: EX.contractId, deviceId: EX.deviceId, stage: 'notice', reason: 'held_open_claim', amountOverdue: 1000000, currency: 'KES', since: '2026-02-16T18:03:29.000Z' };

const HeldLock = Row({
  contractId: Type.String(),
  deviceId: Type.String(),
  stage: Type.String(),
  reason: Type.String({ description: `Why the lock is held: ${HELD_REASONS.join(', ')}` }),
  amountOverdue: Type.Integer(),
  currency: Type.String(),
  since: Nullable(Instant),
}, {
  title: 'HeldLock',
  description: 'A contract whose lock a guardrail holds back',
  examples: [HELD_LOCK_EXAMPLE],
});

/** The audit log, and the locks the guardrails are holding back right now. */
export async function oversightRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');

  r.get('/v1/audit', {
    onRequest: read,
    schema: {
      ...doc('listAudit', 'audit', "The lender's audit log, newest first", 'read', { 200: PageOf(AuditRow) }),
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
    schema: doc('verifyAudit', 'audit', "Check the hash chain of the lender's audit log", 'read', {
      200: Type.Object(
        { ok: Type.Boolean(), checked: Type.Integer({ description: 'Entries checked' }), firstBadSeq: Type.Optional(Type.Integer({ description: 'The first entry whose hash does not match' })) },
        { title: 'AuditVerification', description: 'Whether the chain is intact', examples: [{ ok: true, checked: 1843 }] },
      ),
    }),
  }, async (req) => verifyAuditChain(s.db, lenderIdOf(req)));

  r.get('/v1/audit/head', {
    onRequest: read,
    schema: doc('getAuditHead', 'audit', "Where the lender's audit chain ends now, signed with the platform key: keep it outside Lien and check it later with `lien audit verify --head`", 'read', {
      200: Type.Object(
        {
          head: Type.Object({ format: Type.String(), at: Instant, lenderId: Nullable(Type.String()), chains: Type.Array(Type.Object({ chain: Type.String(), pos: Type.Integer(), seq: Type.Integer(), hash: Type.String() })) }),
          kid: Type.String({ description: 'The signing key (GET /v1/device/keys lists the platform keys)' }),
          publicKey: Type.String({ description: 'Its Ed25519 public key, base64url' }),
          sig: Type.String({ description: 'Ed25519 signature over the canonical JSON (RFC 8785) of head, base64url' }),
        },
        {
          title: 'SignedAuditHead',
          description: 'The end of each audit chain, signed',
          examples: [
            {
              head: { format: 'lien-audit-head/1', at: '2026-02-15T09:00:00.000Z', lenderId: EX.lenderId, chains: [{ chain: EX.lenderId, pos: 1843, seq: 90211, hash: '3f1c9a0e5b7d2c4f6a8e0b1d3c5f7a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a' }] },
              kid: 'k_01m8xq7c2p',
              publicKey: 'mV2tJ4Qy0b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c',
              sig: 'x8Jb2Xq9Kp3Vn6Rt1Ws4Yz7Ac0Df5Gh8Jk2Lm5No8Pq1Rs4Tu7Vw0Xy3Za6Bc9De2Fg5Hi8Jk1Lm4No7Pq0Rs3',
            },
          ],
        },
      ),
    }),
  }, async (req) => signedAuditHead(s.db, s.keyring, s.clock.now(), lenderIdOf(req)));

  r.get('/v1/held-locks', {
    onRequest: read,
    schema: {
      ...doc('listHeldLocks', 'contracts', 'Contracts whose lock a guardrail holds back, with the reason, and the stale payment channels', 'read', {
        200: Type.Object(
          {
            items: Type.Array(HeldLock),
            nextCursor: Nullable(Type.String()),
            staleChannels: Type.Array(Row({ channel: Type.String(), freshnessMinutes: Type.Integer(), lastReportedAt: Nullable(Instant) })),
          },
          {
            title: 'HeldLockPage',
            description: 'A page of held locks, and the payment channels that hold new locks back while stale',
            examples: [{ items: [HELD_LOCK_EXAMPLE], nextCursor: null, staleChannels: [{ channel: 'bank', freshnessMinutes: 2880, lastReportedAt: '2026-02-14T16:00:00.000Z' }] }],
          },
        ),
      }),
      querystring: Type.Object(PageQuery, { additionalProperties: false }),
    },
  }, async (req) => plain(await heldLocks(s.db, lenderIdOf(req), s.clock.now(), { cursor: req.query.cursor, limit: limitOf(req.query) })));
}
