/** Console: the borrower-messages page of a device and the form that puts a note on its screen (#15). */
import type { FastifyInstance } from 'fastify';
import { parseAmount } from '../../../domain/money.ts';
import type { Services } from '../../../services/context.ts';
import { sendDeviceMessage } from '../../../services/device-messages.ts';
import { activeContractOf } from '../../../services/views/console.ts';
import { deviceMessages } from '../../../services/views/messages.ts';
import { renderDeviceMessages } from '../../../web/console/messages.tsx';
import { LANGUAGES } from '../../../i18n/index.ts';
import { actorOf, field, formAction, html, lenderOf, takeFlash, viewerOf } from './session.ts';

type IdParams = { Params: { id: string } };

export async function messagePages(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.get<IdParams>('/devices/:id/messages', { config: { console: 'read' } }, async (req, reply) => {
    const view = await deviceMessages(s.db, lenderOf(req), req.params.id);
    return html(reply, renderDeviceMessages(viewerOf(req), view, takeFlash(req, reply, s)));
  });

  app.post<IdParams>('/devices/:id/messages', { config: { console: 'manual' } }, async (req, reply) =>
    formAction(reply, s, `/console/devices/${encodeURIComponent(req.params.id)}/messages`, async () => {
      const b = req.body;
      const c = await activeContractOf(s.db, lenderOf(req), req.params.id);
      const amountText = field(b, 'amount').trim();
      const texts = Object.fromEntries(['default', ...LANGUAGES.map((l) => l.code)].map((lang) => [lang, field(b, `text.${lang}`)]).filter(([, v]) => v!.trim() !== ''));
      const template = field(b, 'template');
      const sent = await sendDeviceMessage(s, actorOf(req), req.params.id, {
        template,
        params: { ...(amountText ? { amount: parseAmount(amountText, c.currency) } : {}), date: field(b, 'date') },
        ...(template === 'custom' ? { texts } : {}),
      });
      return { text: `Note sent: the phone shows it once it syncs policy v${sent.policyVersion} (it was nudged).` };
    }),
  );
}
