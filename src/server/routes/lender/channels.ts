import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../../services/context.ts';
import { createChannel, deleteChannel, getChannel, listChannels, updateChannel, type ChannelInput } from '../../../services/rails/channels.ts';
import { assignSuspense, listSuspense, refundSuspense, SUSPENSE_STATUSES } from '../../../services/rails/suspense.ts';
import { actorOf } from '../../auth.ts';
import { Id, IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';
import { EX } from './examples.ts';

const CHANNEL_ID = 'pch_8f14e45fceea167a5a36dedd4bea2543';
const TOKEN = '3b5d5c3712955042212316173ccf37be';
const SUSPENSE_ID = 'sus_01jf3k8m2n4p6q8r0s2t4v6w8x';

const Account = Type.Object(
  {
    shortCode: Type.Optional(Type.String({ pattern: '^\\d{5,7}$', description: 'M-Pesa: the paybill or till number' })),
    accountId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Razorpay: the account id, for reference' })),
  },
  { additionalProperties: false },
);
const Options = Type.Object(
  {
    environment: Type.Optional(Type.Union([Type.Literal('sandbox'), Type.Literal('production')], { description: 'M-Pesa: which Daraja Register URL goes to (default sandbox)' })),
    baseUrl: Type.Optional(Type.String({ maxLength: 300, description: 'M-Pesa: a Daraja base URL instead (a proxy, a test server)' })),
    responseType: Type.Optional(Type.Union([Type.Literal('Completed'), Type.Literal('Cancelled')], { description: 'M-Pesa: what Safaricom does when validation does not answer' })),
    allowFrom: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50, description: 'IP addresses or CIDR blocks callbacks may come from; empty: any' })),
  },
  { additionalProperties: false },
);
const Secret = Type.String({ minLength: 8, maxLength: 256 });
const Secrets = Type.Object(
  {
    consumerKey: Type.Optional(Secret),
    consumerSecret: Type.Optional(Secret),
    webhookSecret: Type.Optional({ ...Secret, description: 'Razorpay: the webhook secret set in its dashboard' }),
    webhookSecrets: Type.Optional(Type.Array(Secret, { minItems: 1, maxItems: 3, description: 'Signed webhook: the secrets accepted (two while rotating)' })),
  },
  { additionalProperties: false, description: 'Sealed at rest and never shown again; secretsSet lists which are set' },
);

const ChannelType = Type.Union(['mpesa_c2b', 'razorpay', 'signed_webhook', 'manual'].map((t) => Type.Literal(t)));

const MPESA_EXAMPLE = {
  id: CHANNEL_ID,
  channel: 'mpesa',
  type: 'mpesa_c2b',
  freshnessMinutes: 360,
  lastReportedAt: EX.paidAt,
  stale: false,
  account: { shortCode: '600638' },
  options: { environment: 'production', allowFrom: ['196.201.214.0/24'] },
  secretsSet: ['consumerKey', 'consumerSecret'],
  callbackUrls: {
    validation: `https://lien.example/rails/c2b/${CHANNEL_ID}/${TOKEN}/validation`,
    confirmation: `https://lien.example/rails/c2b/${CHANNEL_ID}/${TOKEN}/confirmation`,
  },
};

const PaymentChannel = Row(
  {
    id: Type.String(),
    channel: Type.String({ description: 'The name payments of this channel carry (and the stale-feed guardrail watches)' }),
    type: ChannelType,
    freshnessMinutes: Type.Integer(),
    lastReportedAt: Nullable(Instant),
    stale: Type.Boolean(),
    account: Account,
    options: Options,
    secretsSet: Type.Array(Type.String()),
    webhookSecretsAccepted: Type.Optional(Type.Integer({ description: 'Signed webhook: how many secrets are accepted (more than one while a rotation is under way)' })),
    callbackUrls: Type.Object(
      { validation: Type.Optional(Type.String()), confirmation: Type.Optional(Type.String()), webhook: Type.Optional(Type.String()) },
      { additionalProperties: false, description: 'Register these with the provider: validation and confirmation (M-Pesa), or webhook (Razorpay, signed webhook)' },
    ),
  },
  { title: 'PaymentChannel', description: 'A payment channel and the callback URLs to register with its provider', examples: [MPESA_EXAMPLE] },
);

const ChannelBody = Type.Object(
  {
    channel: Type.String({ minLength: 1, maxLength: 60, pattern: '^[A-Za-z0-9_.-]+$' }),
    type: ChannelType,
    freshnessMinutes: Type.Integer({ minimum: 1, maximum: 44_640 }),
    account: Type.Optional(Account),
    options: Type.Optional(Options),
    secrets: Type.Optional(Secrets),
  },
  {
    additionalProperties: false,
    title: 'PaymentChannelRequest',
    examples: [{ channel: 'mpesa', type: 'mpesa_c2b', freshnessMinutes: 360, account: { shortCode: '600638' }, options: { environment: 'production' }, secrets: { consumerKey: 'Gk3v9QpXz2mW7rTt', consumerSecret: 'pL8sD4fH1jK6nB2c' } }],
  },
);

const ChannelPatchBody = Type.Object(
  {
    freshnessMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 44_640 })),
    account: Type.Optional(Account),
    options: Type.Optional(Options),
    secrets: Type.Optional(Secrets),
    addWebhookSecret: Type.Optional({ ...Secret, description: 'Signed webhook: accept this secret first and keep the current ones while senders move over (three at most)' }),
    retireOlderWebhookSecrets: Type.Optional(Type.Boolean({ description: 'Signed webhook: accept only the newest secret again, once every sender has moved over' })),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'PaymentChannelChange',
    examples: [{ addWebhookSecret: 'whsec_new_9x8c7v6b5n4m' }, { retireOlderWebhookSecrets: true }, { secrets: { webhookSecrets: ['whsec_new_9x8c7v6b5n4m', 'whsec_old_1q2w3e4r5t6y'] } }],
  },
);

const SuspenseStatus = Type.Union(SUSPENSE_STATUSES.map((v) => Type.Literal(v)));
const SUSPENSE_EXAMPLE = {
  id: SUSPENSE_ID,
  channelId: CHANNEL_ID,
  channel: 'mpesa',
  externalRef: 'RKTQDM7W6S',
  reference: 'AB12CD3',
  amount: 150000,
  currency: 'KES',
  reason: 'unknown_reference',
  status: 'open',
  payload: { TransactionType: 'Pay Bill', TransID: 'RKTQDM7W6S', TransTime: '20260216230512', TransAmount: '1500.00', BusinessShortCode: '600638', BillRefNumber: 'AB12CD3' },
  contractId: null,
  paymentId: null,
  resolvedAt: null,
  resolvedBy: null,
  note: null,
  receivedAt: EX.paidAt,
  createdAt: EX.paidAt,
};
const Suspense = Row(
  {
    id: Type.String(),
    channelId: Type.String(),
    channel: Type.String(),
    externalRef: Type.String(),
    reference: Type.String({ description: 'The account reference the payer gave' }),
    amount: Type.Integer({ description: 'Minor units' }),
    currency: Type.String(),
    reason: Type.Union(['unknown_reference', 'currency_mismatch', 'contract_closed', 'amount_not_positive'].map((v) => Type.Literal(v))),
    status: SuspenseStatus,
    payload: Type.Unknown({ description: 'The provider callback as received' }),
    contractId: Nullable(Type.String()),
    paymentId: Nullable(Type.String()),
    resolvedAt: Nullable(Instant),
    resolvedBy: Nullable(Type.String()),
    note: Nullable(Type.String()),
    receivedAt: Instant,
    createdAt: Instant,
  },
  { title: 'SuspensePayment', description: 'Money a rail received that matched no open contract', examples: [SUSPENSE_EXAMPLE] },
);
const AssignResult = Type.Object(
  { suspenseId: Type.String(), paymentId: Type.String(), stage: Type.String({ description: "The contract's stage after the payment" }) },
  { title: 'SuspenseAssigned', description: 'The payment posted from the suspense entry', examples: [{ suspenseId: SUSPENSE_ID, paymentId: EX.paymentId, stage: 'current' }] },
);
const RefundResult = Type.Object(
  { suspenseId: Type.String(), status: Type.Literal('refunded') },
  { title: 'SuspenseRefunded', description: 'The entry, closed as refunded', examples: [{ suspenseId: SUSPENSE_ID, status: 'refunded' }] },
);
const Deleted = Type.Object({ id: Type.String(), deleted: Type.Boolean() }, { title: 'PaymentChannelDeleted', description: 'The channel is gone; its callback URLs answer 404', examples: [{ id: CHANNEL_ID, deleted: true }] });

/** Payment channels (settings) and the suspense queue (payments). */
export async function channelRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = requireScope('admin');

  r.get('/v1/payment-channels', {
    onRequest: admin,
    schema: doc('listPaymentChannels', 'settings', 'List payment channels with their callback URLs', 'admin', {
      200: Type.Object({ items: Type.Array(PaymentChannel) }, { title: 'PaymentChannelList', description: 'Every channel of the lender', examples: [{ items: [MPESA_EXAMPLE] }] }),
    }),
  }, async (req) => plain({ items: await listChannels(s, lenderIdOf(req)) }));

  r.post('/v1/payment-channels', {
    onRequest: admin,
    schema: { ...doc('createPaymentChannel', 'settings', 'Add a payment channel; the answer has the callback URLs to register with the provider', 'admin', { 201: PaymentChannel }), body: ChannelBody },
  }, async (req, reply) => reply.status(201).send(plain(await createChannel(s, actorOf(req), lenderIdOf(req), req.body as ChannelInput))));

  r.get('/v1/payment-channels/:id', {
    onRequest: admin,
    schema: { ...doc('getPaymentChannel', 'settings', 'One payment channel', 'admin', { 200: PaymentChannel }), params: IdParam },
  }, async (req) => {
    lenderIdOf(req);
    return plain(await getChannel(s, actorOf(req), req.params.id));
  });

  r.patch('/v1/payment-channels/:id', {
    onRequest: admin,
    schema: { ...doc('updatePaymentChannel', 'settings', 'Change a payment channel (secrets given replace those of the same name; addWebhookSecret and retireOlderWebhookSecrets rotate a signed webhook\'s secret)', 'admin', { 200: PaymentChannel }), params: IdParam, body: ChannelPatchBody },
  }, async (req) => {
    lenderIdOf(req);
    return plain(await updateChannel(s, actorOf(req), req.params.id, req.body as never));
  });

  r.delete('/v1/payment-channels/:id', {
    onRequest: admin,
    schema: { ...doc('deletePaymentChannel', 'settings', 'Remove a payment channel', 'admin', { 200: Deleted }), params: IdParam },
  }, async (req) => {
    lenderIdOf(req);
    return deleteChannel(s, actorOf(req), req.params.id);
  });

  r.get('/v1/suspense', {
    onRequest: requireScope('read'),
    schema: {
      ...doc('listSuspense', 'payments', 'The suspense queue: rail payments that matched no open contract, newest first', 'read', { 200: PageOf(Suspense) }),
      querystring: Type.Object({ status: Type.Optional(SuspenseStatus), ...PageQuery }, { additionalProperties: false }),
    },
  }, async (req) => plain(await listSuspense(s.db, lenderIdOf(req), { ...(req.query.status ? { status: req.query.status } : {}), ...(req.query.cursor ? { cursor: req.query.cursor } : {}), limit: limitOf(req.query) })));

  r.post('/v1/suspense/:id/assign', {
    onRequest: requireScope('write'),
    schema: {
      ...doc('assignSuspense', 'payments', 'Post a suspense entry to a contract, like any payment (a phone it unlocks is nudged)', 'write', { 201: AssignResult }),
      params: IdParam,
      body: Type.Object(
        { contractId: Id, note: Type.String({ minLength: 3, maxLength: 500 }) },
        { additionalProperties: false, title: 'SuspenseAssignment', examples: [{ contractId: EX.contractId, note: 'Borrower typed the old reference; confirmed by phone' }] },
      ),
    },
  }, async (req, reply) => {
    lenderIdOf(req);
    const res = await assignSuspense(s, actorOf(req), req.params.id, req.body.contractId, req.body.note);
    return reply.status(201).send({ suspenseId: res.suspenseId, paymentId: res.paymentId, stage: res.evaluation.decision.stage });
  });

  r.post('/v1/suspense/:id/refund', {
    onRequest: requireScope('write'),
    schema: {
      ...doc('refundSuspense', 'payments', 'Record that a suspense entry was refunded to the payer', 'write', { 200: RefundResult }),
      params: IdParam,
      body: Type.Object({ note: Type.String({ minLength: 3, maxLength: 500 }) }, { additionalProperties: false, title: 'SuspenseRefund', examples: [{ note: 'Refunded by M-Pesa reversal RKT9XY' }] }),
    },
  }, async (req) => {
    lenderIdOf(req);
    return refundSuspense(s, actorOf(req), req.params.id, req.body.note);
  });
}
