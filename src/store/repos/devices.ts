import { sql, type Kysely } from 'kysely';
import type { DB, NewDevice } from '../schema.ts';

type Db = Kysely<DB>;

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
