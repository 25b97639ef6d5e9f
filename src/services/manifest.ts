/**
 * The platform operator's factory manifests: the phones that may ever carry a lien, each with
 * its IMEIs, serial, model and factory secret (sealed at rest).
 */
import type { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { validateImei } from '../domain/imei.ts';
import { newId } from '../store/ids.ts';
import { insertManifestRows } from '../store/repos/devices.ts';
import type { NewDevice } from '../store/schema.ts';
import { aad, seal } from '../store/secrets.ts';
import type { AuditEvent } from './audit.ts';
import { headerProblems, RowError, rowCheck, text, type CsvSpec, type RowProblem } from './bulk/csv.ts';
import type { Actor, Services } from './context.ts';
import { commit, recordAudit } from './unit-of-work.ts';

export interface ManifestResult {
  inserted: number;
  /** Devices already in the registry (listed in `duplicates`). */
  skipped: number;
  /** Bad rows; when there are any, nothing was imported. */
  errors: RowProblem[];
  /** Rows skipped because their IMEI or serial is already registered. */
  duplicates: RowProblem[];
}

export interface ManifestOptions {
  /** Called after each batch with rows handled so far and the number of valid rows. */
  onProgress?(done: number, total?: number): void;
  /** Rows per unit of work, at most 5000 (PGlite holds the main thread for a transaction). Default 1000. */
  batchSize?: number;
  /** created_at of the new devices (default: now). */
  now?: Date;
}

const SPEC: CsvSpec = {
  label: 'manifest',
  columns: ['imei1', 'imei2', 'serial', 'model', 'factory_secret', 'sale_status'],
  required: ['imei1', 'serial', 'model', 'factory_secret'],
  maxRows: Number.MAX_SAFE_INTEGER,
};
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

function checkRow(rec: Record<string, string>, line: number): ValidRow {
  const imei1 = rowCheck(() => validateImei(rec.imei1 ?? ''), 'imei1');
  const imei2 = rec.imei2?.trim() ? rowCheck(() => validateImei(rec.imei2!), 'imei2') : null;
  if (imei2 === imei1) throw new RowError('imei2 repeats imei1');
  const serial = text(rec, 'serial', 64);
  const model = text(rec, 'model', 100);
  const hex = (rec.factory_secret ?? '').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RowError(`factory_secret must be 64 hex characters (32 bytes); got ${hex.length} characters`);
  const status = (rec.sale_status ?? '').trim().toLowerCase() || 'unsold';
  if (status !== 'unsold' && status !== 'retail') throw new RowError(`sale_status must be unsold or retail, not "${status}"`);
  return { line, imei1, imei2, serial, model, secret: Buffer.from(hex, 'hex'), saleStatus: status };
}

type Parsed = { record: string[]; info: { lines: number } };

/**
 * Reads and checks the whole manifest: every bad row with its line and reason, and the valid
 * rows. Rows repeating an IMEI or serial of an earlier row are bad rows (a manifest mistake).
 */
async function readManifest(input: string | Readable): Promise<{ rows: ValidRow[]; errors: RowProblem[] }> {
  const parser = parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true });
  if (typeof input === 'string') {
    parser.end(input);
  } else {
    input.on('error', (e) => parser.destroy(e));
    input.pipe(parser);
  }
  const rows: ValidRow[] = [];
  const errors: RowProblem[] = [];
  const seen = new Map<string, number>();
  let header: string[] | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<Parsed>) {
      const line = info.lines;
      if (!header) {
        header = record.map((c) => c.toLowerCase());
        const problems = headerProblems(header, SPEC);
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
  if (!header) errors.push({ line: 1, reason: `the manifest is empty (expected a header: ${SPEC.columns.join(', ')})` });
  return { rows, errors };
}

/**
 * Loads a factory manifest (CSV: imei1, imei2?, serial, model, factory_secret, sale_status?) as
 * the platform operator.
 *
 * First every row is checked; if any is bad, all bad rows are reported and nothing is imported.
 * Then the rows go in, one unit of work per batch: factory secrets sealed with the master key,
 * devices already registered (same IMEI or serial) skipped and reported, each batch audited. A
 * failure half-way leaves the earlier batches in; running the same import again finishes it,
 * since what is already there is skipped.
 */
export async function importManifest(s: Services, actor: Actor, input: string | Readable, opts: ManifestOptions = {}): Promise<ManifestResult> {
  const batchSize = Math.max(1, Math.min(Math.trunc(opts.batchSize ?? 1000), MAX_BATCH));
  const { rows, errors } = await readManifest(input);
  if (errors.length) {
    await recordAudit(s, actor, manifestAudit(0, 0, errors.length));
    return { inserted: 0, skipped: 0, errors, duplicates: [] };
  }
  let inserted = 0;
  const duplicates: RowProblem[] = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const result = await commit(s, actor, async (tx, fx) => {
      const devices: NewDevice[] = batch.map((r) => ({
        id: newId('dev'),
        imei1: r.imei1,
        imei2: r.imei2,
        serial: r.serial,
        model: r.model,
        factory_secret_enc: seal(s.masterKey, r.secret, aad.factorySecret(r.serial)),
        sale_status: r.saleStatus,
        created_at: opts.now ?? fx.now,
      }));
      const written = await insertManifestRows(tx, devices);
      await fx.audit(manifestAudit(written.inserted, written.duplicates.length, 0));
      return written;
    });
    inserted += result.inserted;
    for (const d of result.duplicates) duplicates.push({ line: batch[d.index]!.line, reason: d.reason });
    opts.onProgress?.(start + batch.length, rows.length);
    // PGlite shares this thread with request handling: let waiting work in between batches.
    await new Promise((r) => setImmediate(r));
  }
  return { inserted, skipped: duplicates.length, errors, duplicates };
}

function manifestAudit(inserted: number, skipped: number, errors: number): AuditEvent {
  return {
    action: 'manifest.imported',
    subjectType: 'manifest',
    subjectId: 'factory manifest',
    lenderId: null,
    reason: errors ? `factory manifest refused: ${errors} bad row(s)` : `factory manifest: ${inserted} devices registered, ${skipped} already registered`,
    data: { inserted, skipped, errors },
  };
}
