import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Kysely } from 'kysely';
import { LienError } from '../domain/errors.ts';
import { validateImei } from '../domain/imei.ts';
import { isLienError } from '../domain/errors.ts';
import { newId } from './ids.ts';
import type { DB } from './schema.ts';
import { seal } from './secrets.ts';

export interface ManifestResult {
  inserted: number;
  skipped: number;
  errors: { line: number; reason: string }[];
}

interface Row {
  line: number;
  imei1: string;
  imei2: string | null;
  serial: string;
  model: string;
  secret: Buffer;
  sale_status: 'unsold' | 'retail';
}

const REQUIRED = ['imei1', 'serial', 'model', 'factory_secret'] as const;
const BATCH = 1000;

function checkRow(rec: Record<string, string>, line: number): Row {
  const imei1 = validateImei(rec.imei1 ?? '');
  const imei2 = rec.imei2?.trim() ? validateImei(rec.imei2) : null;
  if (imei2 === imei1) throw new LienError('invalid_input', 'imei2 repeats imei1');
  const serial = (rec.serial ?? '').trim();
  if (!serial || serial.length > 64) throw new LienError('invalid_input', 'serial must be 1 to 64 characters');
  const model = (rec.model ?? '').trim();
  if (!model) throw new LienError('invalid_input', 'model is empty');
  const hex = (rec.factory_secret ?? '').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new LienError('invalid_input', 'factory_secret must be 64 hex characters (32 bytes)');
  const status = (rec.sale_status ?? '').trim() || 'unsold';
  if (status !== 'unsold' && status !== 'retail') throw new LienError('invalid_input', `sale_status must be unsold or retail, not "${status}"`);
  return { line, imei1, imei2, serial, model, secret: Buffer.from(hex, 'hex'), sale_status: status };
}

/**
 * Loads a factory manifest. Validates every row first (every bad row is reported with its line),
 * and inserts nothing when any row is bad; then inserts in batches, skipping devices already in
 * the registry (same IMEI or serial) and counting them.
 */
export async function importManifest(
  db: Kysely<DB>,
  input: string | Readable,
  opts: { masterKey: Buffer; onProgress?: (done: number, total?: number) => void; now?: Date },
): Promise<ManifestResult> {
  const errors: ManifestResult['errors'] = [];
  const rows: Row[] = [];
  const seen = new Map<string, number>();
  const parser = parse({ columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, relax_column_count: true, info: true });
  const source = typeof input === 'string' ? null : input;
  if (source) source.pipe(parser);
  else {
    parser.write(input);
    parser.end();
  }
  let headerChecked = false;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (!headerChecked) {
        headerChecked = true;
        const missing = REQUIRED.filter((c) => !(c in record));
        if (missing.length) throw new LienError('invalid_input', `the manifest header lacks ${missing.join(', ')} (expected imei1, imei2, serial, model, factory_secret, sale_status)`);
      }
      const line = info.lines;
      try {
        const row = checkRow(record, line);
        for (const key of [row.imei1, row.imei2, `serial:${row.serial}`]) {
          if (!key) continue;
          const first = seen.get(key);
          if (first) throw new LienError('invalid_input', `${key.startsWith('serial:') ? 'serial' : 'IMEI'} ${key.replace('serial:', '')} repeats line ${first}`);
          seen.set(key, line);
        }
        rows.push(row);
      } catch (e) {
        if (!isLienError(e)) throw e;
        errors.push({ line, reason: e.message });
      }
      if ((rows.length + errors.length) % 10_000 === 0) opts.onProgress?.(rows.length + errors.length);
    }
  } catch (e) {
    if (isLienError(e)) throw e;
    throw new LienError('invalid_input', `the manifest is not valid CSV: ${(e as Error).message}`);
  }
  if (errors.length) return { inserted: 0, skipped: 0, errors };
  const now = opts.now ?? new Date();
  let inserted = 0;
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    const values = chunk.map((r) => ({
      id: newId('dev'),
      imei1: r.imei1,
      imei2: r.imei2,
      serial: r.serial,
      model: r.model,
      factory_secret_enc: seal(opts.masterKey, r.secret, `factory-secret:${r.serial}`),
      sale_status: r.sale_status,
      created_at: now,
    }));
    const res = await db.insertInto('devices').values(values).onConflict((oc) => oc.doNothing()).returning('id').execute();
    inserted += res.length;
    opts.onProgress?.(Math.min(i + BATCH, rows.length), rows.length);
  }
  return { inserted, skipped: rows.length - inserted, errors };
}
