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

const DLC_KEY_EXAMPLE = { id: 'dlck_01jhq5a2b4c6d8e0f2g4h6j8k0', metadataName: 'x-lien-dlc-key', createdAt: '2026-01-05T08:00:00.000Z', revokedAt: null, lastUsedAt: '2026-02-18T07:41:05.000Z' };
const DlcKeyInfo = Type.Object({
  id: Type.String(),
  metadataName: Type.String({ description: 'the gRPC metadata entry name the OEM overlay sends the key under' }),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
}, { title: 'DlcKey', description: 'An Android Device Lock API key, without the key itself', examples: [DLC_KEY_EXAMPLE] });
const DlcKeyList = Type.Array(DlcKeyInfo, { title: 'DlcKeyList', description: 'Android Device Lock API keys, oldest first', examples: [[DLC_KEY_EXAMPLE]] });
const NewDlcKey = Type.Object(
  { ...DlcKeyInfo.properties, value: Type.String({ description: 'the key; put it in the overlay, it is not shown again' }) },
  { title: 'NewDlcKey', description: 'The key, shown once', examples: [{ ...DLC_KEY_EXAMPLE, lastUsedAt: null, value: 'lien_dlc_3vQ9xR2mT7kP4wN8bY6cF1hJ5sD0gL2a' }] },
);
const NewDlcKeyBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 63, description: 'gRPC metadata name, e.g. x-lien-dlc-key' }) },
  { additionalProperties: false, title: 'NewDlcKeyRequest', description: 'The metadata entry name the OEM overlay will send the key under', examples: [{ name: 'x-lien-dlc-key' }] },
);
const RevokedDlcKey = Type.Object({ id: Type.String(), revoked: Type.Boolean() }, { title: 'RevokedDlcKey', description: 'The key, revoked: gRPC calls carrying it are refused at once', examples: [{ id: DLC_KEY_EXAMPLE.id, revoked: true }] });

const FIRST_KEY = { kid: 'k2026-01', publicKey: 'mN3pQ8rS1tU6vW9xY2zA5bC7dE0fG4hJ8kL1mN3pQ8r', active: false, createdAt: '2026-01-01T00:00:00.000Z', endorsement: null };
const SECOND_KEY = {
  kid: 'k2026-07',
  publicKey: 'Zx8cV5bN2mQ7wE4rT1yU9iO6pA3sD0fG8hJ5kL2zX7c',
  active: true,
  createdAt: '2026-07-01T00:00:00.000Z',
  endorsement: {
    statement: { type: 'lien-key-rotation/v1', kid: 'k2026-07', publicKey: 'Zx8cV5bN2mQ7wE4rT1yU9iO6pA3sD0fG8hJ5kL2zX7c', issuedAt: '2026-07-01T00:00:00.000Z' },
    signedBy: 'k2026-01',
    sig: 'q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C2v3B4n5M6q7W8e9R0t1Y2u3I4o5P6a7S8d9F0g1H2jA',
  },
};
const SigningKeyInfo = Type.Object({
  kid: Type.String(),
  publicKey: Type.String({ description: 'raw Ed25519 public key, base64url' }),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  endorsement: Type.Union([KeyRotationSchema, Type.Null()], { description: 'the key-rotation statement vouching for this key (docs/protocol.md §6); null for the first key' }),
}, { title: 'SigningKey', description: 'A policy-signing key and the statement that chains it to the one before', examples: [SECOND_KEY] });
const SigningKeyList = Type.Array(SigningKeyInfo, { title: 'SigningKeyList', description: 'The policy-signing keys, oldest first', examples: [[FIRST_KEY, SECOND_KEY]] });
import { Instant, Nullable, doc } from './lender/common.ts';
import { EX, LENDER_EXAMPLE } from './lender/examples.ts';

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
  {
    additionalProperties: false,
    title: 'LenderRequest',
    examples: [
      {
        ...LENDER_EXAMPLE,
        profile: 'retail-short-cycle',
        paymentChannels: [{ channel: 'mpesa', freshnessMinutes: 360 }],
      },
    ],
  },
);

const NewLender = Type.Object(
  { id: Type.String(), apiKey: Type.String({ description: "The lender's first API key (all scopes), shown once" }) },
  { additionalProperties: false, title: 'NewLender', description: 'The lender and its first API key', examples: [{ id: EX.lenderId, apiKey: 'lien_live_Pq4wE8rT2yU6iO0pA3sD7fG1' }] },
);

const RegistryEntry = Type.Object(
  {
    deviceId: Type.String(),
    imei1: Type.String(),
    imei2: Nullable(Type.String()),
    serial: Type.String(),
    model: Type.String(),
    saleStatus: Type.String({ description: 'unsold, retail or financed' }),
    enrolledAt: Nullable(Instant),
    lastSeenAt: Nullable(Instant),
    releasedAt: Nullable(Instant),
    lender: Nullable(Type.Object({ id: Type.String(), name: Type.String(), supportPhone: Type.String() }, { additionalProperties: false })),
    lien: Nullable(Type.Object({ active: Type.Boolean(), stage: Type.String(), status: Type.String() }, { additionalProperties: false })),
  },
  {
    additionalProperties: false,
    title: 'RegistryEntry',
    description: 'What the registry knows of a phone: whether it carries a lien and whose, never who the borrower is',
    examples: [
      {
        deviceId: EX.deviceId,
        imei1: EX.imei,
        imei2: null,
        serial: EX.serial,
        model: 'Model A',
        saleStatus: 'financed',
        enrolledAt: '2026-01-05T09:20:02.000Z',
        lastSeenAt: '2026-02-18T07:41:06.000Z',
        releasedAt: null,
        lender: { id: EX.lenderId, name: 'Jamii Finance', supportPhone: '+254700000111' },
        lien: { active: true, stage: 'current', status: 'active' },
      },
    ],
  },
);

const SweepResult = Type.Object(
  {
    lenders: Type.Integer({ description: 'Lenders whose daily pass ran' }),
    evaluated: Type.Integer({ description: 'Contracts evaluated' }),
    changed: Type.Integer({ description: 'Contracts whose state changed' }),
    batches: Type.Integer(),
    quiet: Type.Integer({ description: 'Of evaluated, settled without loading their facts' }),
  },
  { additionalProperties: false, title: 'SweepResult', description: 'What the sweep did', examples: [{ lenders: 3, evaluated: 48210, changed: 311, batches: 97, quiet: 47102 }] },
);

const Problem = Type.Object({ line: Type.Integer({ description: 'Line of the CSV file; the header is line 1' }), reason: Type.String() }, { additionalProperties: false });
const ManifestResult = Type.Object(
  {
    inserted: Type.Integer(),
    skipped: Type.Integer({ description: 'Already registered (listed in duplicates)' }),
    errors: Type.Array(Problem, { description: 'Bad rows; when there are any, nothing was imported' }),
    duplicates: Type.Array(Problem),
  },
  { additionalProperties: false, title: 'ManifestResult', description: 'What the upload registered', examples: [{ inserted: 5000, skipped: 1, errors: [], duplicates: [{ line: 4211, reason: `IMEI ${EX.imei} is already registered` }] }] },
);

const MANIFEST_CSV = [
  'imei1,imei2,serial,model,factory_secret,sale_status',
  `${EX.imei},,${EX.serial},Model A,9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,unsold`,
].join('\n');

/** The platform operator: onboards lenders and uploads factory manifests. Sees no borrower data. */
export async function operatorRoutes(app: FastifyInstance, { s, sweepBatchSize }: { s: Services; sweepBatchSize?: number }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.addHook('onRequest', requireApiKey(s, 'operator'));

  r.post('/v1/operator/lenders', { config: { secretFields: ['apiKey'] }, schema: { ...doc('createLender', 'operator', 'Onboard a lender; its first API key is in the answer, once', 'operator', { 201: NewLender }), body: LenderBody } }, async (req, reply) => {
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
      ...doc('lookupRegistry', 'operator', 'Look a device up in the registry by IMEI (no borrower data)', 'operator', { 200: RegistryEntry }),
      querystring: Type.Object({ imei: Type.String({ minLength: 14, maxLength: 20 }) }, { additionalProperties: false }),
    },
  }, async (req) => lookupRegistry(s.db, validateImei(req.query.imei)));

  r.get('/v1/operator/signing-keys', {
    schema: doc('listSigningKeys', 'operator', 'The policy-signing keys, oldest first, with the statements that chain them', 'operator', { 200: SigningKeyList }),
  }, async () => listSigningKeys(s));

  // Phones pin the new key from the statement that comes with their next policy.
  r.post('/v1/operator/signing-keys', {
    schema: doc('rotateSigningKey', 'operator', 'Rotate the policy-signing key: a new active key, vouched for by the current one', 'operator', { 201: SigningKeyInfo }),
  }, async (req, reply) => reply.status(201).send(await rotateSigningKey(s, actorOf(req))));

  // Android Device Lock: keys for OEM builds' overlays (docs/android.md). The value is shown once.
  r.post('/v1/operator/dlc-keys', {
    config: { secretFields: ['value'] },
    schema: { ...doc('createDlcKey', 'operator', 'Create an Android Device Lock API key (its value is shown once)', 'operator', { 201: NewDlcKey }), body: NewDlcKeyBody },
  }, async (req, reply) => reply.status(201).send(await createDlcKey(s, actorOf(req), req.body.name)));
  r.get('/v1/operator/dlc-keys', { schema: doc('listDlcKeys', 'operator', 'List Android Device Lock API keys', 'operator', { 200: DlcKeyList }) }, async () => listDlcKeys(s.db));
  r.delete('/v1/operator/dlc-keys/:id', {
    schema: { ...doc('revokeDlcKey', 'operator', 'Revoke an Android Device Lock API key', 'operator', { 200: RevokedDlcKey }), params: Type.Object({ id: Type.String({ maxLength: 64 }) }) },
  }, async (req) => {
    await revokeDlcKey(s, actorOf(req), req.params.id);
    return { id: req.params.id, revoked: true };
  });

  // Runs the daily sweep now (it also runs on a timer); returns what it did.
  r.post('/v1/operator/sweep', { schema: doc('runSweep', 'operator', 'Run the daily sweep now (it also runs on a timer in every server)', 'operator', { 200: SweepResult }) }, async () =>
    sweep(s, sweepBatchSize ? { batchSize: sweepBatchSize } : {}),
  );

  r.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  r.post('/v1/operator/manifests', {
    schema: {
      ...doc('uploadManifest', 'operator', 'Register phones from a factory manifest (CSV: imei1, imei2, serial, model, factory_secret as 64 hex digits, sale_status)', 'operator', { 200: ManifestResult }),
      body: { content: { 'text/csv': { schema: Type.String({ title: 'ManifestCsv', description: 'The manifest, with a header line', examples: [MANIFEST_CSV] }) } } },
    },
  }, async (req, reply) => {
    if (typeof req.body !== 'string') throw new LienError('invalid_input', 'Send the manifest as text/csv.');
    const result = await importManifest(s, actorOf(req), req.body);
    if (result.errors.length && !result.inserted) {
      const first = result.errors[0]!;
      throw new LienError('invalid_input', `No device was registered: ${result.errors.length} bad row(s); first, line ${first.line}: ${first.reason}`, { ...result });
    }
    return reply.status(200).send(result);
  });
}
