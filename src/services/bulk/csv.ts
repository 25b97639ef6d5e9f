import { parse, CsvError } from 'csv-parse/sync';

/** One bad row (or the header, line 1): the CSV line and a sentence a person understands. */
export interface RowProblem {
  line: number;
  reason: string;
}

/** Thrown while checking one row; becomes a RowProblem for that row. */
export class RowError extends Error {}

/** The file as a whole cannot be read (garbled, empty, bad header, too many rows): no row is looked at. */
export class CsvFileError extends Error {
  constructor(readonly problems: RowProblem[]) {
    super(problems.map((p) => `line ${p.line}: ${p.reason}`).join('; '));
    this.name = 'CsvFileError';
  }
}

export interface CsvSpec {
  /** What the file is, for messages ("sales", "payments"). */
  label: string;
  columns: readonly string[];
  required: readonly string[];
  maxRows: number;
}

export interface CsvRow {
  line: number;
  rec: Record<string, string>;
}

type Parsed = { record: string[]; info: { lines: number } };

export function headerProblems(header: string[], spec: CsvSpec): string[] {
  const problems: string[] = [];
  const unknown = header.filter((c) => !spec.columns.includes(c));
  if (unknown.length) problems.push(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')}`);
  const missing = spec.required.filter((c) => !header.includes(c));
  if (missing.length) problems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const twice = header.filter((c, i) => header.indexOf(c) !== i);
  if (twice.length) problems.push(`column ${twice[0]} appears twice`);
  return problems.length ? [`the header has ${problems.join('; ')} (expected ${spec.columns.join(', ')})`] : [];
}

/**
 * Parses a whole CSV file with a header line. A garbled file, a bad header or too many rows
 * throws CsvFileError (nothing below it can be read reliably); rows with the wrong number of
 * fields are reported one by one.
 */
export function readCsv(text: string, spec: CsvSpec): { rows: CsvRow[]; errors: RowProblem[] } {
  const r = readCsvLoose(text, spec);
  if (r.fatal) throw new CsvFileError(r.errors);
  return r;
}

function readCsvLoose(text: string, spec: CsvSpec): { rows: CsvRow[]; errors: RowProblem[]; fatal?: true } {
  let parsed: Parsed[];
  try {
    parsed = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as Parsed[];
  } catch (e) {
    if (e instanceof CsvError) {
      const line = typeof (e as { lines?: unknown }).lines === 'number' ? (e as unknown as { lines: number }).lines : 0;
      return { rows: [], errors: [{ line, reason: `the file is not valid CSV: ${e.message}` }], fatal: true };
    }
    throw e;
  }
  const first = parsed[0];
  if (!first) return { rows: [], errors: [{ line: 1, reason: `the ${spec.label} file is empty (expected a header: ${spec.columns.join(', ')})` }], fatal: true };
  const header = first.record.map((c) => c.toLowerCase());
  const problems = headerProblems(header, spec);
  if (problems.length) return { rows: [], errors: problems.map((reason) => ({ line: first.info.lines, reason })), fatal: true };
  if (parsed.length - 1 > spec.maxRows) {
    return { rows: [], errors: [{ line: parsed[spec.maxRows + 1]!.info.lines, reason: `the file has ${parsed.length - 1} rows; at most ${spec.maxRows} rows fit in one import (split the file)` }], fatal: true };
  }
  const rows: CsvRow[] = [];
  const errors: RowProblem[] = [];
  for (let i = 1; i < parsed.length; i++) {
    const { record, info } = parsed[i]!;
    if (record.length !== header.length) {
      errors.push({ line: info.lines, reason: `has ${record.length} fields; the header has ${header.length}` });
      continue;
    }
    const rec: Record<string, string> = {};
    for (let c = 0; c < header.length; c++) rec[header[c]!] = record[c]!;
    rows.push({ line: info.lines, rec });
  }
  if (rows.length === 0 && errors.length === 0) return { rows, errors: [{ line: first.info.lines, reason: `the ${spec.label} file has a header but no rows` }], fatal: true };
  return { rows, errors };
}

/** A required text field: present, not too long, no control characters. */
export function text(rec: Record<string, string>, column: string, max: number): string {
  const v = (rec[column] ?? '').trim();
  if (!v) throw new RowError(`${column} is empty`);
  if (v.length > max) throw new RowError(`${column} is longer than ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new RowError(`${column} contains control characters`);
  return v;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant with a zone ("2026-01-05T09:30:00Z", "…+03:00"): a bare time is ambiguous. */
export function instant(rec: Record<string, string>, column: string): Date {
  const v = (rec[column] ?? '').trim();
  if (!v) throw new RowError(`${column} is empty`);
  const d = new Date(v);
  if (!INSTANT.test(v) || Number.isNaN(d.getTime())) {
    throw new RowError(`${column} must be a date and time with its zone, such as 2026-01-05T09:30:00Z or 2026-01-05T12:30:00+03:00; got "${v}"`);
  }
  return d;
}

/** Runs a domain check and turns its LienError into this row's reason. */
export function rowCheck<T>(fn: () => T, column?: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && e.name === 'LienError') throw new RowError(column ? `${column}: ${e.message}` : e.message);
    throw e;
  }
}
