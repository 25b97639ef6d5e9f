import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { approveClaim, getClaim, listClaims } from '../../../services/claim-review.ts';
import { rejectClaim } from '../../../services/claim-review.ts';
import type { Services } from '../../../services/context.ts';
import { actorOf } from '../../auth.ts';
import { DateString, IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';
import { CLAIM_EXAMPLE, EX } from './examples.ts';

const Claim = Row({
  id: Type.String(),
  contractId: Type.String(),
  deviceId: Type.String(),
  number: Type.Union([Type.String(), Type.Null()]),
  transactionRef: Type.String(),
  amount: Type.Integer(),
  currency: Type.String(),
  paidOn: DateString,
  channel: Type.String(),
  hasReceipt: Type.Boolean(),
  status: Type.Union([Type.Literal('open'), Type.Literal('approved'), Type.Literal('rejected')]),
  message: Nullable(Type.String()),
  createdAt: Instant,
  decidedAt: Nullable(Instant),
  decidedBy: Nullable(Type.String()),
  liftedLock: Type.Boolean({ description: 'The claim covered the overdue amount and lifted the lock on the phone while it was open (at most once per contract in the profile’s claimLiftWindowDays); other claims only hold escalation' }),
}, { title: 'Claim', description: 'A payment a borrower says they made, filed on the help portal', examples: [CLAIM_EXAMPLE] });

/** Payment claims borrowers file on the portal: review, approve (posts the payment), reject. */
export async function claimRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');
  const write = requireScope('write');

  r.get('/v1/claims', {
    onRequest: read,
    schema: {
      ...doc('listClaims', 'claims', 'List payment claims, newest first', 'read', { 200: PageOf(Claim) }),
      querystring: Type.Object(
        { status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('approved'), Type.Literal('rejected')])), ...PageQuery },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const { status, cursor } = req.query;
    const limit = limitOf(req.query);
    return plain(await listClaims(s.db, lenderIdOf(req), { ...(status ? { status } : {}), ...(cursor ? { cursor } : {}), ...(limit !== undefined ? { limit } : {}) }));
  });

  r.get('/v1/claims/:id', {
    onRequest: read,
    schema: { ...doc('getClaim', 'claims', 'One payment claim', 'read', { 200: Claim }), params: IdParam },
  }, async (req) => plain(await getClaim(s.db, lenderIdOf(req), req.params.id)));

  r.post('/v1/claims/:id/approve', {
    onRequest: write,
    schema: {
      ...doc('approveClaim', 'claims', 'Approve an open claim: its payment is posted and the hold lifted', 'write', {
        200: Type.Object(
          { claimId: Type.String(), paymentId: Type.String(), stage: Type.String() },
          { title: 'ClaimApproval', description: 'The payment posted for the claim', examples: [{ claimId: EX.claimId, paymentId: EX.paymentId, stage: 'current' }] },
        ),
      }),
      params: IdParam,
    },
  }, async (req) => approveClaim(s, actorOf(req), req.params.id));

  r.post('/v1/claims/:id/reject', {
    onRequest: write,
    schema: {
      ...doc('rejectClaim', 'claims', 'Reject an open claim with a message the borrower reads', 'write', {
        200: Type.Object({ claimId: Type.String() }, { title: 'ClaimRejection', description: 'The claim, now rejected', examples: [{ claimId: EX.claimId }] }),
      }),
      params: IdParam,
      body: Type.Object(
        { message: Type.String({ minLength: 3, maxLength: 500, description: 'Shown to the borrower on the portal' }) },
        { additionalProperties: false, title: 'ClaimRejectionRequest', examples: [{ message: 'We found no M-Pesa payment SGF2X8P4LM on 16 February. Please send the confirmation SMS to 0700 000 111.' }] },
      ),
    },
  }, async (req) => rejectClaim(s, actorOf(req), req.params.id, req.body.message));
}
