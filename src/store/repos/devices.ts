import { sql, type Kysely, type Transaction, type Updateable } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB, Device, DevicesTable, NewDevice } from '../schema.ts';

type Db = Kysely<DB> | Transaction<DB>;

/** Rows per INSERT: keeps statements (and PGlite's time on the main thread) small. */
export const MAX_ROWS_PER_STATEMENT = 1000;

export interface DuplicateDevice {
  /** Index of the row in the input array. */
  index: number;
  reason: string;
}

export interface ManifestInsertResult {
  inserted: number;
  /** Rows not inserted because the registry already holds their IMEI or serial. */
  duplicates: DuplicateDevice[];
}

/**
 * Inserts factory manifest rows, ≤ 1000 per statement. A row whose IMEI (in either IMEI
 * column) or serial is already registered is not inserted and is reported; ON CONFLICT DO
 * NOTHING catches a device registered by a concurrent import between the check and the insert.
 * Run it in a transaction to make a batch all-or-nothing.
 */
export async function insertManifestRows(db: Db, rows: NewDevice[]): Promise<ManifestInsertResult> {
  let inserted = 0;
  const duplicates: DuplicateDevice[] = [];
  for (let start = 0; start < rows.length; start += MAX_ROWS_PER_STATEMENT) {
    const chunk = rows.slice(start, start + MAX_ROWS_PER_STATEMENT);
    const imeis = chunk.flatMap((r) => (r.imei2 ? [r.imei1, r.imei2] : [r.imei1]));
    const serials = chunk.map((r) => r.serial);
    const existing = await db
      .selectFrom('devices')
      .select(['id', 'imei1', 'imei2', 'serial'])
      .where((eb) => eb.or([eb('imei1', 'in', imeis), eb('imei2', 'in', imeis), eb('serial', 'in', serials)]))
      .execute();
    const byImei = new Map<string, string>();
    const bySerial = new Map<string, string>();
    for (const d of existing) {
      byImei.set(d.imei1, d.id);
      if (d.imei2) byImei.set(d.imei2, d.id);
      bySerial.set(d.serial, d.id);
    }
    const fresh: { index: number; row: NewDevice }[] = [];
    chunk.forEach((row, i) => {
      const index = start + i;
      const imei = [row.imei1, row.imei2].find((x): x is string => !!x && byImei.has(x));
      if (imei) duplicates.push({ index, reason: `IMEI ${imei} is already registered (device ${byImei.get(imei)})` });
      else if (bySerial.has(row.serial)) duplicates.push({ index, reason: `serial ${row.serial} is already registered (device ${bySerial.get(row.serial)})` });
      else fresh.push({ index, row });
    });
    if (fresh.length === 0) continue;
    const done = await db
      .insertInto('devices')
      .values(fresh.map((f) => f.row))
      .onConflict((oc) => oc.doNothing())
      .returning('imei1')
      .execute();
    inserted += done.length;
    if (done.length < fresh.length) {
      const landed = new Set(done.map((d) => d.imei1));
      for (const f of fresh) {
        if (!landed.has(f.row.imei1)) duplicates.push({ index: f.index, reason: `IMEI ${f.row.imei1} or serial ${f.row.serial} was registered at the same time by another import` });
      }
    }
  }
  duplicates.sort((a, b) => a.index - b.index);
  return { inserted, duplicates };
}

export async function getDevice(db: Db, id: string): Promise<Device | undefined> {
  return db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The device carrying this IMEI in either slot (dual-SIM phones have two). */
export async function findByImei(db: Db, imei: string): Promise<Device | undefined> {
  return db
    .selectFrom('devices')
    .selectAll()
    .where((eb) => eb.or([eb('imei1', '=', imei), eb('imei2', '=', imei)]))
    .executeTakeFirst();
}

export async function findBySerial(db: Db, serial: string): Promise<Device | undefined> {
  return db.selectFrom('devices').selectAll().where('serial', '=', serial).executeTakeFirst();
}

export interface Enrollment {
  /** sha256 of the new session credential. */
  credentialHash: Buffer;
  /** The credential sealed with the master key (aad `credential:<device id>`). */
  credentialEnc: Buffer;
  enrolledAt: Date;
  agentVersion: string;
}

/**
 * Stores a new session credential, which revokes the previous one: the version goes up and the
 * request counter starts again. Returns the new credential version.
 */
export async function recordEnrollment(db: Db, id: string, e: Enrollment): Promise<number> {
  const row = await db
    .updateTable('devices')
    .set({
      credential_hash: e.credentialHash,
      credential_enc: e.credentialEnc,
      credential_version: sql<number>`credential_version + 1`,
      last_counter: 0,
      enrolled_at: e.enrolledAt,
      agent_version: e.agentVersion,
    })
    .where('id', '=', id)
    .returning('credential_version')
    .executeTakeFirst();
  if (!row) throw new LienError('not_found', `Device ${id} does not exist.`, { deviceId: id });
  return row.credential_version;
}

/** Any other column change (sale status, lender, release, token counters). */
export async function updateDevice(db: Db, id: string, patch: Updateable<DevicesTable>): Promise<Device> {
  const { id: _ignored, ...changes } = patch;
  const q = db.updateTable('devices').set(changes).where('id', '=', id).returningAll();
  const row = Object.keys(changes).length ? await q.executeTakeFirst() : await getDevice(db, id);
  if (!row) throw new LienError('not_found', `Device ${id} does not exist.`, { deviceId: id });
  return row;
}
