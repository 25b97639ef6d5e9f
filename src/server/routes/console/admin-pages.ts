/** Console pages for claims, lender settings (admins) and the operator's device registry. */
import type { FastifyInstance } from 'fastify';
import { LienError } from '../../../domain/errors.ts';
import { SHIPPED_PROFILES } from '../../../domain/profiles/index.ts';
import { CONSOLE_LOCALES } from '../../../i18n/labels.ts';
import { createApiKey, revokeApiKey, type Scope } from '../../../services/apikeys.ts';
import { approveClaim, CLAIM_STATUSES, listClaims, rejectClaim } from '../../../services/claim-review.ts';
import type { Services } from '../../../services/context.ts';
import { getSettings, updateSettings, type PaymentChannelSetting } from '../../../services/settings.ts';
import { addLenderUser, disableUser, listUsers, type NewUser } from '../../../services/users.ts';
import { createWebhook, deactivateWebhook, WEBHOOK_EVENT_TYPES } from '../../../services/webhooks.ts';
import type { ClaimStatus } from '../../../store/schema.ts';
import { renderClaims } from '../../../web/console/claims.tsx';
import { renderRegistry } from '../../../web/console/registry.tsx';
import { renderSettings } from '../../../web/console/settings.tsx';
import { apiKeys, claimDevices, claimOverdue, claimReceipt, registry, webhooks } from '../../../services/views/console.ts';
import { actorOf, field, fields, formAction, html, lenderOf, requireConfirmation, takeFlash, viewerOf, type Flash } from './session.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpStatus } from '../../errors.ts';
import { LANGUAGES } from '../../../i18n/index.ts';

type IdParams = { Params: { id: string } };
/** Every zone the runtime knows, for the settings' time-zone list (UTC is not among them in V8). */
const TIME_ZONES = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])];
/** Receipt types a browser may show inline; anything else is downloaded. */
const INLINE_RECEIPTS = new Set(['image/png', 'image/jpeg', 'image/webp', 'application/pdf']);

export async function adminPages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.get<{ Querystring: { status?: string; cursor?: string } }>('/claims', { config: { console: 'read' } }, async (req, reply) => {
    const lenderId = lenderOf(req);
    const status = (CLAIM_STATUSES as readonly string[]).includes(req.query.status ?? '') ? (req.query.status as ClaimStatus) : 'open';
    const page = await listClaims(s.db, lenderId, { status, ...(req.query.cursor ? { cursor: req.query.cursor } : {}), limit: 50 });
    const [serials, overdue] = await Promise.all([
      claimDevices(s.db, lenderId, [...new Set(page.items.map((c) => c.deviceId))]),
      claimOverdue(s.db, lenderId, [...new Set(page.items.map((c) => c.contractId))]),
    ]);
    return html(reply, renderClaims(viewerOf(req), { status, claims: page.items, serials, overdue, now: s.clock.now(), nextCursor: page.nextCursor, flash: takeFlash(req, reply, s) }));
  });

  app.get<IdParams>('/claims/:id/receipt', { config: { console: 'read' } }, async (req, reply) => {
    const r = await claimReceipt(s.db, lenderOf(req), req.params.id);
    const inline = INLINE_RECEIPTS.has(r.type);
    return reply
      .type(inline ? r.type : 'application/octet-stream')
      .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="receipt-${req.params.id}"`)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'no-store')
      .send(r.bytes);
  });

  app.post<IdParams>('/claims/:id/approve', { config: { console: 'claims' } }, async (req, reply) =>
    formAction(reply, s, '/console/claims', async () => {
      lenderOf(req);
      const r = await approveClaim(s, actorOf(req), req.params.id);
      return { text: `Claim approved: payment ${r.paymentId} posted; the device is now ${r.stage}.` };
    }),
  );

  app.post<IdParams>('/claims/:id/reject', { config: { console: 'claims' } }, async (req, reply) =>
    formAction(reply, s, '/console/claims', async () => {
      lenderOf(req);
      await rejectClaim(s, actorOf(req), req.params.id, field(req.body, 'message'));
      return { text: 'Claim rejected; the borrower will read your message.' };
    }),
  );

  const settingsPage = async (req: FastifyRequest, reply: FastifyReply, extra: { newKey?: { name: string; key: string }; newWebhook?: { url: string; secret: string }; flash?: Flash } = {}) => {
    const lenderId = lenderOf(req);
    const [settings, users, keys, hooks] = await Promise.all([getSettings(s.db, lenderId, s.clock.now()), listUsers(s.db, lenderId), apiKeys(s.db, lenderId), webhooks(s.db, lenderId)]);
    return html(
      reply,
      renderSettings(viewerOf(req), {
        settings,
        users,
        keys,
        profiles: SHIPPED_PROFILES.map((p) => ({ id: p.id, name: (p as { name?: string }).name ?? p.id })),
        newKey: extra.newKey ?? null,
        webhooks: hooks,
        eventTypes: WEBHOOK_EVENT_TYPES,
        newWebhook: extra.newWebhook ?? null,
        flash: extra.flash ?? takeFlash(req, reply, s),
        timeZones: TIME_ZONES,
        locales: CONSOLE_LOCALES,
        locale: settings.locale,
      }),
      extra.newKey || extra.newWebhook ? 201 : 200,
    );
  };

  app.get('/settings', { config: { console: 'settings' } }, (req, reply) => settingsPage(req, reply));

  app.post('/settings', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      const b = req.body;
      const profile = field(b, 'complianceProfile');
      await updateSettings(s, actorOf(req), lenderOf(req), {
        supportPhone: field(b, 'supportPhone'),
        supportUrl: field(b, 'supportUrl'),
        supportHours: field(b, 'supportHours').trim() || null,
        howToPay: field(b, 'howToPay'),
        timeZone: field(b, 'timeZone').trim(),
        ...(field(b, 'locale') ? { locale: field(b, 'locale') } : {}),
        ...(profile ? { complianceProfile: profile } : {}),
      });
      return { text: 'Settings saved.' };
    }),
  );

  app.post('/settings/texts', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      const b = req.body;
      const texts = Object.fromEntries(
        LANGUAGES.map((l) => [l.code, { howToPay: field(b, `howToPay.${l.code}`), supportHours: field(b, `supportHours.${l.code}`), message: field(b, `message.${l.code}`) }]),
      );
      await updateSettings(s, actorOf(req), lenderOf(req), { lockMessage: field(b, 'lockMessage'), texts });
      return { text: 'Lock screen texts saved; phones receive them at their next sync.' };
    }),
  );

  app.post('/settings/channels', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      const channels: PaymentChannelSetting[] = field(req.body, 'channels')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
        .map((line, i) => {
          const m = /^(\S+)\s+(\d{1,6})$/.exec(line);
          if (!m) throw new LienError('invalid_input', `Line ${i + 1} (“${line.slice(0, 60)}”) must be a channel name and a number of minutes, e.g. “mpesa 60”.`, { field: 'channels' });
          return { channel: m[1]!, freshnessMinutes: Number(m[2]) };
        });
      await updateSettings(s, actorOf(req), lenderOf(req), { paymentChannels: channels });
      return { text: `Payment channels saved (${channels.length}).` };
    }),
  );

  app.post('/settings/users', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      const b = req.body;
      const u = await addLenderUser(s, actorOf(req), { email: field(b, 'email'), name: field(b, 'name'), password: field(b, 'password'), role: field(b, 'role') as NewUser['role'] });
      return { text: `User ${u.email} added as ${u.role}.` };
    }),
  );

  app.post<IdParams>('/settings/users/:id/disable', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      lenderOf(req);
      requireConfirmation(req.body, 'disabling a user ends their sessions and signs them out for good');
      const u = await disableUser(s, actorOf(req), req.params.id);
      return { text: `User ${u.email} disabled; their sessions are ended.` };
    }),
  );

  // Rendered directly, not redirected: the key is shown exactly once and never stored in a cookie.
  app.post('/settings/keys', { config: { console: 'settings' } }, async (req, reply) => {
    lenderOf(req);
    const name = field(req.body, 'name').trim();
    const scopes = [...new Set(fields(req.body, 'scopes'))].filter((x): x is Scope => x === 'read' || x === 'write' || x === 'codes');
    if (!name || name.length > 120 || scopes.length === 0) {
      return settingsPage(req, reply, { flash: { text: 'An API key needs a name (up to 120 characters) and at least one scope.', bad: true } });
    }
    const key = await createApiKey(s, actorOf(req), { name, scopes });
    return settingsPage(req, reply, { newKey: { name, key: key.key }, flash: null });
  });

  app.post<IdParams>('/settings/keys/:id/revoke', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      lenderOf(req);
      requireConfirmation(req.body, 'a revoked API key stops working at once and cannot be restored');
      await revokeApiKey(s, actorOf(req), req.params.id);
      return { text: 'API key revoked.' };
    }),
  );

  // Like API keys, the signing secret is rendered once in the response.
  app.post('/settings/webhooks', { config: { console: 'settings' } }, async (req, reply) => {
    lenderOf(req);
    const url = field(req.body, 'url').trim();
    const events = [...new Set(fields(req.body, 'events'))];
    try {
      const w = await createWebhook(s, actorOf(req), { url, events });
      return settingsPage(req, reply, { newWebhook: { url, secret: w.secret }, flash: null });
    } catch (e) {
      if (e instanceof LienError && httpStatus(e) === 400) return settingsPage(req, reply, { flash: { text: e.message, bad: true } });
      throw e;
    }
  });

  app.post<IdParams>('/settings/webhooks/:id/deactivate', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/settings', async () => {
      lenderOf(req);
      const w = await deactivateWebhook(s, actorOf(req), req.params.id);
      return { text: `Webhook ${w.url} deactivated.` };
    }),
  );

  app.get<{ Querystring: { q?: string } }>('/registry', { config: { console: 'registry' } }, async (req, reply) => {
    const q = (req.query.q ?? '').slice(0, 40);
    return html(reply, renderRegistry(viewerOf(req), q, await registry(s.db, q)));
  });
}
