import { AndroidDeviceLockSettingsSchema } from '../../../domain/android-device-lock.ts';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createApiKey, listApiKeys, revokeApiKey, type Scope } from '../../../services/apikeys.ts';
import type { Services } from '../../../services/context.ts';
import { getSettings, updateSettings } from '../../../services/settings.ts';
import { createWebhook, deactivateWebhook, listDeliveries, replayDelivery, webhookPage, WEBHOOK_EVENT_TYPES } from '../../../services/webhooks.ts';
import { actorOf } from '../../auth.ts';
import { Id, IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope, LENDER_SCOPES } from './common.ts';
import { RETAIL_SHORT_CYCLE } from '../../../domain/profiles/index.ts';
import { API_KEY_EXAMPLE, DELIVERY_EXAMPLE, EX, LENDER_EXAMPLE, WEBHOOK_EXAMPLE } from './examples.ts';
import { webhookEventExample } from './webhook-events.ts';
import { LANGUAGES } from '../../../i18n/index.ts';

const Channel = Type.Object(
  { channel: Type.String({ minLength: 1, maxLength: 60 }), freshnessMinutes: Type.Integer({ minimum: 1, maximum: 44_640 }) },
  { additionalProperties: false },
);

const LENDER_TEXTS_EXAMPLE = { sw: { howToPay: 'M-Pesa Paybill 123456, akaunti: nambari yako ya kufuli', supportHours: 'Jumatatu–Jumamosi 8:00–18:00' } };

/** The lender's lock-screen texts per borrower language; a text left out falls back to the default one. */
const LenderTextsSchema = Type.Record(
  Type.String({ pattern: `^(${LANGUAGES.map((l) => l.code).join('|')})$` }),
  Type.Object(
    {
      howToPay: Type.Optional(Type.String({ maxLength: 1000 })),
      supportHours: Type.Optional(Type.String({ maxLength: 120 })),
      message: Type.Optional(Type.String({ maxLength: 500 })),
    },
    { additionalProperties: false },
  ),
  { title: 'LenderTexts', description: "How to pay, support hours and the standing message per borrower language (en, hi, sw, id, es); each falls back to the default field when absent", maxProperties: 5 },
);

const Settings = Type.Object(
  {
    name: Type.String(),
    supportPhone: Type.String(),
    supportUrl: Type.String(),
    supportHours: Nullable(Type.String()),
    howToPay: Type.String(),
    lockMessage: Nullable(Type.String()),
    texts: LenderTextsSchema,
    currency: Type.String(),
    timeZone: Type.String(),
    complianceProfile: Type.Record(Type.String(), Type.Unknown()),
    paymentChannels: Type.Array(Row({ channel: Type.String(), freshnessMinutes: Type.Integer(), lastReportedAt: Nullable(Instant), stale: Type.Boolean() })),
    androidDeviceLock: Nullable(AndroidDeviceLockSettingsSchema),
  },
  {
    additionalProperties: false,
    title: 'Settings',
    description: "The lender's settings: what the lock screen shows, the compliance profile, the payment channels watched for freshness",
    examples: [
      {
        ...LENDER_EXAMPLE,
        lockMessage: 'Call us before you miss a payment: we can agree a new date.',
        texts: LENDER_TEXTS_EXAMPLE,
        complianceProfile: RETAIL_SHORT_CYCLE,
        paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 360, lastReportedAt: EX.paidAt, stale: false }],
        androidDeviceLock: null,
      },
    ],
  },
);

const SettingsBody = Type.Object(
  {
    supportPhone: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
    supportUrl: Type.Optional(Type.String({ maxLength: 300 })),
    supportHours: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 120 }))),
    howToPay: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    lockMessage: Type.Optional(Nullable(Type.String({ maxLength: 500, description: 'The standing message on enforcing lock screens, in the default language; null or empty removes it' }))),
    texts: Type.Optional(LenderTextsSchema),
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    complianceProfile: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64, description: 'id of a shipped profile' }), Type.Object({}, { additionalProperties: true, description: 'a whole profile' })]),
    ),
    paymentChannels: Type.Optional(Type.Array(Channel, { maxItems: 50 })),
    androidDeviceLock: Type.Optional(
      Nullable(Type.Object({}, { additionalProperties: true, description: 'Android Device Lock configuration handed to phones (docs/android.md); null removes it' })),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'SettingsChange',
    examples: [{ supportHours: 'Mon–Sun 7:00–20:00', texts: LENDER_TEXTS_EXAMPLE, paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 360 }, { channel: 'bank', freshnessMinutes: 2880 }] }],
  },
);

const Webhook = Row(
  { id: Type.String(), url: Type.String(), events: Type.Array(Type.String()), active: Type.Boolean(), createdAt: Instant },
  { title: 'Webhook', description: 'An endpoint that receives signed event deliveries', examples: [WEBHOOK_EXAMPLE] },
);
const NewWebhook = Type.Object(
  {
    id: Type.String(),
    secret: Type.String({ description: 'Signing secret (whsec_…): keep it; it is never shown again' }),
    url: Type.String(),
    events: Type.Array(Type.String()),
    secretShownOnce: Type.Optional(Type.String({ description: 'On a replay of the same Idempotency-Key: the secret was shown once and is left out' })),
  },
  {
    title: 'NewWebhook',
    description: 'The endpoint and its signing secret',
    examples: [{ id: EX.webhookId, secret: 'whsec_5mXq3nV8dK2pL7rT9wZ4bC6fH1jN0sY3', url: WEBHOOK_EXAMPLE.url, events: WEBHOOK_EXAMPLE.events }],
  },
);
const Delivery = Row({
  id: Type.String(),
  webhookId: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The body sent: the event (see Webhooks)' }),
  status: Type.Union(['pending', 'sending', 'delivered', 'failed', 'cancelled'].map((v) => Type.Literal(v))),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Instant),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  createdAt: Instant,
  deliveredAt: Nullable(Instant),
}, { title: 'WebhookDelivery', description: 'One event sent (or to be sent) to one endpoint, with its attempts', examples: [{ ...DELIVERY_EXAMPLE, payload: webhookEventExample('payment.posted') }] });
const ApiKey = Row(
  { id: Type.String(), name: Type.String(), scopes: Type.Array(Type.String()), createdAt: Instant, revokedAt: Nullable(Instant), lastUsedAt: Nullable(Instant) },
  { title: 'ApiKey', description: 'An API key, without the key itself', examples: [API_KEY_EXAMPLE] },
);
const NewApiKey = Type.Object(
  {
    id: Type.String(),
    key: Type.String({ description: 'The key: keep it; it is never shown again' }),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    secretShownOnce: Type.Optional(Type.String({ description: 'On a replay of the same Idempotency-Key: the key was shown once and is left out' })),
  },
  { title: 'NewApiKey', description: 'The key, shown once', examples: [{ id: EX.apiKeyId, key: 'lien_live_Kx7mQ2vN9pR4tW8yB3cF6hJ1', name: 'ERP integration', scopes: ['read', 'write'] }] },
);
const RevokedApiKey = Type.Object({ id: Type.String(), revoked: Type.Boolean() }, { title: 'RevokedApiKey', description: 'The key, revoked: it stops working at once', examples: [{ id: EX.apiKeyId, revoked: true }] });
const ScopeName = Type.Union(LENDER_SCOPES.map((s) => Type.Literal(s)));

/** Settings, webhooks and API keys: they change who may act and where events go, so they need a full key. */
export async function adminRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = requireScope('admin');

  r.get('/v1/settings', { onRequest: admin, schema: doc('getSettings', 'settings', "The lender's settings", 'admin', { 200: Settings }) }, async (req) =>
    plain(await getSettings(s.db, lenderIdOf(req), s.clock.now())),
  );

  r.put('/v1/settings', {
    onRequest: admin,
    schema: { ...doc('updateSettings', 'settings', 'Change settings (the fields given); a profile that switches a guardrail off is refused', 'admin', { 200: Settings }), body: SettingsBody },
  }, async (req) => {
    const b = req.body;
    return plain(
      await updateSettings(s, actorOf(req), lenderIdOf(req), {
        ...(b.supportPhone !== undefined ? { supportPhone: b.supportPhone } : {}),
        ...(b.supportUrl !== undefined ? { supportUrl: b.supportUrl } : {}),
        ...(b.supportHours !== undefined ? { supportHours: b.supportHours } : {}),
        ...(b.howToPay !== undefined ? { howToPay: b.howToPay } : {}),
        ...(b.lockMessage !== undefined ? { lockMessage: b.lockMessage } : {}),
        ...(b.texts !== undefined ? { texts: b.texts } : {}),
        ...(b.timeZone !== undefined ? { timeZone: b.timeZone } : {}),
        ...(b.complianceProfile !== undefined ? { complianceProfile: b.complianceProfile as string | Record<string, unknown> } : {}),
        ...(b.paymentChannels !== undefined ? { paymentChannels: b.paymentChannels } : {}),
        ...(b.androidDeviceLock !== undefined ? { androidDeviceLock: b.androidDeviceLock as Record<string, unknown> | null } : {}),
      }),
    );
  });

  // --- webhooks

  r.post('/v1/webhooks', {
    onRequest: admin,
    config: { secretFields: ['secret'] },
    schema: {
      ...doc('createWebhook', 'webhooks', 'Register a webhook endpoint; the signing secret is shown only in this response (a replay with the same Idempotency-Key omits it)', 'admin', { 201: NewWebhook }),
      body: Type.Object(
        { url: Type.String({ minLength: 8, maxLength: 2000 }), events: Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((e) => Type.Literal(e))), { minItems: 1, maxItems: 20 }) },
        { additionalProperties: false, title: 'WebhookRequest', examples: [{ url: WEBHOOK_EXAMPLE.url, events: WEBHOOK_EXAMPLE.events }] },
      ),
    },
  }, async (req, reply) => {
    lenderIdOf(req);
    const created = await createWebhook(s, actorOf(req), { url: req.body.url, events: req.body.events });
    return reply.status(201).send({ id: created.id, secret: created.secret, url: req.body.url, events: req.body.events });
  });

  r.get('/v1/webhooks', {
    onRequest: admin,
    schema: { ...doc('listWebhooks', 'webhooks', 'List webhook endpoints', 'admin', { 200: PageOf(Webhook) }), querystring: Type.Object(PageQuery, { additionalProperties: false }) },
  }, async (req) => {
    const page = await webhookPage(s.db, lenderIdOf(req), { cursor: req.query.cursor, limit: limitOf(req.query) });
    return plain({ items: page.items.map((w) => ({ id: w.id, url: w.url, events: w.events, active: w.active, createdAt: w.createdAt })), nextCursor: page.nextCursor });
  });

  r.delete('/v1/webhooks/:id', {
    onRequest: admin,
    schema: { ...doc('deactivateWebhook', 'webhooks', 'Deactivate an endpoint (queued deliveries are cancelled)', 'admin', { 200: Webhook }), params: IdParam },
  }, async (req) => {
    lenderIdOf(req);
    return plain(await deactivateWebhook(s, actorOf(req), req.params.id));
  });

  r.get('/v1/webhooks/deliveries', {
    onRequest: admin,
    schema: {
      ...doc('listWebhookDeliveries', 'webhooks', 'The delivery log, newest first', 'admin', { 200: PageOf(Delivery) }),
      querystring: Type.Object(
        { webhookId: Type.Optional(Id), status: Type.Optional(Type.Union(['pending', 'sending', 'delivered', 'failed', 'cancelled'].map((v) => Type.Literal(v)))), ...PageQuery },
        { additionalProperties: false },
      ),
    },
  }, async (req) =>
    plain(await listDeliveries(s.db, lenderIdOf(req), { webhookId: req.query.webhookId, status: req.query.status, cursor: req.query.cursor, limit: limitOf(req.query) })),
  );

  r.post('/v1/webhooks/deliveries/:id/replay', {
    onRequest: admin,
    schema: { ...doc('replayWebhookDelivery', 'webhooks', 'Queue a logged delivery again', 'admin', { 201: Delivery }), params: IdParam },
  }, async (req, reply) => {
    lenderIdOf(req);
    return reply.status(201).send(plain(await replayDelivery(s, actorOf(req), req.params.id)));
  });

  // --- API keys

  r.post('/v1/api-keys', {
    onRequest: admin,
    config: { secretFields: ['key'] },
    schema: {
      ...doc('createApiKey', 'api keys', 'Create an API key; the key is shown only in this response (a replay with the same Idempotency-Key omits it)', 'admin', { 201: NewApiKey }),
      body: Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 120 }), scopes: Type.Array(ScopeName, { minItems: 1, maxItems: 3, uniqueItems: true }) },
        { additionalProperties: false, title: 'ApiKeyRequest', examples: [{ name: 'ERP integration', scopes: ['read', 'write'] }] },
      ),
    },
  }, async (req, reply) => {
    lenderIdOf(req);
    const created = await createApiKey(s, actorOf(req), { name: req.body.name, scopes: req.body.scopes as Scope[] });
    return reply.status(201).send({ id: created.id, key: created.key, name: req.body.name, scopes: created.scopes });
  });

  r.get('/v1/api-keys', {
    onRequest: admin,
    schema: { ...doc('listApiKeys', 'api keys', 'List API keys (never the keys themselves)', 'admin', { 200: PageOf(ApiKey) }), querystring: Type.Object(PageQuery, { additionalProperties: false }) },
  }, async (req) => plain(await listApiKeys(s.db, lenderIdOf(req), { cursor: req.query.cursor, limit: limitOf(req.query) })));

  r.delete('/v1/api-keys/:id', {
    onRequest: admin,
    schema: { ...doc('revokeApiKey', 'api keys', 'Revoke an API key', 'admin', { 200: RevokedApiKey }), params: IdParam },
  }, async (req) => {
    lenderIdOf(req);
    return revokeApiKey(s, actorOf(req), req.params.id);
  });
}
