import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../../services/context.ts';
import { deviceDetail, listDevices } from '../../../services/views/api.ts';
import { IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';

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
});

const TimelineEntry = Row({
  at: Instant,
  type: Type.Union([Type.Literal('event'), Type.Literal('policy'), Type.Literal('code'), Type.Literal('checkin')]),
  summary: Type.String(),
});

/** Devices: search and the per-device timeline support staff read on the phone with a borrower. */
export async function deviceRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');

  r.get('/v1/devices', {
    onRequest: read,
    schema: {
      ...doc('devices', "List or search the lender's devices (by IMEI or serial), newest first", 'read', { 200: PageOf(DeviceRow) }),
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
      ...doc('devices', 'A device with its contract and a timeline of check-ins, policies, events and codes issued', 'read', {
        200: Type.Object(
          {
            device: DeviceRow,
            contract: Nullable(Row({ id: Type.String(), stage: Type.String(), status: Type.String() })),
            timeline: Type.Array(TimelineEntry),
            events: Type.Array(Row({ kind: Type.String(), at: Instant })),
            policies: Type.Array(Row({ version: Type.Integer(), stage: Type.String(), issued_at: Instant })),
            codes: Type.Array(Row({ id: Type.String(), type: Type.String(), count: Type.Integer(), reason: Type.String(), issued_at: Instant })),
          },
          { additionalProperties: false },
        ),
      }),
      params: IdParam,
    },
  }, async (req) => plain(await deviceDetail(s.db, lenderIdOf(req), req.params.id)));
}
