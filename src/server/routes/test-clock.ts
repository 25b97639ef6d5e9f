import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ManualClock } from '../../domain/clock.ts';
import type { Services } from '../../services/context.ts';
import { requireApiKey } from '../auth.ts';

/**
 * Only mounted when the server runs on a manual clock (LIEN_TEST_CLOCK=1): lets an end-to-end
 * test or a demo move time forward instead of waiting for due dates.
 */
export async function testClockRoutes(app: FastifyInstance, { s, clock }: { s: Services; clock: ManualClock }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.addHook('onRequest', requireApiKey(s, 'operator'));
  // A test rig, not part of the API: kept out of the OpenAPI document.
  r.get('/v1/operator/clock', { schema: { hide: true } as never }, async () => ({ now: clock.now().toISOString() }));
  r.post('/v1/operator/clock', { schema: { hide: true, body: Type.Object({ set: Type.Optional(Type.String({ format: 'date-time' })), advanceDays: Type.Optional(Type.Number()) }, { additionalProperties: false }) } }, async (req) => {
    if (req.body.set) clock.set(req.body.set);
    if (req.body.advanceDays) clock.advanceDays(req.body.advanceDays);
    return { now: clock.now().toISOString() };
  });
}
