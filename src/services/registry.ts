import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import type { DB } from '../store/schema.ts';

export interface RegistryEntry {
  deviceId: string;
  imei1: string;
  imei2: string | null;
  serial: string;
  model: string;
  saleStatus: string;
  enrolledAt: string | null;
  lastSeenAt: string | null;
  releasedAt: string | null;
  lender: { id: string; name: string; supportPhone: string } | null;
  /** The current contract's state only: no borrower reference, phone, amounts or schedule. */
  lien: { active: boolean; stage: string; status: string } | null;
}

/** What the platform operator may know about a phone: the registry, never the borrower. */
export async function lookupRegistry(db: Kysely<DB>, imei: string): Promise<RegistryEntry> {
  const d = await db
    .selectFrom('devices as d')
    .leftJoin('lenders as l', 'l.id', 'd.lender_id')
    .select(['d.id', 'd.imei1', 'd.imei2', 'd.serial', 'd.model', 'd.sale_status', 'd.enrolled_at', 'd.last_seen_at', 'd.released_at', 'l.id as lender_id', 'l.name as lender_name', 'l.support_phone'])
    .where((eb) => eb.or([eb('d.imei1', '=', imei), eb('d.imei2', '=', imei)]))
    .executeTakeFirst();
  if (!d) throw new LienError('not_found', `IMEI ${imei} is not in the registry.`, { imei });
  const c = await db.selectFrom('contracts').select(['stage', 'status']).where('device_id', '=', d.id).orderBy('created_at', 'desc').executeTakeFirst();
  return {
    deviceId: d.id,
    imei1: d.imei1,
    imei2: d.imei2,
    serial: d.serial,
    model: d.model,
    saleStatus: d.sale_status,
    enrolledAt: d.enrolled_at?.toISOString() ?? null,
    lastSeenAt: d.last_seen_at?.toISOString() ?? null,
    releasedAt: d.released_at?.toISOString() ?? null,
    lender: d.lender_id ? { id: d.lender_id, name: d.lender_name!, supportPhone: d.support_phone! } : null,
    lien: c ? { active: c.status === 'active', stage: c.stage, status: c.status } : null,
  };
}
