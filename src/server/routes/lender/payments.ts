import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { issueCode, MAX_CODE_DAYS } from '../../../services/codes.ts';
import type { Services } from '../../../services/context.ts';
import { postPayment, reversePayment } from '../../../services/payments.ts';
import { sellOnCredit } from '../../../services/sales.ts';
import { listPayments } from '../../../services/views/api.ts';
import { actorOf } from '../../auth.ts';
import { DateString, Id, IdParam, Instant, Nullable, PageOf, PageQuery, Reason, ReasonBody, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';
import { EX, PAYMENT_EXAMPLE } from './examples.ts';

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
      Type.Object({ at: Instant, channel: Type.String({ minLength: 1, maxLength: 60 }), termsVersion: Type.String({ minLength: 1, maxLength: 60 }) }, { additionalProperties: false }),
      Type.Null(),
    ], { description: "The borrower's recorded consent to the lock; without it the phone is never locked (null)" }),
  },
  {
    additionalProperties: false,
    title: 'SaleRequest',
    examples: [
      {
        imei: EX.imei,
        borrowerRef: 'CUST-10442',
        borrowerPhone: '+254712345678',
        borrowerLanguage: 'sw',
        schedule: { principal: 3000000, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-02-05' },
        consent: { at: EX.soldAt, channel: 'in_store_signature', termsVersion: 'v3' },
      },
    ],
  },
);

const PaymentBody = Type.Object(
  {
    contractId: Id,
    externalRef: Type.String({ minLength: 1, maxLength: 120, description: 'Receipt number / mobile money transaction id; unique per lender' }),
    channel: Type.String({ minLength: 1, maxLength: 60 }),
    amount: Type.Integer({ minimum: 1, description: 'Minor units' }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
    receivedAt: Type.Optional(Instant),
  },
  {
    additionalProperties: false,
    title: 'PaymentRequest',
    examples: [{ contractId: EX.contractId, externalRef: 'SGH7K2M9QX', channel: 'mpesa', amount: 1000000, currency: 'KES', receivedAt: EX.paidAt }],
  },
);

const CodeBody = Type.Object(
  {
    type: Type.Union([Type.Literal('ADD_TIME'), Type.Literal('DISABLE_PAYG'), Type.Literal('COUNTER_SYNC')]),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CODE_DAYS })),
    reason: Reason,
  },
  { additionalProperties: false, title: 'CodeRequest', examples: [{ type: 'ADD_TIME', days: 7, reason: 'Borrower paid cash at the Thika shop; network down' }] },
);

export const PaymentRow = Row({
  id: Type.String(),
  contract_id: Type.String(),
  external_ref: Type.String(),
  channel: Type.String(),
  amount: Type.Integer(),
  currency: Type.String(),
  received_at: Instant,
  posted_at: Instant,
  posted_by: Type.String(),
  reversed_at: Nullable(Instant),
  reversal_reason: Nullable(Type.String()),
}, { title: 'Payment', examples: [PAYMENT_EXAMPLE] });

const PaymentResult = Type.Object(
  {
    paymentId: Type.String(),
    stage: Type.String({ description: "The contract's stage after the payment: a payment that clears the arrears unlocks the phone" }),
    policyVersion: Type.Optional(Type.Integer({ description: 'The policy version the phone is being sent' })),
  },
  { title: 'PaymentResult', description: 'The payment and where it left the contract', examples: [{ paymentId: EX.paymentId, stage: 'current', policyVersion: 6 }] },
);

const SaleResult = Type.Object(
  {
    contractId: Type.String(),
    deviceId: Type.String(),
    lockReference: Type.String({ description: 'Shown on the lock screen; the borrower quotes it on the help portal' }),
    stage: Type.String(),
  },
  { title: 'SaleResult', description: 'The contract created', examples: [{ contractId: EX.contractId, deviceId: EX.deviceId, lockReference: EX.lockReference, stage: 'current' }] },
);

const IssuedCode = Type.Object(
  {
    id: Type.String(),
    token: Type.String({ description: 'The OpenPAYGO Token code the borrower types on the phone' }),
    type: Type.String(),
    days: Nullable(Type.Integer()),
    count: Type.Integer({ description: "The device's token counter after this code" }),
  },
  { title: 'IssuedCode', description: 'The code, shown once', examples: [{ id: EX.tokenId, token: '482915037', type: 'ADD_TIME', days: 7, count: 4 }] },
);

/** Selling on credit, payments and unlock codes. */
export async function paymentRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');
  const write = requireScope('write');

  r.post('/v1/sales', {
    onRequest: write,
    schema: {
      ...doc('createSale', 'contracts', 'Sell a registered device on credit', 'write', { 201: SaleResult }),
      body: SaleBody,
    },
  }, async (req, reply) => {
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

  r.post('/v1/payments', {
    onRequest: write,
    schema: { ...doc('postPayment', 'payments', 'Post a payment', 'write', { 201: PaymentResult }), body: PaymentBody },
  }, async (req, reply) => {
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

  r.get('/v1/payments', {
    onRequest: read,
    schema: {
      ...doc('listPayments', 'payments', 'List payments, newest first', 'read', { 200: PageOf(PaymentRow) }),
      querystring: Type.Object({ contractId: Type.Optional(Id), ...PageQuery }, { additionalProperties: false }),
    },
  }, async (req) => plain(await listPayments(s.db, lenderIdOf(req), { contractId: req.query.contractId, cursor: req.query.cursor, limit: limitOf(req.query) })));

  r.post('/v1/payments/:id/reverse', {
    onRequest: write,
    schema: {
      ...doc('reversePayment', 'payments', 'Reverse a payment', 'write', { 200: PaymentResult }),
      params: IdParam,
      body: ReasonBody('ReversalRequest', 'Receipt SGH7K2M9QX was a duplicate of SGH7K2M9QW'),
    },
  }, async (req) => {
    const res = await reversePayment(s, actorOf(req), req.params.id, req.body.reason);
    return { paymentId: res.paymentId, stage: res.evaluation.decision.stage };
  });

  r.post('/v1/devices/:id/codes', {
    onRequest: requireScope('codes'),
    schema: {
      ...doc('issueCode', 'devices', 'Issue an OpenPAYGO unlock code', 'codes', { 201: IssuedCode }),
      params: IdParam,
      body: CodeBody,
    },
  }, async (req, reply) => {
    const b = req.body;
    const code = await issueCode(s, actorOf(req), { deviceId: req.params.id, type: b.type, reason: b.reason, ...(b.days !== undefined ? { days: b.days } : {}) });
    return reply.status(201).send(code);
  });
}
