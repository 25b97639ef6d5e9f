import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../../services/context.ts';
import { deviceDetail, listDevices } from '../../../services/views/api.ts';
import { IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';
import { DEVICE_EXAMPLE, EX } from './examples.ts';

const DeviceRow = Row({
  id: Type.String(),
  imei1: Type.String(),
  imei2: Nullable(Type.String()),
  serial: Type.String(),
  model: Type.String(),
  enrolled_at: Nullable(Instant),
  last_seen_at: Nullable(Instant),
  policy_version_held: Type.Integer(),
  released_at: Nullable(Instant),
}, { title: 'Device', description: 'A registered phone of the lender', examples: [DEVICE_EXAMPLE] });

const TimelineEntry = Row({
  at: Instant,
  type: Type.Union([Type.Literal('event'), Type.Literal('policy'), Type.Literal('code'), Type.Literal('checkin')]),
  summary: Type.String(),
}, { title: 'TimelineEntry' });

const DeviceDetail = Type.Object(
  {
    device: DeviceRow,
    contract: Nullable(Row({ id: Type.String(), stage: Type.String(), status: Type.String() })),
    timeline: Type.Array(TimelineEntry),
    events: Type.Array(Row({ kind: Type.String(), at: Instant })),
    policies: Type.Array(Row({ version: Type.Integer(), stage: Type.String(), issued_at: Instant })),
    codes: Type.Array(Row({ id: Type.String(), type: Type.String(), count: Type.Integer(), reason: Type.String(), issued_at: Instant })),
  },
  {
    additionalProperties: false,
    title: 'DeviceDetail',
    description: 'The device, its contract, and what happened to it, newest first',
    examples: [
      {
        device: DEVICE_EXAMPLE,
        contract: { id: EX.contractId, stage: 'current', status: 'active', stage_reason: 'arrears_cleared', amount_overdue: 0, outstanding: 2000000, currency: 'KES', lock_reference: EX.lockReference, policy_version: 6, manual_action: null },
        timeline: [
          { at: '2026-02-18T07:41:06.000Z', type: 'checkin', summary: 'last check-in (agent 1.4.0, holds policy v6)' },
          { at: '2026-02-18T07:41:05.000Z', type: 'event', summary: 'unlocked', detail: { cause: 'policy', policyVersion: 6 } },
          { at: EX.paidAt, type: 'policy', summary: 'policy v6: current' },
        ],
        events: [{ kind: 'unlocked', at: '2026-02-18T07:41:05.000Z', detail: { cause: 'policy', policyVersion: 6 } }],
        policies: [{ version: 6, stage: 'current', issued_at: EX.paidAt }],
        codes: [],
      },
    ],
  },
);

/** Devices: search and the per-device timeline support staff read on the phone with a borrower. */
export async function deviceRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');

  r.get('/v1/devices', {
    onRequest: read,
    schema: {
      ...doc('listDevices', 'devices', "List or search the lender's devices (by IMEI or serial), newest first", 'read', { 200: PageOf(DeviceRow) }),
      querystring: Type.Object(
        { imei: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })), serial: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), ...PageQuery },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const { imei, serial, cursor } = req.query;
    return plain(await listDevices(s.db, lenderIdOf(req), { imei, serial, cursor, limit: limitOf(req.query) }));
  });

  r.get('/v1/devices/:id', {
    onRequest: read,
    schema: {
      ...doc('getDevice', 'devices', 'A device with its contract and a timeline of check-ins, policies, events and codes issued', 'read', { 200: DeviceDetail }),
      params: IdParam,
    },
  }, async (req) => plain(await deviceDetail(s.db, lenderIdOf(req), req.params.id)));
}
