import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../../services/context.ts';
import { deviceDetail } from '../../../services/views/api.ts';
import { DPD_FILTERS, HELD_FILTERS, listDevicePage, parseDeviceListQuery, SORTS, STAGE_FILTERS, type DeviceListRow } from '../../../services/views/device-list.ts';
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

const DeviceListItem = Row({
  ...DeviceRow.properties,
  contract_id: Nullable(Type.String({ description: "The device's latest contract with the lender" })),
  status: Nullable(Type.String({ description: 'active, paid_off, written_off or returned' })),
  stage: Nullable(Type.String()),
  stage_reason: Nullable(Type.String()),
  held_reason: Nullable(Type.String({ description: 'The guardrail holding a lock back, when one does' })),
  days_past_due: Type.Integer({ minimum: 0, description: "Days since the oldest unpaid due date, in the lender's calendar" }),
  amount_overdue: Type.Integer({ description: 'Minor units' }),
  outstanding: Type.Integer({ description: 'Minor units' }),
  currency: Nullable(Type.String()),
  borrower_ref: Nullable(Type.String()),
  borrower_phone: Nullable(Type.String()),
  lock_reference: Nullable(Type.String()),
  sold_by: Nullable(Type.String({ description: 'Who sold the contract (user:… or api_key:…): the dealer' })),
}, {
  title: 'DeviceListItem',
  description: 'A device of the lender with the facts of its latest contract the support desk filters on',
  examples: [{
    ...DEVICE_EXAMPLE,
    contract_id: EX.contractId, status: 'active', stage: 'locked', stage_reason: 'dpd_locked', held_reason: null, days_past_due: 37,
    amount_overdue: 1000000, outstanding: 2000000, currency: 'KES', borrower_ref: 'CUST-0042', borrower_phone: '+254711000222',
    lock_reference: EX.lockReference, sold_by: 'user:usr_01J8Z3K4M5N6P7Q8R9S0T1V2W3',
  }],
});

const enumOf = (values: readonly string[], description: string) => Type.Optional(Type.Union(values.map((v) => Type.Literal(v)), { description }));

/** The filters of the device list, shared with the console (src/services/views/device-list.ts). */
export const DeviceFilterQuery = {
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Lock reference, IMEI (whole or its last 4+ digits), serial, borrower phone, borrower reference, contract id or device id' })),
  stage: enumOf(STAGE_FILTERS, 'Stage of the latest contract; `none`: no contract'),
  dpd: enumOf(Object.keys(DPD_FILTERS), 'Days past due: a bucket (1-29, 30-59, 60-89, 90+) or a PAR threshold (1+, 30+, 60+); 0 = nothing past due'),
  held: enumOf(HELD_FILTERS, 'Locks a guardrail holds back: any, or one reason'),
  channel: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The contract has a payment (not reversed) through this channel' })),
  dealer: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: 'Who sold the contract, e.g. user:usr_…' })),
};

function listItem(r: DeviceListRow) {
  return {
    id: r.deviceId, imei1: r.imei1, imei2: r.imei2, serial: r.serial, model: r.model, enrolled_at: r.enrolledAt, last_seen_at: r.lastSeenAt,
    policy_version_held: r.policyVersionHeld, released_at: r.releasedAt, contract_id: r.contractId, status: r.status, stage: r.stage,
    stage_reason: r.stageReason, held_reason: r.heldReason, days_past_due: r.dpd, amount_overdue: r.amountOverdue, outstanding: r.outstanding,
    currency: r.currency, borrower_ref: r.borrowerRef, borrower_phone: r.borrowerPhone, lock_reference: r.lockReference, sold_by: r.soldBy,
  };
}

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
      ...doc('listDevices', 'devices', "List, search, filter and sort the lender's devices, with the facts of each one's latest contract", 'read', { 200: PageOf(DeviceListItem) }),
      querystring: Type.Object(
        {
          ...DeviceFilterQuery,
          imei: Type.Optional(Type.String({ minLength: 1, maxLength: 20, description: 'Exact IMEI (either slot)' })),
          serial: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Exact serial' })),
          sort: enumOf(SORTS, 'newest (default), dpd (longest past due first), overdue (largest first), last_seen or serial'),
          dir: enumOf(['asc', 'desc'], 'Reverses the sort'),
          ...PageQuery,
        },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const { imei, serial } = req.query;
    const query = { ...parseDeviceListQuery(req.query), imei, serial, limit: limitOf(req.query) };
    const page = await listDevicePage(s.db, lenderIdOf(req), s.clock.now(), query);
    return plain({ items: page.items.map(listItem), nextCursor: page.nextCursor });
  });

  r.get('/v1/devices/:id', {
    onRequest: read,
    schema: {
      ...doc('getDevice', 'devices', 'A device with its contract and a timeline of check-ins, policies, events and codes issued', 'read', { 200: DeviceDetail }),
      params: IdParam,
    },
  }, async (req) => plain(await deviceDetail(s.db, lenderIdOf(req), req.params.id)));
}
