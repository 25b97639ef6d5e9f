import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LienError } from '../../../domain/errors.ts';
import { createWebhook, deactivateWebhook, replayDelivery, WEBHOOK_EVENT_TYPES } from '../../../jobs/webhooks.ts';
import { createApiKey, revokeApiKey, type Scope } from '../../../services/apikeys.ts';
import { audit } from '../../../services/audit.ts';
import type { Services } from '../../../services/context.ts';
import { getSettings, updateSettings } from '../../../services/settings.ts';
import { decodeCursor, pageSize, toPage } from '../../../store/pagination.ts';
import { actorOf } from '../../auth.ts';
import { Id, IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope, LENDER_SCOPES } from './common.ts';

const Channel = Type.Object(
  { channel: Type.String({ minLength: 1, maxLength: 60 }), freshnessMinutes: Type.Integer({ minimum: 1, maximum: 44_640 }) },
  { additionalProperties: false },
);

const Settings = Type.Object(
  {
    name: Type.String(),
    supportPhone: Type.String(),
    supportUrl: Type.String(),
    supportHours: Nullable(Type.String()),
    howToPay: Type.String(),
    currency: Type.String(),
    timeZone: Type.String(),
    complianceProfile: Type.Record(Type.String(), Type.Unknown()),
    paymentChannels: Type.Array(Row({ channel: Type.String(), freshnessMinutes: Type.Integer(), lastReportedAt: Nullable(Instant), stale: Type.Boolean() })),
  },
  { additionalProperties: false },
);

const SettingsBody = Type.Object(
  {
    supportPhone: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
    supportUrl: Type.Optional(Type.String({ maxLength: 300 })),
    supportHours: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 120 }))),
    howToPay: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    complianceProfile: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64, description: 'id of a shipped profile' }), Type.Object({}, { additionalProperties: true, description: 'a whole profile' })]),
    ),
    paymentChannels: Type.Optional(Type.Array(Channel, { maxItems: 50 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Webhook = Row({ id: Type.String(), url: Type.String(), events: Type.Array(Type.String()), active: Type.Boolean(), createdAt: Instant });
const Delivery = Row({
  id: Type.String(),
  webhookId: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  createdAt: Instant,
  deliveredAt: Nullable(Instant),
});
const ApiKey = Row({ id: Type.String(), name: Type.String(), scopes: Type.Array(Type.String()), createdAt: Instant, revokedAt: Nullable(Instant), lastUsedAt: Nullable(Instant) });
const ScopeName = Type.Union(LENDER_SCOPES.map((s) => Type.Literal(s)));

/** Settings, webhooks and API keys: they change who may act and where events go, so they need a full key. */
export async function adminRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = requireScope('admin');

  r.get('/v1/settings', { onRequest: admin, schema: doc('settings', "The lender's settings", 'admin', { 200: Settings }) }, async (req) =>
    plain(await getSettings(s.db, lenderIdOf(req), s.clock.now())),
  );

  r.put('/v1/settings', {
    onRequest: admin,
    schema: { ...doc('settings', 'Change settings (the fields given); a profile that switches a guardrail off is refused', 'admin', { 200: Settings }), body: SettingsBody },
  }, async (req) => {
    const b = req.body;
    return plain(
      await updateSettings(s, actorOf(req), lenderIdOf(req), {
        ...(b.supportPhone !== undefined ? { supportPhone: b.supportPhone } : {}),
        ...(b.supportUrl !== undefined ? { supportUrl: b.supportUrl } : {}),
        ...(b.supportHours !== undefined ? { supportHours: b.supportHours } : {}),
        ...(b.howToPay !== undefined ? { howToPay: b.howToPay } : {}),
        ...(b.timeZone !== undefined ? { timeZone: b.timeZone } : {}),
        ...(b.complianceProfile !== undefined ? { complianceProfile: b.complianceProfile as string | Record<string, unknown> } : {}),
        ...(b.paymentChannels !== undefined ? { paymentChannels: b.paymentChannels } : {}),
      }),
    );
  });

  // --- webhooks

  r.post('/v1/webhooks', {
    onRequest: admin,
    config: { secretFields: ['secret'] },
    schema: {
      ...doc('webhooks', 'Register a webhook endpoint; the signing secret is shown only in this response (a replay with the same Idempotency-Key omits it)', 'admin', {
        201: Type.Object({ id: Type.String(), secret: Type.String(), url: Type.String(), events: Type.Array(Type.String()), secretShownOnce: Type.Optional(Type.String()) }),
      }),
      body: Type.Object(
        { url: Type.String({ minLength: 8, maxLength: 2000 }), events: Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((e) => Type.Literal(e))), { minItems: 1, maxItems: 20 }) },
        { additionalProperties: false },
      ),
    },
  }, async (req, reply) => {
    const lenderId = lenderIdOf(req);
    const now = s.clock.now();
    const created = await s.db.transaction().execute(async (tx) => {
      const w = await createWebhook(tx, s.masterKey, { lenderId, url: req.body.url, events: req.body.events, at: now });
      await audit(tx, actorOf(req), now, { action: 'webhook.created', subjectType: 'webhook', subjectId: w.id, lenderId, reason: `endpoint ${req.body.url}`, data: { events: req.body.events } });
      return w;
    });
    return reply.status(201).send({ id: created.id, secret: created.secret, url: req.body.url, events: req.body.events });
  });

  r.get('/v1/webhooks', {
    onRequest: admin,
    schema: { ...doc('webhooks', 'List webhook endpoints', 'admin', { 200: PageOf(Webhook) }), querystring: Type.Object(PageQuery, { additionalProperties: false }) },
  }, async (req) => {
    const limit = pageSize(limitOf(req.query));
    let q = s.db.selectFrom('webhooks').select(['id', 'url', 'events', 'active', 'created_at']).where('lender_id', '=', lenderIdOf(req));
    if (req.query.cursor) q = q.where('id', '<', decodeCursor(req.query.cursor, ['string'])[0]);
    const page = toPage(await q.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (w) => [w.id]);
    return plain({ items: page.items.map((w) => ({ id: w.id, url: w.url, events: w.events, active: w.active, createdAt: w.created_at })), nextCursor: page.nextCursor });
  });

  r.delete('/v1/webhooks/:id', {
    onRequest: admin,
    schema: { ...doc('webhooks', 'Deactivate an endpoint (queued deliveries are cancelled)', 'admin', { 200: Webhook }), params: IdParam },
  }, async (req) => {
    const lenderId = lenderIdOf(req);
    const w = await deactivateWebhook(s.db, lenderId, req.params.id);
    await audit(s.db, actorOf(req), s.clock.now(), { action: 'webhook.deactivated', subjectType: 'webhook', subjectId: w.id, lenderId, reason: `endpoint ${w.url}` });
    return plain(w);
  });

  r.get('/v1/webhooks/deliveries', {
    onRequest: admin,
    schema: {
      ...doc('webhooks', 'The delivery log, newest first', 'admin', { 200: PageOf(Delivery) }),
      querystring: Type.Object(
        { webhookId: Type.Optional(Id), status: Type.Optional(Type.Union(['pending', 'sending', 'delivered', 'failed', 'cancelled'].map((v) => Type.Literal(v)))), ...PageQuery },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const limit = pageSize(limitOf(req.query));
    let q = s.db.selectFrom('webhook_deliveries as d').innerJoin('webhooks as w', 'w.id', 'd.webhook_id').selectAll('d').where('w.lender_id', '=', lenderIdOf(req));
    if (req.query.webhookId) q = q.where('d.webhook_id', '=', req.query.webhookId);
    if (req.query.status) q = q.where('d.status', '=', req.query.status);
    if (req.query.cursor) q = q.where('d.id', '<', decodeCursor(req.query.cursor, ['string'])[0]);
    const page = toPage(await q.orderBy('d.id', 'desc').limit(limit + 1).execute(), limit, (d) => [d.id]);
    return plain({
      items: page.items.map((d) => ({
        id: d.id,
        webhookId: d.webhook_id,
        eventId: d.event_id,
        eventType: d.event_type,
        payload: d.payload,
        status: d.status,
        attempts: d.attempts,
        nextAttemptAt: d.next_attempt_at,
        lastStatusCode: d.last_status_code,
        lastError: d.last_error,
        createdAt: d.created_at,
        deliveredAt: d.delivered_at,
      })),
      nextCursor: page.nextCursor,
    });
  });

  r.post('/v1/webhooks/deliveries/:id/replay', {
    onRequest: admin,
    schema: { ...doc('webhooks', 'Queue a logged delivery again', 'admin', { 201: Delivery }), params: IdParam },
  }, async (req, reply) => reply.status(201).send(plain(await replayDelivery(s.db, lenderIdOf(req), req.params.id, s.clock.now()))));

  // --- API keys

  r.post('/v1/api-keys', {
    onRequest: admin,
    config: { secretFields: ['key'] },
    schema: {
      ...doc('api keys', 'Create an API key; the key is shown only in this response (a replay with the same Idempotency-Key omits it)', 'admin', {
        201: Type.Object({ id: Type.String(), key: Type.String(), name: Type.String(), scopes: Type.Array(Type.String()), secretShownOnce: Type.Optional(Type.String()) }),
      }),
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 120 }), scopes: Type.Array(ScopeName, { minItems: 1, maxItems: 3, uniqueItems: true }) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const lenderId = lenderIdOf(req);
    const now = s.clock.now();
    const scopes = [...new Set(req.body.scopes)] as Scope[];
    const created = await s.db.transaction().execute(async (tx) => {
      const k = await createApiKey(tx, { lenderId, name: req.body.name, scopes, now });
      await audit(tx, actorOf(req), now, { action: 'api_key.created', subjectType: 'api_key', subjectId: k.id, lenderId, reason: req.body.name, data: { scopes } });
      return k;
    });
    return reply.status(201).send({ id: created.id, key: created.key, name: req.body.name, scopes });
  });

  r.get('/v1/api-keys', {
    onRequest: admin,
    schema: { ...doc('api keys', 'List API keys (never the keys themselves)', 'admin', { 200: PageOf(ApiKey) }), querystring: Type.Object(PageQuery, { additionalProperties: false }) },
  }, async (req) => {
    const limit = pageSize(limitOf(req.query));
    let q = s.db.selectFrom('api_keys').select(['id', 'name', 'scopes', 'created_at', 'revoked_at', 'last_used_at']).where('lender_id', '=', lenderIdOf(req));
    if (req.query.cursor) q = q.where('id', '<', decodeCursor(req.query.cursor, ['string'])[0]);
    const page = toPage(await q.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (k) => [k.id]);
    return plain({
      items: page.items.map((k) => ({ id: k.id, name: k.name, scopes: k.scopes, createdAt: k.created_at, revokedAt: k.revoked_at, lastUsedAt: k.last_used_at })),
      nextCursor: page.nextCursor,
    });
  });

  r.delete('/v1/api-keys/:id', {
    onRequest: admin,
    schema: { ...doc('api keys', 'Revoke an API key', 'admin', { 200: Type.Object({ id: Type.String(), revoked: Type.Boolean() }) }), params: IdParam },
  }, async (req) => {
    const lenderId = lenderIdOf(req);
    const now = s.clock.now();
    await s.db.transaction().execute(async (tx) => {
      const k = await tx.selectFrom('api_keys').select(['id', 'revoked_at']).where('id', '=', req.params.id).where('lender_id', '=', lenderId).executeTakeFirst();
      if (!k) throw new LienError('not_found', `No API key ${req.params.id}`);
      if (k.revoked_at) throw new LienError('conflict', `API key ${k.id} was already revoked.`);
      await revokeApiKey(tx, lenderId, k.id, now);
      await audit(tx, actorOf(req), now, { action: 'api_key.revoked', subjectType: 'api_key', subjectId: k.id, lenderId, reason: 'revoked' });
    });
    return { id: req.params.id, revoked: true };
  });
}
