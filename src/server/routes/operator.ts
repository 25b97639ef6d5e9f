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
import { listSigningKeys, rotateSigningKey } from '../../services/signing-keys.ts';
import { KeyRotationSchema } from '../../protocol/index.ts';
import { createDlcKey, listDlcKeys, revokeDlcKey } from '../../services/android-device-lock.ts';

const DlcKeyInfo = Type.Object({
  id: Type.String(),
  metadataName: Type.String({ description: 'the gRPC metadata entry name the OEM overlay sends the key under' }),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SigningKeyInfo = Type.Object({
  kid: Type.String(),
  publicKey: Type.String({ description: 'raw Ed25519 public key, base64url' }),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  endorsement: Type.Union([KeyRotationSchema, Type.Null()], { description: 'the key-rotation statement vouching for this key (docs/protocol.md §6); null for the first key' }),
});

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

  r.get('/v1/operator/signing-keys', {
    schema: { summary: 'The policy-signing keys, oldest first, with the statements that chain them', tags: ['operator'], response: { 200: Type.Array(SigningKeyInfo) } },
  }, async () => listSigningKeys(s));

  // Phones pin the new key from the statement that comes with their next policy.
  r.post('/v1/operator/signing-keys', {
    schema: { summary: 'Rotate the policy-signing key: a new active key, vouched for by the current one', tags: ['operator'], response: { 201: SigningKeyInfo } },
  }, async (req, reply) => reply.status(201).send(await rotateSigningKey(s, actorOf(req))));

  // Android Device Lock: keys for OEM builds' overlays (docs/android.md). The value is shown once.
  r.post('/v1/operator/dlc-keys', {
    schema: {
      summary: 'Create an Android Device Lock API key (its value is shown once)',
      tags: ['operator'],
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 63, description: 'gRPC metadata name, e.g. x-lien-dlc-key' }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...DlcKeyInfo.properties, value: Type.String({ description: 'the key; put it in the overlay, it is not shown again' }) }) },
    },
  }, async (req, reply) => reply.status(201).send(await createDlcKey(s, actorOf(req), req.body.name)));
  r.get('/v1/operator/dlc-keys', { schema: { summary: 'List Android Device Lock API keys', tags: ['operator'], response: { 200: Type.Array(DlcKeyInfo) } } }, async () => listDlcKeys(s.db));
  r.delete('/v1/operator/dlc-keys/:id', {
    schema: { summary: 'Revoke an Android Device Lock API key', tags: ['operator'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: Type.Null() } },
  }, async (req, reply) => {
    await revokeDlcKey(s, actorOf(req), req.params.id);
    return reply.status(204).send(null);
  });

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
