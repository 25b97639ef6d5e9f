import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/context.ts';
import { requireApiKey } from '../auth.ts';
import { adminRoutes } from './lender/admin.ts';
import { channelRoutes } from './lender/channels.ts';
import { claimRoutes } from './lender/claims.ts';
import { contractRoutes } from './lender/contracts.ts';
import { deviceRoutes } from './lender/devices.ts';
import { messageRoutes } from './lender/messages.ts';
import { oversightRoutes } from './lender/oversight.ts';
import { paymentRoutes } from './lender/payments.ts';
import { smsRoutes } from './lender/sms.ts';

/**
 * The lender REST API: every query is scoped to the caller's lender, and another lender's ids
 * are 404, never 403 (which would confirm they exist). Scopes: `read` for GETs, `write` for
 * changes, `codes` for unlock codes, all three for settings, webhooks and API keys.
 */
export async function lenderRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.addHook('onRequest', requireApiKey(s, 'lender'));
  for (const routes of [paymentRoutes, deviceRoutes, messageRoutes, contractRoutes, claimRoutes, adminRoutes, oversightRoutes, channelRoutes, smsRoutes]) {
    await app.register(routes, { s });
  }
}
