import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../../services/context.ts';
import { getSmsProvider, setSmsProvider, type SmsProviderInput } from '../../../services/sms.ts';
import { actorOf } from '../../auth.ts';
import { Nullable, doc, lenderIdOf, plain, requireScope } from './common.ts';
import { EX } from './examples.ts';

const Fields = {
  type: Type.Union([Type.Literal('africastalking'), Type.Literal('twilio')]),
  senderId: Type.String({ minLength: 1, maxLength: 16, description: 'Alphanumeric sender id (up to 11 characters) or the sending number' }),
  username: Type.Optional(Type.String({ maxLength: 64, description: "Africa's Talking: the app's username (sandbox in the sandbox)" })),
  accountSid: Type.Optional(Type.String({ maxLength: 34, description: 'Twilio: the account SID' })),
  environment: Type.Optional(Type.Union([Type.Literal('production'), Type.Literal('sandbox')])),
  baseUrl: Type.Optional(Type.String({ maxLength: 300, description: 'Another base URL (a proxy, a test server)' })),
};

const EXAMPLE = {
  type: 'africastalking',
  senderId: 'JAMII',
  username: 'jamiifinance',
  environment: 'production',
  secretSet: true,
  deliveryReportUrl: `https://lien.example/rails/sms/${EX.lenderId}/5f0c3a9e1b7d4c2a8e6f0b1d3c5a7e9f/africastalking`,
};

const Provider = Type.Object(
  { ...Fields, secretSet: Type.Boolean(), deliveryReportUrl: Type.String({ description: "Africa's Talking: set it as the delivery reports callback; Twilio: sent with every message" }) },
  { additionalProperties: false, title: 'SmsProvider', description: 'The SMS provider borrower messages go through', examples: [EXAMPLE] },
);
const Answer = Type.Object(
  { provider: Nullable(Provider) },
  { title: 'SmsProviderSetting', description: "The lender's SMS provider; null: the server's default", examples: [{ provider: EXAMPLE }] },
);
const Body = Type.Object(
  {
    provider: Nullable(Type.Object({ ...Fields, secret: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: "Africa's Talking API key or Twilio auth token; kept when left out" })) }, { additionalProperties: false })),
  },
  { additionalProperties: false, title: 'SmsProviderChange', examples: [{ provider: { type: 'twilio', senderId: '+15017122661', accountSid: 'AC1c5d0a2f3b4e5f60718293a4b5c6d7e8', secret: 'a3f9c2e1b7d64f0a9e8c7b6a5d4c3b2a' } }] },
);

/** The lender's SMS provider (settings). */
export async function smsRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = requireScope('admin');

  r.get('/v1/sms-provider', { onRequest: admin, schema: doc('getSmsProvider', 'settings', 'The SMS provider borrower messages go through', 'admin', { 200: Answer }) }, async (req) =>
    plain({ provider: await getSmsProvider(s, lenderIdOf(req)) }),
  );

  r.put('/v1/sms-provider', {
    onRequest: admin,
    config: { secretFields: ['secret'] },
    schema: { ...doc('setSmsProvider', 'settings', "Choose Africa's Talking or Twilio with a sender id (null: the server's default)", 'admin', { 200: Answer }), body: Body },
  }, async (req) => plain({ provider: await setSmsProvider(s, actorOf(req), lenderIdOf(req), req.body.provider as SmsProviderInput | null) }));
}
