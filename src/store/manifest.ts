import type { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { Kysely } from 'kysely';
import { isLienError } from '../domain/errors.ts';
import { validateImei } from '../domain/imei.ts';
import { newId } from './ids.ts';
import { insertManifestRows } from './repos/devices.ts';
import type { DB, NewDevice } from './schema.ts';
import { aad, seal } from './secrets.ts';

export interface ManifestProblem {
  /** Line of the CSV file (the header is line 1). */
  line: number;
  reason: string;
}

export interface ManifestResult {
  inserted: number;
  /** Devices already in the registry (listed in `duplicates`). */
  skipped: number;
  /** Bad rows; when there are any, nothing was imported. */
  errors: ManifestProblem[];
  /** Rows skipped because their IMEI or serial is already registered. */
  duplicates: ManifestProblem[];
}

export interface ManifestOptions {
  masterKey: Buffer;
  /** Called after each batch with rows handled so far and the number of valid rows. */
  onProgress?(done: number, total?: number): void;
  /** Rows per transaction, at most 5000 (PGlite holds the main thread for a transaction). Default 1000. */
  batchSize?: number;
  /** created_at of the new devices (default: now). */
  now?: Date;
}

const COLUMNS = ['imei1', 'imei2', 'serial', 'model', 'factory_secret', 'sale_status'] as const;
const REQUIRED = ['imei1', 'serial', 'model', 'factory_secret'] as const;
const MAX_BATCH = 5000;

interface ValidRow {
  line: number;
  imei1: string;
  imei2: string | null;
  serial: string;
  model: string;
  secret: Buffer;
  saleStatus: 'unsold' | 'retail';
}

class RowError extends Error {}

function imei(value: string, column: string): string {
  try {
    return validateImei(value);
  } catch (e) {
    if (isLienError(e)) throw new RowError(`${column}: ${e.message}`);
    throw e;
  }
}

function text(value: string | undefined, column: string, max: number): string {
  const v = (value ?? '').trim();
  if (!v) throw new RowError(`${column} is empty`);
  if (v.length > max) throw new RowError(`${column} is longer than ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new RowError(`${column} contains control characters`);
  return v;
}

function checkRow(rec: Record<string, string>, line: number): ValidRow {
  const imei1 = imei(rec.imei1 ?? '', 'imei1');
  const imei2 = rec.imei2?.trim() ? imei(rec.imei2, 'imei2') : null;
  if (imei2 === imei1) throw new RowError('imei2 repeats imei1');
  const serial = text(rec.serial, 'serial', 64);
  const model = text(rec.model, 'model', 100);
  const hex = (rec.factory_secret ?? '').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RowError(`factory_secret must be 64 hex characters (32 bytes); got ${hex.length} characters`);
  const status = (rec.sale_status ?? '').trim().toLowerCase() || 'unsold';
  if (status !== 'unsold' && status !== 'retail') throw new RowError(`sale_status must be unsold or retail, not "${status}"`);
  return { line, imei1, imei2, serial, model, secret: Buffer.from(hex, 'hex'), saleStatus: status };
}

function headerProblems(header: string[]): string[] {
  const problems: string[] = [];
  const unknown = header.filter((c) => !(COLUMNS as readonly string[]).includes(c));
  if (unknown.length) problems.push(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}`);
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) problems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const twice = header.filter((c, i) => header.indexOf(c) !== i);
  if (twice.length) problems.push(`column ${twice[0]} appears twice`);
  return problems.length ? [`the header ${problems.join('; ')} (expected ${COLUMNS.join(', ')})`] : [];
}

type Parsed = { record: string[]; info: { lines: number } };

/**
 * Reads and checks the whole manifest: every bad row with its line and reason, and the valid
 * rows. Rows repeating an IMEI or serial of an earlier row are bad rows (a manifest mistake).
 */
async function readManifest(input: string | Readable): Promise<{ rows: ValidRow[]; errors: ManifestProblem[] }> {
  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true });
  if (typeof input === 'string') {
    parser.end(input);
  } else {
    input.on('error', (e) => parser.destroy(e));
    input.pipe(parser);
  }
  const rows: ValidRow[] = [];
  const errors: ManifestProblem[] = [];
  const seen = new Map<string, number>();
  let header: string[] | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<Parsed>) {
      const line = info.lines;
      if (!header) {
        header = record.map((c) => c.toLowerCase());
        const problems = headerProblems(header);
        if (problems.length) return { rows: [], errors: problems.map((reason) => ({ line, reason })) };
        continue;
      }
      try {
        if (record.length > header.length) throw new RowError(`has ${record.length} fields; the header has ${header.length}`);
        const rec: Record<string, string> = {};
        header.forEach((c, i) => (rec[c] = record[i] ?? ''));
        const row = checkRow(rec, line);
        const keys: [string, string][] = [[`imei:${row.imei1}`, `IMEI ${row.imei1}`], [`serial:${row.serial}`, `serial ${row.serial}`]];
        if (row.imei2) keys.push([`imei:${row.imei2}`, `IMEI ${row.imei2}`]);
        for (const [key, label] of keys) {
          const first = seen.get(key);
          if (first !== undefined) throw new RowError(`${label} already appears on line ${first}`);
        }
        for (const [key] of keys) seen.set(key, line);
        rows.push(row);
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        errors.push({ line, reason: e.message });
      }
    }
  } catch (e) {
    if (e instanceof CsvError) {
      const line = typeof e.lines === 'number' ? e.lines : 0;
      errors.push({ line, reason: `not valid CSV: ${e.message}` });
      return { rows: [], errors };
    }
    throw e;
  } finally {
    // Stopped early (bad header, bad CSV): release the file behind the stream.
    if (typeof input !== 'string' && !input.readableEnded) input.destroy();
  }
  if (!header) errors.push({ line: 1, reason: `the manifest is empty (expected a header: ${COLUMNS.join(', ')})` });
  return { rows, errors };
}

/**
 * Loads a factory manifest (CSV: imei1, imei2?, serial, model, factory_secret, sale_status?).
 *
 * First every row is checked; if any is bad, all bad rows are reported and nothing is imported.
 * Then the rows go in, one transaction per batch: factory secrets sealed with the master key,
 * devices already registered (same IMEI or serial) skipped and reported. A failure half-way
 * leaves the earlier batches in; running the same import again finishes it, since what is
 * already there is skipped.
 */
export async function importManifest(db: Kysely<DB>, input: string | Readable, opts: ManifestOptions): Promise<ManifestResult> {
  const batchSize = Math.max(1, Math.min(Math.trunc(opts.batchSize ?? 1000), MAX_BATCH));
  const { rows, errors } = await readManifest(input);
  if (errors.length) return { inserted: 0, skipped: 0, errors, duplicates: [] };
  const now = opts.now ?? new Date();
  let inserted = 0;
  const duplicates: ManifestProblem[] = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const devices: NewDevice[] = batch.map((r) => ({
      id: newId('dev'),
      imei1: r.imei1,
      imei2: r.imei2,
      serial: r.serial,
      model: r.model,
      factory_secret_enc: seal(opts.masterKey, r.secret, aad.factorySecret(r.serial)),
      sale_status: r.saleStatus,
      created_at: now,
    }));
    const result = await db.transaction().execute((tx) => insertManifestRows(tx, devices));
    inserted += result.inserted;
    for (const d of result.duplicates) duplicates.push({ line: batch[d.index]!.line, reason: d.reason });
    opts.onProgress?.(start + batch.length, rows.length);
    // PGlite shares this thread with request handling: let waiting work in between batches.
    await new Promise((r) => setImmediate(r));
  }
  return { inserted, skipped: duplicates.length, errors, duplicates };
}
