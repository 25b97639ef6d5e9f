/** Lender API: notes on a device's screen and the borrower's messages (issue #15). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LANGUAGES } from '../../../i18n/index.ts';
import { NOTE_TEMPLATES, NOTE_TEXT_MAX } from '../../../protocol/index.ts';
import type { Services } from '../../../services/context.ts';
import { sendDeviceMessage } from '../../../services/device-messages.ts';
import { deviceMessages } from '../../../services/views/messages.ts';
import { actorOf } from '../../auth.ts';
import { IdParam, Instant, Nullable, doc, lenderIdOf, plain, requireScope } from './common.ts';
import { EX } from './examples.ts';

const NOTE_EXAMPLE = { template: 'pay_by', params: { amount: 250000, date: '2026-03-05' } };
const MESSAGE_ID = 'msg_01JM8ZK3W6Q2C9V4T7R5X1N0B';

const MessageBody = Type.Object(
  {
    template: Type.Union(NOTE_TEMPLATES.map((t) => Type.Literal(t)), { description: 'A sentence of the phone\'s catalog, worded in the borrower\'s language; `custom` shows your own `texts`' }),
    params: Type.Optional(
      Type.Object(
        {
          amount: Type.Optional(Type.Integer({ minimum: 0, description: 'Minor units of the contract currency' })),
          date: Type.Optional(Type.String({ format: 'date', description: 'YYYY-MM-DD' })),
        },
        { additionalProperties: false },
      ),
    ),
    texts: Type.Optional(
      Type.Record(Type.String({ pattern: `^(default|${LANGUAGES.map((l) => l.code).join('|')})$` }), Type.String({ minLength: 1, maxLength: NOTE_TEXT_MAX }), {
        description: 'For `custom`: your words per borrower language, and `default` for the others',
      }),
    ),
  },
  { additionalProperties: false, title: 'DeviceMessageRequest', examples: [NOTE_EXAMPLE, { template: 'custom', texts: { default: 'Our Westlands shop is open on Sunday.', sw: 'Duka letu la Westlands liko wazi Jumapili.' } }] },
);

const SentMessage = Type.Object(
  {
    id: Type.String(),
    deviceId: Type.String(),
    contractId: Type.String(),
    policyVersion: Type.Integer({ description: 'The policy that carries the note; the phone shows it once it holds this version' }),
    note: Type.Object({}, { additionalProperties: true, description: 'The note as the signed policy carries it (docs/protocol.md §7.5)' }),
  },
  {
    additionalProperties: false,
    title: 'DeviceMessage',
    description: 'The note sent, and the policy version that carries it to the phone',
    examples: [{ id: MESSAGE_ID, deviceId: EX.deviceId, contractId: EX.contractId, policyVersion: 7, note: { id: MESSAGE_ID, ...NOTE_EXAMPLE, sentAt: EX.paidAt } }],
  },
);

const Messages = Type.Object(
  {
    device: Type.Object({ id: Type.String(), serial: Type.String(), policyVersionHeld: Type.Integer(), lastSeenAt: Nullable(Instant) }, { additionalProperties: false }),
    contract: Nullable(Type.Object({}, { additionalProperties: true })),
    screen: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          at: Instant,
          template: Type.String(),
          params: Type.Object({}, { additionalProperties: true }),
          texts: Type.Record(Type.String(), Type.String()),
          policyVersion: Type.Integer(),
          sentBy: Type.String(),
          status: Type.Union([Type.Literal('on_screen'), Type.Literal('waiting_for_phone'), Type.Literal('replaced')]),
        },
        { additionalProperties: false },
      ),
    ),
    sms: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          at: Instant,
          kind: Type.String(),
          language: Type.String(),
          recipient: Type.String(),
          body: Type.String(),
          status: Type.String(),
          sentAt: Nullable(Instant),
          lastError: Nullable(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    title: 'BorrowerMessages',
    description: "The notes put on a device's screen and the SMS about its contracts, newest first, with their delivery status",
    examples: [
      {
        device: { id: EX.deviceId, serial: 'R58N123ABC', policyVersionHeld: 7, lastSeenAt: EX.paidAt },
        contract: { id: EX.contractId, currency: 'KES', lockReference: EX.lockReference, borrowerLanguage: 'sw', stage: 'notice', status: 'active' },
        screen: [{ id: MESSAGE_ID, at: EX.paidAt, template: 'pay_by', params: { amount: 250000, date: '2026-03-05' }, texts: {}, policyVersion: 7, sentBy: 'user:usr_01', status: 'on_screen' }],
        sms: [{ id: 'ntf_01', at: EX.paidAt, kind: 'notice', language: 'sw', recipient: '+254712345678', body: 'Jamii Finance: KSh 2,500.00 imechelewa…', status: 'sent', sentAt: EX.paidAt, lastError: null }],
      },
    ],
  },
);

export async function messageRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/v1/devices/:id/messages', {
    onRequest: requireScope('write'),
    schema: {
      ...doc('sendDeviceMessage', 'devices', "Put a short note on the phone's screen, in the borrower's language; it replaces the previous note and the phone is nudged", 'write', { 201: SentMessage }),
      params: IdParam,
      body: MessageBody,
    },
  }, async (req, reply) => reply.status(201).send(plain(await sendDeviceMessage(s, actorOf(req), req.params.id, req.body))));

  r.get('/v1/devices/:id/messages', {
    onRequest: requireScope('read'),
    schema: { ...doc('listDeviceMessages', 'devices', "The borrower's messages about a device: screen notes and SMS, with delivery status", 'read', { 200: Messages }), params: IdParam },
  }, async (req) => plain(await deviceMessages(s.db, lenderIdOf(req), req.params.id)));
}
