import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { validateProfile } from '../../domain/compliance.ts';
import { shippedProfile } from '../../domain/profiles/index.ts';
import { LienError } from '../../domain/errors.ts';
import { createLender } from '../../services/lenders.ts';
import { importManifest } from '../../services/manifest.ts';
import type { Services } from '../../services/context.ts';
import { requireApiKey, actorOf } from '../auth.ts';
import { sweep } from '../../jobs/sweep.ts';
import { validateImei } from '../../domain/imei.ts';
import { lookupRegistry } from '../../services/registry.ts';

const LenderBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120 }),
    supportPhone: Type.String({ minLength: 3, maxLength: 32 }),
    supportUrl: Type.String({ maxLength: 300, default: '' }),
    supportHours: Type.Optional(Type.String({ maxLength: 120 })),
    howToPay: Type.String({ minLength: 1, maxLength: 2000 }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
    timeZone: Type.String({ minLength: 1, maxLength: 64 }),
    profile: Type.Optional(Type.Union([Type.String(), Type.Object({}, { additionalProperties: true })])),
    paymentChannels: Type.Optional(Type.Array(Type.Object({ channel: Type.String({ minLength: 1 }), freshnessMinutes: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);

/** The platform operator: onboards lenders and uploads factory manifests. Sees no borrower data. */
export async function operatorRoutes(app: FastifyInstance, { s, sweepBatchSize }: { s: Services; sweepBatchSize?: number }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.addHook('onRequest', requireApiKey(s, 'operator'));

  r.post('/v1/operator/lenders', { config: { secretFields: ['apiKey'] }, schema: { body: LenderBody } }, async (req, reply) => {
    const b = req.body;
    const profile = typeof b.profile === 'string' || b.profile === undefined ? shippedProfile(b.profile ?? 'retail-short-cycle') : validateProfile(b.profile);
    const created = await createLender(s, actorOf(req), {
      name: b.name,
      supportPhone: b.supportPhone,
      supportUrl: b.supportUrl ?? '',
      supportHours: b.supportHours ?? null,
      howToPay: b.howToPay,
      currency: b.currency,
      timeZone: b.timeZone,
      profile,
      paymentChannels: b.paymentChannels ?? [],
    });
    return reply.status(201).send(created);
  });

  // Registry lookup for the help center and second-hand buyers' questions: whether a phone
  // carries a lien and whose, never who the borrower is.
  r.get('/v1/operator/devices', {
    schema: {
      summary: 'Look a device up in the registry by IMEI (no borrower data)',
      tags: ['operator'],
      security: [{ apiKey: [] }],
      querystring: Type.Object({ imei: Type.String({ minLength: 14, maxLength: 20 }) }, { additionalProperties: false }),
    },
  }, async (req) => lookupRegistry(s.db, validateImei(req.query.imei)));

  // Runs the daily sweep now (it also runs on a timer); returns what it did.
  r.post('/v1/operator/sweep', async () => sweep(s, sweepBatchSize ? { batchSize: sweepBatchSize } : {}));

  r.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  r.post('/v1/operator/manifests', async (req, reply) => {
    if (typeof req.body !== 'string') throw new LienError('invalid_input', 'Send the manifest as text/csv.');
    const result = await importManifest(s, actorOf(req), req.body);
    if (result.errors.length && !result.inserted) {
      const first = result.errors[0]!;
      throw new LienError('invalid_input', `No device was registered: ${result.errors.length} bad row(s); first, line ${first.line}: ${first.reason}`, { ...result });
    }
    return reply.status(200).send(result);
  });
}
