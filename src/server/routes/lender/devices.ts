import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LienError } from '../../../domain/errors.ts';
import { validateImei } from '../../../domain/imei.ts';
import type { Services } from '../../../services/context.ts';
import { decodeCursor, pageSize, toPage } from '../../../store/pagination.ts';
import { IdParam, Instant, Nullable, PageOf, PageQuery, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';

const DEVICE_COLUMNS = ['id', 'imei1', 'imei2', 'serial', 'model', 'enrolled_at', 'last_seen_at', 'agent_version', 'policy_version_held', 'released_at'] as const;

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

const TIMELINE_LIMIT = 100;

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
    const limit = pageSize(limitOf(req.query));
    let q = s.db.selectFrom('devices').select(DEVICE_COLUMNS).where('lender_id', '=', lenderIdOf(req));
    if (imei) {
      const v = validateImei(imei);
      q = q.where((eb) => eb.or([eb('imei1', '=', v), eb('imei2', '=', v)]));
    }
    if (serial) q = q.where('serial', '=', serial);
    if (cursor) q = q.where('id', '<', decodeCursor(cursor, ['string'])[0]);
    return plain(toPage(await q.orderBy('id', 'desc').limit(limit + 1).execute(), limit, (d) => [d.id]));
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
  }, async (req) => {
    const d = await s.db.selectFrom('devices').select(DEVICE_COLUMNS).where('id', '=', req.params.id).where('lender_id', '=', lenderIdOf(req)).executeTakeFirst();
    if (!d) throw new LienError('not_found', `No device ${req.params.id}`);
    const [contract, events, policies, codes] = await Promise.all([
      s.db.selectFrom('contracts').select(['id', 'stage', 'stage_reason', 'status', 'amount_overdue', 'outstanding', 'currency', 'lock_reference', 'policy_version', 'manual_action']).where('device_id', '=', d.id).where('lender_id', '=', lenderIdOf(req)).orderBy('created_at', 'desc').executeTakeFirst(),
      s.db.selectFrom('device_events').select(['kind', 'at', 'detail']).where('device_id', '=', d.id).orderBy('at', 'desc').limit(TIMELINE_LIMIT).execute(),
      s.db.selectFrom('policies').select(['version', 'stage', 'issued_at']).where('device_id', '=', d.id).orderBy('version', 'desc').limit(TIMELINE_LIMIT).execute(),
      s.db.selectFrom('tokens_issued').select(['id', 'type', 'value', 'count', 'token', 'reason', 'issued_by', 'issued_at']).where('device_id', '=', d.id).where('lender_id', '=', lenderIdOf(req)).orderBy('issued_at', 'desc').limit(TIMELINE_LIMIT).execute(),
    ]);
    const timeline = [
      ...(d.last_seen_at ? [{ at: d.last_seen_at, type: 'checkin' as const, summary: `last check-in (agent ${d.agent_version ?? '?'}, holds policy v${d.policy_version_held})` }] : []),
      ...events.map((e) => ({ at: e.at, type: 'event' as const, summary: e.kind, detail: e.detail })),
      ...policies.map((p) => ({ at: p.issued_at, type: 'policy' as const, summary: `policy v${p.version}: ${p.stage}` })),
      ...codes.map((c) => ({ at: c.issued_at, type: 'code' as const, summary: `${c.type}${c.value ? ` ${c.value} days` : ''} code #${c.count}: ${c.reason}` })),
    ].sort((a, b) => b.at.getTime() - a.at.getTime());
    return plain({ device: d, contract: contract ?? null, timeline: timeline.slice(0, TIMELINE_LIMIT), events, policies, codes });
  });
}
