/**
 * The support desk's device list: one search box, filters, sorting and keyset pages, shared by
 * the console (`/console/devices`), its CSV export, bulk actions and the REST API
 * (`GET /v1/devices`). Every query is scoped to one lender: the device must be the lender's and
 * the contract joined to it must be the lender's too, so no identifier reaches across tenants.
 */
import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { addDays, businessDateIn, diffDays } from '../../domain/dates.ts';
import { LienError } from '../../domain/errors.ts';
import { validateImei } from '../../domain/imei.ts';
import { HELD_REASONS, STAGES } from '../../domain/stage.ts';
import { decodeCursor, encodeCursor, pageSize, type Page } from '../../store/pagination.ts';
import type { DB } from '../../store/schema.ts';

type Db = Kysely<DB>;

/** Days-past-due filters: the ageing buckets, and the PAR thresholds the dashboard links to. */
export const DPD_FILTERS = {
  '0': [0, 0],
  '1+': [1, null],
  '1-29': [1, 29],
  '30+': [30, null],
  '30-59': [30, 59],
  '60+': [60, null],
  '60-89': [60, 89],
  '90+': [90, null],
} as const satisfies Record<string, readonly [number, number | null]>;
export type DpdFilter = keyof typeof DPD_FILTERS;

export const HELD_FILTERS = ['any', ...HELD_REASONS] as const;
export type HeldFilter = (typeof HELD_FILTERS)[number];

/** `none`: devices of the lender with no contract (stock, or every contract closed elsewhere). */
export const STAGE_FILTERS = [...STAGES, 'none'] as const;
export type StageFilter = (typeof STAGE_FILTERS)[number];

export const SORTS = ['newest', 'dpd', 'overdue', 'last_seen', 'serial'] as const;
export type Sort = (typeof SORTS)[number];
/** The direction each sort means by default: the most urgent or most recent first. */
const DEFAULT_DIR: Record<Sort, 'asc' | 'desc'> = { newest: 'desc', dpd: 'desc', overdue: 'desc', last_seen: 'desc', serial: 'asc' };

export interface DeviceFilter {
  /** Lock reference, IMEI (whole or its last 4+ digits), serial, borrower phone or reference, contract or device id. */
  q?: string | undefined;
  stage?: StageFilter | undefined;
  dpd?: DpdFilter | undefined;
  held?: HeldFilter | undefined;
  /** A payment channel the contract has been paid through (`cash`, `mpesa`, …). */
  channel?: string | undefined;
  /** Who sold the contract: an actor such as `user:usr_…` (the dealer). */
  dealer?: string | undefined;
  /** Exact IMEI (either slot) or serial: the API's long-standing lookups. */
  imei?: string | undefined;
  serial?: string | undefined;
}

export interface DeviceListQuery extends DeviceFilter {
  sort?: Sort | undefined;
  dir?: 'asc' | 'desc' | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

export interface DeviceListRow {
  deviceId: string;
  serial: string;
  imei1: string;
  imei2: string | null;
  model: string;
  enrolledAt: Date | null;
  lastSeenAt: Date | null;
  policyVersionHeld: number;
  releasedAt: Date | null;
  contractId: string | null;
  status: string | null;
  stage: string | null;
  stageReason: string | null;
  /** The guardrail holding a lock back, when one does. */
  heldReason: string | null;
  borrowerRef: string | null;
  borrowerPhone: string | null;
  lockReference: string | null;
  currency: string | null;
  amountOverdue: number;
  outstanding: number;
  oldestUnpaidDueDate: string | null;
  /** Days past due of the oldest unpaid installment, in the lender's calendar (0 when none is). */
  dpd: number;
  soldBy: string | null;
}

const MAX_TERM = 64;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string): T | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(s)) throw new LienError('invalid_input', `${name} must be one of: ${allowed.join(', ')}.`, { field: name });
  return s as T;
}
function bounded(v: unknown, name: string, max = MAX_TERM): string | undefined {
  const s = str(v);
  if (s !== undefined && s.length > max) throw new LienError('invalid_input', `${name} is at most ${max} characters.`, { field: name });
  return s;
}

/** Validates a filter from outside input (query string or form), the same way for the API and the console. */
export function parseDeviceFilter(raw: Record<string, unknown>): DeviceFilter {
  return {
    q: bounded(raw.q, 'q'),
    stage: oneOf(raw.stage, STAGE_FILTERS, 'stage'),
    dpd: oneOf(raw.dpd, Object.keys(DPD_FILTERS) as DpdFilter[], 'dpd'),
    held: oneOf(raw.held, HELD_FILTERS, 'held'),
    channel: bounded(raw.channel, 'channel'),
    dealer: bounded(raw.dealer, 'dealer', 120),
  };
}

export function parseDeviceListQuery(raw: Record<string, unknown>): DeviceListQuery {
  const limitRaw = str(raw.limit);
  const limit = limitRaw === undefined ? undefined : Number(limitRaw);
  return {
    ...parseDeviceFilter(raw),
    sort: oneOf(raw.sort, SORTS, 'sort'),
    dir: oneOf(raw.dir, ['asc', 'desc'] as const, 'dir'),
    cursor: bounded(raw.cursor, 'cursor', 400),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** The filter as query-string pairs (for links, the export and the next page); empty values left out. */
export function filterParams(f: DeviceListQuery): [string, string][] {
  const keys = ['q', 'stage', 'dpd', 'held', 'channel', 'dealer', 'sort', 'dir', 'limit'] as const;
  return keys.flatMap((k) => (f[k] ? [[k, String(f[k])] as [string, string]] : []));
}

export function isFiltered(f: DeviceFilter): boolean {
  return Boolean(f.q || f.stage || f.dpd || f.held || f.channel || f.dealer);
}

/** Lock references are Crockford base32: read aloud, O is 0 and I or L is 1; dashes and spaces are noise. */
function asLockReference(term: string): string | null {
  const t = term.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(t) ? t : null;
}

function baseQuery(db: Db, lenderId: string) {
  return db
    .selectFrom('devices')
    .leftJoin('contracts as c', (j) =>
      j
        .onRef('c.device_id', '=', 'devices.id')
        .on('c.lender_id', '=', lenderId)
        // The device's latest contract with this lender: the one the desk talks about.
        .on(sql<SqlBool>`c.created_at = (SELECT max(c2.created_at) FROM contracts c2 WHERE c2.device_id = devices.id AND c2.lender_id = ${lenderId})`),
    )
    .where('devices.lender_id', '=', lenderId);
}

type Base = ReturnType<typeof baseQuery>;

function applyFilter(query: Base, f: DeviceFilter, today: string): Base {
  let q = query;
  if (f.q) {
    const term = f.q.trim();
    const digits = term.replace(/[\s()+.-]/g, '');
    const like = `${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const lockRef = asLockReference(term);
    q = q.where((eb) => {
      const any: Expression<SqlBool>[] = [
        eb('devices.serial', 'ilike', like),
        eb('devices.id', '=', term),
        eb('c.id', '=', term),
        eb(sql<string>`lower(c.borrower_ref)`, '=', term.toLowerCase()),
      ];
      if (lockRef) any.push(eb('c.lock_reference', '=', lockRef));
      if (/^\d{4,}$/.test(digits)) {
        const reversed = `${[...digits].reverse().join('')}%`;
        // Whole IMEI or its last digits: a prefix of the reversed IMEI (indexed, migration 0050).
        any.push(eb(sql<string>`reverse(devices.imei1)`, 'like', reversed), eb(sql<string>`reverse(devices.imei2)`, 'like', reversed));
      }
      if (/^\d{7,}$/.test(digits)) {
        // Phones are typed as +254712…, 0712… or 712…: the last nine digits decide.
        any.push(eb(sql<string>`regexp_replace(c.borrower_phone, '[^0-9]', '', 'g')`, 'like', `%${digits.slice(-9)}`));
      }
      return eb.or(any);
    });
  }
  if (f.stage === 'none') q = q.where('c.id', 'is', null);
  else if (f.stage) q = q.where('c.stage', '=', f.stage);
  if (f.dpd) {
    const [min, max] = DPD_FILTERS[f.dpd];
    if (min === 0) {
      q = q.where((eb) => eb.or([eb('c.oldest_unpaid_due_date', 'is', null), eb('c.oldest_unpaid_due_date', '>=', today), eb('c.status', '!=', 'active')]));
    } else {
      q = q.where('c.status', '=', 'active').where('c.oldest_unpaid_due_date', '<=', addDays(today, -min));
      if (max !== null) q = q.where('c.oldest_unpaid_due_date', '>=', addDays(today, -max));
    }
  }
  if (f.held === 'any') q = q.where('c.status', '=', 'active').where('c.stage_reason', 'in', HELD_REASONS);
  else if (f.held) q = q.where('c.status', '=', 'active').where('c.stage_reason', '=', f.held);
  if (f.channel) {
    const channel = f.channel;
    q = q.where(({ exists, selectFrom }) =>
      exists(selectFrom('payments as p').select('p.id').whereRef('p.contract_id', '=', 'c.id').where('p.channel', '=', channel).where('p.reversed_at', 'is', null)),
    );
  }
  if (f.dealer) q = q.where('c.sold_by', '=', f.dealer);
  if (f.imei) {
    const imei = validateImei(f.imei);
    q = q.where((eb) => eb.or([eb('devices.imei1', '=', imei), eb('devices.imei2', '=', imei)]));
  }
  if (f.serial) q = q.where('devices.serial', '=', f.serial);
  return q;
}

/** The sort key of each sort, as one SQL expression (ties broken by device id). */
function sortKey(sort: Sort): RawBuilder<string | number> {
  switch (sort) {
    case 'newest':
      return sql<string>`devices.id`;
    case 'serial':
      return sql<string>`devices.serial`;
    // Past due longest = oldest unpaid due date; no date at all sorts as the least urgent.
    case 'dpd':
      return sql<string>`coalesce(CASE WHEN c.status = 'active' THEN c.oldest_unpaid_due_date::text END, '9999-12-31')`;
    case 'overdue':
      return sql<number>`coalesce(c.amount_overdue, -1)`;
    case 'last_seen':
      return sql<number>`coalesce((extract(epoch FROM devices.last_seen_at) * 1000)::int8, 0)`;
  }
}

const SORT_KEY_TYPE: Record<Sort, 'string' | 'number'> = { newest: 'string', serial: 'string', dpd: 'string', overdue: 'number', last_seen: 'number' };

async function lenderToday(db: Db, lenderId: string, now: Date): Promise<string> {
  const l = await db.selectFrom('lenders').select('time_zone').where('id', '=', lenderId).executeTakeFirst();
  if (!l) throw new LienError('not_found', `No lender ${lenderId}`);
  return businessDateIn(l.time_zone, now);
}

/** One page of the lender's devices that match the filter, in the order asked for. */
export async function listDevicePage(db: Db, lenderId: string, now: Date, query: DeviceListQuery): Promise<Page<DeviceListRow>> {
  const today = await lenderToday(db, lenderId, now);
  return pageOf(db, lenderId, today, query);
}

async function pageOf(db: Db, lenderId: string, today: string, query: DeviceListQuery): Promise<Page<DeviceListRow>> {
  const sort = query.sort ?? 'newest';
  // The dpd sort reads the due date: longest past due (desc) = earliest date first.
  const dir = query.dir ?? DEFAULT_DIR[sort];
  const sqlDir = sort === 'dpd' ? (dir === 'desc' ? 'asc' : 'desc') : dir;
  const limit = pageSize(query.limit);
  const key = sortKey(sort);
  let q = applyFilter(baseQuery(db, lenderId), query, today);
  if (query.cursor) {
    const [k, id] = decodeCursor(query.cursor, [SORT_KEY_TYPE[sort], 'string'] as const) as [string | number, string];
    q = sqlDir === 'asc' ? q.where(sql<SqlBool>`(${key}, devices.id) > (${k}, ${id})`) : q.where(sql<SqlBool>`(${key}, devices.id) < (${k}, ${id})`);
  }
  const rows = await q
    .select([
      'devices.id as deviceId', 'devices.serial', 'devices.imei1', 'devices.imei2', 'devices.model', 'devices.enrolled_at', 'devices.last_seen_at', 'devices.policy_version_held', 'devices.released_at',
      'c.id as contractId', 'c.status', 'c.stage', 'c.stage_reason', 'c.borrower_ref', 'c.borrower_phone', 'c.lock_reference', 'c.currency',
      'c.amount_overdue', 'c.outstanding', 'c.oldest_unpaid_due_date', 'c.sold_by',
      key.as('sort_key'),
    ])
    .orderBy(key, sqlDir)
    .orderBy('devices.id', sqlDir)
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor([SORT_KEY_TYPE[sort] === 'number' ? Number(last.sort_key) : String(last.sort_key), last.deviceId]) : null;
  return {
    items: items.map((r) => {
      const active = r.status === 'active';
      const dpd = active && r.oldest_unpaid_due_date ? Math.max(0, diffDays(today, r.oldest_unpaid_due_date)) : 0;
      return {
        deviceId: r.deviceId,
        serial: r.serial,
        imei1: r.imei1,
        imei2: r.imei2,
        model: r.model,
        enrolledAt: r.enrolled_at,
        lastSeenAt: r.last_seen_at,
        policyVersionHeld: r.policy_version_held,
        releasedAt: r.released_at,
        contractId: r.contractId,
        status: r.status,
        stage: r.stage,
        stageReason: r.stage_reason,
        heldReason: active && (HELD_REASONS as readonly (string | null)[]).includes(r.stage_reason) ? r.stage_reason : null,
        borrowerRef: r.borrower_ref,
        borrowerPhone: r.borrower_phone,
        lockReference: r.lock_reference,
        currency: r.currency,
        amountOverdue: r.amount_overdue ?? 0,
        outstanding: r.outstanding ?? 0,
        oldestUnpaidDueDate: r.oldest_unpaid_due_date,
        dpd,
        soldBy: r.sold_by,
      };
    }),
    nextCursor,
  };
}

/**
 * Every matching device, page by page, for the CSV export and bulk actions: the caller holds one
 * page in memory at a time, however long the list.
 */
export async function* allDevices(db: Db, lenderId: string, now: Date, query: DeviceListQuery, pageRows = 500): AsyncGenerator<DeviceListRow[]> {
  const today = await lenderToday(db, lenderId, now);
  let cursor: string | undefined;
  do {
    const page = await pageOf(db, lenderId, today, { ...query, cursor, limit: pageRows });
    if (page.items.length > 0) yield page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/** The channels and dealers the filter can choose from, for the console's select boxes. */
export async function filterChoices(db: Db, lenderId: string) {
  const [channels, dealers] = await Promise.all([
    db.selectFrom('payments').select('channel').distinct().where('lender_id', '=', lenderId).orderBy('channel').limit(100).execute(),
    db
      .selectFrom('contracts')
      .select('sold_by')
      .distinct()
      .where('lender_id', '=', lenderId)
      .where('sold_by', 'is not', null)
      .orderBy('sold_by')
      .limit(200)
      .execute(),
  ]);
  return { channels: channels.map((c) => c.channel), dealers: dealers.map((d) => d.sold_by!) };
}
