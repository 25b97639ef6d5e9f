/** Console pages for payment channels (admins) and the suspense queue. */
import type { FastifyInstance } from 'fastify';
import { LienError } from '../../../domain/errors.ts';
import type { Services } from '../../../services/context.ts';
import { createChannel, deleteChannel, getChannel, listChannels, updateChannel, type ChannelInput, type ChannelPatch, type PaymentChannelView } from '../../../services/rails/channels.ts';
import { contractByReference } from '../../../services/rails/intake.ts';
import { assignSuspense, listSuspense, refundSuspense, SUSPENSE_STATUSES } from '../../../services/rails/suspense.ts';
import type { PaymentChannelType, SuspenseStatus } from '../../../store/schema.ts';
import { renderChannels, renderSuspense } from '../../../web/console/rails.tsx';
import { actorOf, field, formAction, html, lenderOf, takeFlash, viewerOf } from './session.ts';

type IdParams = { Params: { id: string } };

/** The form's fields as a channel: empty inputs are left out. */
function channelFromForm(body: unknown): ChannelInput {
  const f = (name: string) => field(body, name).trim();
  const type = f('type') as PaymentChannelType;
  const allowFrom = f('allowFrom').split(/[\s,]+/).filter(Boolean);
  const secrets: ChannelInput['secrets'] = {};
  if (f('consumerKey')) secrets.consumerKey = f('consumerKey');
  if (f('consumerSecret')) secrets.consumerSecret = f('consumerSecret');
  if (f('webhookSecret')) {
    if (type === 'signed_webhook') secrets.webhookSecrets = [f('webhookSecret')];
    else secrets.webhookSecret = f('webhookSecret');
  }
  return {
    channel: f('channel'),
    type,
    freshnessMinutes: Number(f('freshnessMinutes')),
    account: { ...(f('shortCode') ? { shortCode: f('shortCode') } : {}), ...(f('accountId') ? { accountId: f('accountId') } : {}) },
    options: { ...(type === 'mpesa_c2b' && f('environment') ? { environment: f('environment') as 'sandbox' | 'production' } : {}), ...(allowFrom.length ? { allowFrom } : {}) },
    secrets,
  };
}

/**
 * The change form as a patch. Account and options are merged into the channel's current ones, so
 * what the form does not show (a Daraja baseUrl set through the API) is kept; a secret left blank
 * is kept too, since secrets are never shown again.
 */
function channelPatchFromForm(body: unknown, current: PaymentChannelView): ChannelPatch {
  const f = (name: string) => field(body, name).trim();
  const allowFrom = f('allowFrom').split(/[\s,]+/).filter(Boolean);
  const { allowFrom: _previous, ...options } = current.options;
  const patch: ChannelPatch = {
    freshnessMinutes: Number(f('freshnessMinutes')),
    account: { ...current.account, ...(f('shortCode') ? { shortCode: f('shortCode') } : {}), ...(f('accountId') ? { accountId: f('accountId') } : {}) },
    options: { ...options, ...(current.type === 'mpesa_c2b' && f('environment') ? { environment: f('environment') as 'sandbox' | 'production' } : {}), ...(allowFrom.length ? { allowFrom } : {}) },
  };
  const secrets: NonNullable<ChannelPatch['secrets']> = {};
  if (f('consumerKey')) secrets.consumerKey = f('consumerKey');
  if (f('consumerSecret')) secrets.consumerSecret = f('consumerSecret');
  if (current.type === 'signed_webhook') {
    if (f('webhookSecret') && f('rotation') === 'replace') secrets.webhookSecrets = [f('webhookSecret')];
    else if (f('webhookSecret')) patch.addWebhookSecret = f('webhookSecret');
    if (f('retireOlder')) patch.retireOlderWebhookSecrets = true;
  } else if (f('webhookSecret')) secrets.webhookSecret = f('webhookSecret');
  if (Object.keys(secrets).length) patch.secrets = secrets;
  return patch;
}

export async function railPages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.get('/payment-channels', { config: { console: 'settings' } }, async (req, reply) =>
    html(reply, renderChannels(viewerOf(req), await listChannels(s, lenderOf(req)), takeFlash(req, reply, s))),
  );

  app.post('/payment-channels', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/payment-channels', async () => {
      const c = await createChannel(s, actorOf(req), lenderOf(req), channelFromForm(req.body));
      const urls = Object.values(c.callbackUrls);
      return { text: `Channel ${c.channel} added.${urls.length ? ` Register with the provider: ${urls.join(' and ')}` : ''}` };
    }),
  );

  app.post<IdParams>('/payment-channels/:id', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/payment-channels', async () => {
      lenderOf(req);
      const actor = actorOf(req);
      const c = await updateChannel(s, actor, req.params.id, channelPatchFromForm(req.body, await getChannel(s, actor, req.params.id)));
      const rotating = (c.webhookSecretsAccepted ?? 0) > 1
        ? ` It accepts ${c.webhookSecretsAccepted} webhook secrets now; once every sender signs with the newest, retire the older ones.`
        : '';
      return { text: `Channel ${c.channel} saved.${rotating}` };
    }),
  );

  app.post<IdParams>('/payment-channels/:id/delete', { config: { console: 'settings' } }, async (req, reply) =>
    formAction(reply, s, '/console/payment-channels', async () => {
      lenderOf(req);
      await deleteChannel(s, actorOf(req), req.params.id);
      return { text: 'Channel removed; its callback URLs no longer answer.' };
    }),
  );

  app.get<{ Querystring: { status?: string; cursor?: string } }>('/suspense', { config: { console: 'read' } }, async (req, reply) => {
    const status = (SUSPENSE_STATUSES as readonly string[]).includes(req.query.status ?? '') ? (req.query.status as SuspenseStatus) : 'open';
    const page = await listSuspense(s.db, lenderOf(req), { status, ...(req.query.cursor ? { cursor: req.query.cursor } : {}), limit: 50 });
    return html(reply, renderSuspense(viewerOf(req), status, page.items, page.nextCursor, takeFlash(req, reply, s)));
  });

  app.post<IdParams>('/suspense/:id/assign', { config: { console: 'pay' } }, async (req, reply) =>
    formAction(reply, s, '/console/suspense', async () => {
      const lenderId = lenderOf(req);
      const given = field(req.body, 'contract').trim();
      // The person may paste the contract id, or type what the borrower would: lock reference or IMEI.
      const contract = /^ctr_/.test(given) ? { id: given } : await contractByReference(s.db, lenderId, given);
      if (!contract) throw new LienError('invalid_input', `No contract of yours matches ${given}.`, { field: 'contract' });
      const r = await assignSuspense(s, actorOf(req), req.params.id, contract.id, field(req.body, 'note'));
      return { text: `Posted as payment ${r.paymentId}; the contract is now ${r.evaluation.decision.stage}.` };
    }),
  );

  app.post<IdParams>('/suspense/:id/refund', { config: { console: 'pay' } }, async (req, reply) =>
    formAction(reply, s, '/console/suspense', async () => {
      lenderOf(req);
      await refundSuspense(s, actorOf(req), req.params.id, field(req.body, 'note'));
      return { text: 'Marked refunded.' };
    }),
  );
}
