/**
 * Read models of the console pages. Every query that shows lender data takes the lender id and
 * filters by it, so another lender's ids read as "not found" (a 404 page), never as "forbidden".
 */
import { listNotifications } from '../notifications.ts';
import type { Kysely } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB } from '../../store/schema.ts';
import { MAX_CODE_DAYS } from '../codes.ts';
import { contractPayoff } from '../payoff.ts';
import { actorNames } from './actors.ts';

export type Db = Kysely<DB>;

const notFound = (what: string, id: string) => new LienError('not_found', `No ${what} ${id}`);

export async function devicePage(db: Db, lenderId: string, deviceId: string) {
  const device = await db.selectFrom('devices').selectAll().where('id', '=', deviceId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!device) throw notFound('device', deviceId);
  const contract = await db.selectFrom('contracts').selectAll().where('device_id', '=', device.id).where('lender_id', '=', lenderId).orderBy('created_at', 'desc').executeTakeFirst();
  const [events, policies, codes, history, deviceLock] = await Promise.all([
    db.selectFrom('device_events').select(['id', 'kind', 'at', 'received_at', 'detail']).where('device_id', '=', device.id).orderBy('id', 'desc').limit(50).execute(),
    db.selectFrom('policies').select(['version', 'stage', 'issued_at']).where('device_id', '=', device.id).orderBy('version', 'desc').limit(20).execute(),
    db.selectFrom('tokens_issued').select(['id', 'type', 'value', 'count', 'token', 'reason', 'issued_by', 'issued_at']).where('device_id', '=', device.id).where('lender_id', '=', lenderId).orderBy('issued_at', 'desc').limit(20).execute(),
    db
      .selectFrom('audit_log')
      .select(['seq', 'at', 'actor', 'action', 'reason'])
      .where('lender_id', '=', lenderId)
      .where((eb) => eb.or([eb('subject_id', '=', device.id), ...(contract ? [eb('subject_id', '=', contract.id)] : [])]))
      .orderBy('seq', 'desc')
      .limit(30)
      .execute(),
    // Android Device Lock's view of the phone (provisioning), when the module has checked in.
    db.selectFrom('dlc_devices').selectAll().where('device_id', '=', device.id).executeTakeFirst(),
  ]);
  const messages = contract ? await listNotifications(db, contract.id, 20) : [];
  const names = await actorNames(db, lenderId, [...history.map((h) => h.actor), ...codes.map((c) => c.issued_by)]);
  return { device, contract: contract ?? null, events, policies, codes, history, names, deviceLock: deviceLock ?? null, maxCodeDays: MAX_CODE_DAYS, messages };
}

/** The active contract on a lender's device; actions on a device go to it. */
export async function activeContractOf(db: Db, lenderId: string, deviceId: string) {
  const device = await db.selectFrom('devices').select('id').where('id', '=', deviceId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!device) throw notFound('device', deviceId);
  const c = await db.selectFrom('contracts').select(['id', 'currency', 'status']).where('device_id', '=', deviceId).where('lender_id', '=', lenderId).where('status', '=', 'active').executeTakeFirst();
  if (!c) throw new LienError('conflict', 'This device has no active contract.');
  return c;
}

export async function contractPage(db: Db, lenderId: string, contractId: string, now: Date) {
  const contract = await db.selectFrom('contracts').selectAll().where('id', '=', contractId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!contract) throw notFound('contract', contractId);
  const [device, installments, payments, payoff] = await Promise.all([
    db.selectFrom('devices').select(['id', 'serial', 'imei1', 'model']).where('id', '=', contract.device_id).executeTakeFirstOrThrow(),
    db.selectFrom('installments').selectAll().where('contract_id', '=', contract.id).orderBy('n').execute(),
    db.selectFrom('payments').selectAll().where('contract_id', '=', contract.id).orderBy('received_at', 'desc').orderBy('id', 'desc').execute(),
    contract.status === 'active' ? contractPayoff(db, contract, now) : null,
  ]);
  const names = await actorNames(db, lenderId, payments.flatMap((p) => [p.posted_by, ...(p.reversed_by ? [p.reversed_by] : [])]));
  return { contract, device, installments, payments, payoff, names };
}

export async function claimDevices(db: Db, lenderId: string, deviceIds: string[]) {
  if (deviceIds.length === 0) return new Map<string, string>();
  const rows = await db.selectFrom('devices').select(['id', 'serial']).where('lender_id', '=', lenderId).where('id', 'in', deviceIds).execute();
  return new Map(rows.map((r) => [r.id, r.serial]));
}

/** What each claimed contract has overdue now, to read a claim's amount against it. */
export async function claimOverdue(db: Db, lenderId: string, contractIds: string[]) {
  if (contractIds.length === 0) return new Map<string, number>();
  const rows = await db.selectFrom('contracts').select(['id', 'amount_overdue']).where('lender_id', '=', lenderId).where('id', 'in', contractIds).execute();
  return new Map(rows.map((r) => [r.id, r.amount_overdue]));
}

export async function claimReceipt(db: Db, lenderId: string, claimId: string) {
  const row = await db.selectFrom('claims').select(['receipt', 'receipt_type']).where('id', '=', claimId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!row) throw notFound('claim', claimId);
  if (!row.receipt) throw new LienError('not_found', 'This claim came without a receipt.');
  return { bytes: Buffer.from(row.receipt), type: row.receipt_type ?? 'application/octet-stream' };
}

export async function apiKeys(db: Db, lenderId: string) {
  return db.selectFrom('api_keys').select(['id', 'name', 'scopes', 'created_at', 'revoked_at', 'last_used_at']).where('lender_id', '=', lenderId).orderBy('created_at', 'desc').execute();
}

export async function webhooks(db: Db, lenderId: string) {
  return db.selectFrom('webhooks').select(['id', 'url', 'events', 'active', 'created_at']).where('lender_id', '=', lenderId).orderBy('id', 'desc').limit(50).execute();
}

/** The operator's view: the registry, with no contract or borrower data at all. */
export async function registry(db: Db, q: string) {
  const term = q.trim();
  let query = db
    .selectFrom('devices')
    .leftJoin('lenders', 'lenders.id', 'devices.lender_id')
    .select(['devices.id', 'devices.serial', 'devices.imei1', 'devices.imei2', 'devices.model', 'devices.sale_status', 'devices.enrolled_at', 'devices.last_seen_at', 'devices.released_at', 'lenders.name as lender']);
  if (term) {
    const like = `${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb('devices.imei1', 'like', like), eb('devices.imei2', 'like', like), eb('devices.serial', 'ilike', like)]));
  }
  return query.orderBy('devices.id', 'desc').limit(100).execute();
}
