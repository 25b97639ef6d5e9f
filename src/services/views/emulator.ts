/**
 * What the browser device emulator (/emulator, development and demos only) reads: the recently
 * registered phones, and the factory identity of one, which lets the server play that phone
 * as its own agent would. Never mounted in production (see src/server/routes/emulator.ts).
 */
import type { Kysely } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB } from '../../store/schema.ts';
import { aad, open } from '../../store/secrets.ts';
import type { Services } from '../context.ts';

/** Recently registered phones, with the stage of their newest contract (null: never sold on credit). */
export async function recentDevices(db: Kysely<DB>, limit = 20): Promise<{ serial: string; lender: string | null; stage: string | null }[]> {
  return db
    .selectFrom('devices')
    .leftJoin('lenders', 'lenders.id', 'devices.lender_id')
    .select((eb) => [
      'devices.serial',
      'lenders.name as lender',
      eb
        .selectFrom('contracts')
        .select((c) => c.fn.coalesce(c.case().when('contracts.status', '=', 'active').then(c.ref('contracts.stage')).else(c.ref('contracts.status')).end(), c.val('')).as('s'))
        .whereRef('contracts.device_id', '=', 'devices.id')
        .orderBy('contracts.created_at', 'desc')
        .limit(1)
        .as('stage'),
    ])
    .orderBy('devices.created_at', 'desc')
    .limit(limit)
    .execute()
    .then((rows) => rows.map((r) => ({ serial: r.serial, lender: r.lender, stage: r.stage || null })));
}

/** What a phone's factory put in it: its IMEIs, serial and opened factory secret. */
export async function factoryIdentity(s: Services, serial: string): Promise<{ serial: string; imeis: string[]; factorySecret: Buffer }> {
  const device = await s.db.selectFrom('devices').select(['serial', 'imei1', 'imei2', 'factory_secret_enc']).where('serial', '=', serial).executeTakeFirst();
  if (!device) throw new LienError('not_found', `No registered device has the serial "${serial}". Devices come from the factory manifest.`);
  return {
    serial: device.serial,
    imeis: device.imei2 ? [device.imei1, device.imei2] : [device.imei1],
    factorySecret: open(s.masterKey, device.factory_secret_enc, aad.factorySecret(device.serial)),
  };
}
