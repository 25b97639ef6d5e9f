import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LienError } from '../../domain/errors.ts';
import { validateImei } from '../../domain/imei.ts';
import { issueCode } from '../../services/codes.ts';
import type { Services } from '../../services/context.ts';
import { openDispute, resolveDispute } from '../../services/disputes.ts';
import { postPayment, reversePayment } from '../../services/payments.ts';
import { sellOnCredit } from '../../services/sales.ts';
import { verifyAudit } from '../../store/repos/audit.ts';
import { actorOf, requireApiKey } from '../auth.ts';

const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Reason = Type.String({ minLength: 3, maxLength: 500 });

const SaleBody = Type.Object(
  {
    imei: Type.String({ minLength: 15, maxLength: 20 }),
    borrowerRef: Type.String({ minLength: 1, maxLength: 120 }),
    borrowerPhone: Type.String({ minLength: 3, maxLength: 32 }),
    borrowerLanguage: Type.Optional(Type.String({ minLength: 2, maxLength: 8 })),
    schedule: Type.Object(
      {
        principal: Type.Integer({ minimum: 1 }),
        annualRatePct: Type.Number({ minimum: 0, maximum: 200 }),
        termCount: Type.Integer({ minimum: 1, maximum: 520 }),
        frequency: Type.Union([Type.Literal('weekly'), Type.Literal('biweekly'), Type.Literal('monthly')]),
        method: Type.Union([Type.Literal('flat'), Type.Literal('declining')]),
        firstDueDate: DateString,
        downPayment: Type.Optional(Type.Integer({ minimum: 0 })),
        fee: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    consent: Type.Union([
      Type.Object({ at: Type.String({ format: 'date-time' }), channel: Type.String({ minLength: 1 }), termsVersion: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);

const PaymentBody = Type.Object(
  {
    contractId: Type.String({ minLength: 1 }),
    externalRef: Type.String({ minLength: 1, maxLength: 120 }),
    channel: Type.String({ minLength: 1, maxLength: 60 }),
    amount: Type.Integer({ minimum: 1 }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
    receivedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const CodeBody = Type.Object(
  {
    type: Type.Union([Type.Literal('ADD_TIME'), Type.Literal('DISABLE_PAYG'), Type.Literal('COUNTER_SYNC')]),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 999 })),
    reason: Reason,
  },
  { additionalProperties: false },
);

const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });

/** The lender REST API: every query is scoped to the caller's lender; another lender's ids are 404. */
export async function lenderRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.addHook('preHandler', requireApiKey(s, 'lender'));

  const lenderId = (req: Parameters<typeof actorOf>[0]) => actorOf(req).lenderId!;

  r.post('/v1/sales', { schema: { body: SaleBody } }, async (req, reply) => {
    const b = req.body;
    const sale = await sellOnCredit(s, actorOf(req), {
      imei: b.imei,
      borrowerRef: b.borrowerRef,
      borrowerPhone: b.borrowerPhone,
      ...(b.borrowerLanguage ? { borrowerLanguage: b.borrowerLanguage } : {}),
      schedule: b.schedule,
      consent: b.consent ? { at: new Date(b.consent.at), channel: b.consent.channel, termsVersion: b.consent.termsVersion } : null,
    });
    return reply.status(201).send({ contractId: sale.contractId, deviceId: sale.deviceId, lockReference: sale.lockReference, stage: sale.evaluation.decision.stage });
  });

  r.post('/v1/payments', { schema: { body: PaymentBody } }, async (req, reply) => {
    const b = req.body;
    const res = await postPayment(s, actorOf(req), {
      contractId: b.contractId,
      externalRef: b.externalRef,
      channel: b.channel,
      amount: b.amount,
      currency: b.currency,
      receivedAt: b.receivedAt ? new Date(b.receivedAt) : s.clock.now(),
    });
    return reply.status(201).send({ paymentId: res.paymentId, stage: res.evaluation.decision.stage, policyVersion: res.evaluation.policyVersion });
  });

  r.post('/v1/payments/:id/reverse', { schema: { params: IdParam, body: Type.Object({ reason: Reason }, { additionalProperties: false }) } }, async (req) => {
    const res = await reversePayment(s, actorOf(req), req.params.id, req.body.reason);
    return { paymentId: res.paymentId, stage: res.evaluation.decision.stage };
  });

  r.post('/v1/devices/:id/codes', { schema: { params: IdParam, body: CodeBody } }, async (req, reply) => {
    const actor = actorOf(req);
    if (!actor.scopes.includes('codes')) throw new LienError('forbidden', 'This API key lacks the "codes" scope.');
    const b = req.body;
    const code = await issueCode(s, actor, { deviceId: req.params.id, type: b.type, reason: b.reason, ...(b.days !== undefined ? { days: b.days } : {}) });
    return reply.status(201).send(code);
  });

  r.get('/v1/devices', { schema: { querystring: Type.Object({ imei: Type.Optional(Type.String()), serial: Type.Optional(Type.String()) }, { additionalProperties: false }) } }, async (req) => {
    const { imei, serial } = req.query;
    if (!imei && !serial) throw new LienError('invalid_input', 'Search by imei or serial.');
    let q = s.db.selectFrom('devices').select(['id', 'imei1', 'imei2', 'serial', 'model', 'enrolled_at', 'last_seen_at', 'policy_version_held']).where('lender_id', '=', lenderId(req));
    if (imei) {
      const v = validateImei(imei);
      q = q.where((eb) => eb.or([eb('imei1', '=', v), eb('imei2', '=', v)]));
    }
    if (serial) q = q.where('serial', '=', serial);
    return { items: await q.execute() };
  });

  r.get('/v1/devices/:id', { schema: { params: IdParam } }, async (req) => {
    const d = await s.db.selectFrom('devices').select(['id', 'imei1', 'imei2', 'serial', 'model', 'enrolled_at', 'last_seen_at', 'policy_version_held', 'agent_version', 'released_at']).where('id', '=', req.params.id).where('lender_id', '=', lenderId(req)).executeTakeFirst();
    if (!d) throw new LienError('not_found', `No device ${req.params.id}`);
    const [contract, events, policy] = await Promise.all([
      s.db.selectFrom('contracts').select(['id', 'stage', 'stage_reason', 'status', 'amount_overdue', 'outstanding', 'lock_reference', 'policy_version']).where('device_id', '=', d.id).orderBy('created_at', 'desc').executeTakeFirst(),
      s.db.selectFrom('device_events').select(['kind', 'at', 'detail']).where('device_id', '=', d.id).orderBy('at', 'desc').limit(50).execute(),
      s.db.selectFrom('policies').select(['version', 'stage', 'issued_at']).where('device_id', '=', d.id).orderBy('version', 'desc').limit(20).execute(),
    ]);
    return { device: d, contract: contract ?? null, events, policies: policy };
  });

  r.get('/v1/contracts/:id', { schema: { params: IdParam } }, async (req) => {
    const c = await s.db.selectFrom('contracts').selectAll().where('id', '=', req.params.id).where('lender_id', '=', lenderId(req)).executeTakeFirst();
    if (!c) throw new LienError('not_found', `No contract ${req.params.id}`);
    const [installments, payments] = await Promise.all([
      s.db.selectFrom('installments').selectAll().where('contract_id', '=', c.id).orderBy('n').execute(),
      s.db.selectFrom('payments').selectAll().where('contract_id', '=', c.id).orderBy('received_at').execute(),
    ]);
    return { contract: c, installments, payments };
  });

  r.post('/v1/contracts/:id/disputes', { schema: { params: IdParam, body: Type.Object({ reason: Reason }, { additionalProperties: false }) } }, async (req, reply) => {
    return reply.status(201).send(await openDispute(s, actorOf(req), req.params.id, req.body.reason));
  });

  r.post('/v1/disputes/:id/resolve', { schema: { params: IdParam, body: Type.Object({ reason: Reason }, { additionalProperties: false }) } }, async (req) => {
    return resolveDispute(s, actorOf(req), req.params.id, req.body.reason);
  });

  r.get('/v1/audit/verify', async (req) => verifyAudit(s.db, { lenderId: lenderId(req) }));
}
